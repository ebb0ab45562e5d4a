// `triad detect`: scores telemetry with a trained model and writes the
// output contract (detect/output.h).
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "align/window_aggregator.h"
#include "cli/cmd_sequence.h"
#include "cli/command.h"
#include "cli/input_options.h"
#include "core/time_parse.h"
#include "detect/baseline.h"
#include "detect/output.h"
#include "detect/pipeline.h"
#include "ingest/reader.h"

namespace triad::cli {
namespace {

struct DetectArgs {
  std::string model;
  std::string out;
  std::string from, until;
  int top = 10;
  InputArgs in;
  SequenceDetectArgs seq;  // sequence models (pca, stide, deeplog)
};

int Run(const DetectArgs& a) {
  auto t0 = std::chrono::steady_clock::now();
  BaselineDetector det;
  Status s = BaselineDetector::Load(a.model, &det);
  if (!s.ok()) {
    std::string why;
    int rc = RunSequenceDetect(a.model, a.out, a.in, a.seq, a.top, &why);
    if (rc >= 0) return rc;
    spdlog::error("{}: no detector accepts this model file (baseline: {}; {})", a.model,
                  s.ToString(), why);
    return 1;
  }
  if (!a.seq.sessions.empty()) {
    spdlog::error("--sessions needs a sequence model (pca, stide, deeplog), not a baseline");
    return 2;
  }
  if (a.in.inputs.empty()) {
    spdlog::error("no INPUT files to score");
    return 2;
  }
  ReadOptions ro;
  if (!ToReadOptions(a.in, &ro)) return 2;
  TimeNs from = INT64_MIN, until = INT64_MAX;
  if (!a.from.empty() && !ParseTimestamp(a.from, &from)) {
    spdlog::error("bad --from '{}'", a.from);
    return 2;
  }
  if (!a.until.empty() && !ParseTimestamp(a.until, &until)) {
    spdlog::error("bad --until '{}'", a.until);
    return 2;
  }
  ReadStats total;
  std::vector<WindowFeatures> windows;
  s = ReadWindows(a.in.inputs, ro, det.config().window, &windows, &total);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  TimeNs lo = INT64_MAX, hi = INT64_MIN;
  for (const auto& w : windows) {
    if (w.start < from || w.end > until) continue;
    lo = std::min(lo, w.start);
    hi = std::max(hi, w.end);
  }
  std::vector<WindowScore> scores;
  if (lo < hi) scores = det.ScoreRange(windows, lo, hi);
  s = WriteBaselineScores(a.out, scores, det.threshold());
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::set<std::string> services;
  size_t anomalous = 0;
  for (const auto& sc : scores) {
    services.insert(sc.service);
    anomalous += sc.anomaly;
  }
  std::vector<Incident> inc = GroupIncidents(scores);
  std::FILE* o = a.out == "-" ? stderr : stdout;  // keep stdout for the scores
  fmt::print(o, "scored {} windows of {} services", scores.size(), services.size());
  if (lo < hi) fmt::print(o, " from {} to {}", FormatIso8601(lo), FormatIso8601(hi));
  fmt::print(o, " ({}; {:.1f} s)\n", total.Summary(), secs);
  fmt::print(o, "{} anomalous windows in {} incidents (threshold {:.3f}); scores in {}\n", anomalous,
             inc.size(), det.threshold(), a.out);
  for (size_t i = 0; i < inc.size() && static_cast<int>(i) < a.top; ++i) {
    const Incident& x = inc[i];
    fmt::print(o, "  {}  {:>4.0f} s  {:<20} score {:6.2f}  {}\n", FormatIso8601(x.start),
               static_cast<double>(x.end - x.start) / kNsPerSec, x.service, x.max_score,
               x.evidence.substr(0, 160));
  }
  if (inc.size() > static_cast<size_t>(std::max(a.top, 0)))
    fmt::print(o, "  ... {} more in {}\n", inc.size() - a.top, a.out);
  return 0;
}

void Setup(CLI::App& app) {
  auto a = std::make_shared<DetectArgs>();
  auto* cmd = app.add_subcommand("detect", "Score telemetry with a trained model");
  cmd->add_option("--model,--model-file", a->model, "Model file written by `triad train`")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "Score CSV to write (- for stdout)")->required();
  cmd->add_option("--from", a->from, "Score only windows starting at/after this time");
  cmd->add_option("--until", a->until, "Score only windows ending by this time");
  cmd->add_option("--top", a->top, "Incidents to print");
  AddInputOptions(cmd, &a->in);
  cmd->get_option("inputs")->required(false);  // not for --sessions
  AddSequenceDetectOptions(cmd, &a->seq);
  cmd->callback([a] { SetExitCode(Run(*a)); });
}

CommandRegistration reg(30, Setup);

}  // namespace
}  // namespace triad::cli
