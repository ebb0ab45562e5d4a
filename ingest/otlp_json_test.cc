#include "ingest/otlp_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <tuple>
#include <unistd.h>

namespace triad {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("triad_otlp_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

void WriteGzip(const std::string& path, const std::string& data) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, data.data(), static_cast<unsigned>(data.size())),
            static_cast<int>(data.size()));
  gzclose(gz);
}

auto SpanTuple(const Span& s) {
  return std::tie(s.trace_id, s.span_id, s.parent_span_id, s.service, s.instance, s.name, s.kind,
                  s.start, s.end, s.status, s.status_message, s.http_method, s.http_url,
                  s.http_status_code, s.host, s.peer, s.attributes);
}
auto LogTuple(const LogRecord& l) {
  return std::tie(l.time, l.observed_time, l.severity_number, l.severity_text, l.body, l.service,
                  l.instance, l.trace_id, l.span_id, l.attributes);
}
auto MetricTuple(const MetricSample& m) {
  return std::tie(m.name, m.service, m.instance, m.labels, m.time, m.kind, m.value, m.count,
                  m.bounds, m.bucket_counts);
}

std::vector<Span> SampleSpans() {
  std::vector<Span> out;
  Span a;
  a.trace_id = "0af7651916cd43dd8448eb211c80319c";
  a.span_id = "b7ad6b7169203331";
  a.service = "frontend";
  a.instance = "frontend-1";
  a.host = "node-a";
  a.name = "GET /cart";
  a.kind = SpanKind::kServer;
  a.start = 1700000000123456789;
  a.end = a.start + 5 * kNsPerMs;
  a.status = SpanStatus::kError;
  a.status_message = "boom \"quoted\" \n newline";
  a.attributes = {{"http.request.method", "GET"},
                  {"url.full", "http://frontend/cart?x=1"},
                  {"http.response.status_code", "503"},
                  {"custom", "ünïcödé"}};
  a.http_method = "GET";
  a.http_url = "http://frontend/cart?x=1";
  a.http_status_code = 503;
  out.push_back(a);
  Span b;
  b.trace_id = a.trace_id;
  b.span_id = "00f067aa0ba902b7";
  b.parent_span_id = a.span_id;
  b.service = "cart";
  b.name = "redis GET";
  b.kind = SpanKind::kClient;
  b.start = a.start + kNsPerMs;
  b.end = b.start;  // zero duration
  b.status = SpanStatus::kOk;
  b.attributes = {{"peer.service", "redis"}, {"db.system", "redis"}};
  b.peer = "redis";
  out.push_back(b);
  Span c = b;
  c.span_id = "1111111111111111";
  c.kind = SpanKind::kProducer;
  c.service = "frontend";  // same service as a, different instance/host: separate resource
  c.attributes.clear();
  c.peer.clear();
  c.status = SpanStatus::kUnset;
  out.push_back(c);
  for (SpanKind k : {SpanKind::kUnspecified, SpanKind::kInternal, SpanKind::kConsumer}) {
    Span d = c;
    d.span_id = "22222222222222" + std::to_string(10 + static_cast<int>(k));
    d.kind = k;
    out.push_back(d);
  }
  return out;
}

