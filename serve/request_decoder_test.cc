#include "serve/request_decoder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"
#include "ingest/proto/trace_service.pb.h"

namespace triad {
namespace {

using json = nlohmann::json;

constexpr const char* kJson = "application/json";
constexpr const char* kProto = "application/x-protobuf";

LogRecord Log(int i, std::string body) {
  LogRecord l;
  l.time = 1700000000LL * kNsPerSec + i;
  l.severity_number = 9;
  l.body = std::move(body);
  l.service = "cart";
  return l;
}

std::vector<Span> Spans(int n) {
  std::vector<Span> v;
  for (int i = 0; i < n; ++i) {
    Span s;
    s.trace_id = "0000000000000000000000000000000" + std::to_string(i % 10);
    s.trace_id[0] = '1';
    s.span_id = "00000000000000" + std::to_string(10 + i % 90);
    s.service = "cart";
    s.name = "GET /cart";
    s.start = 1700000000LL * kNsPerSec + i;
    s.end = s.start + kNsPerMs;
    v.push_back(std::move(s));
  }
  return v;
}

DecodeResult Decode(OtlpSignal sig, const char* ct, const std::string& body,
                    const IngestLimits& lim, IngestBatch* out, bool zipkin = false) {
  DecodeResult r;
  DecodeIngestRequest(IngestRequest{sig, zipkin, ct, "", body, "/test"}, lim, out, &r);
  EXPECT_EQ(r.records, out->records());
  return r;
}

// An OTLP/JSON span whose one attribute value nests `levels` kvlistValues.
std::string NestedKvlistJson(int levels) {
  json v = {{"stringValue", "leaf"}};
  for (int i = 0; i < levels; ++i)
    v = {{"kvlistValue", {{"values", json::array({{{"key", "k"}, {"value", v}}})}}}};
  json span = {{"traceId", "0102030405060708090a0b0c0d0e0f10"},
               {"spanId", "0102030405060708"},
               {"name", "op"},
               {"startTimeUnixNano", "1700000000000000000"},
               {"endTimeUnixNano", "1700000000000000001"},
               {"attributes", json::array({{{"key", "deep"}, {"value", v}}})}};
  return json{{"resourceSpans",
               json::array({{{"scopeSpans", json::array({{{"spans", json::array({span})}}})}}})}}
      .dump();
}

TEST(RequestDecoderTest, LongStringsAreTruncatedAndCounted) {
  IngestLimits lim;
  lim.max_string_bytes = 100;
  std::vector<LogRecord> logs = {Log(1, std::string(1000, 'x')), Log(2, "short")};
  logs[0].attributes = {{"big", std::string(500, 'y')}, {"small", "z"}};
  for (const char* ct : {kJson, kProto}) {
    SCOPED_TRACE(ct);
    const std::string body = ct == kJson ? WriteOtlpLogs(logs) : WriteOtlpLogsProto(logs);
    IngestBatch b;
    DecodeResult r = Decode(OtlpSignal::kLogs, ct, body, lim, &b);
    ASSERT_EQ(r.http_status, 200) << r.message;
    ASSERT_EQ(b.logs.size(), 2u);
    EXPECT_EQ(b.logs[0].body, std::string(100, 'x'));
    EXPECT_EQ(*FindAttribute(b.logs[0].attributes, "big"), std::string(100, 'y'));
    EXPECT_EQ(b.logs[1].body, "short");
    EXPECT_EQ(r.truncated, 2u);
    EXPECT_EQ(r.rejected, 0u);
    EXPECT_NE(r.message.find("2 value(s) truncated to 100 bytes (max_string_bytes)"),
              std::string::npos)
        << r.message;
  }
  // Span names and ids too.
  std::vector<Span> spans = Spans(1);
  spans[0].name = std::string(300, 'n');
  IngestBatch b;
  DecodeResult r = Decode(OtlpSignal::kTraces, kProto, WriteOtlpTracesProto(spans), lim, &b);
  ASSERT_EQ(b.spans.size(), 1u);
  EXPECT_EQ(b.spans[0].name.size(), 100u);
  EXPECT_EQ(r.truncated, 1u);
}

TEST(RequestDecoderTest, ExtraAttributesAreDroppedAndCounted) {
  IngestLimits lim;
  lim.max_attributes = 3;
  std::vector<Span> spans = Spans(2);
  for (int i = 0; i < 10; ++i) spans[0].attributes.emplace_back("k" + std::to_string(i), "v");
  for (const char* ct : {kJson, kProto}) {
    SCOPED_TRACE(ct);
    const std::string body = ct == kJson ? WriteOtlpTraces(spans) : WriteOtlpTracesProto(spans);
    IngestBatch b;
    DecodeResult r = Decode(OtlpSignal::kTraces, ct, body, lim, &b);
    ASSERT_EQ(r.http_status, 200) << r.message;
    ASSERT_EQ(b.spans.size(), 2u);
    ASSERT_EQ(b.spans[0].attributes.size(), 3u);
    EXPECT_EQ(b.spans[0].attributes[2].first, "k2");  // the first ones are kept
    EXPECT_EQ(r.dropped_attributes, 7u);
    EXPECT_NE(r.message.find("7 attribute(s) dropped (over 3 per record"), std::string::npos)
        << r.message;
  }
  // Zipkin tags as well.
  json zs = json::array({{{"traceId", "0102030405060708"},
                          {"id", "0102030405060709"},
                          {"timestamp", 1700000000000000LL},
                          {"tags", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}}}});
  IngestBatch b;
  DecodeResult r = Decode(OtlpSignal::kTraces, kJson, zs.dump(), lim, &b, /*zipkin=*/true);
  ASSERT_EQ(r.http_status, 200) << r.message;
  ASSERT_EQ(b.spans.size(), 1u);
  EXPECT_EQ(b.spans[0].attributes.size(), 3u);
  EXPECT_EQ(r.dropped_attributes, 2u);
}

TEST(RequestDecoderTest, DeepNestingIsRejectedNamingTheLimit) {
  IngestLimits lim;
  IngestBatch b;
  DecodeResult ok = Decode(OtlpSignal::kTraces, kJson, NestedKvlistJson(5), lim, &b);
  EXPECT_EQ(ok.http_status, 200) << ok.message;
  EXPECT_EQ(b.spans.size(), 1u);
  DecodeResult deep = Decode(OtlpSignal::kTraces, kJson, NestedKvlistJson(40), lim, &b);
  EXPECT_EQ(deep.http_status, 400);
  EXPECT_EQ(deep.rpc_code, kRpcInvalidArgument);
  EXPECT_NE(deep.message.find("deeper than 64 levels (max_depth)"), std::string::npos)
      << deep.message;
  EXPECT_EQ(b.records(), 0u);
  // A huge nesting (parser and json copies recurse) is refused the same way.
  const std::string bomb = std::string(200000, '[') + std::string(200000, ']');
  DecodeResult zipkin = Decode(OtlpSignal::kTraces, kJson, bomb, lim, &b, /*zipkin=*/true);
  EXPECT_EQ(zipkin.http_status, 400);
  EXPECT_NE(zipkin.message.find("max_depth"), std::string::npos) << zipkin.message;
  // Protobuf: nested arrayValues.
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x01'));
  auto* v = span->add_attributes()->mutable_value();
  for (int i = 0; i < 40; ++i) v = v->mutable_array_value()->add_values();
  v->set_string_value("deep");
  DecodeResult pdeep = Decode(OtlpSignal::kTraces, kProto, req.SerializeAsString(), lim, &b);
  EXPECT_EQ(pdeep.http_status, 400);
  EXPECT_NE(pdeep.message.find("max_depth"), std::string::npos) << pdeep.message;
  EXPECT_EQ(pdeep.reply, IngestEncoding::kProto);
}

TEST(RequestDecoderTest, TooManyRecordsIs413) {
  IngestLimits lim;
  lim.max_records = 10;
  IngestBatch b;
  DecodeResult r = Decode(OtlpSignal::kTraces, kProto, WriteOtlpTracesProto(Spans(10)), lim, &b);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(b.spans.size(), 10u);
  for (const char* ct : {kJson, kProto}) {
    SCOPED_TRACE(ct);
    const std::string body =
        ct == kJson ? WriteOtlpTraces(Spans(11)) : WriteOtlpTracesProto(Spans(11));
    r = Decode(OtlpSignal::kTraces, ct, body, lim, &b);
    EXPECT_EQ(r.http_status, 413);
    EXPECT_NE(r.message.find("more than 10 records (max_records)"), std::string::npos)
        << r.message;
    EXPECT_EQ(b.records(), 0u);
    EXPECT_EQ(r.records, 0u);
  }
  // The body size limit is a 413 too.
  lim.max_bytes = 10;
  r = Decode(OtlpSignal::kTraces, kProto, WriteOtlpTracesProto(Spans(1)), lim, &b);
  EXPECT_EQ(r.http_status, 413);
  EXPECT_NE(r.message.find("max_bytes"), std::string::npos);
}

TEST(RequestDecoderTest, UnsupportedContentTypeOrEncodingIs415) {
  IngestLimits lim;
  IngestBatch b;
  const std::string body = WriteOtlpTraces(Spans(1));
  DecodeResult r = Decode(OtlpSignal::kTraces, "text/plain", body, lim, &b);
  EXPECT_EQ(r.http_status, 415);
  EXPECT_NE(r.message.find("unsupported Content-Type 'text/plain'"), std::string::npos);
  EXPECT_EQ(b.records(), 0u);
  r = Decode(OtlpSignal::kTraces, kProto, body, lim, &b, /*zipkin=*/true);
  EXPECT_EQ(r.http_status, 415);
  EXPECT_NE(r.message.find("application/json"), std::string::npos);
  // Parameters and case are fine.
  r = Decode(OtlpSignal::kTraces, "Application/JSON; charset=utf-8", body, lim, &b);
  EXPECT_EQ(r.http_status, 200);
  DecodeIngestRequest(IngestRequest{OtlpSignal::kTraces, false, kJson, "zstd", body, "/t"}, lim,
                      &b, &r);
  EXPECT_EQ(r.http_status, 415);
  EXPECT_NE(r.message.find("Content-Encoding 'zstd'"), std::string::npos);
  EXPECT_TRUE(SupportedContentEncoding("GZIP"));
  EXPECT_FALSE(SupportedContentEncoding("br"));
}

TEST(RequestDecoderTest, GarbageIs400WithAClearMessage) {
  IngestLimits lim;
  IngestBatch b;
  DecodeResult r = Decode(OtlpSignal::kLogs, kJson, "{not json", lim, &b);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.rpc_code, kRpcInvalidArgument);
  EXPECT_NE(r.message.find("invalid JSON"), std::string::npos) << r.message;
  r = Decode(OtlpSignal::kLogs, kProto, "\xff\xff\xff garbage", lim, &b);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_NE(r.message.find("not a valid OTLP ExportLogsServiceRequest"), std::string::npos)
      << r.message;
  EXPECT_EQ(b.records(), 0u);
}

