// Cross-service contrastive model commands (issue 7; models/cross_service.h):
//   triad cs-train --out M [--sim DIR | INPUT...] [--step 15s --window 48 --steps 300 --lr ..
//                  --batch .. --tau .. --lambda .. --no-aggregate --train-from T --train-until T]
//   triad cs-score --model M [--sim DIR | INPUT...] [--out F.csv] [--report R.html] [--labels GT]
//   triad cs-sweep [--sim DIR | INPUT... --labels GT] [--out DIR] [--quick]   (paper's sensitivity)
//   triad cs-sweep --scaling [--scaling-services 10,50,200] (scoring time vs. services)
//
// Inputs: telemetry files in any format ReadTelemetry reads (spans, logs,
// metrics together), or --sim DIR: a `triad simulate` output directory
// ({traces,logs,metrics}.jsonl[.gz]; its ground_truth.json gives the
// training end and the labels unless --labels / --train-until say otherwise).
// The series is built by ServiceGraphBuilder with --step steps. Training uses
// steps [--train-from, --train-until) (default: up to the ground truth's
// train_end, else the whole input), all assumed normal.
//
// cs-train writes the model (CrossServiceModel::Save) and two files beside it:
// M.graph.json (the series options: step, origin, template slots) and
// M.drain.json (the Drain parser that mined the templates), so cs-score builds
// the same columns and template ids. (CrossServiceModel has no attachments.)
//
// Labels: a window (the w steps ending at t) is a fault window when it
// overlaps a fault of --labels (--label-rule overlap, the default) or when step
// t does (end). Localisation: over the fault windows, top-k = the share whose
// k highest-ranked suspects include a root-cause service of the fault
// (TopKAccuracy). The final step of the input is not scored (usually partial).
//
// Score output (detect/output.h contract): id,start,end,service,score,anomaly
// then step,threshold,system_anomaly,max_ratio,label,suspects,alarmed; one row per window
// end, service "*", score = S_t, start/end = the window's time range;
// max_ratio = max_v s_v / thr_v, suspects "svc:s_v" (highest ranked first,
// --top of them), alarmed = the services whose s_v passed service_margin
// times their own threshold. Built only with LibTorch.
#ifdef TRIAD_WITH_TORCH

#include <fmt/core.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "align/service_graph.h"
#include "cli/command.h"
#include "cli/input_options.h"
#include "core/time_parse.h"
#include "detect/output.h"
#include "detect/pipeline.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "ingest/nezha_faults.h"
#include "models/cross_service.h"
#include "models/runtime.h"
#include "sim/fault_events.h"
#include "sim/simulator.h"

namespace triad::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kSpecFormat[] = "triad-cs-graph";
constexpr int kSpecVersion = 1;

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- data ----------------------------------------------------------------------

// Where the data come from and how the series is built.
struct DataArgs {
  InputArgs in;
  std::string sim_dir;      // a `triad simulate` output directory
  std::string labels;       // ground_truth.json / fault_list.json
  std::string train_from, train_until;
  std::string step = "15s";
  int top_templates = 8;
  std::string label_rule = "overlap";
};

// A built series with what is known about it.
struct Dataset {
  ServiceGraphSeries series;
  std::vector<FaultEvent> faults;
  bool labelled = false;
  TimeNs train_end_time = 0;  // 0 = unknown
  int train_from = 0, train_to = 0;  // training steps [train_from, train_to)
};

// The series options saved beside a model (M.graph.json).
std::string SpecJson(const ServiceGraphOptions& o, const std::string& drain_file) {
  nlohmann::json j = {{"format", kSpecFormat},          {"version", kSpecVersion},
                      {"step_ns", o.step},              {"origin_ns", o.origin},
                      {"top_templates", o.top_templates}, {"counter_rates", o.counter_rates},
                      {"keep_self_calls", o.keep_self_calls}, {"peer_edges", o.peer_edges},
                      {"drain", drain_file}};
  return j.dump(1);
}

Status ParseSpec(const std::string& text, ServiceGraphOptions* o, std::string* drain_file) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not JSON");
  if (j.value("format", "") != kSpecFormat) return Status::Unsupported("not a cs-train graph file");
  if (j.value("version", 0) != kSpecVersion) return Status::Unsupported("another version");
  try {
    o->step = j.at("step_ns").get<TimeNs>();
    o->origin = j.at("origin_ns").get<TimeNs>();
    o->top_templates = j.at("top_templates").get<int>();
    o->counter_rates = j.at("counter_rates").get<bool>();
    o->keep_self_calls = j.at("keep_self_calls").get<bool>();
    o->peer_edges = j.at("peer_edges").get<bool>();
    *drain_file = j.at("drain").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(e.what());
  }
  if (o->step <= 0 || o->top_templates < 0) return Status::Corruption("bad step or top_templates");
  return Status::OK();
}

// The telemetry files of a simulator output directory.
std::vector<std::string> SimDirFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const char* name : {"traces", "logs", "metrics"})
    for (const char* ext : {".jsonl", ".jsonl.gz"}) {
      const fs::path p = fs::path(dir) / (std::string(name) + ext);
      if (fs::exists(p)) out.push_back(p.string());
    }
  return out;
}

// First step index at or after time t (clamped to [0, steps]).
int StepAt(const ServiceGraphSeries& s, TimeNs t) {
  if (t <= s.start) return 0;
  const TimeNs k = (t - s.start + s.step - 1) / s.step;
  return static_cast<int>(std::min<TimeNs>(k, s.steps));
}

// Number of steps that end by time t (clamped to [0, steps]).
int StepsBefore(const ServiceGraphSeries& s, TimeNs t) {
  return static_cast<int>(std::clamp<TimeNs>((t - s.start) / s.step, 0, s.steps));
}

