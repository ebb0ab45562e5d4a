// One day of the Nezha multimodal dataset (IntelligentDDS/Nezha; Train-Ticket
// and Online Boutique) in memory, in plain structs that every model can share
// (logs, metrics and traces per service and time).
//
// Layout of a day directory (see /work/shared/data/README.md):
//   fault_list.json                     faults (ingest/nezha_faults.h)
//   metric/<pod>_metric.csv[.gz]        per-pod metrics, one row a minute, the whole day
//   metric/<other>.csv                  e.g. front_service.csv (not per pod): ignored, counted
//   {fault,normal}/log/HH_MM_log.csv[.gz]     logs of one minute (ingest/dataset_csv.h)
//   {fault,normal}/trace/HH_MM_trace.csv[.gz] spans of one minute
// Logs and traces exist only for the collected minutes (around each fault plus
// a normal minute): NezhaDay::log_coverage / trace_coverage say when they
// were collected, so "no logs" inside a collected range (quiet) can be told
// from "not collected".
//
// Logs are parsed with Drain (parse/drain.h) while loading; NezhaLog keeps the
// template id and (optionally) the message. Services are interned:
// NezhaDay::services is sorted and every record holds an index into it
// (service = ServiceFromPodName(pod)); likewise pods.
//
// Bad rows are counted in NezhaDay::read_stats (ReadStats::Skip, file and
// line); a file that cannot be read or lacks required columns is a Status
// error (the day is not half-loaded silently).
#ifndef TRIAD_EVAL_NEZHA_DATASET_H_
#define TRIAD_EVAL_NEZHA_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ingest/nezha_faults.h"
#include "ingest/read_stats.h"
#include "parse/drain.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct NezhaLoadOptions {
  bool logs = true;
  bool metrics = true;
  bool traces = false;         // the largest part (TT: ~330k spans); off by default
  bool keep_messages = true;   // NezhaLog::message (the decoded log text)
  // Template miner: when set, logs are added to this parser (so several days
  // share template ids, e.g. a training and a test day); else a fresh parser
  // with `drain` is created. NezhaDay::parser is the one used either way.
  std::shared_ptr<DrainParser> parser;
  DrainConfig drain;
  NezhaFaultOptions faults;
  // Records whose time is outside [day - slack, day + 1 day + slack) (day =
  // the directory's date, when its name is YYYY-MM-DD) are counted skips, so
  // one corrupt time cannot stretch the day's range over years.
  TimeNs slack = 86400 * kNsPerSec;
};

struct NezhaLog {
  TimeNs time = 0;
  uint32_t template_id = 0;  // Drain id (1-based) in NezhaDay::parser
  uint16_t service = 0;      // index into NezhaDay::services
  uint16_t pod = 0;          // index into NezhaDay::pods
  uint8_t severity = 0;      // OpenTelemetry severity number, 0 = unknown
  std::string trace_id, span_id;  // lowercase hex, may be empty
  std::string message;       // decoded log text (empty unless keep_messages)
};

struct NezhaSpan {
  TimeNs start = 0, end = 0;
  uint16_t service = 0, pod = 0;
  uint32_t operation = 0;    // index into NezhaDay::operations
  std::string trace_id, span_id, parent_span_id;  // parent empty for a root
};

// The metrics of one pod: a dense [times, names] table (row-major; NaN where a
// cell was empty or NaN in the file). Rows sorted by time, unique.
struct NezhaPodMetrics {
  uint16_t service = 0, pod = 0;
  std::vector<std::string> names;  // sorted
  std::vector<TimeNs> times;
  std::vector<double> values;      // [times.size(), names.size()]
  double value(size_t row, size_t col) const { return values[row * names.size() + col]; }
};

// Wall-clock seconds per phase of LoadNezhaDay.
struct NezhaLoadTimes {
  double faults = 0, metrics = 0, log_read = 0, log_parse = 0, traces = 0, total = 0;
  std::string Summary() const;
};

struct NezhaDay {
  std::string dir;                       // the day directory as given
  std::vector<std::string> services;     // sorted, unique
  std::vector<std::string> pods;         // sorted, unique
  std::vector<uint16_t> pod_service;     // [pods] service index of each pod
  std::vector<std::string> operations;   // span operation names, sorted, unique
  std::shared_ptr<DrainParser> parser;   // template texts: parser->TemplateText(id)
  std::vector<NezhaLog> logs;            // sorted by (time, file order)
  std::vector<NezhaPodMetrics> metrics;  // sorted by pod
  std::vector<NezhaSpan> spans;          // sorted by start (only with traces)
  std::vector<FaultEvent> faults;        // sorted by start
  // Time ranges [first, last] of the records of each log / trace file,
  // merged where they overlap, sorted: where logs / traces were collected.
  std::vector<std::pair<TimeNs, TimeNs>> log_coverage, trace_coverage;
  std::vector<std::string> ignored_files;  // metric/ files that are not per-pod (*_metric.csv*)
  TimeNs begin = 0, end = 0;             // range of all loaded records, [begin, end]
  ReadStats read_stats;                  // all files of the day
  NezhaLoadTimes times;

  // Index of `name` in services / pods, or -1.
  int ServiceIndex(const std::string& name) const;
  int PodIndex(const std::string& name) const;
  // True iff `t` lies in log_coverage.
  bool LogCollected(TimeNs t) const;
};

// Loads the day in `dir` (e.g. .../nezha/trainticket/2023-01-29). Returns
// NotFound if `dir` has no fault_list.json, IOError/InvalidArgument/Corruption
// from the readers for unreadable or malformed files. Missing optional parts
// (no log or trace folder) give empty vectors.
Status LoadNezhaDay(const std::string& dir, const NezhaLoadOptions& opts, NezhaDay* out);

// Replays the day into `sink` in time order (per modality, so one watermark
// per source never goes backwards): metrics (one MetricSample per non-NaN
// cell, instance = pod, service = the pod's service), then logs (body =
// message, or the template text when messages were not kept), then spans.
// Each modality is sent only when `logs` / `metrics` / `spans` is true.
void ReplayNezhaDay(const NezhaDay& day, TelemetrySink& sink, bool metrics = true, bool logs = true,
                    bool spans = true);

}  // namespace triad

#endif  // TRIAD_EVAL_NEZHA_DATASET_H_
