#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "eval/svg_plot.h"

namespace triad {

namespace {

using svg::Escape;
using svg::Pt;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Wide plots are drawn in a 1000-unit-wide viewBox scaled to the page width.
constexpr double kWidth = 1000;

// Pixel coordinate with one decimal.
std::string P(double v) { return svg::Num(v, 1); }

// Maps data coordinates to the plot area [left, left + w] x [top, top + h].
struct Frame {
  double left = 0, top = 0, w = 0, h = 0;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double X(double x) const { return x1 == x0 ? left : left + (x - x0) / (x1 - x0) * w; }
  double Y(double y) const { return y1 == y0 ? top + h : top + h - (y - y0) / (y1 - y0) * h; }
  double right() const { return left + w; }
  double bottom() const { return top + h; }
};

std::string ClipPath(const std::string& id, const Frame& f) {
  return fmt::format("<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
                     id, P(f.left), P(f.top - 1), P(f.w), P(f.h + 2));
}

// Horizontal grid lines and y tick labels.
std::string YGrid(const Frame& f, int target, bool labels = true) {
  std::string out;
  double step = 0;
  for (double v : svg::NiceTicks(f.y0, f.y1, target, &step)) {
    const double y = f.Y(v);
    out += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", P(f.left),
                       P(f.right()), P(y), P(y));
    if (labels) {
      out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.32em\">{}</text>",
                         P(f.left - 6), P(y), Escape(svg::FormatTick(v, step)));
    }
  }
  return out;
}

// Vertical grid lines and (optionally) UTC time labels; x is ns relative to t0.
std::string TimeGrid(const Frame& f, TimeNs t0, int target, bool labels) {
  std::string out;
  const TimeNs lo = t0 + static_cast<TimeNs>(f.x0), hi = t0 + static_cast<TimeNs>(f.x1);
  for (const svg::TimeTick& tick : svg::TimeTicks(lo, hi, target)) {
    const double x = f.X(static_cast<double>(tick.t - t0));
    out += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", P(x), P(x),
                       P(f.top), P(f.bottom()));
    if (labels) {
      out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"1em\">{}</text>",
                         P(x), P(f.bottom() + 5), Escape(tick.label));
    }
  }
  return out;
}

std::string AxisLines(const Frame& f) {
  return fmt::format(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
      "<line class=\"axis\" x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\"/>",
      P(f.left), P(f.top), P(f.bottom()), P(f.right()));
}

