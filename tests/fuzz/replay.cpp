// Every committed fuzz input (the seed corpora and the regression inputs of crashes found so far)
// through its target in targets.hpp, so that `make test` and `make check-sanitize` keep them
// passing without clang or libFuzzer. A property violation aborts with the target's message.
#include "targets.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

using target_fn = void (*)(const std::uint8_t*, std::size_t);

std::size_t replay(const std::string& name, target_fn f) {
  std::size_t n = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    const std::filesystem::path dir = std::filesystem::path(GRPO_FUZZ_DIR) / kind / name;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      INFO(e.path().string());
      f(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  return n;
}

}  // namespace

TEST_CASE("fuzz inputs replay: answer", "[fuzz]") { CHECK(replay("answer", grpo_fuzz::answer) > 0); }
TEST_CASE("fuzz inputs replay: tokenizer", "[fuzz]") { CHECK(replay("tokenizer", grpo_fuzz::tokenizer) > 0); }
TEST_CASE("fuzz inputs replay: checkpoint", "[fuzz]") { CHECK(replay("checkpoint", grpo_fuzz::checkpoint) > 0); }
TEST_CASE("fuzz inputs replay: equivalence", "[fuzz]") { CHECK(replay("equivalence", grpo_fuzz::equivalence) > 0); }
TEST_CASE("fuzz inputs replay: eval_records", "[fuzz]") { CHECK(replay("eval_records", grpo_fuzz::eval_records) > 0); }
TEST_CASE("fuzz inputs replay: json", "[fuzz]") { CHECK(replay("json", grpo_fuzz::json) > 0); }
TEST_CASE("fuzz inputs replay: objective", "[fuzz]") { CHECK(replay("objective", grpo_fuzz::objective) > 0); }
