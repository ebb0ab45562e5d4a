// `triad serve`: OTLP/HTTP + Zipkin ingestion, online detection, SQLite state
// and a REST API (serve/ingest_server.h). Accepted batches are appended to a
// spill journal (<db>.journal/, serve/journal.h) before the 2xx; at start the
// journal is replayed from the last checkpoint (the count is printed).
// SIGTERM/SIGINT: stop listening, process everything accepted, checkpoint,
// exit 0; open windows are rebuilt from the journal at the next start (with
// --journal-dir none: they are closed at exit instead). kill -9 loses at most
// the batch whose request had not been answered.
#include <fmt/core.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "detect/baseline.h"
#include "detect/pipeline.h"
#include "serve/alert_webhook.h"
#include "serve/ingest_server.h"
#include "serve/online_pipeline.h"
#include "serve/prom_metrics.h"
#include "serve/store.h"
#include "serve/trace_scoring.h"
#ifdef TRIAD_WITH_TORCH
#include "models/trace_scorer.h"
#endif

namespace triad::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:4318";
  std::string db = "triad.db";
  std::string token;
  std::string model;
  std::string model_dir;
  std::string trace_model;
  std::string lateness = "30s";
  std::string retention = "168h";
  size_t queue_batches = 1024;
  size_t queue_records = 2000000;
  size_t max_body_mb = 32;
  IngestLimits limits;  // --max-string-bytes, --max-attributes, --max-records
  int threads = 8;
  std::string alert_webhook;
  std::string external_url;
  size_t alert_queue = 1000;
  int alert_attempts = 5;
  std::string journal_dir;  // "" = <db>.journal; "none" = no journal
  size_t journal_max_mb = 2048;
  bool fsync = false;
  std::string idle_close;   // "" = 2 x (window + lateness); "0" = never
  std::string checkpoint_interval = "1s";
};

// The newest file in `dir` that `loads`; "" if none.
std::string FindNewest(const std::string& dir, const std::function<bool(const std::string&)>& loads) {
  std::vector<std::pair<std::filesystem::file_time_type, std::string>> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file()) files.emplace_back(e.last_write_time(), e.path().string());
  std::sort(files.rbegin(), files.rend());
  for (const auto& [t, path] : files)
    if (loads(path)) return path;
  return "";
}

std::string FindModel(const std::string& dir) {
  return FindNewest(dir, [](const std::string& path) {
    BaselineDetector d;
    return BaselineDetector::Load(path, &d).ok();
  });
}

// The trace model (`triad trace-train`) that scores completed traces: --trace-model,
// else the newest one in --model-dir. Returns false (logged) on a bad file.
bool LoadTraceModel(const ServeArgs& a, std::unique_ptr<TraceScorer>* out, std::string* path) {
  *path = a.trace_model;
#ifdef TRIAD_WITH_TORCH
  if (path->empty() && !a.model_dir.empty())
    *path = FindNewest(a.model_dir, [](const std::string& p) {
      std::unique_ptr<TraceScorer> s;
      return LoadTraceScorer(p, &s).ok();
    });
  if (path->empty()) return true;
  Status s = LoadTraceScorer(*path, out);
  if (!s.ok()) spdlog::error("--trace-model {}: {}", *path, s.ToString());
  return s.ok();
#else
  if (path->empty()) return true;
  spdlog::error("--trace-model: this triad was built without LibTorch (TRIAD_WITH_TORCH=OFF)");
  return false;
#endif
}

