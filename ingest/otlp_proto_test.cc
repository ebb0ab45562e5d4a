#include "ingest/otlp_proto.h"

#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/otlp_json.h"
#include "ingest/proto/logs_service.pb.h"
#include "ingest/proto/metrics_service.pb.h"
#include "ingest/proto/trace_service.pb.h"

namespace triad {
namespace {

namespace pbc = opentelemetry::proto::common::v1;
namespace pbt = opentelemetry::proto::trace::v1;
namespace pbl = opentelemetry::proto::logs::v1;
namespace pbm = opentelemetry::proto::metrics::v1;
namespace ctr = opentelemetry::proto::collector::trace::v1;
namespace clg = opentelemetry::proto::collector::logs::v1;
namespace cmt = opentelemetry::proto::collector::metrics::v1;

// One line per record with every field, so that two readers' outputs compare as text.
std::string AttrText(const Attributes& a) {
  std::string out = "{";
  for (const auto& [k, v] : a) out += k + "=" + v + ";";
  return out + "}";
}

std::string Describe(const CollectingSink& s) {
  std::ostringstream o;
  for (const Span& x : s.spans)
    o << "span " << x.trace_id << "/" << x.span_id << "<" << x.parent_span_id << " "
      << x.service << "|" << x.instance << "|" << x.host << " " << x.name << " k"
      << int(x.kind) << " " << x.start << "-" << x.end << " s" << int(x.status) << ":"
      << x.status_message << " " << x.http_method << " " << x.http_url << " "
      << x.http_status_code << " peer=" << x.peer << " " << AttrText(x.attributes) << "\n";
  for (const LogRecord& x : s.logs)
    o << "log " << x.time << "/" << x.observed_time << " sev" << x.severity_number << ":"
      << x.severity_text << " [" << x.body << "] " << x.service << "|" << x.instance << " "
      << x.trace_id << "/" << x.span_id << " " << AttrText(x.attributes) << "\n";
  for (const MetricSample& x : s.metrics) {
    o << "metric " << x.name << " " << x.service << "|" << x.instance << " "
      << AttrText(x.labels) << " t" << x.time << " k" << int(x.kind) << " v" << x.value
      << " n" << x.count << " b";
    for (double b : x.bounds) o << b << ",";
    o << " c";
    for (uint64_t c : x.bucket_counts) o << c << ",";
    o << "\n";
  }
  return o.str();
}

struct Result {
  Status status;
  CollectingSink sink;
  ReadStats stats;
};

Result ViaProto(OtlpSignal kind, const std::string& bytes,
                const OtlpProtoLimits& limits = OtlpProtoLimits()) {
  Result r;
  r.status = ParseOtlpProto(kind, bytes, r.sink, &r.stats, "req", limits);
  return r;
}

Result ViaJson(const std::string& doc) {
  Result r;
  r.status = ParseOtlpJson(doc, r.sink, &r.stats, "req");
  return r;
}

// The OTLP/JSON text of a request message (the proto3 JSON mapping, as exporters send it).
std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(m, &out).ok());
  return out;
}

std::vector<Span> Spans() {
  std::vector<Span> v;
  for (int i = 0; i < 6; ++i) {
    Span s;
    s.trace_id = "4bf92f3577b34da6a3ce929d0e0e47" + std::to_string(10 + i % 2);
    s.span_id = "00f067aa0ba902b" + std::to_string(i);
    if (i > 0) s.parent_span_id = "00f067aa0ba902b0";
    s.service = i < 3 ? "checkout" : "payment";
    s.instance = i == 4 ? "payment-7f9" : "";
    s.host = i == 5 ? "node-3" : "";
    s.name = "op" + std::to_string(i);
    s.kind = static_cast<SpanKind>(i % 6);
    s.start = 1710000000000000000 + i * 1000;
    s.end = s.start + 250000 * (i + 1);
    s.status = static_cast<SpanStatus>(i % 3);
    if (i == 2) s.status_message = "deadline exceeded";
    if (i == 1) {
      s.http_method = "POST";
      s.http_url = "/api/pay";
      s.http_status_code = 502;
      s.peer = "payment";
    }
    if (i == 3) s.attributes = {{"rpc.system", "grpc"}, {"retry", "2"}, {"bad", "\xff\xfe"}};
    v.push_back(s);
  }
  return v;
}

