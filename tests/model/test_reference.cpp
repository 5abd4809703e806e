#include <catch2/catch.hpp>
#include <grpo/model/reference.hpp>
#include <grpo/model/tabular.hpp>

namespace gm = grpo::model;

static_assert(gm::policy<gm::tabular_policy<float>>);
static_assert(gm::reference_policy<gm::reference_model<gm::tabular_policy<float>>>);

TEST_CASE("reference model is a frozen snapshot refreshed every K steps", "[model][reference]") {
  gm::tabular_policy<double> pol(1, 3, 1);
  gm::reference_model<gm::tabular_policy<double>> ref(pol, 4);
  gm::sequence_batch b;
  b.add(std::vector<gm::token_t>{0}, std::vector<gm::token_t>{2});
  std::vector<double> lp(1), lr(1);
  pol.logits(0, 0)[2] = 1.5;  // the policy moves, the reference does not
  REQUIRE(pol.logprobs(b, 1.0, lp, {}).ok());
  REQUIRE(ref.logprobs(b, 1.0, lr, {}).ok());
  CHECK(lr[0] == Approx(std::log(1.0 / 3.0)));
  CHECK(lp[0] > lr[0]);
  for (grpo::index_t step : {0, 1, 2, 3}) CHECK_FALSE(ref.maybe_refresh(step, pol));
  CHECK(ref.maybe_refresh(4, pol));
  CHECK_FALSE(ref.maybe_refresh(4, pol));  // once per step
  REQUIRE(ref.logprobs(b, 1.0, lr, {}).ok());
  CHECK(lr[0] == Approx(lp[0]));
  CHECK(ref.last_refresh() == 4);
  CHECK(ref.maybe_refresh(8, pol));
  gm::reference_model<gm::tabular_policy<double>> never(pol, 0);
  for (grpo::index_t step = 0; step < 1000; step += 100) CHECK_FALSE(never.maybe_refresh(step, pol));
}
