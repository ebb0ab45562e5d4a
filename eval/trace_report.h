// Report helpers for the trace-model evaluation (Nedelkoski et al., IEEE
// CLOUD 2019, Figs. 5-9): accuracy vs trace length / injection position per
// model as line plots, overall accuracy per model and k as grouped bars, and
// tables. Output is one self-contained HTML file (inline SVG, no JavaScript,
// no network), like eval/report.h, whose time-axis plots do not fit numeric
// x axes. Every piece of text is HTML-escaped.
//
// Usage:
//   TraceEvalReport r("Trace LSTM evaluation: TraceBench HDFS");
//   r.AddLinePlot("SAD accuracy by trace length, k = 3", "trace length", "accuracy",
//                 {{"sad", {4, 5, 6}, {0.9, 0.8, 0.95}}}, 0, 1);
//   Status s = r.WriteFile("trace_eval.html");
#ifndef TRIAD_EVAL_TRACE_REPORT_H_
#define TRIAD_EVAL_TRACE_REPORT_H_

#include <string>
#include <vector>

#include "eval/trace_injection.h"
#include "triad/status.h"

namespace triad {

// One line of a numeric x/y plot. Uses min(x.size(), y.size()) points, drawn
// in x order; non-finite points are skipped.
struct XYSeries {
  std::string name;
  std::vector<double> x, y;
};

class TraceEvalReport {
 public:
  explicit TraceEvalReport(std::string title);

  void AddHeading(const std::string& text);
  void AddParagraph(const std::string& text);
  // Cells that look numeric are right-aligned.
  void AddTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
  // Lines with markers; y axis fixed to [y_lo, y_hi] (NaN: from the data).
  void AddLinePlot(const std::string& title, const std::string& x_label,
                   const std::string& y_label, const std::vector<XYSeries>& series, double y_lo,
                   double y_hi);
  // Grouped bars: one group per category, one bar per series;
  // values[s][c] is series s in category c (missing/NaN: no bar).
  // REQUIRES: values.size() == series_names.size().
  void AddBarChart(const std::string& title, const std::string& y_label,
                   const std::vector<std::string>& categories,
                   const std::vector<std::string>& series_names,
                   const std::vector<std::vector<double>>& values, double y_lo, double y_hi);

  std::string Render() const;
  // Writes Render() to `path`. Returns IOError on failure.
  Status WriteFile(const std::string& path) const;
  size_t sections() const { return sections_.size(); }

 private:
  std::string title_;
  std::vector<std::string> sections_;
};

// Accuracy curve of `acc` for (kind, k) by trace length (by_position false)
// or by injection position, as an XYSeries named `name`.
XYSeries AccuracySeries(const std::string& name, const InjectionAccuracy& acc, InjectionKind kind,
                        int k, bool by_position);

}  // namespace triad

#endif  // TRIAD_EVAL_TRACE_REPORT_H_
