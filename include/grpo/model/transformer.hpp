#pragma once
// A small decoder-only transformer on Eigen (GPT-2 layout), with a hand-written backward and a
// KV-cached sampler. Templated on the scalar: float for training, double for the
// finite-difference tests.
//
//   x⁰_m = wte[tok_m] + wpe[pos_m]
//   for each layer:  x ← x + Attn(LN₁(x)) W_o + b_o,   x ← x + GELU(LN₂(x) W_fc + b_fc) W_proj + b_proj
//   z_m  = LN_f(x_m) W_out + b_out                     (untied output matrix [d, V])
//   Attn: per head, softmax(Q Kᵀ/√d_h + causal mask) V, with [Q K V] = a W_qkv + b_qkv.
//
// All sequences of a batch are packed into one [M, d] matrix (M = total tokens), so every
// linear layer is one GEMM; attention runs per sequence and head on [L, d_h] blocks. Logits are
// computed only at the rows that predict a completion token. Every parameter lives in one flat
// vector (and its gradient in another), so optimisers, clipping and checkpoints see one array.
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/model/sampler.hpp>
#include <grpo/model/tempered_softmax.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace grpo::model {

struct transformer_config {
  index_t vocab_size = 40;
  index_t context = 96;     // maximum sequence length (prompt + completion)
  index_t d_model = 64;
  index_t n_layers = 2;
  index_t n_heads = 4;
  index_t d_ff = 0;         // 0 = 4·d_model
  double init_std = 0.02;   // N(0, σ²) weights; residual projections use σ/√(2·n_layers)
  double ln_eps = 1e-5;
  std::uint64_t seed = 1;   // initialisation seed (std::mt19937_64, Box-Muller normals)
  // Eigen GEMM threads while this model computes (0 = leave Eigen's global setting). The
  // default is 1: on the shared 2-core machine Eigen's OpenMP GEMM made a small training run
  // 40x slower (threads spin at each of the many small GEMMs while the cores are busy).
  index_t eigen_threads = 1;

  [[nodiscard]] index_t ff() const { return d_ff > 0 ? d_ff : 4 * d_model; }
  [[nodiscard]] index_t head_dim() const { return n_heads > 0 ? d_model / n_heads : 0; }
};

inline status validate(const transformer_config& c) {
  if (c.vocab_size < 2) return {errc::bad_config, "vocab_size", -1, "must be >= 2"};
  if (c.context < 2) return {errc::bad_config, "context", -1, "must be >= 2"};
  if (c.d_model < 1 || c.n_heads < 1 || c.d_model % c.n_heads != 0)
    return {errc::bad_config, "n_heads", -1, "d_model must be a positive multiple of n_heads"};
  if (c.n_layers < 1) return {errc::bad_config, "n_layers", -1, "must be >= 1"};
  if (c.d_ff < 0) return {errc::bad_config, "d_ff", -1, "must be >= 0 (0 = 4·d_model)"};
  if (c.eigen_threads < 0) return {errc::bad_config, "eigen_threads", -1, "must be >= 0 (0 = Eigen's setting)"};
  if (!(c.init_std > 0) || !(c.ln_eps > 0))
    return {errc::bad_config, "init_std", -1, "init_std and ln_eps must be > 0"};
  return {};
}

/// One named parameter matrix inside the flat parameter vector.
struct param_block {
  std::string name;
  index_t offset = 0;
  index_t rows = 0, cols = 0;
  bool decay = false;  // weight decay applies (matrices and embeddings; not biases, LN gains)
  [[nodiscard]] index_t size() const { return rows * cols; }
};

/// Sets Eigen's GEMM thread count for a scope and restores it after.
class eigen_threads_scope {
 public:
  explicit eigen_threads_scope(index_t n) : saved_(Eigen::nbThreads()), active_(n > 0) {
    if (active_) Eigen::setNbThreads(static_cast<int>(n));
  }
  ~eigen_threads_scope() {
    if (active_) Eigen::setNbThreads(saved_);
  }
  eigen_threads_scope(const eigen_threads_scope&) = delete;
  eigen_threads_scope& operator=(const eigen_threads_scope&) = delete;

 private:
  int saved_;
  bool active_;
};

template <class S = float>
class transformer {
 public:
  using scalar_type = S;
  using mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using map_mat = Eigen::Map<mat>;
  using cmap_mat = Eigen::Map<const mat>;
  using map_row = Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>>;

  /// Builds the model and draws its initial parameters from `cfg.seed`. Throws grpo::error on
  /// an invalid configuration (use `validate(cfg)` first to get the status instead).
  explicit transformer(const transformer_config& cfg) : cfg_(cfg) {
    throw_if_error(validate(cfg));
    build_layout();
    initialize(cfg.seed);
  }

  [[nodiscard]] const transformer_config& config() const { return cfg_; }
  [[nodiscard]] const std::vector<param_block>& blocks() const { return blocks_; }
  [[nodiscard]] index_t num_parameters() const { return static_cast<index_t>(params_.size()); }

