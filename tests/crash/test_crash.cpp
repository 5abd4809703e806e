// Checkpoints under SIGKILL and a full disk. This area is its own executable (test_crash): the
// training runs that get killed are forked children, and the parent touches no OpenMP before the
// children are done (libgomp is not fork-safe once its thread pool exists).
//
// kill -9: a child trains (checkpoint after every step, resuming from the newest checkpoint when
// there is one) and is killed at a random moment, many times over. After every kill the newest
// checkpoint on disk must load (never half-written) and hold exactly the state of the
// uninterrupted run after its step; the run resumed across all the kills must end in exactly
// the uninterrupted run's final state.
//
// Full disk: with a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) a save that does not fit is
// an io_error naming the file, and the previous checkpoint stays intact.
#include "../train/bandit_env.hpp"

#include <grpo/model/transformer.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/checkpoint.hpp>
#include <grpo/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using grpo::index_t;

namespace {

constexpr int total_steps = 10;

grpo::model::transformer<float> make_policy() {
  grpo::model::transformer_config c;
  c.vocab_size = 4;
  c.context = 8;
  c.d_model = 64;  // ~100k parameters: a checkpoint of about 1.3 MB, so kills land mid-write
  c.n_layers = 2;
  c.n_heads = 4;
  c.seed = 11;
  return grpo::model::transformer<float>(c);
}

grpo::train::trainer_config config(const std::string& ckpt) {
  grpo::train::trainer_config c;
  c.prompts_per_step = 4;
  c.group_size = 4;
  c.sampling = {1.0, 0, 1.0, 3, 0};
  c.adamw = {0.01, 0.9, 0.99, 1e-8, 0.01};
  c.total_steps = total_steps;
  c.seed = 7;
  c.threads = 1;
  c.checkpoint_every = 1;
  c.checkpoint_path = ckpt;
  return c;
}

auto objective() {
  auto o = grpo::presets::trl::grpo();
  o.beta = 0.05;
  return o;
}

using params_t = std::vector<float>;

/// Bitwise equality (a bool, so that Catch does not print 100k floats).
bool same(const params_t& a, const params_t& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// The state a checkpoint file holds: its step and the policy's parameters (via a fresh trainer).
bool load_state(const std::filesystem::path& ckpt, index_t& step, params_t& params, std::string& why) {
  auto policy = make_policy();
  auto env = grpo_test::make_bandit();
  grpo::train::trainer tr(policy, env, grpo::group_normalized{}, objective(), config(ckpt.string() + ".unused"));
  const grpo::status s = tr.load(ckpt);
  if (!s.ok()) {
    why = s.message();
    return false;
  }
  step = tr.step_count();
  params.assign(policy.parameters().begin(), policy.parameters().end());
  return true;
}

/// The child: resume from `ckpt` when it exists, train to total_steps, exit. Exit codes: 0 done,
/// 3 the checkpoint did not load, 4 a step failed, 5 an exception.
[[noreturn]] void child(const std::filesystem::path& ckpt) noexcept try {
  auto policy = make_policy();
  auto env = grpo_test::make_bandit();
  grpo::train::trainer tr(policy, env, grpo::group_normalized{}, objective(), config(ckpt.string()));
  if (std::filesystem::exists(ckpt) && !tr.load(ckpt).ok()) ::_exit(3);
  while (tr.step_count() < total_steps) {
    grpo::train::metrics_record m;
    if (!tr.step(m).ok()) ::_exit(4);
  }
  ::_exit(0);
} catch (...) {
  ::_exit(5);  // never unwind into the test runner's copy in the child
}

}  // namespace

TEST_CASE("checkpoints survive kill -9 at random moments and resume to the uninterrupted run",
          "[checkpoint][crash]") {
  const auto dir = std::filesystem::temp_directory_path() / ("grpo_test_kill9_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto ckpt = dir / "run.ckpt";

  // time one whole run (in a child, as every run here) to spread the kills over it
  const auto t0 = std::chrono::steady_clock::now();
  {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) child(ckpt);
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    REQUIRE(WIFEXITED(ws));
    REQUIRE(WEXITSTATUS(ws) == 0);
  }
  const double run_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  index_t final_step = 0;
  params_t uninterrupted_final;
  std::string why;
  REQUIRE(load_state(ckpt, final_step, uninterrupted_final, why));
  REQUIRE(final_step == total_steps);
  std::filesystem::remove(ckpt);

  std::mt19937_64 rng(20261202);
  std::uniform_real_distribution<double> when(0.0, run_us / 3);  // about three kills per run
  std::map<index_t, std::vector<params_t>> seen;                 // step -> states loaded after kills
  int killed = 0, finished = 0, torn_tmp = 0, rounds = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int round = 0; round < 60 && std::chrono::steady_clock::now() < deadline; ++round) {
    ++rounds;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) child(ckpt);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(when(rng))));
    ::kill(pid, SIGKILL);
    int ws = 0;
    REQUIRE(::waitpid(pid, &ws, 0) == pid);
    if (WIFEXITED(ws)) {
      INFO("child exit code " << WEXITSTATUS(ws) << " (3: the checkpoint left by a kill did not load)");
      REQUIRE(WEXITSTATUS(ws) == 0);
      ++finished;
    } else {
      REQUIRE(WIFSIGNALED(ws));
      ++killed;
    }
    torn_tmp += std::filesystem::exists(ckpt.string() + ".tmp") ? 1 : 0;
    if (!std::filesystem::exists(ckpt)) continue;  // killed before the first checkpoint
    index_t step = 0;
    params_t p;
    INFO("round " << round);
    REQUIRE(load_state(ckpt, step, p, why));  // never half-written
    REQUIRE(step >= 1);
    REQUIRE(step <= total_steps);
    seen[step].push_back(std::move(p));
    if (step == total_steps) {  // a complete run: start the next one from nothing
      REQUIRE(same(seen[step].back(), uninterrupted_final));
      std::filesystem::remove(ckpt);
    }
  }
  INFO(rounds << " rounds: " << killed << " kills, " << finished << " runs finished, " << torn_tmp << " kills left a partial .tmp");
  CHECK(killed >= 10);

  // the uninterrupted run's state after every step, in this process (after all the forks)
  std::vector<params_t> reference(total_steps + 1);
  {
    auto policy = make_policy();
    auto env = grpo_test::make_bandit();
    grpo::train::trainer tr(policy, env, grpo::group_normalized{}, objective(), config((dir / "ref.ckpt").string()));
    for (int s = 1; s <= total_steps; ++s) {
      grpo::train::metrics_record m;
      REQUIRE(tr.step(m).ok());
      reference[std::size_t(s)].assign(policy.parameters().begin(), policy.parameters().end());
    }
  }
  REQUIRE(same(reference[total_steps], uninterrupted_final));
  std::size_t compared = 0;
  for (const auto& [step, states] : seen)
    for (const auto& p : states) {
      INFO("checkpoint of step " << step);
      CHECK(same(p, reference[std::size_t(step)]));  // bit for bit
      ++compared;
    }
  CHECK(compared > 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint that does not fit on the disk is an error and keeps the previous one",
          "[checkpoint][crash]") {
  const auto dir = std::filesystem::temp_directory_path() / ("grpo_test_full_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = dir / "state.ckpt";
  grpo::train::checkpoint small;
  small.put_array("model.params", std::vector<float>(1000, 0.5f));
  small.put_i64("step", 1);
  REQUIRE(grpo::train::save_checkpoint(path, small).ok());
  const auto old_size = std::filesystem::file_size(path);

  grpo::train::checkpoint big = small;
  big.put_array("model.params", std::vector<float>(1 << 20, 0.25f));  // 4 MiB
  big.put_i64("step", 2);

  // a file-size limit of 64 KiB stands in for a full disk (ENOSPC and EFBIG take the same path)
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit lim = old_limit;
  lim.rlim_cur = 64 * 1024;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  const grpo::status s = grpo::train::save_checkpoint(path, big);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  CHECK(s.kind() == grpo::errc::io_error);
  CHECK(s.input().find("state.ckpt") != std::string::npos);
  INFO(s.message());
  CHECK(s.message().find("write failed") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));  // the partial file is removed
  REQUIRE(std::filesystem::file_size(path) == old_size);
  grpo::train::checkpoint back;
  REQUIRE(grpo::train::load_checkpoint(path, back).ok());
  std::int64_t step = 0;
  REQUIRE(back.get_i64("step", step).ok());
  CHECK(step == 1);
  std::vector<float> p;
  REQUIRE(back.get_array("model.params", p).ok());
  CHECK(p == std::vector<float>(1000, 0.5f));
  std::filesystem::remove_all(dir);
}
