// Log + metric fusion commands (issue 6; models/fusion.h):
//   triad fusion-train --out M [--tau 60s --step 15s --scope '*' --mode fused] INPUT...
//   triad fusion-score --model M [--out F.csv] [--report R.html] [--faults GT] INPUT...
// Inputs: log and metric files in any format ReadTelemetry reads (logs are
// parsed with Drain). Training uses the windows of one scope (a service, or
// '*' = the whole system), optionally only those that end by --until or the
// training end of a simulator ground_truth.json, and never windows that
// overlap a fault of --faults. The model file (one file) carries the network,
// the Drain parser and the window options, so scoring rebuilds identical
// windows and template ids. Cumulative counters become per-second rates
// (LogMetricOptions::counter_rates) unless --raw-counters.
// Score output (detect/output.h contract): id,start,end,service,score,anomaly
// then threshold,modality,disagreement,log_distance,metric_distance,label,
// top_templates,top_metrics; one row per window of the model's scope
// (service column = the scope). top_* hold "E<id> <template>(+delta)" and
// "<metric>(+delta)" items joined by "; " for flagged windows (--explain-all:
// every window). Summary on stderr; with --faults also PR-AUC/ROC-AUC.
// --report writes an HTML page: score timeline with threshold, fault bands and
// alarm markers; the 2-D PCA projection of the embeddings coloured by label
// (or by flag without --faults); the top windows with their explanations.
// Built only with LibTorch.
#ifdef TRIAD_WITH_TORCH

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "align/log_metric_windows.h"
#include "cli/command.h"
#include "cli/input_options.h"
#include "core/time_parse.h"
#include "detect/output.h"
#include "detect/pipeline.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "ingest/nezha_faults.h"
#include "ingest/reader.h"
#include "models/fusion.h"
#include "models/runtime.h"
#include "sim/simulator.h"

namespace triad::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kDrainAttachment[] = "drain";
constexpr char kWindowAttachment[] = "windows";

// Window options as saved with the model.
struct WindowSpec {
  TimeNs tau = 60 * kNsPerSec, step = 0;
  int metric_steps = 12;
  size_t max_log_len = 512;
  std::string scope = kSystemScope;
  bool counter_rates = true;  // counters as per-second rates (LogMetricOptions::counter_rates)
  MetricSchema schema;  // training features (fixed for scoring)
};

std::string WindowSpecJson(const WindowSpec& w) {
  nlohmann::json j = {{"tau_ns", w.tau}, {"step_ns", w.step}, {"metric_steps", w.metric_steps},
                      {"max_log_len", w.max_log_len}, {"scope", w.scope},
                      {"counter_rates", w.counter_rates},
                      {"features", w.schema.features}};
  return j.dump();
}

Status ParseWindowSpec(const std::string& text, WindowSpec* w) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("window options are not JSON");
  try {
    w->tau = j.at("tau_ns").get<TimeNs>();
    w->step = j.at("step_ns").get<TimeNs>();
    w->metric_steps = j.at("metric_steps").get<int>();
    w->max_log_len = j.at("max_log_len").get<size_t>();
    w->scope = j.at("scope").get<std::string>();
    w->counter_rates = j.value("counter_rates", false);
    w->schema.features = j.at("features").get<std::map<std::string, std::vector<std::string>>>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("window options: ") + e.what());
  }
  if (w->tau <= 0 || w->step < 0 || w->metric_steps < 1)
    return Status::Corruption("window options: bad tau/step/metric_steps");
  return Status::OK();
}

LogMetricOptions ToOptions(const WindowSpec& w) {
  LogMetricOptions o;
  o.tau = w.tau;
  o.step = w.step;
  o.metric_steps = w.metric_steps;
  o.max_log_len = w.max_log_len;
  o.per_service = w.scope != kSystemScope;
  o.system = w.scope == kSystemScope;
  o.counter_rates = w.counter_rates;
  return o;
}

// A private temporary path (DrainParser reads and writes files only).
std::string TempPath(const char* what) {
  static std::atomic<int> n{0};
  return (fs::temp_directory_path() /
          fmt::format("triad-{}-{}-{}.json", what, ::getpid(), n++)).string();
}