// One <polyline> per run of finite points, downsampled to the frame's pixels.
std::string SeriesLines(const Frame& f, const Series& s, TimeNs t0, const char* color, int* lines) {
  const size_t n = std::min(s.t.size(), s.v.size());
  std::vector<double> x(n), y(s.v.begin(), s.v.begin() + n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(s.t[i] - t0);
  std::string out;
  for (const auto& run : svg::SplitRuns(x, y)) {
    const auto pts = svg::DownsampleMinMax(run, f.x0, f.x1, std::max(1, static_cast<int>(f.w)));
    std::string points;
    points.reserve(pts.size() * 12);
    for (const Pt& p : pts) {
      if (!points.empty()) points += ' ';
      points += P(f.X(p.x));
      points += ',';
      points += P(f.Y(p.y));
    }
    if (pts.size() == 1) {  // a lone point between gaps: draw a dot-like stub
      points += fmt::format(" {},{}", P(f.X(pts[0].x) + 1.5), P(f.Y(pts[0].y)));
    }
    out += fmt::format("<polyline class=\"series\" stroke=\"{}\" points=\"{}\"><title>{}</title></polyline>",
                       color, points, Escape(s.name));
    if (lines != nullptr) ++*lines;
  }
  return out;
}

std::string BandRects(const Frame& f, const std::vector<Band>& bands, TimeNs t0, bool labels) {
  std::string out;
  for (const Band& b : bands) {
    const TimeNs end = std::max(b.start, b.end);
    double xa = std::max(f.left, f.X(static_cast<double>(b.start - t0)));
    double xb = std::min(f.right(), f.X(static_cast<double>(end - t0)));
    if (xb < f.left || xa > f.right()) continue;
    if (xb - xa < 1.5) {  // keep short faults visible
      const double mid = (xa + xb) / 2;
      xa = mid - 0.75;
      xb = mid + 0.75;
    }
    const std::string tip = fmt::format("{} [{} .. {}) UTC", b.label, svg::FormatUtc(b.start), svg::FormatUtc(end));
    out += fmt::format("<rect class=\"band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
                       P(xa), P(f.top), P(xb - xa), P(f.h), Escape(tip));
    if (labels && !b.label.empty()) {
      out += fmt::format("<text class=\"band-label\" x=\"{}\" y=\"{}\" dy=\"1em\">{}</text>", P(xa + 3),
                         P(f.top + 2), Escape(b.label));
    }
  }
  return out;
}

// Markers, merged per pixel column (their labels joined in the tooltip).
std::string MarkerLines(const Frame& f, const std::vector<Marker>& markers, TimeNs t0) {
  std::map<long, std::vector<const Marker*>> by_px;
  for (const Marker& m : markers) {
    const double x = f.X(static_cast<double>(m.t - t0));
    if (x < f.left - 0.5 || x > f.right() + 0.5) continue;
    by_px[std::lround(x)].push_back(&m);
  }
  std::string out;
  for (const auto& [px, ms] : by_px) {
    std::string tip;
    for (size_t i = 0; i < ms.size() && i < 5; ++i) {
      if (i > 0) tip += "\n";
      tip += svg::FormatUtc(ms[i]->t) + " " + ms[i]->label;
    }
    if (ms.size() > 5) tip += fmt::format("\n... {} alarms in all", ms.size());
    const double x = static_cast<double>(px);
    out += fmt::format(
        "<g class=\"marker\"><title>{}</title>"
        "<line class=\"alarm\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>"
        "<path class=\"alarm-head\" d=\"M{} {}l-4 -6h8z\"/></g>",
        Escape(tip), P(x), P(x), P(f.top), P(f.bottom()), P(x), P(f.top));
  }
  return out;
}

std::string ThresholdLine(const Frame& f, double threshold, bool label) {
  if (!std::isfinite(threshold)) return "";
  const double y = f.Y(threshold);
  std::string out = fmt::format("<line class=\"thr\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", P(f.left),
                                P(f.right()), P(y), P(y));
  if (label) {
    out += fmt::format("<text class=\"thr-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"-0.35em\">threshold {}</text>",
                       P(f.right() - 4), P(y), Escape(svg::Num(threshold, 3)));
  }
  return out;
}

// Time range over all series (else bands and markers); {0, 0} if nothing.
std::pair<TimeNs, TimeNs> TimeExtent(const std::vector<Series>& series, const std::vector<Band>& bands,
                                     const std::vector<Marker>& markers) {
  TimeNs lo = std::numeric_limits<TimeNs>::max(), hi = std::numeric_limits<TimeNs>::min();
  for (const Series& s : series) {
    const size_t n = std::min(s.t.size(), s.v.size());
    for (size_t i = 0; i < n; ++i) {
      lo = std::min(lo, s.t[i]);
      hi = std::max(hi, s.t[i]);
    }
  }
  if (lo > hi) {
    for (const Band& b : bands) {
      lo = std::min(lo, b.start);
      hi = std::max(hi, std::max(b.start, b.end));
    }
    for (const Marker& m : markers) {
      lo = std::min(lo, m.t);
      hi = std::max(hi, m.t);
    }
  }
  if (lo > hi) return {0, 0};
  return {lo, hi};
}

// Finite value range of the series (and threshold), widened to nice ticks.
void ValueRange(const std::vector<Series>& series, double threshold, int target, double* lo, double* hi) {
  *lo = std::numeric_limits<double>::infinity();
  *hi = -std::numeric_limits<double>::infinity();
  for (const Series& s : series) {
    const size_t n = std::min(s.t.size(), s.v.size());
    for (size_t i = 0; i < n; ++i) {
      if (std::isfinite(s.v[i])) {
        *lo = std::min(*lo, s.v[i]);
        *hi = std::max(*hi, s.v[i]);
      }
    }
  }
  if (std::isfinite(threshold)) {
    *lo = std::min(*lo, threshold);
    *hi = std::max(*hi, threshold);
  }
  if (*lo > *hi) {
    *lo = 0;
    *hi = 1;
  }
  svg::NiceRange(lo, hi, target);
}

std::string SvgOpen(double w, double h, const std::string& title, const char* cls = "plot") {
  return fmt::format(
      "<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"{}\">",
      cls, P(w), P(h), Escape(title));
}

std::string LegendItem(const std::string& swatch_class, const std::string& style, const std::string& text) {
  return fmt::format("<span class=\"item\"><span class=\"{}\" style=\"{}\"></span>{}</span>", swatch_class,
                     style, Escape(text));
}

std::string TimeCaption(TimeNs lo, TimeNs hi) {
  if (lo == hi && lo == 0) return "no data";
  return fmt::format("{} .. {} UTC", svg::FormatUtc(lo), svg::FormatUtc(hi));
}

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  const char* b = s.c_str();
  char* end = nullptr;
  std::strtod(b, &end);
  if (end == b) return s == "n/a" || s == "-";
  std::string rest(end);
  return rest.empty() || rest == "%" || rest == "s" || rest == "ms" || rest == "x";
}

}  // namespace

