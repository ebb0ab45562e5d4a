// The steps `triad train`, `triad detect` and `triad demo` share: reading
// inputs into windows, writing the baseline's score file, grouping alarms.
#ifndef TRIAD_DETECT_PIPELINE_H_
#define TRIAD_DETECT_PIPELINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "align/window_aggregator.h"
#include "detect/baseline.h"
#include "ingest/read_stats.h"
#include "ingest/reader.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// Returns true and sets *out iff `text` is a positive duration: a number with
// an optional unit ns, us, ms, s (default), m, h; e.g. "30s", "1.5m", "500ms".
bool ParseDuration(std::string_view text, TimeNs* out);

// Reads every input (any format ReadTelemetry knows) into `agg`; files are
// read in parallel (up to `threads`), records reach `agg` one at a time.
// Per-file counts are logged and merged into *total (may be null). Returns
// the first fatal error (a file that cannot be read at all).
Status AggregateInputs(const std::vector<std::string>& paths, const ReadOptions& opts,
                       WindowAggregator* agg, ReadStats* total, int threads = 2);

// Reads every input into windows of `window` (AggregateInputs), then leaves
// out the partial windows at the very start and end of the data, which would
// otherwise look like traffic drops; logs what was left out or skipped.
Status ReadWindows(const std::vector<std::string>& paths, const ReadOptions& opts, TimeNs window,
                   std::vector<WindowFeatures>* out, ReadStats* total);

// The baseline's extra columns of the output contract.
const std::vector<std::string>& BaselineEvidenceColumns();  // threshold,top_features,evidence

// Writes `scores` in the output contract (detect/output.h) with the
// baseline's evidence columns.
Status WriteBaselineScores(const std::string& path, const std::vector<WindowScore>& scores,
                           double threshold);

// A run of consecutive anomalous windows of one service.
struct Incident {
  std::string service;
  TimeNs start = 0, end = 0;
  size_t windows = 0;
  double max_score = 0;
  std::string evidence;  // of the highest-scoring window
};

// Groups the anomalous windows of `scores` into incidents (windows of the
// same service that touch or overlap merge). Sorted by max_score, highest
// first.
std::vector<Incident> GroupIncidents(const std::vector<WindowScore>& scores);

}  // namespace triad

#endif  // TRIAD_DETECT_PIPELINE_H_
