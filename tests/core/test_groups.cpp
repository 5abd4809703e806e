#include <catch2/catch.hpp>
#include <grpo/core/groups.hpp>

TEST_CASE("fixed group layout: G must divide N", "[core][groups]") {
  CHECK(grpo::validate(grpo::group_layout::fixed(8, 4)).ok());
  const auto s = grpo::validate(grpo::group_layout::fixed(10, 4));
  CHECK(s.kind() == grpo::errc::bad_group);
  CHECK(s.input() == "group_size");
  CHECK(grpo::validate(grpo::group_layout::fixed(8, 1), 2).kind() == grpo::errc::group_too_small);
}

TEST_CASE("ragged group layout: offsets start at 0, increase, end at N", "[core][groups]") {
  const grpo::index_t good[] = {0, 3, 5, 9};
  const auto l = grpo::group_layout::ragged(9, 3, good);
  REQUIRE(grpo::validate(l).ok());
  CHECK(l.size(1) == 2);
  CHECK(l.begin(2) == 5);
  const grpo::index_t flat[] = {0, 3, 3, 9};
  const auto s = grpo::validate(grpo::group_layout::ragged(9, 3, flat));
  CHECK(s.kind() == grpo::errc::bad_group);
  CHECK(s.index() == 2);
  const grpo::index_t short_end[] = {0, 3, 5, 8};
  CHECK(grpo::validate(grpo::group_layout::ragged(9, 3, short_end)).index() == 3);
  CHECK(grpo::validate(grpo::group_layout::ragged(9, 3, nullptr)).kind() == grpo::errc::null_pointer);
  const grpo::index_t singles[] = {0, 1, 3};
  CHECK(grpo::validate(grpo::group_layout::ragged(3, 2, singles), 2).kind() ==
        grpo::errc::group_too_small);
}
