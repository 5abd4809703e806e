#include <catch2/catch.hpp>
#include <grpo/reward/rewards.hpp>
#include <grpo/task/tasks.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace hana = boost::hana;
using namespace grpo::reward;

namespace {
struct always_nan {
  double operator()(const completion&) const { return std::nan(""); }
};

auto make_set() {
  return combine(hana::make_pair(BOOST_HANA_STRING("accuracy"), accuracy{}),
                 hana::make_pair(BOOST_HANA_STRING("format"), strict_format{}),
                 hana::make_pair(BOOST_HANA_STRING("kimi"), kimi_length{}),
                 hana::make_pair(BOOST_HANA_STRING("tags"), tag_count{}));
}
}  // namespace

TEST_CASE("combine: names, compile-time and runtime weights", "[reward][combine]") {
  auto rs = make_set();
  static_assert(decltype(rs)::num_rewards == 4);
  static_assert(decltype(rs)::index_of(BOOST_HANA_STRING("kimi")) == 2);
  CHECK(rs.names()[0] == "accuracy");
  CHECK(rs.names()[3] == "tags");
  CHECK(rs.weights() == std::array<double, 4>{1, 1, 1, 1});
  rs.weight(BOOST_HANA_STRING("format")) = 0.5;
  rs.with_weights(hana::make_map(hana::make_pair(BOOST_HANA_STRING("kimi"), 0.25),
                                 hana::make_pair(BOOST_HANA_STRING("tags"), 0)));
  CHECK(rs.weights() == std::array<double, 4>{1, 0.5, 0.25, 0});
  REQUIRE(rs.set_weight("accuracy", 2.0).ok());
  CHECK(rs.weight(BOOST_HANA_STRING("accuracy")) == 2.0);
  const auto s = rs.set_weight("acuracy", 1.0);
  CHECK(s.kind() == grpo::errc::out_of_range);
  CHECK(s.detail().find("acuracy") != std::string::npos);
  CHECK(rs.set_weight("format", INFINITY).kind() == grpo::errc::non_finite);
  rs.get(BOOST_HANA_STRING("format")).allow_whitespace = false;
  CHECK_FALSE(rs.get(BOOST_HANA_STRING("format")).allow_whitespace);
}

TEST_CASE("combine: per-reward matrix, weighted sum and statistics", "[reward][combine]") {
  auto rs = make_set();
  rs.with_weights(hana::make_map(hana::make_pair(BOOST_HANA_STRING("format"), 0.5),
                                 hana::make_pair(BOOST_HANA_STRING("kimi"), 0.25),
                                 hana::make_pair(BOOST_HANA_STRING("tags"), 0.1)));
  const auto problems =
      grpo::task::make_problems_or_throw(grpo::task::addition{}, grpo::task::split::train, 3, 5);
  // ragged groups: 3, 2 and 4 completions
  std::vector<std::string> texts;
  std::vector<const grpo::task::problem*> owner;
  const int sizes[] = {3, 2, 4};
  for (int g = 0; g < 3; ++g)
    for (int j = 0; j < sizes[g]; ++j) {
      const auto& p = problems[static_cast<std::size_t>(g)];
      switch (j % 4) {
        case 0:
          texts.push_back(grpo::task::r1_solution(p));
          break;
        case 1:
          texts.push_back("<think>hmm</think><answer>" + p.reference + "</answer> extra");
          break;
        case 2:
          texts.push_back("<answer>-1</answer>");
          break;
        default:
          texts.push_back("no format at all " + p.reference);
          break;
      }
      owner.push_back(&p);
    }
  std::vector<completion> cs;
  for (std::size_t i = 0; i < texts.size(); ++i)
    cs.push_back({texts[i], static_cast<grpo::index_t>(texts[i].size() / 2), owner[i]});
  const grpo::index_t offsets[] = {0, 3, 5, 9};
  const auto layout = grpo::group_layout::ragged(9, 3, offsets);
  reward_table t;
  REQUIRE(rs.evaluate(cs, layout, t).ok());
  REQUIRE(t.num_completions == 9);
  REQUIRE(t.num_rewards() == 4);
  CHECK(t.index_of("kimi") == 2);
  CHECK(t.index_of("nope") == -1);
  // columns equal direct calls of each functor; the group reward sees one group at a time
  std::vector<double> kimi(9);
  for (int g = 0; g < 3; ++g)
    kimi_length{}(std::span<const completion>(cs).subspan(static_cast<std::size_t>(offsets[g]),
                                                          static_cast<std::size_t>(sizes[g])),
                  std::span<double>(kimi).subspan(static_cast<std::size_t>(offsets[g]),
                                                  static_cast<std::size_t>(sizes[g])));
  std::vector<double> mean(4, 0.0);
  for (grpo::index_t i = 0; i < 9; ++i) {
    const auto& c = cs[static_cast<std::size_t>(i)];
    const double expect[] = {accuracy{}(c), strict_format{}(c), kimi[static_cast<std::size_t>(i)],
                             tag_count{}(c)};
    double total = 0;
    for (grpo::index_t k = 0; k < 4; ++k) {
      CHECK(t.at(i, k) == expect[k]);
      total += t.weights[static_cast<std::size_t>(k)] * expect[k];
      mean[static_cast<std::size_t>(k)] += expect[k] / 9;
    }
    CHECK(t.total[static_cast<std::size_t>(i)] == Approx(total));
  }
  CHECK(t.at(0, 0) == 1.0);  // the reference solution is correct and well formed
  CHECK(t.at(0, 1) == 1.0);
  CHECK(t.at(1, 0) == 1.0);  // right answer, trailing text: accuracy yes, format no
  CHECK(t.at(1, 1) == 0.0);
  for (std::size_t k = 0; k < 4; ++k) {
    const auto col = t.column(static_cast<grpo::index_t>(k));
    double var = 0;
    for (double x : col) var += (x - mean[k]) * (x - mean[k]) / 9;
    CHECK(t.stats[k].mean == Approx(mean[k]));
    CHECK(t.stats[k].std == Approx(std::sqrt(var)).margin(1e-12));
  }
}

