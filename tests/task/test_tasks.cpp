#include <catch2/catch.hpp>
#include <grpo/task/tasks.hpp>

#include <set>
#include <string>
#include <vector>

using namespace grpo::task;

namespace {
// Exact results recomputed from the problem's operands, independently of the generator.
std::int64_t recompute(const problem& p) {
  if (p.task == "addition") return p.numbers[0] + p.numbers[1];
  if (p.task == "multiplication") return p.numbers[0] * p.numbers[1];
  std::int64_t s = 0;  // chain_sum stores signed terms
  for (auto x : p.numbers) s += x;
  return s;
}

template <class Task>
void check_task(const Task& t, grpo::index_t count) {
  INFO(t.name());
  const auto train = make_problems_or_throw(t, split::train, count, 7);
  const auto again = make_problems_or_throw(t, split::train, count, 7);
  const auto other_seed = make_problems_or_throw(t, split::train, count, 8);
  const auto test = make_problems_or_throw(t, split::test, count, 7);
  // seeded reproducibility, and a prefix of a longer set is the shorter set
  bool differs = false;
  for (grpo::index_t i = 0; i < count; ++i) {
    const auto u = static_cast<std::size_t>(i);
    CHECK(train[u].key == again[u].key);
    CHECK(train[u].prompt == again[u].prompt);
    differs = differs || train[u].key != other_seed[u].key;
  }
  CHECK(differs);
  const auto prefix = make_problems_or_throw(t, split::train, count / 2, 7);
  for (std::size_t i = 0; i < prefix.size(); ++i) CHECK(prefix[i].key == train[i].key);
  // held-out split is disjoint by construction: the key decides the split
  std::set<std::string> train_keys, test_keys;
  for (const auto& p : train) {
    CHECK(split_of(p.key, t.test_fraction) == split::train);
    train_keys.insert(p.key);
  }
  for (const auto& p : test) {
    CHECK(split_of(p.key, t.test_fraction) == split::test);
    test_keys.insert(p.key);
    CHECK(train_keys.count(p.key) == 0);
  }
  CHECK(test_keys.size() > 1);
  // references verify; wrong answers do not; traces are non-empty and encode compactly
  const auto tok = tokenizer::compact();
  for (const auto* set : {&train, &test}) {
    for (const auto& p : *set) {
      CHECK(p.task == t.name());
      CHECK(t.verify(p, p.reference));
      CHECK_FALSE(t.verify(p, "not an answer"));
      CHECK_FALSE(p.trace.empty());
      std::vector<token_id> ids;
      CHECK(tok.encode(r1_zero_compact.render(p.prompt) + r1_solution(p), ids).ok());
      CHECK(tok.encode(raw_solution(p), ids).ok());
      if (p.kind == answer_kind::number) {
        CHECK(p.reference == std::to_string(recompute(p)));
        CHECK(t.verify(p, std::to_string(recompute(p)) + ".00"));
        CHECK_FALSE(t.verify(p, std::to_string(recompute(p) + 1)));
        // the trace's last step computes the result
        CHECK(p.trace.ends_with("=" + p.reference));
      }
    }
  }
}
}  // namespace

TEST_CASE("addition: reproducible, disjoint splits, exact references", "[task]") {
  addition t;
  t.min_digits = 2;
  t.max_digits = 4;
  check_task(t, 300);
  const auto p = make_problems_or_throw(addition{}, split::train, 1, 1)[0];
  CHECK(p.prompt == std::to_string(p.numbers[0]) + "+" + std::to_string(p.numbers[1]) + "=?");
}

TEST_CASE("multiplication and chain sums: reproducible, disjoint splits, exact references",
          "[task]") {
  check_task(multiplication{}, 300);
  multiplication big;
  big.min_digits = big.max_digits = 9;
  check_task(big, 50);
  check_task(chain_sum{}, 300);
}

TEST_CASE("traces: column addition carries and partial products", "[task]") {
  CHECK(addition::column_trace(47, 85) == "7+5=12, 4+8+1=13, 47+85=132");
  CHECK(addition::column_trace(999, 1) == "9+1=10, 9+0+1=10, 9+0+1=10, 999+1=1000");
  CHECK(addition::column_trace(0, 0) == "0+0=0");
  CHECK(addition::column_trace(3, 4) == "3+4=7");
  CHECK(multiplication::partial_products_trace(47, 85) == "47*5=235, 47*80=3760, 235+3760=3995");
  CHECK(multiplication::partial_products_trace(12, 305) == "12*5=60, 12*300=3600, 60+3600=3660");
  CHECK(multiplication::partial_products_trace(12, 0) == "12*0=0");
}

TEST_CASE("commutative instances share a key, so a+b and b+a are in the same split", "[task]") {
  splitmix64 rng(3);
  addition t;
  for (int i = 0; i < 200; ++i) {
    const auto p = t.draw(rng);
    const auto swapped = "add:" + std::to_string(std::min(p.numbers[0], p.numbers[1])) + "+" +
                         std::to_string(std::max(p.numbers[0], p.numbers[1]));
    CHECK(p.key == swapped);
  }
}

TEST_CASE("task configs are validated", "[task]") {
  addition a;
  a.max_digits = 18;
  CHECK(a.validate().input() == "max_digits");
  multiplication m;
  m.min_digits = 3;
  m.max_digits = 2;
  CHECK(m.validate().kind() == grpo::errc::bad_config);
  chain_sum c;
  c.terms = 1;
  CHECK(c.validate().input() == "terms");
  addition f;
  f.test_fraction = 1.0;
  CHECK(f.validate().input() == "test_fraction");
  std::vector<problem> out;
  CHECK(make_problems(f, split::train, 3, 1, out).input() == "test_fraction");
  CHECK(make_problems(addition{}, split::train, -1, 1, out).input() == "count");
  // a tiny instance space with no test instance reachable in the allowed draws
  addition tiny;
  tiny.max_digits = 1;
  tiny.test_fraction = 1e-9;
  tiny.max_attempts = 1000;
  CHECK(make_problems(tiny, split::test, 1, 1, out).kind() == grpo::errc::bad_config);
  static_assert(procedural_task<addition> && procedural_task<multiplication> &&
                procedural_task<chain_sum> && procedural_task<countdown>);
}