// Sets the training step range from --train-from/--train-until and the ground
// truth's training end.
Status SetTrainRange(const DataArgs& a, Dataset* d) {
  TimeNs from = 0, until = d->train_end_time;
  if (!a.train_from.empty() && !ParseTimestamp(a.train_from, &from))
    return Status::InvalidArgument("bad --train-from '" + a.train_from + "' (ISO-8601 or unix time)");
  if (!a.train_until.empty() && !ParseTimestamp(a.train_until, &until))
    return Status::InvalidArgument("bad --train-until '" + a.train_until +
                                   "' (ISO-8601 or unix time)");
  const ServiceGraphSeries& s = d->series;
  d->train_from = StepAt(s, from);
  d->train_to = until > 0 ? StepsBefore(s, until) : s.steps;
  if (d->train_to <= d->train_from)
    return Status::InvalidArgument(fmt::format("empty training range (steps {}..{} of {})",
                                               d->train_from, d->train_to, s.steps));
  return Status::OK();
}

// Builds the series of the files of `a` (or --sim). drain_in: a parser file to
// use without learning ("" = learn a new one); drain_out: where to save the
// parser after reading ("" = nowhere).
Status LoadFiles(const DataArgs& a, const ServiceGraphOptions& go, const std::string& drain_in,
                 const std::string& drain_out, Dataset* d) {
  std::vector<std::string> paths = a.in.inputs;
  std::string labels = a.labels;
  if (!a.sim_dir.empty()) {
    if (!fs::is_directory(a.sim_dir)) return Status::NotFound("--sim: no directory " + a.sim_dir);
    const auto files = SimDirFiles(a.sim_dir);
    if (files.empty()) return Status::NotFound("--sim: no {traces,logs,metrics}.jsonl in " + a.sim_dir);
    paths.insert(paths.end(), files.begin(), files.end());
    const std::string gt = (fs::path(a.sim_dir) / "ground_truth.json").string();
    if (labels.empty() && fs::exists(gt)) labels = gt;
  }
  if (paths.empty()) return Status::InvalidArgument("no input: give files or --sim DIR");
  if (!labels.empty()) {
    ReadStats st;
    TRIAD_RETURN_IF_ERROR(LoadFaultEvents(labels, {}, &d->faults, &st));
    d->labelled = true;
    GroundTruth gt;  // a simulator ground truth also gives the training end
    if (LoadGroundTruth(labels, &gt).ok()) d->train_end_time = gt.train_end;
  }
  ServiceGraphBuilder b(go);
  std::unique_ptr<DrainParser> parser;
  if (!drain_in.empty()) {
    TRIAD_RETURN_IF_ERROR(DrainParser::Load(drain_in, &parser));
  } else {
    parser = std::make_unique<DrainParser>();
  }
  const DrainParser* p = parser.get();  // owned by b from here on
  b.SetParser(std::move(parser), /*learn=*/drain_in.empty());
  ReadStats stats;
  TRIAD_RETURN_IF_ERROR(ReadInputsInto(a.in, paths, b, &stats));
  spdlog::info("read {}", stats.Summary());
  if (b.read_stats().skipped > 0) spdlog::warn("service graph: {}", b.read_stats().Summary());
  TRIAD_RETURN_IF_ERROR(b.Build(&d->series));
  spdlog::info("service graph: {}", b.stats().Summary());
  if (!drain_out.empty()) TRIAD_RETURN_IF_ERROR(p->Save(drain_out));
  return Status::OK();
}

// Builds the series of a simulator run in memory.
Status LoadSimulated(const SimConfig& sc, const ServiceGraphOptions& go, const DataArgs& a,
                     Dataset* d) {
  TRIAD_RETURN_IF_ERROR(ValidateSimConfig(sc));
  Simulator sim(sc);
  ServiceGraphBuilder b(go);
  TRIAD_RETURN_IF_ERROR(sim.Run(b));
  TRIAD_RETURN_IF_ERROR(b.Build(&d->series));
  d->faults = FaultEventsOf(sim.truth());
  d->labelled = true;
  d->train_end_time = sim.truth().train_end;
  return SetTrainRange(a, d);
}

bool ParseGraphOptions(const DataArgs& a, ServiceGraphOptions* go) {
  if (!ParseDuration(a.step, &go->step) || go->step <= 0) {
    spdlog::error("bad --step '{}' (e.g. 15s, 1m)", a.step);
    return false;
  }
  if (a.top_templates < 0) {
    spdlog::error("--top-templates must be >= 0");
    return false;
  }
  if (a.label_rule != "overlap" && a.label_rule != "end") {
    spdlog::error("unknown --label-rule '{}' (overlap, end)", a.label_rule);
    return false;
  }
  go->top_templates = a.top_templates;
  return true;
}

// ---- evaluation ----------------------------------------------------------------

// The fault a window (w steps ending at `end`) belongs to, or nullptr.
const FaultEvent* FaultOfWindow(const Dataset& d, int w, int end, bool overlap) {
  const ServiceGraphSeries& s = d.series;
  const TimeNs t0 = s.start + static_cast<TimeNs>(overlap ? end - w + 1 : end) * s.step;
  const TimeNs t1 = s.start + static_cast<TimeNs>(end + 1) * s.step;
  for (const auto& f : d.faults)
    if (f.start < t1 && f.end > t0) return &f;
  return nullptr;
}

struct CsMetrics {
  Confusion all;                 // S_t or a service alarm
  Confusion system;              // S_t alone
  size_t windows = 0, fault_windows = 0, alarms = 0;
  double top1 = 0, top3 = 0;     // over the fault windows
};

