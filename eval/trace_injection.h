// Anomaly injection into trace event sequences, for the accuracy experiments
// of Nedelkoski et al. (IEEE CLOUD 2019, section IV.A; Figs. 5-9).
//
// The paper's protocols:
//  * SAD (structure): "select a label which is not in the top-k predictions,
//    and inject it at the position of the normal observed label" -- kReplace
//    with InjectionOptions::accept_label rejecting the model's top-k for that
//    position (computed on the clean trace). Without a filter any known label
//    other than the original is drawn.
//  * RTAD (response time): "increasing the response time of the event by a
//    random value r in (2*rt_i, 5*rt_i)" -- kResponseTime: rt' = rt + r,
//    r ~ U(rt_lo * rt, rt_hi * rt) (so rt' in [3 rt, 6 rt) at the defaults).
//    With rt_additive = false, rt' = r instead. A zero rt is raised to 1 us
//    first so the anomaly is not a no-op.
// Extra structural kinds (not in the paper's section IV, common in later
// trace work): kSwap (two events with different labels trade places), kInsert
// (a random label inserted), kDelete (one event removed).
//
// Positions: a model in the paper's formulation predicts event i from events
// 0..i-1, so event 0 is never predicted; positions are drawn from
// [first_position, n) with first_position = 1 by default.
#ifndef TRIAD_EVAL_TRACE_INJECTION_H_
#define TRIAD_EVAL_TRACE_INJECTION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "align/trace_sequences.h"

namespace triad {

class Rng;

enum class InjectionKind : uint8_t { kReplace = 0, kSwap, kInsert, kDelete, kResponseTime };

const char* InjectionKindName(InjectionKind k);  // "replace","swap","insert","delete","rt"
// Returns false if `name` is none of InjectionKindName's names.
bool ParseInjectionKind(const std::string& name, InjectionKind* out);

// Ground truth of one injected anomaly.
struct InjectedAnomaly {
  size_t trace = 0;        // index into the injected (= input) sequence vector
  InjectionKind kind = InjectionKind::kReplace;
  // Index, in the corrupted sequence, of the first event that differs from
  // the clean one: the replaced/inserted/RT-scaled event, the earlier of two
  // swapped events, the event that now follows a deleted one (== new length
  // when the last event was deleted: the early '!0' is the anomaly).
  uint32_t position = 0;
  uint32_t other_position = 0;  // kSwap: the later swapped event; else == position
  uint32_t original_label = 0;  // label at `position` before (kInsert: the label pushed right, or 0)
  uint32_t injected_label = 0;  // label at `position` after (kDelete: the new label there, or 0)
  TimeNs original_rt = 0;       // kResponseTime
  TimeNs injected_rt = 0;
  uint32_t clean_length = 0;    // length before injection
};

struct InjectionOptions {
  uint64_t seed = 1;
  // Kinds drawn uniformly per trace.
  std::vector<InjectionKind> kinds = {InjectionKind::kReplace};
  // Random labels are drawn from [2, vocab_size) (known labels only).
  // REQUIRES: vocab_size >= 3 for kReplace/kInsert.
  uint32_t vocab_size = 0;
  uint32_t first_position = 1;
  double rt_lo = 2.0, rt_hi = 5.0;
  bool rt_additive = true;
  // Optional: returns true iff `label` may be injected at `position` of clean
  // trace `trace` (e.g. "not in the model's top-k there"). Up to
  // max_label_tries draws; when none is accepted the trace is skipped (counted).
  std::function<bool(size_t trace, uint32_t position, uint32_t label)> accept_label;
  int max_label_tries = 200;
};

struct InjectionStats {
  uint64_t injected = 0;
  uint64_t skipped = 0;  // too short for the kind, no acceptable label, or nothing to swap
  std::map<InjectionKind, uint64_t> by_kind;
};

// Low-level injectors. Each returns true iff `seq` was changed, filling `out`
// (its `trace` field is left as is). REQUIRES: position in range as stated.
// Replace: position < size, label != seq->labels[position].
bool InjectReplace(EventSequence* seq, uint32_t position, uint32_t label, InjectedAnomaly* out);
// Swap: i < j < size; false (unchanged) if the labels are equal.
bool InjectSwap(EventSequence* seq, uint32_t i, uint32_t j, InjectedAnomaly* out);
// Insert `label` before `position` (position <= size) with response time `rt`.
bool InjectInsert(EventSequence* seq, uint32_t position, uint32_t label, TimeNs rt,
                  InjectedAnomaly* out);
// Delete: position < size and size >= 2.
bool InjectDelete(EventSequence* seq, uint32_t position, InjectedAnomaly* out);
// Response time: durations[position] = new_rt. position < size.
bool InjectResponseTime(EventSequence* seq, uint32_t position, TimeNs new_rt,
                        InjectedAnomaly* out);

// The protocol: returns a copy of `clean` where each trace received one
// anomaly (kind uniform over opts.kinds, position uniform in the allowed
// range), and fills `truth` with one entry per injected trace, in order.
// Traces that could not be injected are returned unchanged and counted in
// stats->skipped (no truth entry). Same inputs and seed => same output.
std::vector<EventSequence> InjectAnomalies(const std::vector<EventSequence>& clean,
                                           const InjectionOptions& opts,
                                           std::vector<InjectedAnomaly>* truth,
                                           InjectionStats* stats);

// One anomaly of `kind` into `seq` at a random position (or `position` when
// >= 0). Returns false (seq unchanged) when not possible.
bool InjectOne(EventSequence* seq, size_t trace_index, InjectionKind kind, int64_t position,
               const InjectionOptions& opts, Rng& rng, InjectedAnomaly* out);

// Accuracy = detected / injected, per (kind, k) overall, by clean trace
// length (Figs. 6, 8) and by position (Figs. 7, 9).
class InjectionAccuracy {
 public:
  struct Cell {
    uint64_t injected = 0, detected = 0;
    double accuracy() const { return injected ? static_cast<double>(detected) / injected : 0.0; }
  };
  void Add(const InjectedAnomaly& a, int k, bool detected);

  Cell Overall(InjectionKind kind, int k) const;
  std::map<uint32_t, Cell> ByLength(InjectionKind kind, int k) const;
  std::map<uint32_t, Cell> ByPosition(InjectionKind kind, int k) const;

  // "kind,k,group,key,injected,detected,accuracy\n" rows; group is
  // "all" (key 0), "length" or "position".
  std::string ToCsv() const;

 private:
  using Key = std::pair<InjectionKind, int>;
  std::map<Key, Cell> all_;
  std::map<Key, std::map<uint32_t, Cell>> len_, pos_;
};

}  // namespace triad

#endif  // TRIAD_EVAL_TRACE_INJECTION_H_
