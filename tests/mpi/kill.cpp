// A rank that dies mid-run ends the job with an error, not a hang: rank 1 kills itself (SIGKILL,
// no clean-up) while rank 0 waits in the trainer's collectives; mpirun sees the death and aborts
// the job, so the command fails (CTest: WILL_FAIL, bounded by its timeout). Exit code 0 would
// mean the run went on without rank 1: that is the failure this test exists to catch.
#include <grpo/dist/mpi.hpp>

#include <csignal>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const int me = grpo::dist::rank_of(MPI_COMM_WORLD);
  std::vector<double> g(1000, 1.0);
  grpo::dist::allreduce_sum(g.data(), static_cast<grpo::index_t>(g.size()), MPI_COMM_WORLD);  // both alive
  if (me == 1) std::raise(SIGKILL);
  for (int k = 0; k < 1000; ++k)  // rank 0 keeps reducing with a dead peer
    grpo::dist::allreduce_sum(g.data(), static_cast<grpo::index_t>(g.size()), MPI_COMM_WORLD);
  std::printf("rank %d: the collectives completed without rank 1\n", me);
  MPI_Finalize();
  return 0;
}