HtmlReport::HtmlReport(std::string title) : title_(std::move(title)) {}

std::string HtmlReport::NextId() { return fmt::format("p{}", next_id_++); }

void HtmlReport::AddHeading(const std::string& text) {
  sections_.push_back("<h2>" + Escape(text) + "</h2>\n");
}

void HtmlReport::AddParagraph(const std::string& text) {
  sections_.push_back("<p>" + Escape(text) + "</p>\n");
}

void HtmlReport::AddTable(const std::vector<std::string>& header,
                          const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<div class=\"table-wrap\"><table>\n";
  if (!header.empty()) {
    out += "<thead><tr>";
    for (const std::string& h : header) out += "<th>" + Escape(h) + "</th>";
    out += "</tr></thead>\n";
  }
  out += "<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const std::string& cell : row) {
      out += LooksNumeric(cell) ? "<td class=\"num\">" : "<td>";
      out += Escape(cell) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n";
  sections_.push_back(std::move(out));
}

void HtmlReport::AddTimeline(const std::string& title, const std::vector<Series>& series, double threshold,
                             const std::vector<Band>& bands, const std::vector<Marker>& markers) {
  const double height = 280;
  Frame f;
  f.left = 64;
  f.top = 10;
  f.w = kWidth - f.left - 16;
  f.h = height - f.top - 30;
  auto [lo, hi] = TimeExtent(series, bands, markers);
  const TimeNs t0 = lo;
  f.x0 = 0;
  f.x1 = hi > lo ? static_cast<double>(hi - lo) : static_cast<double>(kNsPerSec);
  ValueRange(series, threshold, 10, &f.y0, &f.y1);  // finer than the grid: less empty space

  const std::string clip = NextId();
  std::string svg = SvgOpen(kWidth, height, title);
  svg += "<defs>" + ClipPath(clip, f) + "</defs>";
  svg += YGrid(f, 5) + TimeGrid(f, t0, 8, true);
  svg += "<g clip-path=\"url(#" + clip + ")\">";
  svg += BandRects(f, bands, t0, true);
  svg += MarkerLines(f, markers, t0);  // under the lines, which stay readable
  int lines = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    svg += SeriesLines(f, series[i], t0, svg::PaletteColor(i), &lines);
  }
  svg += ThresholdLine(f, threshold, true);
  svg += "</g>" + AxisLines(f) + "</svg>";

  std::string legend = "<div class=\"legend\">";
  for (size_t i = 0; i < series.size(); ++i) {
    legend += LegendItem("sw-line", fmt::format("border-color:{}", svg::PaletteColor(i)), series[i].name);
  }
  if (std::isfinite(threshold)) legend += LegendItem("sw-thr", "", "threshold");
  if (!bands.empty()) legend += LegendItem("sw-band", "", fmt::format("fault ({})", bands.size()));
  if (!markers.empty()) legend += LegendItem("sw-alarm", "", fmt::format("alarm ({})", markers.size()));
  legend += "</div>";

  sections_.push_back(fmt::format(
      "<figure class=\"timeline\"><figcaption>{}</figcaption>{}{}<div class=\"note\">{}</div></figure>\n",
      Escape(title), legend, svg, Escape(TimeCaption(lo, hi))));
}

