// Data parallelism on two MPI ranks (grpo/dist/mpi.hpp) against one process holding the whole
// batch, which every rank also computes on its own:
//   1. the library: advantages (group-normalised, batch std, REINFORCE++-baseline whitening) and the fused
//      objective (token mean, per-sequence token mean, Dr. GRPO) of each rank's half of the groups,
//      with the MPI reduction hook: each rank's rows of A and dL/dlogp, the summed loss and the
//      global token count;
//   2. the trainer: three steps on external rollouts of a fixed global batch, each rank training
//      on its half with trainer_hooks: the parameters, the loss, the gradient norm and the
//      reward, length and objective metrics;
//   3. fail-together: one rank's malformed rollout is an error on both ranks (no hang), and
//      agree() on good statuses is ok.
// Tolerances: 1e-12 relative in double. The reductions add the ranks' partial sums, so the
// association of the sums differs from one process's: equal to rounding, not bitwise.
#include <grpo/advantage/compute.hpp>
#include <grpo/dist/mpi.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/trainer.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using grpo::index_t;

namespace {

int failures = 0;
int me = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("rank %d FAIL: %s\n", me, what.c_str());
  }
}
bool close(double a, double b, double rel = 1e-12) { return std::abs(a - b) <= rel * (1 + std::abs(b)); }

// ---- 1. the library -----------------------------------------------------------------------------

struct global_batch {
  index_t P = 8, G = 4, T = 12;
  std::vector<double> logp, old, ref, rewards;
  std::vector<std::uint8_t> mask;
  std::vector<std::int32_t> lengths;
};

global_batch make_batch(std::uint64_t seed) {
  global_batch b;
  const index_t N = b.P * b.G;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01;
  std::uniform_int_distribution<int> len(1, static_cast<int>(b.T));
  b.logp.resize(static_cast<std::size_t>(N * b.T));
  b.old.resize(b.logp.size());
  b.ref.resize(b.logp.size());
  b.mask.assign(b.logp.size(), 0);
  for (std::size_t k = 0; k < b.logp.size(); ++k) {
    b.logp[k] = -std::abs(n01(rng)) - 0.05;
    b.old[k] = b.logp[k] + 0.1 * n01(rng);
    b.ref[k] = b.logp[k] + 0.2 * n01(rng);
  }
  for (index_t i = 0; i < N; ++i) {
    b.lengths.push_back(len(rng));
    for (index_t t = 0; t < b.lengths.back(); ++t) b.mask[static_cast<std::size_t>(i * b.T + t)] = 1;
    b.rewards.push_back(n01(rng));
  }
  return b;
}

template <class Estimator, class Objective, class Reduction>
void advantages_and_loss(const Estimator& est, const Objective& obj, const global_batch& b, index_t row0, index_t rows,
                         const Reduction& red, std::vector<double>& A, std::vector<double>& dlogp,
                         grpo::objective_result& res) {
  const index_t T = b.T;
  std::vector<double> rewards(b.rewards.begin() + row0, b.rewards.begin() + row0 + rows);
  std::vector<std::int32_t> lengths(b.lengths.begin() + row0, b.lengths.begin() + row0 + rows);
  grpo::basic_reward_view<double> v;
  v.rewards = rewards.data();
  v.num_sequences = rows;
  v.max_length = T;
  v.lengths = lengths.data();
  A.assign(static_cast<std::size_t>(rows), 0.0);
  grpo::advantage_stats st;
  const auto s = grpo::compute_advantages(est, v, grpo::group_layout::fixed(rows, b.G), A.data(), st, red);
  expect(s.ok(), "compute_advantages: " + s.message());
  grpo::token_batch<double> tb;
  tb.N = rows;
  tb.T = T;
  tb.logp = b.logp.data() + row0 * T;
  tb.old = b.old.data() + row0 * T;
  tb.ref = b.ref.data() + row0 * T;
  tb.mask = b.mask.data() + row0 * T;
  tb.lengths = lengths.data();
  tb.advantages = A.data();
  dlogp.assign(static_cast<std::size_t>(rows * T), 0.0);
  const auto e = grpo::evaluate(obj, tb, grpo::gradient_out<double>{dlogp.data()}, res, grpo::exec::serial{}, red);
  expect(e.ok(), "evaluate: " + e.message());
}