  /// Re-draws every parameter from `seed`: weights N(0, init_std²) (residual projections
  /// scaled by 1/√(2·n_layers)), biases 0, layer-norm gains 1.
  void initialize(std::uint64_t seed) {
    rng_type rng(seed);
    const S proj_std = static_cast<S>(cfg_.init_std / std::sqrt(2.0 * static_cast<double>(cfg_.n_layers)));
    for (size_t k = 0; k < blocks_.size(); ++k) {
      const auto& b = blocks_[k];
      S* p = params_.data() + b.offset;
      for (index_t j = 0; j < b.size(); ++j) {
        switch (init_[k]) {
          case init_kind::zero: p[j] = S(0); break;
          case init_kind::one: p[j] = S(1); break;
          case init_kind::normal: p[j] = normal(rng) * static_cast<S>(cfg_.init_std); break;
          case init_kind::residual: p[j] = normal(rng) * proj_std; break;
        }
      }
    }
    std::fill(grads_.begin(), grads_.end(), S(0));
  }

  // ---- parameter access ------------------------------------------------------------------
  std::span<S> parameters() { return params_; }
  std::span<const S> parameters() const { return params_; }
  std::span<S> gradients() { return grads_; }
  void zero_grad() { std::fill(grads_.begin(), grads_.end(), S(0)); }

  /// An independent copy of the parameters (no gradients, no caches): the reference model.
  [[nodiscard]] transformer snapshot() const {
    transformer t(cfg_, layout_only{});
    t.params_ = params_;
    return t;
  }

  // ---- teacher-forced forward / backward -------------------------------------------------
  /// logp[i, t] and entropy[i, t] of completion token t of sequence i under softmax(z/τ);
  /// [N, T] row-major with T = logp.size()/N; `entropy` may be empty. Keeps the activations of
  /// this batch for `backward`.
  status logprobs(sequence_view b, S tau, std::span<S> logp, std::span<S> entropy) {
    if (!(tau > S(0)) || !std::isfinite(static_cast<double>(tau)))
      return {errc::bad_config, "tau", -1, "temperature must be finite and > 0"};
    GRPO_TRY(validate(b, cfg_.vocab_size, cfg_.context));
    index_t width = 0;
    GRPO_TRY(token_buffer_width(b, logp, "logp", false, width));
    GRPO_TRY(token_buffer_width(b, entropy, "entropy", true, width));
    const eigen_threads_scope threads(cfg_.eigen_threads);
    completion_logits(b, train_);
    auto& w = train_;
    const index_t k_rows = w.batch_rows;
    w.entropy.resize(k_rows);
    std::fill(logp.begin(), logp.end(), S(0));
    std::fill(entropy.begin(), entropy.end(), S(0));
    index_t k = 0;
    for (index_t i = 0; i < b.size(); ++i)
      for (index_t t = 0; t < b.completion_length(i); ++t, ++k) {
        S* row = w.probs.data() + k * cfg_.vocab_size;
        // the logits are overwritten by the tempered probabilities the backward needs
        const auto r = tempered_softmax_row<S>(row, cfg_.vocab_size, w.sel_target[static_cast<size_t>(k)], tau, row);
        logp[static_cast<size_t>(i * width + t)] = r.logp;
        if (!entropy.empty()) entropy[static_cast<size_t>(i * width + t)] = r.entropy;
        w.entropy(k) = r.entropy;
      }
    w.tau = tau;
    w.saved = workspace::saved_kind::probabilities;
    return {};
  }

  /// The logits z = h·W_out + b_out at every completion position, [K, V] row-major with K =
  /// b.num_completion_tokens() in batch order (row k predicts the k-th completion token), for
  /// losses over the whole distribution (distillation: grpo/distill/). `backward_logits` then
  /// takes ∂L/∂z.
  status logits(sequence_view b, std::span<S> out) {
    GRPO_TRY(validate(b, cfg_.vocab_size, cfg_.context));
    const index_t K = b.num_completion_tokens(), V = cfg_.vocab_size;
    if (static_cast<index_t>(out.size()) != K * V)
      return {errc::shape_mismatch, "logits", -1,
              "need K·V = " + std::to_string(K) + "·" + std::to_string(V) + " values, got " + std::to_string(out.size())};
    const eigen_threads_scope threads(cfg_.eigen_threads);
    completion_logits(b, train_);
    std::copy(train_.probs.data(), train_.probs.data() + K * V, out.begin());
    train_.saved = workspace::saved_kind::logits;
    return {};
  }