CsMetrics EvaluateScores(const Dataset& d, int w, bool overlap,
                         const std::vector<CrossServiceScore>& sc) {
  CsMetrics m;
  std::vector<int> labels, preds, preds_sys;
  std::vector<std::vector<std::string>> ranked, truth;
  for (const auto& x : sc) {
    const FaultEvent* f = FaultOfWindow(d, w, x.step, overlap);
    labels.push_back(f != nullptr);
    preds.push_back(x.anomaly);
    preds_sys.push_back(x.system_anomaly);
    m.alarms += x.anomaly;
    if (f == nullptr) continue;
    std::vector<std::string> r;
    for (int v : x.ranked) r.push_back(d.series.services[v]);
    ranked.push_back(std::move(r));
    truth.push_back(f->services.empty() ? std::vector<std::string>{f->service} : f->services);
  }
  m.windows = sc.size();
  m.fault_windows = ranked.size();
  m.all = Evaluate(labels, preds);
  m.system = Evaluate(labels, preds_sys);
  m.top1 = TopKAccuracy(ranked, truth, 1);
  m.top3 = TopKAccuracy(ranked, truth, 3);
  return m;
}

// F1 of a detector that flags every window (the floor any F1 must beat).
double AlwaysAlarmF1(const CsMetrics& m) {
  const double p = m.windows ? static_cast<double>(m.fault_windows) / m.windows : 0;
  return p > 0 ? 2 * p / (1 + p) : 0;
}

std::string MetricsLine(const CsMetrics& m) {
  return fmt::format(
      "{} windows ({} fault; flag-all F1 {:.3f}): ACC {:.3f} P {:.3f} R {:.3f} F1 {:.3f} (S_t only: "
      "P {:.3f} R {:.3f} F1 {:.3f}); localisation top-1 {:.3f} top-3 {:.3f}",
      m.windows, m.fault_windows, AlwaysAlarmF1(m), m.all.accuracy(), m.all.precision(),
      m.all.recall(), m.all.f1(), m.system.precision(), m.system.recall(), m.system.f1(), m.top1,
      m.top3);
}

// ---- training progress ---------------------------------------------------------

// While alive, the model's "cross-service: step i/n loss x" lines (spdlog's
// default logger) get the elapsed time and an ETA appended; other messages
// pass through unchanged.
class ProgressEta {
 public:
  ProgressEta() : logger_(spdlog::default_logger()), saved_(logger_->sinks()) {
    logger_->sinks() = {std::make_shared<Sink>(saved_)};
  }
  ~ProgressEta() { logger_->sinks() = saved_; }
  ProgressEta(const ProgressEta&) = delete;
  ProgressEta& operator=(const ProgressEta&) = delete;

 private:
  class Sink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    explicit Sink(std::vector<spdlog::sink_ptr> next) : next_(std::move(next)), t0_(Clock::now()) {}

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      const std::string text(msg.payload.data(), msg.payload.size());
      int i = 0, n = 0;
      std::string eta;
      if (std::sscanf(text.c_str(), "cross-service: step %d/%d", &i, &n) == 2 && i > 0 && n >= i) {
        const double el = Seconds(t0_);
        eta = fmt::format("{} ({:.1f} s elapsed, ETA {:.1f} s)", text, el, el * (n - i) / i);
      }
      spdlog::details::log_msg out = msg;
      if (!eta.empty()) out.payload = spdlog::string_view_t(eta.data(), eta.size());
      for (auto& s : next_)
        if (s->should_log(out.level)) s->log(out);
    }
    void flush_() override {
      for (auto& s : next_) s->flush();
    }

   private:
    std::vector<spdlog::sink_ptr> next_;
    Clock::time_point t0_;
  };
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<spdlog::sink_ptr> saved_;
};

// ---- model options shared by cs-train and cs-sweep ------------------------------

struct ModelArgs {
  CrossServiceConfig cfg;
  bool no_aggregate = false;
  std::string weighting = "traffic";
};

void AddModelOptions(CLI::App* cmd, ModelArgs* m) {
  cmd->add_option("--window", m->cfg.window, "Window length w in steps (paper: 48)");
  cmd->add_option("--steps", m->cfg.steps, "Optimiser steps");
  cmd->add_option("--lr", m->cfg.lr, "Adam learning rate");
  cmd->add_option("--batch", m->cfg.batch, "(service, window) pairs per step");
  cmd->add_option("--tau", m->cfg.temperature, "InfoNCE temperature");
  cmd->add_option("--lambda", m->cfg.lambda, "Weight of the prototype term");
  cmd->add_option("--channels", m->cfg.channels, "Encoder channels");
  cmd->add_option("--embedding", m->cfg.embedding, "Embedding size k");
  cmd->add_option("--quantile", m->cfg.quantile, "Threshold quantile of validation scores");
  cmd->add_option("--validation-fraction", m->cfg.validation_fraction,
                  "Chronological tail of the training windows held out for thresholds");
  cmd->add_option("--service-margin", m->cfg.service_margin,
                  "A service alarms above this times its own threshold");
  cmd->add_flag("--max-ratio-alarm", m->cfg.max_ratio_alarm,
                "Alarm on max_v s_v / thr_v above its own validation quantile (instead of "
                "--service-margin)");
  cmd->add_option("--rank-neighbour-weight", m->cfg.rank_neighbour_weight,
                  "Suspect ranking: subtract this share of the highest callee's ratio");
  cmd->add_option("--weighting", m->weighting, "System score weights: traffic, uniform");
  cmd->add_flag("--no-aggregate", m->no_aggregate,
                "No neighbourhood aggregation (z = x: the single-service ablation)");
  cmd->add_option("--seed", m->cfg.seed, "Random seed");
  cmd->add_option("--threads", m->cfg.threads, "Torch threads (0 = all cores)");
}

