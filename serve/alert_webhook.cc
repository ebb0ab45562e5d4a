#include "serve/alert_webhook.h"

#include <fmt/core.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "detect/output.h"

namespace triad {
namespace {

using json = nlohmann::json;

constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";  // Alertmanager's "no end" for firing alerts

json Labels(const AnomalyRow& a) {
  return {{"alertname", "TriadAnomaly"},
          {"service", a.service},
          {"severity", "warning"},
          {"model", a.model.empty() ? "baseline" : a.model}};
}

// FNV-1a 64 over the sorted labels, as 16 hex digits (Alertmanager
// fingerprints identify an alert by its label set).
std::string Fingerprint(const json& labels) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& [k, v] : labels.items()) {  // nlohmann::json objects iterate sorted
    for (char c : k + "\xff" + v.get<std::string>() + "\xfe") {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
  }
  return fmt::format("{:016x}", h);
}

// The key/value pairs `objects` all share.
json Common(const std::vector<json>& objects) {
  json out = json::object();
  if (objects.empty()) return out;
  for (const auto& item : objects[0].items()) {
    const std::string& k = item.key();
    const json& v = item.value();
    bool all = std::all_of(objects.begin(), objects.end(), [&](const json& o) {
      auto it = o.find(k);
      return it != o.end() && *it == v;
    });
    if (all) out[k] = v;
  }
  return out;
}

}  // namespace

bool ParseHttpUrl(const std::string& url, std::string* scheme_host_port, std::string* path) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) return false;
  size_t slash = url.find('/', scheme.size());
  std::string host = url.substr(scheme.size(), slash == std::string::npos ? std::string::npos
                                                                          : slash - scheme.size());
  if (host.empty() || host[0] == ':' || host.find_first_of("@?# ") != std::string::npos)
    return false;
  *scheme_host_port = scheme + host;
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  return true;
}

std::string AlertmanagerWebhookJson(const std::vector<AnomalyRow>& alerts,
                                    const std::string& receiver, const std::string& external_url) {
  json list = json::array();
  std::vector<json> labels, annotations;
  for (const AnomalyRow& a : alerts) {
    json l = Labels(a);
    json an = {{"summary", fmt::format("{}: anomalous window (score {:.3g} > threshold {:.3g})",
                                       a.service, a.score, a.threshold)},
               {"description", a.summary},
               {"score", fmt::format("{:.6g}", a.score)},
               {"threshold", fmt::format("{:.6g}", a.threshold)},
               {"window_start", FormatIso8601(a.start)},
               {"window_end", FormatIso8601(a.end)},
               {"anomaly_id", std::to_string(a.id)}};
    list.push_back({{"status", "firing"},
                    {"labels", l},
                    {"annotations", an},
                    {"startsAt", FormatIso8601(a.start)},
                    {"endsAt", kZeroTime},
                    {"generatorURL", external_url.empty()
                                         ? std::string()
                                         : external_url + "/#/anomaly/" + std::to_string(a.id)},
                    {"fingerprint", Fingerprint(l)}});
    labels.push_back(std::move(l));
    annotations.push_back(std::move(an));
  }
  const json group = {{"alertname", "TriadAnomaly"}};
  json body = {{"version", "4"},
               {"groupKey", "{}:{alertname=\"TriadAnomaly\"}"},
               {"truncatedAlerts", 0},
               {"status", "firing"},
               {"receiver", receiver},
               {"groupLabels", group},
               {"commonLabels", Common(labels)},
               {"commonAnnotations", Common(annotations)},
               {"externalURL", external_url},
               {"alerts", std::move(list)}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

AlertWebhook::AlertWebhook(AlertWebhookOptions opts, PromRegistry* metrics)
    : opts_(std::move(opts)), metrics_(metrics) {
  const std::string help = "Alerts for the webhook by outcome";
  delivered_ = metrics_->Counter("triad_alerts_total", help, "outcome", "delivered");
  failed_ = metrics_->Counter("triad_alerts_total", help, "outcome", "failed");
  dropped_ = metrics_->Counter("triad_alerts_total", help, "outcome", "dropped");
  opts_.max_batch = std::max<size_t>(1, opts_.max_batch);
  opts_.max_attempts = std::max(1, opts_.max_attempts);
}

AlertWebhook::~AlertWebhook() { Shutdown(std::chrono::milliseconds(0)); }

Status AlertWebhook::Start() {
  if (!ParseHttpUrl(opts_.url, &base_, &path_))
    return Status::InvalidArgument("alert webhook: want http://host[:port][/path], got '" +
                                   opts_.url + "'");
  std::lock_guard<std::mutex> l(mu_);
  if (started_) return Status::OK();
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

bool AlertWebhook::Enqueue(const AnomalyRow& anomaly) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stopping_ && queue_.size() < opts_.max_queue) {
      queue_.push_back(anomaly);
      cv_.notify_all();
      return true;
    }
  }
  dropped_->Add();
  return false;
}

void AlertWebhook::Shutdown(std::chrono::milliseconds drain) {
  std::thread t;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = std::chrono::steady_clock::now() + drain;
    }
    cv_.notify_all();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
  std::lock_guard<std::mutex> l(mu_);
  failed_->Add(queue_.size());  // never started, or left at the deadline
  queue_.clear();
  idle_cv_.notify_all();
}

bool AlertWebhook::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return idle_cv_.wait_for(l, timeout, [&] { return queue_.empty() && !busy_; });
}

uint64_t AlertWebhook::delivered() const { return delivered_->value(); }
uint64_t AlertWebhook::failed() const { return failed_->value(); }
uint64_t AlertWebhook::dropped() const { return dropped_->value(); }

void AlertWebhook::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() || std::chrono::steady_clock::now() >= deadline_) break;
    std::vector<AnomalyRow> batch;
    while (!queue_.empty() && batch.size() < opts_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    busy_ = true;
    l.unlock();
    const bool ok = Deliver(batch);
    (ok ? delivered_ : failed_)->Add(batch.size());
    l.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

bool AlertWebhook::Deliver(const std::vector<AnomalyRow>& batch) {
  const std::string body = AlertmanagerWebhookJson(batch, opts_.receiver, opts_.external_url);
  httplib::Client cli(base_);
  cli.set_connection_timeout(opts_.timeout_s, 0);
  cli.set_read_timeout(opts_.timeout_s, 0);
  cli.set_write_timeout(opts_.timeout_s, 0);
  auto backoff = opts_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    auto res = cli.Post(path_, body, "application/json");
    const int code = res ? res->status : 0;
    metrics_->Counter("triad_alert_posts_total", "Webhook POSTs by HTTP status (0: no answer)",
                      "code", std::to_string(code))
        ->Add();
    if (code >= 200 && code < 300) return true;
    const bool retriable = code == 0 || code == 429 || code >= 500;
    if (!retriable || attempt >= opts_.max_attempts) {
      spdlog::warn("alert webhook {}{}: giving up on {} alert(s) after {} attempt(s) (last: {})",
                   base_, path_, batch.size(), attempt,
                   res ? std::to_string(code) : httplib::to_string(res.error()));
      return false;
    }
    std::unique_lock<std::mutex> l(mu_);
    // Sleep for the backoff, but never past the shutdown deadline.
    auto until = std::min(std::chrono::steady_clock::now() + backoff, deadline_);
    cv_.wait_until(l, until, [&] { return std::chrono::steady_clock::now() >= deadline_; });
    if (std::chrono::steady_clock::now() >= deadline_) return false;
    backoff = std::min(backoff * 2, opts_.max_backoff);
  }
}

}  // namespace triad
