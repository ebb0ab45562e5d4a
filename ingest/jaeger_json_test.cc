#include "ingest/jaeger_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "ingest/otlp_json.h"

namespace triad {
namespace {

const char kTrace[] = R"({"data":[{"traceID":"4BF92F3577B34DA6A3CE929D0E0E4736","spans":[
  {"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7","flags":1,
   "operationName":"HTTP GET /dispatch","references":[],"startTime":1700000000000123,
   "duration":25000,"tags":[
     {"key":"span.kind","type":"string","value":"server"},
     {"key":"http.method","type":"string","value":"GET"},
     {"key":"http.url","type":"string","value":"/dispatch?customer=123"},
     {"key":"http.status_code","type":"int64","value":200},
     {"key":"sampler.param","type":"bool","value":true},
     {"key":"ratio","type":"float64","value":0.25}],
   "logs":[{"timestamp":1700000000000200,"fields":[{"key":"event","type":"string","value":"x"}]}],
   "processID":"p1","warnings":null},
  {"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"1111111111111111",
   "operationName":"SQL SELECT","references":[
     {"refType":"FOLLOWS_FROM","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"2222222222222222"},
     {"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7"}],
   "startTime":"1700000000001000","duration":"3000","tags":[
     {"key":"span.kind","type":"string","value":"client"},
     {"key":"error","type":"bool","value":true},
     {"key":"otel.status_description","type":"string","value":"deadlock"},
     {"key":"peer.service","type":"string","value":"mysql"}],
   "processID":"p2"},
  {"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"3333333333333333",
   "operationName":"follows","references":[
     {"refType":"FOLLOWS_FROM","spanID":"2222222222222222"}],
   "startTime":1700000000002000,"duration":0,"tags":[
     {"key":"otel.status_code","type":"string","value":"OK"}],"processID":"p2"}],
  "processes":{
    "p1":{"serviceName":"frontend","tags":[{"key":"hostname","type":"string","value":"host-1"},
                                           {"key":"ip","type":"string","value":"10.0.0.1"}]},
    "p2":{"serviceName":"mysql-client","tags":[{"key":"service.instance.id","type":"string","value":"db-7"}]}},
  "warnings":null}],"total":0,"limit":0,"offset":0,"errors":null})";