int Run(const ServeArgs& a) {
  ServerOptions so;
  if (!ParseListenAddress(a.listen, &so.host, &so.port)) {
    spdlog::error("bad --listen '{}' (want host:port)", a.listen);
    return 2;
  }
  so.token = a.token;
  so.max_body_bytes = a.max_body_mb << 20;
  so.limits = a.limits;
  so.threads = a.threads;
  PipelineOptions po;
  po.max_queue_batches = std::max<size_t>(1, a.queue_batches);
  po.max_queue_records = std::max<size_t>(1, a.queue_records);
  if (!ParseDuration(a.lateness, &po.windows.allowed_lateness)) {
    spdlog::error("bad --lateness '{}'", a.lateness);
    return 2;
  }
  if (!ParseDuration(a.retention, &po.retention)) {
    spdlog::error("bad --retention '{}'", a.retention);
    return 2;
  }
  std::string model_path = a.model;
  if (model_path.empty() && !a.model_dir.empty()) {
    model_path = FindModel(a.model_dir);
    if (model_path.empty())
      spdlog::warn("no baseline model in {}: ingesting without scoring", a.model_dir);
  }
  std::unique_ptr<BaselineDetector> det;
  if (!model_path.empty()) {
    det = std::make_unique<BaselineDetector>();
    Status s = BaselineDetector::Load(model_path, det.get());
    if (!s.ok()) {
      spdlog::error("{}: {}", model_path, s.ToString());
      return 1;
    }
    po.windows.window = det->config().window;
  }
  std::unique_ptr<TraceScorer> trace_scorer;
  std::string trace_model_path;
  if (!LoadTraceModel(a, &trace_scorer, &trace_model_path)) return 1;
  std::unique_ptr<Store> store;
  Status s = Store::Open(a.db, &store);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (a.db != ":memory:") po.drain_state_path = a.db + ".drain.json";
  if (a.journal_dir != "none" && (a.db != ":memory:" || !a.journal_dir.empty())) {
    po.journal.dir = a.journal_dir.empty() ? a.db + ".journal" : a.journal_dir;
    po.journal.max_bytes = std::max<uint64_t>(1, a.journal_max_mb) << 20;
    po.journal.segment_bytes = std::min<uint64_t>(64ull << 20, po.journal.max_bytes / 4 + 1);
    po.journal.fsync = a.fsync;
  }
  if (!a.idle_close.empty()) {
    TimeNs idle = 0;
    if (a.idle_close != "0" && !ParseDuration(a.idle_close, &idle)) {
      spdlog::error("bad --idle-close '{}'", a.idle_close);
      return 2;
    }
    po.idle_close = std::chrono::milliseconds(idle / kNsPerMs);
  }
  TimeNs ckpt = 0;
  if (!ParseDuration(a.checkpoint_interval, &ckpt) || ckpt <= 0) {
    spdlog::error("bad --checkpoint-interval '{}'", a.checkpoint_interval);
    return 2;
  }
  po.checkpoint_interval = std::chrono::milliseconds(ckpt / kNsPerMs);
  if (det) {
    ModelRow row;
    row.name = std::filesystem::path(model_path).filename().string();
    row.kind = "baseline";
    row.path = std::filesystem::absolute(model_path).string();
    row.version = BaselineDetector::kVersion;
    row.threshold = det->threshold();
    row.info_json = nlohmann::json{{"window_s", det->config().window / kNsPerSec},
                                   {"services", det->services().size()}}
                        .dump();
    row.loaded = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    s = store->AddModel(&row);
    if (!s.ok()) spdlog::warn("{}", s.ToString());
    po.model_name = row.name;
  }

  // Signals are taken by sigwait on this thread; every other thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  if (trace_scorer) {
    ModelRow row;
    row.name = std::filesystem::path(trace_model_path).filename().string();
    row.kind = trace_scorer->name();
    row.path = std::filesystem::absolute(trace_model_path).string();
    row.threshold = 1.0;
    row.loaded = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    s = store->AddModel(&row);
    if (!s.ok()) spdlog::warn("{}", s.ToString());
  }

  PromRegistry metrics;
  // Declared before the pipeline, which shuts it down: destroyed after it.
  std::unique_ptr<TraceScoringStage> trace_stage;
  OnlinePipeline pipeline(po, store.get(), det.get(), &metrics);
  if (trace_scorer) {
    TraceScoringOptions to;
    to.window = po.windows.window;
    to.flush_delay = po.windows.allowed_lateness + po.traces.idle_timeout;
    to.flush_open_at_shutdown = po.journal.dir.empty();
    trace_stage = std::make_unique<TraceScoringStage>(to, trace_scorer.get(), store.get(), &metrics);
    pipeline.set_trace_stage(trace_stage.get());
  }
  std::unique_ptr<AlertWebhook> webhook;
  if (!a.alert_webhook.empty()) {
    AlertWebhookOptions wo;
    wo.url = a.alert_webhook;
    wo.max_queue = std::max<size_t>(1, a.alert_queue);
    wo.max_attempts = a.alert_attempts;
    // The UI's address for the alerts' links (unknown here with port 0 unless given).
    wo.external_url = !a.external_url.empty() ? a.external_url
                      : so.port != 0          ? fmt::format("http://{}:{}", so.host, so.port)
                                              : "";
    webhook = std::make_unique<AlertWebhook>(wo, &metrics);
    s = webhook->Start();
    if (!s.ok()) {
      spdlog::error("--alert-webhook: {}", s.ToString());
      return 2;
    }
    pipeline.set_anomaly_hook([w = webhook.get()](const AnomalyRow& row) { w->Enqueue(row); });
    if (trace_stage)
      trace_stage->set_anomaly_hook([w = webhook.get()](const AnomalyRow& row) { w->Enqueue(row); });
  }
  s = pipeline.Start();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (pipeline.journal() != nullptr) {
    const ReadStats& js = pipeline.journal_stats();
    fmt::print("triad serve: journal {}: replayed {} records ({} batches){}\n", po.journal.dir,
               pipeline.replayed_records(), pipeline.replayed_batches(),
               js.skipped > 0 ? fmt::format(", {} damaged records skipped", js.skipped) : "");
  }
  IngestServer server(so, &pipeline, store.get(), &metrics);
  s = server.Start();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    pipeline.Shutdown();
    return 1;
  }
  fmt::print("triad serve: listening on http://{}:{} (db {}, {}{}{})\n", so.host, server.port(),
             a.db, det ? "model " + model_path : "no model: not scoring",
             trace_scorer ? ", trace model " + trace_model_path : "",
             so.token.empty() ? "" : ", bearer token required");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("{}: stopping: no new requests; processing what was accepted",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  auto t0 = std::chrono::steady_clock::now();
  server.Stop();
  pipeline.Shutdown();
  if (webhook) webhook->Shutdown(std::chrono::seconds(5));  // deliver what is queued, briefly
  s = pipeline.last_store_error();
  spdlog::info("stopped in {:.2f} s", std::chrono::duration<double>(
                                          std::chrono::steady_clock::now() - t0).count());
  if (!s.ok()) {
    spdlog::error("store: {}", s.ToString());
    return 1;
  }
  return 0;
}

