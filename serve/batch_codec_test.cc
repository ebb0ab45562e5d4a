#include "serve/batch_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace triad {
namespace {

IngestBatch Sample() {
  IngestBatch b;
  b.signal = OtlpSignal::kMetrics;
  Span s;
  s.trace_id = "0af7651916cd43dd8448eb211c80319c";
  s.span_id = "b7ad6b7169203331";
  s.parent_span_id = "";
  s.service = "cart";
  s.instance = "cart-1";
  s.name = "GET /cart";
  s.kind = SpanKind::kServer;
  s.start = 1700000000123456789LL;
  s.end = s.start + 5000;
  s.status = SpanStatus::kError;
  s.status_message = std::string("bad \xff\xfe utf8", 12);
  s.http_method = "GET";
  s.http_url = "/cart?id=1";
  s.http_status_code = 503;
  s.host = "h1";
  s.peer = "db";
  s.attributes = {{"a", "1"}, {"", std::string("\0x", 2)}};
  b.spans = {s, Span()};
  b.spans[1].start = -5;  // before 1970: kept as is
  LogRecord l;
  l.time = 0;
  l.observed_time = 1700000000000000000LL;
  l.severity_number = 17;
  l.severity_text = "ERROR";
  l.body = "user 42 failed";
  l.service = "cart";
  l.trace_id = s.trace_id;
  l.attributes = {{"k", "v"}};
  b.logs = {l};
  MetricSample m;
  m.name = "latency";
  m.service = "cart";
  m.labels = {{"le", "x"}};
  m.time = 1700000000000000000LL;
  m.kind = MetricKind::kHistogram;
  m.value = std::numeric_limits<double>::quiet_NaN();
  m.count = 12;
  m.bounds = {0.1, 1, std::numeric_limits<double>::infinity()};
  m.bucket_counts = {1, 2, 3, 6};
  MetricSample g;
  g.name = "cpu";
  g.value = -0.0;
  b.metrics = {m, g};
  return b;
}

TEST(BatchCodecTest, RoundTripsEveryField) {
  IngestBatch b = Sample();
  std::string enc;
  EncodeBatch(b, INT64_MIN, &enc);
  IngestBatch d;
  TimeNs adv = 0;
  ASSERT_TRUE(DecodeBatch(enc, &d, &adv));
  EXPECT_EQ(adv, INT64_MIN);
  EXPECT_EQ(d.signal, b.signal);
  ASSERT_EQ(d.spans.size(), 2u);
  const Span &x = d.spans[0], &y = b.spans[0];
  EXPECT_EQ(x.trace_id, y.trace_id);
  EXPECT_EQ(x.span_id, y.span_id);
  EXPECT_EQ(x.service, y.service);
  EXPECT_EQ(x.instance, y.instance);
  EXPECT_EQ(x.name, y.name);
  EXPECT_EQ(x.kind, y.kind);
  EXPECT_EQ(x.start, y.start);
  EXPECT_EQ(x.end, y.end);
  EXPECT_EQ(x.status, y.status);
  EXPECT_EQ(x.status_message, y.status_message);
  EXPECT_EQ(x.http_method, y.http_method);
  EXPECT_EQ(x.http_url, y.http_url);
  EXPECT_EQ(x.http_status_code, y.http_status_code);
  EXPECT_EQ(x.host, y.host);
  EXPECT_EQ(x.peer, y.peer);
  EXPECT_EQ(x.attributes, y.attributes);
  EXPECT_EQ(d.spans[1].start, -5);
  ASSERT_EQ(d.logs.size(), 1u);
  EXPECT_EQ(d.logs[0].time, 0);
  EXPECT_EQ(d.logs[0].observed_time, b.logs[0].observed_time);
  EXPECT_EQ(d.logs[0].severity_number, 17);
  EXPECT_EQ(d.logs[0].severity_text, "ERROR");
  EXPECT_EQ(d.logs[0].body, b.logs[0].body);
  EXPECT_EQ(d.logs[0].trace_id, b.logs[0].trace_id);
  EXPECT_EQ(d.logs[0].attributes, b.logs[0].attributes);
  ASSERT_EQ(d.metrics.size(), 2u);
  const MetricSample& m = d.metrics[0];
  EXPECT_EQ(m.name, "latency");
  EXPECT_EQ(m.labels, b.metrics[0].labels);
  EXPECT_EQ(m.time, b.metrics[0].time);
  EXPECT_EQ(m.kind, MetricKind::kHistogram);
  EXPECT_TRUE(std::isnan(m.value));
  EXPECT_EQ(m.count, 12u);
  EXPECT_EQ(m.bounds, b.metrics[0].bounds);
  EXPECT_EQ(m.bucket_counts, b.metrics[0].bucket_counts);
  EXPECT_TRUE(std::signbit(d.metrics[1].value));
  // Encoding is deterministic.
  std::string again;
  EncodeBatch(d, INT64_MIN, &again);
  EXPECT_EQ(again, enc);
}

TEST(BatchCodecTest, MarkerRoundTrips) {
  std::string enc;
  EncodeBatch(IngestBatch(), 1700000000000000000LL, &enc);
  IngestBatch d;
  TimeNs adv = 0;
  ASSERT_TRUE(DecodeBatch(enc, &d, &adv));
  EXPECT_EQ(adv, 1700000000000000000LL);
  EXPECT_EQ(d.records(), 0u);
}

TEST(BatchCodecTest, RejectsTruncatedAndGarbage) {
  std::string enc;
  EncodeBatch(Sample(), INT64_MIN, &enc);
  IngestBatch d;
  TimeNs adv;
  for (size_t n = 0; n < enc.size(); ++n)
    EXPECT_FALSE(DecodeBatch(std::string_view(enc).substr(0, n), &d, &adv)) << n;
  EXPECT_FALSE(DecodeBatch(enc + "x", &d, &adv));
  // Huge counts in garbage do not allocate beyond the input.
  std::string bad = "\x01\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
  bad[1] = 0;
  EXPECT_FALSE(DecodeBatch(bad, &d, &adv));
  for (int seed = 0; seed < 200; ++seed) {
    std::string g = enc;
    g[(seed * 131) % g.size()] ^= static_cast<char>(1 + seed % 255);
    DecodeBatch(g, &d, &adv);  // any answer, no crash
  }
}

}  // namespace
}  // namespace triad