std::vector<LogRecord> Logs() {
  std::vector<LogRecord> v;
  for (int i = 0; i < 5; ++i) {
    LogRecord l;
    l.time = i == 2 ? 0 : 1710000000500000000 + i;
    l.observed_time = 1710000000600000000 + i;
    l.severity_number = i == 3 ? 0 : 9 + 4 * (i % 3);
    l.severity_text = i == 3 ? "ERROR" : "";
    l.body = "request " + std::to_string(i) + " done";
    l.service = i % 2 ? "api" : "db";
    l.instance = "pod-" + std::to_string(i % 2);
    if (i == 1) {
      l.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
      l.span_id = "00f067aa0ba902b7";
    }
    if (i == 4) l.attributes = {{"code.function", "Handle"}, {"thread", "12"}};
    v.push_back(l);
  }
  return v;
}

std::vector<MetricSample> Metrics() {
  std::vector<MetricSample> v;
  for (int i = 0; i < 4; ++i) {
    MetricSample g;
    g.name = "cpu_usage";
    g.service = "api";
    g.labels = {{"core", std::to_string(i)}, {"mode", "user"}};
    g.time = 1710000001000000000 + i * kNsPerSec;
    g.value = 0.25 * i;
    v.push_back(g);
    MetricSample c = g;
    c.name = "requests_total";
    c.kind = MetricKind::kCounter;
    c.labels = {{"code", "200"}};
    c.value = 100 + i;
    v.push_back(c);
  }
  MetricSample h;
  h.name = "latency_seconds";
  h.service = "api";
  h.instance = "api-0";
  h.kind = MetricKind::kHistogram;
  h.time = 1710000002000000000;
  h.count = 10;
  h.value = 1.5;
  h.bounds = {0.1, 0.5, 1};
  h.bucket_counts = {2, 5, 2, 1};
  v.push_back(h);
  MetricSample h2 = h;
  h2.bounds.clear();
  h2.bucket_counts = {10};
  h2.time += kNsPerSec;
  v.push_back(h2);
  return v;
}

TEST(OtlpProtoTest, TracesRoundTripMatchesJsonPath) {
  const std::vector<Span> spans = Spans();
  Result p = ViaProto(OtlpSignal::kTraces, WriteOtlpTracesProto(spans));
  Result j = ViaJson(WriteOtlpTraces(spans));
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  ASSERT_TRUE(j.status.ok()) << j.status.ToString();
  ASSERT_EQ(p.sink.spans.size(), spans.size());
  EXPECT_EQ(p.stats.records, spans.size());
  EXPECT_EQ(p.stats.skipped, 0u);
  EXPECT_EQ(Describe(p.sink), Describe(j.sink));
  // Spot checks against the input (not only against the other reader).
  EXPECT_EQ(p.sink.spans[1].http_status_code, 502);
  EXPECT_EQ(p.sink.spans[1].peer, "payment");
  EXPECT_EQ(p.sink.spans[0].trace_id, spans[0].trace_id);
  EXPECT_EQ(p.sink.spans[2].status_message, "deadline exceeded");
}

TEST(OtlpProtoTest, LogsRoundTripMatchesJsonPath) {
  const std::vector<LogRecord> logs = Logs();
  Result p = ViaProto(OtlpSignal::kLogs, WriteOtlpLogsProto(logs));
  Result j = ViaJson(WriteOtlpLogs(logs));
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.sink.logs.size(), logs.size());
  EXPECT_EQ(Describe(p.sink), Describe(j.sink));
  // Grouped by resource: db logs (0, 2, 4) first.
  EXPECT_EQ(p.sink.logs[1].time, logs[2].observed_time);  // time falls back to observed
  EXPECT_EQ(p.sink.logs[3].trace_id, logs[1].trace_id);
  EXPECT_EQ(p.sink.logs[4].severity_number, 17);  // from severity_text "ERROR"
}

