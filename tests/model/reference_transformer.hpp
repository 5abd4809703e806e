#pragma once
// Float64 reference for the transformer, written token by token from the formulas in
// transformer.hpp with plain loops (no Eigen, no packing, no cache). Reads the parameters of a
// grpo::model::transformer by block name.
#include <grpo/model/transformer.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace grpo_test {

using grpo::index_t;

struct reference_transformer {
  grpo::model::transformer_config cfg;
  std::map<std::string, std::vector<double>> p;  // block name -> row-major values

  template <class S>
  explicit reference_transformer(const grpo::model::transformer<S>& m) : cfg(m.config()) {
    const auto params = m.parameters();
    for (const auto& b : m.blocks())
      p[b.name] = std::vector<double>(params.begin() + b.offset, params.begin() + b.offset + b.size());
  }

  double w(const std::string& name, index_t r, index_t c, index_t cols) const {
    return p.at(name)[static_cast<size_t>(r * cols + c)];
  }

  std::vector<double> layer_norm(const std::vector<double>& x, const std::string& prefix) const {
    const auto d = static_cast<index_t>(x.size());
    double mu = 0, var = 0;
    for (double v : x) mu += v;
    mu /= double(d);
    for (double v : x) var += (v - mu) * (v - mu);
    var /= double(d);
    std::vector<double> y(x.size());
    for (index_t k = 0; k < d; ++k)
      y[k] = (x[k] - mu) / std::sqrt(var + cfg.ln_eps) * w(prefix + ".g", 0, k, d) + w(prefix + ".b", 0, k, d);
    return y;
  }

  std::vector<double> linear(const std::vector<double>& x, const std::string& wn, const std::string& bn,
                             index_t out) const {
    const auto in = static_cast<index_t>(x.size());
    std::vector<double> y(static_cast<size_t>(out));
    for (index_t j = 0; j < out; ++j) {
      double s = w(bn, 0, j, out);
      for (index_t k = 0; k < in; ++k) s += x[k] * w(wn, k, j, out);
      y[j] = s;
    }
    return y;
  }

  static double gelu(double x) {
    return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  }

  /// logits[pos][v] for every position of one sequence.
  std::vector<std::vector<double>> logits(const std::vector<grpo::model::token_t>& toks) const {
    const index_t d = cfg.d_model, L = static_cast<index_t>(toks.size()), H = cfg.n_heads;
    const index_t dh = d / H, F = cfg.ff(), V = cfg.vocab_size;
    std::vector<std::vector<double>> x(static_cast<size_t>(L), std::vector<double>(static_cast<size_t>(d)));
    for (index_t t = 0; t < L; ++t)
      for (index_t k = 0; k < d; ++k) x[t][k] = w("wte", toks[t], k, d) + w("wpe", t, k, d);
    for (index_t l = 0; l < cfg.n_layers; ++l) {
      const std::string pre = "h" + std::to_string(l) + ".";
      std::vector<std::vector<double>> qkv(static_cast<size_t>(L));
      for (index_t t = 0; t < L; ++t) qkv[t] = linear(layer_norm(x[t], pre + "ln1"), pre + "w_qkv", pre + "b_qkv", 3 * d);
      for (index_t t = 0; t < L; ++t) {
        std::vector<double> y(static_cast<size_t>(d), 0.0);
        for (index_t h = 0; h < H; ++h) {
          std::vector<double> s(static_cast<size_t>(t + 1));
          double m = -1e300;
          for (index_t j = 0; j <= t; ++j) {
            double dot = 0;
            for (index_t e = 0; e < dh; ++e) dot += qkv[t][h * dh + e] * qkv[j][d + h * dh + e];
            s[j] = dot / std::sqrt(double(dh));
            m = std::max(m, s[j]);
          }
          double z = 0;
          for (auto& v : s) z += (v = std::exp(v - m));
          for (index_t j = 0; j <= t; ++j)
            for (index_t e = 0; e < dh; ++e) y[h * dh + e] += s[j] / z * qkv[j][2 * d + h * dh + e];
        }
        const auto proj = linear(y, pre + "w_o", pre + "b_o", d);
        for (index_t k = 0; k < d; ++k) x[t][k] += proj[k];
      }
      for (index_t t = 0; t < L; ++t) {
        auto h = linear(layer_norm(x[t], pre + "ln2"), pre + "w_fc", pre + "b_fc", F);
        for (auto& v : h) v = gelu(v);
        const auto proj = linear(h, pre + "w_proj", pre + "b_proj", d);
        for (index_t k = 0; k < d; ++k) x[t][k] += proj[k];
      }
    }
    std::vector<std::vector<double>> z(static_cast<size_t>(L));
    for (index_t t = 0; t < L; ++t) z[t] = linear(layer_norm(x[t], "lnf"), "w_out", "b_out", V);
    return z;
  }
};

/// log softmax(z/τ)[y] and the entropy, the plain way.
inline std::pair<double, double> reference_tempered(const std::vector<double>& z, index_t y, double tau) {
  double m = -1e300;
  for (double v : z) m = std::max(m, v / tau);
  double s = 0;
  for (double v : z) s += std::exp(v / tau - m);
  const double lse = m + std::log(s);
  double h = 0;
  for (double v : z) {
    const double lp = v / tau - lse;
    h -= std::exp(lp) * lp;
  }
  return {z[static_cast<size_t>(y)] / tau - lse, h};
}

}  // namespace grpo_test