TEST(OtlpJsonTest, TracesRoundTrip) {
  std::vector<Span> spans = SampleSpans();
  std::string doc = WriteOtlpTraces(spans);
  EXPECT_EQ(doc.find('\n'), std::string::npos);
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(doc, sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_EQ(stats.records, spans.size());
  ASSERT_EQ(sink.spans.size(), spans.size());
  // Order is kept within a resource group; compare as sets keyed by span id.
  auto by_id = [](const Span& x, const Span& y) { return x.span_id < y.span_id; };
  std::sort(spans.begin(), spans.end(), by_id);
  std::sort(sink.spans.begin(), sink.spans.end(), by_id);
  for (size_t i = 0; i < spans.size(); ++i)
    EXPECT_TRUE(SpanTuple(spans[i]) == SpanTuple(sink.spans[i])) << "span " << spans[i].span_id;
}

TEST(OtlpJsonTest, TracesWriterAddsSemanticAttributesForDedicatedFields) {
  Span s;
  s.trace_id = "0af7651916cd43dd8448eb211c80319c";
  s.span_id = "b7ad6b7169203331";
  s.http_method = "POST";
  s.http_url = "/api/order";
  s.http_status_code = 201;
  s.peer = "orders";
  CollectingSink sink;
  ASSERT_TRUE(ParseOtlpJson(WriteOtlpTraces({s}), sink, nullptr).ok());
  ASSERT_EQ(sink.spans.size(), 1u);
  const Span& r = sink.spans[0];
  EXPECT_EQ(r.http_method, "POST");
  EXPECT_EQ(r.http_url, "/api/order");
  EXPECT_EQ(r.http_status_code, 201);
  EXPECT_EQ(r.peer, "orders");
  EXPECT_EQ(r.attributes.size(), 4u);
  // A second round trip is exact.
  CollectingSink sink2;
  ASSERT_TRUE(ParseOtlpJson(WriteOtlpTraces(sink.spans), sink2, nullptr).ok());
  ASSERT_EQ(sink2.spans.size(), 1u);
  EXPECT_TRUE(SpanTuple(sink2.spans[0]) == SpanTuple(r));
}

TEST(OtlpJsonTest, LogsRoundTrip) {
  std::vector<LogRecord> logs;
  LogRecord a;
  a.time = 1700000000000000001;
  a.observed_time = 1700000000000000999;
  a.severity_number = 17;
  a.severity_text = "ERROR";
  a.body = "connection refused {\"json\": true}";
  a.service = "cart";
  a.instance = "cart-0";
  a.trace_id = "0af7651916cd43dd8448eb211c80319c";
  a.span_id = "b7ad6b7169203331";
  a.attributes = {{"logger", "db"}, {"thread", "7"}};
  logs.push_back(a);
  LogRecord b;
  b.time = 5;
  b.observed_time = 6;
  b.severity_number = 10;  // INFO2, text differs on purpose
  b.severity_text = "info";
  b.body = "";
  b.service = "frontend";
  logs.push_back(b);
  LogRecord c = a;
  c.body = "second in cart";
  c.trace_id.clear();
  c.span_id.clear();
  logs.push_back(c);
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(WriteOtlpLogs(logs), sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  ASSERT_EQ(sink.logs.size(), 3u);
  // Grouped: a, c (cart) then b (frontend).
  EXPECT_TRUE(LogTuple(sink.logs[0]) == LogTuple(logs[0]));
  EXPECT_TRUE(LogTuple(sink.logs[1]) == LogTuple(logs[2]));
  EXPECT_TRUE(LogTuple(sink.logs[2]) == LogTuple(logs[1]));
}

TEST(OtlpJsonTest, MetricsRoundTrip) {
  std::vector<MetricSample> ms;
  MetricSample g;
  g.name = "cpu_usage";
  g.service = "cart";
  g.instance = "cart-0";
  g.labels = {{"cpu", "0"}, {"mode", "user"}};
  g.time = 1700000000000000000;
  g.kind = MetricKind::kGauge;
  g.value = 0.1 + 0.2;  // not exactly representable in short decimal
  ms.push_back(g);
  MetricSample c = g;
  c.name = "requests_total";
  c.kind = MetricKind::kCounter;
  c.value = 12345678901.0;
  c.labels.clear();
  ms.push_back(c);
  MetricSample h;
  h.name = "latency_seconds";
  h.service = "frontend";
  h.time = 1700000000000000000;
  h.kind = MetricKind::kHistogram;
  h.value = 12.5;
  h.count = 30;
  h.bounds = {0.005, 0.1, 1, 2.5};
  h.bucket_counts = {1, 2, 3, 4, 20};
  ms.push_back(h);
  MetricSample g2 = g;
  g2.time += kNsPerSec;
  g2.value = -1e-300;
  ms.push_back(g2);
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(WriteOtlpMetrics(ms), sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  ASSERT_EQ(sink.metrics.size(), ms.size());
  // Grouped by resource then by metric: g, g2, c, h.
  EXPECT_TRUE(MetricTuple(sink.metrics[0]) == MetricTuple(ms[0]));
  EXPECT_TRUE(MetricTuple(sink.metrics[1]) == MetricTuple(ms[3]));
  EXPECT_TRUE(MetricTuple(sink.metrics[2]) == MetricTuple(ms[1]));
  EXPECT_TRUE(MetricTuple(sink.metrics[3]) == MetricTuple(ms[2]));
}

TEST(OtlpJsonTest, NonFiniteMetricValuesAreWrittenAndSkipped) {
  MetricSample m;
  m.name = "x";
  m.time = 1;
  m.value = std::numeric_limits<double>::quiet_NaN();
  MetricSample inf = m;
  inf.value = -std::numeric_limits<double>::infinity();
  MetricSample ok = m;
  ok.value = 3;
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(WriteOtlpMetrics({m, inf, ok}), sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 2u);
  ASSERT_EQ(sink.metrics.size(), 1u);
  EXPECT_EQ(sink.metrics[0].value, 3);
}

TEST(OtlpJsonTest, SpecQuirks) {
  // base64 ids, numbers as strings and numbers, enum names, snake_case keys,
  // unknown fields, legacy instrumentationLibrarySpans, AnyValue kinds.
  const std::string doc = R"({
    "resource_spans": [{
      "resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "checkout"}},
        {"key": "k8s.pod.name", "value": {"stringValue": "checkout-7d9f-abcde"}},
        {"key": "host.name", "value": {"stringValue": "node-7"}}]},
      "unknownField": {"x": [1, 2, 3]},
      "instrumentationLibrarySpans": [{
        "instrumentationLibrary": {"name": "old"},
        "spans": [{
          "trace_id": "CvdlGRbNQ92ESOshHIAxnA==",
          "span_id": "t61rcWkgMzE=",
          "parentSpanId": "",
          "name": "POST /pay",
          "kind": "SPAN_KIND_CLIENT",
          "start_time_unix_nano": 1700000000000000000,
          "endTimeUnixNano": "1700000000250000000",
          "status": {"code": "STATUS_CODE_ERROR", "message": "declined"},
          "attributes": [
            {"key": "http.method", "value": {"stringValue": "POST"}},
            {"key": "http.target", "value": {"stringValue": "/pay"}},
            {"key": "http.status_code", "value": {"intValue": 502}},
            {"key": "net.peer.name", "value": {"stringValue": "payments"}},
            {"key": "retries", "value": {"intValue": "3"}},
            {"key": "ratio", "value": {"doubleValue": 0.5}},
            {"key": "cached", "value": {"boolValue": false}},
            {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}},
            {"key": "map", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": true}}]}}},
            {"key": "raw", "value": {"bytesValue": "AAEC"}},
            {"key": "empty", "value": {}}
          ],
          "events": [{"name": "exception"}],
          "futureField": 42
        }]
      }]
    }]
  })";
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(doc, sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  ASSERT_EQ(sink.spans.size(), 1u);
  const Span& s = sink.spans[0];
  EXPECT_EQ(s.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(s.span_id, "b7ad6b7169203331");
  EXPECT_EQ(s.parent_span_id, "");
  EXPECT_EQ(s.service, "checkout");
  EXPECT_EQ(s.instance, "checkout-7d9f-abcde");
  EXPECT_EQ(s.host, "node-7");
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.start, 1700000000000000000);
  EXPECT_EQ(s.duration(), 250 * kNsPerMs);
  EXPECT_EQ(s.status, SpanStatus::kError);
  EXPECT_EQ(s.status_message, "declined");
  EXPECT_EQ(s.http_method, "POST");
  EXPECT_EQ(s.http_url, "/pay");
  EXPECT_EQ(s.http_status_code, 502);
  EXPECT_EQ(s.peer, "payments");
  auto attr = [&](const char* k) {
    const std::string* v = FindAttribute(s.attributes, k);
    return v ? *v : std::string("<absent>");
  };
  EXPECT_EQ(attr("retries"), "3");
  EXPECT_EQ(attr("ratio"), "0.5");
  EXPECT_EQ(attr("cached"), "false");
  EXPECT_EQ(attr("tags"), R"(["a",2])");
  EXPECT_EQ(attr("map"), R"({"k":true})");
  EXPECT_EQ(attr("raw"), "AAEC");
  EXPECT_EQ(attr("empty"), "");
}

