// `make demo`: the R1-Zero story on a 2-core CPU in about five minutes, no download.
//   1. a tiny transformer is pre-trained briefly on raw addition text (the "base model");
//   2. GRPO with the R1-Zero template and rule-based rewards (accuracy + format) trains it;
//   3. held-out pass@1 (k samples, temperature 0.6, top-p 0.95), greedy accuracy and the
//      format rate are measured before and after.
// Prints progress, a table and a one-line JSON summary (also in build/demo/summary.json);
// per-step metrics go to build/demo/metrics.csv and the curves to build/demo/curves.svg.
//
//   build/examples/demo [--quick] [--seed N] [--digits 2|3] [--out DIR]
//   (GRPO_DEMO_QUICK=1 = --quick; --digits 3: operands up to 999, ~2.5 min of CPU)
#include <grpo/train/r1_zero_demo.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  bool quick = false;
  std::uint64_t seed = 1;
  int digits = 2;
  std::string out = "build/demo";
  if (const char* q = std::getenv("GRPO_DEMO_QUICK"); q && std::strcmp(q, "0") != 0 && *q) quick = true;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--quick") quick = true;
    else if (arg == "--seed" && a + 1 < argc) seed = std::strtoull(argv[++a], nullptr, 10);
    else if (arg == "--out" && a + 1 < argc) out = argv[++a];
    else if (arg == "--digits" && a + 1 < argc) digits = std::atoi(argv[++a]);
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--seed N] [--digits 2|3] [--out DIR]\n", argv[0]);
      return 2;
    }
  }
  if (digits < 1 || digits > 3) {
    std::fprintf(stderr, "--digits must be 1, 2 or 3\n");
    return 2;
  }
  auto cfg = grpo::train::make_demo_config(quick, seed, digits);
  cfg.out_dir = out;
  grpo::train::demo_summary s;
  const grpo::status st = grpo::train::run_demo(cfg, s);
  if (!st.ok()) {
    std::fprintf(stderr, "demo failed: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("\nheld-out: %ld test problems, k = %ld samples each\n", static_cast<long>(s.eval_problems),
              static_cast<long>(s.eval_k));
  std::printf("%-22s %10s %10s\n", "metric", "base", "after GRPO");
  std::printf("%-22s %10.3f %10.3f\n", ("pass@1 (k=" + std::to_string(s.eval_k) + ")").c_str(), s.pass1_before, s.pass1_after);
  std::printf("%-22s %10.3f %10.3f\n", "pass@1, any format", s.pass1_any_format_before, s.pass1_any_format_after);
  std::printf("%-22s %10.3f %10.3f\n", "greedy accuracy", s.greedy_before, s.greedy_after);
  std::printf("%-22s %10.3f %10.3f\n", "format rate", s.format_before, s.format_after);
  std::printf("%-22s %10.3f %10.3f\n", ("cons@" + std::to_string(s.eval_k)).c_str(), s.cons_before, s.cons_after);
  std::printf("%-22s %10.3f %10.3f\n", "train reward (5 steps)", s.reward_first, s.reward_last);
  std::printf("task: %s, %ld GRPO steps, %ld parameters, %.1f s (pre-train %.1f s, GRPO %.1f s, eval %.1f s)\n",
              s.task.c_str(), static_cast<long>(s.steps), static_cast<long>(s.params), s.seconds,
              s.pretrain_seconds, s.grpo_seconds, s.eval_seconds);
  std::printf("outputs: %s/{summary.json, metrics.csv, curves.svg}\n", out.c_str());
  std::printf("%s\n", s.to_json().c_str());
  return 0;
}