bool FinishModelArgs(ModelArgs* m) {
  m->cfg.aggregate = !m->no_aggregate;
  if (m->weighting == "traffic") {
    m->cfg.weighting = ServiceWeighting::kTraffic;
  } else if (m->weighting == "uniform") {
    m->cfg.weighting = ServiceWeighting::kUniform;
  } else {
    spdlog::error("unknown --weighting '{}' (traffic, uniform)", m->weighting);
    return false;
  }
  return true;
}

void AddDataOptions(CLI::App* cmd, DataArgs* a, bool train_range) {
  AddInputOptions(cmd, &a->in);
  cmd->get_option("inputs")->required(false);
  cmd->add_option("--sim", a->sim_dir,
                  "A `triad simulate` output directory (its ground_truth.json gives labels and "
                  "the training end)");
  cmd->add_option("--labels", a->labels, "Ground truth (ground_truth.json / fault_list.json)");
  cmd->add_option("--step", a->step, "Time step of the series, e.g. 15s");
  cmd->add_option("--top-templates", a->top_templates, "Template count slots per service");
  cmd->add_option("--label-rule", a->label_rule,
                  "A fault window: the window overlaps a fault (overlap) or its last step does (end)");
  if (train_range) {
    cmd->add_option("--train-from", a->train_from, "Normal period start (default: the first step)");
    cmd->add_option("--train-until", a->train_until,
                    "Normal period end (default: the ground truth's train_end, else the whole input)");
  }
}

// ---- cs-train --------------------------------------------------------------------

struct TrainArgs {
  DataArgs data;
  ModelArgs model;
  std::string out;
};

int RunTrain(TrainArgs a) {
  ServiceGraphOptions go;
  if (!ParseGraphOptions(a.data, &go) || !FinishModelArgs(&a.model)) return 2;
  a.model.cfg.verbose = true;
  ConfigureTorchRuntime(a.model.cfg.threads);
  const std::string drain_file = a.out + ".drain.json";
  Dataset d;
  Status s = LoadFiles(a.data, go, "", drain_file, &d);
  if (s.ok()) s = SetTrainRange(a.data, &d);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  const ServiceGraphSeries& x = d.series;
  fmt::print(stderr, "series: {} services, d {}, {} steps of {} s; training steps {}..{}\n",
             x.num_services(), x.dims(), x.steps, x.step / kNsPerSec, d.train_from, d.train_to);
  CrossServiceModel m(a.model.cfg);
  {
    ProgressEta eta;
    s = m.Fit(x, d.train_from, d.train_to);
  }
  if (s.ok()) s = m.Save(a.out);
  if (s.ok()) {
    std::ofstream o(a.out + ".graph.json", std::ios::trunc);
    o << SpecJson(go, fs::path(drain_file).filename().string()) << "\n";
    if (!o) s = Status::IOError("cannot write " + a.out + ".graph.json");
  }
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const CrossServiceStats& st = m.stats();
  fmt::print("trained cross-service model ({}, w {}) on {} services x {} window ends ({} "
             "validation), d {}; loss {:.4f} -> {:.4f}; threshold {:.4g}; {:.1f} s\n",
             a.model.cfg.aggregate ? "with aggregation" : "no aggregation", a.model.cfg.window,
             st.services, st.train_windows, st.validation_windows, st.dims, st.first_loss,
             st.final_loss, st.threshold, st.train_seconds);
  fmt::print("model written to {} (+ .graph.json, .drain.json)\n", a.out);
  return 0;
}

// ---- cs-score --------------------------------------------------------------------

struct ScoreArgs {
  DataArgs data;
  std::string model, out = "-", report, since;
  int top = 3;
  int threads = 0;
};

std::string Suspects(const ServiceGraphSeries& s, const CrossServiceScore& x, size_t k) {
  std::string o;
  for (size_t r = 0; r < x.ranked.size() && r < k; ++r) {
    if (!o.empty()) o += "; ";
    o += fmt::format("{}:{:.4g}", s.services[x.ranked[r]], x.service[x.ranked[r]]);
  }
  return o;
}