TEST(OtlpProtoTest, MetricsRoundTripMatchesJsonPath) {
  const std::vector<MetricSample> metrics = Metrics();
  Result p = ViaProto(OtlpSignal::kMetrics, WriteOtlpMetricsProto(metrics));
  Result j = ViaJson(WriteOtlpMetrics(metrics));
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.sink.metrics.size(), metrics.size());
  EXPECT_EQ(p.stats.skipped, 0u);
  EXPECT_EQ(Describe(p.sink), Describe(j.sink));
  EXPECT_EQ(p.sink.metrics.back().bucket_counts, std::vector<uint64_t>{10});
  EXPECT_EQ(p.sink.metrics[p.sink.metrics.size() - 2].bounds, (std::vector<double>{0.1, 0.5, 1}));
}

// A request with every metric type and the skip cases, built as protobuf and
// read both as protobuf and as its OTLP/JSON rendering.
cmt::ExportMetricsServiceRequest AllMetricTypes() {
  cmt::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  auto* attr = rm->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("shop");
  auto* pod = rm->mutable_resource()->add_attributes();
  pod->set_key("k8s.pod.name");
  pod->mutable_value()->set_string_value("shop-abc");
  auto* sm = rm->add_scope_metrics();
  const uint64_t t = 1710000003000000000;
  auto add_label = [](auto* point, const char* k, int64_t v) {
    auto* kv = point->add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_int_value(v);
  };
  {  // gauge: double, int, NaN (skip), no time (skip), no value (skip)
    auto* m = sm->add_metrics();
    m->set_name("temp");
    auto* g = m->mutable_gauge();
    auto* a = g->add_data_points();
    a->set_time_unix_nano(t);
    a->set_as_double(21.5);
    add_label(a, "zone", 3);
    add_label(a, "a_first", 1);
    auto* b = g->add_data_points();
    b->set_time_unix_nano(t + 1);
    b->set_as_int(-4);
    auto* c = g->add_data_points();
    c->set_time_unix_nano(t + 2);
    c->set_as_double(std::numeric_limits<double>::quiet_NaN());
    auto* d = g->add_data_points();
    d->set_as_double(1);
    auto* e = g->add_data_points();
    e->set_time_unix_nano(t + 3);
  }
  {  // sums: cumulative monotonic -> counter; delta -> gauge; flagged no value (skip)
    auto* m = sm->add_metrics();
    m->set_name("hits");
    m->mutable_sum()->set_is_monotonic(true);
    m->mutable_sum()->set_aggregation_temporality(pbm::AGGREGATION_TEMPORALITY_CUMULATIVE);
    auto* a = m->mutable_sum()->add_data_points();
    a->set_time_unix_nano(t);
    a->set_as_int(42);
    auto* b = m->mutable_sum()->add_data_points();
    b->set_time_unix_nano(t + 1);
    b->set_as_int(43);
    b->set_flags(1);
    auto* m2 = sm->add_metrics();
    m2->set_name("hits_delta");
    m2->mutable_sum()->set_is_monotonic(true);
    m2->mutable_sum()->set_aggregation_temporality(pbm::AGGREGATION_TEMPORALITY_DELTA);
    auto* c = m2->mutable_sum()->add_data_points();
    c->set_time_unix_nano(t);
    c->set_as_double(3);
  }
  {  // histograms: good, bad bucket count size (skip), decreasing bounds (skip)
    auto* m = sm->add_metrics();
    m->set_name("lat");
    auto* h = m->mutable_histogram();
    auto* a = h->add_data_points();
    a->set_time_unix_nano(t);
    a->set_count(6);
    a->set_sum(2.25);
    for (double b : {0.5, 1.0}) a->add_explicit_bounds(b);
    for (uint64_t c : {1, 4, 1}) a->add_bucket_counts(c);
    auto* b = h->add_data_points();
    b->set_time_unix_nano(t + 1);
    b->add_explicit_bounds(1);
    b->add_bucket_counts(1);
    auto* c = h->add_data_points();
    c->set_time_unix_nano(t + 2);
    for (double x : {2.0, 1.0}) c->add_explicit_bounds(x);
    for (uint64_t x : {1, 1, 1}) c->add_bucket_counts(x);
  }
  {  // summary with quantiles, one of them NaN (skip)
    auto* m = sm->add_metrics();
    m->set_name("rpc");
    auto* p = m->mutable_summary()->add_data_points();
    p->set_time_unix_nano(t);
    p->set_count(7);
    p->set_sum(3.5);
    auto* q1 = p->add_quantile_values();
    q1->set_quantile(0.5);
    q1->set_value(0.4);
    auto* q2 = p->add_quantile_values();
    q2->set_quantile(0.99);
    q2->set_value(std::numeric_limits<double>::infinity());
  }
  {  // exponential histogram (unsupported: one skip), no data, no name
    auto* m = sm->add_metrics();
    m->set_name("exp");
    auto* p = m->mutable_exponential_histogram()->add_data_points();
    p->set_time_unix_nano(t);
    p->set_count(1);
    sm->add_metrics()->set_name("nodata");
    sm->add_metrics()->mutable_gauge()->add_data_points()->set_as_double(1);
  }
  return req;
}

