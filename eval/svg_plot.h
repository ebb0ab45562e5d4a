// Low-level helpers for the inline-SVG plots of eval/report.h: escaping,
// "nice" axis ticks (numbers and UTC times), min/max downsampling that keeps
// spikes visible, a colour-blind-safe palette and a sequential colour map.
#ifndef TRIAD_EVAL_SVG_PLOT_H_
#define TRIAD_EVAL_SVG_PLOT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "triad/telemetry.h"

namespace triad::svg {

// Returns `text` with & < > " ' replaced by entities (safe in HTML/SVG text
// and in double- or single-quoted attributes).
std::string Escape(std::string_view text);

// Formats a double with at most `decimals` decimals, without a trailing ".0"
// ("n/a" for NaN, "inf"/"-inf").
std::string Num(double v, int decimals = 2);

struct Pt {
  double x = 0, y = 0;
};

// Splits the points (x[i], y[i]) into maximal runs of finite y (NaN or inf y
// ends a run: a gap in the line). Points with non-finite x are dropped. If x is
// not ascending the points are sorted by x first. Uses min(x.size(), y.size()).
std::vector<std::vector<Pt>> SplitRuns(const std::vector<double>& x, const std::vector<double>& y);

// Downsamples one run (ascending x) for a plot whose x range [x0, x1] is drawn
// over `buckets` pixel columns. Keeps, per bucket, the first, minimum, maximum
// and last point (in x order, deduplicated), so every spike and dip survives
// and the line between buckets is unchanged at pixel resolution. Runs with at
// most 4 * buckets points are returned unchanged. REQUIRES: buckets > 0.
std::vector<Pt> DownsampleMinMax(const std::vector<Pt>& run, double x0, double x1, int buckets);

// Returns about `target` (never more than 2 * target) round tick values
// (steps of 1, 2 or 5 x 10^k) lying inside [lo, hi].
// *step (if non-null) receives the step. Returns {} if lo/hi are not finite.
std::vector<double> NiceTicks(double lo, double hi, int target, double* step = nullptr);

// Widens [*lo, *hi] outward to multiples of a nice step (about `target`
// ticks); a degenerate range becomes [v - 1, v + 1].
void NiceRange(double* lo, double* hi, int target);

// Formats a tick value: SI suffix for large magnitudes (12k, 1.5M, 2G) unless
// the step would need more than two decimals in that unit; decimals chosen
// from `step`.
std::string FormatTick(double v, double step);

struct TimeTick {
  TimeNs t = 0;
  std::string label;
};

// UTC time ticks inside [lo, hi], about `target` of them, at round steps
// (1 s ... 1 week, aligned to the step since the epoch). Labels are HH:MM, with
// seconds when the step is below a minute and MM-DD when the range spans more
// than a day.
std::vector<TimeTick> TimeTicks(TimeNs lo, TimeNs hi, int target);

// "YYYY-MM-DD HH:MM:SS" in UTC (milliseconds appended when non-zero).
std::string FormatUtc(TimeNs t);

// Okabe-Ito colour-blind-safe palette (8 colours, cycling).
const char* PaletteColor(size_t i);

// Sequential colour map for f in [0, 1] (clamped): ColorBrewer YlOrRd, pale
// yellow (low) to dark red (high), monotone in lightness so it reads for all
// colour vision and in greyscale. NaN gives light grey. Returns "#rrggbb".
std::string SequentialColor(double f);

}  // namespace triad::svg

#endif  // TRIAD_EVAL_SVG_PLOT_H_
