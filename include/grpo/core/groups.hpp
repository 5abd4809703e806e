#pragma once
// Group layout: which sequences form one group. Sequences of a group are contiguous.
// Either a fixed group size G (N = P·G), or offsets[0..P] with offsets[0] = 0,
// offsets[P] = N and group g = [offsets[g], offsets[g+1]) (groups of different sizes after
// filtering).
#include <grpo/core/error.hpp>
#include <grpo/core/macros.hpp>

#include <string>

namespace grpo {

struct group_layout {
  index_t num_sequences = 0;         // N
  index_t num_groups = 0;            // P
  index_t group_size = 0;            // G when fixed; 0 when `offsets` is used
  const index_t* offsets = nullptr;  // [P + 1] when groups vary in size

  /// N sequences in groups of G (P = N / G; `validate` reports a G that does not divide N).
  static group_layout fixed(index_t n, index_t g) { return {n, g > 0 ? n / g : 0, g, nullptr}; }
  /// P groups given by offsets[0..P].
  static group_layout ragged(index_t n, index_t p, const index_t* offsets) {
    return {n, p, 0, offsets};
  }

  GRPO_HD index_t begin(index_t g) const { return group_size > 0 ? g * group_size : offsets[g]; }
  GRPO_HD index_t end(index_t g) const {
    return group_size > 0 ? (g + 1) * group_size : offsets[g + 1];
  }
  GRPO_HD index_t size(index_t g) const { return end(g) - begin(g); }
};

/// Validates a layout: G divides N, offsets start at 0, increase strictly and end at N.
inline status validate(const group_layout& l, index_t min_group_size = 1) {
  if (l.num_sequences <= 0)
    return {errc::shape_mismatch, "num_sequences", -1,
            "N must be positive, got " + std::to_string(l.num_sequences)};
  if (l.group_size > 0) {
    if (l.num_sequences % l.group_size != 0)
      return {errc::bad_group, "group_size", -1,
              "group size " + std::to_string(l.group_size) + " does not divide N = " +
                  std::to_string(l.num_sequences)};
    if (l.group_size < min_group_size)
      return {errc::group_too_small, "group_size", -1,
              "G = " + std::to_string(l.group_size) + " but this estimator needs G >= " +
                  std::to_string(min_group_size)};
    return {};
  }
  if (l.offsets == nullptr)
    return {errc::null_pointer, "offsets", -1, "neither a group size nor offsets were given"};
  if (l.num_groups <= 0)
    return {errc::bad_group, "offsets", -1, "ragged layout with no groups"};
  if (l.offsets[0] != 0)
    return {errc::bad_group, "offsets", 0, "offsets[0] must be 0"};
  for (index_t g = 0; g < l.num_groups; ++g) {
    const index_t size = l.offsets[g + 1] - l.offsets[g];
    if (size <= 0)
      return {errc::bad_group, "offsets", g + 1, "offsets must increase strictly"};
    if (size < min_group_size)
      return {errc::group_too_small, "offsets", g,
              "group " + std::to_string(g) + " has " + std::to_string(size) +
                  " members but this estimator needs at least " + std::to_string(min_group_size)};
  }
  if (l.offsets[l.num_groups] != l.num_sequences)
    return {errc::bad_group, "offsets", l.num_groups,
            "last offset must equal N = " + std::to_string(l.num_sequences)};
  return {};
}

}  // namespace grpo
