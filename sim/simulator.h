// Simulator: the built-in demo data. Generates a realistic microservice system
// (sim/topology.h), drives it with Poisson traffic following a daily pattern,
// injects faults (sim/faults.h) after a fault-free training prefix, and emits
// the resulting spans, logs and metrics, in time order, one 10 s step at a time
// (bounded memory whatever the simulated length).
//
// Volume at the defaults (10 services, 20 rps, trace_sample 1): per simulated
// minute roughly 1.3k requests, 10-15k spans, 3-5k log records and ~900 metric
// points, about 7 MB/min of OTLP/JSON (0.9 MB/min with --gzip); a 30 minute run
// takes a few seconds. Spans and request logs scale with rps * trace_sample,
// metrics with the number of instances (1-3 per service) and time.
#ifndef TRIAD_SIM_SIMULATOR_H_
#define TRIAD_SIM_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct SimConfig {
  uint64_t seed = 1;
  int services = 10;          // >= 4: gateway, mid-tier services, databases/caches
  double minutes = 30;        // total simulated time
  double train_minutes = 15;  // fault-free prefix (training data); faults only after it
  int faults = 4;             // injected in the test part, non-overlapping, with gaps between them
  double rps = 20;            // mean gateway requests per second
  TimeNs start = 1700000000LL * kNsPerSec;  // fixed default start, deterministic output
  double trace_sample = 1.0;  // fraction of requests that emit traces+logs
};

// Returns OK iff `cfg` is usable (services >= 4, minutes > 0, 0 <= train <= minutes, ...).
Status ValidateSimConfig(const SimConfig& cfg);

struct FaultTruth {
  std::string id, type;
  std::vector<std::string> services;  // root cause; [caller, callee] for network_delay
  TimeNs start = 0, end = 0;
  std::string description;
};

struct GroundTruth {
  uint64_t seed = 0;
  TimeNs start = 0, end = 0, train_end = 0;
  std::vector<std::string> services;                       // all services
  std::vector<std::pair<std::string, std::string>> edges;  // caller -> callee
  std::vector<FaultTruth> faults;
};

// Writes `truth` as ground_truth.json:
// {"seed":1,"start_ns":..,"end_ns":..,"train_end_ns":..,"services":[..],
//  "edges":[["gateway","cart"],..],"faults":[{"id":"f1","type":"latency",
//  "services":["cart"],"start_ns":..,"end_ns":..,"description":".."}]}
Status WriteGroundTruth(const GroundTruth& truth, const std::string& path);
// Reads a file written by WriteGroundTruth. Returns Corruption on a malformed file.
Status LoadGroundTruth(const std::string& path, GroundTruth* out);
// Parses the JSON text of a ground truth file.
Status ParseGroundTruth(const std::string& json, GroundTruth* out);

// Counts of what a run emitted.
struct SimStats {
  uint64_t requests = 0;  // gateway requests simulated (sampled or not)
  uint64_t spans = 0, logs = 0, metrics = 0;
};

class Simulator {
 public:
  // REQUIRES: ValidateSimConfig(cfg).ok()
  explicit Simulator(SimConfig cfg);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  const SimConfig& config() const { return cfg_; }
  const GroundTruth& truth() const { return truth_; }

  // Called after each 10 s step with the end of the step (sim time). Writers use
  // it to flush a batch; the CLI to report progress.
  void set_step_callback(std::function<void(TimeNs step_end)> cb) { step_cb_ = std::move(cb); }

  // Simulates the whole run, emitting to `sink` in time order of the steps.
  // Same config => same records in the same order. Can be called once.
  Status Run(TelemetrySink& sink);
  const SimStats& stats() const { return stats_; }

 private:
  struct Impl;
  SimConfig cfg_;
  GroundTruth truth_;
  SimStats stats_;
  std::function<void(TimeNs)> step_cb_;
  std::unique_ptr<Impl> impl_;
};

struct SimulateResult {
  SimStats stats;
  std::vector<std::string> files;  // written paths
};

// Runs the simulator and writes DIR/{traces,logs,metrics}.jsonl[.gz] + DIR/ground_truth.json
// (DIR is created if missing). Each line is one OTLP/JSON Export*ServiceRequest holding a
// few seconds of simulated time. `truth` (optional) receives the ground truth;
// `progress` (optional) is called after each step.
Status SimulateToDir(const SimConfig& cfg, const std::string& dir, bool gzip, GroundTruth* truth,
                     SimulateResult* result = nullptr,
                     std::function<void(TimeNs step_end)> progress = nullptr);

}  // namespace triad

#endif  // TRIAD_SIM_SIMULATOR_H_