Status DrainToText(const DrainParser& p, std::string* text) {
  const std::string tmp = TempPath("drain");
  Status s = p.Save(tmp);
  if (s.ok()) {
    std::ifstream in(tmp, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    *text = ss.str();
    if (text->empty()) s = Status::IOError("cannot read back " + tmp);
  }
  std::error_code ec;
  fs::remove(tmp, ec);
  return s;
}

Status DrainFromText(const std::string& text, std::unique_ptr<DrainParser>* out) {
  const std::string tmp = TempPath("drain");
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o << text;
    if (!o) return Status::IOError("cannot write " + tmp);
  }
  Status s = DrainParser::Load(tmp, out);
  std::error_code ec;
  fs::remove(tmp, ec);
  return s;
}

// Reads every input into `b`. Returns false (error logged) on a fatal read error.
bool ReadInputs(const InputArgs& in, LogMetricWindowBuilder* b) {
  ReadOptions ro;
  if (!ToReadOptions(in, &ro)) return false;
  ReadStats stats;
  for (const auto& path : in.inputs) {
    Status s = ReadTelemetry(path, ro, *b, &stats);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return false;
    }
  }
  spdlog::info("read {}", stats.Summary());
  if (b->read_stats().skipped > 0) spdlog::warn("window builder: {}", b->read_stats().Summary());
  return true;
}

// Faults of a ground_truth.json / fault_list.json ("" = none).
bool ReadFaults(const std::string& path, std::vector<FaultEvent>* faults) {
  if (path.empty()) return true;
  ReadStats st;
  Status s = LoadFaultEvents(path, {}, faults, &st);
  if (!s.ok()) {
    spdlog::error("--faults: {}", s.ToString());
    return false;
  }
  return true;
}

// The windows of `scope` that hold any data, moved out of `all`.
std::vector<LogMetricWindow> TakeScope(std::vector<LogMetricWindow>* all, const std::string& scope) {
  std::vector<LogMetricWindow> out;
  for (auto& w : *all)
    if (w.scope == scope && !(w.missing_logs && w.missing_metrics)) out.push_back(std::move(w));
  return out;
}

bool ParseModeName(const std::string& s, FusionMode* m) {
  for (FusionMode x : {FusionMode::kFused, FusionMode::kLogOnly, FusionMode::kMetricOnly,
                       FusionMode::kConcat})
    if (s == FusionModeName(x)) {
      *m = x;
      return true;
    }
  return false;
}

const char* ModalityName(FusionModality m) {
  switch (m) {
    case FusionModality::kNone: return "none";
    case FusionModality::kLogs: return "logs";
    case FusionModality::kMetrics: return "metrics";
    case FusionModality::kBoth: return "both";
  }
  return "?";
}

std::string Num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

// ---- fusion-train ------------------------------------------------------------

struct TrainArgs {
  InputArgs in;
  std::string out, tau = "60s", step, scope = kSystemScope, mode = "fused";
  std::string until, train_end_from, faults;
  FusionConfig cfg;
  int metric_steps = 12;
  size_t max_log_len = 512;
  bool no_momentum = false, no_augment = false, no_mask_channel = false, raw_counters = false;
};