TEST(OtlpProtoTest, EveryMetricTypeAndSkipMatchesJsonPath) {
  cmt::ExportMetricsServiceRequest req = AllMetricTypes();
  Result p = ViaProto(OtlpSignal::kMetrics, req.SerializeAsString());
  Result j = ViaJson(ToJson(req));
  ASSERT_TRUE(p.status.ok());
  ASSERT_TRUE(j.status.ok());
  EXPECT_EQ(Describe(p.sink), Describe(j.sink));
  EXPECT_EQ(p.stats.skipped, j.stats.skipped);
  EXPECT_EQ(p.stats.records, j.stats.records);
  // gauge 2 + counter 1 + delta gauge 1 + histogram 1 + summary (q0.5, _sum, _count) 3.
  EXPECT_EQ(p.sink.metrics.size(), 8u);
  // NaN, no time, no value, flagged, 2 bad histograms, NaN quantile, exp, nodata, no name.
  EXPECT_EQ(p.stats.skipped, 10u);
  ASSERT_FALSE(p.sink.metrics.empty());
  EXPECT_EQ(p.sink.metrics[0].instance, "shop-abc");
  EXPECT_EQ(AttrText(p.sink.metrics[0].labels), "{a_first=1;zone=3;}");
  EXPECT_EQ(p.sink.metrics[1].value, -4);
  EXPECT_EQ(p.sink.metrics[2].kind, MetricKind::kCounter);
  EXPECT_EQ(p.sink.metrics[3].kind, MetricKind::kGauge);
  EXPECT_EQ(p.sink.metrics[5].name, "rpc");
  EXPECT_EQ(AttrText(p.sink.metrics[5].labels), "{quantile=0.5;}");
  EXPECT_EQ(p.sink.metrics[7].name, "rpc_count");
  EXPECT_EQ(p.sink.metrics[7].value, 7);
}

ctr::ExportTraceServiceRequest TracesWithQuirks() {
  ctr::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("edge");
  auto* ss = rs->add_scope_spans();
  const std::string tid("\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36", 16);
  auto span = [&](const std::string& sid, uint64_t start, uint64_t end) {
    auto* s = ss->add_spans();
    s->set_trace_id(tid);
    s->set_span_id(sid);
    s->set_name("n");
    s->set_start_time_unix_nano(start);
    s->set_end_time_unix_nano(end);
    return s;
  };
  auto* ok = span(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8), 100, 200);
  ok->set_kind(pbt::Span::SPAN_KIND_SERVER);
  ok->set_parent_span_id(std::string(8, '\0'));  // all-zero parent = root
  ok->mutable_status()->set_code(pbt::Status::STATUS_CODE_ERROR);
  auto attr = [&](pbt::Span* s, const char* key) {
    auto* a = s->add_attributes();
    a->set_key(key);
    return a->mutable_value();
  };
  attr(ok, "http.method")->set_string_value("GET");
  attr(ok, "http.status_code")->set_int_value(503);
  attr(ok, "ratio")->set_double_value(0.125);
  attr(ok, "flag")->set_bool_value(true);
  attr(ok, "raw")->set_bytes_value(std::string("\x00\xff\x10", 3));
  auto* arr = attr(ok, "list")->mutable_array_value();
  arr->add_values()->set_int_value(1);
  arr->add_values()->set_string_value("two");
  arr->add_values()->set_double_value(std::numeric_limits<double>::infinity());
  auto* map = attr(ok, "map")->mutable_kvlist_value()->add_values();
  map->set_key("k");
  map->mutable_value()->set_bool_value(false);
  attr(ok, "empty");
  auto* ev = ok->add_events();
  ev->set_name("exception");
  ev->set_time_unix_nano(150);
  auto* link = ok->add_links();
  link->set_trace_id(tid);
  link->set_span_id(std::string(8, '\x09'));
  span(std::string("\x01\x02\x03\x04\x05\x06\x07\x09", 8), 300, 200);  // ends before start
  span(std::string(8, '\0'), 1, 2);                                    // zero span id
  auto* no_trace = span(std::string(8, '\x07'), 1, 2);
  no_trace->clear_trace_id();
  return req;
}