TEST(OtlpJsonTest, ParsedRecordsRoundTripExactly) {
  // Whatever the reader produced from quirky input, the writers reproduce it.
  const std::string doc = R"({"resourceSpans":[
    {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}},
                               {"key":"k8s.pod.name","value":{"stringValue":"a-1"}}]},
     "scopeSpans":[{"spans":[
       {"traceId":"CvdlGRbNQ92ESOshHIAxnA==","spanId":"t61rcWkgMzE=","kind":"SPAN_KIND_SERVER",
        "startTimeUnixNano":"5","endTimeUnixNano":9,"status":{"message":"only message"},
        "attributes":[{"key":"http.route","value":{"stringValue":"/r"}},
                      {"key":"server.address","value":{"stringValue":"me"}},
                      {"key":"host.name","value":{"stringValue":"span-host"}},
                      {"key":"n","value":{"doubleValue":"Infinity"}}]}]}]},
    {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},
     "scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd","parentSpanId":"ef"}]}]}]})";
  CollectingSink first;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(doc, first, &stats).ok());
  ASSERT_EQ(first.spans.size(), 2u);
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_EQ(first.spans[0].host, "span-host");
  EXPECT_EQ(first.spans[0].peer, "");  // server.address is the server itself
  EXPECT_EQ(first.spans[0].http_url, "/r");
  EXPECT_EQ(*FindAttribute(first.spans[0].attributes, "n"), "Inf");
  std::string written = WriteOtlpTraces(first.spans);
  CollectingSink second;
  ASSERT_TRUE(ParseOtlpJson(written, second, nullptr).ok());
  ASSERT_EQ(second.spans.size(), first.spans.size());
  for (size_t i = 0; i < first.spans.size(); ++i)
    EXPECT_TRUE(SpanTuple(first.spans[i]) == SpanTuple(second.spans[i])) << i;
  EXPECT_EQ(WriteOtlpTraces(second.spans), written);
}

