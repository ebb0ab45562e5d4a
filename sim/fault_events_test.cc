#include "sim/fault_events.h"

#include <gtest/gtest.h>

namespace triad {
namespace {

TEST(FaultEvents, OneEventPerInjectedFault) {
  GroundTruth t;
  t.faults.resize(2);
  t.faults[0].id = "f1";
  t.faults[0].type = "network_delay";
  t.faults[0].services = {"cart", "cart-cache"};
  t.faults[0].start = 10;
  t.faults[0].end = 20;
  t.faults[1].id = "f2";
  t.faults[1].type = "crash";
  t.faults[1].start = 30;
  t.faults[1].end = 40;
  std::vector<FaultEvent> e = FaultEventsOf(t);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].id, "f1");
  EXPECT_EQ(e[0].kind, "network_delay");
  EXPECT_EQ(e[0].service, "cart");
  EXPECT_EQ(e[0].services, (std::vector<std::string>{"cart", "cart-cache"}));
  EXPECT_EQ(e[0].start, 10);
  EXPECT_EQ(e[0].end, 20);
  EXPECT_EQ(e[1].service, "");  // no service named
}

}  // namespace
}  // namespace triad
