#include "sim/faults.h"

#include <gtest/gtest.h>

#include <set>

namespace triad {
namespace {

constexpr TimeNs kMin = 60 * kNsPerSec;

TEST(SimFaults, AfterTrainEndNonOverlappingWithGaps) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Topology topo = Topology::Generate(4 + static_cast<int>(seed % 9), seed);
    const TimeNs train_end = 100 * kMin, end = 200 * kMin;
    const int count = 1 + static_cast<int>(seed % 12);
    const FaultPlan p = FaultPlan::Generate(topo, seed, train_end, end, count);
    ASSERT_EQ(static_cast<int>(p.faults().size()), count);
    TimeNs prev_end = train_end;
    for (const auto& f : p.faults()) {
      EXPECT_GT(f.start, prev_end) << "faults must not overlap and need gaps";
      EXPECT_LT(f.start, f.end);
      EXPECT_LE(f.end, end);
      prev_end = f.end;
      if (f.type == FaultType::kNetworkDelay) {
        EXPECT_GE(f.service, 0);
        ASSERT_GT(f.peer, 0);
        EXPECT_TRUE(topo.Calls(f.service, f.peer));
      } else {
        EXPECT_GT(f.service, 0) << "never the gateway";
        EXPECT_EQ(f.peer, -1);
      }
      EXPECT_FALSE(f.description.empty());
    }
  }
}

TEST(SimFaults, DurationsTwoToFiveMinutesAndScaledDownWhenShort) {
  const Topology topo = Topology::Generate(10, 3);
  const FaultPlan big = FaultPlan::Generate(topo, 3, 0, 300 * kMin, 5);
  for (const auto& f : big.faults()) {
    EXPECT_GE(f.end - f.start, 2 * kMin);
    EXPECT_LE(f.end - f.start, 5 * kMin);
  }
  const FaultPlan small = FaultPlan::Generate(topo, 3, 0, 10 * kMin, 4);
  ASSERT_EQ(small.faults().size(), 4u);
  TimeNs total = 0;
  for (const auto& f : small.faults()) total += f.end - f.start;
  EXPECT_LT(total, 10 * kMin);
  EXPECT_GT(total, 2 * kMin);
}

TEST(SimFaults, SevenFaultsCoverEveryTypeOnce) {
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    const Topology topo = Topology::Generate(10, seed);
    const FaultPlan p = FaultPlan::Generate(topo, seed, 0, 60 * kMin, 7);
    std::set<std::string> types;
    for (const auto& f : p.faults()) types.insert(FaultTypeName(f.type));
    EXPECT_EQ(types.size(), 7u);
  }
  // The cycle order depends on the seed.
  const Topology topo = Topology::Generate(10, 1);
  std::set<std::string> firsts;
  for (uint64_t seed = 1; seed <= 10; ++seed)
    firsts.insert(FaultTypeName(FaultPlan::Generate(topo, seed, 0, 60 * kMin, 1).faults()[0].type));
  EXPECT_GT(firsts.size(), 1u);
}

TEST(SimFaults, EffectsOnlyInsideWindows) {
  const Topology topo = Topology::Generate(10, 8);
  const FaultPlan p = FaultPlan::Generate(topo, 8, 10 * kMin, 60 * kMin, 7);
  for (const auto& f : p.faults()) {
    const TimeNs mid = f.start + (f.end - f.start) / 2;
    const Effects before = p.At(f.service, f.start - 1);
    EXPECT_EQ(before.latency_mult, 1);
    EXPECT_EQ(before.error_prob, 0);
    EXPECT_FALSE(before.down);
    const Effects in = p.At(f.service, mid);
    switch (f.type) {
      case FaultType::kLatency: EXPECT_GE(in.latency_mult, 3); break;
      case FaultType::kErrorBurst: EXPECT_GE(in.error_prob, 0.2); break;
      case FaultType::kCpuHog: EXPECT_GT(in.cpu_floor, 0.9); break;
      case FaultType::kMemoryLeak: EXPECT_GT(in.leak, 0.3); break;
      case FaultType::kCrash: EXPECT_TRUE(p.At(f.service, f.start).down); break;
      case FaultType::kNetworkDelay: EXPECT_GE(p.NetworkDelay(f.service, f.peer, mid), 50 * kNsPerMs); break;
      case FaultType::kBadDeploy: EXPECT_NE(in.deploy, nullptr); break;
    }
    EXPECT_EQ(p.NetworkDelay(f.service, f.peer, f.end), 0);
  }
}

}  // namespace
}  // namespace triad
