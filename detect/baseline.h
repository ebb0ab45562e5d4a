// BaselineDetector: the simple, honest statistical baseline every learned
// model of Triad is compared against.
//
// Fit (on windows of normal operation, from align/WindowAggregator), per
// service and per feature: the median and the MAD. A window is scored by the
// robust z-score of each feature
//     z = |x - median| / max(1.4826 * MAD, floor)
// (one-sided, upwards, for error/warn counts and error ratios). Latencies
// (features ending in _ms) are compared on a log scale, x -> log(1 + x ms),
// since they are multiplicative and heavy-tailed. The floor keeps
// near-constant features from exploding: sqrt(max(median, 1)) for counts
// (Poisson), the same on the window's event count for per-second rates
// (":rate"), 0.02 for ratios, 0.05 (about 5 %) for log latencies, 2 % of
// |median| (>= 1e-6) for other metrics. z above 10 is compressed
// logarithmically (10 + 5 ln(z / 10), so large deviations still rank) and
// capped at z_cap.
// Further contributions:
//   log:new_templates   log lines whose template key was never seen for this
//                       service in training: new_template_weight * (1 + log2 n);
//                       keys seen in < rare_template_fraction of the service's
//                       training windows count half;
//   trace:new_callees   calls to services this one never called in training:
//                       new_edge_weight * (1 + log2 n);
//   missing:<feature>   a feature present in >= presence_min of the service's
//                       training windows is absent (per-operation features
//                       excepted): missing_feature_weight;
//   telemetry:absent    ScoreRange only: no data at all in a window from a
//                       service that had data in >= presence_min of the
//                       training range's windows: absent_weight;
//   service:new         a service never seen in training: new_edge_weight.
// The window's score is 0.5 * (largest contribution) + 0.5 * (mean of the
// three largest): one strong signal is enough to alarm, several agreeing ones
// rank higher (which also orders root-cause suspects).
//
// Threshold, chosen WITHOUT labels: the training windows are split in time;
// the first (1 - validation_fraction) fit the statistics, the rest are scored
// (ScoreRange, so absent windows count too), and
//     threshold = max(min_threshold, margin * quantile_q(validation scores)).
// The statistics are then refitted on all training windows; the threshold is
// kept (it was measured on windows the statistics had not seen, so it is a
// little conservative). With fewer than 5 windows' worth of validation time,
// the quantile is taken over the in-sample scores of all training windows.
//
// The model saves to one JSON file:
//   {"format":"triad-model","model":"baseline","version":1,"config":{...},"stats":{...}}
#ifndef TRIAD_DETECT_BASELINE_H_
#define TRIAD_DETECT_BASELINE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "align/window_aggregator.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct BaselineConfig {
  TimeNs window = 30 * kNsPerSec;  // must match the windows given to Fit/Score
  double validation_fraction = 0.2;
  double threshold_quantile = 0.99;
  double threshold_margin = 1.2;
  double min_threshold = 4.0;
  double z_cap = 30.0;
  double new_template_weight = 4.0;
  double rare_template_fraction = 0.02;
  double new_edge_weight = 4.0;
  double missing_feature_weight = 3.0;
  double absent_weight = 15.0;
  double presence_min = 0.9;
  int min_windows = 5;  // a feature needs this many training values to be scored
};

struct FeatureStats {
  double median = 0;
  double mad = 0;
  double scale = 1;      // the z-score denominator (MAD-based, with its floor)
  double presence = 0;   // fraction of the service's training windows holding it
  uint64_t n = 0;        // training windows holding it
};

struct ServiceStats {
  uint64_t windows = 0;   // training windows with data of this service
  double presence = 0;    // windows / windows in the training range
  std::map<std::string, FeatureStats> features;
  std::map<std::string, uint64_t> templates;  // log key -> training windows holding it
  std::map<std::string, uint64_t> callees;    // callee -> training windows calling it
};

// One reason a window scored high.
struct Contribution {
  std::string feature;
  double observed = 0;  // NaN when absent
  double expected = 0;  // training median (NaN when not applicable)
  double z = 0;         // its contribution to the score
  std::string detail;   // e.g. a new template's example text
};

struct WindowScore {
  std::string service;
  TimeNs start = 0, end = 0;
  double score = 0;
  bool anomaly = false;
  std::vector<Contribution> top;  // the largest contributions, largest first (<= 5)
  // "op p95 obs vs expected" for the operations slowest relative to training.
  std::vector<std::string> slow_ops;
};

class BaselineDetector {
 public:
  explicit BaselineDetector(BaselineConfig config = {});

  // Fits statistics and the threshold on windows of normal operation.
  // Returns InvalidArgument if `train` is empty or a window's length differs
  // from config().window.
  Status Fit(const std::vector<WindowFeatures>& train);

  // Scores one window. REQUIRES: fitted (or loaded).
  WindowScore Score(const WindowFeatures& w) const;

  // Scores the windows of `windows` with start in [from, to) and adds a
  // "telemetry:absent" score for each window slot of [from, to) in which a
  // regularly present training service has no data. Slots are aligned to
  // the windows' own grid (or to `from` if `windows` is empty). Sorted by
  // (start, service).
  std::vector<WindowScore> ScoreRange(const std::vector<WindowFeatures>& windows, TimeNs from,
                                      TimeNs to) const;

  double threshold() const { return threshold_; }
  const BaselineConfig& config() const { return config_; }
  const std::map<std::string, ServiceStats>& services() const { return services_; }
  bool fitted() const { return fitted_; }

  // The model file (see top of file). ToJson output is deterministic.
  std::string ToJson() const;
  Status FromJson(const std::string& text);
  Status Save(const std::string& path) const;
  // Refuses a file of another model, format or version with a clear message.
  static Status Load(const std::string& path, BaselineDetector* out);

  static constexpr int kVersion = 1;

 private:
  void FitStats(const std::vector<const WindowFeatures*>& ws, TimeNs from, TimeNs to);

  BaselineConfig config_;
  std::map<std::string, ServiceStats> services_;
  double threshold_ = 0;
  std::string threshold_source_;  // how the threshold was chosen
  uint64_t train_windows_ = 0;
  TimeNs train_start_ = 0, train_end_ = 0;
  bool fitted_ = false;
};

// "feat;feat;..." of the top contributions.
std::string TopFeatureNames(const WindowScore& s);
// Human-readable evidence: observed vs expected for the top contributions,
// new templates' example text, slowest operations.
std::string DescribeEvidence(const WindowScore& s);

}  // namespace triad

#endif  // TRIAD_DETECT_BASELINE_H_