void HtmlReport::AddSmallMultiples(const std::string& title, const std::vector<ServicePanel>& panels) {
  // Shared time extent over all panels.
  std::vector<Series> all_series;
  std::vector<Band> all_bands;
  std::vector<Marker> all_markers;
  for (const ServicePanel& p : panels) {
    all_series.insert(all_series.end(), p.series.begin(), p.series.end());
    all_bands.insert(all_bands.end(), p.bands.begin(), p.bands.end());
    all_markers.insert(all_markers.end(), p.markers.begin(), p.markers.end());
  }
  auto [lo, hi] = TimeExtent(all_series, all_bands, all_markers);
  const TimeNs t0 = lo;
  const double row_h = 56, label_h = 18, gap = 8, left = 64, right = 16, axis_h = 24;
  const double height = panels.size() * (row_h + label_h + gap) + axis_h + 4;

  std::string svg = SvgOpen(kWidth, height, title);
  std::string defs, body;
  size_t max_series = 0;
  bool any_thr = false, any_band = false, any_marker = false;
  for (size_t r = 0; r < panels.size(); ++r) {
    const ServicePanel& p = panels[r];
    Frame f;
    f.left = left;
    f.top = r * (row_h + label_h + gap) + label_h + 2;
    f.w = kWidth - left - right;
    f.h = row_h;
    f.x0 = 0;
    f.x1 = hi > lo ? static_cast<double>(hi - lo) : static_cast<double>(kNsPerSec);
    ValueRange(p.series, p.threshold, 8, &f.y0, &f.y1);
    const std::string clip = NextId();
    defs += ClipPath(clip, f);
    body += fmt::format("<text class=\"row-label\" x=\"{}\" y=\"{}\">{}</text>", P(left), P(f.top - 5),
                        Escape(p.name));
    body += YGrid(f, 3) + TimeGrid(f, t0, 8, r + 1 == panels.size());
    body += "<g clip-path=\"url(#" + clip + ")\">";
    body += BandRects(f, p.bands, t0, false);
    body += MarkerLines(f, p.markers, t0);
    for (size_t i = 0; i < p.series.size(); ++i) {
      body += SeriesLines(f, p.series[i], t0, svg::PaletteColor(i), nullptr);
    }
    body += ThresholdLine(f, p.threshold, false);
    body += "</g>" + AxisLines(f);
    max_series = std::max(max_series, p.series.size());
    any_thr |= std::isfinite(p.threshold);
    any_band |= !p.bands.empty();
    any_marker |= !p.markers.empty();
  }
  svg += "<defs>" + defs + "</defs>" + body + "</svg>";

  // Legend: series by position (names from the first panel that has them).
  std::string legend = "<div class=\"legend\">";
  for (size_t i = 0; i < max_series; ++i) {
    std::string name;
    for (const ServicePanel& p : panels) {
      if (i < p.series.size()) {
        name = p.series[i].name;
        break;
      }
    }
    legend += LegendItem("sw-line", fmt::format("border-color:{}", svg::PaletteColor(i)), name);
  }
  if (any_thr) legend += LegendItem("sw-thr", "", "threshold");
  if (any_band) legend += LegendItem("sw-band", "", "fault");
  if (any_marker) legend += LegendItem("sw-alarm", "", "alarm");
  legend += "</div>";
  sections_.push_back(fmt::format(
      "<figure class=\"multiples\"><figcaption>{}</figcaption>{}{}<div class=\"note\">{}</div></figure>\n",
      Escape(title), legend, svg, Escape(TimeCaption(lo, hi))));
}

void HtmlReport::AddCurve(const std::string& title, const std::vector<CurvePoint>& curve,
                          const std::string& x_label, const std::string& y_label, double auc,
                          const CurveOptions& options) {
  const double size = 420;
  Frame f;
  f.left = 56;
  f.top = 12;
  f.w = size - f.left - 16;
  f.h = size - f.top - 48;
  const std::string clip = NextId();
  std::string svg = SvgOpen(size, size, title);
  svg += "<defs>" + ClipPath(clip, f) + "</defs>";
  svg += YGrid(f, 5);
  double step = 0;
  for (double v : svg::NiceTicks(0, 1, 5, &step)) {
    const double x = f.X(v);
    svg += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", P(x), P(x), P(f.top),
                       P(f.bottom()));
    svg += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"1em\">{}</text>", P(x),
                       P(f.bottom() + 5), Escape(svg::FormatTick(v, step)));
  }
  svg += fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                     P(f.left + f.w / 2), P(size - 8), Escape(x_label));
  svg += fmt::format(
      "<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
      P(f.top + f.h / 2), Escape(y_label));
  svg += "<g clip-path=\"url(#" + clip + ")\">";
  if (options.diagonal) {
    svg += fmt::format("<line class=\"chance\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", P(f.X(0)), P(f.Y(0)),
                       P(f.X(1)), P(f.Y(1)));
  }
  if (std::isfinite(options.baseline_y)) {
    const double y = f.Y(options.baseline_y);
    svg += fmt::format("<line class=\"chance\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", P(f.left), P(y),
                       P(f.right()), P(y));
  }
  // Drop points closer than half a pixel to the previous kept one.
  std::string points;
  double px = kNaN, py = kNaN;
  for (size_t i = 0; i < curve.size(); ++i) {
    const CurvePoint& c = curve[i];
    if (!std::isfinite(c.x) || !std::isfinite(c.y)) continue;
    const double x = f.X(c.x), y = f.Y(c.y);
    const bool last = i + 1 == curve.size();
    if (!last && std::isfinite(px) && std::fabs(x - px) < 0.5 && std::fabs(y - py) < 0.5) continue;
    if (!points.empty()) points += ' ';
    points += P(x) + "," + P(y);
    px = x;
    py = y;
  }
  if (!points.empty()) {
    svg += fmt::format("<polyline class=\"series curve\" stroke=\"{}\" points=\"{}\"/>", svg::PaletteColor(0),
                       points);
  }
  svg += "</g>" + AxisLines(f) + "</svg>";
  std::string head = fmt::format("{} <span class=\"auc\">{} = {}</span>", Escape(title),
                                 Escape(options.auc_name), Escape(svg::Num(auc, 3)));
  std::string note;
  if (curve.empty()) note = "<div class=\"note\">undefined: one class is absent</div>";
  sections_.push_back(
      fmt::format("<figure class=\"curve\"><figcaption>{}</figcaption>{}{}</figure>\n", head, svg, note));
}