void WriteScoreReport(const ScoreArgs& a, const CrossServiceModel& m, const Dataset& d,
                      const std::vector<CrossServiceScore>& sc, const CsMetrics* metrics) {
  const ServiceGraphSeries& s = d.series;
  const int w = m.config().window;
  auto end_time = [&](int t) { return s.start + static_cast<TimeNs>(t + 1) * s.step; };
  HtmlReport r("Cross-service model: " + a.model);
  r.AddParagraph(fmt::format(
      "{} services, window {} steps of {} s ({}), {} window ends scored, {} flagged. System "
      "threshold {:.4g} (quantile {} of the validation windows).",
      s.num_services(), w, s.step / kNsPerSec,
      m.config().aggregate ? "with neighbourhood aggregation" : "no aggregation", sc.size(),
      std::count_if(sc.begin(), sc.end(), [](const CrossServiceScore& x) { return x.anomaly; }),
      m.stats().threshold, m.config().quantile));
  if (metrics != nullptr) {
    const CsMetrics& e = *metrics;
    r.AddTable({"rule", "ACC", "P", "R", "F1", "top-1", "top-3", "fault windows"},
               {{"S_t or a service alarm", fmt::format("{:.3f}", e.all.accuracy()),
                 fmt::format("{:.3f}", e.all.precision()), fmt::format("{:.3f}", e.all.recall()),
                 fmt::format("{:.3f}", e.all.f1()), fmt::format("{:.3f}", e.top1),
                 fmt::format("{:.3f}", e.top3), std::to_string(e.fault_windows)},
                {"S_t only", fmt::format("{:.3f}", e.system.accuracy()),
                 fmt::format("{:.3f}", e.system.precision()),
                 fmt::format("{:.3f}", e.system.recall()), fmt::format("{:.3f}", e.system.f1())}});
  }
  std::vector<Band> bands;
  for (const auto& f : d.faults) bands.push_back({f.start, f.end, f.kind + " " + f.service});
  Series sys{"S_t (window end)", {}, {}};
  std::vector<Marker> alarms;
  std::vector<TimeNs> cols;
  const int n = s.num_services();
  std::vector<std::vector<double>> heat(n);
  for (const auto& x : sc) {
    const TimeNs t = end_time(x.step);
    sys.t.push_back(t);
    sys.v.push_back(x.system);
    cols.push_back(t - s.step);
    if (x.anomaly) alarms.push_back({t, fmt::format("S {:.3g}: {}", x.system, Suspects(s, x, 3))});
    for (int v = 0; v < n; ++v) {
      const double thr = m.ServiceThreshold(s.services[v]);
      heat[v].push_back(thr > 0 && std::isfinite(x.service[v]) ? x.service[v] / thr : NAN);
    }
  }
  r.AddTimeline("System score S_t", {sys}, m.stats().threshold, bands, alarms);
  r.AddHeatmap("Service scores s_v in units of each service's own threshold", s.services, cols,
               heat);
  // Lines of the services that rose highest.
  std::vector<std::pair<double, int>> peak;
  for (int v = 0; v < n; ++v) {
    double p = 0;
    for (double h : heat[v])
      if (std::isfinite(h)) p = std::max(p, h);
    peak.push_back({p, v});
  }
  std::sort(peak.rbegin(), peak.rend());
  std::vector<ServicePanel> panels;
  for (size_t i = 0; i < peak.size() && i < 6; ++i) {
    const int v = peak[i].second;
    ServicePanel p;
    p.name = s.services[v];
    Series line{"s_v", sys.t, {}};
    for (const auto& x : sc) line.v.push_back(x.service[v]);
    p.series.push_back(std::move(line));
    p.threshold = m.ServiceThreshold(s.services[v]) * m.config().service_margin;
    p.bands = bands;
    panels.push_back(std::move(p));
  }
  r.AddSmallMultiples("s_v of the 6 services that rose highest (line: margin x own threshold)",
                      panels);
  // Alarm episodes: runs of consecutive flagged window ends, suspects at the peak.
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < sc.size() && rows.size() < 100;) {
    if (!sc[i].anomaly) {
      ++i;
      continue;
    }
    size_t j = i, top = i;
    while (j < sc.size() && sc[j].anomaly) {
      if (sc[j].system > sc[top].system) top = j;
      ++j;
    }
    std::string truth;
    if (d.labelled) {
      const FaultEvent* f = FaultOfWindow(d, w, sc[top].step, a.data.label_rule == "overlap");
      truth = f ? f->kind + " " + f->service : "none (false alarm)";
    }
    rows.push_back({FormatIso8601(end_time(sc[i].step) - s.step), FormatIso8601(end_time(sc[j - 1].step)),
                    std::to_string(j - i), fmt::format("{:.4g}", sc[top].system),
                    Suspects(s, sc[top], 5), truth});
    i = j;
  }
  r.AddHeading("Alarms (consecutive flagged window ends) and their ranked suspects");
  r.AddTable({"from", "to", "windows", "peak S_t", "suspects at the peak (s_v)", "ground truth"},
             rows);
  Status st = r.WriteFile(a.report);
  if (!st.ok()) spdlog::error("report: {}", st.ToString());
  else fmt::print(stderr, "report written to {}\n", a.report);
}

int RunScore(ScoreArgs a) {
  ConfigureTorchRuntime(a.threads);
  std::unique_ptr<CrossServiceModel> m;
  Status s = LoadCrossServiceModel(a.model, &m);
  ServiceGraphOptions go;
  std::string drain_name;
  if (s.ok()) {
    std::ifstream in(a.model + ".graph.json");
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) s = Status::NotFound(a.model + ".graph.json (written by cs-train beside the model)");
    else s = ParseSpec(ss.str(), &go, &drain_name);
  }
  if (!s.ok()) {
    spdlog::error("{}: {}", a.model, s.ToString());
    return 1;
  }
  if (a.data.label_rule != "overlap" && a.data.label_rule != "end") {
    spdlog::error("unknown --label-rule '{}' (overlap, end)", a.data.label_rule);
    return 2;
  }
  TimeNs since = 0;
  if (!a.since.empty() && !ParseTimestamp(a.since, &since)) {
    spdlog::error("bad --since '{}' (ISO-8601 or unix time)", a.since);
    return 2;
  }
  Dataset d;
  const std::string drain = (fs::path(a.model).parent_path() / drain_name).string();
  s = LoadFiles(a.data, go, drain, "", &d);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const ServiceGraphSeries& x = d.series;
  // Default: the window ends after the training end when the ground truth gives one.
  int from = since > 0 ? StepAt(x, since) : (d.train_end_time > 0 ? StepsBefore(x, d.train_end_time) : 0);
  const int to = std::max(1, x.steps - 1);
  from = std::max(from, m->config().window - 1);
  std::vector<CrossServiceScore> sc;
  const auto t0 = Clock::now();
  if (from < to) s = m->Score(x, from, to, &sc);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const double secs = Seconds(t0);
  std::unique_ptr<ScoreCsvWriter> w;
  s = ScoreCsvWriter::Open(a.out, {"step", "threshold", "system_anomaly", "max_ratio", "label",
                                   "suspects", "alarmed"}, &w);
  const int win = m->config().window;
  const bool overlap = a.data.label_rule == "overlap";
  for (size_t i = 0; s.ok() && i < sc.size(); ++i) {
    const CrossServiceScore& c = sc[i];
    ScoreRow row;
    row.start = x.start + static_cast<TimeNs>(c.step - win + 1) * x.step;
    row.end = x.start + static_cast<TimeNs>(c.step + 1) * x.step;
    row.service = "*";
    row.score = c.system;
    row.anomaly = c.anomaly;
    std::string alarmed;
    for (int v : c.alarmed) alarmed += (alarmed.empty() ? "" : "; ") + x.services[v];
    row.extra = {std::to_string(c.step), fmt::format("{:.6g}", c.threshold),
                 c.system_anomaly ? "1" : "0", fmt::format("{:.6g}", c.max_ratio),
                 d.labelled ? (FaultOfWindow(d, win, c.step, overlap) ? "1" : "0") : "",
                 Suspects(x, c, static_cast<size_t>(std::max(0, a.top))), alarmed};
    s = w->Write(row);
  }
  if (s.ok()) s = w->Close();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  fmt::print(stderr, "{} window ends ({} services) scored in {:.3f} s ({:.3f} ms per window end): "
             "{} flagged\n", sc.size(), x.num_services(), secs,
             sc.empty() ? 0.0 : 1e3 * secs / sc.size(),
             std::count_if(sc.begin(), sc.end(), [](const CrossServiceScore& c) { return c.anomaly; }));
  CsMetrics e;
  if (d.labelled) {
    e = EvaluateScores(d, win, overlap, sc);
    fmt::print("{}\n", MetricsLine(e));
  }
  if (!a.report.empty()) WriteScoreReport(a, *m, d, sc, d.labelled ? &e : nullptr);
  return 0;
}

