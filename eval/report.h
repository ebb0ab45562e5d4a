// HtmlReport: a self-contained HTML evaluation report (one file: inline SVG
// and CSS, no JavaScript, no network access) meant to be read by an SRE.
//
// Every piece of text passed in (titles, labels, cells, series and service
// names) is HTML-escaped. Plots have labelled axes with round ticks, a light
// grid and an HTML legend; time axes are in UTC. Long series are downsampled
// per pixel column keeping the first/min/max/last point, so spikes stay
// visible; NaN values leave gaps in lines. Colours are the Okabe-Ito
// colour-blind-safe palette; heatmaps use a lightness-monotone scale.
//
// Usage:
//   HtmlReport r("checkout outage, 2024-05-01");
//   r.AddHeading("Scores");
//   r.AddTimeline("frontend latency", {series}, /*threshold=*/3.0, faults, alarms);
//   Status s = r.WriteFile("report.html");
#ifndef TRIAD_EVAL_REPORT_H_
#define TRIAD_EVAL_REPORT_H_

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// One line of a time-series plot. Uses min(t.size(), v.size()) points; NaN or
// infinite values are gaps. t need not be sorted (it is sorted for drawing).
struct Series {
  std::string name;
  std::vector<TimeNs> t;
  std::vector<double> v;
};

// A shaded time range, e.g. a ground-truth fault [start, end).
struct Band {
  TimeNs start = 0, end = 0;
  std::string label;
};

// A vertical marker, e.g. a detected alarm. Its label shows as a tooltip.
struct Marker {
  TimeNs t = 0;
  std::string label;
};

// One row of a small-multiples plot: one service's series and threshold.
struct ServicePanel {
  std::string name;  // e.g. the service
  std::vector<Series> series;
  double threshold = std::numeric_limits<double>::quiet_NaN();  // NaN = none
  std::vector<Band> bands;
  std::vector<Marker> markers;
};

struct CurveOptions {
  bool diagonal = false;  // draw the y = x chance line (ROC)
  double baseline_y = std::numeric_limits<double>::quiet_NaN();  // horizontal chance line (PR: prevalence)
  std::string auc_name = "AUC";  // shown as "<auc_name> = 0.873"
};

// One line of a categorical line chart (HtmlReport::AddLineChart): y[i] is
// the value at the i-th x category; NaN or a missing value is a gap.
struct ChartLine {
  std::string name;
  std::vector<double> y;
};

class HtmlReport {
 public:
  explicit HtmlReport(std::string title);

  void AddHeading(const std::string& text);
  void AddParagraph(const std::string& text);
  // Cells that look numeric are right-aligned. Rows may be ragged.
  void AddTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

  // A time-series panel: one line per series, an optional horizontal
  // threshold (NaN = none), shaded bands and vertical markers; UTC time axis.
  void AddTimeline(const std::string& title, const std::vector<Series>& series, double threshold,
                   const std::vector<Band>& bands, const std::vector<Marker>& markers);

  // Small multiples: one compact timeline per panel (e.g. per service), all on
  // a shared time axis, each with its own y scale and threshold.
  void AddSmallMultiples(const std::string& title, const std::vector<ServicePanel>& panels);

  // A ROC or PR curve on [0, 1] x [0, 1] with its area in the title.
  // Consecutive curves are laid out side by side.
  void AddCurve(const std::string& title, const std::vector<CurvePoint>& curve,
                const std::string& x_label, const std::string& y_label, double auc,
                const CurveOptions& options = {});

  // A 2-D scatter (e.g. embeddings), coloured by group with a legend. Uses
  // min(xs.size(), ys.size()) points; if groups.size() differs from that, all
  // points form one group. Non-finite points are skipped and counted in the
  // caption; points drawn on the same pixel in the same group are drawn once.
  void AddScatter(const std::string& title, const std::vector<double>& xs,
                  const std::vector<double>& ys, const std::vector<std::string>& groups);

  // Swimlanes: one row per name, one column per time (column i covers
  // [col_times[i], col_times[i+1])), coloured by values[row][col] on a
  // min..max scale; NaN/missing cells are grey. More columns than pixels are
  // merged per pixel keeping the maximum. REQUIRES: col_times ascending.
  void AddHeatmap(const std::string& title, const std::vector<std::string>& row_names,
                  const std::vector<TimeNs>& col_times,
                  const std::vector<std::vector<double>>& values);

  // A line chart over categorical x values drawn equally spaced (e.g. the
  // values of a swept parameter), one line with point markers per entry of
  // `lines`, and a legend. The y range is [y_min, y_max] when both are finite,
  // else fitted to the data. Consecutive charts are laid out side by side.
  void AddLineChart(const std::string& title, const std::string& x_label,
                    const std::vector<std::string>& x_values, const std::string& y_label,
                    const std::vector<ChartLine>& lines,
                    double y_min = std::numeric_limits<double>::quiet_NaN(),
                    double y_max = std::numeric_limits<double>::quiet_NaN());

  // Returns the whole document.
  std::string Render() const;
  // Writes Render() to `path` (replacing it). Returns IOError on failure.
  Status WriteFile(const std::string& path) const;

  size_t sections() const { return sections_.size(); }

 private:
  std::string NextId();

  std::string title_;
  std::vector<std::string> sections_;  // rendered HTML fragments
  int next_id_ = 0;
};

}  // namespace triad

#endif  // TRIAD_EVAL_REPORT_H_
