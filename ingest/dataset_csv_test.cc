#include "ingest/dataset_csv.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace triad {
namespace {

struct Result {
  Status status;
  CollectingSink sink;
  ReadStats stats;
};

template <typename F>
Result RunReader(F f, std::string_view text) {
  Result r;
  auto lr = LineReader::FromString(text);
  r.status = f(*lr, r.sink, &r.stats);
  return r;
}
Status NezhaTrace(LineReader& r, TelemetrySink& s, ReadStats* st) { return ReadNezhaTraceCsv(r, s, st); }
Status NezhaLog(LineReader& r, TelemetrySink& s, ReadStats* st) { return ReadNezhaLogCsv(r, s, st); }
Status DeepTraLog(LineReader& r, TelemetrySink& s, ReadStats* st) { return ReadDeepTraLogCsv(r, s, st); }

TEST(DatasetCsvTest, ServiceFromPodName) {
  EXPECT_EQ(ServiceFromPodName("ts-order-service-5b67c48447-mv5hb"), "ts-order-service");
  EXPECT_EQ(ServiceFromPodName("ts-avatar-service-694fdc47c4-ppnsr"), "ts-avatar-service");
  EXPECT_EQ(ServiceFromPodName("ts-consign-price-service-df498d7fb-725nt"), "ts-consign-price-service");
  EXPECT_EQ(ServiceFromPodName("frontend-579b9bff58-t2dbm"), "frontend");
  EXPECT_EQ(ServiceFromPodName("redis-cart-74594bd569-2jb2m"), "redis-cart");
  EXPECT_EQ(ServiceFromPodName("node-exporter-x2k4q"), "node-exporter");
  EXPECT_EQ(ServiceFromPodName("ts-order-other-service"), "ts-order-other-service");
  EXPECT_EQ(ServiceFromPodName("machine-1-6"), "machine-1-6");
  EXPECT_EQ(ServiceFromPodName("mysql-0"), "mysql-0");
  EXPECT_EQ(ServiceFromPodName(""), "");
  EXPECT_EQ(ServiceFromPodName("-abcd5"), "-abcd5");
}

TEST(DatasetCsvTest, NezhaTrace) {
  auto r = RunReader(NezhaTrace,
               "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"
               "B0103BB0161AD7FA352FE1828EEB643A,520b067330e3ede5,root,ts-gateway-service-6f6cfc45b-h5m2n,/*,"
               "1674981768697000000,1674981769015316530,318316\n"
               "b0103bb0161ad7fa352fe1828eeb643a,a4424f20bffee416,520b067330e3ede5,ts-gateway-service-6f6cfc45b-h5m2n,"
               "\"Filtering, handle\",1674981768697763387,,1000\n"
               "x,y,root,p,op,notanumber,1,1\n"
               "x,y,root,p,op,5,1,1\n"
               "x,y,root\n");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.sink.spans.size(), 2u);
  const Span& s = r.sink.spans[0];
  EXPECT_EQ(s.trace_id, "b0103bb0161ad7fa352fe1828eeb643a");
  EXPECT_EQ(s.parent_span_id, "");
  EXPECT_EQ(s.service, "ts-gateway-service");
  EXPECT_EQ(s.instance, "ts-gateway-service-6f6cfc45b-h5m2n");
  EXPECT_EQ(s.name, "/*");
  EXPECT_EQ(s.start, 1674981768697000000);
  EXPECT_EQ(s.duration(), 318316530);
  const Span& c = r.sink.spans[1];
  EXPECT_EQ(c.parent_span_id, "520b067330e3ede5");
  EXPECT_EQ(c.name, "Filtering, handle");
  EXPECT_EQ(c.duration(), 1000 * kNsPerUs);  // from Duration (us) when EndTime is empty
  EXPECT_EQ(r.stats.skipped, 3u);
  EXPECT_EQ(RunReader(NezhaTrace, "TraceID,SpanID\n").status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(RunReader(NezhaTrace, "").status.code(), Status::Code::kInvalidArgument);
}

TEST(DatasetCsvTest, NezhaLog) {
  auto r = RunReader(NezhaLog,
               "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n"
               // Train-Ticket: plain text inside the docker JSON envelope.
               "2023-01-29T08:42:22.383150913Z,1674981742383150913,33.33.33.116,ts-travel-service-64469b5b48-25zj6,"
               "server,ffc8ca7e4c8f06c75142c880d5595d96,439bc949a9eeb0cc,"
               "\"{\"\"log\"\":\"\"16:42:22.382 ERROR t.s.TravelServiceImpl#532 failed\\n\"\",\"\"stream\"\":\"\"stdout\"\"}\"\n"
               // Online Boutique: JSON inside JSON.
               "2022-08-22T05:18:42.908318Z,,33.33.33.155,recommendationservice-6cfdd55578-gfj6q,server,,,"
               "\"{\"\"log\"\":\"\"{\\\"\"severity\\\"\": \\\"\"warning\\\"\", \\\"\"message\\\"\": \\\"\"List Recs\\\"\"}\\n\"\"}\"\n"
               // Not JSON at all.
               "2022-08-22T05:18:42Z,,n,frontend-579b9bff58-t2dbm,c,,,plain text line\n"
               // Broken JSON: kept raw.
               "2022-08-22T05:18:42Z,,n,frontend-579b9bff58-t2dbm,c,,,\"{\"\"log\"\": \"\n"
               // No usable time.
               "bad,bad,n,p,c,,,x\n");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.sink.logs.size(), 4u);
  const LogRecord& a = r.sink.logs[0];
  EXPECT_EQ(a.time, 1674981742383150913);
  EXPECT_EQ(a.body, "16:42:22.382 ERROR t.s.TravelServiceImpl#532 failed");
  EXPECT_EQ(a.severity_number, 17);
  EXPECT_EQ(a.service, "ts-travel-service");
  EXPECT_EQ(a.instance, "ts-travel-service-64469b5b48-25zj6");
  EXPECT_EQ(a.trace_id, "ffc8ca7e4c8f06c75142c880d5595d96");
  EXPECT_EQ(a.span_id, "439bc949a9eeb0cc");
  EXPECT_EQ(*FindAttribute(a.attributes, "host.name"), "33.33.33.116");
  const LogRecord& b = r.sink.logs[1];
  EXPECT_EQ(b.body, "List Recs");
  EXPECT_EQ(b.severity_number, 13);
  EXPECT_EQ(b.severity_text, "warning");
  EXPECT_EQ(b.time, 1661145522908318000);  // from Timestamp when TimeUnixNano is empty
  EXPECT_EQ(b.service, "recommendationservice");
  EXPECT_EQ(r.sink.logs[2].body, "plain text line");
  EXPECT_EQ(r.sink.logs[2].severity_number, 0);
  EXPECT_EQ(r.sink.logs[3].body, "{\"log\":");
  EXPECT_EQ(r.stats.skipped, 1u);
}

