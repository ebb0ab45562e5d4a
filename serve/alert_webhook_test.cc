#include "serve/alert_webhook.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve/serve_test_util.h"

namespace triad {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

AnomalyRow Row(int64_t id, const std::string& service) {
  AnomalyRow r;
  r.id = id;
  r.service = service;
  r.start = 1700000000LL * kNsPerSec + id * 30 * kNsPerSec;
  r.end = r.start + 30 * kNsPerSec;
  r.score = 12.5;
  r.threshold = 7;
  r.model = "model.json";
  r.summary = "metric:errors_total:rate=2 (expected 0, z=19)";
  return r;
}

using Receiver = testutil::WebhookReceiver;

TEST(AlertWebhookTest, ParseHttpUrl) {
  std::string base, path;
  ASSERT_TRUE(ParseHttpUrl("http://127.0.0.1:9093/api/hook?x=1", &base, &path));
  EXPECT_EQ(base, "http://127.0.0.1:9093");
  EXPECT_EQ(path, "/api/hook?x=1");
  ASSERT_TRUE(ParseHttpUrl("http://alerts", &base, &path));
  EXPECT_EQ(base, "http://alerts");
  EXPECT_EQ(path, "/");
  EXPECT_FALSE(ParseHttpUrl("https://alerts/x", &base, &path));
  EXPECT_FALSE(ParseHttpUrl("http:///x", &base, &path));
  EXPECT_FALSE(ParseHttpUrl("http://user@host/x", &base, &path));
  EXPECT_FALSE(ParseHttpUrl("alerts:9093", &base, &path));
}

TEST(AlertWebhookTest, PayloadIsAlertmanagerWebhookVersion4) {
  json b = json::parse(
      AlertmanagerWebhookJson({Row(1, "cart"), Row(2, "gateway")}, "triad", "http://ui:4318"));
  EXPECT_EQ(b["version"], "4");
  EXPECT_EQ(b["status"], "firing");
  EXPECT_EQ(b["receiver"], "triad");
  EXPECT_EQ(b["truncatedAlerts"], 0);
  EXPECT_EQ(b["groupLabels"], json({{"alertname", "TriadAnomaly"}}));
  EXPECT_TRUE(b["groupKey"].is_string());
  EXPECT_EQ(b["externalURL"], "http://ui:4318");
  // Common labels: what both alerts share (not the service).
  EXPECT_EQ(b["commonLabels"]["alertname"], "TriadAnomaly");
  EXPECT_FALSE(b["commonLabels"].contains("service"));
  ASSERT_EQ(b["alerts"].size(), 2u);
  const json& a = b["alerts"][1];
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["labels"]["service"], "gateway");
  EXPECT_EQ(a["labels"]["alertname"], "TriadAnomaly");
  EXPECT_EQ(a["startsAt"], "2023-11-14T22:14:20Z");  // 1700000000 + 60 s
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["annotations"]["anomaly_id"], "2");
  EXPECT_EQ(a["annotations"]["window_end"], "2023-11-14T22:14:50Z");
  EXPECT_NE(a["annotations"]["summary"].get<std::string>().find("gateway"), std::string::npos);
  EXPECT_EQ(a["generatorURL"], "http://ui:4318/#/anomaly/2");
  // Fingerprints identify the label set: 16 hex digits, different per service.
  EXPECT_EQ(a["fingerprint"].get<std::string>().size(), 16u);
  EXPECT_NE(a["fingerprint"], b["alerts"][0]["fingerprint"]);
  // Every value of labels and annotations is a string, as Alertmanager requires.
  for (const auto& x : b["alerts"])
    for (const char* k : {"labels", "annotations"})
      for (const auto& [key, v] : x[k].items()) EXPECT_TRUE(v.is_string()) << key;
}

