// Logit distillation through the transformer (model::transformer::logits / backward_logits and
// grpo/train/distill.hpp): the logits agree with the log-probs, ∂L/∂logits reaches the same
// parameter gradient as ∂L/∂logp, the distillation gradient against finite differences of the
// loss, a student that approaches its teacher, and the error paths.
#include <catch2/catch.hpp>
#include <grpo/model/transformer.hpp>
#include <grpo/train/distill.hpp>

#include <cmath>
#include <random>
#include <vector>

using grpo::index_t;
using grpo::model::sequence_batch;
using grpo::model::token_t;
using grpo::model::transformer;
using grpo::model::transformer_config;

static_assert(grpo::train::logit_policy<transformer<double>>);
static_assert(grpo::train::logit_policy<transformer<float>>);

namespace {

transformer_config small(std::uint64_t seed, index_t d_model = 8) {
  transformer_config c;
  c.vocab_size = 7;
  c.context = 10;
  c.d_model = d_model;
  c.n_layers = 1;
  c.n_heads = 2;
  c.d_ff = 12;
  c.seed = seed;
  c.init_std = 0.3;  // logits far enough from uniform that the divergences are not tiny
  return c;
}

sequence_batch batch(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> tok(0, 6);
  sequence_batch b;
  for (auto [p, c] : {std::pair{2, 3}, {1, 4}, {3, 2}}) {
    std::vector<token_t> pr(static_cast<std::size_t>(p)), co(static_cast<std::size_t>(c));
    for (auto& t : pr) t = tok(rng);
    for (auto& t : co) t = tok(rng);
    b.add(pr, co);
  }
  return b;
}

// the loss of the student's current parameters (no gradient)
double loss_of(transformer<double>& s, transformer<double>& t, const sequence_batch& b, const grpo::distill::divergence& d) {
  const index_t K = b.num_completion_tokens(), V = s.config().vocab_size;
  std::vector<double> zs(static_cast<std::size_t>(K * V)), zt(zs.size());
  REQUIRE(s.logits(b, zs).ok());
  REQUIRE(t.logits(b, zt).ok());
  double loss = 0;
  REQUIRE(grpo::distill::token_mean_loss(d, zs.data(), zt.data(), {K, V}, nullptr, loss).ok());
  return loss;
}

}  // namespace

