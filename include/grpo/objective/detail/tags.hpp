#pragma once
// Category tags: every part of an objective says what it is, so `objective<...>` can reject a
// part given in the wrong position with a message that says what to do.
#include <type_traits>

namespace grpo {
struct ratio_tag {};
struct surrogate_tag {};
struct kl_tag {};
struct aggregation_tag {};
struct correction_tag {};

template <class P, class Tag>
inline constexpr bool is_part_of = requires { typename P::category; } &&
                                   std::is_same_v<typename P::category, Tag>;
}  // namespace grpo
