// Trace models of Nedelkoski, Cardoso, Kao, "Anomaly Detection from System
// Tracing Data using Multimodal Deep Learning" (IEEE CLOUD 2019), sections
// III.B-D and IV. Torch-free header; the networks live in trace_lstm.cc.
//
// Kinds (all many-to-many: the output at step i predicts event i+1 from
// events 0..i; batches are formed by trace length, so no padding is needed):
//   kSad         labels only:  one-hot [N_l] -> LSTM(h) -> LSTM(h) -> softmax [N_l]
//   kRtad        RTs only:     rt [1] -> LSTM(h) -> LSTM(h) -> linear [1]
//   kMultimodal  one-hot -> LSTM(h) ; rt -> LSTM(h) ; concat [2h] -> LSTM(h2)
//                -> softmax [N_l] and linear [1]; loss = cross-entropy + MSE
//   kDenseSad, kDenseRtad, kDenseMultimodal: the paper's baselines, applied
//                per time step (no temporal context): input -> dense(50) ->
//                dense(20) -> output; multimodal: dense(50) per modality,
//                concat, dense(20) per output, output per modality.
// The paper states the dense sizes (50/20), the stacking (two LSTM layers,
// modalities joined at the second) and the training set-up (Adam, lr 1e-3,
// batch 512, 400 epochs), but not the LSTM width h: it is a config field.
//
// Detection (per trace):
//  * structural: at every position j >= 1 (and the trace end, j == n, whose
//    expected label is '!0') the observed label must be among the top-k
//    predicted after events 0..j-1. Position 0 is checked against the set of
//    labels that started a training trace (config.check_first).
//  * response time: error_j = (rt_j - rt^p_j)^2 on min-max scaled RTs; per
//    label a Gaussian (mean, std) of the errors on validation traces; the
//    event is anomalous iff error_j > mean + z * std (z = 1.96: 95 %).
//    Labels with fewer than min_gaussian_samples validation errors use the
//    pooled Gaussian of all labels.
//  * anomaly type: structural, response time, or both.
#ifndef TRIAD_MODELS_TRACE_LSTM_H_
#define TRIAD_MODELS_TRACE_LSTM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "align/trace_sequences.h"
#include "triad/status.h"