int RunTrain(TrainArgs a) {
  WindowSpec spec;
  if (!ParseDuration(a.tau, &spec.tau)) {
    spdlog::error("bad --tau '{}' (e.g. 60s, 1m)", a.tau);
    return 2;
  }
  if (!a.step.empty() && !ParseDuration(a.step, &spec.step)) {
    spdlog::error("bad --step '{}' (e.g. 15s)", a.step);
    return 2;
  }
  if (!ParseModeName(a.mode, &a.cfg.mode)) {
    spdlog::error("unknown --mode '{}' (fused, log-only, metric-only, concat)", a.mode);
    return 2;
  }
  if (a.metric_steps < 1) {
    spdlog::error("--metric-steps must be >= 1");
    return 2;
  }
  spec.metric_steps = a.metric_steps;
  spec.max_log_len = a.max_log_len;
  spec.scope = a.scope;
  spec.counter_rates = !a.raw_counters;
  a.cfg.momentum = !a.no_momentum;
  a.cfg.augment = !a.no_augment;
  a.cfg.mask_channel = !a.no_mask_channel;
  TimeNs until = 0;
  if (!a.until.empty() && !ParseTimestamp(a.until, &until)) {
    spdlog::error("bad --until '{}' (ISO-8601 or unix time)", a.until);
    return 2;
  }
  if (!a.train_end_from.empty()) {
    GroundTruth gt;
    Status s = LoadGroundTruth(a.train_end_from, &gt);
    if (!s.ok()) {
      spdlog::error("--train-end-from: {}", s.ToString());
      return 1;
    }
    until = until > 0 ? std::min(until, gt.train_end) : gt.train_end;
  }
  std::vector<FaultEvent> faults;
  if (!ReadFaults(a.faults, &faults)) return 1;
  ConfigureTorchRuntime(a.cfg.threads);

  LogMetricWindowBuilder b(ToOptions(spec));
  if (!ReadInputs(a.in, &b)) return 1;
  auto all = b.Build();
  spdlog::info("windows: {}", b.stats().Summary());
  LabelWindows(faults, &all);
  auto windows = TakeScope(&all, spec.scope);
  std::vector<LogMetricWindow> train;
  size_t dropped_fault = 0, dropped_late = 0;
  for (auto& w : windows) {
    if (until > 0 && w.end > until) {
      ++dropped_late;
    } else if (w.label != 0) {
      ++dropped_fault;
    } else {
      train.push_back(std::move(w));
    }
  }
  if (train.empty()) {
    spdlog::error("no training windows of scope '{}' ({} windows with data; {} after the training "
                  "end, {} overlapping a fault)", spec.scope, windows.size(), dropped_late,
                  dropped_fault);
    return 1;
  }
  spec.schema = b.schema();
  FusionModel m(a.cfg);
  Status s = m.Fit(train, b.schema());
  std::string drain;
  if (s.ok()) s = DrainToText(b.parser(), &drain);
  if (s.ok()) {
    m.SetAttachment(kDrainAttachment, std::move(drain));
    m.SetAttachment(kWindowAttachment, WindowSpecJson(spec));
    s = m.Save(a.out);
  }
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const FusionStats& st = m.stats();
  fmt::print("trained fusion model ({}) on {} windows of scope '{}' ({} pairs, {} logs only, {} "
             "metrics only; {} after the training end and {} fault windows left out), {} "
             "validation; {} templates, {} metrics x {} steps; loss {:.4f}; {:.1f} s\n",
             FusionModeName(a.cfg.mode), st.train_windows, spec.scope, st.train_pairs,
             st.train_log_only, st.train_metric_only, dropped_late, dropped_fault,
             st.validation_windows, st.vocab, st.dims, st.steps, st.final_loss, st.train_seconds);
  fmt::print("thresholds: both {:.4g}, logs {:.4g}, metrics {:.4g}\nmodel written to {}\n",
             st.threshold_both, st.threshold_logs, st.threshold_metrics, a.out);
  return 0;
}

// ---- fusion-score ------------------------------------------------------------

struct ScoreArgs {
  InputArgs in;
  std::string model, out = "-", report, faults, since;
  int top = 3;
  bool explain_all = false;
  int threads = 0;
};

std::string TemplateList(const FusionAttribution& a, const DrainParser& p) {
  std::string o;
  for (const auto& [id, d] : a.templates) {
    if (!o.empty()) o += "; ";
    const std::string text = id >= 1 && id <= p.num_templates() ? p.TemplateText(id) : "?";
    o += fmt::format("E{} {}({:+.3g})", id, text, d);
  }
  return o;
}

std::string MetricList(const FusionAttribution& a) {
  std::string o;
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    if (!o.empty()) o += "; ";
    o += fmt::format("{}({:+.3g})", i < a.metric_names.size() ? a.metric_names[i] : "?",
                     a.metrics[i].second);
  }
  return o;
}