TEST(RequestDecoderTest, PartialSuccessCountsMalformedAndForeignRecords) {
  IngestLimits lim;
  std::vector<Span> spans = Spans(3);
  spans[1].span_id = "0000000000000000";  // all-zero id: rejected
  IngestBatch b;
  DecodeResult r = Decode(OtlpSignal::kLogs, kJson, WriteOtlpTraces(spans), lim, &b);
  ASSERT_EQ(r.http_status, 200);
  EXPECT_EQ(b.records(), 0u);  // spans sent to /v1/logs are not kept
  EXPECT_EQ(r.rejected, 3u);
  EXPECT_NE(r.message.find("1 rejected; first:"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("2 records of another signal than logs rejected"), std::string::npos)
      << r.message;
}

TEST(RequestDecoderTest, InflateCapsTheDecompressedSize) {
  const std::string body = WriteOtlpTraces(Spans(50));
  DecodeResult r;
  std::string out;
  for (const char* ce : {"gzip", "deflate", "identity", ""}) {
    SCOPED_TRACE(ce);
    ASSERT_TRUE(InflateRequestBody(ce, CompressRequestBody(ce, body), 1 << 20, &out, &r))
        << r.message;
    EXPECT_EQ(out, body);
  }
  // A gzip bomb: 64 MiB of zeros is ~64 KiB on the wire.
  const std::string bomb = CompressRequestBody("gzip", std::string(64u << 20, '\0'));
  ASSERT_LT(bomb.size(), 200u << 10);
  EXPECT_FALSE(InflateRequestBody("gzip", bomb, 1 << 20, &out, &r));
  EXPECT_EQ(r.http_status, 413);
  EXPECT_NE(r.message.find("larger than 1048576 bytes (after decompression)"), std::string::npos)
      << r.message;
  EXPECT_TRUE(out.empty());
  // Exactly at the cap is fine.
  const std::string exact(1000, 'a');
  EXPECT_TRUE(InflateRequestBody("gzip", CompressRequestBody("gzip", exact), 1000, &out, &r));
  EXPECT_EQ(out, exact);
  EXPECT_FALSE(InflateRequestBody("identity", exact, 999, &out, &r));
  EXPECT_EQ(r.http_status, 413);
  // Corrupt, truncated, trailing garbage: 400.
  std::string gz = CompressRequestBody("gzip", body);
  EXPECT_FALSE(InflateRequestBody("gzip", gz.substr(0, gz.size() / 2), 1 << 20, &out, &r));
  EXPECT_EQ(r.http_status, 400);
  EXPECT_NE(r.message.find("corrupt or truncated gzip data"), std::string::npos) << r.message;
  EXPECT_FALSE(InflateRequestBody("gzip", "not gzip at all", 1 << 20, &out, &r));
  EXPECT_EQ(r.http_status, 400);
  EXPECT_FALSE(InflateRequestBody("gzip", gz + "junk", 1 << 20, &out, &r));
  EXPECT_EQ(r.http_status, 400);
  EXPECT_FALSE(InflateRequestBody("br", gz, 1 << 20, &out, &r));
  EXPECT_EQ(r.http_status, 415);
}

}  // namespace
}  // namespace triad
