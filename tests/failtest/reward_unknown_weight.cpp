// A weight for a name that no reward has must not compile.
// expect: no reward has this name
#include <grpo/reward/rewards.hpp>
namespace hana = boost::hana;
int main() {
  auto rs = grpo::reward::combine(
      hana::make_pair(BOOST_HANA_STRING("accuracy"), grpo::reward::accuracy{}),
      hana::make_pair(BOOST_HANA_STRING("format"), grpo::reward::strict_format{}));
#ifdef GRPO_FAILTEST_CONTROL
  rs.weight(BOOST_HANA_STRING("format")) = 0.5;
#else
  rs.weight(BOOST_HANA_STRING("fromat")) = 0.5;
#endif
  return 0;
}