TEST(OtlpProtoTest, SpanQuirksAndSkipsMatchJsonPath) {
  ctr::ExportTraceServiceRequest req = TracesWithQuirks();
  Result p = ViaProto(OtlpSignal::kTraces, req.SerializeAsString());
  Result j = ViaJson(ToJson(req));
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(Describe(p.sink), Describe(j.sink));
  ASSERT_EQ(p.sink.spans.size(), 1u);
  EXPECT_EQ(p.stats.skipped, 3u);
  EXPECT_EQ(j.stats.skipped, 3u);
  const Span& s = p.sink.spans[0];
  EXPECT_EQ(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.span_id, "0102030405060708");
  EXPECT_EQ(s.parent_span_id, "");
  EXPECT_EQ(s.service, "edge");
  EXPECT_EQ(s.http_method, "GET");
  EXPECT_EQ(s.http_status_code, 503);
  EXPECT_TRUE(s.is_error());
  EXPECT_EQ(*FindAttribute(s.attributes, "raw"), "AP8Q");
  EXPECT_EQ(*FindAttribute(s.attributes, "list"), "[1,\"two\",\"Infinity\"]");
  EXPECT_EQ(*FindAttribute(s.attributes, "map"), "{\"k\":false}");
  EXPECT_EQ(*FindAttribute(s.attributes, "flag"), "true");
  EXPECT_EQ(*FindAttribute(s.attributes, "ratio"), "0.125");
  EXPECT_EQ(*FindAttribute(s.attributes, "empty"), "");
}

TEST(OtlpProtoTest, LogBodiesOfEveryKindMatchJsonPath) {
  clg::ExportLogsServiceRequest req;
  auto* sl = req.add_resource_logs()->add_scope_logs();
  auto add = [&]() {
    auto* l = sl->add_log_records();
    l->set_time_unix_nano(1710000000000000000 + sl->log_records_size());
    return l;
  };
  add()->mutable_body()->set_int_value(-12);
  add()->mutable_body()->set_double_value(2.5);
  auto* kv = add()->mutable_body()->mutable_kvlist_value()->add_values();
  kv->set_key("msg");
  kv->mutable_value()->set_string_value("hi");
  auto* sev = add();
  sev->set_severity_number(pbl::SEVERITY_NUMBER_WARN2);
  sev->set_trace_id(std::string(16, '\0'));  // all-zero ids are dropped
  add();                                     // no body
  Result p = ViaProto(OtlpSignal::kLogs, req.SerializeAsString());
  Result j = ViaJson(ToJson(req));
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(Describe(p.sink), Describe(j.sink));
  ASSERT_EQ(p.sink.logs.size(), 5u);
  EXPECT_EQ(p.sink.logs[0].body, "-12");
  EXPECT_EQ(p.sink.logs[2].body, "{\"msg\":\"hi\"}");
  EXPECT_EQ(p.sink.logs[3].severity_number, 14);
  EXPECT_EQ(p.sink.logs[3].trace_id, "");
}

