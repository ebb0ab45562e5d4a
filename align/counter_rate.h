// Counter -> rate conversion with reset handling. A cumulative counter only
// grows, except when the process that owns it restarts: then it starts again
// from zero. A value lower than the previous one therefore means a reset, and
// the increase since the previous sample is the new value itself.
#ifndef TRIAD_ALIGN_COUNTER_RATE_H_
#define TRIAD_ALIGN_COUNTER_RATE_H_

#include <vector>

#include "triad/telemetry.h"

namespace triad {

// Returns the increase of a cumulative counter from `prev` to `cur`:
// cur - prev if cur >= prev, else cur (the counter was reset).
double CounterDelta(double prev, double cur);

// One cumulative sample of one series.
struct CounterPoint {
  TimeNs time = 0;
  double value = 0;
};

// One increase between two consecutive samples of a series, attributed to
// the later sample's time.
struct CounterIncrease {
  TimeNs time = 0;   // time of the later sample
  TimeNs dt = 0;     // > 0: time since the previous sample
  double delta = 0;  // >= 0 unless the counter itself went negative
};

// Sorts `points` by time (stable: arrival order breaks ties) and returns the
// increases between consecutive samples. Samples with the same time as their
// predecessor are dropped (duplicates), as are non-finite values. A series of
// n usable samples gives n-1 increases.
std::vector<CounterIncrease> CounterIncreases(std::vector<CounterPoint> points);

// Streaming variant for in-order data: feeds one sample; returns true and
// sets *inc iff there was an earlier sample and `time` is after it. A sample
// older than or as old as the last one is ignored (returns false).
class CounterRate {
 public:
  bool Add(TimeNs time, double value, CounterIncrease* inc);
  void Reset() { has_prev_ = false; }

 private:
  bool has_prev_ = false;
  TimeNs prev_time_ = 0;
  double prev_value_ = 0;
};

}  // namespace triad

#endif  // TRIAD_ALIGN_COUNTER_RATE_H_