TEST(OtlpJsonTest, UppercaseHexIdsAndAllZeroParentAreNormalised) {
  const std::string doc = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"B7AD6B7169203331",
     "parentSpanId":"0000000000000000","startTimeUnixNano":"1","endTimeUnixNano":"2","kind":2}]}]}]})";
  CollectingSink sink;
  ASSERT_TRUE(ParseOtlpJson(doc, sink, nullptr).ok());
  ASSERT_EQ(sink.spans.size(), 1u);
  EXPECT_EQ(sink.spans[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(sink.spans[0].span_id, "b7ad6b7169203331");
  EXPECT_EQ(sink.spans[0].parent_span_id, "");
  EXPECT_EQ(sink.spans[0].kind, SpanKind::kServer);
  EXPECT_EQ(sink.spans[0].service, "");
}

TEST(OtlpJsonTest, LogQuirks) {
  const std::string doc = R"({"resourceLogs":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"auth"}}]},
    "scopeLogs":[{"logRecords":[
      {"observedTimeUnixNano":"1700000000000000000","severityNumber":"SEVERITY_NUMBER_WARN2",
       "body":{"kvlistValue":{"values":[{"key":"msg","value":{"stringValue":"slow"}}]}},
       "traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"},
      {"timeUnixNano":1700000000000000001,"severityText":"error","body":{"stringValue":"x"}},
      {"timeUnixNano":"soon","body":{"stringValue":"bad time"}},
      {"timeUnixNano":"1","attributes":"not-a-list"},
      "not-an-object"
    ]}]}]})";
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(doc, sink, &stats, "logs.json", 7).ok());
  EXPECT_EQ(stats.skipped, 3u);
  EXPECT_EQ(stats.records, 2u);
  ASSERT_FALSE(stats.errors.empty());
  EXPECT_EQ(stats.errors[0].rfind("logs.json:7: ", 0), 0u) << stats.errors[0];
  ASSERT_EQ(sink.logs.size(), 2u);
  EXPECT_EQ(sink.logs[0].time, 1700000000000000000);  // observed-time fallback
  EXPECT_EQ(sink.logs[0].severity_number, 14);
  EXPECT_EQ(sink.logs[0].body, R"({"msg":"slow"})");
  EXPECT_EQ(sink.logs[0].service, "auth");
  EXPECT_EQ(sink.logs[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(sink.logs[1].severity_number, 17);  // from severityText
  EXPECT_EQ(sink.logs[1].time, 1700000000000000001);
}

TEST(OtlpJsonTest, MetricQuirks) {
  const std::string doc = R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"db"}},
      {"key":"service.instance.id","value":{"stringValue":"db-1"}}]},
    "scopeMetrics":[{"metrics":[
      {"name":"queue","gauge":{"dataPoints":[
         {"timeUnixNano":"10","asInt":"7","attributes":[
            {"key":"z","value":{"stringValue":"1"}},{"key":"a","value":{"intValue":2}}]},
         {"timeUnixNano":"11","asDouble":"NaN"},
         {"timeUnixNano":"12","asDouble":"Infinity"},
         {"asDouble":1},
         {"timeUnixNano":"13"},
         {"timeUnixNano":"14","asDouble":2,"flags":1}]}},
      {"name":"ops","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true,
         "dataPoints":[{"timeUnixNano":20,"asDouble":100}]}},
      {"name":"delta_ops","sum":{"aggregationTemporality":1,"isMonotonic":true,
         "dataPoints":[{"timeUnixNano":20,"asInt":5}]}},
      {"name":"updown","sum":{"aggregationTemporality":2,"isMonotonic":false,
         "dataPoints":[{"timeUnixNano":20,"asInt":-5}]}},
      {"name":"lat","histogram":{"dataPoints":[
         {"timeUnixNano":"30","count":"6","sum":1.5,"bucketCounts":["1",2,"3"],"explicitBounds":[0.1,1]},
         {"timeUnixNano":"31","count":"6","sum":1.5,"bucketCounts":["1","2"],"explicitBounds":[0.1,1]},
         {"timeUnixNano":"32","count":"6","sum":1.5,"bucketCounts":["1","2","3"],"explicitBounds":[1,0.1]},
         {"timeUnixNano":"33","count":"4","sum":2}]}},
      {"name":"rpc","summary":{"dataPoints":[
         {"timeUnixNano":"40","count":"10","sum":"5.5","quantileValues":[{"quantile":0.5,"value":0.4},{"quantile":0.99,"value":2}]}]}},
      {"name":"exp","exponentialHistogram":{"dataPoints":[]}},
      {"name":"","gauge":{"dataPoints":[]}}
    ]}]}]})";
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(doc, sink, &stats).ok());
  // Skips: NaN, Inf, no time, no value, flagged, 2 bad histograms, exp histogram, nameless.
  EXPECT_EQ(stats.skipped, 9u);
  ASSERT_EQ(sink.metrics.size(), 1u + 4u + 1u + 4u);
  const MetricSample& q = sink.metrics[0];
  EXPECT_EQ(q.name, "queue");
  EXPECT_EQ(q.service, "db");
  EXPECT_EQ(q.instance, "db-1");
  EXPECT_EQ(q.value, 7);
  ASSERT_EQ(q.labels.size(), 2u);
  EXPECT_EQ(q.labels[0], (std::pair<std::string, std::string>("a", "2")));
  EXPECT_EQ(q.labels[1].first, "z");
  EXPECT_EQ(sink.metrics[1].kind, MetricKind::kCounter);
  EXPECT_EQ(sink.metrics[2].kind, MetricKind::kGauge);  // delta sum
  EXPECT_EQ(sink.metrics[3].kind, MetricKind::kGauge);  // non-monotonic
  EXPECT_EQ(sink.metrics[3].value, -5);
  const MetricSample& h = sink.metrics[4];
  EXPECT_EQ(h.kind, MetricKind::kHistogram);
  EXPECT_EQ(h.count, 6u);
  EXPECT_EQ(h.value, 1.5);
  EXPECT_EQ(h.bounds, (std::vector<double>{0.1, 1}));
  EXPECT_EQ(h.bucket_counts, (std::vector<uint64_t>{1, 2, 3}));
  const MetricSample& h2 = sink.metrics[5];
  EXPECT_EQ(h2.bucket_counts, (std::vector<uint64_t>{4}));
  EXPECT_TRUE(h2.bounds.empty());
  EXPECT_EQ(sink.metrics[6].name, "rpc");
  EXPECT_EQ(*FindAttribute(sink.metrics[6].labels, "quantile"), "0.5");
  EXPECT_EQ(sink.metrics[6].value, 0.4);
  EXPECT_EQ(*FindAttribute(sink.metrics[7].labels, "quantile"), "0.99");
  EXPECT_EQ(sink.metrics[8].name, "rpc_sum");
  EXPECT_EQ(sink.metrics[8].value, 5.5);
  EXPECT_EQ(sink.metrics[9].name, "rpc_count");
  EXPECT_EQ(sink.metrics[9].value, 10);
}