  /// Adds ∂L/∂θ for ∂L/∂z = dz ([K, V] like `logits`' output) to the gradients. Needs `logits`
  /// on the same batch just before.
  status backward_logits(sequence_view b, std::span<const S> dz) {
    auto& w = train_;
    if (w.saved != workspace::saved_kind::logits || w.batch_tokens != static_cast<index_t>(b.tokens.size()) ||
        w.batch_rows != b.num_completion_tokens())
      return {errc::shape_mismatch, "batch", -1, "backward_logits needs the batch of the last logits call"};
    const index_t V = cfg_.vocab_size;
    if (static_cast<index_t>(dz.size()) != w.batch_rows * V)
      return {errc::shape_mismatch, "dlogits", -1, "need K·V values"};
    for (std::size_t k = 0; k < dz.size(); ++k)
      if (!std::isfinite(static_cast<double>(dz[k]))) return {errc::non_finite, "dlogits", static_cast<index_t>(k), "not finite"};
    const eigen_threads_scope threads(cfg_.eigen_threads);
    w.dz = Eigen::Map<const mat>(dz.data(), w.batch_rows, V);
    backward_from_dz(b, w);
    return {};
  }

  /// Adds ∂L/∂θ for L with ∂L/∂logp = dlogp and ∂L/∂H = dentropy (may be empty), [N, T] like
  /// the forward's outputs, to the gradients. Needs `logprobs` on the same batch just before.
  status backward(sequence_view b, std::span<const S> dlogp, std::span<const S> dentropy) {
    auto& w = train_;
    if (w.saved != workspace::saved_kind::probabilities || w.batch_tokens != static_cast<index_t>(b.tokens.size()) ||
        w.batch_rows != b.num_completion_tokens())
      return {errc::shape_mismatch, "batch", -1, "backward needs the batch of the last logprobs call"};
    index_t width = 0;
    GRPO_TRY(token_buffer_width(b, dlogp, "dlogp", false, width));
    GRPO_TRY(token_buffer_width(b, dentropy, "dentropy", true, width));
    const eigen_threads_scope threads(cfg_.eigen_threads);
    const index_t V = cfg_.vocab_size;
    // dz from the saved tempered probabilities (tempered_softmax.hpp)
    w.dz.resize(w.batch_rows, V);
    index_t k = 0;
    for (index_t i = 0; i < b.size(); ++i)
      for (index_t t = 0; t < b.completion_length(i); ++t, ++k) {
        const size_t at = static_cast<size_t>(i * width + t);
        tempered_softmax_row_backward<S>(w.probs.data() + k * V, V, w.sel_target[static_cast<size_t>(k)], w.tau,
                                         w.entropy(k), dlogp[at], dentropy.empty() ? S(0) : dentropy[at],
                                         w.dz.data() + k * V, false);
      }
    backward_from_dz(b, w);
    return {};
  }

  // ---- sampling with a KV cache ----------------------------------------------------------
  /// G completions for each prompt, decoded in one batch over all P·G sequences with a KV
  /// cache; each prompt is pre-filled once and its cache copied to its G sequences. The
  /// completion budget is min(cfg.max_new_tokens, context − prompt length).
  status sample(std::span<const std::vector<token_t>> prompts, index_t group_size,
                const sampler_config& cfg, rng_type& rng, rollout& out) {
    GRPO_TRY(validate(cfg));
    if (group_size <= 0) return {errc::bad_config, "group_size", -1, "G must be positive"};
    if (prompts.empty()) return {errc::shape_mismatch, "prompts", -1, "no prompts"};
    const index_t P = static_cast<index_t>(prompts.size());
    const index_t N = P * group_size;
    const index_t d = cfg_.d_model, V = cfg_.vocab_size, C = cfg_.context;
    // pre-fill: one teacher-forced pass over the distinct prompts
    auto& pre = prefill_batch_;
    pre.clear();
    for (index_t p = 0; p < P; ++p) {
      const auto& q = prompts[static_cast<size_t>(p)];
      if (static_cast<index_t>(q.size()) >= C)
        return {errc::out_of_range, "prompts", p,
                "prompt of length " + std::to_string(q.size()) + " leaves no room in the context " +
                    std::to_string(C)};
      pre.add(q, {});
    }
    GRPO_TRY(validate(pre, V, C));
    const eigen_threads_scope threads(cfg_.eigen_threads);
    forward_hidden(pre, infer_);
    auto& dec = decode_;
    dec.k.resize(static_cast<size_t>(cfg_.n_layers));
    dec.v.resize(static_cast<size_t>(cfg_.n_layers));
    for (index_t l = 0; l < cfg_.n_layers; ++l) {
      auto& kc = dec.k[static_cast<size_t>(l)];
      auto& vc = dec.v[static_cast<size_t>(l)];
      kc.resize(N * C, d);
      vc.resize(N * C, d);
      const mat& qkv = infer_.layers[static_cast<size_t>(l)].qkv;
      for (index_t p = 0; p < P; ++p) {
        const index_t L = pre.length(p), o = pre.offsets[p];
        for (index_t g = 0; g < group_size; ++g) {
          const index_t n = p * group_size + g;
          kc.middleRows(n * C, L) = qkv.block(o, d, L, d);
          vc.middleRows(n * C, L) = qkv.block(o, 2 * d, L, d);
        }
      }
    }
    // per-sequence state
    std::vector<std::vector<token_t>> seqs(static_cast<size_t>(N));
    std::vector<std::vector<float>> logps(static_cast<size_t>(N));
    std::vector<index_t> budget(static_cast<size_t>(N));
    std::vector<std::uint8_t> done(static_cast<size_t>(N), 0);
    // the first completion token comes from the last prompt row of the pre-fill
    dec.z.resize(P, V);
    dec.h.resize(P, d);
    for (index_t p = 0; p < P; ++p) dec.h.row(p) = infer_.hf.row(pre.offsets[p + 1] - 1);
    dec.z.noalias() = dec.h * W(off_.w_out, d, V);
    dec.z.rowwise() += R(off_.b_out, V);
    for (index_t p = 0; p < P; ++p)
      for (index_t g = 0; g < group_size; ++g) {
        const index_t n = p * group_size + g;
        const auto& q = prompts[static_cast<size_t>(p)];
        seqs[static_cast<size_t>(n)].assign(q.begin(), q.end());
        budget[static_cast<size_t>(n)] = std::min(cfg.max_new_tokens, C - static_cast<index_t>(q.size()));
        push_draw(dec.z.data() + p * V, cfg, rng, n, seqs, logps, budget, done);
      }
    // decode: each step feeds the last token of every unfinished sequence
    std::vector<index_t> active;
    for (;;) {
      active.clear();
      for (index_t n = 0; n < N; ++n)
        if (!done[static_cast<size_t>(n)]) active.push_back(n);
      if (active.empty()) break;
      decode_step(active, seqs);
      for (size_t a = 0; a < active.size(); ++a)
        push_draw(dec.z.data() + static_cast<index_t>(a) * V, cfg, rng, active[a], seqs, logps, budget, done);
    }
    out.batch.clear();
    out.group_size = group_size;
    out.finished.assign(static_cast<size_t>(N), 0);
    for (index_t n = 0; n < N; ++n) {
      const auto& s = seqs[static_cast<size_t>(n)];
      const index_t plen = static_cast<index_t>(prompts[static_cast<size_t>(n / group_size)].size());
      out.batch.add(std::span<const token_t>(s).first(static_cast<size_t>(plen)),
                    std::span<const token_t>(s).subspan(static_cast<size_t>(plen)));
      out.finished[static_cast<size_t>(n)] = (!s.empty() && s.back() == cfg.stop_token) ? 1 : 0;
    }
    finalize_rollout(out, logps);
    return {};
  }

