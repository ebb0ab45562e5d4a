#include "serve/ingest_server.h"

#include <fmt/core.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/time_parse.h"
#include "detect/output.h"
#include "ingest/otlp_proto.h"
#include "serve/request_decoder.h"
#include "serve/web_ui.h"

namespace triad {
namespace {

using json = nlohmann::json;

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// google.rpc.Status{code = 1, message = 2}, the OTLP/HTTP error body.
void SetError(httplib::Response& res, IngestEncoding enc, int http_status, int rpc_code,
              const std::string& message) {
  res.status = http_status;
  if (enc == IngestEncoding::kProto) {
    std::string body;
    body.push_back(0x08);
    AppendVarint(static_cast<uint64_t>(rpc_code), &body);
    body.push_back(0x12);
    AppendVarint(message.size(), &body);
    body += message;
    res.set_content(body, "application/x-protobuf");
  } else {
    res.set_content(json{{"code", rpc_code}, {"message", message}}.dump(), "application/json");
  }
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

bool TimeParam(const httplib::Request& req, const char* name, TimeNs* out, std::string* err) {
  if (!req.has_param(name)) return true;
  std::string v = req.get_param_value(name);
  if (!ParseTimestamp(v, out)) {
    *err = fmt::format("bad '{}': '{}' is not a timestamp", name, v.substr(0, 100));
    return false;
  }
  return true;
}

size_t LimitParam(const httplib::Request& req, size_t def, size_t max) {
  if (!req.has_param("limit")) return def;
  try {
    long long v = std::stoll(req.get_param_value("limit"));
    return v <= 0 ? def : std::min<size_t>(static_cast<size_t>(v), max);
  } catch (...) {
    return def;
  }
}

void SendJson(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

json AnomalyJson(const AnomalyRow& a, bool with_evidence) {
  json j = {{"id", a.id},
            {"service", a.service},
            {"start_ns", a.start},
            {"end_ns", a.end},
            {"start", FormatIso8601(a.start)},
            {"end", FormatIso8601(a.end)},
            {"score", a.score},
            {"threshold", a.threshold},
            {"model", a.model},
            {"summary", a.summary},
            {"detected", FormatIso8601(a.detected)}};
  if (with_evidence) j["evidence"] = json::parse(a.evidence_json, nullptr, false);
  return j;
}

// The process_* gauges of Prometheus client libraries, from /proc/self (Linux;
// left alone elsewhere): resident memory now and at its peak, CPU seconds.
void SetProcessGauges(PromRegistry* m) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f != nullptr) {
    char line[256];
    double kb = 0;
    while (std::fgets(line, sizeof line, f) != nullptr) {
      if (std::sscanf(line, "VmRSS: %lf", &kb) == 1)
        m->Gauge("process_resident_memory_bytes", "Resident memory size in bytes")->Set(kb * 1024);
      else if (std::sscanf(line, "VmHWM: %lf", &kb) == 1)
        m->Gauge("process_resident_memory_peak_bytes", "Peak resident memory size in bytes")
            ->Set(kb * 1024);
    }
    std::fclose(f);
  }
  f = std::fopen("/proc/self/stat", "r");
  if (f != nullptr) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');  // fields after the command name
    unsigned long long ut = 0, st = 0;
    if (p != nullptr &&
        std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
      m->Gauge("process_cpu_seconds_total", "User and system CPU time in seconds")
          ->Set(static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK)));
  }
}

}  // namespace

bool ParseListenAddress(const std::string& text, std::string* host, int* port) {
  std::string h, p;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) return false;
    h = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      p = text.substr(close + 2);
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      bool digits = !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit);
      (digits ? p : h) = text;
    } else {
      h = text.substr(0, colon);
      p = text.substr(colon + 1);
    }
  }
  if (!p.empty()) {
    if (p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
    int v = std::stoi(p);
    if (v > 65535) return false;
    *port = v;
  }
  if (!h.empty()) *host = h;
  return true;
}

IngestServer::IngestServer(ServerOptions opts, OnlinePipeline* pipeline, Store* store,
                           PromRegistry* metrics)
    : opts_(std::move(opts)), pipeline_(pipeline), store_(store), metrics_(metrics),
      http_(new httplib::Server) {
  Routes();
}

IngestServer::~IngestServer() { Stop(); }

