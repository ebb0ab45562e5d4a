// Fault lists: the labelled incidents of a dataset in one form, whatever the
// source: Nezha's fault_list.json, the simulator's ground_truth.json, or a
// per-point 0/1 label file (SMD test_label) turned into intervals.
//
// Nezha fault_list.json (IntelligentDDS/Nezha) is an object keyed by hour
// ("08", "09", ...), each holding a list of
//   {"inject_time": "2023-01-29 08:43:04", "inject_timestamp": "1674953044",
//    "inject_pod": "ts-contacts-service-866bd68c97-xcqfx",
//    "inject_type": "return"}
// inject_time is UTC like the data; inject_timestamp is shifted upstream
// (and has duplicates), so it is ignored. The file gives no end time: the
// dataset ships the minute of the injection and the two after it, so a fault
// is taken to last NezhaFaultOptions::duration (default 180 s) from
// inject_time. service = the pod name without its hash suffixes
// (ServiceFromPodName); instance = the pod.
#ifndef TRIAD_INGEST_NEZHA_FAULTS_H_
#define TRIAD_INGEST_NEZHA_FAULTS_H_

#include <string>
#include <vector>

#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct FaultEvent {
  std::string id;        // "f1", the Nezha hour key and index ("08#0"), ...
  TimeNs start = 0;      // inclusive
  TimeNs end = 0;        // exclusive; end > start
  std::string service;   // root-cause service; "" when unknown (SMD)
  std::string instance;  // root-cause pod/instance when known
  std::string kind;      // "return", "exception", "cpu_contention", "latency", ...
  std::vector<std::string> services;  // every service named (service first)
};

struct NezhaFaultOptions {
  TimeNs duration = 180 * kNsPerSec;  // REQUIRES: > 0
};

// Parses the text of a Nezha fault_list.json into *out (sorted by start).
// Entries without a parseable inject_time or without inject_pod are counted
// skips in `stats` (may be null). Returns Corruption if the text is not a JSON
// object of lists.
Status ParseNezhaFaultList(const std::string& json, const NezhaFaultOptions& opts,
                           std::vector<FaultEvent>* out, ReadStats* stats);

// Reads a fault file (plain or gzip): a simulator ground_truth.json (an object
// with a "faults" list; start_ns/end_ns; services[0] is the root cause) or a
// Nezha fault_list.json. *out is sorted by start. Returns IOError if the file
// cannot be read, Corruption if it is neither.
Status LoadFaultEvents(const std::string& path, const NezhaFaultOptions& opts,
                       std::vector<FaultEvent>* out, ReadStats* stats);

// Turns per-point 0/1 labels (point i at t0 + i * step, any non-zero = 1)
// into one FaultEvent [t0 + i*step, t0 + (j+1)*step) per maximal run i..j of
// ones, kind `kind`, ids "r1", "r2", ...  REQUIRES: step > 0.
std::vector<FaultEvent> FaultsFromPointLabels(const std::vector<int>& labels, TimeNs t0,
                                              TimeNs step, const std::string& kind);

// Reads a file of one 0/1 label per line (SMD test_label, plain or gzip).
// Lines that are not a number are counted skips (they get label 0 so that
// positions stay aligned). Returns IOError if unreadable.
Status ReadPointLabels(const std::string& path, std::vector<int>* out, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_NEZHA_FAULTS_H_
