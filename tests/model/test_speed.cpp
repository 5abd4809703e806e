// Throughput of the default transformer (hidden: run with `test_model "[.speed]"`). Prints
// tokens/s for teacher-forced forward+backward and for KV-cached sampling; the only check is
// that the work was done (the figures go to the report, not to a threshold on a shared box).
#include <catch2/catch.hpp>
#include <grpo/model/transformer.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

using grpo::index_t;
namespace gm = grpo::model;

TEST_CASE("transformer throughput at the default size", "[.speed]") {
  gm::transformer_config cfg;  // defaults
  gm::transformer<float> m(cfg);
  std::printf("config: vocab %ld context %ld d_model %ld layers %ld heads %ld d_ff %ld, %ld parameters\n",
              long(cfg.vocab_size), long(cfg.context), long(cfg.d_model), long(cfg.n_layers),
              long(cfg.n_heads), long(cfg.ff()), long(m.num_parameters()));
  // a GRPO-sized batch: 16 prompts x 16 samples, prompt 20 tokens, completion 28 tokens
  const index_t P = 16, G = 16, plen = 20, clen = 28;
  std::vector<std::vector<gm::token_t>> prompts;
  gm::rng_type rng(1);
  for (index_t p = 0; p < P; ++p) {
    std::vector<gm::token_t> q(static_cast<size_t>(plen));
    for (auto& t : q) t = static_cast<gm::token_t>(rng() % static_cast<std::uint64_t>(cfg.vocab_size));
    prompts.push_back(q);
  }
  gm::sampler_config sc;
  sc.max_new_tokens = clen;  // no stop token: every completion has clen tokens
  gm::rollout r;
  using clock = std::chrono::steady_clock;
  const int reps = 3;
  auto t0 = clock::now();
  for (int k = 0; k < reps; ++k) REQUIRE(m.sample(prompts, G, sc, rng, r).ok());
  const double sample_s = std::chrono::duration<double>(clock::now() - t0).count() / reps;
  REQUIRE(r.batch.num_completion_tokens() == P * G * clen);
  std::vector<float> lp(static_cast<size_t>(r.size() * r.width)), g(lp.size(), 1e-3f);
  t0 = clock::now();
  for (int k = 0; k < reps; ++k) REQUIRE(m.logprobs(r.batch, 1.0f, lp, {}).ok());
  const double fwd_s = std::chrono::duration<double>(clock::now() - t0).count() / reps;
  t0 = clock::now();
  for (int k = 0; k < reps; ++k) {
    REQUIRE(m.logprobs(r.batch, 1.0f, lp, {}).ok());
    REQUIRE(m.backward(r.batch, g, {}).ok());
  }
  const double fb_s = std::chrono::duration<double>(clock::now() - t0).count() / reps;
  const double tokens = double(r.batch.tokens.size());
  std::printf("batch: %ld sequences, %.0f tokens (%ld completion)\n", long(r.size()), tokens,
              long(r.batch.num_completion_tokens()));
  std::printf("sampling (KV cache):   %.3f s/batch, %.0f generated tokens/s\n", sample_s,
              double(P * G * clen) / sample_s);
  std::printf("forward (logprobs):    %.3f s/batch, %.0f tokens/s\n", fwd_s, tokens / fwd_s);
  std::printf("forward + backward:    %.3f s/batch, %.0f tokens/s\n", fb_s, tokens / fb_s);
}
