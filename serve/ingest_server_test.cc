#include "serve/ingest_server.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"
#include "serve/request_decoder.h"

namespace triad {
namespace {

using json = nlohmann::json;

std::string Gzip(const std::string& in) { return CompressRequestBody("gzip", in); }

std::vector<Span> SomeSpans(int n, TimeNs t0 = 1700000000LL * kNsPerSec) {
  std::vector<Span> v;
  for (int i = 0; i < n; ++i) {
    Span s;
    s.trace_id = fmt::format("{:032x}", i + 1);
    s.span_id = fmt::format("{:016x}", i + 1);
    s.service = "cart";
    s.name = "GET /cart";
    s.kind = SpanKind::kServer;
    s.start = t0 + i * kNsPerMs;
    s.end = s.start + 5 * kNsPerMs;
    v.push_back(std::move(s));
  }
  return v;
}

class IngestServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions so = {}, PipelineOptions po = {}) {
    dir_ = std::filesystem::temp_directory_path() /
           ("triad_serve_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(Store::Open((dir_ / "t.db").string(), &store_).ok());
    pipeline_ = std::make_unique<OnlinePipeline>(po, store_.get(), nullptr, &metrics_);
    ASSERT_TRUE(pipeline_->Start().ok());
    so.port = 0;
    server_ = std::make_unique<IngestServer>(so, pipeline_.get(), store_.get(), &metrics_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(20, 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (pipeline_) pipeline_->Shutdown();
    server_.reset();
    pipeline_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  uint64_t Processed(const char* signal) {
    return metrics_.Counter("triad_processed_records_total", "", "signal", signal)->value();
  }

  std::filesystem::path dir_;
  PromRegistry metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OnlinePipeline> pipeline_;
  std::unique_ptr<IngestServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(IngestServerTest, AcceptsOtlpJsonAndReportsPartialSuccess) {
  Start();
  auto r = client_->Post("/v1/traces", WriteOtlpTraces(SomeSpans(5)), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body), json::object());  // full success: empty response
  // One span without a trace id: rejected, the others accepted.
  json doc = json::parse(WriteOtlpTraces(SomeSpans(3)));
  doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1].erase("traceId");
  r = client_->Post("/v1/traces", doc.dump(), "application/json; charset=utf-8");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  json resp = json::parse(r->body);
  ASSERT_TRUE(resp.contains("partialSuccess")) << r->body;
  EXPECT_EQ(resp["partialSuccess"]["rejectedSpans"], "1");
  EXPECT_FALSE(resp["partialSuccess"]["errorMessage"].get<std::string>().empty());
  // Logs sent to the traces path are rejected as such.
  LogRecord l;
  l.time = 1700000000LL * kNsPerSec;
  l.service = "cart";
  l.body = "hello";
  r = client_->Post("/v1/traces", WriteOtlpLogs({l}), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["partialSuccess"]["rejectedSpans"], "1");
  ASSERT_TRUE(pipeline_->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Processed("traces"), 7u);
}

TEST_F(IngestServerTest, AcceptsGzipAndProtobuf) {
  Start();
  httplib::Headers gz = {{"Content-Encoding", "gzip"}};
  auto r = client_->Post("/v1/traces", gz, Gzip(WriteOtlpTraces(SomeSpans(4))), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = client_->Post("/v1/traces", WriteOtlpTracesProto(SomeSpans(6)), "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(r->body, OtlpExportResponseProto(OtlpSignal::kTraces, 0, ""));
  r = client_->Post("/v1/traces", gz, Gzip(WriteOtlpTracesProto(SomeSpans(2))),
                    "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(pipeline_->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Processed("traces"), 12u);
}

TEST_F(IngestServerTest, RejectsBadPayloadsWithTheRightStatus) {
  ServerOptions so;
  so.max_body_bytes = 64 << 10;
  Start(so);
  auto r = client_->Post("/v1/logs", "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(json::parse(r->body).contains("message"));
  r = client_->Post("/v1/logs", std::string("\xff\xff\xff\x0f garbage", 12), "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = client_->Post("/v1/logs", "a=b", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  r = client_->Post("/api/v2/spans", "[]", "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  r = client_->Post("/v1/logs", httplib::Headers{{"Content-Encoding", "zstd"}}, "x",
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  // Too large as sent.
  std::string big = WriteOtlpTraces(SomeSpans(2000));
  ASSERT_GT(big.size(), so.max_body_bytes);
  r = client_->Post("/v1/traces", big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // A gzip bomb: small on the wire, too large once inflated.
  std::string bomb = Gzip(std::string(8 << 20, ' '));
  ASSERT_LT(bomb.size(), so.max_body_bytes);
  r = client_->Post("/v1/traces", httplib::Headers{{"Content-Encoding", "gzip"}}, bomb,
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // Corrupt gzip.
  r = client_->Post("/v1/traces", httplib::Headers{{"Content-Encoding", "gzip"}},
                    std::string("\x1f\x8b\x08\x00garbagegarbage", 18), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  // Still serving after all that.
  r = client_->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(pipeline_->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Processed("traces"), 0u);
}

TEST_F(IngestServerTest, BearerTokenGuardsIngestAndApi) {
  ServerOptions so;
  so.token = "s3cret";
  Start(so);
  auto body = WriteOtlpTraces(SomeSpans(1));
  auto r = client_->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client_->Get("/api/v1/anomalies");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client_->Get("/api/v1/anomalies", {{"Authorization", "Bearer wrong!"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client_->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  client_->set_bearer_token_auth("s3cret");
  r = client_->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = client_->Get("/api/v1/anomalies");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(IngestServerTest, FullQueueAnswers429WithRetryAfterAndShutdown503) {
  PipelineOptions po;
  po.max_queue_batches = 1;
  Start({}, po);
  pipeline_->Pause();
  auto body = WriteOtlpTraces(SomeSpans(3));
  auto r = client_->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = client_->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "2");
  EXPECT_EQ(metrics_.Counter("triad_refused_records_total", "", "reason", "queue_full")->value(), 3u);
  pipeline_->Resume();
  ASSERT_TRUE(pipeline_->WaitIdle(std::chrono::seconds(10)));
  r = client_->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Shutdown processes what was accepted, then refuses with 503.
  pipeline_->Shutdown();
  EXPECT_EQ(Processed("traces"), 6u);
  r = client_->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  r = client_->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
}

TEST_F(IngestServerTest, ZipkinMetricsAndApiShapes) {
  Start();
  std::string zipkin = R"([{"traceId":"0000000000000001","id":"0000000000000002","name":"get",
    "kind":"SERVER","timestamp":1700000000000000,"duration":1500,
    "localEndpoint":{"serviceName":"web"}},{"id":"x"}])";
  auto r = client_->Post("/api/v2/spans", zipkin, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(pipeline_->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Processed("traces"), 1u);
  r = client_->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("triad_ingested_records_total{signal=\"traces\"} 1"), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("triad_rejected_records_total{signal=\"traces\"} 1"), std::string::npos);
  EXPECT_NE(r->body.find("triad_request_latency_seconds_bucket{path=\"/api/v2/spans\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(r->body.find("triad_queue_batches"), std::string::npos);
  for (const char* path : {"/api/v1/anomalies", "/api/v1/services", "/api/v1/templates",
                           "/api/v1/model", "/api/v1/scores"}) {
    r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_TRUE(json::parse(r->body, nullptr, false).is_object()) << path;
  }
  r = client_->Get("/api/v1/anomalies?from=yesterday");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = client_->Get("/api/v1/anomalies/12345");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = client_->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ListenAddressTest, Parses) {
  std::string host = "127.0.0.1";
  int port = 4318;
  EXPECT_TRUE(ParseListenAddress("0.0.0.0:9999", &host, &port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9999);
  EXPECT_TRUE(ParseListenAddress("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  EXPECT_TRUE(ParseListenAddress("4000", &host, &port));
  EXPECT_EQ(port, 4000);
  EXPECT_FALSE(ParseListenAddress("h:70000", &host, &port));
  EXPECT_FALSE(ParseListenAddress("h:x", &host, &port));
}

// Limits (ingest/ingest_limits.h) at the HTTP level: an over-long string is
// truncated, the request accepted, and the truncation reported in
// partial_success and in /metrics; too many records is a 413.
TEST_F(IngestServerTest, LimitsTruncateReportAndRefuse) {
  ServerOptions so;
  so.limits.max_string_bytes = 64;
  so.limits.max_attributes = 2;
  so.limits.max_records = 20;
  Start(so);
  std::vector<Span> spans = SomeSpans(3);
  spans[0].name = std::string(1000, 'n');
  spans[1].attributes = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  auto r = client_->Post("/v1/traces", WriteOtlpTraces(spans), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  json resp = json::parse(r->body);
  ASSERT_TRUE(resp.contains("partialSuccess")) << r->body;
  EXPECT_FALSE(resp["partialSuccess"].contains("rejectedSpans"));  // all accepted
  const std::string msg = resp["partialSuccess"]["errorMessage"].get<std::string>();
  EXPECT_NE(msg.find("1 value(s) truncated to 64 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 attribute(s) dropped"), std::string::npos) << msg;
  // Protobuf: the same message in the protobuf response.
  r = client_->Post("/v1/traces", WriteOtlpTracesProto(spans), "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, OtlpExportResponseProto(OtlpSignal::kTraces, 0, msg));
  // Too many records in one request.
  r = client_->Post("/v1/traces", WriteOtlpTracesProto(SomeSpans(21)), "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("more than 20 records (max_records)"), std::string::npos);
  ASSERT_TRUE(pipeline_->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Processed("traces"), 6u);
  r = client_->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("triad_truncated_values_total{signal=\"traces\"} 2"), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("triad_dropped_attributes_total{signal=\"traces\"} 2"),
            std::string::npos);
  EXPECT_NE(r->body.find("triad_http_responses_total{code=\"413\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace triad
