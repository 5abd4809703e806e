#include <catch2/catch.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>
#include <grpo/train/checkpoint.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
namespace gt = grpo::train;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() : path(fs::temp_directory_path() / ("grpo_ckpt_" + std::to_string(::getpid()))) {
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_all(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

gt::checkpoint sample_checkpoint() {
  std::mt19937_64 gen(7);
  std::vector<float> params(1000);
  for (auto& x : params) {
    const auto bits = static_cast<std::uint32_t>(gen());
    std::memcpy(&x, &bits, 4);  // every bit pattern, NaNs and denormals included
  }
  grpo::optim::adamw_state st;
  st.step = 123;
  st.m.assign(1000, 0.25);
  st.v.assign(1000, 1e-300);
  gt::checkpoint c;
  c.put_parameters(std::span<const float>(params));
  c.put_optimizer(st);
  std::mt19937_64 rng(99);
  rng.discard(12345);
  c.put_rng("rng", rng);
  c.put_i64("step", 123);
  c.put_bytes("payload", std::string("user data\0with a zero", 21));
  c.put_bytes("empty", "");
  return c;
}

}  // namespace

TEST_CASE("checkpoint round trip is bit-exact", "[checkpoint]") {
  temp_dir dir;
  const auto file = dir.path / "a.ckpt";
  const auto c = sample_checkpoint();
  REQUIRE(gt::save_checkpoint(file, c).ok());
  CHECK_FALSE(fs::exists(file.string() + ".tmp"));
  gt::checkpoint back;
  const auto s = gt::load_checkpoint(file, back);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(back.sections() == c.sections());
  std::vector<float> p(1000);
  REQUIRE(back.get_parameters(std::span<float>(p)).ok());
  std::vector<float> orig(1000);
  REQUIRE(c.get_parameters(std::span<float>(orig)).ok());
  CHECK(std::memcmp(p.data(), orig.data(), 4000) == 0);
  grpo::optim::adamw_state st;
  REQUIRE(back.get_optimizer(st).ok());
  CHECK(st.step == 123);
  CHECK(st.v[5] == 1e-300);
  std::mt19937_64 rng, expect(99);
  expect.discard(12345);
  REQUIRE(back.get_rng("rng", rng).ok());
  CHECK(rng == expect);
  CHECK(rng() == expect());
  std::int64_t step = 0;
  REQUIRE(back.get_i64("step", step).ok());
  CHECK(step == 123);
  // overwriting an existing checkpoint works and leaves no temporary behind
  REQUIRE(gt::save_checkpoint(file, c).ok());
  CHECK_FALSE(fs::exists(file.string() + ".tmp"));
}

TEST_CASE("truncated checkpoints are refused", "[checkpoint][errors]") {
  temp_dir dir;
  const auto file = dir.path / "t.ckpt";
  REQUIRE(gt::save_checkpoint(file, sample_checkpoint()).ok());
  const std::string full = read_all(file);
  for (size_t len : {size_t(0), size_t(1), size_t(8), size_t(39), size_t(40), size_t(41), full.size() / 2,
                     full.size() - 9, full.size() - 1}) {
    write_all(file, full.substr(0, len));
    gt::checkpoint c;
    const auto s = gt::load_checkpoint(file, c);
    INFO("length " << len << ": " << s.message());
    CHECK(s.kind() == grpo::errc::corrupt_data);
    CHECK(s.input() == file.string());
    CHECK(c.sections().empty());
  }
  write_all(file, full + "x");
  gt::checkpoint c;
  CHECK(gt::load_checkpoint(file, c).detail().find("trailing") != std::string::npos);
}

TEST_CASE("a flipped byte anywhere is refused", "[checkpoint][errors]") {
  temp_dir dir;
  const auto file = dir.path / "f.ckpt";
  REQUIRE(gt::save_checkpoint(file, sample_checkpoint()).ok());
  const std::string full = read_all(file);
  std::mt19937_64 rng(3);
  std::vector<size_t> positions{0, 7, 8, 12, 16, 24, 32, 39, 40, 41, 44, full.size() - 1};
  for (int k = 0; k < 40; ++k) positions.push_back(rng() % full.size());
  for (size_t at : positions) {
    std::string bad = full;
    bad[at] = static_cast<char>(bad[at] ^ (1 << (at % 8)));
    write_all(file, bad);
    gt::checkpoint c;
    const auto s = gt::load_checkpoint(file, c);
    INFO("byte " << at << ": " << s.message());
    CHECK(s.kind() == grpo::errc::corrupt_data);
  }
}

TEST_CASE("wrong magic, wrong version and missing files are refused with clear messages", "[checkpoint][errors]") {
  temp_dir dir;
  const auto file = dir.path / "m.ckpt";
  REQUIRE(gt::save_checkpoint(file, sample_checkpoint()).ok());
  const std::string full = read_all(file);
  std::string bad = full;
  bad.replace(0, 8, "NOTACKPT");
  write_all(file, bad);
  gt::checkpoint c;
  auto s = gt::load_checkpoint(file, c);
  CHECK(s.kind() == grpo::errc::corrupt_data);
  CHECK(s.detail().find("magic") != std::string::npos);
  bad = full;
  const std::uint32_t v2 = 2;
  std::memcpy(bad.data() + 8, &v2, 4);
  write_all(file, bad);
  s = gt::load_checkpoint(file, c);
  CHECK(s.kind() == grpo::errc::corrupt_data);
  CHECK(s.detail().find("version 2") != std::string::npos);
  s = gt::load_checkpoint(dir.path / "does_not_exist.ckpt", c);
  CHECK(s.kind() == grpo::errc::io_error);
  CHECK(s.message().find("does_not_exist.ckpt") != std::string::npos);
  CHECK(gt::save_checkpoint(dir.path / "no_such_dir" / "x.ckpt", sample_checkpoint()).kind() == grpo::errc::io_error);
  // a section of the wrong size or a missing one
  write_all(file, full);
  REQUIRE(gt::load_checkpoint(file, c).ok());
  std::vector<float> small(10);
  s = c.get_parameters(std::span<float>(small));
  CHECK(s.kind() == grpo::errc::shape_mismatch);
  CHECK(s.input() == "model.params");
  std::int64_t x = 0;
  CHECK(c.get_i64("nope", x).input() == "nope");
  std::mt19937_64 r;
  CHECK(c.get_rng("payload", r).kind() == grpo::errc::corrupt_data);
}

namespace {

// A small REINFORCE run on the tabular policy: sample → group-normalised advantage → backward →
// clip → AdamW with a schedule. Resumable from a checkpoint of (params, optimiser, rng, step).
struct tiny_run {
  grpo::model::tabular_policy<float> policy{4, 5, 1};
  grpo::optim::adamw opt{{.lr = 0.05, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.01}};
  grpo::optim::lr_schedule sched{.peak_lr = 0.05, .warmup_steps = 3, .total_steps = 20, .decay = grpo::optim::decay_kind::cosine, .min_ratio = 0.1};
  grpo::model::rng_type rng{2024};
  std::int64_t step = 0;