TEST(OtlpJsonTest, MalformedDocuments) {
  CollectingSink sink;
  ReadStats stats;
  EXPECT_FALSE(ParseOtlpJson("", sink, &stats).ok());
  EXPECT_FALSE(ParseOtlpJson("{\"resourceSpans\": [", sink, &stats).ok());
  EXPECT_FALSE(ParseOtlpJson("[1,2]", sink, &stats).ok());
  EXPECT_FALSE(ParseOtlpJson("\"str\"", sink, &stats).ok());
  EXPECT_FALSE(ParseOtlpJson("{\"a\":NaN}", sink, &stats).ok());
  EXPECT_FALSE(ParseOtlpJson(std::string("{\"a\":\"\xff\xfe\"}"), sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_TRUE(ParseOtlpJson("{}", sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  // Valid JSON, wrong shapes: counted, never a crash.
  const char* bad[] = {
      R"({"unrelated":1})",
      R"({"resourceSpans":5})",
      R"({"resourceSpans":[5]})",
      R"({"resourceSpans":[{"resource":[]}]})",
      R"({"resourceSpans":[{"scopeSpans":{}}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"b7ad6b7169203331"}]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c"}]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"b7ad6b7169203331"}]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":5,"spanId":"b7ad6b7169203331"}]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd","startTimeUnixNano":"x"}]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd","startTimeUnixNano":"99999999999999999999"}]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd","startTimeUnixNano":"10","endTimeUnixNano":"5"}]}]}]})",
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd","attributes":[{"value":{}}]}]}]}]})",
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":[]}]}]}]})",
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":{}}]}}]}]}]})",
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":[]}]}]}]})",
  };
  for (const char* d : bad) {
    ReadStats s;
    CollectingSink k;
    EXPECT_TRUE(ParseOtlpJson(d, k, &s).ok()) << d;
    EXPECT_EQ(s.skipped, 1u) << d;
    EXPECT_EQ(s.records, 0u) << d;
    EXPECT_TRUE(k.spans.empty() && k.logs.empty() && k.metrics.empty()) << d;
  }
}

