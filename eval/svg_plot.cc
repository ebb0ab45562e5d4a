#include "eval/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <ctime>
#include <numeric>
#include <utility>

namespace triad::svg {

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters other than tab/newline are not valid XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Num(double v, int decimals) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{:.{}f}", v, std::max(0, decimals));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::vector<std::vector<Pt>> SplitRuns(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = !(x[i] < x[i - 1]);
  if (!sorted) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  }
  std::vector<std::vector<Pt>> runs;
  bool open = false;
  for (size_t i : order) {
    if (!std::isfinite(x[i])) continue;
    if (!std::isfinite(y[i])) {
      open = false;
      continue;
    }
    if (!open) {
      runs.emplace_back();
      if (runs.size() == 1) runs.back().reserve(n);  // the common case: no gap
      open = true;
    }
    runs.back().push_back({x[i], y[i]});
  }
  return runs;
}

std::vector<Pt> DownsampleMinMax(const std::vector<Pt>& run, double x0, double x1, int buckets) {
  assert(buckets > 0);
  if (buckets <= 0 || run.size() <= 4 * static_cast<size_t>(buckets)) return run;
  const double span = x1 - x0;
  auto bucket_of = [&](double x) {
    if (!(span > 0)) return 0;
    const double f = (x - x0) / span * buckets;
    return static_cast<int>(std::clamp(std::floor(f), 0.0, static_cast<double>(buckets - 1)));
  };
  std::vector<Pt> out;
  out.reserve(4 * static_cast<size_t>(buckets));
  size_t i = 0;
  while (i < run.size()) {
    const int b = bucket_of(run[i].x);
    size_t first = i, lo = i, hi = i, j = i;
    while (j < run.size() && bucket_of(run[j].x) == b) {
      if (run[j].y < run[lo].y) lo = j;
      if (run[j].y > run[hi].y) hi = j;
      ++j;
    }
    std::array<size_t, 4> idx = {first, lo, hi, j - 1};
    std::sort(idx.begin(), idx.end());
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k == 0 || idx[k] != idx[k - 1]) out.push_back(run[idx[k]]);
    }
    i = j;
  }
  return out;
}