void HtmlReport::AddScatter(const std::string& title, const std::vector<double>& xs,
                            const std::vector<double>& ys, const std::vector<std::string>& groups) {
  const size_t n = std::min(xs.size(), ys.size());
  const bool grouped = groups.size() == n;
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  size_t skipped = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) {
      ++skipped;
      continue;
    }
    xlo = std::min(xlo, xs[i]);
    xhi = std::max(xhi, xs[i]);
    ylo = std::min(ylo, ys[i]);
    yhi = std::max(yhi, ys[i]);
  }
  if (xlo > xhi) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  const double height = 520;
  Frame f;
  f.left = 64;
  f.top = 10;
  f.w = kWidth - f.left - 16;
  f.h = height - f.top - 30;
  f.x0 = xlo;
  f.x1 = xhi;
  f.y0 = ylo;
  f.y1 = yhi;
  svg::NiceRange(&f.x0, &f.x1, 8);
  svg::NiceRange(&f.y0, &f.y1, 6);

  // Groups in order of first appearance.
  std::vector<std::string> names;
  std::map<std::string, size_t> index;
  std::vector<size_t> counts;
  std::vector<std::string> dots;  // per group
  std::set<std::tuple<size_t, long, long>> seen;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    const std::string& g = grouped ? groups[i] : std::string();
    auto [it, inserted] = index.emplace(g, names.size());
    if (inserted) {
      names.push_back(g);
      counts.push_back(0);
      dots.emplace_back();
    }
    const size_t gi = it->second;
    ++counts[gi];
    const double x = f.X(xs[i]), y = f.Y(ys[i]);
    if (!seen.emplace(gi, std::lround(x), std::lround(y)).second) continue;
    dots[gi] += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\"/>", P(x), P(y));
  }
  std::string svg = SvgOpen(kWidth, height, title);
  svg += YGrid(f, 6);
  double step = 0;
  for (double v : svg::NiceTicks(f.x0, f.x1, 8, &step)) {
    const double x = f.X(v);
    svg += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", P(x), P(x), P(f.top),
                       P(f.bottom()));
    svg += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"1em\">{}</text>", P(x),
                       P(f.bottom() + 5), Escape(svg::FormatTick(v, step)));
  }
  std::string legend = "<div class=\"legend\">";
  for (size_t g = 0; g < names.size(); ++g) {
    svg += fmt::format("<g class=\"dots\" fill=\"{}\"><title>{}</title>{}</g>", svg::PaletteColor(g),
                       Escape(names[g]), dots[g]);
    legend += LegendItem("sw-dot", fmt::format("background:{}", svg::PaletteColor(g)),
                         fmt::format("{} ({})", names[g].empty() ? "points" : names[g], counts[g]));
  }
  legend += "</div>";
  svg += AxisLines(f) + "</svg>";
  std::string note;
  if (skipped > 0) note = fmt::format("<div class=\"note\">{} non-finite points not drawn</div>", skipped);
  sections_.push_back(fmt::format("<figure class=\"scatter\"><figcaption>{}</figcaption>{}{}{}</figure>\n",
                                  Escape(title), legend, svg, note));
}