TEST(OtlpJsonTest, HugeAndDeepValuesDoNotCrash) {
  std::string huge(5 << 20, 'x');
  std::string doc = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","body":{"stringValue":")" +
                    huge + R"("}}]}]}]})";
  // Over max_string_bytes (64 KiB by default): truncated and counted.
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(doc, sink, &stats).ok());
  ASSERT_EQ(sink.logs.size(), 1u);
  EXPECT_EQ(sink.logs[0].body.size(), IngestLimits().max_string_bytes);
  EXPECT_EQ(stats.truncated, 1u);
  IngestLimits roomy;
  roomy.max_string_bytes = huge.size();
  CollectingSink whole;
  ASSERT_TRUE(ParseOtlpJson(doc, whole, nullptr, "<memory>", 0, roomy).ok());
  EXPECT_EQ(whole.logs.at(0).body.size(), huge.size());
  // Deeply nested AnyValue arrays: rejected over max_depth; below it the text
  // is cut, no stack overflow.
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += R"({"arrayValue":{"values":[)";
  deep += R"({"intValue":1})";
  for (int i = 0; i < 5000; ++i) deep += "]}}";
  doc = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","body":)" + deep +
        "}]}]}]}";
  CollectingSink sink2;
  Status st = ParseOtlpJson(doc, sink2, nullptr);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("deeper than 64 levels (max_depth)"), std::string::npos);
  EXPECT_TRUE(sink2.logs.empty());
  IngestLimits deep_ok;
  deep_ok.max_depth = 20000;
  ASSERT_TRUE(ParseOtlpJson(doc, sink2, nullptr, "<memory>", 0, deep_ok).ok());
  ASSERT_EQ(sink2.logs.size(), 1u);
  EXPECT_LT(sink2.logs[0].body.size(), 1000u);
}