void Setup(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Receive OTLP/HTTP and Zipkin telemetry, detect anomalies online, serve an API");
  cmd->add_option("--listen", a->listen, "host:port to listen on (port 0: any free port)");
  cmd->add_option("--db", a->db, "SQLite database for anomalies, scores, templates");
  cmd->add_option("--token", a->token, "Require 'Authorization: Bearer TOKEN'");
  cmd->add_option("--model", a->model, "Baseline model file (triad train)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--trace-model", a->trace_model,
                  "Trace model file (triad trace-train): scores every completed trace");
  cmd->add_option("--model-dir", a->model_dir, "Directory: the newest baseline model (and trace model) in it")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--lateness", a->lateness, "Allowed lateness of event time (e.g. 30s)");
  cmd->add_option("--retention", a->retention, "Keep scores/anomalies this long (event time)");
  cmd->add_option("--queue-batches", a->queue_batches, "Bounded queue: batches");
  cmd->add_option("--queue-records", a->queue_records, "Bounded queue: records");
  cmd->add_option("--max-body-mb", a->max_body_mb, "Request body cap after decompression (MiB)");
  cmd->add_option("--max-string-bytes", a->limits.max_string_bytes,
                  "Longer strings (attribute values, log bodies, names, ids) are truncated")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-attributes", a->limits.max_attributes,
                  "Attributes kept per record/data point (more are dropped and counted)");
  cmd->add_option("--max-records", a->limits.max_records,
                  "Records per request (more: the request is refused with 413)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "HTTP worker threads");
  cmd->add_option("--alert-webhook", a->alert_webhook,
                  "POST new anomalies to this Alertmanager-compatible webhook (http://host:port/path)");
  cmd->add_option("--external-url", a->external_url,
                  "This server's URL as users reach it (links in alerts; default: --listen)");
  cmd->add_option("--alert-queue", a->alert_queue, "Alerts waiting for the webhook (more are dropped)");
  cmd->add_option("--alert-attempts", a->alert_attempts, "POST attempts per alert batch");
  cmd->add_option("--journal-dir", a->journal_dir,
                  "Spill journal of accepted batches, replayed after a crash or restart "
                  "(default <db>.journal; 'none': no journal)");
  cmd->add_option("--journal-max-mb", a->journal_max_mb,
                  "Journal size cap (MiB); when full, ingest answers 429");
  cmd->add_flag("--fsync", a->fsync,
                "fdatasync the journal before acknowledging (group commit; survives power loss)");
  cmd->add_option("--idle-close", a->idle_close,
                  "Close open windows after this much wall-clock idleness (e.g. 2m; 0: never; "
                  "default 2 x (window + lateness))");
  cmd->add_option("--checkpoint-interval", a->checkpoint_interval,
                  "Checkpoint (parser state, replay start) this long after a window closes; "
                  "longer: fewer writes, longer replay after a crash");
  cmd->callback([a] { SetExitCode(Run(*a)); });
}

CommandRegistration reg(40, Setup);

}  // namespace
}  // namespace triad::cli
