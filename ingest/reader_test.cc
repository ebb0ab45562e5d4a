#include "ingest/reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"

namespace triad {
namespace {

class ReaderTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& p : files_) std::remove(p.c_str());
  }
  std::string Write(const std::string& name, const std::string& data, bool gzip = false) {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("triad_reader_" + std::to_string(::getpid()) + "_" + name))
                           .string();
    if (gzip) {
      gzFile gz = gzopen(path.c_str(), "wb");
      gzwrite(gz, data.data(), static_cast<unsigned>(data.size()));
      gzclose(gz);
    } else {
      std::ofstream(path, std::ios::binary) << data;
    }
    files_.push_back(path);
    return path;
  }
  std::vector<std::string> files_;
};

TEST(ReaderFormatTest, ParseAndNameRoundTrip) {
  for (InputFormat f : {InputFormat::kAuto, InputFormat::kOtlpJson, InputFormat::kJaegerJson,
                        InputFormat::kZipkinJson, InputFormat::kLoghub, InputFormat::kMetricCsv,
                        InputFormat::kPrometheus, InputFormat::kNezhaTraceCsv,
                        InputFormat::kNezhaLogCsv, InputFormat::kDeepTraLogCsv,
                        InputFormat::kOtlpProto}) {
    InputFormat g = InputFormat::kAuto;
    ASSERT_TRUE(ParseInputFormat(InputFormatName(f), &g)) << InputFormatName(f);
    EXPECT_EQ(g, f);
  }
  InputFormat g;
  EXPECT_TRUE(ParseInputFormat("OTLP", &g));
  EXPECT_EQ(g, InputFormat::kOtlpJson);
  EXPECT_FALSE(ParseInputFormat("xml", &g));
  EXPECT_FALSE(ParseInputFormat("", &g));
}

TEST(ReaderFormatTest, Detection) {
  struct Case {
    const char* head;
    const char* name;
    bool log_format;
    InputFormat want;
  } cases[] = {
      {R"({"resourceSpans":[]})", "x", false, InputFormat::kOtlpJson},
      {"\xEF\xBB\xBF  \n{\n  \"resourceMetrics\": [", "x", false, InputFormat::kOtlpJson},
      {R"({"resource_logs":[]})", "x", false, InputFormat::kOtlpJson},
      {R"({"data":[{"traceID":"a"}]})", "x", false, InputFormat::kJaegerJson},
      {R"({"traceID":"a","spans":[]})", "x", false, InputFormat::kJaegerJson},
      {R"([{"traceID":"a","spans":[]}])", "x", false, InputFormat::kJaegerJson},
      {R"([{"traceId":"a","id":"b"}])", "x", false, InputFormat::kZipkinJson},
      {R"({"traceId":"a","id":"b","timestamp":1})", "x", false, InputFormat::kZipkinJson},
      {R"({"hello":1})", "x", false, InputFormat::kAuto},
      {"TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n",
       "x", false, InputFormat::kNezhaTraceCsv},
      {"Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n", "x", false,
       InputFormat::kNezhaLogCsv},
      {"StartTime,EndTime,URL,SpanType,Service,SpanId,TraceId,Peer,ParentSpan,Component,IsError\n",
       "x", false, InputFormat::kDeepTraLogCsv},
      {"timestamp,cpu,mem\n1700000000,0.5,12\n", "x", false, InputFormat::kMetricCsv},
      {"\"Time\",\"latency\"\n2023-01-01 00:00:00,3\n", "x", false, InputFormat::kMetricCsv},
      {"1,2,3\n4,5,6\n", "x", false, InputFormat::kMetricCsv},
      {"# HELP up whether up\n# TYPE up gauge\nup 1\n", "x", false, InputFormat::kPrometheus},
      {"up{job=\"a\",instance=\"b:9090\"} 1 1700000000000\nhttp_total 3e3\n", "x", false,
       InputFormat::kPrometheus},
      {"up 1\n", "metrics.prom", false, InputFormat::kPrometheus},
      {"081109 203615 148 INFO dfs.DataNode$PacketResponder: Received block\n", "x", true,
       InputFormat::kLoghub},
      {"081109 203615 148 INFO dfs.DataNode$PacketResponder: Received block\n", "x", false,
       InputFormat::kAuto},
      {"   \n\n", "x", true, InputFormat::kAuto},
  };
  for (const auto& c : cases)
    EXPECT_EQ(DetectInputFormat(c.head, c.name, c.log_format), c.want) << c.head;
}

TEST_F(ReaderTest, ReadsOtlpJaegerZipkinByDetection) {
  Span s;
  s.trace_id = "0af7651916cd43dd8448eb211c80319c";
  s.span_id = "b7ad6b7169203331";
  s.start = 1;
  s.end = 2;
  std::string otlp = Write("a.jsonl.gz", WriteOtlpTraces({s, s}) + "\n", /*gzip=*/true);
  std::string jaeger = Write(
      "b.json",
      R"({"data":[{"traceID":"ab","spans":[{"traceID":"ab","spanID":"cd","startTime":1,"duration":2,"processID":"p1"}],"processes":{"p1":{"serviceName":"svc"}}}]})");
  std::string zipkin =
      Write("c.json", "[\n  {\"traceId\":\"ab\",\"id\":\"cd\",\"timestamp\":1,\"duration\":2}\n]\n");
  struct {
    std::string path;
    InputFormat want;
    size_t spans;
  } cases[] = {{otlp, InputFormat::kOtlpJson, 2},
               {jaeger, InputFormat::kJaegerJson, 1},
               {zipkin, InputFormat::kZipkinJson, 1}};
  for (const auto& c : cases) {
    CollectingSink sink;
    ReadStats stats;
    InputFormat used = InputFormat::kAuto;
    ASSERT_TRUE(ReadTelemetry(c.path, ReadOptions{}, sink, &stats, &used).ok()) << c.path;
    EXPECT_EQ(used, c.want);
    EXPECT_EQ(sink.spans.size(), c.spans);
    EXPECT_EQ(stats.records, c.spans);
  }
}

