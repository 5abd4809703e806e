#pragma once
// The reduction hook. Quantities that span the whole batch (the token count of token-mean, the
// longest length of Dr. GRPO, the batch std of advantages, REINFORCE++ whitening) are partial
// sums on each data-parallel rank. Before they are used, the library hands the partial values
// to a `batch_reduction`, which must replace them by their global sum / max in place. A
// data-parallel run, each rank holding whole groups, supplies an all-reduce (MPI, NCCL, ...) and
// every rank then uses the same normalisers as one process holding the whole batch would.
//
// Host backends pass host pointers. The CUDA backend passes device pointers and its stream, so
// an NCCL all-reduce can run on them without a copy.
#include <grpo/core/macros.hpp>

#include <concepts>

namespace grpo {

template <class R>
concept batch_reduction = requires(const R& r, double* values, index_t n) {
  r.sum(values, n);  // values[k] <- sum over ranks of values[k]
  r.max(values, n);  // values[k] <- max over ranks of values[k]
};

/// Single process: the local values are already global.
struct local_reduction {
  void sum(double*, index_t) const noexcept {}
  void max(double*, index_t) const noexcept {}
};

static_assert(batch_reduction<local_reduction>);

}  // namespace grpo
