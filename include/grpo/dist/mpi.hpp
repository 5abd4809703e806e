#pragma once
// Data parallelism over MPI (optional component `mpi`: find_package(grpo CONFIG COMPONENTS mpi),
// target grpo::mpi; Debian's libopenmpi-dev). Each rank holds whole groups; the library's
// batch-wide quantities go through MPI_Allreduce on a communicator, so every rank computes what
// one process holding every rank's groups would:
//
//   mpi_reduction{comm}        the grpo::batch_reduction hook (grpo/core/reduce.hpp) for
//                              compute_advantages and evaluate: token and sequence counts, the
//                              padded width, batch std and whitening moments
//   trainer_hooks<S>(comm)     the trainer's data_parallel hooks: those reductions, the gradient
//                              all-reduce (a sum: each rank's loss is its share of the global
//                              loss), the fail-together `agree`, and the rank that writes
//                              checkpoints
//   agree(status, comm)        every rank learns whether any rank failed, and the first failing
//                              rank's message
//   rank_seed(seed, comm)      a seed per rank for rank-disjoint prompt streams
//   broadcast(params, comm)    rank 0's parameters to every rank (the same initial model)
//   save(trainer, path, comm)  rank 0 writes the checkpoint, every rank learns how it went
//   load(trainer, path, comm)  every rank reads it (after a save: the agree is the barrier)
//
//   MPI_Init(&argc, &argv);
//   grpo::train::trainer_config cfg;  cfg.seed = grpo::dist::rank_seed(1, MPI_COMM_WORLD);
//   grpo::dist::broadcast(policy.parameters(), MPI_COMM_WORLD);
//   grpo::train::trainer tr(policy, env, grpo::group_normalized{}, objective, cfg);
//   GRPO_TRY(tr.set_data_parallel(grpo::dist::trainer_hooks<float>(MPI_COMM_WORLD)));
//   for (...) GRPO_TRY(tr.step(m));   // an error on any rank is an error on every rank
//
// MPI calls use the communicator's error handler (MPI_ERRORS_ARE_FATAL by default: a failed
// collective or a dead rank ends the job; mpirun then reports it, no rank hangs waiting).
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/train/trainer.hpp>

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <type_traits>

namespace grpo::dist {

inline int rank_of(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
inline int size_of(MPI_Comm comm) {
  int n = 1;
  MPI_Comm_size(comm, &n);
  return n;
}

/// The batch-reduction hook over MPI_Allreduce (in place, doubles).
struct mpi_reduction {
  MPI_Comm comm = MPI_COMM_WORLD;
  void sum(double* v, index_t n) const { MPI_Allreduce(MPI_IN_PLACE, v, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, comm); }
  void max(double* v, index_t n) const { MPI_Allreduce(MPI_IN_PLACE, v, static_cast<int>(n), MPI_DOUBLE, MPI_MAX, comm); }
};
static_assert(batch_reduction<mpi_reduction>);

template <class S>
inline MPI_Datatype mpi_type() {
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>, "float or double");
  return std::is_same_v<S, float> ? MPI_FLOAT : MPI_DOUBLE;
}

/// In-place sum over the ranks, in chunks below 2^31 elements.
template <class S>
void allreduce_sum(S* v, index_t n, MPI_Comm comm) {
  constexpr index_t chunk = index_t{1} << 30;
  for (index_t at = 0; at < n; at += chunk)
    MPI_Allreduce(MPI_IN_PLACE, v + at, static_cast<int>(std::min(chunk, n - at)), mpi_type<S>(), MPI_SUM, comm);
}

/// Rank 0's values on every rank (e.g. the initial parameters).
template <class S>
void broadcast(std::span<S> values, MPI_Comm comm) {
  constexpr std::size_t chunk = std::size_t{1} << 30;
  for (std::size_t at = 0; at < values.size(); at += chunk)
    MPI_Bcast(values.data() + at, static_cast<int>(std::min(chunk, values.size() - at)), mpi_type<S>(), 0, comm);
}

/// The fail-together point: ok on every rank iff ok on every rank. Otherwise the first failing
/// rank gets its own status back and every other rank errc::peer_failed naming that rank (the
/// index) with its message.
inline status agree(const status& local, MPI_Comm comm) {
  const int me = rank_of(comm), n = size_of(comm);
  int mine = local.ok() ? n : me, first = n;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == n) return {};
  std::string msg = me == first ? local.message() : std::string();
  int len = static_cast<int>(msg.size());
  MPI_Bcast(&len, 1, MPI_INT, first, comm);
  msg.resize(static_cast<std::size_t>(len));
  MPI_Bcast(msg.data(), len, MPI_CHAR, first, comm);
  if (me == first) return local;
  return {errc::peer_failed, "rank", first, "rank " + std::to_string(first) + " failed: " + msg};
}

/// A seed per rank (splitmix64 of seed and rank): rank-disjoint prompt streams from one seed.
inline std::uint64_t rank_seed(std::uint64_t seed, MPI_Comm comm) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(rank_of(comm)) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The trainer's data-parallel hooks on `comm` (trainer::set_data_parallel).
template <class S>
train::data_parallel<S> trainer_hooks(MPI_Comm comm) {
  train::data_parallel<S> dp;
  const mpi_reduction r{comm};
  dp.sum = [r](double* v, index_t n) { r.sum(v, n); };
  dp.max = [r](double* v, index_t n) { r.max(v, n); };
  dp.sum_gradients = [comm](S* g, index_t n) { allreduce_sum(g, n, comm); };
  dp.agree = [comm](const status& s) { return agree(s, comm); };
  dp.rank = rank_of(comm);
  return dp;
}

/// Rank 0 writes `tr`'s checkpoint; every rank returns the outcome (a barrier too).
template <class Trainer>
status save(const Trainer& tr, const std::filesystem::path& path, MPI_Comm comm) {
  return agree(rank_of(comm) == 0 ? tr.save(path) : status{}, comm);
}

/// Every rank restores `tr` from `path`; an error on any rank is an error on every rank.
template <class Trainer>
status load(Trainer& tr, const std::filesystem::path& path, MPI_Comm comm) {
  return agree(tr.load(path), comm);
}

}  // namespace grpo::dist