void WriteReport(const ScoreArgs& a, const FusionModel& m, const WindowSpec& spec,
                 const std::vector<LogMetricWindow>& ws, const std::vector<FusionScore>& sc,
                 const std::vector<FaultEvent>& faults, bool labelled,
                 const std::vector<std::array<float, 2>>& pts,
                 const std::vector<std::vector<std::string>>& top_rows) {
  HtmlReport r("Log + metric fusion: " + a.model);
  const FusionStats& st = m.stats();
  r.AddParagraph(fmt::format(
      "Mode {}, scope '{}', windows of {} s every {} s; {} windows scored, {} flagged. Trained on {} "
      "windows ({} templates, {} metrics). Thresholds: both {:.4g}, logs {:.4g}, metrics {:.4g}.",
      FusionModeName(m.config().mode), spec.scope, spec.tau / kNsPerSec,
      (spec.step > 0 ? spec.step : spec.tau) / kNsPerSec, ws.size(),
      std::count_if(sc.begin(), sc.end(), [](const FusionScore& s) { return s.anomaly; }),
      st.train_windows, st.vocab, st.dims, st.threshold_both, st.threshold_logs,
      st.threshold_metrics));
  Series score{"score (window start)", {}, {}};
  std::vector<Marker> alarms;
  for (size_t i = 0; i < ws.size(); ++i) {
    score.t.push_back(ws[i].start);
    score.v.push_back(sc[i].used == FusionModality::kNone ? NAN : sc[i].score);
    if (sc[i].anomaly) alarms.push_back({ws[i].start, fmt::format("score {:.3g}", sc[i].score)});
  }
  std::vector<Band> bands;
  for (const auto& f : faults) bands.push_back({f.start, f.end, f.kind + " " + f.service});
  const double thr = m.config().mode == FusionMode::kLogOnly      ? st.threshold_logs
                     : m.config().mode == FusionMode::kMetricOnly ? st.threshold_metrics
                                                                  : st.threshold_both;
  r.AddTimeline("Anomaly score per window", {score}, std::isfinite(thr) ? thr : NAN, bands, alarms);
  std::vector<double> xs, ys;
  std::vector<std::string> groups;
  for (size_t i = 0; i < pts.size() && i < ws.size(); ++i) {
    xs.push_back(pts[i][0]);
    ys.push_back(pts[i][1]);
    if (labelled) groups.push_back(ws[i].label ? "fault window" : "normal window");
    else groups.push_back(sc[i].anomaly ? "flagged" : "not flagged");
  }
  r.AddScatter(labelled ? "Embeddings (2-D PCA), coloured by ground truth"
                        : "Embeddings (2-D PCA), coloured by the model's flag",
               xs, ys, groups);
  if (!top_rows.empty()) {
    r.AddHeading("Highest-scoring flagged windows");
    r.AddTable({"start", "score", "modality", "top templates", "top metrics"}, top_rows);
  }
  Status s = r.WriteFile(a.report);
  if (!s.ok()) spdlog::error("report: {}", s.ToString());
  else fmt::print(stderr, "report written to {}\n", a.report);
}

