// Trace event sequences: the data side of the multimodal trace LSTM
// (Nedelkoski, Cardoso, Kao, "Anomaly Detection from System Tracing Data
// using Multimodal Deep Learning", IEEE CLOUD 2019, section III).
//
// Pipeline (all torch-free):
//   spans --TraceAssembler / AssembleTraces--> Trace (events sorted by start)
//         --LabelTrace--> LabeledTrace (event label strings + response times)
//         --EventVocabulary::Fit (training traces)--> dictionary, '!0' = 0
//         --ToEventSequences (length filter)--> EventSequence (indices + RTs)
//         --RtScaler::Fit (training)--> per-label min-max
//         --EncodeTraces--> TraceTensors (flat [traces, time] model inputs and
//                           next-event targets, padded with '!0')
// eval/trace_injection.h corrupts EventSequences for the paper's accuracy
// experiments; ExtractExecutionRelations gives the true concurrent/dependent
// events of a trace (section III.D) to check a model-based detector.
#ifndef TRIAD_ALIGN_TRACE_SEQUENCES_H_
#define TRIAD_ALIGN_TRACE_SEQUENCES_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// ---------------------------------------------------------------------------
// Trace assembly

// One trace: its spans (events) in execution order.
struct Trace {
  std::string trace_id;
  // Sorted by start time; ties: ancestors before descendants (smaller depth
  // first), then span id (byte order), then end time.
  std::vector<Span> spans;
  // parent[i] = index in `spans` of spans[i]'s parent, or -1 for a root or an
  // orphan (parent id set but absent from the trace). When span ids repeat
  // (Zipkin shared client/server spans) a parent id resolves to the first.
  std::vector<int32_t> parent;
  uint32_t orphans = 0;  // spans whose parent_span_id is not in the trace
  bool evicted = false;  // completed early: the assembler hit max_open_traces

  size_t size() const { return spans.size(); }
  TimeNs start() const;  // min span start; 0 if empty
  TimeNs end() const;    // max span end; 0 if empty
};

// Sorts `t->spans` into execution order and fills parent/orphans.
// Parent cycles (bad input) are broken: a span on a cycle gets depth as if
// its parent were absent.
void FinalizeTrace(Trace* t);

struct TraceAssemblyStats {
  uint64_t spans = 0;              // spans offered
  uint64_t no_trace_id = 0;        // dropped: empty trace id
  uint64_t late_spans = 0;         // dropped: trace id already completed (streaming)
  uint64_t over_span_limit = 0;    // dropped: trace already has max_spans_per_trace spans
  uint64_t duplicate_span_ids = 0; // kept; span id seen before in the same trace
                                   // (TraceAssembler: counted when the trace completes)
  uint64_t traces = 0;             // traces emitted/returned
  uint64_t evicted = 0;            // of those, completed early (memory bound)
  uint64_t orphans = 0;            // spans whose parent is absent (summed over traces)
  std::string Summary() const;
};

// Groups spans by trace id; returns the finalized traces ordered by
// (start(), trace_id). Spans without a trace id are counted and dropped.
// `stats` may be null.
std::vector<Trace> AssembleTraces(std::vector<Span> spans, TraceAssemblyStats* stats,
                                  size_t max_spans_per_trace = 100000);

struct TraceAssemblerOptions {
  // A trace is complete when no span of it has been seen for `idle_timeout`
  // of event time: watermark - last_activity > idle_timeout, where the
  // watermark is the largest span end seen so far and a trace's last activity
  // the largest end of its spans.
  TimeNs idle_timeout = 30 * kNsPerSec;
  // At most this many open traces; opening one more completes (evicts) the
  // least recently active one, flagged Trace::evicted.
  size_t max_open_traces = 100000;
  size_t max_spans_per_trace = 100000;
  // Ids of this many recently completed traces are remembered; spans for them
  // are counted as late_spans and dropped (a fragment would look like a
  // structural anomaly).
  size_t remember_completed = 100000;
};

// Streaming assembler. Feed spans in roughly end-time order (as tracers export
// them); completed traces go to `emit`, finalized. Also a TelemetrySink, so it
// can be handed to ReadTelemetry directly. Memory: O(open traces).
class TraceAssembler : public TelemetrySink {
 public:
  using EmitFn = std::function<void(Trace&&)>;
  // REQUIRES: opts.max_open_traces >= 1, emit != nullptr.
  TraceAssembler(const TraceAssemblerOptions& opts, EmitFn emit);
  ~TraceAssembler() override;

  void Add(Span&& span);
  void OnSpan(Span&& span) override { Add(std::move(span)); }
  // Raises the watermark to `event_time` (if larger) and completes idle traces.
  void AdvanceTo(TimeNs event_time);
  // Completes all open traces (end of input), oldest activity first.
  void Flush();

  size_t open_traces() const { return open_.size(); }
  TimeNs watermark() const { return watermark_; }
  const TraceAssemblyStats& stats() const { return stats_; }