template <class Estimator, class Objective>
void check_library(const char* name, const Estimator& est, Objective obj, std::uint64_t seed) {
  obj.beta = 0.04;
  const auto b = make_batch(seed);
  const index_t N = b.P * b.G, half = N / 2;
  std::vector<double> A1, d1, A2, d2;
  grpo::objective_result r1, r2;
  advantages_and_loss(est, obj, b, 0, N, grpo::local_reduction{}, A1, d1, r1);  // one process
  const index_t row0 = me * half;
  advantages_and_loss(est, obj, b, row0, half, grpo::dist::mpi_reduction{MPI_COMM_WORLD}, A2, d2, r2);
  double worst_a = 0, worst_d = 0;
  for (index_t i = 0; i < half; ++i) {
    worst_a = std::max(worst_a, std::abs(A2[static_cast<std::size_t>(i)] - A1[static_cast<std::size_t>(row0 + i)]));
    for (index_t t = 0; t < b.T; ++t)
      worst_d = std::max(worst_d, std::abs(d2[static_cast<std::size_t>(i * b.T + t)] -
                                           d1[static_cast<std::size_t>((row0 + i) * b.T + t)]));
  }
  double loss = r2.loss;
  grpo::dist::mpi_reduction{MPI_COMM_WORLD}.sum(&loss, 1);
  expect(worst_a < 1e-12, std::string(name) + ": advantages differ by " + std::to_string(worst_a));
  expect(worst_d < 1e-12, std::string(name) + ": dL/dlogp differs by " + std::to_string(worst_d));
  expect(close(loss, r1.loss), std::string(name) + ": summed loss " + std::to_string(loss) + " vs " + std::to_string(r1.loss));
  expect(r2.totals.tokens == r1.totals.tokens && r2.totals.max_width == r1.totals.max_width,
         std::string(name) + ": the normalisers are the global ones");
}

// ---- 2. the trainer -----------------------------------------------------------------------------

// Prompts (bandit states) and completions (actions) fixed in advance for the global batch of
// each step; a rank's environment hands out its slice of the prompts.
struct scripted_env {
  index_t states = 3, actions = 4, P_global = 8, offset = 0;
  std::vector<std::vector<double>> r = {{0.0, 1.0, 0.2, 0.0}, {0.5, 0.0, 0.0, 1.0}, {0.3, 0.3, 0.9, 0.1}};
  index_t step = 0;
  std::vector<index_t> drawn;

  static index_t state_of(index_t step, index_t global_prompt) { return (step * 7 + global_prompt * 5) % 3; }

  grpo::status draw_prompts(index_t n, grpo::model::rng_type&, grpo::train::prompt_list& prompts) {
    prompts.assign(static_cast<std::size_t>(n), {});
    drawn.resize(static_cast<std::size_t>(n));
    for (index_t p = 0; p < n; ++p) {
      drawn[static_cast<std::size_t>(p)] = state_of(step, offset + p);
      prompts[static_cast<std::size_t>(p)] = {static_cast<grpo::model::token_t>(drawn[static_cast<std::size_t>(p)])};
    }
    ++step;
    return {};
  }
  grpo::status score(const grpo::model::rollout& ro, grpo::reward::reward_table& t, std::vector<double>& refl) const {
    const index_t N = ro.size(), G = ro.group_size;
    t = {};
    t.names = {"bandit"};
    t.weights = {1.0};
    t.num_completions = N;
    for (index_t i = 0; i < N; ++i) {
      const auto a = ro.batch.sequence(i)[ro.batch.prompt_length(i)];
      t.per_reward.push_back(r[static_cast<std::size_t>(drawn[static_cast<std::size_t>(i / G)])][static_cast<std::size_t>(a)]);
    }
    t.total = t.per_reward;
    t.stats = {grpo::reward::detail::mean_std(t.total)};
    t.total_stats = t.stats[0];
    refl.clear();
    return {};
  }
};

// the completions of global prompt p, member g, at `step`
grpo::model::token_t action_of(index_t step, index_t p, index_t g) {
  return static_cast<grpo::model::token_t>((step * 3 + p * 2 + g * g + g) % 4);
}

grpo::train::external_rollout rollout_for(const grpo::train::prompt_list& prompts, index_t step, index_t offset, index_t G) {
  grpo::train::external_rollout r;
  r.group_size = G;
  for (index_t p = 0; p < static_cast<index_t>(prompts.size()); ++p)
    for (index_t g = 0; g < G; ++g) {
      const grpo::model::token_t c = action_of(step, offset + p, g);
      r.batch.add(prompts[static_cast<std::size_t>(p)], std::span<const grpo::model::token_t>(&c, 1));
      r.finished.push_back(1);
    }
  return r;
}

