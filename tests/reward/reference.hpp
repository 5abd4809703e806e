#pragma once
// Plain float64 references for the length-shaped and repetition rewards, written from the
// formulas of the papers (DeepSeek-R1 §2.2.2, Kimi k1.5 §2.3.3) and DAPO eq. 13, apart from the library.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace grpo_test {

inline std::vector<double> kimi_reference(const std::vector<long>& len,
                                          const std::vector<bool>& correct) {
  const double mn = static_cast<double>(*std::min_element(len.begin(), len.end()));
  const double mx = static_cast<double>(*std::max_element(len.begin(), len.end()));
  std::vector<double> r(len.size(), 0.0);
  if (mx == mn) return r;
  for (std::size_t i = 0; i < len.size(); ++i) {
    const double lambda = 0.5 - (static_cast<double>(len[i]) - mn) / (mx - mn);
    r[i] = correct[i] ? lambda : std::min(0.0, lambda);
  }
  return r;
}

inline double cosine_reference(long len, long L, bool correct) {
  const double lo = correct ? 0.5 : -0.5, hi = correct ? 1.0 : -1.0;
  const double x = static_cast<double>(std::min(len, L));
  return lo +
         0.5 * (hi - lo) * (1.0 + std::cos(3.14159265358979323846 * x / static_cast<double>(L)));
}

inline double overlong_reference(long len, long l_max, long l_cache) {
  if (len <= l_max - l_cache) return 0.0;
  if (len <= l_max)
    return static_cast<double>(l_max - l_cache - len) / static_cast<double>(l_cache);
  return -1.0;
}

// word n-grams via a map of joined strings
inline double repetition_reference(const std::string& text, int n, double p) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (static_cast<int>(words.size()) < n) return 0.0;
  std::map<std::vector<std::string>, int> grams;
  int total = 0;
  for (std::size_t i = 0; i + static_cast<std::size_t>(n) <= words.size(); ++i, ++total)
    grams[std::vector<std::string>(words.begin() + static_cast<long>(i),
                                   words.begin() + static_cast<long>(i) + n)]++;
  return (1.0 - static_cast<double>(grams.size()) / total) * p;
}

}  // namespace grpo_test