TEST(OtlpProtoTest, UnknownFieldsAreIgnored) {
  ctr::ExportTraceServiceRequest req = TracesWithQuirks();
  const std::string plain = req.SerializeAsString();
  pbt::Span* s = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  s->GetReflection()->MutableUnknownFields(s)->AddVarint(99, 7);
  s->GetReflection()->MutableUnknownFields(s)->AddLengthDelimited(4242, "future");
  req.GetReflection()->MutableUnknownFields(&req)->AddFixed64(17, 1);
  const std::string extended = req.SerializeAsString();
  ASSERT_GT(extended.size(), plain.size());
  Result a = ViaProto(OtlpSignal::kTraces, plain);
  Result b = ViaProto(OtlpSignal::kTraces, extended);
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  EXPECT_EQ(Describe(a.sink), Describe(b.sink));
  EXPECT_EQ(b.sink.spans.size(), 1u);
}

TEST(OtlpProtoTest, TruncatedAndGarbageBytesGiveClearErrors) {
  const std::string bytes = WriteOtlpTracesProto(Spans());
  // Every prefix: never a crash; a cut inside a message is Corruption with nothing emitted.
  size_t corrupt = 0;
  for (size_t n = 1; n < bytes.size(); ++n) {
    Result r = ViaProto(OtlpSignal::kTraces, bytes.substr(0, n));
    if (!r.status.ok()) {
      ++corrupt;
      EXPECT_EQ(r.status.code(), Status::Code::kCorruption);
      EXPECT_NE(r.status.message().find("ExportTraceServiceRequest"), std::string::npos);
      EXPECT_TRUE(r.sink.spans.empty());
    }
  }
  EXPECT_GT(corrupt, bytes.size() / 2);
  for (std::string g : {std::string("\xff\xff\xff\xff"), std::string("hello world"),
                        std::string("\x0a\x05\x12"), std::string("\x0a")}) {
    Result r = ViaProto(OtlpSignal::kLogs, g);
    EXPECT_EQ(r.status.code(), Status::Code::kCorruption) << g;
  }
  // Invalid UTF-8 in a string field is rejected by the protobuf parser, cleanly.
  std::string bad = WriteOtlpLogsProto(Logs());
  size_t at = bad.find("request 0 done");
  ASSERT_NE(at, std::string::npos);
  bad[at] = '\xff';
  EXPECT_EQ(ViaProto(OtlpSignal::kLogs, bad).status.code(), Status::Code::kCorruption);
  // The empty request is valid and empty.
  Result empty = ViaProto(OtlpSignal::kMetrics, "");
  EXPECT_TRUE(empty.status.ok());
  EXPECT_TRUE(empty.sink.metrics.empty());
}