  void train(std::int64_t until) {
    std::vector<std::vector<grpo::model::token_t>> prompts{{0}, {1}, {2}, {3}};
    const grpo::index_t G = 8;
    for (; step < until; ++step) {
      grpo::model::rollout r;
      REQUIRE(policy.sample(prompts, G, {}, rng, r).ok());
      std::vector<float> reward(static_cast<size_t>(r.size())), dlogp(reward.size());
      for (grpo::index_t i = 0; i < r.size(); ++i)
        reward[static_cast<size_t>(i)] = r.batch.sequence(i)[1] == r.batch.sequence(i)[0] + 1 ? 1.0f : 0.0f;
      for (grpo::index_t g = 0; g < r.num_prompts(); ++g) {
        double mean = 0, var = 0;
        for (grpo::index_t k = 0; k < G; ++k) mean += reward[static_cast<size_t>(g * G + k)];
        mean /= G;
        for (grpo::index_t k = 0; k < G; ++k) var += std::pow(reward[static_cast<size_t>(g * G + k)] - mean, 2);
        const double sd = std::sqrt(var / (G - 1));
        for (grpo::index_t k = 0; k < G; ++k)
          dlogp[static_cast<size_t>(g * G + k)] = static_cast<float>(-(reward[static_cast<size_t>(g * G + k)] - mean) / (sd + 1e-4) / double(r.size()));
      }
      std::vector<float> lp(reward.size());
      policy.zero_grad();
      REQUIRE(policy.logprobs(r.batch, 1.0f, lp, {}).ok());
      REQUIRE(policy.backward(r.batch, dlogp, {}).ok());
      grpo::optim::clip_grad_norm(policy.gradients(), 1.0);
      REQUIRE(opt.step(policy.parameters(), policy.gradients(), sched(step)).ok());
    }
  }
  gt::checkpoint save() const {
    gt::checkpoint c;
    auto self = const_cast<tiny_run*>(this);
    c.put_parameters(std::span<const float>(self->policy.parameters()));
    c.put_optimizer(opt.state());
    c.put_rng("rng", rng);
    c.put_i64("step", step);
    return c;
  }
  void load(const gt::checkpoint& c) {
    REQUIRE(c.get_parameters(policy.parameters()).ok());
    REQUIRE(c.get_optimizer(opt.state()).ok());
    REQUIRE(c.get_rng("rng", rng).ok());
    REQUIRE(c.get_i64("step", step).ok());
  }
};

}  // namespace

TEST_CASE("resuming from a checkpoint reproduces the uninterrupted run exactly", "[checkpoint][resume]") {
  temp_dir dir;
  tiny_run straight;
  straight.train(20);
  tiny_run first;
  first.train(9);
  REQUIRE(gt::save_checkpoint(dir.path / "r.ckpt", first.save()).ok());
  tiny_run resumed;  // fresh objects: everything comes from the file
  gt::checkpoint c;
  REQUIRE(gt::load_checkpoint(dir.path / "r.ckpt", c).ok());
  resumed.load(c);
  resumed.train(20);
  const auto a = straight.policy.parameters(), b = resumed.policy.parameters();
  CHECK(std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
  CHECK(straight.opt.state().m == resumed.opt.state().m);
  CHECK(straight.rng == resumed.rng);
  // and the run learned something: the rewarded action is the most likely in every state
  for (int s = 0; s < 4; ++s) {
    const auto p = straight.policy.probabilities(s);
    CHECK(std::max_element(p.begin(), p.end()) - p.begin() == s + 1);
  }
}