 private:
  using ByLast = std::set<std::pair<TimeNs, std::string>>;  // (last activity, id)
  struct Open {
    Trace trace;
    TimeNs last = 0;
    ByLast::iterator pos;  // this trace's entry in by_last_
  };
  void CompleteIdle();
  void Complete(const std::string& id, bool evicted);

  TraceAssemblerOptions opts_;
  EmitFn emit_;
  TimeNs watermark_ = INT64_MIN;
  std::unordered_map<std::string, Open> open_;
  ByLast by_last_;
  std::unordered_set<std::string> done_;
  std::deque<std::string> done_fifo_;
  TraceAssemblyStats stats_;
};

// ---------------------------------------------------------------------------
// Event labels (paper III.A)

enum class LabelHost : uint8_t {
  kHost,     // paper: the host the event ran on: attribute net.host.name,
             // server.address (server spans), host.name, then Span::host, then service
  kService,  // the span's service (stable across replicas)
  kNone,     // no host part
};

struct LabelOptions {
  LabelHost host = LabelHost::kHost;
  bool http_method = true;   // put the HTTP method in HTTP labels (the paper has none)
  bool error_suffix = true;  // append "_err" to non-HTTP labels of error spans
};

// The paper's "HTTP pattern": the URL's path with the scheme, host, port,
// query and fragment dropped and every segment that looks like an identifier
// replaced by "id": a segment with no letters and a digit (numbers, dates,
// "1.5"), a UUID, hex-only with a digit and >= 4 characters ("a16d"),
// letters+digits with >= 3 digits ("G1234", "user123"), or >= 16 characters
// with a digit. "https://1.1.1.11/v2/a16d/servers/detail?x=1" ->
// "/v2/id/servers/detail". Always starts with '/'.
std::string UrlPattern(std::string_view url);

// True iff `s` is an HTTP event: it has a status code, URL or method.
bool IsHttpSpan(const Span& s);

// The event label. HTTP: "<code>_<METHOD>_<pattern>_<host>" where code is the
// HTTP status code, or, when the source has none, "err" for an error span and
// "0" otherwise (e.g. "200_GET_/v2/id/servers/detail_10.0.0.7"); the method
// and host parts are left out per `opts`. Other spans:
// "<service>_<name>[_err]" (e.g. "ts-food-service_MongoDB/FindOperation").
std::string EventLabel(const Span& s, const LabelOptions& opts = {});

// A trace as labels and response times, in the trace's event order.
struct LabeledTrace {
  std::string trace_id;
  TimeNs start = 0;
  std::vector<std::string> labels;
  std::vector<TimeNs> durations;  // span end - start, >= 0
};
LabeledTrace LabelTrace(const Trace& t, const LabelOptions& opts = {});

// ---------------------------------------------------------------------------
// Dictionary of labels

// Index 0 = "!0" (padding and trace end), 1 = "!unk" (label not in the
// dictionary), 2.. = the top-M labels by training frequency (ties by label
// byte order), most frequent first.
class EventVocabulary {
 public:
  static constexpr uint32_t kPad = 0;
  static constexpr uint32_t kUnknown = 1;
  static constexpr const char* kPadLabel = "!0";
  static constexpr const char* kUnknownLabel = "!unk";

  EventVocabulary();  // only the two reserved entries

  // Builds from the labels of `train`: keeps labels seen >= min_count times,
  // then the `top_m` most frequent (top_m 0 = all).
  void Fit(const std::vector<LabeledTrace>& train, size_t top_m, uint64_t min_count = 1);
  // The same from label counts.
  void FitCounts(const std::unordered_map<std::string, uint64_t>& counts, size_t top_m,
                 uint64_t min_count = 1);

  // Returns the index of `label`, or kUnknown.
  uint32_t Index(std::string_view label) const;
  // REQUIRES: i < size()
  const std::string& Label(uint32_t i) const { return labels_[i]; }
  uint64_t Count(uint32_t i) const { return counts_[i]; }  // training count (0 for reserved)
  size_t size() const { return labels_.size(); }           // N_l, reserved entries included

  // JSON: {"format":"triad-event-vocabulary","version":1,
  //        "labels":["!0","!unk",...],"counts":[0,0,...]}
  std::string ToJson() const;
  Status FromJson(std::string_view json);
  Status Save(const std::string& path) const;
  Status Load(const std::string& path);

 private:
  std::vector<std::string> labels_;
  std::vector<uint64_t> counts_;
  std::unordered_map<std::string, uint32_t> index_;
};

// ---------------------------------------------------------------------------
// Sequences

// A trace as dictionary indices (each >= 1; never kPad) and raw response times.
struct EventSequence {
  std::string trace_id;
  std::vector<uint32_t> labels;
  std::vector<TimeNs> durations;  // same size as labels
  size_t size() const { return labels.size(); }
};

struct LengthFilter {
  size_t min_length = 4;    // paper: 4-20
  size_t max_length = 20;
  bool truncate = false;    // longer traces: cut to max_length instead of skipped
  // Keep at most this many traces of each length (paper: 1000), chosen by
  // reservoir sampling with `seed`, in input order; 0 = no cap.
  size_t max_per_length = 0;
  uint64_t seed = 1;
};

