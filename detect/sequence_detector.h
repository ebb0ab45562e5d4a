// Common interface of the log-sequence detectors (issue 4): DeepLog
// (models/deeplog.h), count-vector PCA and n-gram STIDE (detect/). All learn
// from normal sessions only and pick their threshold without test labels.
#ifndef TRIAD_DETECT_SEQUENCE_DETECTOR_H_
#define TRIAD_DETECT_SEQUENCE_DETECTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "align/sessions.h"
#include "triad/status.h"

namespace triad {

// Verdict on one session. `score` is monotone in "how anomalous" (higher is
// worse) and comparable across sessions of one model (for PR-AUC);
// anomaly == (score > threshold of the model).
struct SequenceVerdict {
  double score = 0;
  bool anomaly = false;
  // Explanation: the position in Session::keys that broke the expected
  // workflow most (-1 if none / not applicable), the key observed there and
  // the keys the model expected instead (most likely first).
  int position = -1;
  uint32_t observed = 0;
  std::vector<uint32_t> expected;
  std::string reason;  // one line for people, e.g. "E7 not in top-9 after [E5 E5 E22]"
};

class SequenceDetector {
 public:
  virtual ~SequenceDetector() = default;
  virtual std::string name() const = 0;  // "deeplog", "pca", "stide"
  // Learns from `normal` (sessions assumed normal; labels ignored) and sets
  // the threshold from them (e.g. a held-out part); never sees test labels.
  virtual Status Fit(const std::vector<Session>& normal) = 0;
  // REQUIRES: Fit() or Load() succeeded.
  virtual SequenceVerdict Score(const Session& s) const = 0;
  // Scores many sessions; the default calls Score() for each.
  virtual void ScoreAll(const std::vector<Session>& in, std::vector<SequenceVerdict>* out) const {
    out->clear();
    out->reserve(in.size());
    for (const Session& s : in) out->push_back(Score(s));
  }
  // One file with config, vocabulary, parameters and threshold; Load refuses
  // a file of another model or version with a clear Status.
  virtual Status Save(const std::string& path) const = 0;
};

}  // namespace triad

#endif  // TRIAD_DETECT_SEQUENCE_DETECTOR_H_