void HtmlReport::AddLineChart(const std::string& title, const std::string& x_label,
                              const std::vector<std::string>& x_values, const std::string& y_label,
                              const std::vector<ChartLine>& lines, double y_min, double y_max) {
  const double width = 480, height = 340;
  Frame f;
  f.left = 56;
  f.top = 12;
  f.w = width - f.left - 20;
  f.h = height - f.top - 50;
  const size_t n = x_values.size();
  f.x0 = -0.5;
  f.x1 = n > 0 ? static_cast<double>(n) - 0.5 : 0.5;
  if (std::isfinite(y_min) && std::isfinite(y_max) && y_max > y_min) {
    f.y0 = y_min;
    f.y1 = y_max;
  } else {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const ChartLine& l : lines)
      for (size_t i = 0; i < std::min(n, l.y.size()); ++i)
        if (std::isfinite(l.y[i])) lo = std::min(lo, l.y[i]), hi = std::max(hi, l.y[i]);
    if (lo > hi) lo = 0, hi = 1;
    svg::NiceRange(&lo, &hi, 6);
    f.y0 = lo;
    f.y1 = hi;
  }
  std::string svg = SvgOpen(width, height, title);
  svg += YGrid(f, 6);
  for (size_t i = 0; i < n; ++i) {
    const double x = f.X(static_cast<double>(i));
    svg += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", P(x), P(x),
                       P(f.top), P(f.bottom()));
    svg += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"1em\">{}</text>",
                       P(x), P(f.bottom() + 5), Escape(x_values[i]));
  }
  svg += fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                     P(f.left + f.w / 2), P(height - 8), Escape(x_label));
  svg += fmt::format(
      "<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
      P(f.top + f.h / 2), Escape(y_label));
  std::string legend = "<div class=\"legend\">";
  for (size_t li = 0; li < lines.size(); ++li) {
    const ChartLine& l = lines[li];
    const char* color = svg::PaletteColor(li);
    std::vector<double> xs, ys;
    for (size_t i = 0; i < std::min(n, l.y.size()); ++i) {
      xs.push_back(static_cast<double>(i));
      ys.push_back(l.y[i]);
    }
    for (const auto& run : svg::SplitRuns(xs, ys)) {
      std::string points, dots;
      for (const Pt& p : run) {
        if (!points.empty()) points += ' ';
        points += P(f.X(p.x)) + "," + P(f.Y(p.y));
        dots += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\"><title>{} {}: {}</title></circle>",
                            P(f.X(p.x)), P(f.Y(p.y)), Escape(l.name),
                            Escape(x_values[static_cast<size_t>(p.x)]), Escape(svg::Num(p.y, 3)));
      }
      svg += fmt::format("<polyline class=\"series\" stroke=\"{}\" points=\"{}\"><title>{}</title></polyline>",
                         color, points, Escape(l.name));
      svg += fmt::format("<g class=\"dots\" fill=\"{}\">{}</g>", color, dots);
    }
    legend += LegendItem("sw-line", fmt::format("border-color:{}", color), l.name);
  }
  legend += "</div>";
  svg += AxisLines(f) + "</svg>";
  sections_.push_back(fmt::format("<figure class=\"chart\"><figcaption>{}</figcaption>{}{}</figure>\n",
                                  Escape(title), legend, svg));
}