 private:
  enum class init_kind { normal, residual, zero, one };
  struct layout_only {};
  transformer(const transformer_config& cfg, layout_only) : cfg_(cfg) { build_layout(); }

  struct offsets {
    index_t wte, wpe, lnf_g, lnf_b, w_out, b_out;
    struct layer {
      index_t ln1_g, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_g, ln2_b, w_fc, b_fc, w_proj, b_proj;
    };
    std::vector<layer> layers;
  };

  struct layer_cache {
    mat xhat1, a1, qkv, y, xhat2, a2, hpre, h;
    vec rstd1, rstd2;
    std::vector<S> att;  // softmax probabilities per sequence and head, [L, L] each
  };
  struct workspace {
    std::vector<layer_cache> layers;
    std::vector<index_t> att_offset;  // [N]: start of sequence i's attention block in `att`
    mat x, xhatf, hf;
    vec rstdf;
    // logits path
    std::vector<index_t> sel;
    std::vector<token_t> sel_target;
    mat hsel, probs, dz, dsel;
    vec entropy;
    S tau = S(1);
    index_t batch_tokens = -1, batch_rows = -1;
    enum class saved_kind { none, probabilities, logits } saved = saved_kind::none;  // what w.probs holds
    // backward scratch
    mat dx, da, dqkv, dy, dh;
    std::vector<S> dp;  // [context, context]
  };
  struct decode_state {
    std::vector<mat> k, v;  // per layer, [N·context, d]: row n·context + pos
    mat x, a, qkv, y, h, hf, z;
    std::vector<S> scores;
    sampler_workspace<S> sws;
  };

  // ---- parameter views ---------------------------------------------------------------------
  map_mat W(index_t off, index_t r, index_t c) { return map_mat(params_.data() + off, r, c); }
  map_row R(index_t off, index_t n) { return map_row(params_.data() + off, n); }
  map_mat G(index_t off, index_t r, index_t c) { return map_mat(grads_.data() + off, r, c); }
  map_row GR(index_t off, index_t n) { return map_row(grads_.data() + off, n); }