TEST(OtlpProtoTest, LimitsRejectWholeRequests) {
  const std::string bytes = WriteOtlpMetricsProto(Metrics());
  OtlpProtoLimits small;
  small.max_bytes = bytes.size() - 1;
  Result big = ViaProto(OtlpSignal::kMetrics, bytes, small);
  EXPECT_EQ(big.status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(big.status.message().find("exceeds the limit"), std::string::npos);
  EXPECT_TRUE(big.sink.metrics.empty());

  // Deeply nested attribute value.
  ctr::ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x01'));
  pbc::AnyValue* v = span->add_attributes()->mutable_value();
  for (int i = 0; i < 40; ++i) v = v->mutable_array_value()->add_values();
  v->set_string_value("deep");
  Result deep = ViaProto(OtlpSignal::kTraces, req.SerializeAsString());
  EXPECT_EQ(deep.status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(deep.status.message().find("deeper than 64"), std::string::npos);
  OtlpProtoLimits lenient;
  lenient.max_depth = 100;
  Result ok = ViaProto(OtlpSignal::kTraces, req.SerializeAsString(), lenient);
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  ASSERT_EQ(ok.sink.spans.size(), 1u);
  // Cut to "…" beyond kOtlpMaxValueDepth, as the JSON reader does.
  EXPECT_NE(ok.sink.spans[0].attributes[0].second.find("\xE2\x80\xA6"), std::string::npos);

  // Too many attributes on one record: the extra ones are dropped and counted
  // (OpenTelemetry SDK attribute-limit semantics), the record is kept.
  ctr::ExportTraceServiceRequest heavy;
  auto* s = heavy.add_resource_spans()->add_scope_spans()->add_spans();
  s->set_trace_id(std::string(16, '\x01'));
  s->set_span_id(std::string(8, '\x01'));
  for (int i = 0; i < 50; ++i) s->add_attributes()->set_key("k" + std::to_string(i));
  OtlpProtoLimits few;
  few.max_attributes = 49;
  Result many = ViaProto(OtlpSignal::kTraces, heavy.SerializeAsString(), few);
  ASSERT_TRUE(many.status.ok()) << many.status.ToString();
  ASSERT_EQ(many.sink.spans.size(), 1u);
  EXPECT_EQ(many.sink.spans[0].attributes.size(), 49u);
  EXPECT_EQ(many.stats.dropped_attributes, 1u);
  few.max_attributes = 50;
  Result all = ViaProto(OtlpSignal::kTraces, heavy.SerializeAsString(), few);
  EXPECT_EQ(all.sink.spans.at(0).attributes.size(), 50u);
  EXPECT_EQ(all.stats.dropped_attributes, 0u);
}

TEST(OtlpProtoTest, ExportResponses) {
  ctr::ExportTraceServiceResponse t;
  ASSERT_TRUE(t.ParseFromString(OtlpExportResponseProto(OtlpSignal::kTraces, 3, "3 bad spans")));
  EXPECT_TRUE(t.has_partial_success());
  EXPECT_EQ(t.partial_success().rejected_spans(), 3);
  EXPECT_EQ(t.partial_success().error_message(), "3 bad spans");
  clg::ExportLogsServiceResponse l;
  ASSERT_TRUE(l.ParseFromString(OtlpExportResponseProto(OtlpSignal::kLogs, 2, "")));
  EXPECT_EQ(l.partial_success().rejected_log_records(), 2);
  cmt::ExportMetricsServiceResponse m;
  ASSERT_TRUE(m.ParseFromString(OtlpExportResponseProto(OtlpSignal::kMetrics, 0, "")));
  EXPECT_FALSE(m.has_partial_success());
  EXPECT_EQ(OtlpExportResponseProto(OtlpSignal::kMetrics, 0, ""), "");

  EXPECT_EQ(OtlpExportResponseJson(OtlpSignal::kTraces, 0, ""), "{}");
  auto j = nlohmann::json::parse(OtlpExportResponseJson(OtlpSignal::kMetrics, 5, "why"));
  EXPECT_EQ(j["partialSuccess"]["rejectedDataPoints"], "5");
  EXPECT_EQ(j["partialSuccess"]["errorMessage"], "why");
  // The JSON response parses as the protobuf response's JSON mapping.
  cmt::ExportMetricsServiceResponse from_json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  OtlpExportResponseJson(OtlpSignal::kMetrics, 5, "why"), &from_json)
                  .ok());
  EXPECT_EQ(from_json.partial_success().rejected_data_points(), 5);
  auto lj = nlohmann::json::parse(OtlpExportResponseJson(OtlpSignal::kLogs, 1, ""));
  EXPECT_EQ(lj["partialSuccess"]["rejectedLogRecords"], "1");

  ReadStats stats;
  EXPECT_EQ(OtlpPartialSuccessMessage(stats), "");
  CollectingSink sink;
  ParseOtlpProto(OtlpSignal::kTraces, TracesWithQuirks().SerializeAsString(), sink, &stats, "x");
  EXPECT_EQ(OtlpPartialSuccessMessage(stats).rfind("3 rejected; first: x:0: ", 0), 0u)
      << OtlpPartialSuccessMessage(stats);
}