// ---- cs-sweep ----------------------------------------------------------------------

struct SweepArgs {
  DataArgs data;
  ModelArgs model;
  SimConfig sim;
  std::string out = "cs-sweep";
  bool quick = false, scaling = false;
  std::vector<double> lrs, taus;
  std::vector<int> batches, windows, scaling_services;
  int repeats = 5;
};

struct Factor {
  const char* name;   // CSV and column name
  const char* title;  // plot title
};
constexpr Factor kFactors[] = {{"lr", "Learning rate (paper: Table 2)"},
                               {"batch", "Batch size (paper: Fig. 2)"},
                               {"window", "Window length in steps (paper: Fig. 3)"},
                               {"tau", "Temperature (paper: Fig. 4)"}};

std::string Val(double v) { return fmt::format("{:g}", v); }

// The model config of one sweep point: the centre with factor `f` set to v.
CrossServiceConfig SweepConfig(const CrossServiceConfig& centre, const std::string& f, double v) {
  CrossServiceConfig c = centre;
  if (f == "lr") c.lr = v;
  if (f == "batch") c.batch = static_cast<int>(v);
  if (f == "window") c.window = static_cast<int>(v);
  if (f == "tau") c.temperature = v;
  return c;
}

int RunScaling(const SweepArgs& a, const ServiceGraphOptions& go) {
  fmt::print("services,dims,window_ends,ms_per_window,us_per_service,single_call_ms,build_s,fit_s\n");
  std::vector<std::string> csv;
  for (int n : a.scaling_services) {
    SimConfig sc;
    sc.seed = a.sim.seed;
    sc.services = n;
    sc.minutes = a.quick ? 12 : 40;
    sc.train_minutes = a.quick ? 8 : 30;
    sc.faults = 0;
    sc.rps = 5;
    Dataset d;
    const auto tb = Clock::now();
    Status s = LoadSimulated(sc, go, a.data, &d);
    const double build_s = Seconds(tb);
    CrossServiceConfig c = a.model.cfg;
    c.steps = a.quick ? 5 : 20;  // timing only: barely trained
    CrossServiceModel m(c);
    if (s.ok()) s = m.Fit(d.series, 0, d.train_to);
    if (!s.ok()) {
      spdlog::error("{} services: {}", n, s.ToString());
      return 1;
    }
    const ServiceGraphSeries& x = d.series;
    const int from = d.train_to, to = std::max(from + 1, x.steps - 1);
    std::vector<double> per_window, single;
    std::vector<CrossServiceScore> out;
    for (int r = 0; r < a.repeats && s.ok(); ++r) {
      auto t0 = Clock::now();
      s = m.Score(x, from, to, &out);
      per_window.push_back(1e3 * Seconds(t0) / std::max<size_t>(1, out.size()));
      t0 = Clock::now();
      if (s.ok()) s = m.Score(x, to - 1, to, &out);
      single.push_back(1e3 * Seconds(t0));
    }
    if (!s.ok()) {
      spdlog::error("{} services: {}", n, s.ToString());
      return 1;
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double ms = median(per_window);
    const std::string line =
        fmt::format("{},{},{},{:.3f},{:.2f},{:.3f},{:.1f},{:.1f}", x.num_services(), x.dims(),
                    to - from, ms, 1e3 * ms / x.num_services(), median(single), build_s,
                    m.stats().train_seconds);
    fmt::print("{}\n", line);
    std::fflush(stdout);
    csv.push_back(line);
  }
  if (!a.out.empty()) {
    fs::create_directories(a.out);
    std::ofstream o(fs::path(a.out) / "scaling.csv", std::ios::trunc);
    o << "services,dims,window_ends,ms_per_window,us_per_service,single_call_ms,build_s,fit_s\n";
    for (const auto& l : csv) o << l << "\n";
  }
  return 0;
}

int RunSweep(SweepArgs a) {
  ServiceGraphOptions go;
  if (!ParseGraphOptions(a.data, &go) || !FinishModelArgs(&a.model)) return 2;
  ConfigureTorchRuntime(a.model.cfg.threads);
  if (a.quick) {
    // A small run: seconds per point.
    if (a.lrs.empty()) a.lrs = {1e-4, 6e-4};
    if (a.batches.empty()) a.batches = {16, 32};
    if (a.windows.empty()) a.windows = {8, 16};
    if (a.taus.empty()) a.taus = {0.1, 0.5};
    if (a.scaling_services.empty()) a.scaling_services = {10, 20};
    a.model.cfg.steps = std::min(a.model.cfg.steps, 20);
    a.model.cfg.window = std::min(a.model.cfg.window, 12);
    a.model.cfg.batch = std::min(a.model.cfg.batch, 32);
    a.repeats = std::min(a.repeats, 3);
  } else {
    if (a.lrs.empty()) a.lrs = {1e-4, 2e-4, 3e-4, 4e-4, 5e-4, 6e-4, 1e-3};
    if (a.batches.empty()) a.batches = {16, 32, 64, 128};
    if (a.windows.empty()) a.windows = {12, 24, 48, 72, 96};
    if (a.taus.empty()) a.taus = {0.05, 0.1, 0.2, 0.5, 1.0};
    if (a.scaling_services.empty()) a.scaling_services = {10, 50, 200};
  }
  if (a.repeats < 1) a.repeats = 1;
  if (a.scaling) return RunScaling(a, go);

  Dataset d;
  Status s;
  std::string source;
  if (a.data.in.inputs.empty() && a.data.sim_dir.empty()) {
    if (a.quick) {
      a.sim.services = 5, a.sim.minutes = 40, a.sim.train_minutes = 16, a.sim.faults = 2;
      a.sim.rps = 3;
    }
    source = fmt::format("built-in simulator (seed {}, {} services, {} min, {} training, {} faults, "
                         "{} rps)", a.sim.seed, a.sim.services, a.sim.minutes, a.sim.train_minutes,
                         a.sim.faults, a.sim.rps);
    s = LoadSimulated(a.sim, go, a.data, &d);
  } else {
    source = a.data.sim_dir.empty() ? fmt::format("{} input files", a.data.in.inputs.size())
                                    : a.data.sim_dir;
    s = LoadFiles(a.data, go, "", "", &d);
    if (s.ok()) s = SetTrainRange(a.data, &d);
  }
  if (s.ok() && d.faults.empty())
    s = Status::InvalidArgument("the sweep needs labels with faults (--labels or --sim DIR)");
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  const ServiceGraphSeries& x = d.series;
  const bool overlap = a.data.label_rule == "overlap";
  fmt::print("data: {}; {} services, d {}, {} steps of {} s, training steps {}..{}, {} faults\n",
             source, x.num_services(), x.dims(), x.steps, x.step / kNsPerSec, d.train_from,
             d.train_to, d.faults.size());
  std::error_code ec;
  fs::create_directories(a.out, ec);
  const CrossServiceConfig& centre = a.model.cfg;
  HtmlReport report("Cross-service model: sensitivity sweeps");
  report.AddParagraph(fmt::format(
      "Data: {}. Centre: lr {}, batch {}, window {}, tau {}, lambda {}, {} steps, {}. One factor "
      "varied at a time. Window level (label rule '{}'), no point adjustment; top-k over the "
      "fault windows. Compare F1 with the F1 of flagging every window, 2p / (1 + p) for a "
      "fault-window share p (the `windows` and `fault_windows` columns).",
      source, Val(centre.lr), centre.batch, centre.window, Val(centre.temperature),
      Val(centre.lambda), centre.steps, centre.aggregate ? "with aggregation" : "no aggregation",
      a.data.label_rule));
  const std::vector<std::string> header = {"acc", "precision", "recall", "f1", "top1", "top3",
                                           "train_s", "windows", "fault_windows", "alarms",
                                           "final_loss", "threshold", "sys_precision",
                                           "sys_recall", "sys_f1"};
  const auto t_all = Clock::now();
  for (const Factor& f : kFactors) {
    std::vector<double> values;
    const std::string name = f.name;
    if (name == "lr") values = a.lrs;
    if (name == "tau") values = a.taus;
    if (name == "batch") values.assign(a.batches.begin(), a.batches.end());
    if (name == "window") values.assign(a.windows.begin(), a.windows.end());
    const std::string path = (fs::path(a.out) / ("sweep_" + name + ".csv")).string();
    std::ofstream csv(path, std::ios::trunc);
    csv << name;
    for (const auto& h : header) csv << "," << h;
    csv << "\n";
    std::vector<std::string> xs;
    std::vector<ChartLine> lines = {{"ACC", {}}, {"P", {}}, {"R", {}},
                                    {"F1", {}},  {"top-1", {}}, {"top-3", {}},
                                    {"F1 (S_t only)", {}}};
    std::vector<std::vector<std::string>> rows;
    for (double v : values) {
      CrossServiceConfig c = SweepConfig(centre, name, v);
      CrossServiceModel m(c);
      std::vector<CrossServiceScore> sc;
      s = m.Fit(x, d.train_from, d.train_to);
      if (s.ok()) s = m.Score(x, std::max(d.train_to, c.window - 1), std::max(1, x.steps - 1), &sc);
      if (!s.ok()) {  // e.g. a window too long for the training range: a gap in the table
        spdlog::warn("{} = {}: {}", name, Val(v), s.ToString());
        continue;
      }
      const CsMetrics e = EvaluateScores(d, c.window, overlap, sc);
      const CrossServiceStats& st = m.stats();
      const std::vector<double> nums = {e.all.accuracy(), e.all.precision(), e.all.recall(),
                                        e.all.f1(), e.top1, e.top3};
      std::vector<std::string> row = {Val(v)};
      for (double n : nums) row.push_back(fmt::format("{:.3f}", n));
      row.push_back(fmt::format("{:.3f}", st.train_seconds));
      row.push_back(std::to_string(e.windows));
      row.push_back(std::to_string(e.fault_windows));
      row.push_back(std::to_string(e.alarms));
      row.push_back(fmt::format("{:.4f}", st.final_loss));
      row.push_back(fmt::format("{:.4g}", st.threshold));
      for (double n : {e.system.precision(), e.system.recall(), e.system.f1()})
        row.push_back(fmt::format("{:.3f}", n));
      for (size_t i = 0; i < row.size(); ++i) csv << (i ? "," : "") << row[i];
      csv << "\n";
      xs.push_back(Val(v));
      for (size_t i = 0; i < nums.size(); ++i) lines[i].y.push_back(nums[i]);
      lines.back().y.push_back(e.system.f1());
      fmt::print("{} {}: {} (train {:.1f} s)\n", name, Val(v), MetricsLine(e), st.train_seconds);
      std::fflush(stdout);
      rows.push_back(std::move(row));
    }
    if (!csv) {
      spdlog::error("cannot write {}", path);
      return 1;
    }
    report.AddLineChart(f.title, name, xs, "metric", lines, 0, 1);
    std::vector<std::string> th = {name};
    th.insert(th.end(), header.begin(), header.end());
    report.AddTable(th, rows);
  }
  const std::string html = (fs::path(a.out) / "sweep.html").string();
  s = report.WriteFile(html);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  fmt::print("sweep done in {:.0f} s: {}/sweep_{{lr,batch,window,tau}}.csv and {}\n", Seconds(t_all),
             a.out, html);
  return 0;
}

void Setup(CLI::App& app) {
  {
    auto a = std::make_shared<TrainArgs>();
    auto* cmd = app.add_subcommand(
        "cs-train", "Fit the cross-service contrastive model (per-service prototypes) on normal data");
    cmd->add_option("--out", a->out, "Model file to write")->required();
    AddDataOptions(cmd, &a->data, /*train_range=*/true);
    AddModelOptions(cmd, &a->model);
    cmd->callback([a] { SetExitCode(RunTrain(*a)); });
  }
  {
    auto a = std::make_shared<ScoreArgs>();
    auto* cmd = app.add_subcommand(
        "cs-score", "Score every window end with a cross-service model: S_t, alarms, suspects");
    cmd->add_option("--model", a->model, "Model written by cs-train")->required();
    cmd->add_option("--out", a->out, "Score CSV (default stdout)");
    cmd->add_option("--report", a->report, "Write an HTML report");
    cmd->add_option("--since", a->since,
                    "Score window ends from this time (default: the ground truth's training end, "
                    "else all)");
    cmd->add_option("--top", a->top, "Suspects listed per window");
    cmd->add_option("--threads", a->threads, "Torch threads (0 = all cores)");
    AddDataOptions(cmd, &a->data, /*train_range=*/false);
    cmd->callback([a] { SetExitCode(RunScore(*a)); });
  }
  {
    auto a = std::make_shared<SweepArgs>();
    a->sim.seed = 3;
    a->sim.services = 10;
    a->sim.minutes = 180;
    a->sim.train_minutes = 90;
    a->sim.faults = 4;
    a->sim.rps = 10;
    auto* cmd = app.add_subcommand(
        "cs-sweep",
        "The paper's sensitivity studies (learning rate, batch, window, temperature) or, with "
        "--scaling, scoring time against the number of services");
    cmd->add_option("--out", a->out, "Output directory (sweep_<factor>.csv, sweep.html)");
    cmd->add_flag("--quick", a->quick, "A small, fast run (tiny simulator, 20 steps, 2 values)");
    cmd->add_flag("--scaling", a->scaling,
                  "Time Score() per window end for simulated systems of --scaling-services");
    cmd->add_option("--lrs", a->lrs, "Learning rates to sweep")->delimiter(',');
    cmd->add_option("--batches", a->batches, "Batch sizes to sweep")->delimiter(',');
    cmd->add_option("--windows", a->windows, "Window lengths to sweep")->delimiter(',');
    cmd->add_option("--taus", a->taus, "Temperatures to sweep")->delimiter(',');
    cmd->add_option("--scaling-services", a->scaling_services, "Service counts (--scaling)")
        ->delimiter(',');
    cmd->add_option("--repeats", a->repeats, "Timing repeats (--scaling; the median is shown)");
    cmd->add_option("--sim-seed", a->sim.seed, "Built-in simulator: seed");
    cmd->add_option("--sim-services", a->sim.services, "Built-in simulator: services");
    cmd->add_option("--sim-minutes", a->sim.minutes, "Built-in simulator: minutes");
    cmd->add_option("--sim-train-minutes", a->sim.train_minutes,
                    "Built-in simulator: fault-free training minutes");
    cmd->add_option("--sim-faults", a->sim.faults, "Built-in simulator: faults");
    cmd->add_option("--sim-rps", a->sim.rps, "Built-in simulator: requests per second");
    AddDataOptions(cmd, &a->data, /*train_range=*/true);
    AddModelOptions(cmd, &a->model);
    cmd->callback([a] { SetExitCode(RunSweep(*a)); });
  }
}

CommandRegistration reg(67, Setup);

}  // namespace
}  // namespace triad::cli

#endif  // TRIAD_WITH_TORCH
