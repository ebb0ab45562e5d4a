// `triad serve`: OTLP/HTTP + Zipkin ingestion, online detection, SQLite state
// and a REST API (serve/ingest_server.h). SIGTERM/SIGINT: stop listening,
// process everything accepted, close open windows, exit 0.
#include <fmt/core.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
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

namespace triad::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:4318";
  std::string db = "triad.db";
  std::string token;
  std::string model;
  std::string model_dir;
  std::string lateness = "30s";
  std::string retention = "168h";
  size_t queue_batches = 1024;
  size_t queue_records = 2000000;
  size_t max_body_mb = 32;
  int threads = 8;
  std::string alert_webhook;
  std::string external_url;
  size_t alert_queue = 1000;
  int alert_attempts = 5;
};

// The newest file in `dir` that loads as a baseline model; "" if none.
std::string FindModel(const std::string& dir) {
  std::vector<std::pair<std::filesystem::file_time_type, std::string>> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file()) files.emplace_back(e.last_write_time(), e.path().string());
  std::sort(files.rbegin(), files.rend());
  for (const auto& [t, path] : files) {
    BaselineDetector d;
    if (BaselineDetector::Load(path, &d).ok()) return path;
  }
  return "";
}

int Run(const ServeArgs& a) {
  ServerOptions so;
  if (!ParseListenAddress(a.listen, &so.host, &so.port)) {
    spdlog::error("bad --listen '{}' (want host:port)", a.listen);
    return 2;
  }
  so.token = a.token;
  so.max_body_bytes = a.max_body_mb << 20;
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
  std::unique_ptr<Store> store;
  Status s = Store::Open(a.db, &store);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (a.db != ":memory:") po.drain_state_path = a.db + ".drain.json";
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

  PromRegistry metrics;
  OnlinePipeline pipeline(po, store.get(), det.get(), &metrics);
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
  }
  s = pipeline.Start();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  IngestServer server(so, &pipeline, store.get(), &metrics);
  s = server.Start();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    pipeline.Shutdown();
    return 1;
  }
  fmt::print("triad serve: listening on http://{}:{} (db {}, {}{})\n", so.host, server.port(),
             a.db, det ? "model " + model_path : "no model: not scoring",
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
  cmd->add_option("--model-dir", a->model_dir, "Directory: the newest baseline model in it")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--lateness", a->lateness, "Allowed lateness of event time (e.g. 30s)");
  cmd->add_option("--retention", a->retention, "Keep scores/anomalies this long (event time)");
  cmd->add_option("--queue-batches", a->queue_batches, "Bounded queue: batches");
  cmd->add_option("--queue-records", a->queue_records, "Bounded queue: records");
  cmd->add_option("--max-body-mb", a->max_body_mb, "Request body cap after decompression (MiB)");
  cmd->add_option("--threads", a->threads, "HTTP worker threads");
  cmd->add_option("--alert-webhook", a->alert_webhook,
                  "POST new anomalies to this Alertmanager-compatible webhook (http://host:port/path)");
  cmd->add_option("--external-url", a->external_url,
                  "This server's URL as users reach it (links in alerts; default: --listen)");
  cmd->add_option("--alert-queue", a->alert_queue, "Alerts waiting for the webhook (more are dropped)");
  cmd->add_option("--alert-attempts", a->alert_attempts, "POST attempts per alert batch");
  cmd->callback([a] { SetExitCode(Run(*a)); });
}

CommandRegistration reg(40, Setup);

}  // namespace
}  // namespace triad::cli