TEST(DatasetCsvTest, DeepTraLog) {
  auto r = RunReader(DeepTraLog,
               "StartTime,EndTime,URL,SpanType,Service,SpanId,TraceId,Peer,ParentSpan,Component,IsError\n"
               "1628342488006,1628342518025,{POST}/api/v1/orderservice/order/refresh,Entry,ts-order-service,"
               "a.52.1.0,a.52.2,ts-order-service,-1,SpringMVC,True\n"
               "1628342488014,1628342488015,MongoDB/FindOperation,Exit,ts-order-service,a.52.1.1,a.52.2,"
               "ts-order-mongo,a.52.1.0,mongodb-driver,False\n"
               "1628342488016,1628342518022,/api/v1/stationservice/stations/namelist,Exit,ts-order-service,"
               "a.52.1.2,a.52.2,ts-station-service,a.52.1.0,SpringRestTemplate,False\n"
               "x,1,u,Entry,s,i,t,p,-1,c,False\n"
               "2,1,u,Entry,s,i,t,p,-1,c,False\n"
               "1,2,u,Entry,s,,t,p,-1,c,False\n");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.sink.spans.size(), 3u);
  const Span& e = r.sink.spans[0];
  EXPECT_EQ(e.start, 1628342488006 * kNsPerMs);
  EXPECT_EQ(e.duration(), 30019 * kNsPerMs);
  EXPECT_EQ(e.kind, SpanKind::kServer);
  EXPECT_EQ(e.http_method, "POST");
  EXPECT_EQ(e.http_url, "/api/v1/orderservice/order/refresh");
  EXPECT_EQ(e.name, "{POST}/api/v1/orderservice/order/refresh");
  EXPECT_EQ(e.parent_span_id, "");
  EXPECT_TRUE(e.is_error());
  EXPECT_EQ(*FindAttribute(e.attributes, "component"), "SpringMVC");
  const Span& m = r.sink.spans[1];
  EXPECT_EQ(m.kind, SpanKind::kClient);
  EXPECT_EQ(m.http_url, "");
  EXPECT_EQ(m.peer, "ts-order-mongo");
  EXPECT_EQ(m.parent_span_id, "a.52.1.0");
  EXPECT_FALSE(m.is_error());
  EXPECT_EQ(r.sink.spans[2].http_url, "/api/v1/stationservice/stations/namelist");
  EXPECT_EQ(r.stats.skipped, 3u);
}

