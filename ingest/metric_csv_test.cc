#include "ingest/metric_csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace triad {
namespace {

constexpr TimeNs S = kNsPerSec;

struct Result {
  Status status;
  CollectingSink sink;
  ReadStats stats;
};

Result Read(std::string_view text, std::string service = "") {
  Result res;
  auto r = LineReader::FromString(text);
  MetricCsvOptions o{std::move(service)};
  res.status = ReadMetricCsv(*r, o, res.sink, &res.stats);
  return res;
}

TEST(MetricCsvTest, WideWithUnixSeconds) {
  auto r = Read("timestamp,cpu,mem\n1000,0.5,10\n1060,0.25,\n1120,NaN,abc\n");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.sink.metrics.size(), 3u);
  EXPECT_EQ(r.sink.metrics[0].name, "cpu");
  EXPECT_EQ(r.sink.metrics[0].time, 1000 * S);
  EXPECT_EQ(r.sink.metrics[0].value, 0.5);
  EXPECT_EQ(r.sink.metrics[0].kind, MetricKind::kGauge);
  EXPECT_EQ(r.sink.metrics[1].name, "mem");
  EXPECT_EQ(r.sink.metrics[1].value, 10);
  EXPECT_EQ(r.sink.metrics[2].time, 1060 * S);
  EXPECT_EQ(r.stats.skipped, 3u);  // empty, NaN, non-numeric
  EXPECT_EQ(r.stats.records, 3u);
  EXPECT_EQ(r.stats.lines, 4u);
}

TEST(MetricCsvTest, WideIsoAndMillis) {
  // NAB layout.
  auto r = Read("timestamp,value\n2013-07-04 00:00:00,69.88\n2013-07-04 01:00:00,71.2\n", "nab");
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.sink.metrics.size(), 2u);
  EXPECT_EQ(r.sink.metrics[0].time, 1372896000 * S);  // date -u -d '2013-07-04' +%s
  EXPECT_EQ(r.sink.metrics[1].time, 1372899600 * S);
  EXPECT_EQ(r.sink.metrics[0].service, "nab");
  auto m = Read("Time,x\n1628342488006,1\n");
  ASSERT_EQ(m.sink.metrics.size(), 1u);
  EXPECT_EQ(m.sink.metrics[0].time, 1628342488006 * kNsPerMs);
}

TEST(MetricCsvTest, WideNezhaLayout) {
  auto r = Read(
      "Time,TimeStamp,PodName,CpuUsage(m),MemoryUsage(Mi)\n"
      "2023-01-29 08:41:10.171716472 +0000 UTC m=+1.247878332,1674981670,ts-order-service-5b67c48447-mv5hb,7.8,428.7\n"
      "2023-01-29 08:42:09.805279981 +0000 UTC m=+60.8,garbage,ts-order-service-5b67c48447-mv5hb,3.9,429.6\n");
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.sink.metrics.size(), 4u);
  const auto& s = r.sink.metrics[0];
  EXPECT_EQ(s.name, "CpuUsage(m)");
  EXPECT_EQ(s.service, "ts-order-service");
  EXPECT_EQ(s.instance, "ts-order-service-5b67c48447-mv5hb");
  EXPECT_EQ(s.time, 1674981670 * S + 171716472);
  EXPECT_TRUE(s.labels.empty());
  EXPECT_EQ(r.stats.skipped, 0u);  // TimeStamp is a time column, not a metric
  // Explicit service wins.
  auto o = Read("Time,ServiceName,lat\n1000,Frontend,0.1\n");
  ASSERT_EQ(o.sink.metrics.size(), 1u);
  EXPECT_EQ(o.sink.metrics[0].service, "Frontend");
  auto o2 = Read("Time,ServiceName,lat\n1000,Frontend,0.1\n", "svc");
  EXPECT_EQ(o2.sink.metrics[0].service, "svc");
}

TEST(MetricCsvTest, WideTextColumnsBecomeLabels) {
  auto r = Read("time,region,v\n10,eu,1\n20,us,2\n");
  ASSERT_EQ(r.sink.metrics.size(), 2u);
  EXPECT_EQ(r.sink.metrics[1].name, "v");
  ASSERT_EQ(r.sink.metrics[1].labels.size(), 1u);
  EXPECT_EQ(r.sink.metrics[1].labels[0], (std::pair<std::string, std::string>{"region", "us"}));
}

TEST(MetricCsvTest, LongLayout) {
  auto r = Read(
      "time,name,value,labels,service,kind,zone\n"
      "1000,http_requests,5,method=GET;code=200,web,counter,a\n"
      "1000,cpu,0.5,,db,gauge,b\n"
      "1000,cpu,NaN,,db,gauge,b\n"
      "1000,cpu,1,broken,db,gauge,b\n"
      "1000,cpu,1,,db,weird,b\n"
      "1000,,1,,db,gauge,b\n");
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.sink.metrics.size(), 2u);
  const auto& s = r.sink.metrics[0];
  EXPECT_EQ(s.name, "http_requests");
  EXPECT_EQ(s.kind, MetricKind::kCounter);
  EXPECT_EQ(s.service, "web");
  EXPECT_EQ(s.time, 1000 * S);
  Attributes want = {{"code", "200"}, {"method", "GET"}, {"zone", "a"}};
  EXPECT_EQ(s.labels, want);
  EXPECT_EQ(r.sink.metrics[1].kind, MetricKind::kGauge);
  EXPECT_EQ(r.stats.skipped, 4u);
}

