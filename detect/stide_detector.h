// STIDE (Forrest et al., "A Sense of Self for Unix Processes", S&P'96;
// Warrender et al. S&P'99): the database of n-grams (sliding windows of n
// keys) of normal sessions; a session's windows that are not in it are
// mismatches. Sessions are padded with a begin and an end marker (config
// `pad`), so that short sessions and missing tails also form windows.
//
// Score: the fraction of the session's windows that are mismatches ("rate")
// or their number ("count"). Threshold, without test labels: the model is
// fitted on the first 1 - validation_fraction of the normal sessions (in the
// order given; the split is deterministic), the held-out rest is scored, and
// threshold = the `quantile` of their scores times `margin`; then the
// database is rebuilt from all normal sessions (which can only lower normal
// scores). anomaly iff score > threshold, so with a 0 threshold any mismatch
// is an anomaly (Forrest's original rule).
#ifndef TRIAD_DETECT_STIDE_DETECTOR_H_
#define TRIAD_DETECT_STIDE_DETECTOR_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detect/sequence_detector.h"

namespace triad {

struct StideConfig {
  int n = 4;                       // window length (2..64; 4 measured best on HDFS)
  bool pad = true;                 // begin/end markers
  std::string score = "rate";      // "rate" or "count"
  double validation_fraction = 0.2;
  double quantile = 0.999;         // of the held-out normal scores
  double margin = 1.0;
};

class StideDetector : public SequenceDetector {
 public:
  static constexpr int kVersion = 1;
  // Internal marker keys (never template ids: those are <= 2^31).
  static constexpr uint32_t kBegin = 0xFFFFFFFEu, kEnd = 0xFFFFFFFFu;

  explicit StideDetector(StideConfig cfg = {});

  std::string name() const override { return "stide"; }
  // Returns InvalidArgument if `normal` is empty or the config is out of range.
  Status Fit(const std::vector<Session>& normal) override;
  // position: index in s.keys of the last key of the first mismatching window
  // (-1 if none; the end marker counts as position keys.size()); observed: that
  // key (0 for the end marker); expected: the keys that followed the window's
  // n-1 prefix in training, most frequent first (the end marker as 0).
  SequenceVerdict Score(const Session& s) const override;
  Status Save(const std::string& path) const override;
  static Status Load(const std::string& path, std::unique_ptr<StideDetector>* out);

  double threshold() const { return threshold_; }
  size_t ngrams() const;  // distinct n-grams in the database
  const StideConfig& config() const { return cfg_; }
  void set_vocabulary(std::map<uint32_t, std::string> v) { vocab_ = std::move(v); }
  const std::map<uint32_t, std::string>& vocabulary() const { return vocab_; }

 private:
  using Prefix = std::vector<uint32_t>;  // n-1 keys
  void Build(const std::vector<Session>& normal, size_t begin, size_t end);
  void Padded(const Session& s, std::vector<uint32_t>* out) const;

  StideConfig cfg_;
  bool fitted_ = false;
  std::map<Prefix, std::map<uint32_t, uint64_t>> db_;  // prefix -> next key -> count
  double threshold_ = 0;
  size_t train_sessions_ = 0;
  std::map<uint32_t, std::string> vocab_;
};

Status LoadStideDetector(const std::string& path, std::unique_ptr<SequenceDetector>* out);

}  // namespace triad

#endif  // TRIAD_DETECT_STIDE_DETECTOR_H_
