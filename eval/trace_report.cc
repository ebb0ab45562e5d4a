#include "eval/trace_report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <utility>

#include "eval/svg_plot.h"

namespace triad {

namespace {

constexpr int kW = 640, kH = 300, kL = 56, kR = 16, kT = 28, kB = 44;  // plot box margins

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end != nullptr && (*end == '\0' || *end == '%');
}

struct Axis {
  double lo, hi;
  double px0, px1;
  double Map(double v) const { return hi > lo ? px0 + (v - lo) / (hi - lo) * (px1 - px0) : px0; }
};

std::string Legend(const std::vector<std::string>& names) {
  std::string h = "<div class=\"legend\">";
  for (size_t i = 0; i < names.size(); ++i)
    h += "<span><i style=\"background:" + std::string(svg::PaletteColor(i)) + "\"></i>" +
         svg::Escape(names[i]) + "</span> ";
  return h + "</div>";
}

// Frame, y grid + ticks, axis labels. Returns the SVG opening and grid.
std::string Frame(const std::string& x_label, const std::string& y_label, const Axis& y) {
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kW) +
                  "\" height=\"" + std::to_string(kH) + "\" viewBox=\"0 0 " + std::to_string(kW) +
                  " " + std::to_string(kH) + "\">";
  double step = 0;
  for (double t : svg::NiceTicks(y.lo, y.hi, 5, &step)) {
    const double py = y.Map(t);
    s += "<line x1=\"" + std::to_string(kL) + "\" x2=\"" + std::to_string(kW - kR) + "\" y1=\"" +
         svg::Num(py) + "\" y2=\"" + svg::Num(py) + "\" stroke=\"#e5e5e5\"/>";
    s += "<text x=\"" + std::to_string(kL - 4) + "\" y=\"" + svg::Num(py + 4) +
         "\" text-anchor=\"end\" font-size=\"11\">" + svg::Escape(svg::FormatTick(t, step)) +
         "</text>";
  }
  s += "<rect x=\"" + std::to_string(kL) + "\" y=\"" + std::to_string(kT) + "\" width=\"" +
       std::to_string(kW - kL - kR) + "\" height=\"" + std::to_string(kH - kT - kB) +
       "\" fill=\"none\" stroke=\"#888\"/>";
  s += "<text x=\"" + std::to_string((kL + kW - kR) / 2) + "\" y=\"" + std::to_string(kH - 6) +
       "\" text-anchor=\"middle\" font-size=\"12\">" + svg::Escape(x_label) + "</text>";
  s += "<text transform=\"translate(14," + std::to_string((kT + kH - kB) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + svg::Escape(y_label) +
       "</text>";
  return s;
}

void YRange(double* lo, double* hi, double dlo, double dhi) {
  if (std::isnan(*lo)) *lo = dlo;
  if (std::isnan(*hi)) *hi = dhi;
  if (!std::isfinite(*lo) || !std::isfinite(*hi)) *lo = 0, *hi = 1;
  if (*hi <= *lo) svg::NiceRange(lo, hi, 5);
}

}  // namespace

TraceEvalReport::TraceEvalReport(std::string title) : title_(std::move(title)) {}

void TraceEvalReport::AddHeading(const std::string& text) {
  sections_.push_back("<h2>" + svg::Escape(text) + "</h2>");
}

void TraceEvalReport::AddParagraph(const std::string& text) {
  sections_.push_back("<p>" + svg::Escape(text) + "</p>");
}

void TraceEvalReport::AddTable(const std::vector<std::string>& header,
                               const std::vector<std::vector<std::string>>& rows) {
  std::string h = "<table><tr>";
  for (const auto& c : header) h += "<th>" + svg::Escape(c) + "</th>";
  h += "</tr>";
  for (const auto& r : rows) {
    h += "<tr>";
    for (const auto& c : r)
      h += std::string(LooksNumeric(c) ? "<td class=\"n\">" : "<td>") + svg::Escape(c) + "</td>";
    h += "</tr>";
  }
  sections_.push_back(h + "</table>");
}

