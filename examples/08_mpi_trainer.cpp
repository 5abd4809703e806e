// Data-parallel GRPO over MPI (grpo/dist/mpi.hpp; docs/distributed.md): `make demo`'s task and
// model, the global batch of 16 prompts × 8 completions split over the ranks, each rank with its
// own prompt stream. Rank 0 pre-trains the base model and broadcasts it; every step all-reduces
// the normalisers, the gradient and the loss, so each rank applies the same update.
//
//   mpirun -np 2 build/examples/08_mpi_trainer [--steps 40] [--seed 1]     (as root: add
//   --allow-run-as-root; on 2 cores with other work running: --oversubscribe)
//   mpirun -np 1 build/examples/08_mpi_trainer                             (the baseline)
//
// Prints the median time of a GRPO step and, on rank 0, held-out pass@1 before and after.
#include <grpo/dist/mpi.hpp>
#include <grpo/train/r1_zero_demo.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace grpo;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const MPI_Comm comm = MPI_COMM_WORLD;
  const int rank = dist::rank_of(comm), ranks = dist::size_of(comm);
  index_t steps = 40;
  std::uint64_t seed = 1;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--steps" && a + 1 < argc) steps = std::atol(argv[++a]);
    else if (arg == "--seed" && a + 1 < argc) seed = std::strtoull(argv[++a], nullptr, 10);
  }
  auto fail = [&](const char* what, const status& s) {
    std::fprintf(stderr, "rank %d: %s: %s\n", rank, what, s.message().c_str());
    MPI_Abort(comm, 1);
    return 1;
  };
  Eigen::setNbThreads(1);
  auto dc = train::make_demo_config(false, seed);
  if (16 % ranks != 0) {
    if (rank == 0) std::fprintf(stderr, "the 16 prompts of a step must split evenly over the ranks\n");
    MPI_Finalize();
    return 2;
  }
  task::addition add;
  add.max_digits = dc.max_digits;
  const auto tok = task::tokenizer::compact();
  train::task_environment env(add, train::demo_rewards(), tok, task::r1_zero_compact);
  model::transformer<float> policy(train::demo_model_config(dc, tok.vocab_size()));

  // the base model: pre-trained on rank 0, the same parameters everywhere
  if (rank == 0) {
    const status s = train::pretrain_demo_model(dc, add, tok, env.prompt_template(), policy);
    if (!s.ok()) return fail("pretrain", s);
  }
  dist::broadcast(policy.parameters(), comm);

  std::vector<task::problem> test;
  if (const status s = task::make_problems(add, task::split::test, 128, seed + 1000, test); !s.ok()) return fail("test set", s);
  train::eval_config ec;
  ec.greedy = false;
  train::eval_result before, after;
  if (rank == 0)
    if (const status s = train::evaluate_policy(policy, env, test, ec, before); !s.ok()) return fail("evaluate", s);

  // GRPO: each rank 16/ranks prompts of its own stream
  train::trainer_config g = dc.grpo;
  g.prompts_per_step = 16 / ranks;
  g.seed = dist::rank_seed(seed, comm);
  g.threads = 1;
  auto objective = with(presets::trl::grpo(), kl::k3{});
  objective.beta = 0.001;
  train::trainer tr(policy, env, group_normalized{}, objective, g);
  tr.exclude_from_decay(train::no_decay_ranges(policy));
  if (const status s = tr.set_data_parallel(dist::trainer_hooks<float>(comm)); !s.ok()) return fail("data parallel", s);
  std::vector<double> seconds;
  double reward_last = 0;
  for (index_t s = 0; s < steps; ++s) {
    MPI_Barrier(comm);
    const auto t0 = std::chrono::steady_clock::now();
    train::metrics_record m;
    if (const status st = tr.step(m); !st.ok()) return fail("step", st);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (s >= steps - 5) reward_last += m.get("reward_mean") / 5;
  }
  // every rank holds the same parameters: check it
  std::vector<float> p0(policy.parameters().begin(), policy.parameters().end());
  dist::broadcast(std::span<float>(p0), comm);
  int same = std::equal(p0.begin(), p0.end(), policy.parameters().begin()) ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_MIN, comm);
  if (rank == 0) {
    if (const status s = train::evaluate_policy(policy, env, test, ec, after); !s.ok()) return fail("evaluate", s);
    std::sort(seconds.begin(), seconds.end());
    std::printf("%d rank(s), %ld prompts x %ld per rank and step, %ld steps: median step %.3f s\n", ranks,
                static_cast<long>(g.prompts_per_step), static_cast<long>(g.group_size), static_cast<long>(steps),
                seconds[seconds.size() / 2]);
    std::printf("held-out pass@1 %.3f -> %.3f; reward (rank 0, last 5 steps) %.3f; parameters identical on every rank: %s\n",
                before.pass1, after.pass1, reward_last, same ? "yes" : "NO");
  }
  MPI_Finalize();
  return same ? 0 : 1;
}
