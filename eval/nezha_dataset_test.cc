#include "eval/nezha_dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "align/log_metric_windows.h"

namespace triad {
namespace {

namespace fs = std::filesystem;

const std::string kFixture = std::string(TRIAD_SOURCE_DIR) + "/tests/fixtures/nezha/tt/2023-01-29";
constexpr TimeNs k10h = 1674986400LL * kNsPerSec;  // 2023-01-29T10:00:00Z

TEST(NezhaDataset, LoadsFixture) {
  NezhaDay d;
  ASSERT_TRUE(LoadNezhaDay(kFixture, {}, &d).ok());
  // Services and pods: sorted, interned, pods map to their services.
  ASSERT_EQ(d.services, (std::vector<std::string>{"ts-a-service", "ts-b-service"}));
  ASSERT_EQ(d.pods.size(), 2u);
  EXPECT_EQ(d.pods[0], "ts-a-service-5f55b6cf68-77cfw");
  EXPECT_EQ(d.pod_service[1], d.ServiceIndex("ts-b-service"));
  EXPECT_EQ(d.ServiceIndex("nope"), -1);
  EXPECT_EQ(d.PodIndex("ts-b-service-6f6cfc45b-h5m2n"), 1);
  // Faults: the entry without inject_pod is a counted skip.
  ASSERT_EQ(d.faults.size(), 1u);
  EXPECT_EQ(d.faults[0].service, "ts-a-service");
  EXPECT_EQ(d.faults[0].start, k10h + 70 * kNsPerSec);
  // Metrics: one table per pod file; front_service.csv ignored, NaN kept as NaN.
  ASSERT_EQ(d.metrics.size(), 2u);
  ASSERT_EQ(d.ignored_files.size(), 1u);
  EXPECT_NE(d.ignored_files[0].find("front_service.csv"), std::string::npos);
  const NezhaPodMetrics& a = d.metrics[0];
  EXPECT_EQ(a.pod, 0);
  EXPECT_EQ(a.names, (std::vector<std::string>{"CpuUsage(m)", "MemoryUsage(Mi)"}));
  ASSERT_EQ(a.times.size(), 3u);
  EXPECT_EQ(a.times[0], k10h + 9500 * kNsPerMs);
  EXPECT_DOUBLE_EQ(a.value(0, 0), 2.5);
  EXPECT_TRUE(std::isnan(a.value(1, 0)));
  EXPECT_DOUBLE_EQ(a.value(2, 1), 402);
  // Logs: 4 kept (the unparseable row and the 2020 one are counted skips),
  // sorted by time; the overflowed TimeUnixNano row is placed at its Timestamp.
  ASSERT_EQ(d.logs.size(), 4u);
  EXPECT_EQ(d.logs[0].time, k10h + 70250 * kNsPerMs);
  EXPECT_EQ(d.logs[1].time, k10h + 80500 * kNsPerMs);
  EXPECT_EQ(d.logs[2].time, k10h + 90750 * kNsPerMs);
  EXPECT_EQ(d.logs[2].service, d.ServiceIndex("ts-b-service"));
  EXPECT_GE(d.logs[2].severity, 17);  // ERROR
  EXPECT_EQ(d.logs[0].trace_id, "aaaa0000000000000000000000000002");
  EXPECT_EQ(d.logs[1].trace_id, "aaaa0000000000000000000000000001");  // lower-cased
  // "order N loaded" lines share one template; the error line has another.
  EXPECT_NE(d.logs[0].template_id, 0u);
  EXPECT_EQ(d.logs[0].template_id, d.logs[1].template_id);
  EXPECT_EQ(d.logs[0].template_id, d.logs[3].template_id);
  EXPECT_NE(d.logs[0].template_id, d.logs[2].template_id);
  EXPECT_NE(d.logs[2].message.find("payment failed"), std::string::npos);
  EXPECT_GE(d.read_stats.skipped, 3u);  // bad time, 2020 record, fault without pod (+ NaN cell)
  // Coverage: one range per log file.
  ASSERT_EQ(d.log_coverage.size(), 2u);
  EXPECT_TRUE(d.LogCollected(k10h + 80 * kNsPerSec));
  EXPECT_FALSE(d.LogCollected(k10h + 5 * 60 * kNsPerSec));
  // Traces are off by default.
  EXPECT_TRUE(d.spans.empty());
  EXPECT_EQ(d.begin, k10h + 9500 * kNsPerMs);
  EXPECT_EQ(d.end, k10h + 605 * kNsPerSec);
}

TEST(NezhaDataset, TracesWhenAsked) {
  NezhaLoadOptions o;
  o.traces = true;
  o.logs = false;
  o.metrics = false;
  NezhaDay d;
  ASSERT_TRUE(LoadNezhaDay(kFixture, o, &d).ok());
  EXPECT_TRUE(d.logs.empty());
  EXPECT_TRUE(d.metrics.empty());
  ASSERT_EQ(d.spans.size(), 3u);
  EXPECT_EQ(d.operations, (std::vector<std::string>{"GET /order", "GET /user", "POST /pay"}));
  EXPECT_EQ(d.operations[d.spans[0].operation], "POST /pay");
  EXPECT_TRUE(d.spans[0].parent_span_id.empty());
  EXPECT_EQ(d.spans[1].parent_span_id, "s1");
  EXPECT_EQ(d.services[d.spans[2].service], "ts-c-service");
  EXPECT_EQ(d.trace_coverage.size(), 1u);
}

TEST(NezhaDataset, SharedParserGivesSameIds) {
  NezhaLoadOptions o;
  o.parser = std::make_shared<DrainParser>();
  NezhaDay d1, d2;
  ASSERT_TRUE(LoadNezhaDay(kFixture, o, &d1).ok());
  const size_t templates = o.parser->num_templates();
  ASSERT_TRUE(LoadNezhaDay(kFixture, o, &d2).ok());
  EXPECT_EQ(o.parser->num_templates(), templates);
  EXPECT_EQ(d1.parser.get(), d2.parser.get());
  ASSERT_EQ(d1.logs.size(), d2.logs.size());
  for (size_t i = 0; i < d1.logs.size(); ++i) EXPECT_EQ(d1.logs[i].template_id, d2.logs[i].template_id);
}

TEST(NezhaDataset, ReplayFeedsTheWindowBuilder) {
  NezhaLoadOptions o;
  o.keep_messages = false;  // replay sends template texts
  NezhaDay d;
  ASSERT_TRUE(LoadNezhaDay(kFixture, o, &d).ok());
  EXPECT_TRUE(d.logs[0].message.empty());
  LogMetricOptions wo;
  wo.per_service = false;
  LogMetricWindowBuilder b(wo);
  ReplayNezhaDay(d, b);
  auto w = b.Build();
  LabelWindows(d.faults, &w);
  ASSERT_EQ(w.size(), 11u);  // 10:00 .. 10:10
  EXPECT_EQ(w[0].start, k10h);
  EXPECT_EQ(w[1].log_count, 3u);
  EXPECT_EQ(w[1].label, 1);
  EXPECT_EQ(w[10].log_count, 1u);
  EXPECT_EQ(w[1].templates[0], w[10].templates[0]);  // same template
  EXPECT_EQ(w[0].dims, 4);                           // 2 pods x 2 metrics
  EXPECT_EQ(b.stats().metric_samples, 9u);           // 10 cells, one NaN
}

TEST(NezhaDataset, MissingDirIsNotFound) {
  NezhaDay d;
  Status s = LoadNezhaDay(kFixture + "/no-such-day", {}, &d);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
}

// The real data (skipped when absent): sanity of one Train-Ticket day.
TEST(NezhaDataset, RealTrainTicketDay) {
  const fs::path day = fs::path(TRIAD_SHARED_DATA_DIR) / "multimodal/nezha/trainticket/2023-01-29";
  if (!fs::exists(day / "fault_list.json")) GTEST_SKIP() << "no Nezha data under " << day;
  NezhaLoadOptions o;
  o.traces = true;
  NezhaDay d;
  ASSERT_TRUE(LoadNezhaDay(day.string(), o, &d).ok());
  std::printf("%s: %zu logs (%zu templates), %zu pods with metrics, %zu spans, %zu faults; %s; %s\n",
              day.string().c_str(), d.logs.size(), d.parser->num_templates(), d.metrics.size(),
              d.spans.size(), d.faults.size(), d.times.Summary().c_str(), d.read_stats.Summary().c_str());
  EXPECT_GT(d.logs.size(), 100000u);
  EXPECT_GT(d.spans.size(), 100000u);
  EXPECT_GT(d.metrics.size(), 40u);
  EXPECT_GT(d.faults.size(), 10u);
  // Everything on the day: the corrupt TimeUnixNano rows do not stretch it.
  const TimeNs day0 = 1674950400LL * kNsPerSec;  // 2023-01-29T00:00:00Z
  EXPECT_GE(d.begin, day0);
  EXPECT_LT(d.end, day0 + 86400 * kNsPerSec);
  // Every fault overlaps a collected log range (the dataset ships the fault minutes).
  for (const auto& f : d.faults) {
    bool covered = false;
    for (TimeNs t = f.start; t < f.end && !covered; t += 10 * kNsPerSec) covered = d.LogCollected(t);
    EXPECT_TRUE(covered) << f.id;
  }
}

}  // namespace
}  // namespace triad