TEST(AlertWebhookTest, DeliversBatchesToTheReceiver) {
  Receiver rx;
  PromRegistry m;
  AlertWebhookOptions o;
  o.url = rx.url();
  o.max_batch = 3;
  AlertWebhook w(o, &m);
  ASSERT_TRUE(w.Start().ok());
  for (int i = 1; i <= 7; ++i) EXPECT_TRUE(w.Enqueue(Row(i, i % 2 ? "cart" : "gateway")));
  ASSERT_TRUE(w.WaitIdle(milliseconds(20000)));
  EXPECT_EQ(w.delivered(), 7u);
  EXPECT_EQ(w.failed(), 0u);
  EXPECT_EQ(rx.alerts(), 7u);
  for (const auto& b : rx.bodies()) {
    EXPECT_EQ(b["version"], "4");
    EXPECT_LE(b["alerts"].size(), 3u);
  }
  EXPECT_NE(m.Render().find("triad_alerts_total{outcome=\"delivered\"} 7"), std::string::npos);
  w.Shutdown(milliseconds(0));
}

TEST(AlertWebhookTest, RetriesServerErrorsThenSucceeds) {
  Receiver rx({503, 500});
  PromRegistry m;
  AlertWebhookOptions o;
  o.url = rx.url();
  o.initial_backoff = milliseconds(10);
  AlertWebhook w(o, &m);
  ASSERT_TRUE(w.Start().ok());
  ASSERT_TRUE(w.Enqueue(Row(1, "cart")));
  ASSERT_TRUE(w.WaitIdle(milliseconds(20000)));
  EXPECT_EQ(w.delivered(), 1u);
  EXPECT_EQ(rx.bodies().size(), 3u);  // 503, 500, 200
  const std::string text = m.Render();
  EXPECT_NE(text.find("triad_alert_posts_total{code=\"503\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("triad_alert_posts_total{code=\"200\"} 1"), std::string::npos) << text;
}

TEST(AlertWebhookTest, GivesUpOnClientErrorsAndAfterMaxAttempts) {
  Receiver rx({400});
  PromRegistry m;
  AlertWebhookOptions o;
  o.url = rx.url();
  o.initial_backoff = milliseconds(5);
  {
    AlertWebhook w(o, &m);
    ASSERT_TRUE(w.Start().ok());
    ASSERT_TRUE(w.Enqueue(Row(1, "cart")));
    ASSERT_TRUE(w.WaitIdle(milliseconds(20000)));
    EXPECT_EQ(w.failed(), 1u);  // 400 is not retried
    EXPECT_EQ(rx.bodies().size(), 1u);
  }
  // Nobody listening: connection errors are retried max_attempts times.
  std::string dead;
  {
    Receiver gone;
    dead = gone.url();
  }
  PromRegistry m2;
  o.url = dead;
  o.max_attempts = 3;
  AlertWebhook w(o, &m2);
  ASSERT_TRUE(w.Start().ok());
  ASSERT_TRUE(w.Enqueue(Row(2, "cart")));
  ASSERT_TRUE(w.WaitIdle(milliseconds(20000)));
  EXPECT_EQ(w.failed(), 1u);
  EXPECT_EQ(w.delivered(), 0u);
  EXPECT_NE(m2.Render().find("triad_alert_posts_total{code=\"0\"} 3"), std::string::npos);
}

TEST(AlertWebhookTest, BoundedQueueDropsAndShutdownCountsTheRest) {
  PromRegistry m;
  AlertWebhookOptions o;
  o.url = "http://127.0.0.1:9/alerts";
  o.max_queue = 2;
  AlertWebhook w(o, &m);  // not started: nothing leaves the queue
  EXPECT_TRUE(w.Enqueue(Row(1, "a")));
  EXPECT_TRUE(w.Enqueue(Row(2, "a")));
  EXPECT_FALSE(w.Enqueue(Row(3, "a")));
  EXPECT_EQ(w.dropped(), 1u);
  w.Shutdown(milliseconds(0));
  EXPECT_EQ(w.failed(), 2u);
  EXPECT_FALSE(w.Enqueue(Row(4, "a")));  // stopping
  EXPECT_EQ(w.dropped(), 2u);
}

TEST(AlertWebhookTest, BadUrlIsRefusedAtStart) {
  PromRegistry m;
  AlertWebhookOptions o;
  o.url = "https://secure/alerts";
  AlertWebhook w(o, &m);
  EXPECT_EQ(w.Start().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace triad
