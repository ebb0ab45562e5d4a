#include "ingest/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace triad {
namespace {

constexpr TimeNs kDefault = 1700000000 * kNsPerSec;

struct Result {
  Status status;
  CollectingSink sink;
  ReadStats stats;
};

Result Parse(std::string_view text) {
  Result r;
  r.status = ParsePrometheusText(text, kDefault, r.sink, &r.stats, "test");
  return r;
}

TEST(PrometheusTextTest, CountersGaugesLabels) {
  auto r = Parse(
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\",job=\"api\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "\n"
      "# TYPE temp gauge\n"
      "temp{service=\"edge\", instance=\"h1:9100\", path=\"C:\\\\dir\\\\\", quote=\"say \\\"hi\\\"\\n\",} -3.5e1\n"
      "untyped_metric 7\n"
      "# a free comment\n");
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.sink.metrics.size(), 4u);
  const auto& c = r.sink.metrics[0];
  EXPECT_EQ(c.name, "http_requests_total");
  EXPECT_EQ(c.kind, MetricKind::kCounter);
  EXPECT_EQ(c.value, 1027);
  EXPECT_EQ(c.time, 1395066363000 * kNsPerMs);
  EXPECT_EQ(c.service, "api");
  Attributes want = {{"code", "200"}, {"job", "api"}, {"method", "post"}};
  EXPECT_EQ(c.labels, want);  // sorted by key
  EXPECT_EQ(r.sink.metrics[1].service, "");
  const auto& g = r.sink.metrics[2];
  EXPECT_EQ(g.kind, MetricKind::kGauge);
  EXPECT_EQ(g.value, -35);
  EXPECT_EQ(g.time, kDefault);
  EXPECT_EQ(g.service, "edge");
  EXPECT_EQ(g.instance, "h1:9100");
  EXPECT_EQ(*FindAttribute(g.labels, "path"), "C:\\dir\\");
  EXPECT_EQ(*FindAttribute(g.labels, "quote"), "say \"hi\"\n");
  EXPECT_EQ(r.sink.metrics[3].name, "untyped_metric");
  EXPECT_EQ(r.sink.metrics[3].kind, MetricKind::kGauge);
  EXPECT_EQ(r.stats.skipped, 0u);
}

TEST(PrometheusTextTest, SpecialValues) {
  auto r = Parse("a +Inf\nb -Inf\nc NaN\nd Nan 5\n");
  ASSERT_EQ(r.sink.metrics.size(), 2u);
  EXPECT_TRUE(std::isinf(r.sink.metrics[0].value) && r.sink.metrics[0].value > 0);
  EXPECT_TRUE(std::isinf(r.sink.metrics[1].value) && r.sink.metrics[1].value < 0);
  EXPECT_EQ(r.stats.skipped, 2u);
}

TEST(PrometheusTextTest, HistogramAssembled) {
  auto r = Parse(
      "# TYPE rpc_seconds histogram\n"
      "rpc_seconds_bucket{le=\"0.5\",service=\"cart\"} 129389\n"
      "rpc_seconds_bucket{le=\"0.05\",service=\"cart\"} 24054\n"
      "rpc_seconds_bucket{le=\"1\",service=\"cart\"} 133988\n"
      "rpc_seconds_bucket{le=\"0.1\",service=\"cart\"} 33444\n"
      "rpc_seconds_bucket{le=\"+Inf\",service=\"cart\"} 144320\n"
      "rpc_seconds_sum{service=\"cart\"} 53423\n"
      "rpc_seconds_count{service=\"cart\"} 144320\n"
      "rpc_seconds_bucket{le=\"1\",service=\"ad\"} 3\n"
      "rpc_seconds_bucket{le=\"+Inf\",service=\"ad\"} 5\n"
      "# TYPE other gauge\n"
      "other 1\n");
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.sink.metrics.size(), 3u);
  const auto& h = r.sink.metrics[0];
  EXPECT_EQ(h.kind, MetricKind::kHistogram);
  EXPECT_EQ(h.name, "rpc_seconds");
  EXPECT_EQ(h.service, "cart");
  EXPECT_EQ(h.bounds, (std::vector<double>{0.05, 0.1, 0.5, 1}));
  // Per-bucket, non-cumulative; last = +Inf bucket.
  EXPECT_EQ(h.bucket_counts, (std::vector<uint64_t>{24054, 9390, 95945, 4599, 10332}));
  EXPECT_EQ(h.count, 144320u);
  EXPECT_EQ(h.value, 53423);
  Attributes want = {{"service", "cart"}};
  EXPECT_EQ(h.labels, want);  // no `le`
  const auto& h2 = r.sink.metrics[1];
  EXPECT_EQ(h2.service, "ad");
  EXPECT_EQ(h2.bucket_counts, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(h2.count, 5u);
  EXPECT_EQ(r.sink.metrics[2].name, "other");
}

TEST(PrometheusTextTest, BadHistograms) {
  auto r = Parse(
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 5\n"
      "h_bucket{le=\"2\"} 3\n"  // decreasing
      "h_bucket{le=\"+Inf\"} 6\n"
      "h_bucket{x=\"1\"} 5\n"   // no le
      "h_bucket{le=\"1\",s=\"b\"} NaN\n");
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.sink.metrics.size(), 0u);
  EXPECT_EQ(r.stats.skipped, 3u);
}

TEST(PrometheusTextTest, SummaryAndMalformedLines) {
  auto r = Parse(
      "# TYPE lat summary\n"
      "lat{quantile=\"0.5\"} 0.1\n"
      "lat_sum 10\n"
      "lat_count 100\n"
      "# TYPE x bogus\n"
      "9bad 1\n"
      "m{a=\"1\" 1\n"
      "m{a=1} 1\n"
      "m{a=\"unterminated} 1\n"
      "m{a=\"1\",a=\"2\"} 1\n"
      "m 1 notatime\n"
      "m 1 1 extra\n"
      "m\n"
      "m abc\n" +
      std::string("m{a=\"\xff\0\"} 1\n", 12));
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.sink.metrics.size(), 4u);
  EXPECT_EQ(r.sink.metrics[0].kind, MetricKind::kGauge);
  EXPECT_EQ(*FindAttribute(r.sink.metrics[0].labels, "quantile"), "0.5");
  EXPECT_EQ(r.sink.metrics[1].kind, MetricKind::kCounter);
  EXPECT_EQ(r.sink.metrics[2].name, "lat_count");
  EXPECT_EQ(r.sink.metrics[3].labels[0].second, std::string("\xff\0", 2));
  EXPECT_EQ(r.stats.skipped, 10u);
}

TEST(PrometheusTextTest, FileAndEmpty) {
  auto e = Parse("");
  EXPECT_TRUE(e.status.ok());
  EXPECT_EQ(e.stats.lines, 0u);
  namespace fs = std::filesystem;
  fs::path f = fs::temp_directory_path() / ("triad_prom_" + std::to_string(::getpid()) + ".txt");
  std::ofstream(f) << "up{job=\"node\"} 1\n";
  CollectingSink sink;
  ReadStats st;
  ASSERT_TRUE(ReadPrometheusTextFile(f.string(), sink, &st).ok());
  ASSERT_EQ(sink.metrics.size(), 1u);
  EXPECT_GT(sink.metrics[0].time, kDefault);  // stamped with the time of reading
  fs::remove(f);
  EXPECT_FALSE(ReadPrometheusTextFile(f.string(), sink, &st).ok());
}

}  // namespace
}  // namespace triad
