#include "align/counter_rate.h"

#include <algorithm>
#include <cmath>

namespace triad {

double CounterDelta(double prev, double cur) { return cur >= prev ? cur - prev : cur; }

std::vector<CounterIncrease> CounterIncreases(std::vector<CounterPoint> points) {
  std::stable_sort(points.begin(), points.end(),
                   [](const CounterPoint& a, const CounterPoint& b) { return a.time < b.time; });
  std::vector<CounterIncrease> out;
  CounterRate rate;
  for (const CounterPoint& p : points) {
    CounterIncrease inc;
    if (rate.Add(p.time, p.value, &inc)) out.push_back(inc);
  }
  return out;
}

bool CounterRate::Add(TimeNs time, double value, CounterIncrease* inc) {
  if (!std::isfinite(value)) return false;
  if (!has_prev_) {
    has_prev_ = true;
    prev_time_ = time;
    prev_value_ = value;
    return false;
  }
  if (time <= prev_time_) return false;
  inc->time = time;
  inc->dt = time - prev_time_;
  inc->delta = CounterDelta(prev_value_, value);
  prev_time_ = time;
  prev_value_ = value;
  return true;
}

}  // namespace triad