TEST_F(ReaderTest, DispatchesToCsvPrometheusAndLoghubReaders) {
  std::string nezha = Write(
      "trace.csv",
      "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"
      "t1,s1,root,frontend-5d8b6f7c9-x2kq4,GET,1700000000000000000,1700000000100000000,100000000\n");
  std::string prom = Write("m.txt", "# TYPE up gauge\nup{job=\"api\"} 1 1700000000000\n");
  std::string csv = Write("cpu.csv", "timestamp,cpu\n1700000000,0.5\n1700000060,0.7\n");
  std::string log = Write("x.log", "2023-01-01 10:00:00 ERROR db: connection refused\n");
  {
    CollectingSink sink;
    InputFormat used;
    ASSERT_TRUE(ReadTelemetry(nezha, ReadOptions{}, sink, nullptr, &used).ok());
    EXPECT_EQ(used, InputFormat::kNezhaTraceCsv);
    EXPECT_EQ(sink.spans.size(), 1u);
  }
  {
    CollectingSink sink;
    InputFormat used;
    ASSERT_TRUE(ReadTelemetry(prom, ReadOptions{}, sink, nullptr, &used).ok());
    EXPECT_EQ(used, InputFormat::kPrometheus);
    EXPECT_EQ(sink.metrics.size(), 1u);
  }
  {
    CollectingSink sink;
    ReadOptions o;
    o.service = "node";
    InputFormat used;
    ASSERT_TRUE(ReadTelemetry(csv, o, sink, nullptr, &used).ok());
    EXPECT_EQ(used, InputFormat::kMetricCsv);
    EXPECT_EQ(sink.metrics.size(), 2u);
  }
  {
    CollectingSink sink;
    ReadOptions o;
    EXPECT_FALSE(ReadTelemetry(log, o, sink, nullptr).ok());  // undetectable without a format
    o.format = InputFormat::kLoghub;
    Status st = ReadTelemetry(log, o, sink, nullptr);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("log-format"), std::string::npos) << st.ToString();
    o.format = InputFormat::kAuto;
    o.log_format = "<Date> <Time> <Level> <Component>: <Content>";
    InputFormat used;
    ASSERT_TRUE(ReadTelemetry(log, o, sink, nullptr, &used).ok());
    EXPECT_EQ(used, InputFormat::kLoghub);
    ASSERT_EQ(sink.logs.size(), 1u);
    EXPECT_EQ(sink.logs[0].body, "connection refused");
  }
}

TEST_F(ReaderTest, ReadsOtlpProtobufFramesByDetection) {
  Span s;
  s.trace_id = "0af7651916cd43dd8448eb211c80319c";
  s.span_id = "b7ad6b7169203331";
  s.start = 1;
  s.end = 2;
  LogRecord l;
  l.time = 5;
  l.body = "hello";
  const std::string frames =
      WriteOtlpProtoFrame(WriteOtlpTracesProto({s, s})) + WriteOtlpProtoFrame(WriteOtlpLogsProto({l}));
  EXPECT_EQ(DetectInputFormat(frames, "x", false), InputFormat::kOtlpProto);
  EXPECT_EQ(DetectInputFormat(WriteOtlpTracesProto({s}), "x", false), InputFormat::kOtlpProto);
  for (bool gzip : {false, true}) {
    std::string path = Write(gzip ? "p.pb.gz" : "p.pb", frames, gzip);
    CollectingSink sink;
    ReadStats stats;
    InputFormat used = InputFormat::kAuto;
    ASSERT_TRUE(ReadTelemetry(path, ReadOptions{}, sink, &stats, &used).ok()) << path;
    EXPECT_EQ(used, InputFormat::kOtlpProto);
    EXPECT_EQ(sink.spans.size(), 2u);
    ASSERT_EQ(sink.logs.size(), 1u);
    EXPECT_EQ(sink.logs[0].body, "hello");
    EXPECT_EQ(stats.lines, 2u);
  }
  // Explicit format on a file that is not protobuf: a clear error.
  std::string text = Write("t.pb", "just some text\n");
  ReadOptions o;
  o.format = InputFormat::kOtlpProto;
  CollectingSink sink;
  Status st = ReadTelemetry(text, o, sink, nullptr);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
}

TEST_F(ReaderTest, ErrorsForMissingAndGarbageFiles) {
  CollectingSink sink;
  Status st = ReadTelemetry("/nonexistent/triad/file.json", ReadOptions{}, sink, nullptr);
  EXPECT_FALSE(st.ok());
  std::string garbage = Write("g.json", "{not json at all\n{still not\n");
  ReadOptions o;
  o.format = InputFormat::kOtlpJson;
  ReadStats stats;
  EXPECT_FALSE(ReadTelemetry(garbage, o, sink, &stats).ok());
  EXPECT_EQ(stats.skipped, 2u);
  std::string empty = Write("e.txt", "");
  EXPECT_FALSE(ReadTelemetry(empty, ReadOptions{}, sink, nullptr).ok());
}

}  // namespace
}  // namespace triad