TEST(OtlpProtoTest, DetectsSignals) {
  OtlpSignal s;
  ASSERT_TRUE(DetectOtlpSignal(WriteOtlpTracesProto(Spans()), &s));
  EXPECT_EQ(s, OtlpSignal::kTraces);
  ASSERT_TRUE(DetectOtlpSignal(WriteOtlpLogsProto(Logs()), &s));
  EXPECT_EQ(s, OtlpSignal::kLogs);
  ASSERT_TRUE(DetectOtlpSignal(WriteOtlpMetricsProto(Metrics()), &s));
  EXPECT_EQ(s, OtlpSignal::kMetrics);
  ASSERT_TRUE(DetectOtlpSignal(AllMetricTypes().SerializeAsString(), &s));
  EXPECT_EQ(s, OtlpSignal::kMetrics);
  ASSERT_TRUE(DetectOtlpSignal(TracesWithQuirks().SerializeAsString(), &s));
  EXPECT_EQ(s, OtlpSignal::kTraces);
  EXPECT_FALSE(DetectOtlpSignal("", &s));                       // no records
  EXPECT_FALSE(DetectOtlpSignal(WriteOtlpLogsProto({}), &s));   // no records
  EXPECT_FALSE(DetectOtlpSignal("timestamp,value\n1,2\n", &s));  // text
  EXPECT_FALSE(DetectOtlpSignal("{\"resourceSpans\":[]}", &s));

  EXPECT_TRUE(LooksLikeOtlpProto(WriteOtlpProtoFrame(WriteOtlpTracesProto(Spans()))));
  const std::string whole = WriteOtlpMetricsProto(Metrics());
  EXPECT_TRUE(LooksLikeOtlpProto(whole));
  EXPECT_TRUE(LooksLikeOtlpProto(WriteOtlpProtoFrame(whole).substr(0, whole.size() / 2)));
  EXPECT_FALSE(LooksLikeOtlpProto("# HELP x y\nx 1\n"));
  EXPECT_FALSE(LooksLikeOtlpProto("081109 203615 148 INFO dfs.DataNode: hello\n"));
  EXPECT_FALSE(LooksLikeOtlpProto(std::string(100, '\0')));
}

TEST(OtlpProtoTest, FilesOfFramesOrOneRequest) {
  const std::string traces = WriteOtlpTracesProto(Spans());
  const std::string logs = WriteOtlpLogsProto(Logs());
  const std::string metrics = WriteOtlpMetricsProto(Metrics());
  {
    CollectingSink sink;
    ReadStats stats;
    std::string file = WriteOtlpProtoFrame(traces) + WriteOtlpProtoFrame(logs) +
                       WriteOtlpProtoFrame("\xff\xff garbage") + WriteOtlpProtoFrame(metrics) +
                       WriteOtlpProtoFrame("");
    ASSERT_TRUE(ParseOtlpProtoFile(file, sink, &stats, "f.pb").ok());
    EXPECT_EQ(sink.spans.size(), Spans().size());
    EXPECT_EQ(sink.logs.size(), Logs().size());
    EXPECT_EQ(sink.metrics.size(), Metrics().size());
    EXPECT_EQ(stats.lines, 5u);
    EXPECT_EQ(stats.skipped, 1u);
    ASSERT_EQ(stats.errors.size(), 1u);
    EXPECT_EQ(stats.errors[0].rfind("f.pb:3: ", 0), 0u) << stats.errors[0];
  }
  {
    CollectingSink sink;
    ReadStats stats;
    ASSERT_TRUE(ParseOtlpProtoFile(logs, sink, &stats, "one.pb").ok());
    EXPECT_EQ(sink.logs.size(), Logs().size());
    EXPECT_EQ(stats.lines, 1u);
  }
  CollectingSink sink;
  ReadStats stats;
  Status bad = ParseOtlpProtoFile("not protobuf at all", sink, &stats, "bad.pb");
  EXPECT_EQ(bad.code(), Status::Code::kCorruption);
  EXPECT_NE(bad.message().find("bad.pb"), std::string::npos);
  EXPECT_FALSE(ParseOtlpProtoFile(WriteOtlpProtoFrame("\x0a\x01"), sink, &stats, "x").ok());
  // A truncated last frame: the frames before it are read, the rest is a counted skip.
  std::string cut = WriteOtlpProtoFrame(traces) + WriteOtlpProtoFrame(logs);
  cut.resize(cut.size() - 3);
  CollectingSink cut_sink;
  ReadStats cut_stats;
  ASSERT_TRUE(ParseOtlpProtoFile(cut, cut_sink, &cut_stats, "cut.pb").ok());
  EXPECT_EQ(cut_sink.spans.size(), Spans().size());
  EXPECT_TRUE(cut_sink.logs.empty());
  EXPECT_EQ(cut_stats.skipped, 1u);
  ASSERT_EQ(cut_stats.errors.size(), 1u);
  EXPECT_EQ(cut_stats.errors[0].rfind("cut.pb:2: truncated", 0), 0u) << cut_stats.errors[0];
}

}  // namespace
}  // namespace triad
