#include "ingest/nezha_faults.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/time_parse.h"

namespace triad {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("triad_nezha_faults_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

TEST(NezhaFaults, ParsesHourKeyedListAndUsesInjectTime) {
  const std::string json = R"({
    "09": [{"inject_time": "2023-01-29 09:03:53", "inject_timestamp": "1674954273",
            "inject_pod": "ts-basic-service-5dc8d4f9fd-46997", "inject_type": "return"}],
    "08": [{"inject_time": "2023-01-29 08:43:04", "inject_timestamp": "1674953044",
            "inject_pod": "ts-contacts-service-866bd68c97-xcqfx", "inject_type": "exception"}]})";
  std::vector<FaultEvent> f;
  ReadStats st;
  NezhaFaultOptions o;
  o.duration = 120 * kNsPerSec;
  ASSERT_TRUE(ParseNezhaFaultList(json, o, &f, &st).ok());
  ASSERT_EQ(f.size(), 2u);
  TimeNs t;
  ASSERT_TRUE(ParseDateTime("2023-01-29T08:43:04Z", &t));
  EXPECT_EQ(f[0].start, t);  // sorted by start; inject_timestamp (shifted) ignored
  EXPECT_EQ(f[0].end, t + 120 * kNsPerSec);
  EXPECT_EQ(f[0].service, "ts-contacts-service");
  EXPECT_EQ(f[0].instance, "ts-contacts-service-866bd68c97-xcqfx");
  EXPECT_EQ(f[0].kind, "exception");
  EXPECT_EQ(f[1].service, "ts-basic-service");
  EXPECT_EQ(st.skipped, 0u);
}

TEST(NezhaFaults, BadEntriesAreCountedNotDropped) {
  const std::string json = R"({"08": [
      {"inject_time": "not a time", "inject_pod": "a-5dc8d4f9fd-46997"},
      {"inject_time": "2023-01-29 08:43:04"},
      42,
      {"inject_time": "2023-01-29 08:50:00", "inject_pod": "frontend-579b9bff58-t2dbm",
       "inject_type": "cpu_contention"}]})";
  std::vector<FaultEvent> f;
  ReadStats st;
  ASSERT_TRUE(ParseNezhaFaultList(json, {}, &f, &st).ok());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].service, "frontend");
  EXPECT_EQ(f[0].end - f[0].start, 180 * kNsPerSec);
  EXPECT_EQ(st.skipped, 3u);
}

TEST(NezhaFaults, NotAnObjectIsCorruption) {
  std::vector<FaultEvent> f;
  EXPECT_FALSE(ParseNezhaFaultList("[1,2]", {}, &f, nullptr).ok());
  EXPECT_FALSE(ParseNezhaFaultList("{\"08\": 3}", {}, &f, nullptr).ok());
  EXPECT_FALSE(ParseNezhaFaultList("{", {}, &f, nullptr).ok());
}

TEST(NezhaFaults, LoadsSimulatorGroundTruth) {
  const std::string path = TempPath("gt.json");
  WriteFile(path, R"({"seed":1,"start_ns":0,"end_ns":10,"train_end_ns":5,"services":["a","b"],
    "edges":[],"faults":[
      {"id":"f2","type":"network_delay","services":["payment","payment-db"],"start_ns":300,"end_ns":400},
      {"id":"f1","type":"cpu_hog","services":["cart"],"start_ns":100,"end_ns":200},
      {"id":"bad","type":"x","services":["y"],"start_ns":500,"end_ns":500}]})");
  std::vector<FaultEvent> f;
  ReadStats st;
  ASSERT_TRUE(LoadFaultEvents(path, {}, &f, &st).ok());
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, "f1");
  EXPECT_EQ(f[0].service, "cart");
  EXPECT_EQ(f[0].kind, "cpu_hog");
  EXPECT_EQ(f[1].service, "payment");
  EXPECT_EQ(f[1].services, (std::vector<std::string>{"payment", "payment-db"}));
  EXPECT_EQ(st.skipped, 1u);
  std::remove(path.c_str());
}

TEST(NezhaFaults, LoadsNezhaFileAndReportsMissingFile) {
  const std::string path = TempPath("fl.json");
  WriteFile(path, R"({"12":[{"inject_time":"2022-08-23 12:01:25","inject_pod":"frontend-579b9bff58-t2dbm","inject_type":"cpu_contention"}]})");
  std::vector<FaultEvent> f;
  ASSERT_TRUE(LoadFaultEvents(path, {}, &f, nullptr).ok());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].service, "frontend");
  std::remove(path.c_str());
  EXPECT_EQ(LoadFaultEvents(path, {}, &f, nullptr).code(), Status::Code::kIOError);
}

TEST(NezhaFaults, PointLabelsBecomeRuns) {
  auto f = FaultsFromPointLabels({0, 1, 1, 0, 0, 1, 2}, 1000, 10, "smd");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].start, 1010);
  EXPECT_EQ(f[0].end, 1030);
  EXPECT_EQ(f[1].start, 1050);
  EXPECT_EQ(f[1].end, 1070);
  EXPECT_EQ(f[1].kind, "smd");
  EXPECT_TRUE(FaultsFromPointLabels({0, 0}, 0, 1, "x").empty());
}

TEST(NezhaFaults, ReadsPointLabelFileCountingBadLines) {
  const std::string path = TempPath("labels.txt");
  WriteFile(path, "0\n1\nx\n1\n");
  std::vector<int> l;
  ReadStats st;
  ASSERT_TRUE(ReadPointLabels(path, &l, &st).ok());
  EXPECT_EQ(l, (std::vector<int>{0, 1, 0, 1}));
  EXPECT_EQ(st.skipped, 1u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace triad
