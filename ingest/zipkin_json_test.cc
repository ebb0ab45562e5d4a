#include "ingest/zipkin_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace triad {
namespace {

const char kSpans[] = R"([
  {"traceId":"5AF7183FB1D4CF5F","id":"6B221D5BC9E6496C","name":"get /api","kind":"SERVER",
   "timestamp":1700000000000001,"duration":207000,
   "localEndpoint":{"serviceName":"frontend","ipv4":"192.168.99.1","port":8080},
   "remoteEndpoint":{"ipv4":"172.19.0.2","port":58648},
   "tags":{"http.method":"GET","http.path":"/api","http.status_code":"500","error":"Internal Server Error"}},
  {"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2",
   "name":"query","kind":"CLIENT","timestamp":1700000000000100,"duration":"1000",
   "localEndpoint":{"serviceName":"frontend","ipv6":"::1"},
   "remoteEndpoint":{"serviceName":"backend"},"tags":{"error":""},"shared":false,"debug":true,
   "annotations":[{"timestamp":1700000000000150,"value":"wire send"}]},
  {"traceId":"5af7183fb1d4cf5f","id":"aaaaaaaaaaaaaaaa","name":"local","timestamp":5},
  {"traceId":"5af7183fb1d4cf5f","id":"bbbbbbbbbbbbbbbb","kind":"PRODUCER","timestamp":5,"duration":1,
   "tags":{"otel.status_code":"OK","peer.service":"kafka"}}
])";

TEST(ZipkinJsonTest, V2Array) {
  CollectingSink sink;
  ReadStats stats;
  ASSERT_TRUE(ParseZipkinJson(kSpans, sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_EQ(stats.records, 4u);
  ASSERT_EQ(sink.spans.size(), 4u);
  const Span& a = sink.spans[0];
  EXPECT_EQ(a.trace_id, "5af7183fb1d4cf5f");
  EXPECT_EQ(a.span_id, "6b221d5bc9e6496c");
  EXPECT_EQ(a.parent_span_id, "");
  EXPECT_EQ(a.service, "frontend");
  EXPECT_EQ(a.host, "192.168.99.1");
  EXPECT_EQ(a.peer, "172.19.0.2");
  EXPECT_EQ(a.kind, SpanKind::kServer);
  EXPECT_EQ(a.start, 1700000000000001 * kNsPerUs);
  EXPECT_EQ(a.duration(), 207 * kNsPerMs);
  EXPECT_EQ(a.http_method, "GET");
  EXPECT_EQ(a.http_url, "/api");
  EXPECT_EQ(a.http_status_code, 500);
  EXPECT_EQ(a.status, SpanStatus::kError);
  EXPECT_EQ(a.status_message, "Internal Server Error");
  const Span& b = sink.spans[1];
  EXPECT_EQ(b.parent_span_id, "6b221d5bc9e6496c");
  EXPECT_EQ(b.kind, SpanKind::kClient);
  EXPECT_EQ(b.peer, "backend");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.status, SpanStatus::kError);
  EXPECT_EQ(b.status_message, "");
  EXPECT_EQ(b.duration(), kNsPerMs);
  const Span& c = sink.spans[2];
  EXPECT_EQ(c.kind, SpanKind::kUnspecified);
  EXPECT_EQ(c.duration(), 0);
  EXPECT_EQ(c.service, "");
  const Span& d = sink.spans[3];
  EXPECT_EQ(d.kind, SpanKind::kProducer);
  EXPECT_EQ(d.status, SpanStatus::kOk);
  EXPECT_EQ(d.peer, "kafka");
}

TEST(ZipkinJsonTest, FileLayouts) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("triad_zipkin_" + std::to_string(::getpid()) + ".json"))
                         .string();
  auto arr = nlohmann::json::parse(kSpans);
  // Pretty-printed whole array.
  std::ofstream(path, std::ios::trunc) << arr.dump(2);
  {
    CollectingSink sink;
    ReadStats stats;
    ASSERT_TRUE(ReadZipkinJsonFile(path, sink, &stats).ok());
    EXPECT_EQ(sink.spans.size(), 4u);
  }
  // One array per line + one span per line + an array of arrays + a bad line.
  std::ofstream(path, std::ios::trunc) << arr.dump() << "\n"
                                       << arr[0].dump() << "\n"
                                       << nlohmann::json::array({arr, arr}).dump() << "\n"
                                       << "[{\"traceId\":\n";
  {
    CollectingSink sink;
    ReadStats stats;
    ASSERT_TRUE(ReadZipkinJsonFile(path, sink, &stats).ok());
    EXPECT_EQ(sink.spans.size(), 4u + 1u + 8u);
    EXPECT_EQ(stats.skipped, 1u);
  }
  std::remove(path.c_str());
}

TEST(ZipkinJsonTest, MalformedSpansAreCountedSkips) {
  const char* bad[] = {
      R"([{"id":"a","timestamp":1}])",
      R"([{"traceId":"a","timestamp":1}])",
      R"([{"traceId":"a","id":"0000000000000000","timestamp":1}])",
      R"([{"traceId":"a","id":"b"}])",
      R"([{"traceId":"a","id":"b","timestamp":1,"duration":-1}])",
      R"([{"traceId":"a","id":"b","timestamp":true}])",
      R"([{"traceId":"a","id":"b","timestamp":1,"tags":[]}])",
      R"([{"traceId":"a","id":"b","timestamp":1,"localEndpoint":"x"}])",
      R"([{"traceId":"a","id":"b","timestamp":1,"remoteEndpoint":3}])",
      R"([{"traceId":"a","id":"b","timestamp":1,"binaryAnnotations":[]}])",
      R"([[[{"traceId":"a","id":"b","timestamp":1}]]])",
      R"(["span"])",
      R"([null])",
  };
  for (const char* d : bad) {
    CollectingSink sink;
    ReadStats stats;
    EXPECT_TRUE(ParseZipkinJson(d, sink, &stats).ok()) << d;
    EXPECT_EQ(stats.skipped, 1u) << d;
    EXPECT_TRUE(sink.spans.empty()) << d;
  }
  CollectingSink sink;
  ReadStats stats;
  EXPECT_TRUE(ParseZipkinJson("[]", sink, &stats).ok());
  EXPECT_FALSE(ParseZipkinJson("[{]", sink, &stats).ok());
  EXPECT_FALSE(ParseZipkinJson("\"x\"", sink, &stats).ok());
}

}  // namespace
}  // namespace triad
