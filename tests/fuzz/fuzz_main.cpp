// One libFuzzer target of targets.hpp, chosen by GRPO_FUZZ_TARGET at compile time
// (tests/fuzz/CMakeLists.txt builds one executable per target: fuzz_answer, fuzz_tokenizer, ...).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  grpo_fuzz::GRPO_FUZZ_TARGET(data, size);
  return 0;
}