struct SequenceStats {
  uint64_t traces = 0;      // offered
  uint64_t kept = 0;
  uint64_t too_short = 0;   // skipped: < min_length events
  uint64_t too_long = 0;    // skipped: > max_length events (truncate false)
  uint64_t truncated = 0;   // kept, cut to max_length
  uint64_t capped = 0;      // skipped by max_per_length
  uint64_t events = 0;      // events in kept sequences
  uint64_t unknown = 0;     // of those, mapped to kUnknown
  std::map<size_t, uint64_t> length_hist;  // original lengths of all offered traces
  std::string Summary() const;
};

// Maps labels to indices and applies the length filter. `stats` may be null.
std::vector<EventSequence> ToEventSequences(const std::vector<LabeledTrace>& traces,
                                            const EventVocabulary& vocab,
                                            const LengthFilter& filter, SequenceStats* stats);

// ---------------------------------------------------------------------------
// Response-time scaling (paper: "grouped by label and min-max scaled between
// zero and one")

// Per label index: x -> (x - min) / max(max - min, min_range), clamped to
// [0, clamp_hi]. min/max are fitted on training sequences. A label without
// training data (kUnknown, or unseen) uses the global min/max of all training
// response times. clamp_hi = 1 keeps the paper's [0, 1]; raise it (e.g. 5) so
// that slow-downs beyond the training maximum stay visible at test time.
class RtScaler {
 public:
  explicit RtScaler(float clamp_hi = 1.0f, TimeNs min_range = kNsPerUs)
      : clamp_hi_(clamp_hi), min_range_(min_range) {}

  void Fit(const std::vector<EventSequence>& train);
  float Scale(uint32_t label, TimeNs rt) const;
  // Inverse of Scale (before clamping), in ns.
  double Unscale(uint32_t label, float scaled) const;
  bool fitted() const { return fitted_; }
  float clamp_hi() const { return clamp_hi_; }

  // JSON: {"format":"triad-rt-scaler","version":1,"clamp_hi":1,"min_range_ns":1000,
  //        "global":[min,max],"labels":{"2":[min,max],...}} (ns)
  std::string ToJson() const;
  Status FromJson(std::string_view json);

 private:
  float clamp_hi_;
  TimeNs min_range_;
  bool fitted_ = false;
  double gmin_ = 0, gmax_ = 0;
  std::unordered_map<uint32_t, std::pair<double, double>> range_;
};

// ---------------------------------------------------------------------------
// Model inputs (paper III.B/C)
//
// For a trace e_0..e_{n-1} (n <= T) with scaled response times rt_0..rt_{n-1}:
//   input_labels[i]  = e_i            for i < n, 0 ('!0') after
//   input_rt[i]      = rt_i           for i < n, 0 after
//   target_labels[i] = e_{i+1}        for i < n-1, 0 ('!0', trace end) at n-1 and after
//   target_rt[i]     = rt_{i+1}       for i < n-1, 0 at n-1 and after
// i.e. the paper's {e_0..e_Tl} -> {e_1..e_Tl, '!0'} and {rt_0..} -> {rt_1.., 0}:
// the output at step i is the prediction of event i+1 from events 0..i. e_0 is
// never a target. Padding positions hold '!0' targets as in the paper (Keras,
// no masking); `mask` marks positions i < n (the real steps, trace end included).
struct TraceTensors {
  size_t num_traces = 0;  // N_t
  size_t time = 0;        // T_l
  std::vector<int64_t> input_labels;   // [num_traces, time]
  std::vector<float> input_rt;         // [num_traces, time]
  std::vector<int64_t> target_labels;  // [num_traces, time]
  std::vector<float> target_rt;        // [num_traces, time]
  std::vector<uint8_t> mask;           // [num_traces, time]
  std::vector<int32_t> lengths;        // [num_traces], after truncation
  uint64_t truncated = 0;              // sequences longer than `time`, cut
};

// Encodes `seqs` with time = max_length. REQUIRES: max_length >= 1,
// scaler.fitted().
TraceTensors EncodeTraces(const std::vector<EventSequence>& seqs, const RtScaler& scaler,
                          size_t max_length);

// ---------------------------------------------------------------------------
// Concurrent / dependent events (paper III.D ground truth)

struct ExecutionRelations {
  // Each set: >= 2 indices (into Trace::spans, ascending) of children of one
  // parent (or of roots/orphans) that overlap in time, closed transitively
  // (connected components of the overlap graph; [start, end) intervals).
  std::vector<std::vector<uint32_t>> concurrent;
  // (a, b): a happens before b and b depends on a: a is b's parent, or a and
  // b are siblings, a.end <= b.start, and no sibling c lies between them
  // (a.end <= c.start and c.end <= b.start): the transitive reduction of the
  // sibling order. Sorted.
  std::vector<std::pair<uint32_t, uint32_t>> dependent;
  // Returns true iff events i and j are in one concurrent set.
  bool Concurrent(uint32_t i, uint32_t j) const;
};

ExecutionRelations ExtractExecutionRelations(const Trace& t);

}  // namespace triad

#endif  // TRIAD_ALIGN_TRACE_SEQUENCES_H_
