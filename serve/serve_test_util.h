// Helpers shared by the `triad serve` tests: replaying simulator output over
// OTLP/HTTP, and running the `triad serve` binary as a child process.
#ifndef TRIAD_SERVE_SERVE_TEST_UTIL_H_
#define TRIAD_SERVE_SERVE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_test_util.h"
#include "ingest/line_reader.h"
#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"

namespace triad::testutil {

// One request of a replay: a line of the simulator's traces/logs/metrics
// .jsonl as OTLP/JSON, or re-encoded as OTLP/protobuf.
struct ReplayRequest {
  TimeNs min_time = INT64_MAX;  // its first event time
  OtlpSignal signal = OtlpSignal::kTraces;
  std::string body;
  bool proto = false;
};

// Reads every line of the simulator's traces/logs/metrics .jsonl `files` (in
// that order) into requests for /v1/<signal>, merged by each line's first
// event time as exporters would send them; every other line as protobuf.
// Use with ASSERT_NO_FATAL_FAILURE.
inline void LoadOtlpReplay(const std::vector<std::string>& files, std::vector<ReplayRequest>* out) {
  ASSERT_EQ(files.size(), 3u);
  std::vector<ReplayRequest>& lines = *out;
  lines.clear();
  for (int f = 0; f < 3; ++f) {
    std::unique_ptr<LineReader> r;
    ASSERT_TRUE(LineReader::Open(files[f], &r).ok());
    std::string_view text;
    while (r->Next(&text)) {
      if (text.empty()) continue;
      ReplayRequest l;
      l.signal = static_cast<OtlpSignal>(f);
      CollectingSink sink;
      ASSERT_TRUE(ParseOtlpJson(text, sink, nullptr).ok());
      for (const auto& s : sink.spans) l.min_time = std::min(l.min_time, s.start);
      for (const auto& x : sink.logs) l.min_time = std::min(l.min_time, x.time);
      for (const auto& m : sink.metrics) l.min_time = std::min(l.min_time, m.time);
      l.proto = lines.size() % 2 == 1;
      if (!l.proto) {
        l.body = std::string(text);
      } else if (f == 0) {
        l.body = WriteOtlpTracesProto(sink.spans);
      } else if (f == 1) {
        l.body = WriteOtlpLogsProto(sink.logs);
      } else {
        l.body = WriteOtlpMetricsProto(sink.metrics);
      }
      lines.push_back(std::move(l));
    }
  }
  std::stable_sort(lines.begin(), lines.end(), [](const ReplayRequest& a, const ReplayRequest& b) {
    return a.min_time < b.min_time;
  });
}

// POSTs requests [begin, end) in order, each until it is answered 200 (429s
// are retried). Use with ASSERT_NO_FATAL_FAILURE.
inline void PostOtlpReplay(const std::vector<ReplayRequest>& lines, size_t begin, size_t end,
                           httplib::Client* cli) {
  int retries = 0;
  for (size_t i = begin; i < end && i < lines.size(); ++i) {
    const ReplayRequest& l = lines[i];
    for (;;) {
      auto r = cli->Post(std::string("/v1/") + OtlpSignalName(l.signal), l.body,
                         l.proto ? "application/x-protobuf" : "application/json");
      ASSERT_TRUE(r);
      if (r->status == 429 && ++retries < 10000) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      ASSERT_EQ(r->status, 200) << r->body;
      break;
    }
  }
}

// POSTs every line of the simulator's traces/logs/metrics .jsonl `files`
// (LoadOtlpReplay, PostOtlpReplay). Use with ASSERT_NO_FATAL_FAILURE.
inline void ReplayOtlpFiles(const std::vector<std::string>& files, httplib::Client* cli) {
  std::vector<ReplayRequest> lines;
  ASSERT_NO_FATAL_FAILURE(LoadOtlpReplay(files, &lines));
  ASSERT_GT(lines.size(), 100u);
  ASSERT_NO_FATAL_FAILURE(PostOtlpReplay(lines, 0, lines.size(), cli));
}

// An Alertmanager-style webhook receiver on loopback (POST /alerts):
// answers codes[i] to the i-th POST (200 after the list) and keeps the bodies.
class WebhookReceiver {
 public:
  explicit WebhookReceiver(std::vector<int> codes = {}) : codes_(std::move(codes)) {
    srv_.Post("/alerts", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      const size_t i = bodies_.size();
      bodies_.push_back(nlohmann::json::parse(req.body, nullptr, false));
      res.status = i < codes_.size() ? codes_[i] : 200;
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    // httplib's stop() is a no-op until the listener runs: wait for it.
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~WebhookReceiver() {
    srv_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/alerts"; }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> l(mu_);
    return bodies_;
  }
  // Alerts received over all POSTs.
  size_t alerts() {
    size_t n = 0;
    for (const auto& b : bodies()) n += b.contains("alerts") ? b["alerts"].size() : 0;
    return n;
  }

 private:
  httplib::Server srv_;
  std::vector<int> codes_;
  std::mutex mu_;
  std::vector<nlohmann::json> bodies_;
  int port_ = 0;
  std::thread thread_;
};

// `triad serve ARGS --listen 127.0.0.1:0` as a child process (stdout to
// `out_file`); port() is the port it printed.
class ServeProcess {
 public:
  // Starts TRIAD_BIN; port() stays 0 if it did not report listening in 10 s.
  ServeProcess(const std::string& bin, std::vector<std::string> args, const std::string& out_file)
      : out_(out_file) {
    args.insert(args.begin(), {bin, "serve", "--listen", "127.0.0.1:0"});
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(out_file.c_str(), "w", stdout);
      (void)f;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    std::regex re("listening on http://127\\.0\\.0\\.1:(\\d+)");
    for (int i = 0; pid_ > 0 && i < 500 && port_ == 0; ++i) {
      std::smatch m;
      std::string text = ReadAll(out_);
      if (std::regex_search(text, m, re)) port_ = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) Stop();
  }
  int port() const { return port_; }
  std::string output() const { return ReadAll(out_); }
  // SIGTERM and wait. Returns the exit code (-1 if it did not exit normally).
  int Stop() { return Signal(SIGTERM); }
  // Sends `sig` and waits. Returns the exit code, or -1 if it did not exit
  // normally (e.g. SIGKILL).
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    pid_t got = waitpid(pid_, &status, 0);
    pid_ = -1;
    return got > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string out_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace triad::testutil

#endif  // TRIAD_SERVE_SERVE_TEST_UTIL_H_
