// Gradient accumulation: splitting the rollout into micro-batches gives the same gradient and
// the same update as one big batch, for aggregations whose normalisers are batch totals
// (token count, sequence count, padded width). Completions have different lengths and some are
// truncated (masked), so the micro-batches hold different token counts: a per-micro-batch
// normaliser would give a different answer (checked as a control).
#include "bandit_env.hpp"

#include <grpo/exec/cpu.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace grpo_test;
using grpo::index_t;

namespace {

bandit_env three_state_env() {
  bandit_env e;
  e.num_states = 3;
  e.num_actions = 4;
  e.r = {{0.0, 1.0, 0.2, 0.0}, {0.5, 0.0, 0.0, 1.0}, {0.1, 0.3, 0.9, 0.4}};
  return e;
}

grpo::train::trainer_config accum_config(index_t micro, index_t mu) {
  grpo::train::trainer_config c;
  c.prompts_per_step = 6;
  c.group_size = 4;
  c.sampling = {1.0, 0, 1.0, 3, 0};  // action 0 stops; at most 3 tokens (then truncated)
  c.mask_truncated = true;
  c.ref_refresh_every = 0;
  c.inner_iterations = mu;
  c.micro_batches = micro;
  c.adamw = {0.05, 0.9, 0.99, 1e-8, 0.01};
  c.max_grad_norm = 0;  // no clipping: compare raw gradients
  c.seed = 7;
  c.threads = 1;
  return c;
}

template <class Objective>
void check_accumulation(Objective obj) {
  obj.beta = 0.05;  // with a KL term: the reference model's log-probs go through the same split
  auto env = three_state_env();
  for (index_t mu : {1, 2}) {
    std::vector<std::vector<double>> params, grads;
    std::vector<double> losses;
    for (index_t micro : {1, 2, 4}) {  // 4 micro-batches over 6 groups: sizes 1, 2, 1, 2
      auto e = env;
      grpo::model::tabular_policy<double> pi(3, 4, 3);
      for (std::size_t k = 0; k < pi.parameters().size(); ++k) pi.parameters()[k] = 0.1 * std::sin(double(k));
      grpo::train::trainer tr(pi, e, grpo::group_normalized{}, obj, accum_config(micro, mu));
      for (int s = 0; s < 2; ++s) {
        grpo::train::metrics_record m;
        REQUIRE(tr.step(m).ok());
        if (s == 0) losses.push_back(m.get("loss"));
      }
      params.emplace_back(pi.parameters().begin(), pi.parameters().end());
      grads.emplace_back(pi.gradients().begin(), pi.gradients().end());
    }
    for (std::size_t v = 1; v < params.size(); ++v) {
      CHECK(losses[v] == Approx(losses[0]).epsilon(1e-12).margin(1e-14));
      for (std::size_t k = 0; k < params[0].size(); ++k) {
        CHECK(grads[v][k] == Approx(grads[0][k]).epsilon(1e-10).margin(1e-13));
        CHECK(params[v][k] == Approx(params[0][k]).epsilon(1e-10).margin(1e-13));
      }
    }
  }
}

}  // namespace

TEST_CASE("accumulated micro-batches equal one big batch: token mean", "[train][accumulation]") {
  check_accumulation(grpo::presets::trl::dapo());
}

TEST_CASE("accumulated micro-batches equal one big batch: per-sequence token mean", "[train][accumulation]") {
  check_accumulation(grpo::presets::trl::grpo());
}

TEST_CASE("accumulated micro-batches equal one big batch: Dr. GRPO constant", "[train][accumulation]") {
  check_accumulation(grpo::presets::trl::dr_grpo(0));  // normaliser = padded width (global max)
}

TEST_CASE("control: per-micro-batch normalisers would NOT give the big-batch gradient", "[train][accumulation]") {
  // token mean over 2 sequences of different lengths, evaluated whole and as two halves each
  // with its own (local) token count: the halves' gradients do not add up to the whole's.
  const index_t T = 3;
  std::vector<double> logp = {-1.0, -0.5, -0.2, -0.7, 0, 0}, adv = {1.0, -0.5};
  std::vector<std::int32_t> len = {3, 1};
  auto obj = grpo::presets::trl::dapo();
  auto batch = [&](index_t r0, index_t n) {
    grpo::token_batch<double> b;
    b.N = n;
    b.T = T;
    b.logp = logp.data() + r0 * T;
    b.lengths = len.data() + r0;
    b.advantages = adv.data() + r0;
    return b;
  };
  std::vector<double> whole(6, 0.0), local(6, 0.0), global(6, 0.0);
  grpo::objective_result res;
  REQUIRE(grpo::evaluate(obj, batch(0, 2), grpo::gradient_out<double>{whole.data()}, res).ok());
  for (index_t r0 : {0, 1}) {
    REQUIRE(grpo::evaluate(obj, batch(r0, 1), grpo::gradient_out<double>{local.data() + r0 * T}, res).ok());
    // what the trainer does: the whole batch's totals (the sum of the micro-batches'), given
    grpo::batch_totals all = grpo::totals(obj, batch(0, 1));
    all += grpo::totals(obj, batch(1, 1));
    REQUIRE(grpo::evaluate(obj, batch(r0, 1), grpo::gradient_out<double>{global.data() + r0 * T}, res,
                           grpo::exec::serial{}, all).ok());
  }
  double local_gap = 0, global_gap = 0;
  for (int k = 0; k < 6; ++k) {
    local_gap = std::max(local_gap, std::abs(local[k] - whole[k]));
    global_gap = std::max(global_gap, std::abs(global[k] - whole[k]));
  }
  CHECK(local_gap > 0.05);
  CHECK(global_gap < 1e-15);
}