  // The hidden states of the batch, then the logits of the rows that predict completion tokens
  // (row offsets[i] + P_i + t − 1 predicts completion token t) into w.probs, [K, V].
  void completion_logits(sequence_view b, workspace& w) {
    forward_hidden(b, w);
    const index_t k_rows = b.num_completion_tokens();
    w.sel.resize(static_cast<size_t>(k_rows));
    w.sel_target.resize(static_cast<size_t>(k_rows));
    w.hsel.resize(k_rows, cfg_.d_model);
    index_t k = 0;
    for (index_t i = 0; i < b.size(); ++i)
      for (index_t t = 0; t < b.completion_length(i); ++t, ++k) {
        const index_t m = b.offset(i) + b.prompt_length(i) + t;
        w.sel[static_cast<size_t>(k)] = m - 1;
        w.sel_target[static_cast<size_t>(k)] = b.tokens[static_cast<size_t>(m)];
        w.hsel.row(k) = w.hf.row(m - 1);
      }
    w.probs.resize(k_rows, cfg_.vocab_size);
    w.probs.noalias() = w.hsel * W(off_.w_out, cfg_.d_model, cfg_.vocab_size);
    w.probs.rowwise() += R(off_.b_out, cfg_.vocab_size);
    w.batch_tokens = static_cast<index_t>(b.tokens.size());
    w.batch_rows = k_rows;
  }

  // From ∂L/∂z in w.dz through the output layer, the layers and the embeddings.
  void backward_from_dz(sequence_view b, workspace& w) {
    const index_t d = cfg_.d_model, V = cfg_.vocab_size, M = w.batch_tokens;
    G(off_.w_out, d, V).noalias() += w.hsel.transpose() * w.dz;
    GR(off_.b_out, V) += w.dz.colwise().sum();
    w.dsel.resize(w.batch_rows, d);
    w.dsel.noalias() = w.dz * W(off_.w_out, d, V).transpose();
    w.dx.setZero(M, d);
    for (index_t r = 0; r < w.batch_rows; ++r) w.dx.row(w.sel[static_cast<size_t>(r)]) += w.dsel.row(r);
    // final layer norm: dx ← LN_f backward(dx)
    w.da = w.dx;
    w.dx.setZero();
    layer_norm_backward(w.da, w.xhatf, w.rstdf, off_.lnf_g, off_.lnf_b, w.dx);
    for (index_t l = cfg_.n_layers - 1; l >= 0; --l) layer_backward(b, w, l);
    // embeddings
    for (index_t i = 0; i < b.size(); ++i)
      for (index_t p = 0; p < b.length(i); ++p) {
        const index_t m = b.offset(i) + p;
        GR(off_.wte + b.tokens[static_cast<size_t>(m)] * d, d) += w.dx.row(m);
        GR(off_.wpe + p * d, d) += w.dx.row(m);
      }
  }

  void build_layout() {
    const index_t d = cfg_.d_model, V = cfg_.vocab_size, F = cfg_.ff();
    index_t at = 0;
    auto add = [&](const std::string& name, index_t r, index_t c, init_kind how) {
      blocks_.push_back({name, at, r, c, how == init_kind::normal || how == init_kind::residual});
      init_.push_back(how);
      at += r * c;
      return blocks_.back().offset;
    };
    off_.wte = add("wte", V, d, init_kind::normal);
    off_.wpe = add("wpe", cfg_.context, d, init_kind::normal);
    for (index_t l = 0; l < cfg_.n_layers; ++l) {
      std::string p = "h";  // built step by step: g++ 12 -Wrestrict misfires on "h" + s + "."
      p += std::to_string(l);
      p += ".";
      typename offsets::layer o{};
      o.ln1_g = add(p + "ln1.g", 1, d, init_kind::one);
      o.ln1_b = add(p + "ln1.b", 1, d, init_kind::zero);
      o.w_qkv = add(p + "w_qkv", d, 3 * d, init_kind::normal);
      o.b_qkv = add(p + "b_qkv", 1, 3 * d, init_kind::zero);
      o.w_o = add(p + "w_o", d, d, init_kind::residual);
      o.b_o = add(p + "b_o", 1, d, init_kind::zero);
      o.ln2_g = add(p + "ln2.g", 1, d, init_kind::one);
      o.ln2_b = add(p + "ln2.b", 1, d, init_kind::zero);
      o.w_fc = add(p + "w_fc", d, F, init_kind::normal);
      o.b_fc = add(p + "b_fc", 1, F, init_kind::zero);
      o.w_proj = add(p + "w_proj", F, d, init_kind::residual);
      o.b_proj = add(p + "b_proj", 1, d, init_kind::zero);
      off_.layers.push_back(o);
    }
    off_.lnf_g = add("lnf.g", 1, d, init_kind::one);
    off_.lnf_b = add("lnf.b", 1, d, init_kind::zero);
    off_.w_out = add("w_out", d, V, init_kind::normal);
    off_.b_out = add("b_out", 1, V, init_kind::zero);
    params_.assign(static_cast<size_t>(at), S(0));
    grads_.assign(static_cast<size_t>(at), S(0));
  }