namespace {

double NiceStep(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(1, target);
  if (!(raw > 0) || !std::isfinite(raw)) return 0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  return m * mag;
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int target, double* step_out) {
  std::vector<double> out;
  if (step_out != nullptr) *step_out = 0;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return out;
  if (hi < lo) std::swap(lo, hi);
  const double step = NiceStep(lo, hi, target);
  if (step_out != nullptr) *step_out = step;
  if (step == 0) {
    out.push_back(lo);
    return out;
  }
  const double eps = step * 1e-9;
  for (double k = std::ceil((lo - eps) / step); k * step <= hi + eps; k += 1) {
    double v = k * step;
    if (std::fabs(v) < eps) v = 0;
    out.push_back(v);
    if (out.size() > 4u * static_cast<size_t>(std::max(1, target))) break;  // safety net
  }
  return out;
}

void NiceRange(double* lo, double* hi, int target) {
  if (!std::isfinite(*lo) || !std::isfinite(*hi)) {
    *lo = 0;
    *hi = 1;
    return;
  }
  if (*hi < *lo) std::swap(*lo, *hi);
  if (*hi == *lo) {
    const double pad = *lo == 0 ? 1 : std::fabs(*lo) * 0.1;
    *lo -= pad;
    *hi += pad;
  }
  const double step = NiceStep(*lo, *hi, target);
  if (step > 0) {
    *lo = std::floor(*lo / step + 1e-9) * step;
    *hi = std::ceil(*hi / step - 1e-9) * step;
  }
}

std::string FormatTick(double v, double step) {
  if (!std::isfinite(v)) return Num(v);
  // The suffix follows the value's magnitude (500k, 1M, 1.5M on one axis), as
  // long as the step needs at most two decimals in that unit.
  static constexpr std::pair<double, const char*> kUnits[] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  double scale = 1;
  const char* suffix = "";
  const double s = std::fabs(step);
  for (const auto& [unit, name] : kUnits) {
    if (std::fabs(v) >= unit && s >= unit / 100) {
      scale = unit;
      suffix = name;
      break;
    }
  }
  const double ss = s / scale;
  const int decimals = ss > 0 ? std::max(0, static_cast<int>(-std::floor(std::log10(ss) + 1e-9))) : 2;
  std::string out = Num(v / scale, std::min(decimals, 9));
  if (out != "0") out += suffix;
  return out;
}

namespace {

std::tm UtcTm(TimeNs t) {
  // Floor division so that negative times format correctly.
  TimeNs sec = t / kNsPerSec;
  if (t % kNsPerSec < 0) --sec;
  const std::time_t tt = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

TimeNs FloorDiv(TimeNs a, TimeNs b) {
  TimeNs q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

std::string FormatUtc(TimeNs t) {
  const std::tm tm = UtcTm(t);
  std::string s = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  const TimeNs ms = ((t % kNsPerSec) + kNsPerSec) % kNsPerSec / kNsPerMs;
  if (ms != 0) s += fmt::format(".{:03}", ms);
  return s;
}

std::vector<TimeTick> TimeTicks(TimeNs lo, TimeNs hi, int target) {
  std::vector<TimeTick> out;
  if (hi < lo) std::swap(lo, hi);
  target = std::max(1, target);
  static constexpr TimeNs kMs = kNsPerMs, kS = kNsPerSec, kM = 60 * kS, kH = 60 * kM, kD = 24 * kH;
  static constexpr std::array<TimeNs, 30> kSteps = {
      1 * kMs,  2 * kMs,  5 * kMs,  10 * kMs, 20 * kMs, 50 * kMs, 100 * kMs, 200 * kMs,
      500 * kMs, 1 * kS,  2 * kS,   5 * kS,   10 * kS,  15 * kS,  30 * kS,   1 * kM,
      2 * kM,   5 * kM,   10 * kM,  15 * kM,  30 * kM,  1 * kH,   2 * kH,    3 * kH,
      6 * kH,   12 * kH,  1 * kD,   2 * kD,   7 * kD,   14 * kD};
  const TimeNs span = hi - lo;
  TimeNs step = 0;
  for (TimeNs s : kSteps) {
    if (span / s <= target) {
      step = s;
      break;
    }
  }
  if (step == 0) step = (span / target / (7 * kD) + 1) * (7 * kD);
  const bool multi_day = span > kD;
  for (TimeNs k = FloorDiv(lo, step) + (lo % step == 0 ? 0 : 1);; ++k) {
    const TimeNs t = k * step;
    if (t > hi) break;
    if (t < lo) continue;
    const std::tm tm = UtcTm(t);
    std::string label;
    if (multi_day && step >= kD) {
      label = fmt::format("{:02}-{:02}", tm.tm_mon + 1, tm.tm_mday);
    } else if (multi_day) {
      label = fmt::format("{:02}-{:02} {:02}:{:02}", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
    } else if (step < kS) {
      label = fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                          ((t % kS) + kS) % kS / kMs);
    } else if (step < kM) {
      label = fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
    } else {
      label = fmt::format("{:02}:{:02}", tm.tm_hour, tm.tm_min);
    }
    out.push_back({t, std::move(label)});
    if (out.size() > 4u * static_cast<size_t>(target)) break;  // safety net
  }
  return out;
}

const char* PaletteColor(size_t i) {
  // Okabe & Ito (2008), reordered so the first colours are the most distinct on white.
  static constexpr std::array<const char*, 8> kPalette = {
      "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#B8A600"};
  return kPalette[i % kPalette.size()];
}

std::string SequentialColor(double f) {
  if (std::isnan(f)) return "#e6e6e6";
  f = std::clamp(f, 0.0, 1.0);
  // ColorBrewer YlOrRd (9 classes): monotone in lightness, so it reads for every
  // kind of colour vision and in greyscale; low = pale (normal), high = dark red.
  static constexpr std::array<std::array<int, 3>, 9> kStops = {{{255, 255, 204},
                                                                 {255, 237, 160},
                                                                 {254, 217, 118},
                                                                 {254, 178, 76},
                                                                 {253, 141, 60},
                                                                 {252, 78, 42},
                                                                 {227, 26, 28},
                                                                 {189, 0, 38},
                                                                 {128, 0, 38}}};
  const double pos = f * (kStops.size() - 1);
  const size_t i = std::min(static_cast<size_t>(pos), kStops.size() - 2);
  const double w = pos - i;
  int rgb[3];
  for (int c = 0; c < 3; ++c) {
    rgb[c] = static_cast<int>(std::lround(kStops[i][c] * (1 - w) + kStops[i + 1][c] * w));
  }
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

}  // namespace triad::svg
