// A consumer of the library: includes the umbrella header and runs a tiny computation.
#include <grpo/grpo.hpp>

#include <cstdio>

int main() {
  const auto layout = grpo::group_layout::fixed(4, 2);
  const grpo::status s = grpo::validate(layout, 2);
  std::printf("grpo consumer: %s\n", s.message().c_str());
  return s.ok() ? 0 : 1;
}