template <class Estimator, class Objective>
void check_trainer(const char* name, const Estimator& est, const Objective& obj) {
  grpo::train::trainer_config cfg;
  cfg.group_size = 4;
  cfg.sampling = {1.0, 0, 1.0, 1, -1};
  cfg.mask_truncated = false;
  cfg.adamw = {0.05, 0.9, 0.99, 1e-8, 0.0};
  cfg.threads = 1;
  scripted_env one_env, my_env;
  my_env.offset = me * 4;
  grpo::model::tabular_policy<double> one(3, 4, 1), mine(3, 4, 1);
  cfg.prompts_per_step = 8;
  grpo::train::trainer t1(one, one_env, est, obj, cfg);
  cfg.prompts_per_step = 4;
  cfg.seed = grpo::dist::rank_seed(1, MPI_COMM_WORLD);  // unused by the scripted draws
  grpo::train::trainer t2(mine, my_env, est, obj, cfg);
  const auto set = t2.set_data_parallel(grpo::dist::trainer_hooks<double>(MPI_COMM_WORLD));
  expect(set.ok(), "set_data_parallel: " + set.message());
  for (index_t s = 0; s < 3; ++s) {
    grpo::train::prompt_list p1, p2;
    grpo::train::metrics_record m1, m2;
    expect(t1.draw_prompts(p1).ok() && t2.draw_prompts(p2).ok(), "draw_prompts");
    const auto s1 = t1.step(rollout_for(p1, s, 0, 4), m1);
    const auto s2 = t2.step(rollout_for(p2, s, me * 4, 4), m2);
    expect(s1.ok() && s2.ok(), std::string(name) + ": step: " + s1.message() + " / " + s2.message());
    expect(close(m2.get("loss"), m1.get("loss"), 1e-10),
           std::string(name) + ": loss " + std::to_string(m2.get("loss")) + " vs " + std::to_string(m1.get("loss")));
    expect(close(m2.get("grad_norm"), m1.get("grad_norm"), 1e-10), std::string(name) + ": grad norm");
    for (const char* metric : {"reward_mean", "reward_std", "reward_bandit_mean", "reward_bandit_std", "completion_length",
                               "zero_std_fraction", "kl", "ratio_mean"})
      expect(close(m2.get(metric), m1.get(metric), 1e-12),
             std::string(name) + ": " + metric + " " + std::to_string(m2.get(metric)) + " vs " + std::to_string(m1.get(metric)));
  }
  double worst = 0;
  const auto a = one.parameters(), b = mine.parameters();
  for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
  expect(worst < 1e-10, std::string(name) + ": parameters differ by " + std::to_string(worst));
}

// ---- 3. fail-together ---------------------------------------------------------------------------

void check_agreement() {
  expect(grpo::dist::agree({}, MPI_COMM_WORLD).ok(), "agree on two good statuses");
  grpo::train::trainer_config cfg;
  cfg.prompts_per_step = 4;
  cfg.group_size = 4;
  cfg.sampling = {1.0, 0, 1.0, 1, -1};
  cfg.mask_truncated = false;
  cfg.threads = 1;
  scripted_env env;
  env.offset = me * 4;
  grpo::model::tabular_policy<double> pi(3, 4, 1);
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
  expect(tr.set_data_parallel(grpo::dist::trainer_hooks<double>(MPI_COMM_WORLD)).ok(), "set_data_parallel");
  grpo::train::prompt_list p;
  expect(tr.draw_prompts(p).ok(), "draw");
  auto r = rollout_for(p, 0, me * 4, 4);
  if (me == 1) r.finished.pop_back();  // rank 1's rollout is malformed
  grpo::train::metrics_record m;
  const auto s = tr.step(r, m);
  if (me == 1)
    expect(s.input() == "external_rollout.finished", "the failing rank sees its own error: " + s.message());
  else
    expect(s.kind() == grpo::errc::peer_failed && s.index() == 1 &&
               s.detail().find("external_rollout.finished") != std::string::npos,
           "the other rank is told which rank failed and why: " + s.message());
  // dynamic sampling is refused with data parallelism
  cfg.dynamic_sampling = true;
  grpo::train::trainer dyn(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
  expect(dyn.set_data_parallel(grpo::dist::trainer_hooks<double>(MPI_COMM_WORLD)).input() == "dynamic_sampling",
         "dynamic sampling refused");
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  me = grpo::dist::rank_of(MPI_COMM_WORLD);
  if (grpo::dist::size_of(MPI_COMM_WORLD) != 2) {
    if (me == 0) std::printf("run on exactly 2 ranks (mpirun -np 2)\n");
    MPI_Finalize();
    return 2;
  }
  using namespace grpo::presets;
  check_library("token mean (trl::dapo)", grpo::group_normalized{}, trl::dapo(), 1);
  check_library("seq-mean-token-mean (trl::grpo)", grpo::group_normalized{}, trl::grpo(), 2);
  check_library("Dr. GRPO (trl::dr_grpo)", grpo::group_normalized{}, trl::dr_grpo(12), 3);
  check_library("batch std", grpo::group_mean_batch_std{}, trl::grpo(), 4);
  check_library("REINFORCE++-baseline whitening", grpo::reinforce_pp_baseline{}, trl::dapo(), 5);
  check_trainer("trainer, token mean", grpo::group_normalized{}, trl::dapo());
  check_trainer("trainer, seq-mean-token-mean", grpo::group_normalized{}, trl::grpo());
  check_trainer("trainer, Dr. GRPO", grpo::group_normalized{}, trl::dr_grpo(1));
  check_trainer("trainer, batch std", grpo::group_mean_batch_std{}, trl::grpo());
  check_trainer("trainer, REINFORCE++-baseline whitening", grpo::reinforce_pp_baseline{}, trl::dapo());
  check_agreement();
  int total = failures;
  MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (me == 0) std::printf("data parallel on 2 ranks: %s (%d failures)\n", total == 0 ? "all passed" : "FAILED", total);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