// Real files load with (almost) no skips.
TEST(DatasetCsvTest, RealFiles) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(TRIAD_SHARED_DATA_DIR) / "multimodal";
  if (!fs::exists(root)) GTEST_SKIP() << "no " << root;
  int files = 0;
  auto check = [&](const fs::path& p, Status (*fn)(const std::string&, TelemetrySink&, ReadStats*)) {
    CollectingSink sink;
    ReadStats st;
    Status s = fn(p.string(), sink, &st);
    ASSERT_TRUE(s.ok()) << p << ": " << s.ToString();
    EXPECT_GT(st.records, 0u) << p;
    EXPECT_LE(st.skipped, st.records / 1000 + 1) << p << ": " << st.Summary();
    for (const auto& sp : sink.spans) {
      ASSERT_FALSE(sp.service.empty()) << p;
      ASSERT_GE(sp.end, sp.start);
      ASSERT_GT(sp.start, 1500000000 * kNsPerSec);
    }
    for (const auto& l : sink.logs) ASSERT_GT(l.time, 1500000000 * kNsPerSec);
    std::cout << "[ dataset_csv ] " << p.filename().string() << ": " << st.Summary() << "\n";
    ++files;
  };
  for (const char* d : {"nezha/trainticket/2023-01-29", "nezha/onlineboutique/2022-08-22"}) {
    fs::path dir = root / d;
    if (!fs::exists(dir)) continue;
    for (const char* kind : {"normal/trace", "fault/trace"}) {
      if (!fs::exists(dir / kind)) continue;
      for (const auto& e : fs::directory_iterator(dir / kind)) {
        check(e.path(), ReadNezhaTraceCsv);
        break;
      }
    }
    for (const char* kind : {"normal/log", "fault/log"}) {
      if (!fs::exists(dir / kind)) continue;
      for (const auto& e : fs::directory_iterator(dir / kind)) {
        check(e.path(), ReadNezhaLogCsv);
        break;
      }
    }
  }
  fs::path dtl = root / "deeptralog" / "tracelog";
  if (fs::exists(dtl))
    for (const auto& e : fs::recursive_directory_iterator(dtl))
      if (e.path().filename().string().find("SpanData") != std::string::npos) check(e.path(), ReadDeepTraLogCsv);
  if (files == 0) GTEST_SKIP() << "no dataset files";
}

}  // namespace
}  // namespace triad
