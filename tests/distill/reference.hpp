#pragma once
// The distillation divergences in float64, written from their definitions and kept apart from the
// library: both softmaxes materialised, the support chosen by sorting, the mixture formed
// explicitly, and the gradient by central finite differences of that loss.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace grpo_test {

struct distill_case {
  double beta = 0.5, temperature = 1.0;
  long top_k = 0;
};

inline std::vector<double> softmax(const std::vector<double>& x) {
  double m = -INFINITY;
  for (double v : x) m = std::max(m, v);
  std::vector<double> p(x.size());
  double z = 0;
  for (std::size_t i = 0; i < x.size(); ++i) z += p[i] = std::exp(x[i] - m);
  for (double& v : p) v /= z;
  return p;
}

/// The support: every index, or the teacher's top-k (ties to the lower index) by a full sort.
inline std::vector<std::size_t> support(const std::vector<double>& teacher, long k) {
  std::vector<std::size_t> idx(teacher.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  if (k <= 0 || static_cast<std::size_t>(k) >= teacher.size()) return idx;
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return teacher[a] > teacher[b]; });
  idx.resize(static_cast<std::size_t>(k));
  std::sort(idx.begin(), idx.end());
  return idx;
}

/// KL(a‖b) = Σ a log(a/b) over a > 0.
inline double kl(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] > 0) s += a[i] * std::log(a[i] / b[i]);
  return s;
}

inline double divergence(const distill_case& c, const std::vector<double>& student, const std::vector<double>& teacher) {
  const auto S = support(teacher, c.top_k);
  std::vector<double> a, b;
  for (auto j : S) a.push_back(student[j] / c.temperature), b.push_back(teacher[j] / c.temperature);
  const auto q = softmax(a), p = softmax(b);
  if (c.beta == 0) return kl(p, q);
  if (c.beta == 1) return kl(q, p);
  std::vector<double> m(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) m[i] = c.beta * p[i] + (1 - c.beta) * q[i];
  return c.beta * kl(p, m) + (1 - c.beta) * kl(q, m);
}

/// ∂divergence/∂student by central differences with step h.
inline std::vector<double> divergence_gradient_fd(const distill_case& c, std::vector<double> student,
                                                  const std::vector<double>& teacher, double h = 1e-5) {
  std::vector<double> g(student.size());
  for (std::size_t j = 0; j < student.size(); ++j) {
    const double x = student[j];
    student[j] = x + h;
    const double up = divergence(c, student, teacher);
    student[j] = x - h;
    const double down = divergence(c, student, teacher);
    student[j] = x;
    g[j] = (up - down) / (2 * h);
  }
  return g;
}

}  // namespace grpo_test