void HtmlReport::AddHeatmap(const std::string& title, const std::vector<std::string>& row_names,
                            const std::vector<TimeNs>& col_times,
                            const std::vector<std::vector<double>>& values) {
  const size_t rows = row_names.size(), cols = col_times.size();
  size_t longest = 0;
  for (const std::string& r : row_names) longest = std::max(longest, r.size());
  const double left = std::clamp(12.0 + 6.6 * static_cast<double>(std::min<size_t>(longest, 28)), 64.0, 200.0);
  const double row_h = 18, axis_h = 26;
  Frame f;
  f.left = left;
  f.top = 4;
  f.w = kWidth - left - 16;
  f.h = rows * row_h;
  const double height = f.top + f.h + axis_h;

  // Column time extent: the last column is as wide as the median step.
  TimeNs t0 = cols > 0 ? col_times.front() : 0;
  TimeNs t_end = t0 + kNsPerSec;
  if (cols >= 2) {
    std::vector<TimeNs> steps;
    for (size_t c = 1; c < cols; ++c) steps.push_back(col_times[c] - col_times[c - 1]);
    std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
    t_end = col_times.back() + std::max<TimeNs>(1, steps[steps.size() / 2]);
  } else if (cols == 1) {
    t_end = t0 + kNsPerSec;
  }
  f.x0 = 0;
  f.x1 = static_cast<double>(t_end - t0);

  double vlo = std::numeric_limits<double>::infinity(), vhi = -vlo;
  for (size_t r = 0; r < std::min(rows, values.size()); ++r) {
    for (size_t c = 0; c < std::min(cols, values[r].size()); ++c) {
      const double v = values[r][c];
      if (std::isfinite(v)) vlo = std::min(vlo, v), vhi = std::max(vhi, v);
    }
  }
  const bool any = vlo <= vhi;
  auto color_of = [&](double v) {
    if (!std::isfinite(v)) return svg::SequentialColor(kNaN);
    return svg::SequentialColor(vhi > vlo ? (v - vlo) / (vhi - vlo) : 0.5);
  };

  std::string svg = SvgOpen(kWidth, height, title);
  const int px_cols = std::max(1, static_cast<int>(f.w));
  for (size_t r = 0; r < rows; ++r) {
    const double y = f.top + r * row_h;
    // Cells as [pixel start, pixel end) with a value; merged per pixel (max) when dense.
    struct Cell {
      double xa, xb, v;
    };
    std::vector<Cell> cells;
    auto value_at = [&](size_t c) {
      return r < values.size() && c < values[r].size() ? values[r][c] : kNaN;
    };
    if (cols <= static_cast<size_t>(px_cols)) {
      for (size_t c = 0; c < cols; ++c) {
        const TimeNs ce = c + 1 < cols ? col_times[c + 1] : t_end;
        cells.push_back({f.X(static_cast<double>(col_times[c] - t0)), f.X(static_cast<double>(ce - t0)),
                         value_at(c)});
      }
    } else {
      std::vector<double> agg(px_cols, kNaN);
      for (size_t c = 0; c < cols; ++c) {
        const double v = value_at(c);
        if (!std::isfinite(v)) continue;
        const int b = std::clamp(static_cast<int>((col_times[c] - t0) / f.x1 * px_cols), 0, px_cols - 1);
        if (!(agg[b] >= v)) agg[b] = v;  // NaN-aware max
      }
      for (int b = 0; b < px_cols; ++b) cells.push_back({f.left + b, f.left + b + 1.0, agg[b]});
    }
    // Merge neighbouring cells of one colour into one rect.
    for (size_t i = 0; i < cells.size();) {
      const std::string color = color_of(cells[i].v);
      size_t j = i + 1;
      while (j < cells.size() && color_of(cells[j].v) == color && std::fabs(cells[j].xa - cells[j - 1].xb) < 0.01) ++j;
      svg += fmt::format("<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                         P(cells[i].xa), P(y), P(std::max(0.5, cells[j - 1].xb - cells[i].xa)), P(row_h - 1),
                         color);
      i = j;
    }
    std::string name = row_names[r];
    if (name.size() > 28) {  // shorten without splitting a UTF-8 sequence
      size_t cut = 27;
      while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
      name = name.substr(0, cut) + "\u2026";
    }
    svg += fmt::format(
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.32em\"><title>{}</title>{}</text>",
        P(left - 6), P(y + row_h / 2 - 0.5), Escape(row_names[r]), Escape(name));
  }
  // Time axis.
  const TimeNs lo = t0, hi = t_end;
  for (const svg::TimeTick& tick : svg::TimeTicks(lo, hi, 8)) {
    const double x = f.X(static_cast<double>(tick.t - t0));
    svg += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", P(x), P(x),
                       P(f.bottom()), P(f.bottom() + 4));
    svg += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"1em\">{}</text>", P(x),
                       P(f.bottom() + 5), Escape(tick.label));
  }
  svg += "</svg>";

  // Colour scale legend as a CSS gradient.
  std::string gradient;
  for (int i = 0; i <= 8; ++i) {
    if (!gradient.empty()) gradient += ",";
    gradient += svg::SequentialColor(i / 8.0);
  }
  std::string legend = "<div class=\"legend\">";
  if (any) {
    legend += fmt::format(
        "<span class=\"item\">{}<span class=\"sw-scale\" style=\"background:linear-gradient(to right,{})\"></span>{}</span>",
        Escape(svg::Num(vlo, 3)), gradient, Escape(svg::Num(vhi, 3)));
  }
  legend += LegendItem("sw-box", "background:" + svg::SequentialColor(kNaN), "no data");
  legend += "</div>";
  sections_.push_back(fmt::format(
      "<figure class=\"heatmap\"><figcaption>{}</figcaption>{}{}<div class=\"note\">{}</div></figure>\n",
      Escape(title), legend, svg, Escape(cols > 0 ? TimeCaption(t0, t_end) : "no data")));
}

