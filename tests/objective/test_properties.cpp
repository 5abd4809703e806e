// Properties of the fused CPU pass: serial == parallel bitwise for any thread count, accumulate
// mode adds, permuting sequences permutes the outputs, and a data-parallel split with a summing
// reduction hook reproduces the single-process loss and gradient.
#include "objectives.hpp"
#include "support.hpp"

#include <grpo/objective/presets.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

namespace {

template <class O>
void bitwise_serial_parallel(const O& o, std::uint64_t seed) {
  const objtest::data d = objtest::random_data(37, 11, objtest::needs(o, {}), seed);
  const auto s = objtest::run<float>(o, d, grpo::exec::serial{});
  REQUIRE(s.st.ok());
  for (int threads : {1, 2, 3, 7}) {
    const auto p = objtest::run<float>(o, d, grpo::exec::parallel{threads});
    REQUIRE(p.st.ok());
    CHECK(std::memcmp(&s.r.loss, &p.r.loss, sizeof(double)) == 0);
    REQUIRE(s.r.stats.size == p.r.stats.size);
    for (int k = 0; k < s.r.stats.size; ++k)
      CHECK(std::memcmp(&s.r.stats.items[k].value, &p.r.stats.items[k].value, sizeof(double)) == 0);
    CHECK(std::memcmp(s.grad.data(), p.grad.data(), s.grad.size() * sizeof(float)) == 0);
  }
}

/// A fake data-parallel "all-reduce": rank r's partial totals are summed (or maxed) with the
/// other ranks' values, which the test has computed beforehand.
struct fake_allreduce {
  const grpo::batch_totals* others;
  void sum(double* v, grpo::index_t n) const {
    const double o[3] = {others->tokens, others->sequences, others->nonempty};
    for (grpo::index_t k = 0; k < n; ++k) v[k] += o[k];
  }
  void max(double* v, grpo::index_t) const { v[0] = std::max(v[0], others->max_width); }
};

/// Local totals of a batch, as a rank would contribute them.
template <class O, class Real>
grpo::batch_totals local(const O& o, const grpo::token_batch<Real>& b) {
  return grpo::totals(o, b);
}

template <class O>
void data_parallel(const O& o, std::uint64_t seed) {
  const objtest::data d = objtest::random_data(24, 10, objtest::needs(o, {}), seed);
  const auto whole = objtest::run<double>(o, d);
  REQUIRE(whole.st.ok());
  // rank 0 holds sequences [0, 10), rank 1 [10, 24): views into the same arrays
  auto v = d.make<double>();
  auto split = [&](grpo::index_t begin, grpo::index_t n) {
    grpo::token_batch<double> b = v.b;
    const grpo::index_t T = b.T;
    b.N = n;
    auto shift = [&](const auto* p, grpo::index_t stride) { return p ? p + begin * stride : p; };
    b.logp = shift(b.logp, T); b.old = shift(b.old, T); b.ref = shift(b.ref, T);
    b.mask = shift(b.mask, T); b.lengths = shift(b.lengths, 1);
    b.advantages = shift(b.advantages, 1); b.token_advantages = shift(b.token_advantages, T);
    b.entropy = shift(b.entropy, T); b.sampler_logp = shift(b.sampler_logp, T);
    b.truncated = shift(b.truncated, 1);
    return b;
  };
  const auto b0 = split(0, 10), b1 = split(10, 14);
  const grpo::batch_totals t0 = local(o, b0), t1 = local(o, b1);
  std::vector<double> g(d.logp.size(), 0.0);
  grpo::objective_result r0, r1;
  REQUIRE(grpo::evaluate(o, b0, grpo::gradient_out<double>{g.data()}, r0, grpo::exec::serial{},
                         fake_allreduce{&t1}).ok());
  REQUIRE(grpo::evaluate(o, b1, grpo::gradient_out<double>{g.data() + 10 * d.T}, r1,
                         grpo::exec::serial{}, fake_allreduce{&t0}).ok());
  CHECK(r0.loss + r1.loss == Approx(whole.r.loss).epsilon(1e-12).margin(1e-14));
  CHECK(r0.totals.tokens == whole.r.totals.tokens);
  for (std::size_t k = 0; k < g.size(); ++k) CHECK(g[k] == Approx(whole.grad[k]).epsilon(1e-12).margin(1e-15));
}

}  // namespace