TEST(MetricCsvTest, HeaderlessSmdLayout) {
  auto r = Read("0.1,0.2,0\n0.3,0.4,1\n0.5,x,1\n1,2\n");
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.sink.metrics.size(), 8u);
  EXPECT_EQ(r.sink.metrics[0].name, "m0");
  EXPECT_EQ(r.sink.metrics[2].name, "m2");
  EXPECT_EQ(r.sink.metrics[0].time, 0);
  EXPECT_EQ(r.sink.metrics[3].time, 60 * S);
  EXPECT_EQ(r.sink.metrics[6].time, 120 * S);
  EXPECT_EQ(r.sink.metrics[3].value, 0.3);
  EXPECT_EQ(r.stats.skipped, 2u);  // "x", short row
}

TEST(MetricCsvTest, MalformedInput) {
  // Wrong column counts, unbalanced quotes, bad times, NUL bytes, invalid UTF-8, long lines.
  std::string text = "time,a,b\n1,2\n2,\"3,4\n3,5,6\nnot-a-time,1,1\n" + std::string("4,\0\xff,1\n", 7) +
                     "5," + std::string(1 << 20, '7') + ",1\n";
  auto r = Read(text);
  ASSERT_TRUE(r.status.ok());
  // Row 3 ("3,5,6") survives the stray quote on row 2; the NUL cell and the
  // 1 MB number (out of double range) are cell skips, their rows' b cells load.
  EXPECT_EQ(r.sink.metrics.size(), 2u + 1u + 1u);
  EXPECT_EQ(r.sink.metrics[0].time, 3 * S);
  EXPECT_EQ(r.stats.skipped, 5u);
  // Empty and header-only inputs.
  EXPECT_TRUE(Read("").status.ok());
  EXPECT_EQ(Read("").sink.metrics.size(), 0u);
  EXPECT_TRUE(Read("time,a\n").status.ok());
  EXPECT_EQ(Read("justone\n").status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Read("time,a,a\n1,2,3\n").status.code(), Status::Code::kInvalidArgument);
}

TEST(MetricCsvTest, FileNameGivesPodAndService) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("triad_metric_csv_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path f = dir / "cartservice-579f59597d-wc2lz_metric.csv";
  std::ofstream(f) << "timestamp,cpu\n60,1\n";
  CollectingSink sink;
  ReadStats st;
  ASSERT_TRUE(ReadMetricCsvFile(f.string(), {}, sink, &st).ok());
  ASSERT_EQ(sink.metrics.size(), 1u);
  EXPECT_EQ(sink.metrics[0].service, "cartservice");
  EXPECT_EQ(sink.metrics[0].instance, "cartservice-579f59597d-wc2lz");
  fs::path g = dir / "machine-1-6.txt";
  std::ofstream(g) << "1,2\n";
  CollectingSink sink2;
  ASSERT_TRUE(ReadMetricCsvFile(g.string(), {}, sink2, nullptr).ok());
  ASSERT_EQ(sink2.metrics.size(), 2u);
  EXPECT_EQ(sink2.metrics[0].service, "machine-1-6");
  fs::remove_all(dir);
  EXPECT_FALSE(ReadMetricCsvFile((dir / "missing.csv").string(), {}, sink, nullptr).ok());
}

std::filesystem::path Data(const std::string& rel) {
  return std::filesystem::path(TRIAD_SHARED_DATA_DIR) / rel;
}

TEST(MetricCsvTest, RealSmdNabNezha) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const char* dir : {"metrics/smd/train", "metrics/nab/data/realKnownCause",
                          "multimodal/nezha/trainticket/2023-01-29/metric",
                          "multimodal/nezha/onlineboutique/2022-08-22/metric"}) {
    if (!fs::exists(Data(dir))) continue;
    int n = 0;
    for (const auto& e : fs::directory_iterator(Data(dir))) {
      std::string name = e.path().filename().string();
      if (name.find("dependency") != std::string::npos || name.find("destination") != std::string::npos)
        continue;  // not metric files
      files.push_back(e.path());
      if (++n == 1) break;
    }
  }
  if (files.empty()) GTEST_SKIP() << "no real metric data";
  for (const auto& f : files) {
    CollectingSink sink;
    ReadStats st;
    ASSERT_TRUE(ReadMetricCsvFile(f.string(), {}, sink, &st).ok()) << f;
    EXPECT_GT(st.records, 0u) << f;
    // Nezha pod files have NaN latencies in idle minutes: those are the only skips allowed.
    EXPECT_LE(st.skipped, st.records / 5) << f << ": " << st.Summary();
    for (const auto& e : st.errors) EXPECT_NE(e.find("NaN value"), std::string::npos) << e;
    for (const auto& m : sink.metrics) {
      ASSERT_FALSE(m.service.empty()) << f;
      ASSERT_TRUE(std::isfinite(m.value));
    }
    if (f.string().find("nezha") != std::string::npos &&
        f.filename().string().find("_metric") != std::string::npos) {
      // Pod metric files: one row a minute over a day, instance from the PodName column.
      EXPECT_FALSE(sink.metrics[0].instance.empty()) << f;
      EXPECT_GT(sink.metrics[0].time, 1600000000 * S) << f;
    }
    std::cout << "[ metric_csv ] " << f.filename().string() << ": " << st.Summary() << "\n";
  }
}

}  // namespace
}  // namespace triad