  static S normal(rng_type& rng) {
    // Box-Muller on our own uniforms: the same numbers on every standard library
    const double u1 = 1.0 - uniform01(rng);  // (0, 1]
    const double u2 = uniform01(rng);
    return static_cast<S>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

  // ---- building blocks ---------------------------------------------------------------------
  /// y = x̂ ∘ g + b with x̂ = (x − μ)·rstd per row; keeps x̂ and rstd when asked.
  void layer_norm(const mat& x, index_t g_off, index_t b_off, mat& y, mat& xhat, vec& rstd) {
    const index_t d = cfg_.d_model;
    const auto mu = x.rowwise().mean();
    xhat = x.colwise() - mu;
    rstd = ((xhat.array().square().rowwise().sum() / S(d)) + S(cfg_.ln_eps)).rsqrt().matrix();
    xhat.array().colwise() *= rstd.array();
    y = (xhat.array().rowwise() * R(g_off, d).array()).rowwise() + R(b_off, d).array();
  }

  /// dx += LN backward of dy: with dx̂ = dy ∘ g,
  /// dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ∘ x̂)); dg += Σ dy∘x̂, db += Σ dy.
  void layer_norm_backward(const mat& dy, const mat& xhat, const vec& rstd, index_t g_off, index_t b_off, mat& dx) {
    const index_t d = cfg_.d_model;
    GR(g_off, d) += (dy.array() * xhat.array()).colwise().sum().matrix();
    GR(b_off, d) += dy.colwise().sum();
    const auto dxhat = (dy.array().rowwise() * R(g_off, d).array()).eval();
    const vec m1 = dxhat.rowwise().mean().matrix();
    const vec m2 = (dxhat * xhat.array()).rowwise().mean().matrix();
    dx.array() += ((dxhat.colwise() - m1.array()) - xhat.array().colwise() * m2.array()).colwise() * rstd.array();
  }

  // GELU, tanh form: g(x) = ½x(1 + tanh(c(x + a x³))), c = √(2/π), a = 0.044715;
  // g'(x) = ½(1 + t) + ½x(1 − t²)·c(1 + 3a x²), t = tanh(c(x + a x³)).
  static constexpr double gelu_c = 0.7978845608028654, gelu_a = 0.044715;
  static void gelu(const mat& x, mat& y) {
    const S c = S(gelu_c), a = S(gelu_a);
    y = (S(0.5) * x.array() * (S(1) + (c * (x.array() + a * x.array().cube())).tanh())).matrix();
  }
  static void gelu_backward(const mat& x, mat& dy_to_dx) {
    const S c = S(gelu_c), a = S(gelu_a);
    const auto t = (c * (x.array() + a * x.array().cube())).tanh().eval();
    dy_to_dx.array() *= S(0.5) * (S(1) + t) +
                        S(0.5) * x.array() * (S(1) - t.square()) * c * (S(1) + S(3) * a * x.array().square());
  }

  /// Fills w.layers, w.hf (the final-LN output) for a packed batch.
  void forward_hidden(sequence_view b, workspace& w) {
    const index_t d = cfg_.d_model, M = static_cast<index_t>(b.tokens.size());
    const index_t H = cfg_.n_heads, dh = cfg_.head_dim();
    const S scale = S(1) / std::sqrt(static_cast<S>(dh));
    w.layers.resize(static_cast<size_t>(cfg_.n_layers));
    w.att_offset.resize(static_cast<size_t>(b.size()));
    index_t att_total = 0;
    for (index_t i = 0; i < b.size(); ++i) {
      w.att_offset[static_cast<size_t>(i)] = att_total;
      att_total += H * b.length(i) * b.length(i);
    }
    w.x.resize(M, d);
    for (index_t i = 0; i < b.size(); ++i)
      for (index_t p = 0; p < b.length(i); ++p) {
        const index_t m = b.offset(i) + p;
        w.x.row(m) = R(off_.wte + b.tokens[static_cast<size_t>(m)] * d, d) + R(off_.wpe + p * d, d);
      }
    for (index_t l = 0; l < cfg_.n_layers; ++l) {
      const auto& o = off_.layers[static_cast<size_t>(l)];
      auto& c = w.layers[static_cast<size_t>(l)];
      layer_norm(w.x, o.ln1_g, o.ln1_b, c.a1, c.xhat1, c.rstd1);
      c.qkv.resize(M, 3 * d);
      c.qkv.noalias() = c.a1 * W(o.w_qkv, d, 3 * d);
      c.qkv.rowwise() += R(o.b_qkv, 3 * d);
      c.y.resize(M, d);
      c.att.resize(static_cast<size_t>(att_total));
      for (index_t i = 0; i < b.size(); ++i) {
        const index_t L = b.length(i), s0 = b.offset(i);
        for (index_t h = 0; h < H; ++h) {
          map_mat P(c.att.data() + w.att_offset[static_cast<size_t>(i)] + h * L * L, L, L);
          P.noalias() = c.qkv.block(s0, h * dh, L, dh) * c.qkv.block(s0, d + h * dh, L, dh).transpose();
          causal_softmax(P, scale);
          c.y.block(s0, h * dh, L, dh).noalias() = P * c.qkv.block(s0, 2 * d + h * dh, L, dh);
        }
      }
      w.x.noalias() += c.y * W(o.w_o, d, d);
      w.x.rowwise() += R(o.b_o, d);
      layer_norm(w.x, o.ln2_g, o.ln2_b, c.a2, c.xhat2, c.rstd2);
      c.hpre.resize(M, cfg_.ff());
      c.hpre.noalias() = c.a2 * W(o.w_fc, d, cfg_.ff());
      c.hpre.rowwise() += R(o.b_fc, cfg_.ff());
      gelu(c.hpre, c.h);
      w.x.noalias() += c.h * W(o.w_proj, cfg_.ff(), d);
      w.x.rowwise() += R(o.b_proj, d);
    }
    layer_norm(w.x, off_.lnf_g, off_.lnf_b, w.hf, w.xhatf, w.rstdf);
  }

  /// Row r of the scaled scores keeps columns 0..r: P_rj = exp(s_rj − max) / Σ, 0 for j > r.
  static void causal_softmax(map_mat& P, S scale) {
    const index_t L = P.rows();
    for (index_t r = 0; r < L; ++r) {
      S* row = P.data() + r * L;
      S m = -std::numeric_limits<S>::infinity();
      for (index_t j = 0; j <= r; ++j) m = std::max(m, row[j] * scale);
      S sum = 0;
      for (index_t j = 0; j <= r; ++j) {
        row[j] = std::exp(row[j] * scale - m);
        sum += row[j];
      }
      const S inv = S(1) / sum;
      for (index_t j = 0; j <= r; ++j) row[j] *= inv;
      for (index_t j = r + 1; j < L; ++j) row[j] = S(0);
    }
  }

  /// Backward through one layer; w.dx holds ∂L/∂(layer output) and becomes ∂L/∂(layer input).
  void layer_backward(sequence_view b, workspace& w, index_t l) {
    const index_t d = cfg_.d_model, F = cfg_.ff(), H = cfg_.n_heads, dh = cfg_.head_dim();
    const index_t M = w.batch_tokens;
    const S scale = S(1) / std::sqrt(static_cast<S>(dh));
    const auto& o = off_.layers[static_cast<size_t>(l)];
    auto& c = w.layers[static_cast<size_t>(l)];
    // MLP branch
    G(o.w_proj, F, d).noalias() += c.h.transpose() * w.dx;
    GR(o.b_proj, d) += w.dx.colwise().sum();
    w.dh.resize(M, F);
    w.dh.noalias() = w.dx * W(o.w_proj, F, d).transpose();
    gelu_backward(c.hpre, w.dh);
    G(o.w_fc, d, F).noalias() += c.a2.transpose() * w.dh;
    GR(o.b_fc, F) += w.dh.colwise().sum();
    w.da.resize(M, d);
    w.da.noalias() = w.dh * W(o.w_fc, d, F).transpose();
    layer_norm_backward(w.da, c.xhat2, c.rstd2, o.ln2_g, o.ln2_b, w.dx);
    // attention branch
    G(o.w_o, d, d).noalias() += c.y.transpose() * w.dx;
    GR(o.b_o, d) += w.dx.colwise().sum();
    w.dy.resize(M, d);
    w.dy.noalias() = w.dx * W(o.w_o, d, d).transpose();
    w.dqkv.resize(M, 3 * d);
    w.dp.resize(static_cast<size_t>(cfg_.context * cfg_.context));
    for (index_t i = 0; i < b.size(); ++i) {
      const index_t L = b.length(i), s0 = b.offset(i);
      for (index_t h = 0; h < H; ++h) {
        map_mat P(c.att.data() + w.att_offset[static_cast<size_t>(i)] + h * L * L, L, L);
        map_mat dP(w.dp.data(), L, L);
        const auto dO = w.dy.block(s0, h * dh, L, dh);
        // O = P V:  dP = dO Vᵀ,  dV = Pᵀ dO
        dP.noalias() = dO * c.qkv.block(s0, 2 * d + h * dh, L, dh).transpose();
        w.dqkv.block(s0, 2 * d + h * dh, L, dh).noalias() = P.transpose() * dO;
        // softmax rows: dS_rj = P_rj (dP_rj − Σ_k P_rk dP_rk), times the 1/√d_h of the scores
        for (index_t r = 0; r < L; ++r) {
          S dot = 0;
          for (index_t j = 0; j <= r; ++j) dot += P(r, j) * dP(r, j);
          for (index_t j = 0; j <= r; ++j) dP(r, j) = P(r, j) * (dP(r, j) - dot) * scale;
          for (index_t j = r + 1; j < L; ++j) dP(r, j) = S(0);
        }
        // S = Q Kᵀ:  dQ = dS K,  dK = dSᵀ Q
        w.dqkv.block(s0, h * dh, L, dh).noalias() = dP * c.qkv.block(s0, d + h * dh, L, dh);
        w.dqkv.block(s0, d + h * dh, L, dh).noalias() = dP.transpose() * c.qkv.block(s0, h * dh, L, dh);
      }
    }
    G(o.w_qkv, d, 3 * d).noalias() += c.a1.transpose() * w.dqkv;
    GR(o.b_qkv, 3 * d) += w.dqkv.colwise().sum();
    w.da.noalias() = w.dqkv * W(o.w_qkv, d, 3 * d).transpose();
    layer_norm_backward(w.da, c.xhat1, c.rstd1, o.ln1_g, o.ln1_b, w.dx);
  }

  /// One decode step for the sequences in `active`: feeds the last token of each at position
  /// length − 1, appends its K and V to the cache, leaves the next-token logits in decode_.z.
  void decode_step(const std::vector<index_t>& active, const std::vector<std::vector<token_t>>& seqs) {
    auto& s = decode_;
    const index_t A = static_cast<index_t>(active.size());
    const index_t d = cfg_.d_model, F = cfg_.ff(), H = cfg_.n_heads, dh = cfg_.head_dim(), C = cfg_.context;
    const S scale = S(1) / std::sqrt(static_cast<S>(dh));
    s.x.resize(A, d);
    for (index_t a = 0; a < A; ++a) {
      const auto& q = seqs[static_cast<size_t>(active[static_cast<size_t>(a)])];
      const index_t pos = static_cast<index_t>(q.size()) - 1;
      s.x.row(a) = R(off_.wte + q.back() * d, d) + R(off_.wpe + pos * d, d);
    }
    s.scores.resize(static_cast<size_t>(C));
    for (index_t l = 0; l < cfg_.n_layers; ++l) {
      const auto& o = off_.layers[static_cast<size_t>(l)];
      auto& kc = s.k[static_cast<size_t>(l)];
      auto& vc = s.v[static_cast<size_t>(l)];
      layer_norm(s.x, o.ln1_g, o.ln1_b, s.a, scratch_xhat_, scratch_rstd_);
      s.qkv.resize(A, 3 * d);
      s.qkv.noalias() = s.a * W(o.w_qkv, d, 3 * d);
      s.qkv.rowwise() += R(o.b_qkv, 3 * d);
      s.y.resize(A, d);
      for (index_t a = 0; a < A; ++a) {
        const index_t n = active[static_cast<size_t>(a)];
        const index_t pos = static_cast<index_t>(seqs[static_cast<size_t>(n)].size()) - 1;
        kc.row(n * C + pos) = s.qkv.block(a, d, 1, d);
        vc.row(n * C + pos) = s.qkv.block(a, 2 * d, 1, d);
        const index_t L = pos + 1;
        Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, 1>> sc(s.scores.data(), L);
        for (index_t h = 0; h < H; ++h) {
          sc.noalias() = kc.block(n * C, h * dh, L, dh) * s.qkv.block(a, h * dh, 1, dh).transpose();
          sc *= scale;
          const S m = sc.maxCoeff();
          sc = (sc.array() - m).exp().matrix();
          sc /= sc.sum();
          s.y.block(a, h * dh, 1, dh).noalias() = sc.transpose() * vc.block(n * C, h * dh, L, dh);
        }
      }
      s.x.noalias() += s.y * W(o.w_o, d, d);
      s.x.rowwise() += R(o.b_o, d);
      layer_norm(s.x, o.ln2_g, o.ln2_b, s.a, scratch_xhat_, scratch_rstd_);
      s.qkv.resize(A, F);  // reused as the MLP's pre-activation
      s.qkv.noalias() = s.a * W(o.w_fc, d, F);
      s.qkv.rowwise() += R(o.b_fc, F);
      gelu(s.qkv, s.h);
      s.x.noalias() += s.h * W(o.w_proj, F, d);
      s.x.rowwise() += R(o.b_proj, d);
    }
    layer_norm(s.x, off_.lnf_g, off_.lnf_b, s.hf, scratch_xhat_, scratch_rstd_);
    s.z.resize(A, cfg_.vocab_size);
    s.z.noalias() = s.hf * W(off_.w_out, d, cfg_.vocab_size);
    s.z.rowwise() += R(off_.b_out, cfg_.vocab_size);
  }

  void push_draw(const S* z, const sampler_config& cfg, rng_type& rng, index_t n,
                 std::vector<std::vector<token_t>>& seqs, std::vector<std::vector<float>>& logps,
                 const std::vector<index_t>& budget, std::vector<std::uint8_t>& done) {
    const auto dr = sample_token<S>(z, cfg_.vocab_size, cfg, rng, decode_.sws);
    seqs[static_cast<size_t>(n)].push_back(dr.token);
    logps[static_cast<size_t>(n)].push_back(static_cast<float>(dr.logp));
    if (dr.token == cfg.stop_token ||
        static_cast<index_t>(logps[static_cast<size_t>(n)].size()) >= budget[static_cast<size_t>(n)])
      done[static_cast<size_t>(n)] = 1;
  }

  transformer_config cfg_;
  offsets off_{};
  std::vector<param_block> blocks_;
  std::vector<init_kind> init_;
  std::vector<S> params_, grads_;
  workspace train_, infer_;
  decode_state decode_;
  sequence_batch prefill_batch_;
  mat scratch_xhat_;
  vec scratch_rstd_;
};

}  // namespace grpo::model
