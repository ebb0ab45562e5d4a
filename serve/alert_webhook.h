// AlertWebhook: POSTs new anomalies to an Alertmanager-compatible webhook
// receiver (`triad serve --alert-webhook URL`), in Alertmanager's webhook
// JSON (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config):
//   {"version":"4","status":"firing","receiver":..,"groupKey":..,
//    "truncatedAlerts":0,"groupLabels":{"alertname":"TriadAnomaly"},
//    "commonLabels":{..},"commonAnnotations":{..},"externalURL":..,
//    "alerts":[{"status":"firing","labels":{alertname,service,severity,model},
//               "annotations":{summary,description,score,threshold,
//                              window_start,window_end,anomaly_id},
//               "startsAt":RFC3339,"endsAt":"0001-01-01T00:00:00Z",
//               "generatorURL":..,"fingerprint":..}]}
// Delivery runs on one background thread: Enqueue() never blocks (a full
// queue drops the alert and counts it); batches of up to max_batch alerts
// are POSTed; a connection error, 5xx or 429 is retried with exponential
// backoff up to max_attempts, any other non-2xx is given up at once.
// Counters (PromRegistry): triad_alerts_total{outcome=delivered|failed|dropped},
// triad_alert_posts_total{code}.
#ifndef TRIAD_SERVE_ALERT_WEBHOOK_H_
#define TRIAD_SERVE_ALERT_WEBHOOK_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/prom_metrics.h"
#include "serve/store.h"
#include "triad/status.h"

namespace triad {

struct AlertWebhookOptions {
  std::string url;                  // http://host[:port][/path] (no TLS)
  std::string receiver = "triad";   // the payload's "receiver"
  std::string external_url;         // this server's UI, e.g. http://127.0.0.1:4318
  size_t max_queue = 1000;          // alerts waiting; more are dropped (counted)
  size_t max_batch = 64;            // alerts per POST
  int max_attempts = 5;             // per batch, the first try included
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  int timeout_s = 5;                // connect and read timeout per POST
};

// Splits "http://host[:port][/path]" into "http://host[:port]" and "/path"
// ("/" if absent). Returns false for another scheme or an empty host.
bool ParseHttpUrl(const std::string& url, std::string* scheme_host_port, std::string* path);

// The Alertmanager webhook body (version 4, status firing) for `alerts`.
std::string AlertmanagerWebhookJson(const std::vector<AnomalyRow>& alerts,
                                    const std::string& receiver, const std::string& external_url);

class AlertWebhook {
 public:
  // `metrics` must outlive the webhook.
  AlertWebhook(AlertWebhookOptions opts, PromRegistry* metrics);
  ~AlertWebhook();  // Shutdown(0)
  AlertWebhook(const AlertWebhook&) = delete;
  AlertWebhook& operator=(const AlertWebhook&) = delete;

  // Checks the URL and starts the sender thread. InvalidArgument for a bad URL.
  Status Start();
  // Queues one alert. Returns false (and counts it dropped) if the queue is
  // full or the webhook is stopping. Thread-safe, never blocks on the network.
  bool Enqueue(const AnomalyRow& anomaly);
  // Stops taking alerts and keeps delivering the queued ones for at most
  // `drain` (retries included); what is left then is counted as failed.
  // Joins the thread. Idempotent.
  void Shutdown(std::chrono::milliseconds drain);
  // Returns true once the queue is empty and no POST is in flight.
  bool WaitIdle(std::chrono::milliseconds timeout);

  uint64_t delivered() const;
  uint64_t failed() const;
  uint64_t dropped() const;

 private:
  void Run();
  // Returns true once `batch` was accepted (2xx), false when given up.
  bool Deliver(const std::vector<AnomalyRow>& batch);

  AlertWebhookOptions opts_;
  std::string base_, path_;
  PromRegistry* metrics_;
  PromCounter *delivered_, *failed_, *dropped_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // sender wake-up and backoff sleeps
  std::condition_variable idle_cv_;  // WaitIdle
  std::deque<AnomalyRow> queue_;
  bool stopping_ = false, busy_ = false, started_ = false;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::thread thread_;
};

}  // namespace triad

#endif  // TRIAD_SERVE_ALERT_WEBHOOK_H_
