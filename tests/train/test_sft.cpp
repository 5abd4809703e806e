// The SFT trainer (grpo/train/sft.hpp) on a tabular policy, whose loss and gradient have closed
// forms: the loss against −mean log-softmax of the completion tokens written here, the gradient
// against (softmax − one-hot)/M and finite differences, gradient accumulation against the whole
// batch, the epoch order, bit-exact resumption, and the error paths.
#include <catch2/catch.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/train/sft.hpp>
#include <grpo/task/random.hpp>

#include <cmath>
#include <filesystem>
#include <set>
#include <vector>

using grpo::train::sft_config;
using grpo::train::sft_example;
using grpo::train::sft_trainer;
using policy_t = grpo::model::tabular_policy<double>;

namespace {

constexpr grpo::index_t kStates = 3, kActions = 5, kPositions = 4;

std::vector<sft_example> make_examples(grpo::task::splitmix64& rng, int n) {
  std::vector<sft_example> d(static_cast<std::size_t>(n));
  for (auto& e : d) {
    const auto plen = 1 + rng.below(3), clen = 1 + rng.below(kPositions);
    for (std::uint64_t i = 0; i < plen; ++i) e.prompt.push_back(static_cast<grpo::model::token_t>(rng.below(kStates)));
    for (std::uint64_t i = 0; i < clen; ++i) e.completion.push_back(static_cast<grpo::model::token_t>(rng.below(kActions)));
  }
  return d;
}

void randomise(policy_t& p, grpo::task::splitmix64& rng) {
  for (auto& v : p.parameters()) v = static_cast<double>(rng.below(2001)) / 1000.0 - 1.0;
}

// −(1/M) Σ log softmax(θ[s, t])[y_t] over the examples `which`, and its gradient, from the table.
double reference_loss(const policy_t& p, const std::vector<sft_example>& d, const std::vector<grpo::index_t>& which,
                      std::vector<double>* grad) {
  double nll = 0, M = 0;
  for (auto i : which) M += static_cast<double>(d[static_cast<std::size_t>(i)].completion.size());
  if (grad) grad->assign(static_cast<std::size_t>(kStates * kActions * kPositions), 0.0);
  for (auto i : which) {
    const auto& e = d[static_cast<std::size_t>(i)];
    const auto s = e.prompt.back();
    for (std::size_t t = 0; t < e.completion.size(); ++t) {
      const double* z = p.logits(s, static_cast<grpo::index_t>(t));
      double m = -INFINITY, sum = 0;
      for (grpo::index_t a = 0; a < kActions; ++a) m = std::max(m, z[a]);
      for (grpo::index_t a = 0; a < kActions; ++a) sum += std::exp(z[a] - m);
      nll -= z[e.completion[t]] - m - std::log(sum);
      if (grad) {
        const std::size_t row = static_cast<std::size_t>((s * kPositions + static_cast<grpo::index_t>(t)) * kActions);
        for (grpo::index_t a = 0; a < kActions; ++a)
          (*grad)[row + static_cast<std::size_t>(a)] += (std::exp(z[a] - m) / sum - (a == e.completion[t] ? 1.0 : 0.0)) / M;
      }
    }
  }
  return nll / M;
}

}  // namespace

TEST_CASE("sft: the loss and gradient of a step against the closed forms and finite differences", "[sft]") {
  grpo::task::splitmix64 rng(21);
  const auto data = make_examples(rng, 10);
  policy_t p(kStates, kActions, kPositions);
  randomise(p, rng);
  REQUIRE(p.parameters().size() == static_cast<std::size_t>(kStates * kActions * kPositions));  // the layout the reference assumes
  sft_config cfg;
  cfg.batch_size = 4;
  cfg.max_grad_norm = 0;  // the gradient stays as computed
  sft_trainer<policy_t> sft(p, data, cfg);
  const auto members = sft.batch_of(0);
  std::vector<double> want_grad;
  const policy_t before = p.snapshot();
  const double want = reference_loss(before, data, members, &want_grad);
  grpo::train::sft_step_result r;
  REQUIRE(sft.step(r).ok());
  CHECK(r.loss == Approx(want).epsilon(1e-14));
  double tokens = 0;
  for (auto i : members) tokens += static_cast<double>(data[static_cast<std::size_t>(i)].completion.size());
  CHECK(r.tokens == tokens);
  const auto g = p.gradients();
  for (std::size_t k = 0; k < g.size(); ++k) CHECK(g[k] == Approx(want_grad[k]).margin(1e-14));
  // and the reference gradient against finite differences of the reference loss
  policy_t probe = before.snapshot();
  for (std::size_t k = 0; k < g.size(); k += 7) {
    const double x = probe.parameters()[k], h = 1e-6;
    probe.parameters()[k] = x + h;
    const double up = reference_loss(probe, data, members, nullptr);
    probe.parameters()[k] = x - h;
    const double down = reference_loss(probe, data, members, nullptr);
    probe.parameters()[k] = x;
    CHECK(want_grad[k] == Approx((up - down) / (2 * h)).margin(1e-8));
  }
}