TEMPLATE_TEST_CASE("serial and parallel CPU passes are bitwise equal", "[objective][determinism]",
                   OBJTEST_ALL_TYPES) {
  const TestType o = objtest::types::configure<TestType>();
  bitwise_serial_parallel(o, 77);
  bitwise_serial_parallel(o, 78);
}

TEMPLATE_TEST_CASE("two data-parallel ranks sum to the single-process result",
                   "[objective][reduction]", objtest::types::ppo_k3_seqmean,
                   objtest::types::ppo_dual_tokmean, objtest::types::ppo_abs_constant,
                   objtest::types::ppo_lowvar_seqsum, objtest::types::ppo_st_toksum,
                   objtest::types::gspo_t, objtest::types::luspo_t, objtest::types::trunc_t,
                   objtest::types::entropy_t, objtest::types::ppo_verl_dual_t, objtest::types::ppo_own_kl_t) {
  TestType o = objtest::types::configure<TestType>();
  if constexpr (TestType::template has<grpo::correction::top_entropy>) {
    // the quantile spans the batch: a data-parallel run fixes it from the gathered entropies
    o.corrections.template get<grpo::correction::top_entropy>().threshold = 2.0;
  }
  data_parallel(o, 91);
  data_parallel(o, 92);
}

TEST_CASE("given totals replace the reduction hook", "[objective][reduction]") {
  // a micro-batch evaluated with the whole batch's totals (as the trainer passes them) equals one
  // evaluated with a hook that supplies the same global values
  const auto o = grpo::presets::trl::grpo();
  const objtest::data d = objtest::random_data(12, 7, objtest::needs(o, {}), 6);
  auto v = d.make<double>();
  grpo::batch_totals others;
  others.tokens = 30, others.sequences = 9, others.nonempty = 8, others.max_width = 7;
  grpo::batch_totals given = grpo::totals(o, v.b);
  given.tokens += others.tokens, given.sequences += others.sequences, given.nonempty += others.nonempty;
  grpo::objective_result a, b;
  std::vector<double> ga(d.logp.size()), gb(d.logp.size());
  REQUIRE(grpo::evaluate(o, v.b, grpo::gradient_out<double>{ga.data()}, a, grpo::exec::serial{}, fake_allreduce{&others}).ok());
  REQUIRE(grpo::evaluate(o, v.b, grpo::gradient_out<double>{gb.data()}, b, grpo::exec::serial{}, given).ok());
  CHECK(a.loss == b.loss);
  CHECK(ga == gb);
  CHECK(b.totals.sequences == 21);
  CHECK(b.totals.local_sequences == 12);
}

TEST_CASE("BNPO normalises by the local token count only", "[objective][reduction]") {
  // with a reduction that doubles the global counts, token_mean halves and bnpo does not move
  struct doubling {
    void sum(double* v, grpo::index_t n) const { for (grpo::index_t k = 0; k < n; ++k) v[k] *= 2; }
    void max(double*, grpo::index_t) const {}
  };
  const auto o1 = grpo::presets::trl::dapo();
  const auto o2 = grpo::presets::trl::bnpo();
  const objtest::data d = objtest::random_data(8, 6, objtest::needs(o1, {}), 5);
  auto v = d.make<double>();
  grpo::objective_result a, b, c, e;
  REQUIRE(grpo::evaluate(o1, v.b, grpo::gradient_out<double>{}, a).ok());
  REQUIRE(grpo::evaluate(o1, v.b, grpo::gradient_out<double>{}, b, grpo::exec::serial{}, doubling{}).ok());
  REQUIRE(grpo::evaluate(o2, v.b, grpo::gradient_out<double>{}, c).ok());
  REQUIRE(grpo::evaluate(o2, v.b, grpo::gradient_out<double>{}, e, grpo::exec::serial{}, doubling{}).ok());
  CHECK(b.loss == Approx(a.loss / 2));
  CHECK(e.loss == c.loss);
  CHECK(c.loss == Approx(a.loss));
}

