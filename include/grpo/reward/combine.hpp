#pragma once
// Rewards combined by name (host only: Boost.Hana). Each reward is a pair of a compile-time name
// and a functor; the set evaluates them all on a batch of completions and yields
//   - the per-reward matrix R[N, K] (row i = completion i, column k = reward k, in the order
//     given), for normalise-then-sum: normalise each column within its groups, then weight;
//   - the weighted sum r_i = Σ_k w_k R[i, k], the input of sum-then-normalise;
//   - per-reward mean and std over the batch, keyed by name, for logging.
//
//   namespace hana = boost::hana;
//   auto rewards = grpo::reward::combine(
//       hana::make_pair(BOOST_HANA_STRING("accuracy"), grpo::reward::accuracy{}),
//       hana::make_pair(BOOST_HANA_STRING("format"), grpo::reward::strict_format{}));
//   rewards.weight(BOOST_HANA_STRING("format")) = 0.5;    // checked at compile time
//   grpo::reward::reward_table table;
//   GRPO_TRY(rewards.evaluate(completions, grpo::group_layout::fixed(N, G), table));
//
// Names are unique (a compile-time error otherwise); a weight for an unknown name is a
// compile-time error through `weight`/`with_weights` and a status through `set_weight`.
#include <grpo/core/error.hpp>
#include <grpo/core/groups.hpp>
#include <grpo/reward/completion.hpp>

#include <boost/hana.hpp>

#include <array>
#include <cmath>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace grpo::reward {

namespace hana = boost::hana;

struct reward_stats {
  double mean = 0;
  double std = 0;  // population std over the batch
};

/// The output of `reward_set::evaluate`.
struct reward_table {
  std::vector<std::string> names;   // [K]
  std::vector<double> weights;      // [K]
  index_t num_completions = 0;      // N
  std::vector<double> per_reward;   // [N, K] row-major
  std::vector<double> total;        // [N] weighted sum
  std::vector<reward_stats> stats;  // [K]
  reward_stats total_stats;

  [[nodiscard]] index_t num_rewards() const { return static_cast<index_t>(names.size()); }
  [[nodiscard]] double at(index_t i, index_t k) const {
    return per_reward[static_cast<std::size_t>(i * num_rewards() + k)];
  }
  /// Column of reward `name`, or -1.
  [[nodiscard]] index_t index_of(std::string_view name) const {
    for (std::size_t k = 0; k < names.size(); ++k)
      if (names[k] == name) return static_cast<index_t>(k);
    return -1;
  }
  /// Reward k's values over the batch, [N].
  [[nodiscard]] std::vector<double> column(index_t k) const {
    std::vector<double> c(static_cast<std::size_t>(num_completions));
    for (index_t i = 0; i < num_completions; ++i) c[static_cast<std::size_t>(i)] = at(i, k);
    return c;
  }
};

namespace detail {
template <class P>
using name_of = std::decay_t<decltype(hana::first(std::declval<const P&>()))>;
template <class P>
using functor_of = std::decay_t<decltype(hana::second(std::declval<const P&>()))>;

template <class R>
concept has_validate = requires(const R& r) {
  { r.validate() } -> std::same_as<status>;
};

inline reward_stats mean_std(const std::vector<double>& v) {
  reward_stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(ss / static_cast<double>(v.size()));
  return s;
}
}  // namespace detail

template <class... Pairs>
class reward_set {
  static_assert(sizeof...(Pairs) > 0, "combine() needs at least one reward");
  static_assert((hana::is_a<hana::string_tag, detail::name_of<Pairs>> && ...),
                "each reward is hana::make_pair(BOOST_HANA_STRING(\"name\"), functor)");
  static_assert((reward_function<detail::functor_of<Pairs>> && ...),
                "each functor must satisfy completion_reward or group_reward");

  template <class Name>
  static constexpr std::size_t count_named = (std::size_t{0} + ... +
                                              std::is_same_v<Name, detail::name_of<Pairs>>);
  static_assert(((count_named<detail::name_of<Pairs>> == 1) && ...),
                "two rewards have the same name");

 public:
  static constexpr std::size_t num_rewards = sizeof...(Pairs);

  explicit reward_set(Pairs... pairs) : entries_(hana::make_tuple(std::move(pairs)...)) {
    weights_.fill(1.0);
  }

  /// The column of reward `name` (a compile-time constant; unknown names do not compile).
  template <class Name>
  static constexpr std::size_t index_of(Name) {
    static_assert(count_named<Name> == 1, "no reward has this name");
    constexpr std::array<bool, num_rewards> same = {
        std::is_same_v<Name, detail::name_of<Pairs>>...};
    std::size_t k = 0;
    while (!same[k]) ++k;
    return k;
  }

  template <class Name>
  double& weight(Name name) {
    return weights_[index_of(name)];
  }
  template <class Name>
  [[nodiscard]] double weight(Name name) const {
    return weights_[index_of(name)];
  }

  /// The functor registered under `name`.
  template <class Name>
  auto& get(Name) {
    return hana::second(hana::at_c<index_of(Name{})>(entries_));
  }
  template <class Name>
  const auto& get(Name) const {
    return hana::second(hana::at_c<index_of(Name{})>(entries_));
  }

