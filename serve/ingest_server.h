// IngestServer: `triad serve`'s HTTP side (cpp-httplib).
//
// Ingest (OTLP/HTTP 1.x, https://opentelemetry.io/docs/specs/otlp/#otlphttp):
//   POST /v1/traces, /v1/logs, /v1/metrics
//        Content-Type application/x-protobuf or application/json;
//        Content-Encoding gzip allowed (decoded as a stream; the body is capped
//        at max_body_bytes AFTER decompression, so a gzip bomb gets 413).
//   POST /api/v2/spans   Zipkin v2 JSON (answered 202 like Zipkin).
// Answers:
//   200 Export*ServiceResponse in the request's encoding; partial_success
//       carries the rejected record count and the first reason when records
//       were skipped (malformed, or of another signal than the path's), and
//       how many strings were truncated / attributes dropped by the limits
//       (ServerOptions::limits; Prometheus triad_truncated_values_total,
//       triad_dropped_attributes_total);
//   400 undecodable payload or nesting over the limit; 413 body too large or
//   too many records; 415 unsupported Content-Type or Content-Encoding;
//   429 queue full and 503 shutting down, both with
//   Retry-After. Error bodies are google.rpc.Status (protobuf or JSON).
// API (JSON, nlohmann):
//   GET /api/v1/anomalies?service=&from=&to=&limit=   newest first; from/to
//       are timestamps (ISO-8601 or Unix s/ms/us/ns, see core/time_parse.h)
//   GET /api/v1/anomalies/<id>         one anomaly with its evidence
//   GET /api/v1/scores?service=&from=&to=&limit=   the score timeline
//   GET /api/v1/services   services with their latest score and call edges
//   GET /api/v1/templates?limit=       log templates, most frequent first
//   GET /api/v1/model      loaded model versions (newest = active)
// Web UI: GET / (and /ui/app.js, /ui/app.css), embedded (serve/web_ui.h).
// Operations: GET /healthz (process up), GET /readyz (pipeline accepting and
// store writable), GET /metrics (Prometheus text: Triad's own counters).
// Security: binds 127.0.0.1 unless told otherwise; with a token, every path
// but /healthz, /readyz and the UI's static assets needs "Authorization: Bearer <token>" (401).
// No request path reaches the file system.
#ifndef TRIAD_SERVE_INGEST_SERVER_H_
#define TRIAD_SERVE_INGEST_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "ingest/ingest_limits.h"
#include "serve/online_pipeline.h"
#include "serve/prom_metrics.h"
#include "serve/store.h"
#include "triad/status.h"

namespace httplib {
class Server;
}

namespace triad {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 4318;                     // 0 = any free port (see IngestServer::port)
  std::string token;                   // empty = no authentication
  size_t max_body_bytes = 32u << 20;   // per request, after decompression
  // Decoder limits (ingest/ingest_limits.h): strings, attributes, nesting,
  // records per request; limits.max_bytes is capped at max_body_bytes.
  IngestLimits limits;
  int retry_after_s = 2;               // Retry-After of 429/503
  int threads = 8;                     // HTTP worker threads
};

// Splits "host:port" (or ":port", or "port") into its parts. Returns false if
// the port is not 0..65535. IPv6 as "[::1]:4318".
bool ParseListenAddress(const std::string& text, std::string* host, int* port);

class IngestServer {
 public:
  // `pipeline`, `store` and `metrics` must outlive the server.
  IngestServer(ServerOptions opts, OnlinePipeline* pipeline, Store* store, PromRegistry* metrics);
  ~IngestServer();  // Stop()
  IngestServer(const IngestServer&) = delete;
  IngestServer& operator=(const IngestServer&) = delete;

  // Binds and starts serving on a background thread. Returns IOError if the
  // address cannot be bound.
  Status Start();
  // Stops accepting connections and waits for the listener thread. Requests
  // being handled finish first. Idempotent.
  void Stop();
  int port() const { return port_; }
  const std::string& host() const { return opts_.host; }

 private:
  void Routes();

  ServerOptions opts_;
  OnlinePipeline* pipeline_;
  Store* store_;
  PromRegistry* metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  int port_ = -1;
};

}  // namespace triad

#endif  // TRIAD_SERVE_INGEST_SERVER_H_