TEMPLATE_TEST_CASE("accumulate mode adds to the caller's gradient", "[objective][grad]",
                   objtest::types::ppo_k3_seqmean, objtest::types::gspo_t, objtest::types::entropy_t) {
  const TestType o = objtest::types::configure<TestType>();
  const objtest::data d = objtest::random_data(9, 7, objtest::needs(o, {}), 3);
  auto v = d.make<double>();
  std::vector<double> g1(d.logp.size()), g2(d.logp.size());
  for (std::size_t k = 0; k < g2.size(); ++k) g2[k] = 0.25 * double(k % 5);
  const std::vector<double> before = g2;
  grpo::objective_result r;
  REQUIRE(grpo::evaluate(o, v.b, grpo::gradient_out<double>{g1.data()}, r).ok());
  REQUIRE(grpo::evaluate(o, v.b, grpo::gradient_out<double>{g2.data(), grpo::grad_mode::accumulate}, r).ok());
  for (std::size_t k = 0; k < g1.size(); ++k) CHECK(g2[k] == Approx(before[k] + g1[k]).margin(1e-15));
  // write mode zeroes masked-out positions
  for (int i = 0; i < d.N; ++i)
    for (int t = 0; t < d.T; ++t)
      if (!v.b.in(i, t)) CHECK(g1[i * d.T + t] == 0.0);
}

TEMPLATE_TEST_CASE("permuting sequences permutes the outputs", "[objective][property]",
                   objtest::types::ppo_k3_seqmean, objtest::types::gspo_t, objtest::types::gmpo_t,
                   objtest::types::sampler_tok_t, objtest::types::trunc_t) {
  const TestType o = objtest::types::configure<TestType>();
  const objtest::data d = objtest::random_data(10, 6, objtest::needs(o, {}), 8);
  std::vector<int> perm(10);
  std::iota(perm.begin(), perm.end(), 0);
  std::reverse(perm.begin(), perm.end());
  std::swap(perm[2], perm[7]);
  objtest::data p = d;
  auto permute_rows = [&](auto& dst, const auto& src, int width) {
    if (src.empty()) return;
    for (int i = 0; i < d.N; ++i)
      for (int t = 0; t < width; ++t) dst[i * width + t] = src[perm[i] * width + t];
  };
  permute_rows(p.logp, d.logp, d.T); permute_rows(p.old, d.old, d.T); permute_rows(p.ref, d.ref, d.T);
  permute_rows(p.entropy, d.entropy, d.T); permute_rows(p.sampler, d.sampler, d.T);
  permute_rows(p.mask, d.mask, d.T); permute_rows(p.adv, d.adv, 1); permute_rows(p.token_adv, d.token_adv, d.T);
  permute_rows(p.truncated, d.truncated, 1); permute_rows(p.lengths, d.lengths, 1);
  const auto a = objtest::run<double>(o, d), b = objtest::run<double>(o, p);
  REQUIRE(a.st.ok());
  REQUIRE(b.st.ok());
  CHECK(b.r.loss == Approx(a.r.loss).epsilon(1e-13));
  for (int i = 0; i < d.N; ++i)
    for (int t = 0; t < d.T; ++t) CHECK(b.grad[i * d.T + t] == a.grad[perm[i] * d.T + t]);
}

TEST_CASE("a caller workspace gives the same results", "[objective][workspace]") {
  const auto o = grpo::presets::trl::luspo();
  const objtest::data d = objtest::random_data(13, 8, objtest::needs(o, {}), 4);
  auto v = d.make<float>();
  const std::size_t bytes = grpo::workspace_bytes(grpo::exec::parallel{}, o, d.N, d.T);
  CHECK(bytes >= std::size_t(d.N) * sizeof(grpo::sequence_summary<decltype(o)>));
  std::vector<double> ws(bytes / sizeof(double) + 1, -1.0);
  std::vector<float> g1(d.logp.size()), g2(d.logp.size());
  grpo::objective_result a, b;
  REQUIRE(grpo::evaluate(o, v.b, grpo::gradient_out<float>{g1.data()}, a).ok());
  grpo::exec::parallel p{2};
  p.ws = {ws.data(), bytes};
  REQUIRE(grpo::evaluate(o, v.b, grpo::gradient_out<float>{g2.data()}, b, p).ok());
  CHECK(std::memcmp(&a.loss, &b.loss, sizeof(double)) == 0);
  CHECK(std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)) == 0);
  CHECK(std::count(ws.begin(), ws.end(), -1.0) < std::ptrdiff_t(ws.size()));  // the caller's memory was used
}