namespace triad {

enum class TraceModelKind : uint8_t {
  kSad = 0, kRtad, kMultimodal, kDenseSad, kDenseRtad, kDenseMultimodal
};
// "sad","rtad","multimodal","dense-sad","dense-rtad","dense-multimodal"
const char* TraceModelKindName(TraceModelKind k);
// Returns false if `name` is none of TraceModelKindName's names.
bool ParseTraceModelKind(const std::string& name, TraceModelKind* out);

struct TraceModelConfig {
  TraceModelKind kind = TraceModelKind::kMultimodal;
  int hidden = 64;          // h: first LSTM layer (per modality)
  int joint_hidden = 64;    // h2: second LSTM layer (the joint one for kMultimodal)
  int dense1 = 50, dense2 = 20;  // dense baselines (paper)
  // Data preparation (Fit from LabeledTraces).
  LabelOptions label_options;
  size_t top_m = 0;          // dictionary: top-M labels (0 = all) ...
  uint64_t min_count = 1;    // ... seen at least this often
  LengthFilter length_filter;  // training traces (paper: 4-20, 1000 per length)
  float rt_clamp_hi = 5.0f;  // RtScaler clamp (paper: 1; > 1 keeps slow-downs visible)
  // Training (paper: Adam, lr 1e-3, batch 512, 400 epochs).
  int epochs = 40;
  int batch = 512;
  double lr = 1e-3;
  uint64_t seed = 42;
  int threads = 0;           // ConfigureTorchRuntime(threads); training's OpenMP team (0 = all)
  // Validation: Fit's `validation` if non-empty, else this fraction of train.
  double validation_fraction = 0.2;
  // Detection.
  int top_k = 3;
  double rt_z = 1.96;        // 95 % bound
  int min_gaussian_samples = 10;
  bool check_first = true;
  int score_batch = 1024;    // traces per forward pass in ScoreBatch
  // ScoreBatch workers, each with a one-thread OpenMP team (0 = the torch
  // thread count). Results do not depend on it.
  int score_threads = 0;
  // Inference (Score, ScoreBatch, Predict, NextLabelDistribution, the RT
  // Gaussians) runs a hand-written C++ forward pass over a copy of the trained
  // weights; true: libtorch's modules instead (the reference; measured 2-4x
  // slower in batches, ~10x for one trace). Outputs agree to ~1e-6.
  bool torch_inference = false;
};

// A trace as the model sees it after the dictionary: labels (>= 1) and raw
// response times. Same as EventSequence.
using TraceInput = EventSequence;

struct TraceEventFinding {
  uint32_t position = 0;        // event index; == trace length for the trace end
  bool structural = false;
  bool response_time = false;
  uint32_t observed_label = 0;  // dictionary index (0 = '!0' at the trace end)
  int rank = 0;                 // 1-based rank of the observed label (structural models)
  float probability = 0;        // predicted probability of the observed label
  std::vector<std::pair<uint32_t, float>> expected;  // the top-k (label, probability)
  TimeNs observed_rt = 0;
  double expected_rt_lo = 0, expected_rt_hi = 0;  // ns: the 95 % range of rt
  double rt_ratio = 0;          // squared error / bound (> 1 iff outside)
};

enum class TraceAnomalyType : uint8_t { kNone = 0, kStructural, kResponseTime, kBoth };
const char* TraceAnomalyTypeName(TraceAnomalyType t);  // "none","structural","response_time","both"

struct TraceVerdict {
  bool anomaly = false;
  TraceAnomalyType type = TraceAnomalyType::kNone;
  // Continuous scores (higher = more anomalous):
  //  structural_score = max_j (rank_j - 1 + 0.0005 + 0.999 (1 - p_j)), so
  //    structural anomaly  <=>  structural_score > k; a first label never seen
  //    first in training scores N_l + 1.
  //  rt_score = max_j error_j / bound(label_j), so rt anomaly <=> rt_score > 1.
  //  score = max(structural_score / k, rt_score): anomaly <=> score > 1.
  double structural_score = 0, rt_score = 0, score = 0;
  std::vector<TraceEventFinding> findings;  // anomalous events, by position
};

// Model outputs for one trace of length n.
struct TracePrediction {
  size_t labels = 0;             // N_l
  // probs[i * N_l + c]: P(event i+1 == c | events 0..i), i < n (row n-1: the
  // trace end). Empty for kRtad/kDenseRtad.
  std::vector<float> probs;
  std::vector<float> rt;         // [n]: predicted scaled rt of event i+1 (empty for SAD kinds)
};

struct TraceModelStats {
  size_t train_traces = 0, validation_traces = 0;
  SequenceStats train_sequences;  // length filter applied to training
  double final_loss = 0;          // mean loss of the last epoch
  double train_seconds = 0;
  size_t gaussian_labels = 0;     // labels with their own Gaussian
  double validation_flag_rate = 0;  // fraction of validation traces flagged
};

class TraceModel {
 public:
  TraceModel();
  explicit TraceModel(const TraceModelConfig& cfg);
  ~TraceModel();
  TraceModel(TraceModel&&) noexcept;
  TraceModel& operator=(TraceModel&&) noexcept;

  // Builds the dictionary (top_m, min_count) and the per-label RT scaler from
  // `train`, applies the length filter, trains, and fits the RT Gaussians on
  // `validation` (or a held-out part of `train` if empty). Returns
  // InvalidArgument for a bad config or no usable training trace.
  Status Fit(const std::vector<LabeledTrace>& train, const std::vector<LabeledTrace>& validation);
  // The same with a ready dictionary and sequences (indices of `vocab`).
  Status FitSequences(const EventVocabulary& vocab, const std::vector<EventSequence>& train,
                      const std::vector<EventSequence>& validation);

  // Maps a labeled trace through the dictionary (unknown labels -> kUnknown).
  EventSequence ToSequence(const LabeledTrace& t) const;

