// Resume: a run interrupted by a checkpoint and continued in a fresh process state (new policy
// object, new trainer) reproduces the uninterrupted run bit for bit, for the same seed. The
// configuration exercises every piece of state: optimiser moments, RNG, step counter (the
// schedule), the reference model refreshed every 2 steps, μ = 2, dynamic sampling, micro-batches.
// A damaged checkpoint is refused and leaves the trainer untouched.
#include "bandit_env.hpp"

#include <grpo/model/tabular.hpp>
#include <grpo/model/transformer.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <vector>

using namespace grpo_test;
using grpo::index_t;

namespace {

// with a KL term (beta = 0.05): the reference model is part of what a checkpoint restores
auto with_kl() {
  auto o = grpo::presets::trl::grpo();
  o.beta = 0.05;
  return o;
}

grpo::train::trainer_config resume_config(const std::string& ckpt) {
  grpo::train::trainer_config c;
  c.prompts_per_step = 4;
  c.group_size = 4;
  c.sampling = {1.0, 0, 1.0, 3, 0};
  c.ref_refresh_every = 2;
  c.inner_iterations = 2;
  c.micro_batches = 2;
  c.dynamic_sampling = true;
  c.max_resample_rounds = 2;
  c.adamw = {0.03, 0.9, 0.99, 1e-8, 0.01};
  c.warmup_steps = 2;
  c.decay = grpo::optim::decay_kind::cosine;
  c.total_steps = 8;
  c.max_grad_norm = 0.5;
  c.seed = 99;
  c.threads = 1;
  c.checkpoint_every = 3;
  c.checkpoint_path = ckpt;
  return c;
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("grpo_test_train_" + name);
}

/// Runs `steps` steps from the given start; returns the rewards seen.
template <class Trainer>
std::vector<double> run(Trainer& tr, int steps) {
  std::vector<double> rewards;
  for (int s = 0; s < steps; ++s) {
    grpo::train::metrics_record m;
    REQUIRE(tr.step(m).ok());
    rewards.push_back(m.get("reward_mean"));
    rewards.push_back(m.get("loss"));
  }
  return rewards;
}

template <class MakePolicy>
void check_resume(MakePolicy make_policy, const std::string& tag) {
  const auto ckpt = temp_file(tag + ".ckpt");
  auto env = make_bandit();
  // uninterrupted: 6 steps (writes a checkpoint after step 3, which we keep aside)
  auto pa = make_policy();
  grpo::train::trainer ta(pa, env, grpo::group_normalized{}, with_kl(), resume_config(ckpt.string()));
  auto ra = run(ta, 3);
  const auto saved = temp_file(tag + "_step3.ckpt");
  std::filesystem::copy_file(ckpt, saved, std::filesystem::copy_options::overwrite_existing);
  auto ra2 = run(ta, 3);
  ra.insert(ra.end(), ra2.begin(), ra2.end());

  // resumed: a fresh policy (same initialisation) and trainer, loaded from the step-3 file
  auto pb = make_policy();
  auto env_b = make_bandit();
  grpo::train::trainer tb(pb, env_b, grpo::group_normalized{}, with_kl(), resume_config(ckpt.string()));
  REQUIRE(tb.load(saved).ok());
  CHECK(tb.step_count() == 3);
  auto rb = run(tb, 3);
  REQUIRE(rb.size() == 6);
  for (std::size_t k = 0; k < rb.size(); ++k) CHECK(rb[k] == ra[6 + k]);  // bitwise
  const auto a = pa.parameters();
  const auto b = pb.parameters();
  REQUIRE(a.size() == b.size());
  std::size_t differ = 0;
  for (std::size_t k = 0; k < a.size(); ++k) differ += a[k] != b[k];
  CHECK(differ == 0);
  const auto ar = ta.reference().model().parameters();
  const auto br = tb.reference().model().parameters();
  for (std::size_t k = 0; k < ar.size(); ++k) differ += ar[k] != br[k];
  CHECK(differ == 0);

  // a truncated checkpoint is refused, nothing changes
  {
    std::ifstream in(saved, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(saved, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  const std::vector<typename decltype(pb)::scalar_type> before(pb.parameters().begin(), pb.parameters().end());
  const auto st = tb.load(saved);
  CHECK_FALSE(st.ok());
  CHECK(st.kind() == grpo::errc::corrupt_data);
  CHECK(tb.step_count() == 6);
  CHECK(std::equal(before.begin(), before.end(), pb.parameters().begin()));
  // a missing file too
  CHECK_FALSE(tb.load(temp_file("does_not_exist.ckpt")).ok());
  std::filesystem::remove(saved);
  std::filesystem::remove(ckpt);
}

}  // namespace

TEST_CASE("resume equals the uninterrupted run: tabular policy", "[train][resume]") {
  check_resume([] { return grpo::model::tabular_policy<double>(2, 4, 3); }, "tabular");
}

TEST_CASE("resume equals the uninterrupted run: tiny transformer", "[train][resume]") {
  check_resume(
      [] {
        grpo::model::transformer_config c;
        c.vocab_size = 4;
        c.context = 8;
        c.d_model = 8;
        c.n_layers = 1;
        c.n_heads = 2;
        c.seed = 5;
        return grpo::model::transformer<float>(c);
      },
      "transformer");
}

TEST_CASE("a checkpoint of another model size is refused", "[train][resume]") {
  auto env = make_bandit();
  const auto path = temp_file("size.ckpt");
  grpo::model::tabular_policy<double> small(2, 4, 3), big(2, 4, 4);
  auto cfg = resume_config(path.string());
  cfg.checkpoint_every = 0;
  grpo::train::trainer ts(small, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
  REQUIRE(ts.save(path).ok());
  grpo::train::trainer tb(big, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
  const auto st = tb.load(path);
  CHECK_FALSE(st.ok());
  CHECK(st.kind() == grpo::errc::shape_mismatch);
  std::filesystem::remove(path);
}