Status IngestServer::Start() {
  const int threads = std::max(1, opts_.threads);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(opts_.max_body_bytes);
  http_->set_tcp_nodelay(true);  // no Nagle delay on responses to keep-alive clients
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  if (opts_.port == 0) {
    port_ = http_->bind_to_any_port(opts_.host);
  } else {
    port_ = http_->bind_to_port(opts_.host, opts_.port) ? opts_.port : -1;
  }
  if (port_ < 0)
    return Status::IOError(fmt::format("cannot listen on {}:{}", opts_.host, opts_.port));
  listener_ = std::thread([this] { http_->listen_after_bind(); });
  for (int i = 0; i < 2000 && !http_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::OK();
}

void IngestServer::Stop() {
  if (listener_.joinable()) {
    http_->stop();
    listener_.join();
  }
}

void IngestServer::Routes() {
  httplib::Server& s = *http_;
  PromRegistry* m = metrics_;

  s.set_pre_routing_handler([this, m](const httplib::Request& req, httplib::Response& res) {
    // The UI's static assets carry no data: the page asks for the token itself.
    if (opts_.token.empty() || req.path == "/healthz" || req.path == "/readyz" ||
        (req.method == "GET" && FindWebAsset(req.path) != nullptr))
      return httplib::Server::HandlerResponse::Unhandled;
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0 && ConstantTimeEquals(auth.substr(7), opts_.token))
      return httplib::Server::HandlerResponse::Unhandled;
    m->Counter("triad_http_unauthorized_total", "Requests refused for a missing/bad token")->Add();
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_header("Connection", "close");
    SetError(res,
             IngestEncodingOf(req.get_header_value("Content-Type")) == IngestEncoding::kProto
                 ? IngestEncoding::kProto
                 : IngestEncoding::kJson,
             401,
             kRpcUnauthenticated, "missing or invalid bearer token");
    return httplib::Server::HandlerResponse::Handled;
  });

  // One ingest handler for the OTLP paths and Zipkin: reads (and inflates,
  // capped) the body, decodes it (serve/request_decoder.h), queues the batch.
  auto ingest = [this, m](OtlpSignal sig, bool zipkin, const httplib::Request& req,
                          httplib::Response& res, const httplib::ContentReader& reader) {
    auto t0 = std::chrono::steady_clock::now();
    const std::string path = req.path;
    auto done = [&] {
      m->Histogram("triad_request_latency_seconds", "Ingest request latency", LatencyBuckets(),
                   "path", path)
          ->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      m->Counter("triad_http_responses_total", "Ingest responses by status code", "code",
                 std::to_string(res.status))
          ->Add();
    };
    const std::string content_type = req.get_header_value("Content-Type");
    const std::string ce = req.get_header_value("Content-Encoding");
    const IngestEncoding enc =
        IngestEncodingOf(content_type) == IngestEncoding::kProto ? IngestEncoding::kProto
                                                                 : IngestEncoding::kJson;
    DecodeResult r;
    if (!SupportedContentEncoding(ce)) {
      // Checked before reading: the HTTP layer cannot inflate it.
      IngestBatch unused;
      DecodeIngestRequest(IngestRequest{sig, zipkin, content_type, ce, {}, path}, opts_.limits,
                          &unused, &r);
      res.set_header("Connection", "close");
      SetError(res, enc, r.http_status, r.rpc_code, r.message);
      done();
      return;
    }
    // Read (and, for Content-Encoding gzip/deflate, inflate) the body, capped.
    std::string body;
    bool too_large = false;
    bool read_ok = reader([&](const char* data, size_t n) {
      if (body.size() + n > opts_.max_body_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (!read_ok || too_large) {
      res.set_header("Connection", "close");
      uint64_t declared = 0;
      try {
        if (req.has_header("Content-Length"))
          declared = std::stoull(req.get_header_value("Content-Length"));
      } catch (...) {
      }
      if (too_large || declared > opts_.max_body_bytes) {
        SetError(res, enc, 413, kRpcInvalidArgument,
                 fmt::format("request body larger than {} bytes (after decompression)",
                             opts_.max_body_bytes));
      } else {
        SetError(res, enc, 400, kRpcInvalidArgument,
                 "cannot read the request body (bad Content-Encoding data?)");
      }
      done();
      return;
    }
    IngestLimits limits = opts_.limits;
    limits.max_bytes = std::min(limits.max_bytes, opts_.max_body_bytes);
    IngestBatch batch;
    DecodeIngestRequest(IngestRequest{sig, zipkin, content_type, ce, body, path}, limits, &batch,
                        &r);
    if (r.http_status != 200) {
      if (r.http_status != 415)
        m->Counter("triad_rejected_requests_total", "Ingest requests rejected as undecodable",
                   "signal", OtlpSignalName(sig))
            ->Add();
      SetError(res, r.reply, r.http_status, r.rpc_code, r.message);
      done();
      return;
    }
    const uint64_t rejected = r.rejected;
    const std::string& message = r.message;
    const size_t n = batch.records();
    if (n > 0) {
      OnlinePipeline::Admit a = pipeline_->Submit(std::move(batch));
      if (a != OnlinePipeline::Admit::kAccepted) {
        bool full = a == OnlinePipeline::Admit::kQueueFull;
        m->Counter("triad_refused_records_total",
                   "Records refused with 429/503 (the client retries)", "reason",
                   full ? "queue_full" : "shutting_down")
            ->Add(n);
        res.set_header("Retry-After", std::to_string(opts_.retry_after_s));
        SetError(res, enc, full ? 429 : 503, full ? kRpcResourceExhausted : kRpcUnavailable,
                 full ? "ingest queue full, retry later" : "shutting down, retry later");
        done();
        return;
      }
    }
    m->Counter("triad_ingested_records_total", "Records accepted for processing", "signal",
               OtlpSignalName(sig))
        ->Add(n);
    if (rejected > 0)
      m->Counter("triad_rejected_records_total", "Records rejected in accepted requests",
                 "signal", OtlpSignalName(sig))
          ->Add(rejected);
    if (r.truncated > 0)
      m->Counter("triad_truncated_values_total",
                 "Strings cut to --max-string-bytes (accepted requests)", "signal",
                 OtlpSignalName(sig))
          ->Add(r.truncated);
    if (r.dropped_attributes > 0)
      m->Counter("triad_dropped_attributes_total",
                 "Attributes beyond --max-attributes per record, dropped", "signal",
                 OtlpSignalName(sig))
          ->Add(r.dropped_attributes);
    if (zipkin) {
      res.status = 202;
    } else if (enc == IngestEncoding::kProto) {
      res.status = 200;
      res.set_content(OtlpExportResponseProto(sig, static_cast<int64_t>(rejected), message),
                      "application/x-protobuf");
    } else {
      res.status = 200;
      res.set_content(OtlpExportResponseJson(sig, static_cast<int64_t>(rejected), message),
                      "application/json");
    }
    done();
  };
  for (OtlpSignal sig : {OtlpSignal::kTraces, OtlpSignal::kLogs, OtlpSignal::kMetrics})
    s.Post(std::string("/v1/") + OtlpSignalName(sig),
           [ingest, sig](const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader) {
             ingest(sig, false, req, res, reader);
           });
  s.Post("/api/v2/spans", [ingest](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
    ingest(OtlpSignal::kTraces, true, req, res, reader);
  });

  // The web UI (serve/web_ui.h): fixed, embedded assets; no path reaches the file system.
  for (const WebAsset& a : WebAssets())
    s.Get(std::string(a.path), [&a](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", std::string(WebUiContentSecurityPolicy()));
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(a.body.data(), a.body.size(), std::string(a.content_type).c_str());
    });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    Status st = pipeline_->last_store_error();
    bool ready = pipeline_->accepting() && st.ok();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n"
                          : (pipeline_->accepting() ? "store error: " + st.ToString() + "\n"
                                                    : std::string("not accepting\n")),
                    "text/plain");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    metrics_->Gauge("triad_queue_batches", "Batches waiting for the worker")
        ->Set(static_cast<double>(pipeline_->queue_batches()));
    SetProcessGauges(metrics_);
    res.set_content(metrics_->Render(), "text/plain; version=0.0.4");
  });

  // REST API.
  auto time_query = [](const httplib::Request& req, TimeQuery* q, std::string* err) {
    if (req.has_param("service")) q->service = req.get_param_value("service");
    return TimeParam(req, "from", &q->from, err) && TimeParam(req, "to", &q->to, err);
  };
  s.Get("/api/v1/anomalies", [this, time_query](const httplib::Request& req,
                                                httplib::Response& res) {
    TimeQuery q;
    std::string err;
    if (!time_query(req, &q, &err)) return SendJson(res, {{"error", err}}, 400);
    q.limit = LimitParam(req, 1000, 100000);
    std::vector<AnomalyRow> rows;
    Status st = store_->QueryAnomalies(q, &rows);
    if (!st.ok()) return SendJson(res, {{"error", st.ToString()}}, 500);
    json a = json::array();
    for (const auto& r : rows) a.push_back(AnomalyJson(r, req.has_param("evidence")));
    SendJson(res, {{"anomalies", std::move(a)}});
  });
  s.Get(R"(/api/v1/anomalies/(\d{1,18}))", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    AnomalyRow row;
    Status st = store_->GetAnomaly(std::stoll(req.matches[1]), &row);
    if (!st.ok()) return SendJson(res, {{"error", st.message()}}, 404);
    SendJson(res, AnomalyJson(row, true));
  });
  s.Get("/api/v1/scores", [this, time_query](const httplib::Request& req,
                                             httplib::Response& res) {
    TimeQuery q;
    std::string err;
    if (!time_query(req, &q, &err)) return SendJson(res, {{"error", err}}, 400);
    q.limit = LimitParam(req, 10000, 1000000);
    std::vector<StoredScore> rows;
    Status st = store_->QueryScores(q, &rows);
    if (!st.ok()) return SendJson(res, {{"error", st.ToString()}}, 500);
    json a = json::array();
    for (const auto& r : rows)
      a.push_back({{"service", r.service}, {"start_ns", r.start}, {"end_ns", r.end},
                   {"score", r.score}, {"anomaly", r.anomaly}});
    SendJson(res, {{"scores", std::move(a)}});
  });
  s.Get("/api/v1/services", [this](const httplib::Request&, httplib::Response& res) {
    std::vector<ServiceRow> rows;
    std::vector<EdgeRow> edges;
    Status st = store_->ListServices(&rows);
    if (st.ok()) st = store_->ListEdges(&edges);
    if (!st.ok()) return SendJson(res, {{"error", st.ToString()}}, 500);
    json a = json::array();
    for (const auto& r : rows) {
      json callees = json::array();
      for (const auto& e : edges)
        if (e.caller == r.name) callees.push_back({{"service", e.callee}, {"calls", e.calls}});
      a.push_back({{"name", r.name},
                   {"last_window_start", FormatIso8601(r.last_window)},
                   {"last_window_ns", r.last_window},
                   {"last_score", r.last_score},
                   {"last_anomaly", r.last_anomaly},
                   {"threshold", r.threshold},
                   {"windows", r.windows},
                   {"anomalies", r.anomalies},
                   {"callees", std::move(callees)}});
    }
    SendJson(res, {{"services", std::move(a)}});
  });
  s.Get("/api/v1/templates", [this](const httplib::Request& req, httplib::Response& res) {
    std::vector<TemplateRow> rows;
    Status st = store_->ListTemplates(LimitParam(req, 1000, 100000), &rows);
    if (!st.ok()) return SendJson(res, {{"error", st.ToString()}}, 500);
    json a = json::array();
    for (const auto& t : rows)
      a.push_back({{"id", t.id}, {"template", t.text}, {"count", t.count},
                   {"first_seen_ns", t.first_seen}, {"last_seen_ns", t.last_seen}});
    SendJson(res, {{"templates", std::move(a)}});
  });
  s.Get("/api/v1/model", [this](const httplib::Request&, httplib::Response& res) {
    std::vector<ModelRow> rows;
    Status st = store_->ListModels(&rows);
    if (!st.ok()) return SendJson(res, {{"error", st.ToString()}}, 500);
    json a = json::array();
    for (const auto& r : rows)
      a.push_back({{"id", r.id}, {"name", r.name}, {"kind", r.kind}, {"path", r.path},
                   {"version", r.version}, {"threshold", r.threshold},
                   {"info", json::parse(r.info_json, nullptr, false)},
                   {"loaded", FormatIso8601(r.loaded)}});
    json out = {{"models", a}, {"scoring", pipeline_->has_detector()}};
    out["active"] = a.empty() ? json(nullptr) : a[0];
    SendJson(res, out);
  });
}

}  // namespace triad
