// DeepLog (Du, Li, Zheng, Srikumar, CCS'17): an LSTM over log keys that
// predicts the next key from the previous `history` keys; a session is
// anomalous iff some observed key is not among the top-g predictions. A
// second, optional stage models the numeric parameter values of each log key
// (Session::values) and flags values whose prediction error is outside a
// Gaussian bound learned on normal data. Torch-free header.
//
// Vocabulary: the keys seen in Fit() get dense ids 1..V; a key never seen in
// training maps to 0 ("unknown") and is always a violation. Positions before
// the start of a session are padded with 0 in the history, so every key of a
// session (the first one included) is checked.
//
// Session end (end_token, not in the paper): a virtual key V + 1 follows the
// last key of every non-empty session. The model learns to predict it and
// scoring checks it like any other key, so a session that stops where normal
// sessions never stop (e.g. a truncated block "E22 E5") is flagged; its
// verdict has position == keys.size() and observed == 0.
//
// Score: max over positions of (rank - 1 + 0.0005 + 0.999 * (1 - p)), where
// rank is the 1-based rank of the observed key among the model's predictions
// and p its probability (unknown keys: rank C + 1, C = V + 1, or V + 2 with
// end_token; the session end counts as a position). Hence
//   anomaly == (score > g)  and  score is monotone in the worst rank, ties
// broken by the observed key's probability. A value-model violation with
// error ratio r (> 1 iff outside its bound) contributes g * r.
#ifndef TRIAD_MODELS_DEEPLOG_H_
#define TRIAD_MODELS_DEEPLOG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "detect/sequence_detector.h"
#include "triad/status.h"

namespace triad {

struct DeepLogConfig {
  // Key model (defaults: the paper's).
  int history = 10;   // h: keys of context
  int top_g = 9;      // g used when choose_g is false
  int layers = 2;     // stacked LSTM layers
  int hidden = 64;    // LSTM hidden units
  int embedding = 16; // key embedding size (the paper uses one-hot; 0 = one-hot)
  // Training.
  int epochs = 60;
  int batch = 128;          // distinct (history, next) samples per step
  double lr = 2e-3;         // Adam
  uint64_t seed = 42;       // torch::manual_seed and the validation split
  int threads = 0;          // ConfigureTorchRuntime(threads); 0 = all cores
  bool dedup = true;        // train on distinct (history, next) samples weighted by count
  // Threshold selection without test labels: a random `validation_fraction`
  // of the normal sessions is held out of training; g is the smallest value
  // that flags at most `max_validation_flag_rate` of them.
  double validation_fraction = 0.1;
  bool choose_g = true;
  double max_validation_flag_rate = 0.01;
  // Parameter-value model: used iff training sessions carry Session::values.
  bool value_model = true;
  int value_window = 3;     // previous value vectors of the same key fed to the MLP
  int value_hidden = 32;
  int value_epochs = 40;
  // Bound = mean + k * stddev of each key's validation errors, k >= value_sigma
  // raised until at most max_validation_flag_rate of validation sessions are flagged.
  double value_sigma = 3.0;
  int value_min_samples = 20;  // keys with fewer training vectors get no value model
  // Scoring: distinct history windows scored per forward pass.
  int score_batch = 4096;
  // Predict and check a virtual "session end" key after the last key (see above).
  bool end_token = true;
};

// What Fit() did (also restored, in part, by LoadDeepLog).
struct DeepLogStats {
  int vocab = 0;                // V: distinct keys seen in training
  int g = 0;                    // the top-g in use
  bool g_chosen = false;        // true iff g was chosen on validation sessions
  double validation_flag_rate = 0;  // fraction of validation sessions flagged at g
  size_t train_sessions = 0, validation_sessions = 0;
  size_t train_samples = 0;     // (history, next) pairs
  size_t distinct_samples = 0;  // after deduplication
  double final_loss = 0;        // mean cross-entropy of the last epoch
  double train_seconds = 0;     // key + value model
  int value_models = 0;         // keys with a parameter-value model
  double value_k = 0;           // bounds are err_mean + value_k * err_std (>= value_sigma)
  uint64_t value_lines_skipped = 0;  // lines whose value vector had the wrong width
};

// Returns a new, untrained DeepLog detector (name() == "deeplog").
std::unique_ptr<SequenceDetector> NewDeepLog(const DeepLogConfig& cfg);

// Loads a model written by Save(). Returns Corruption/Unsupported (and leaves
// *out unchanged) if `path` is not a DeepLog file of a supported version.
// Files of format version 1 (before end_token) load with end_token == false.
Status LoadDeepLog(const std::string& path, std::unique_ptr<SequenceDetector>* out);

// Returns the statistics of `d` if it is a DeepLog detector, else nullptr.
const DeepLogStats* GetDeepLogStats(const SequenceDetector& d);

// Returns the configuration of `d` if it is a DeepLog detector, else nullptr.
const DeepLogConfig* GetDeepLogConfig(const SequenceDetector& d);

}  // namespace triad

#endif  // TRIAD_MODELS_DEEPLOG_H_