  // REQUIRES: trained(). Empty sequences give a normal verdict.
  TraceVerdict Score(const EventSequence& s) const;
  TraceVerdict Score(const LabeledTrace& t) const { return Score(ToSequence(t)); }
  // Batched by length; out->size() == in.size(). Same verdicts as Score().
  void ScoreBatch(const std::vector<EventSequence>& in, std::vector<TraceVerdict>* out) const;
  void ScoreBatch(const std::vector<LabeledTrace>& in, std::vector<TraceVerdict>* out) const;

  // Raw model outputs (batched by length). REQUIRES: trained().
  void Predict(const std::vector<EventSequence>& in, std::vector<TracePrediction>* out) const;
  // P(next label | prefix) for label prefixes (no RTs: scaled rt 0 is fed to
  // multimodal models). out[i] has N_l entries. REQUIRES: structural kind.
  void NextLabelDistribution(const std::vector<std::vector<uint32_t>>& prefixes,
                             std::vector<std::vector<float>>* out) const;

  // One file: a JSON header line (format "triad-trace-lstm", version, config,
  // dictionary, scaler, Gaussians, first labels, stats) and the torch weights.
  Status Save(const std::string& path) const;
  // Returns Unsupported for a file that is not a trace model of this version,
  // Corruption for a damaged one; *this is unchanged on error.
  Status Load(const std::string& path);

  bool trained() const;
  bool structural() const;     // the kind predicts labels
  bool response_time() const;  // the kind predicts response times
  const TraceModelConfig& config() const;
  TraceModelConfig* mutable_config();  // detection settings (top_k, rt_z) may change after Fit
  const TraceModelStats& stats() const;
  const EventVocabulary& vocabulary() const;
  const RtScaler& scaler() const;
  // The Gaussian of squared errors for `label` (pooled if it has none).
  std::pair<double, double> ErrorGaussian(uint32_t label) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------
// Dependent and concurrent events (paper III.D), from a structural model.

struct PathOptions {
  double candidate_p = 0.1;   // next labels with p >= this are branch candidates
  double dependent_p = 0.95;  // "probability one": a dependent successor
  size_t max_prefixes = 100000;  // distinct prefixes examined
};

struct ConcurrentPair {
  uint32_t a = 0, b = 0;        // a < b
  double pa = 0, pb = 0;        // P(a), P(b) after the prefix (max over prefixes)
  // How they were recognised: "same-next" (the paper: prefix+a and prefix+b
  // predict the same next label) or "interleaved" (prefix+a predicts b and
  // prefix+b predicts a, and both orders then predict the same next label).
  std::string evidence;
  uint32_t next = 0;            // the common next label ('!0' = trace end)
  double p_next = 0;            // min of its two probabilities
  uint64_t prefixes = 0;        // prefixes where this was seen
};

struct DependentPair {
  uint32_t from = 0, to = 0;    // `to` follows `from` with probability p
  double p = 0;                 // max over prefixes
  uint64_t prefixes = 0;
};

struct PathReport {
  std::vector<ConcurrentPair> concurrent;  // sorted by (a, b)
  std::vector<DependentPair> dependent;    // sorted by (from, to)
  size_t prefixes = 0;                     // distinct prefixes examined
};

// Examines every distinct prefix of `traces` (label sequences): with
// candidates C = {c : P(c | prefix) >= candidate_p, c != '!0'}:
//  * every pair a, b in C is tested for concurrency (see ConcurrentPair);
//  * if the last label x of the prefix is followed by one label with
//    p >= dependent_p, (x, that label) is dependent, unless the two are
//    concurrent; if it is followed by a concurrent group whose probabilities
//    sum to >= dependent_p, x -> each member is dependent.
// REQUIRES: model.trained() && model.structural().
PathReport FindExecutionPaths(const TraceModel& model, const std::vector<EventSequence>& traces,
                              const PathOptions& opts = {});

}  // namespace triad

#endif  // TRIAD_MODELS_TRACE_LSTM_H_