  /// Sets weights from a hana map name -> double; every key must name a reward.
  template <class Map>
  reward_set& with_weights(const Map& map) {
    hana::for_each(hana::keys(map),
                   [&](auto key) { weights_[index_of(key)] = static_cast<double>(map[key]); });
    return *this;
  }

  /// Runtime lookup by name (for a config file).
  status set_weight(std::string_view name, double w) {
    const auto ns = names();
    for (std::size_t k = 0; k < num_rewards; ++k) {
      if (ns[k] == name) {
        if (!std::isfinite(w))
          return {errc::non_finite, "weight", static_cast<index_t>(k), std::string(name)};
        weights_[k] = w;
        return {};
      }
    }
    return {errc::out_of_range, "name", -1, "no reward named `" + std::string(name) + "`"};
  }

  [[nodiscard]] const std::array<double, num_rewards>& weights() const { return weights_; }

  [[nodiscard]] static std::array<std::string_view, num_rewards> names() {
    return {std::string_view(hana::to<const char*>(detail::name_of<Pairs>{}))...};
  }

  /// Checks the weights and every functor's own `validate()` where it has one.
  [[nodiscard]] status validate() const {
    for (std::size_t k = 0; k < num_rewards; ++k)
      if (!std::isfinite(weights_[k]))
        return {errc::non_finite, "weights", static_cast<index_t>(k),
                "weight of `" + std::string(names()[k]) + "`"};
    status result;
    hana::for_each(entries_, [&](const auto& pair) {
      using R = std::decay_t<decltype(hana::second(pair))>;
      if constexpr (detail::has_validate<R>) {
        if (result.ok()) result = hana::second(pair).validate();
      }
    });
    return result;
  }

  /// Scores every completion with every reward. Completions of a group are contiguous as in
  /// `layout`; group rewards see one group at a time.
  status evaluate(std::span<const completion> completions, const group_layout& layout,
                  reward_table& out) const {
    GRPO_TRY(validate());
    GRPO_TRY(grpo::validate(layout));
    const auto n = static_cast<index_t>(completions.size());
    if (n != layout.num_sequences)
      return {errc::shape_mismatch, "completions", -1,
              std::to_string(n) +
                  " completions but the layout has N = " + std::to_string(layout.num_sequences)};
    for (index_t i = 0; i < n; ++i) {
      const auto& c = completions[static_cast<std::size_t>(i)];
      if (c.problem == nullptr)
        return {errc::null_pointer, "completions.problem", i, "every completion needs its problem"};
      if (c.num_tokens < 0)
        return {errc::out_of_range, "completions.num_tokens", i, "negative length"};
    }
    constexpr auto K = static_cast<index_t>(num_rewards);
    reward_table t;
    const auto ns = names();
    t.names.assign(ns.begin(), ns.end());
    t.weights.assign(weights_.begin(), weights_.end());
    t.num_completions = n;
    t.per_reward.assign(static_cast<std::size_t>(n * K), 0.0);
    std::vector<double> scores(static_cast<std::size_t>(n));
    index_t k = 0;
    status result;
    hana::for_each(entries_, [&](const auto& pair) {
      if (!result.ok()) return;
      const auto& r = hana::second(pair);
      using R = std::decay_t<decltype(r)>;
      if constexpr (group_reward<R>) {
        for (index_t g = 0; g < layout.num_groups; ++g) {
          const auto b = static_cast<std::size_t>(layout.begin(g));
          const auto size = static_cast<std::size_t>(layout.size(g));
          r(completions.subspan(b, size), std::span<double>(scores).subspan(b, size));
        }
      } else {
        for (index_t i = 0; i < n; ++i)
          scores[static_cast<std::size_t>(i)] =
              static_cast<double>(r(completions[static_cast<std::size_t>(i)]));
      }
      for (index_t i = 0; i < n; ++i) {
        const double v = scores[static_cast<std::size_t>(i)];
        if (!std::isfinite(v) && result.ok())
          result = {errc::non_finite, "reward `" + t.names[static_cast<std::size_t>(k)] + "`", i,
                    "the reward returned a non-finite value"};
        t.per_reward[static_cast<std::size_t>(i * K + k)] = v;
      }
      t.stats.push_back(detail::mean_std(scores));
      ++k;
    });
    GRPO_TRY(result);
    t.total.assign(static_cast<std::size_t>(n), 0.0);
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < K; ++j)
        t.total[static_cast<std::size_t>(i)] += weights_[static_cast<std::size_t>(j)] * t.at(i, j);
    t.total_stats = detail::mean_std(t.total);
    out = std::move(t);
    return {};
  }

 private:
  hana::tuple<Pairs...> entries_;
  std::array<double, num_rewards> weights_{};
};

/// A reward set from (name, functor) pairs, every weight 1.
template <class... Pairs>
reward_set<Pairs...> combine(Pairs... pairs) {
  return reward_set<Pairs...>(std::move(pairs)...);
}

}  // namespace grpo::reward