std::string HtmlReport::Render() const {
  static constexpr const char* kCss = R"css(
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1f2328; background: #fff; max-width: 1100px; margin: 24px auto; padding: 0 20px; line-height: 1.45; }
h1 { font-size: 1.6em; font-weight: 600; margin: 0 0 16px; padding-bottom: 8px; border-bottom: 1px solid #d8dee4; }
h2 { font-size: 1.25em; font-weight: 600; margin: 28px 0 8px; }
p { margin: 8px 0; }
figure { margin: 12px 0 24px; }
figure.curve { display: inline-block; width: 420px; max-width: 100%; margin-right: 24px; vertical-align: top; }
figure.chart { display: inline-block; width: 480px; max-width: 100%; margin-right: 24px; vertical-align: top; }
figcaption { font-weight: 600; font-size: 0.95em; margin-bottom: 2px; }
figcaption .auc { font-weight: 400; color: #57606a; margin-left: 8px; font-variant-numeric: tabular-nums; }
svg.plot { width: 100%; height: auto; display: block; overflow: visible; }
svg text { font-family: inherit; font-size: 11px; fill: #57606a; }
svg .tick { font-variant-numeric: tabular-nums; }
svg .axis-label { font-size: 12px; fill: #1f2328; }
svg .row-label { font-size: 12px; font-weight: 600; fill: #1f2328; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .series { fill: none; stroke-width: 1.5; stroke-linejoin: round; stroke-linecap: round; }
svg .curve { stroke-width: 2; }
svg .chance { stroke: #8c959f; stroke-dasharray: 4 4; stroke-width: 1; }
svg .thr { stroke: #1f2328; stroke-dasharray: 6 4; stroke-width: 1.2; }
svg .thr-label { font-size: 10px; fill: #1f2328; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .band { fill: #CC79A7; fill-opacity: 0.18; }
svg .band-label { font-size: 10px; fill: #8a3b6a; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .alarm { stroke: #D55E00; stroke-width: 1; stroke-opacity: 0.35; }
svg .alarm-head { fill: #D55E00; }
svg .dots circle { fill-opacity: 0.7; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 16px; font-size: 12px; color: #424a53; margin: 2px 0 4px; }
.legend .item { display: inline-flex; align-items: center; white-space: nowrap; }
.legend .item > span { margin-right: 6px; }
.sw-line { display: inline-block; width: 18px; height: 0; border-top: 2px solid; }
.sw-thr { display: inline-block; width: 18px; height: 0; border-top: 2px dashed #1f2328; }
.sw-band { display: inline-block; width: 14px; height: 10px; background: rgba(204,121,167,0.3); }
.sw-alarm { display: inline-block; width: 0; height: 12px; border-left: 2px solid #D55E00; margin: 0 8px 0 4px; }
.sw-dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; }
.sw-box { display: inline-block; width: 12px; height: 12px; border: 1px solid #d0d7de; }
.sw-scale { display: inline-block; width: 120px; height: 10px; margin: 0 6px !important; border: 1px solid #d0d7de; }
.note { font-size: 11px; color: #6e7781; margin-top: 2px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { padding: 4px 12px; border-bottom: 1px solid #eaeef2; text-align: left; }
th { background: #f6f8fa; font-weight: 600; border-bottom: 1px solid #d0d7de; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #f6f8fa; }
)css";
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + Escape(title_) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
  out += "<h1>" + Escape(title_) + "</h1>\n";
  for (const std::string& s : sections_) out += s;
  out += "</body>\n</html>\n";
  return out;
}

Status HtmlReport::WriteFile(const std::string& path) const {
  const std::string html = Render();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::IOError("cannot open " + path + " for writing");
  const size_t written = std::fwrite(html.data(), 1, html.size(), f);
  const bool close_ok = std::fclose(f) == 0;
  if (written != html.size() || !close_ok) return Status::IOError("short write to " + path);
  return Status::OK();
}

}  // namespace triad