int RunScore(const ScoreArgs& a) {
  ConfigureTorchRuntime(a.threads);
  std::unique_ptr<FusionModel> m;
  Status s = LoadFusionModel(a.model, &m);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const std::string* spec_text = m->Attachment(kWindowAttachment);
  const std::string* drain_text = m->Attachment(kDrainAttachment);
  if (spec_text == nullptr || drain_text == nullptr) {
    spdlog::error("{}: fusion model without window options or Drain parser (not written by "
                  "fusion-train)", a.model);
    return 1;
  }
  WindowSpec spec;
  std::unique_ptr<DrainParser> parser;
  s = ParseWindowSpec(*spec_text, &spec);
  if (s.ok()) s = DrainFromText(*drain_text, &parser);
  if (!s.ok()) {
    spdlog::error("{}: {}", a.model, s.ToString());
    return 1;
  }
  TimeNs since = 0;
  if (!a.since.empty() && !ParseTimestamp(a.since, &since)) {
    spdlog::error("bad --since '{}' (ISO-8601 or unix time)", a.since);
    return 2;
  }
  std::vector<FaultEvent> faults;
  if (!ReadFaults(a.faults, &faults)) return 1;
  const bool labelled = !a.faults.empty();

  LogMetricWindowBuilder b(ToOptions(spec));
  const DrainParser* drain = parser.get();
  b.SetParser(std::move(parser), /*learn=*/false);
  b.SetSchema(spec.schema);
  if (!ReadInputs(a.in, &b)) return 1;
  auto all = b.Build();
  spdlog::info("windows: {}", b.stats().Summary());
  LabelWindows(faults, &all);
  auto ws = TakeScope(&all, spec.scope);
  ws.erase(std::remove_if(ws.begin(), ws.end(), [&](const LogMetricWindow& w) { return w.start < since; }),
           ws.end());
  std::vector<FusionScore> sc;
  const auto t0 = std::chrono::steady_clock::now();
  s = m->Score(ws, &sc);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::unique_ptr<ScoreCsvWriter> w;
  s = ScoreCsvWriter::Open(a.out, {"threshold", "modality", "disagreement", "log_distance",
                                   "metric_distance", "label", "top_templates", "top_metrics"},
                           &w);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  size_t flagged = 0, by_modality[4] = {0, 0, 0, 0};
  std::vector<std::pair<double, std::vector<std::string>>> top;  // (score, report row)
  for (size_t i = 0; i < ws.size(); ++i) {
    const FusionScore& x = sc[i];
    ++by_modality[static_cast<int>(x.used)];
    flagged += x.anomaly;
    std::string tt, tm;
    if (x.used != FusionModality::kNone && (x.anomaly || a.explain_all)) {
      FusionAttribution at;
      s = m->Explain(ws[i], a.top, &at);
      if (!s.ok()) {
        spdlog::error("{}", s.ToString());
        return 1;
      }
      tt = TemplateList(at, *drain);
      tm = MetricList(at);
      if (x.anomaly)
        top.push_back({x.score, {FormatIso8601(ws[i].start), fmt::format("{:.4g}", x.score),
                                 ModalityName(x.used), tt, tm}});
    }
    ScoreRow row;
    row.start = ws[i].start;
    row.end = ws[i].end;
    row.service = ws[i].scope;
    row.score = x.score;
    row.anomaly = x.anomaly;
    row.extra = {Num(x.threshold), ModalityName(x.used), Num(x.disagreement), Num(x.log_distance),
                 Num(x.metric_distance), labelled ? std::to_string(ws[i].label) : "",
                 std::move(tt), std::move(tm)};
    s = w->Write(row);
    if (!s.ok()) break;
  }
  if (s.ok()) s = w->Close();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  fmt::print(stderr,
             "{} windows of scope '{}' scored in {:.3f} s: {} flagged; modality both {}, logs {}, "
             "metrics {}, none {}\n",
             ws.size(), spec.scope, secs, flagged, by_modality[3], by_modality[1], by_modality[2],
             by_modality[0]);
  if (labelled) {
    std::vector<double> score;
    std::vector<int> label, flag;
    for (size_t i = 0; i < ws.size(); ++i) {
      score.push_back(sc[i].score);
      label.push_back(ws[i].label);
      flag.push_back(sc[i].anomaly);
    }
    Confusion c = Evaluate(label, flag);
    fmt::print(stderr,
               "labels from {}: {} fault windows; P {:.3f} R {:.3f} F1 {:.3f}; PR-AUC {:.3f} "
               "ROC-AUC {:.3f} (window level, no point adjustment)\n",
               a.faults, std::count(label.begin(), label.end(), 1), c.precision(), c.recall(), c.f1(),
               PrAuc(score, label), RocAuc(score, label));
  }
  if (!a.report.empty()) {
    std::vector<std::array<float, 2>> pts;
    std::vector<const LogMetricWindow*> p;
    for (const auto& x : ws) p.push_back(&x);
    s = m->Project2D(p, &pts);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
    std::stable_sort(top.begin(), top.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    if (top.size() > 20) top.resize(20);
    std::vector<std::vector<std::string>> rows;
    for (auto& t : top) rows.push_back(std::move(t.second));
    WriteReport(a, *m, spec, ws, sc, faults, labelled, pts, rows);
  }
  return 0;
}

void Setup(CLI::App& app) {
  {
    auto a = std::make_shared<TrainArgs>();
    auto* cmd = app.add_subcommand(
        "fusion-train", "Fit the log + metric contrastive fusion model on normal operation");
    cmd->add_option("--out", a->out, "Model file to write")->required();
    cmd->add_option("--tau", a->tau, "Window length, e.g. 60s");
    cmd->add_option("--step", a->step, "Window start-to-start distance (default = tau)");
    cmd->add_option("--scope", a->scope, "A service name, or '*' for the whole system");
    cmd->add_option("--metric-steps", a->metric_steps, "Rows T of each window's metric matrix");
    cmd->add_option("--max-log-len", a->max_log_len, "Template ids kept per window");
    cmd->add_option("--mode", a->mode, "fused, log-only, metric-only, concat");
    cmd->add_option("--until", a->until, "Train only on windows that end by this time");
    cmd->add_option("--train-end-from", a->train_end_from,
                    "Train only on windows before train_end of this ground_truth.json");
    cmd->add_option("--faults", a->faults,
                    "Leave out windows overlapping these faults (ground_truth.json / fault_list.json)");
    cmd->add_option("--epochs", a->cfg.epochs, "Training epochs");
    cmd->add_option("--batch", a->cfg.batch, "Windows per step");
    cmd->add_option("--lr", a->cfg.lr, "Adam learning rate");
    cmd->add_option("--temperature", a->cfg.temperature, "InfoNCE temperature");
    cmd->add_option("--d-model", a->cfg.d_model, "Log encoder width");
    cmd->add_option("--layers", a->cfg.layers, "Transformer layers");
    cmd->add_option("--heads", a->cfg.heads, "Attention heads");
    cmd->add_option("--max-len", a->cfg.max_len, "Template ids the log encoder reads per window");
    cmd->add_option("--conv-channels", a->cfg.conv_channels, "Metric encoder channels per kernel");
    cmd->add_option("--lstm-hidden", a->cfg.lstm_hidden, "Metric encoder LSTM units");
    cmd->add_option("--embedding", a->cfg.embedding, "Shared embedding size k");
    cmd->add_option("--queue", a->cfg.queue, "MoCo negatives per modality");
    cmd->add_option("--knn", a->cfg.knn, "Neighbours of the k-NN score terms");
    cmd->add_option("--validation-fraction", a->cfg.validation_fraction,
                    "Chronological tail of the training windows held out for thresholds");
    cmd->add_option("--quantile", a->cfg.quantile, "Threshold quantile of validation scores");
    cmd->add_flag("--pot", a->cfg.pot, "Peaks-over-threshold instead of the quantile");
    cmd->add_flag("--no-momentum", a->no_momentum, "Plain in-batch InfoNCE (no MoCo encoder/queue)");
    cmd->add_flag("--no-augment", a->no_augment, "No augmentation");
    cmd->add_flag("--no-mask-channel", a->no_mask_channel,
                  "Do not feed the missing-data mask to the metric encoder");
    cmd->add_flag("--raw-counters", a->raw_counters,
                  "Use cumulative counters as raw totals instead of per-second rates");
    cmd->add_option("--seed", a->cfg.seed, "Random seed");
    cmd->add_option("--threads", a->cfg.threads, "Torch threads (0 = all cores)");
    AddInputOptions(cmd, &a->in);
    cmd->callback([a] { SetExitCode(RunTrain(*a)); });
  }
  {
    auto a = std::make_shared<ScoreArgs>();
    auto* cmd = app.add_subcommand("fusion-score", "Score windows with a fusion model");
    cmd->add_option("--model", a->model, "Model written by fusion-train")->required();
    cmd->add_option("--out", a->out, "Score CSV (default stdout)");
    cmd->add_option("--report", a->report, "Write an HTML report");
    cmd->add_option("--faults", a->faults,
                    "Ground truth for the label column, the summary and the report colours");
    cmd->add_option("--since", a->since, "Score only windows starting at or after this time");
    cmd->add_option("--top", a->top, "Templates and metrics listed per explained window");
    cmd->add_flag("--explain-all", a->explain_all, "Explain every window, not only flagged ones");
    cmd->add_option("--threads", a->threads, "Torch threads (0 = all cores)");
    AddInputOptions(cmd, &a->in);
    cmd->callback([a] { SetExitCode(RunScore(*a)); });
  }
}

CommandRegistration reg(65, Setup);

}  // namespace
}  // namespace triad::cli

#endif  // TRIAD_WITH_TORCH