TEST_CASE("transformer logits: log-softmax at the targets equals logprobs", "[distill][transformer]") {
  transformer<double> m(small(3));
  const auto b = batch(1);
  const index_t K = b.num_completion_tokens(), V = 7, T = b.max_completion_length();
  std::vector<double> z(static_cast<std::size_t>(K * V)), logp(static_cast<std::size_t>(b.size() * T));
  REQUIRE(m.logits(b, z).ok());
  REQUIRE(m.logprobs(b, 1.0, logp, {}).ok());
  index_t k = 0;
  for (index_t i = 0; i < b.size(); ++i)
    for (index_t t = 0; t < b.completion_length(i); ++t, ++k) {
      const double* row = z.data() + k * V;
      double mx = -INFINITY, sum = 0;
      for (index_t v = 0; v < V; ++v) mx = std::max(mx, row[v]);
      for (index_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
      const auto y = b.sequence(i)[b.prompt_length(i) + t];
      CHECK(row[y] - mx - std::log(sum) == Approx(logp[static_cast<std::size_t>(i * T + t)]).epsilon(1e-12));
    }
}

TEST_CASE("transformer backward_logits: ∂L/∂z = g·(onehot − softmax) gives backward(g)'s gradient", "[distill][transformer]") {
  transformer<double> m(small(4));
  const auto b = batch(2);
  const index_t K = b.num_completion_tokens(), V = 7, T = b.max_completion_length();
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> g(static_cast<std::size_t>(b.size() * T), 0.0), logp(g.size()), z(static_cast<std::size_t>(K * V)), dz(z.size());
  for (index_t i = 0; i < b.size(); ++i)
    for (index_t t = 0; t < b.completion_length(i); ++t) g[static_cast<std::size_t>(i * T + t)] = u(rng);
  REQUIRE(m.logprobs(b, 1.0, logp, {}).ok());
  m.zero_grad();
  REQUIRE(m.backward(b, g, {}).ok());
  const std::vector<double> want(m.gradients().begin(), m.gradients().end());
  REQUIRE(m.logits(b, z).ok());
  index_t k = 0;
  for (index_t i = 0; i < b.size(); ++i)
    for (index_t t = 0; t < b.completion_length(i); ++t, ++k) {
      double mx = -INFINITY, sum = 0;
      for (index_t v = 0; v < V; ++v) mx = std::max(mx, z[static_cast<std::size_t>(k * V + v)]);
      for (index_t v = 0; v < V; ++v) sum += std::exp(z[static_cast<std::size_t>(k * V + v)] - mx);
      const auto y = b.sequence(i)[b.prompt_length(i) + t];
      for (index_t v = 0; v < V; ++v)
        dz[static_cast<std::size_t>(k * V + v)] =
            g[static_cast<std::size_t>(i * T + t)] * ((v == y ? 1.0 : 0.0) - std::exp(z[static_cast<std::size_t>(k * V + v)] - mx) / sum);
    }
  m.zero_grad();
  REQUIRE(m.backward_logits(b, dz).ok());
  for (std::size_t p = 0; p < want.size(); ++p) CHECK(m.gradients()[p] == Approx(want[p]).margin(1e-12));
  // the state checks: each backward needs its own forward
  CHECK(m.backward(b, g, {}).input() == "batch");
  REQUIRE(m.logprobs(b, 1.0, logp, {}).ok());
  CHECK(m.backward_logits(b, dz).input() == "batch");
  std::vector<double> short_z(3);
  CHECK(m.logits(b, short_z).input() == "logits");
}

TEST_CASE("distill_step: the gradient against finite differences of the divergence", "[distill][transformer]") {
  for (double beta : {0.0, 0.5, 1.0}) {
    transformer<double> student(small(5)), teacher(small(6));
    const auto b = batch(3);
    const grpo::distill::divergence d{beta, 1.3, 0};
    const index_t K = b.num_completion_tokens(), V = 7;
    std::vector<double> zs(static_cast<std::size_t>(K * V)), zt(zs.size()), dz(zs.size());
    REQUIRE(teacher.logits(b, zt).ok());
    REQUIRE(student.logits(b, zs).ok());
    double loss = 0;
    REQUIRE(grpo::distill::token_mean_loss(d, zs.data(), zt.data(), {K, V}, nullptr, loss, dz.data()).ok());
    student.zero_grad();
    REQUIRE(student.backward_logits(b, dz).ok());
    const std::vector<double> grad(student.gradients().begin(), student.gradients().end());
    const auto params = student.parameters();
    for (std::size_t p = 0; p < params.size(); p += 37) {
      const double x = params[p], h = 1e-6;
      params[p] = x + h;
      const double up = loss_of(student, teacher, b, d);
      params[p] = x - h;
      const double down = loss_of(student, teacher, b, d);
      params[p] = x;
      INFO("beta " << beta << " parameter " << p);
      CHECK(grad[p] == Approx((up - down) / (2 * h)).margin(1e-8));
    }
  }
}

TEST_CASE("distill_step: the student approaches the teacher; on-policy; errors", "[distill][transformer]") {
  transformer<float> student(small(7)), teacher(small(8));
  const auto b = batch(4);
  grpo::optim::adamw opt;
  grpo::train::distill_step_result first, last;
  const auto d = grpo::distill::jsd(0.5);
  for (int s = 0; s < 60; ++s) {
    grpo::train::distill_step_result r;
    REQUIRE(grpo::train::distill_step(student, teacher, b, d, opt, 1e-2, 1.0, r).ok());
    if (s == 0) first = r;
    last = r;
  }
  CHECK(first.loss > 0.01);
  CHECK(last.loss < 0.2 * first.loss);
  CHECK(last.tokens == static_cast<double>(b.num_completion_tokens()));
  // on-policy: the student's own samples
  const std::vector<std::vector<token_t>> prompts = {{1, 2}, {3}};
  grpo::model::sampler_config sc;
  sc.max_new_tokens = 4;
  grpo::model::rng_type rng(3);
  grpo::train::distill_step_result r;
  REQUIRE(grpo::train::on_policy_distill_step(student, teacher, prompts, 2, sc, rng, grpo::distill::reverse_kl(), opt, 1e-3, 1.0, r).ok());
  CHECK(r.tokens >= 2);
  CHECK(std::isfinite(r.loss));
  // a teacher with another vocabulary
  auto other = small(9);
  other.vocab_size = 9;
  transformer<float> wide(other);
  CHECK(grpo::train::distill_step(student, wide, b, d, opt, 1e-3, 1.0, r).input() == "vocab");
  sequence_batch none;
  CHECK(grpo::train::distill_step(student, teacher, none, d, opt, 1e-3, 1.0, r).input() == "batch");
}

TEST_CASE("gkd_step: λ = 0 is the teacher-forced step, λ = 1 the on-policy one, else a coin", "[distill][transformer]") {
  transformer<float> teacher(small(8));
  const auto b = batch(5);
  grpo::model::sampler_config sc;
  sc.max_new_tokens = 3;
  const auto d = grpo::distill::jsd(0.5);
  auto params = [](transformer<float>& m) { auto p = m.parameters(); return std::vector<float>(p.begin(), p.end()); };
  grpo::train::distill_step_result r1, r2;
  {  // λ = 0: exactly distill_step on b
    transformer<float> a(small(7)), c(small(7));
    grpo::optim::adamw oa, oc;
    grpo::model::rng_type rng(11);
    bool on = true;
    REQUIRE(grpo::train::gkd_step(a, teacher, b, 0.0, 2, sc, rng, d, oa, 1e-2, 1.0, r1, &on).ok());
    REQUIRE(grpo::train::distill_step(c, teacher, b, d, oc, 1e-2, 1.0, r2).ok());
    CHECK_FALSE(on);
    CHECK(r1.loss == r2.loss);
    CHECK(params(a) == params(c));
  }
  {  // λ = 1: exactly on_policy_distill_step on b's prompts, after the coin's draw
    transformer<float> a(small(7)), c(small(7));
    grpo::optim::adamw oa, oc;
    grpo::model::rng_type rng(11), rng2(11);
    (void)std::uniform_real_distribution<double>(0.0, 1.0)(rng2);
    std::vector<std::vector<token_t>> prompts;
    for (index_t i = 0; i < b.size(); ++i) prompts.emplace_back(b.sequence(i), b.sequence(i) + b.prompt_length(i));
    bool on = false;
    REQUIRE(grpo::train::gkd_step(a, teacher, b, 1.0, 2, sc, rng, d, oa, 1e-2, 1.0, r1, &on).ok());
    REQUIRE(grpo::train::on_policy_distill_step(c, teacher, prompts, 2, sc, rng2, d, oc, 1e-2, 1.0, r2).ok());
    CHECK(on);
    CHECK(r1.loss == r2.loss);
    CHECK(r1.tokens == r2.tokens);
    CHECK(params(a) == params(c));
  }
  {  // λ = 0.3: the on-policy share of 400 steps is within 5 binomial standard deviations
    transformer<float> a(small(7));
    grpo::optim::adamw oa;
    grpo::model::rng_type rng(12);
    int on_policy = 0;
    for (int s = 0; s < 400; ++s) {
      bool on = false;
      REQUIRE(grpo::train::gkd_step(a, teacher, b, 0.3, 1, sc, rng, d, oa, 1e-4, 1.0, r1, &on).ok());
      on_policy += on;
    }
    CHECK(std::abs(on_policy - 120) < 5 * std::sqrt(400 * 0.3 * 0.7));
  }
  transformer<float> a(small(7));
  grpo::optim::adamw oa;
  grpo::model::rng_type rng(1);
  for (const double bad : {-0.1, 1.5, std::nan("")})
    CHECK(grpo::train::gkd_step(a, teacher, b, bad, 2, sc, rng, d, oa, 1e-2, 1.0, r1).input() == "lambda");
}
