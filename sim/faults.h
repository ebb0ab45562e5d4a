// Faults: the anomalies injected into the test part of a simulation, and their
// effects on a service at a point in time.
#ifndef TRIAD_SIM_FAULTS_H_
#define TRIAD_SIM_FAULTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/topology.h"
#include "triad/telemetry.h"

namespace triad {

enum class FaultType : uint8_t {
  kLatency, kErrorBurst, kCpuHog, kMemoryLeak, kCrash, kNetworkDelay, kBadDeploy
};
constexpr int kNumFaultTypes = 7;

// "latency", "error_burst", "cpu_hog", "memory_leak", "crash", "network_delay", "bad_deploy".
const char* FaultTypeName(FaultType t);

struct FaultSpec {
  std::string id;  // "f1", "f2", ...
  FaultType type = FaultType::kLatency;
  int service = -1;  // root cause; the caller for network_delay
  int peer = -1;     // the callee for network_delay
  TimeNs start = 0, end = 0;
  double magnitude = 0;  // latency: slowdown factor; error_burst: failure ratio;
                         // cpu_hog: cpu level; network_delay: extra ms; bad_deploy: extra error ratio
  double latency_mult = 1;          // cpu_hog, bad_deploy: slowdown factor
  TimeNs down_start = 0, down_end = 0;  // crash, memory_leak (OOM): process down
  // bad_deploy: the operation whose call path changes, and how.
  int changed_op = -1;
  Call extra_call;        // service >= 0: a call the new version makes that the old never did
  int skipped_call = -1;  // >= 0: index in the operation's calls that the new version skips
  double new_template_prob = 0;  // per request, a never-seen WARN/ERROR log
  std::string new_version;
  std::string description;
};

// What the faults do to one service at one time.
struct Effects {
  double latency_mult = 1;  // >1: own processing slower by this factor of its usual end-to-end time
  double error_prob = 0;    // probability a request fails with 500 on its own
  double cpu_floor = 0;     // > 0: cpu usage at least this
  double leak = 0;          // memory leak progress 0..1
  bool down = false;        // process not running: connections refused, no telemetry
  const FaultSpec* deploy = nullptr;  // active bad deploy
  const FaultSpec* error_fault = nullptr;  // active error_burst
};

// A process restart (after a crash, an OOM kill, a deploy or a rollback).
struct Restart {
  TimeNs time = 0;
  int service = -1;
  std::string reason;  // "crash", "oom", "deploy", "rollback"
  std::string version;
};

class FaultPlan {
 public:
  FaultPlan() = default;
  // Schedules `count` faults in [train_end, end): non-overlapping, with gaps
  // between them, 2-5 minutes each (scaled down when the window is short).
  // Types cycle through a seed-dependent permutation of all 7.
  static FaultPlan Generate(const Topology& topo, uint64_t seed, TimeNs train_end, TimeNs end,
                            int count);

  const std::vector<FaultSpec>& faults() const { return faults_; }
  // Effects on `service` at time `t`.
  Effects At(int service, TimeNs t) const;
  // Extra one-way network delay (ns, before jitter) on calls caller -> callee at `t`.
  TimeNs NetworkDelay(int caller, int callee, TimeNs t) const;
  // Restarts, sorted by time.
  const std::vector<Restart>& restarts() const { return restarts_; }

 private:
  std::vector<FaultSpec> faults_;
  std::vector<Restart> restarts_;
};

}  // namespace triad

#endif  // TRIAD_SIM_FAULTS_H_