TEST_CASE("sft: gradient accumulation gives the whole batch's gradient", "[sft]") {
  grpo::task::splitmix64 rng(22);
  const auto data = make_examples(rng, 13);
  for (grpo::index_t parts : {2, 3, 5}) {
    policy_t a(kStates, kActions, kPositions), b(kStates, kActions, kPositions);
    randomise(a, rng);
    std::copy(a.parameters().begin(), a.parameters().end(), b.parameters().begin());
    sft_config one, many;
    one.batch_size = many.batch_size = 5;
    one.max_grad_norm = many.max_grad_norm = 0;
    many.micro_batches = parts;
    sft_trainer<policy_t> ta(a, data, one), tb(b, data, many);
    for (int s = 0; s < 3; ++s) {
      grpo::train::sft_step_result ra, rb;
      REQUIRE(ta.step(ra).ok());
      REQUIRE(tb.step(rb).ok());
      CHECK(rb.loss == Approx(ra.loss).epsilon(1e-14));
      for (std::size_t k = 0; k < a.gradients().size(); ++k) CHECK(b.gradients()[k] == Approx(a.gradients()[k]).margin(1e-15));
    }
  }
}

TEST_CASE("sft: every epoch visits every example once, in an order fixed by seed and epoch", "[sft]") {
  grpo::task::splitmix64 rng(23);
  const auto data = make_examples(rng, 11);
  policy_t p(kStates, kActions, kPositions);
  sft_config cfg;
  cfg.epochs = 3;
  cfg.batch_size = 4;
  sft_trainer<policy_t> sft(p, data, cfg);
  CHECK(sft.steps_per_epoch() == 3);  // 4 + 4 + 3
  CHECK(sft.total_steps() == 9);
  std::vector<std::vector<grpo::index_t>> orders;
  for (int e = 0; e < 3; ++e) {
    std::vector<grpo::index_t> seen;
    for (int s = 0; s < 3; ++s)
      for (auto i : sft.batch_of(e * 3 + s)) seen.push_back(i);
    CHECK(std::set<grpo::index_t>(seen.begin(), seen.end()).size() == 11);
    CHECK(seen.size() == 11);
    orders.push_back(seen);
  }
  CHECK(orders[0] != orders[1]);
  CHECK(grpo::train::epoch_order(11, 1, 0, true) == orders[1]);
  CHECK(grpo::train::epoch_order(11, 1, 1, true) != orders[1]);
  cfg.drop_last = true;
  sft_trainer<policy_t> dropping(p, data, cfg);
  CHECK(dropping.steps_per_epoch() == 2);
}

TEST_CASE("sft: a run resumed from a checkpoint ends bit for bit where the uninterrupted run ends", "[sft]") {
  grpo::task::splitmix64 rng(24);
  const auto data = make_examples(rng, 9);
  policy_t base(kStates, kActions, kPositions);
  randomise(base, rng);
  sft_config cfg;
  cfg.epochs = 2;
  cfg.batch_size = 3;
  cfg.micro_batches = 2;
  cfg.schedule.warmup_steps = 2;
  policy_t whole = base.snapshot();
  sft_trainer<policy_t> full(whole, data, cfg);
  REQUIRE(full.run().ok());
  CHECK(full.done());

  const auto path = std::filesystem::temp_directory_path() / "grpo_test_sft.ckpt";
  policy_t first = base.snapshot();
  sft_trainer<policy_t> part(first, data, cfg);
  for (int s = 0; s < 4; ++s) {
    grpo::train::sft_step_result r;
    REQUIRE(part.step(r).ok());
  }
  REQUIRE(part.save(path).ok());
  policy_t resumed(kStates, kActions, kPositions);  // fresh parameters: all come from the file
  sft_trainer<policy_t> rest(resumed, data, cfg);
  REQUIRE(rest.load(path).ok());
  CHECK(rest.step_index() == 4);
  REQUIRE(rest.run().ok());
  std::filesystem::remove(path);
  for (std::size_t k = 0; k < whole.parameters().size(); ++k) REQUIRE(resumed.parameters()[k] == whole.parameters()[k]);
  grpo::train::sft_step_result r;
  CHECK(rest.step(r).kind() == grpo::errc::out_of_range);  // the run is over
  // a checkpoint of another dataset is refused
  const std::vector<sft_example> other(data.begin(), data.begin() + 5);
  sft_trainer<policy_t> wrong(resumed, other, cfg);
  CHECK(wrong.restore(full.make_checkpoint()).input() == "sft.examples");
}

TEST_CASE("sft: bad data and configuration are named", "[sft][errors]") {
  policy_t p(kStates, kActions, kPositions);
  std::vector<sft_example> data = {{{0}, {1, 2}}, {{1}, {}}};
  sft_config cfg;
  grpo::train::sft_step_result r;
  {
    sft_trainer<policy_t> t(p, data, cfg);
    const auto s = t.step(r);
    CHECK(s.input() == "examples.completion");
    CHECK(s.index() == 1);
  }
  data[1] = {{}, {1}};
  {
    sft_trainer<policy_t> t(p, data, cfg);
    CHECK(t.step(r).input() == "examples.prompt");
  }
  data[1] = {{2}, {1}};
  auto config_error = [&](auto edit) {
    sft_config c;
    edit(c);
    sft_trainer<policy_t> t(p, data, c);
    return t.step(r).input();
  };
  CHECK(config_error([](sft_config& c) { c.epochs = 0; }) == "epochs");
  CHECK(config_error([](sft_config& c) { c.batch_size = 0; }) == "batch_size");
  CHECK(config_error([](sft_config& c) { c.micro_batches = 20; }) == "micro_batches");
  CHECK(config_error([](sft_config& c) { c.max_grad_norm = -1; }) == "max_grad_norm");
  CHECK(config_error([](sft_config& c) { c.schedule.peak_lr = -1; }) == "peak_lr");
  CHECK(config_error([](sft_config& c) { c.drop_last = true; c.batch_size = 5; }) == "batch_size");
  std::vector<sft_example> none;
  sft_trainer<policy_t> empty(p, none, cfg);
  CHECK(empty.step(r).input() == "examples");
}
