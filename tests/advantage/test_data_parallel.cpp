// The reduction hook: two simulated data-parallel ranks (two threads exchanging partial sums
// through a shared buffer) each hold whole groups and must get the advantages and statistics
// that one process holding the whole batch gets.
#include "check.hpp"
#include "transform.hpp"

#include <grpo/advantage/compute.hpp>
#include <grpo/advantage/kl_reward.hpp>

#include <barrier>
#include <thread>

using namespace adv_test;

namespace {

/// The shared state of a two-rank "all-reduce": each rank posts its values, both wait, both
/// combine rank 0's then rank 1's values (the same order on both, so they agree bitwise).
struct two_rank_comm {
  std::barrier<> sync{2};
  double posted[2][16] = {};
  int calls[2] = {0, 0};
};

struct fake_rank_reduction {
  two_rank_comm* comm;
  int rank;

  template <class Combine>
  void all_reduce(double* v, grpo::index_t n, Combine combine) const {
    REQUIRE(n <= 16);
    for (grpo::index_t k = 0; k < n; ++k) comm->posted[rank][k] = v[k];
    ++comm->calls[rank];
    comm->sync.arrive_and_wait();
    for (grpo::index_t k = 0; k < n; ++k) v[k] = combine(comm->posted[0][k], comm->posted[1][k]);
    comm->sync.arrive_and_wait();  // nobody overwrites `posted` before both have read it
  }
  void sum(double* v, grpo::index_t n) const {
    all_reduce(v, n, [](double a, double b) { return a + b; });
  }
  void max(double* v, grpo::index_t n) const {
    all_reduce(v, n, [](double a, double b) { return a > b ? a : b; });
  }
};
static_assert(grpo::batch_reduction<fake_rank_reduction>);

template <class E>
std::vector<float> run_rank(const E& est, const test_batch& b, const fake_rank_reduction& red,
                            grpo::advantage_stats& st, grpo::status& s) {
  std::vector<float> A(static_cast<std::size_t>(E::token_level ? b.N * b.T : b.N));
  s = grpo::compute_advantages(est, b.view(), b.layout(), A.data(), st, red);
  return A;
}

}  // namespace

TEMPLATE_TEST_CASE("two ranks holding whole groups get the single-process advantages",
                   "[advantage][reduction]", grpo::group_normalized, grpo::mean_only,
                   grpo::group_mean_batch_std, grpo::rloo, grpo::reinforce_pp,
                   grpo::reinforce_pp_baseline, grpo::remax, grpo::opo, grpo::gpg,
                   grpo::passk_grpo, grpo::gdpo, grpo::process_supervision) {
  std::mt19937_64 rng(Catch::rngSeed() + 21);
  for (int trial = 0; trial < 12; ++trial) {
    batch_options o;
    o.min_G = TestType::min_group_size;
    o.num_groups = 2 + trial % 7;
    o.ragged = trial % 2 == 0;
    o.binary = trial % 3 == 0;
    o.K = trial % 4 == 3 ? 2 : 1;
    const test_batch whole = random_batch(rng, o);
    const index_t split = 1 + trial % (whole.P() - 1);  // rank 0: groups [0, split)
    const test_batch part[2] = {slice_groups(whole, 0, split), slice_groups(whole, split, whole.P())};

    grpo::advantage_stats st_whole;
    const auto A_whole = run(TestType{}, whole, &st_whole);

    // A rank whose inputs were refused would leave the other waiting in the collective.
    for (const auto& p : part) {
      std::vector<float> scratch(static_cast<std::size_t>(p.N * p.T));
      REQUIRE(grpo::validate_advantage_inputs(TestType{}, p.view(), p.layout(), scratch.data()).ok());
    }
    two_rank_comm comm;
    grpo::advantage_stats st[2];
    grpo::status s[2];
    std::vector<float> A[2];
    std::thread rank1([&] { A[1] = run_rank(TestType{}, part[1], {&comm, 1}, st[1], s[1]); });
    A[0] = run_rank(TestType{}, part[0], {&comm, 0}, st[0], s[0]);
    rank1.join();
    REQUIRE(s[0].ok());
    REQUIRE(s[1].ok());
    CHECK(comm.calls[0] == comm.calls[1]);

    std::vector<double> joined(A[0].begin(), A[0].end());
    joined.insert(joined.end(), A[1].begin(), A[1].end());
    require_close(A_whole, joined, 1e-6);
    for (int r = 0; r < 2; ++r) {
      CHECK(st[r].num_groups == st_whole.num_groups);
      CHECK(st[r].zero_std_groups == st_whole.zero_std_groups);
      CHECK(st[r].nan_rewards == st_whole.nan_rewards);
      CHECK(st[r].batch_std == Approx(st_whole.batch_std).epsilon(1e-12));
      CHECK(st[r].gpg_alpha == st_whole.gpg_alpha);
    }
  }
}

TEST_CASE("the mean KL of KL-in-the-reward is global across ranks", "[advantage][reduction][kl]") {
  // Rank 0: one sequence with KL sum 1; rank 1: two sequences with KL sums 2 and 3. Mean 2.
  two_rank_comm comm;
  double mean_kl[2] = {0, 0};
  float r0[] = {0.0f}, r1[] = {0.0f, 0.0f};
  const float old0[] = {1.0f}, ref0[] = {0.0f};
  const float old1[] = {2.0f, 3.0f}, ref1[] = {0.0f, 0.0f};
  const std::int32_t len0[] = {1}, len1[] = {1, 1};
  std::thread rank1([&] {
    CHECK(grpo::apply_kl_penalty(r1, 2, old1, ref1, len1, 1, 0.1, &mean_kl[1],
                                 fake_rank_reduction{&comm, 1})
              .ok());
  });
  CHECK(grpo::apply_kl_penalty(r0, 1, old0, ref0, len0, 1, 0.1, &mean_kl[0],
                               fake_rank_reduction{&comm, 0})
            .ok());
  rank1.join();
  CHECK(mean_kl[0] == Approx(2.0));
  CHECK(mean_kl[1] == Approx(2.0));
  CHECK(r1[1] == Approx(-0.3));
}