TEST_CASE("combine: bad inputs are errors naming the input", "[reward][combine]") {
  auto rs = make_set();
  const auto p =
      grpo::task::make_problems_or_throw(grpo::task::addition{}, grpo::task::split::train, 1, 5)[0];
  std::vector<completion> cs = {{"<answer>1</answer>", 3, &p}, {"x", 1, &p}};
  reward_table t;
  CHECK(rs.evaluate(cs, grpo::group_layout::fixed(4, 2), t).kind() == grpo::errc::shape_mismatch);
  CHECK(rs.evaluate(cs, grpo::group_layout::fixed(2, 3), t).kind() == grpo::errc::bad_group);
  cs[1].problem = nullptr;
  auto s = rs.evaluate(cs, grpo::group_layout::fixed(2, 2), t);
  CHECK(s.kind() == grpo::errc::null_pointer);
  CHECK(s.index() == 1);
  cs[1].problem = &p;
  cs[0].num_tokens = -1;
  s = rs.evaluate(cs, grpo::group_layout::fixed(2, 2), t);
  CHECK(s.input() == "completions.num_tokens");
  CHECK(s.index() == 0);
  cs[0].num_tokens = 3;
  REQUIRE(rs.evaluate(cs, grpo::group_layout::fixed(2, 2), t).ok());
  auto with_nan = combine(hana::make_pair(BOOST_HANA_STRING("format"), strict_format{}),
                          hana::make_pair(BOOST_HANA_STRING("broken"), always_nan{}));
  s = with_nan.evaluate(cs, grpo::group_layout::fixed(2, 2), t);
  CHECK(s.kind() == grpo::errc::non_finite);
  CHECK(s.input() == "reward `broken`");
  CHECK(s.index() == 0);
  auto with_bad_config = combine(hana::make_pair(
      BOOST_HANA_STRING("overlong"), soft_overlong{.max_length = 4, .cache_length = 8}));
  CHECK(with_bad_config.evaluate(cs, grpo::group_layout::fixed(2, 2), t).input() ==
        "soft_overlong.cache_length");
  auto nan_weight = make_set();
  nan_weight.weight(BOOST_HANA_STRING("tags")) = NAN;
  s = nan_weight.evaluate(cs, grpo::group_layout::fixed(2, 2), t);
  CHECK(s.kind() == grpo::errc::non_finite);
  CHECK(s.index() == 3);
}