TEST(OtlpJsonTest, ReadFilePlainGzipPrettyAndBadLines) {
  std::vector<Span> spans = SampleSpans();
  std::string traces = WriteOtlpTraces(spans);
  LogRecord l;
  l.time = 1;
  l.body = "hello";
  std::string logs = WriteOtlpLogs({l});
  std::string content = traces + "\n\n" + "{broken\n" + logs + "\r\n";
  std::string plain = TempPath("plain.jsonl");
  std::string gz = TempPath("gz.jsonl.gz");
  WriteFile(plain, content);
  WriteGzip(gz, content);
  for (const std::string& path : {plain, gz}) {
    CollectingSink sink;
    ReadStats stats;
    ASSERT_TRUE(ReadOtlpJsonFile(path, sink, &stats).ok()) << path;
    EXPECT_EQ(sink.spans.size(), spans.size());
    EXPECT_EQ(sink.logs.size(), 1u);
    EXPECT_EQ(stats.skipped, 1u);
    EXPECT_EQ(stats.lines, 4u);
    ASSERT_EQ(stats.errors.size(), 1u);
    EXPECT_NE(stats.errors[0].find(":3: "), std::string::npos) << stats.errors[0];
  }
  // A pretty-printed single document.
  std::string pretty = TempPath("pretty.json");
  WriteFile(pretty, nlohmann::json::parse(traces).dump(2));
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ReadOtlpJsonFile(pretty, sink, &stats).ok());
  EXPECT_EQ(sink.spans.size(), spans.size());
  EXPECT_EQ(stats.skipped, 0u);
  // Nothing valid at all / missing file.
  std::string garbage = TempPath("garbage.json");
  WriteFile(garbage, "not json\nat all\n");
  CollectingSink sink2;
  ReadStats stats2;
  EXPECT_FALSE(ReadOtlpJsonFile(garbage, sink2, &stats2).ok());
  EXPECT_EQ(stats2.skipped, 2u);
  EXPECT_FALSE(ReadOtlpJsonFile(TempPath("does-not-exist"), sink2, &stats2).ok());
  // A truncated pretty document.
  std::string trunc = TempPath("trunc.json");
  WriteFile(trunc, "{\n \"resourceSpans\": [\n");
  EXPECT_FALSE(ReadOtlpJsonFile(trunc, sink2, &stats2).ok());
  for (const auto& p : {plain, gz, pretty, garbage, trunc}) std::remove(p.c_str());
}

}  // namespace
}  // namespace triad