TEST(JaegerJsonTest, QueryApiDocument) {
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseJaegerJson(kTrace, sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_EQ(stats.records, 3u);
  ASSERT_EQ(sink.spans.size(), 3u);
  const Span& a = sink.spans[0];
  EXPECT_EQ(a.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(a.span_id, "00f067aa0ba902b7");
  EXPECT_EQ(a.parent_span_id, "");
  EXPECT_EQ(a.name, "HTTP GET /dispatch");
  EXPECT_EQ(a.service, "frontend");
  EXPECT_EQ(a.host, "host-1");
  EXPECT_EQ(a.kind, SpanKind::kServer);
  EXPECT_EQ(a.start, 1700000000000123 * kNsPerUs);
  EXPECT_EQ(a.duration(), 25 * kNsPerMs);
  EXPECT_EQ(a.http_method, "GET");
  EXPECT_EQ(a.http_url, "/dispatch?customer=123");
  EXPECT_EQ(a.http_status_code, 200);
  EXPECT_EQ(a.status, SpanStatus::kUnset);
  EXPECT_EQ(*FindAttribute(a.attributes, "sampler.param"), "true");
  EXPECT_EQ(*FindAttribute(a.attributes, "ratio"), "0.25");
  const Span& b = sink.spans[1];
  EXPECT_EQ(b.parent_span_id, "00f067aa0ba902b7");  // CHILD_OF wins over FOLLOWS_FROM
  EXPECT_EQ(b.kind, SpanKind::kClient);
  EXPECT_EQ(b.status, SpanStatus::kError);
  EXPECT_EQ(b.status_message, "deadlock");
  EXPECT_EQ(b.peer, "mysql");
  EXPECT_EQ(b.service, "mysql-client");
  EXPECT_EQ(b.instance, "db-7");
  EXPECT_EQ(b.duration(), 3 * kNsPerMs);
  const Span& c = sink.spans[2];
  EXPECT_EQ(c.parent_span_id, "2222222222222222");
  EXPECT_EQ(c.status, SpanStatus::kOk);
  EXPECT_EQ(c.duration(), 0);
}

TEST(JaegerJsonTest, SurvivesOtlpRoundTrip) {
  CollectingSink sink;
  ASSERT_TRUE(ParseJaegerJson(kTrace, sink, nullptr).ok());
  CollectingSink again;
  ReadStats stats;
  ASSERT_TRUE(ParseOtlpJson(WriteOtlpTraces(sink.spans), again, &stats).ok());
  ASSERT_EQ(again.spans.size(), sink.spans.size());
  EXPECT_EQ(stats.skipped, 0u);
  for (const Span& s : again.spans) {
    bool found = false;
    for (const Span& o : sink.spans)
      if (o.span_id == s.span_id) {
        found = true;
        EXPECT_EQ(o.parent_span_id, s.parent_span_id);
        EXPECT_EQ(o.start, s.start);
        EXPECT_EQ(o.end, s.end);
        EXPECT_EQ(o.kind, s.kind);
        EXPECT_EQ(o.status, s.status);
        EXPECT_EQ(o.service, s.service);
        EXPECT_EQ(o.http_status_code, s.http_status_code);
        EXPECT_EQ(o.attributes, s.attributes);
      }
    EXPECT_TRUE(found) << s.span_id;
  }
}

TEST(JaegerJsonTest, TraceAndSpanObjectsPerLineAndEmbeddedProcess) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("triad_jaeger_" + std::to_string(::getpid()) + ".jsonl.gz"))
                         .string();
  auto trace = nlohmann::json::parse(kTrace)["data"][0];
  nlohmann::json span = {{"traceID", "abc"},
                         {"spanID", "def"},
                         {"operationName", "op"},
                         {"startTime", 10},
                         {"duration", 5},
                         {"process", {{"serviceName", "solo"}, {"tags", nlohmann::json::array()}}}};
  std::string content = trace.dump() + "\n" + span.dump() + "\n[1,2\n";
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  gzwrite(gz, content.data(), static_cast<unsigned>(content.size()));
  gzclose(gz);
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ReadJaegerJsonFile(path, sink, &stats).ok());
  ASSERT_EQ(sink.spans.size(), 4u);
  EXPECT_EQ(sink.spans[3].service, "solo");
  EXPECT_EQ(sink.spans[3].start, 10 * kNsPerUs);
  EXPECT_EQ(sink.spans[3].end, 15 * kNsPerUs);
  EXPECT_EQ(stats.skipped, 1u);  // the broken last line
  // Pretty-printed whole document.
  std::ofstream(path, std::ios::trunc) << nlohmann::json::parse(kTrace).dump(2);
  CollectingSink sink2;
  ReadStats stats2;
  ASSERT_TRUE(ReadJaegerJsonFile(path, sink2, &stats2).ok());
  EXPECT_EQ(sink2.spans.size(), 3u);
  std::remove(path.c_str());
}

TEST(JaegerJsonTest, MalformedSpansAreCountedSkips) {
  const char* bad[] = {
      R"({"data":[{"spans":[{"spanID":"a","startTime":1}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","startTime":1}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","spanID":"b"}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","spanID":"b","startTime":"x"}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","spanID":"b","startTime":1,"duration":-4}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","spanID":"b","startTime":1,"duration":1e300}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","spanID":"b","startTime":1,"tags":{}}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","spanID":"b","startTime":1,"tags":[{"value":1}]}]}]})",
      R"({"data":[{"spans":[{"traceID":"a","spanID":"b","startTime":1,"processID":"nope"}]}]})",
      R"({"data":[{"spans":[7]}]})",
      R"({"data":[{"spans":{}}]})",
      R"({"data":[5]})",
      R"({"data":{}})",
      R"({"something":"else"})",
      R"([3])",
  };
  for (const char* d : bad) {
    CollectingSink sink;
    ReadStats stats;
    EXPECT_TRUE(ParseJaegerJson(d, sink, &stats).ok()) << d;
    EXPECT_EQ(stats.skipped, 1u) << d;
    EXPECT_TRUE(sink.spans.empty()) << d;
  }
  CollectingSink sink;
  ReadStats stats;
  EXPECT_TRUE(ParseJaegerJson(R"({"data":null,"errors":[{"code":404}]})", sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_FALSE(ParseJaegerJson("{\"data\":[", sink, &stats).ok());
  EXPECT_FALSE(ParseJaegerJson("42", sink, &stats).ok());
  EXPECT_FALSE(ParseJaegerJson("", sink, &stats).ok());
}

}  // namespace
}  // namespace triad
