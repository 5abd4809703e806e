// scripts/ab.sh's driver: times version a and version b of each hot path call by call,
// alternately, on the same inputs, and prints the median of the per-call ratios b/a with its
// quartiles. On a shared machine whose speed drifts by tens of percent between runs, this
// resolves differences of a few percent that separate runs cannot.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

double token_loss_a(long, long, const float*, const float*, const float*, const std::uint8_t*, const float*, float*,
                    double*, bool, bool);
double token_loss_b(long, long, const float*, const float*, const float*, const std::uint8_t*, const float*, float*,
                    double*, bool, bool);
double logsoftmax_bf16_a(long, long, const std::uint16_t*, const std::int64_t*, float*, float*);
double logsoftmax_bf16_b(long, long, const std::uint16_t*, const std::int64_t*, float*, float*);

namespace {

struct summary {
  double a_min, a_med, b_min, b_med, ratio_med, ratio_q1, ratio_q3;
};

summary summarize(std::vector<double> a, std::vector<double> b) {
  std::vector<double> r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = b[i] / a[i];
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::sort(r.begin(), r.end());
  const std::size_t k = a.size();
  return {a[0], a[k / 2], b[0], b[k / 2], r[k / 2], r[k / 4], r[3 * k / 4]};
}

void print(const std::string& name, const summary& s, double max_diff) {
  std::printf("%-34s a: min %8.3f med %8.3f ms | b: min %8.3f med %8.3f ms | b/a %.3f [%.3f, %.3f] | max |b - a| %.1e\n",
              name.c_str(), s.a_min * 1e3, s.a_med * 1e3, s.b_min * 1e3, s.b_med * 1e3, s.ratio_med, s.ratio_q1,
              s.ratio_q3, max_diff);
}

// TRL's grpo loss on n sequences of t tokens, completion lengths uniform in [1, t] (the inputs
// of compare_torch.py's token-loss case)
void token_loss(long n, long t, int reps, bool parallel, bool validated) {
  std::mt19937 rng(12345);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<long> length(1, t);
  const std::size_t size = std::size_t(n * t);
  const auto rows = static_cast<std::size_t>(n);
  std::vector<float> logp(size), old(size), ref(size), adv(rows), ga(size), gb(size);
  std::vector<std::uint8_t> mask(size);
  for (std::size_t k = 0; k < size; ++k) {
    logp[k] = -std::fabs(normal(rng)) - 0.05f;
    old[k] = logp[k] + 0.1f * normal(rng);
    ref[k] = logp[k] + 0.1f * normal(rng);
  }
  for (long i = 0; i < n; ++i) {
    const long len = length(rng);
    for (long j = 0; j < t; ++j) mask[std::size_t(i * t + j)] = j < len;
    adv[static_cast<std::size_t>(i)] = normal(rng);
  }
  std::vector<double> ta, tb;
  double la = 0, lb = 0;
  for (int r = 0; r < reps; ++r) {
    ta.push_back(token_loss_a(n, t, logp.data(), old.data(), ref.data(), mask.data(), adv.data(), ga.data(), &la, parallel, validated));
    tb.push_back(token_loss_b(n, t, logp.data(), old.data(), ref.data(), mask.data(), adv.data(), gb.data(), &lb, parallel, validated));
  }
  double diff = std::fabs(la - lb);
  for (std::size_t k = 0; k < size; ++k) diff = std::max(diff, double(std::fabs(ga[k] - gb[k])));
  print("token loss " + std::to_string(n) + "x" + std::to_string(t) + (parallel ? " parallel" : " serial") +
            (validated ? "" : " unchecked"),
        summarize(ta, tb), diff);
}

void logsoftmax_bf16(long n, long v, int reps) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<std::uint16_t> z(static_cast<std::size_t>(n * v));
  for (auto& x : z) {  // round to nearest even
    const float f = normal(rng);
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    x = std::uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
  const auto rows = static_cast<std::size_t>(n);
  std::vector<std::int64_t> y(rows);
  for (std::size_t i = 0; i < rows; ++i) y[i] = static_cast<std::int64_t>(i * 7919) % v;
  std::vector<float> la(rows), lb(rows), sa(rows), sb(rows);
  std::vector<double> ta, tb;
  for (int r = 0; r < reps; ++r) {
    ta.push_back(logsoftmax_bf16_a(n, v, z.data(), y.data(), la.data(), sa.data()));
    tb.push_back(logsoftmax_bf16_b(n, v, z.data(), y.data(), lb.data(), sb.data()));
  }
  double diff = 0;
  for (std::size_t i = 0; i < rows; ++i) diff = std::max(diff, double(std::fabs(la[i] - lb[i])));
  print("log-softmax fwd bf16 " + std::to_string(n) + "x" + std::to_string(v), summarize(ta, tb), diff);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 400;
  for (bool validated : {true, false}) {
    token_loss(512, 1024, reps, false, validated);
    token_loss(4096, 128, reps, false, validated);
    token_loss(512, 1024, reps, true, validated);
    token_loss(4096, 128, reps, true, validated);
  }
  logsoftmax_bf16(256, 32768, std::max(10, reps / 10));
  logsoftmax_bf16(64, 151936, std::max(10, reps / 10));
  return 0;
}