void TraceEvalReport::AddLinePlot(const std::string& title, const std::string& x_label,
                                  const std::string& y_label, const std::vector<XYSeries>& series,
                                  double y_lo, double y_hi) {
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, dlo = xlo, dhi = -xlo;
  for (const auto& s : series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
        dlo = std::min(dlo, s.y[i]), dhi = std::max(dhi, s.y[i]);
      }
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1;
  if (xhi <= xlo) xlo -= 1, xhi += 1;
  YRange(&y_lo, &y_hi, dlo, dhi);
  const Axis x{xlo, xhi, kL + 10.0, kW - kR - 10.0};
  const Axis y{y_lo, y_hi, static_cast<double>(kH - kB), static_cast<double>(kT)};
  std::string s = "<figure><figcaption>" + svg::Escape(title) + "</figcaption>" +
                  Frame(x_label, y_label, y);
  double step = 0;
  for (double t : svg::NiceTicks(xlo, xhi, 10, &step))
    s += "<text x=\"" + svg::Num(x.Map(t)) + "\" y=\"" + std::to_string(kH - kB + 14) +
         "\" text-anchor=\"middle\" font-size=\"11\">" + svg::Escape(svg::FormatTick(t, step)) +
         "</text>";
  std::vector<std::string> names;
  for (size_t si = 0; si < series.size(); ++si) {
    const auto& se = series[si];
    names.push_back(se.name);
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < std::min(se.x.size(), se.y.size()); ++i)
      if (std::isfinite(se.x[i]) && std::isfinite(se.y[i])) pts.emplace_back(se.x[i], se.y[i]);
    std::sort(pts.begin(), pts.end());
    const std::string col = svg::PaletteColor(si);
    std::string poly;
    for (auto [px, py] : pts) {
      const double cy = std::clamp(py, y_lo, y_hi);
      poly += svg::Num(x.Map(px)) + "," + svg::Num(y.Map(cy)) + " ";
      s += "<circle cx=\"" + svg::Num(x.Map(px)) + "\" cy=\"" + svg::Num(y.Map(cy)) +
           "\" r=\"3\" fill=\"" + col + "\"><title>" + svg::Escape(se.name) + ": " +
           svg::Num(px) + ", " + svg::Num(py, 3) + "</title></circle>";
    }
    if (pts.size() > 1)
      s += "<polyline fill=\"none\" stroke=\"" + col + "\" stroke-width=\"1.5\" points=\"" + poly +
           "\"/>";
  }
  sections_.push_back(s + "</svg>" + Legend(names) + "</figure>");
}

void TraceEvalReport::AddBarChart(const std::string& title, const std::string& y_label,
                                  const std::vector<std::string>& categories,
                                  const std::vector<std::string>& series_names,
                                  const std::vector<std::vector<double>>& values, double y_lo,
                                  double y_hi) {
  double dlo = std::numeric_limits<double>::infinity(), dhi = -dlo;
  for (const auto& r : values)
    for (double v : r)
      if (std::isfinite(v)) dlo = std::min(dlo, v), dhi = std::max(dhi, v);
  YRange(&y_lo, &y_hi, std::min(0.0, dlo), dhi);
  const Axis y{y_lo, y_hi, static_cast<double>(kH - kB), static_cast<double>(kT)};
  std::string s = "<figure><figcaption>" + svg::Escape(title) + "</figcaption>" +
                  Frame("", y_label, y);
  const double gw = categories.empty() ? 1.0 : (kW - kL - kR) / static_cast<double>(categories.size());
  const size_t ns = std::max<size_t>(1, series_names.size());
  const double bw = gw * 0.8 / ns;
  for (size_t c = 0; c < categories.size(); ++c) {
    const double gx = kL + c * gw;
    s += "<text x=\"" + svg::Num(gx + gw / 2) + "\" y=\"" + std::to_string(kH - kB + 14) +
         "\" text-anchor=\"middle\" font-size=\"11\">" + svg::Escape(categories[c]) + "</text>";
    for (size_t si = 0; si < values.size(); ++si) {
      if (c >= values[si].size() || !std::isfinite(values[si][c])) continue;
      const double v = std::clamp(values[si][c], y_lo, y_hi);
      const double top = y.Map(v), base = y.Map(std::max(y_lo, 0.0));
      s += "<rect x=\"" + svg::Num(gx + gw * 0.1 + si * bw) + "\" y=\"" +
           svg::Num(std::min(top, base)) + "\" width=\"" + svg::Num(bw * 0.92) + "\" height=\"" +
           svg::Num(std::abs(base - top)) + "\" fill=\"" + svg::PaletteColor(si) + "\"><title>" +
           svg::Escape(si < series_names.size() ? series_names[si] : "") + " " +
           svg::Escape(categories[c]) + ": " + svg::Num(values[si][c], 3) + "</title></rect>";
    }
  }
  sections_.push_back(s + "</svg>" + Legend(series_names) + "</figure>");
}

std::string TraceEvalReport::Render() const {
  std::string h =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + svg::Escape(title_) +
      "</title><style>body{font-family:sans-serif;margin:24px;max-width:1400px}"
      "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 8px}"
      "td.n{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;"
      "margin:8px}figcaption{font-weight:bold}.legend span{margin-right:12px}.legend i{display:"
      "inline-block;width:12px;height:12px;margin-right:4px}</style></head><body><h1>" +
      svg::Escape(title_) + "</h1>";
  for (const auto& s : sections_) h += s + "\n";
  return h + "</body></html>\n";
}

Status TraceEvalReport::WriteFile(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot write " + path);
  f << Render();
  f.close();
  if (!f) return Status::IOError("write failed: " + path);
  return Status::OK();
}

XYSeries AccuracySeries(const std::string& name, const InjectionAccuracy& acc, InjectionKind kind,
                        int k, bool by_position) {
  XYSeries s;
  s.name = name;
  for (const auto& [key, cell] : by_position ? acc.ByPosition(kind, k) : acc.ByLength(kind, k)) {
    if (cell.injected == 0) continue;
    s.x.push_back(key);
    s.y.push_back(cell.accuracy());
  }
  return s;
}

}  // namespace triad
