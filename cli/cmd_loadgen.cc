// `triad loadgen`: a bounded load test for `triad serve` (issue 9).
//
// Generates simulator telemetry in memory (sim/simulator.h), pre-encodes it
// into OTLP/HTTP export requests (protobuf or JSON, optionally gzip) of at
// most --batch records each, in the simulator's time order, and POSTs them to
// --target from --clients keep-alive connections, as fast as possible or on an
// open-loop schedule of --rate records/s, until the data is sent or
// --duration has passed. 429/503 answers are retried after their Retry-After.
// Then it waits until the server's /metrics shows that everything it
// acknowledged was ingested and processed (zero loss: PASS/FAIL).
//
// Reports spans/log lines/metric points per second sent and acknowledged,
// request latency percentiles (2xx answers, per attempt, measured from the
// actual send), refusal and error counts, the server's peak RSS and CPU time
// per record (from /proc/<pid> with --server-pid, else from the server's
// process_* gauges in /metrics) and the machine's load average.
// Exit status: 0 on PASS (and, with --expect-refusals, at least one 429/503),
// 1 otherwise, 2 for bad options or an unreachable server.
#include <fmt/core.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/command.h"
#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"
#include "ingest/prometheus_text.h"
#include "sim/simulator.h"

namespace triad::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct LoadArgs {
  std::string target = "http://127.0.0.1:4318";
  std::string token;
  SimConfig sim;
  double train_minutes = -1;  // <0: half of --minutes
  size_t batch = 500;
  std::string format = "proto";
  bool gzip = false;
  int clients = 4;
  double rate = 0;      // records/s; 0 = as fast as possible
  double duration = 0;  // s; 0 = until every request is sent
  int server_pid = 0;
  double drain_timeout = 120;
  bool expect_refusals = false;
  std::string json_out;
};

// One pre-encoded export request.
struct Request {
  OtlpSignal signal;
  std::string body;
  uint32_t records = 0;
};

std::string Gzip(const std::string& in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return in;
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : in;
}

// Collects the simulator's records into batches of at most `batch` records
// per signal and encodes each full batch; partial batches are sent at the
// end of every simulated 10 s step (as an exporter's batch timeout would).
class Encoder : public TelemetrySink {
 public:
  Encoder(size_t batch, bool json, bool gzip) : batch_(batch), json_(json), gzip_(gzip) {}
  void OnSpan(Span&& s) override {
    spans_.push_back(std::move(s));
    if (spans_.size() >= batch_) FlushSpans();
  }
  void OnLog(LogRecord&& l) override {
    logs_.push_back(std::move(l));
    if (logs_.size() >= batch_) FlushLogs();
  }
  void OnMetric(MetricSample&& m) override {
    metrics_.push_back(std::move(m));
    if (metrics_.size() >= batch_) FlushMetrics();
  }
  void FlushAll() {
    FlushSpans();
    FlushLogs();
    FlushMetrics();
  }
  std::vector<Request>& requests() { return out_; }
  uint64_t raw_bytes() const { return raw_bytes_; }

 private:
  void Push(OtlpSignal sig, std::string body, size_t n) {
    raw_bytes_ += body.size();
    out_.push_back({sig, gzip_ ? Gzip(body) : std::move(body), static_cast<uint32_t>(n)});
  }
  void FlushSpans() {
    if (spans_.empty()) return;
    Push(OtlpSignal::kTraces, json_ ? WriteOtlpTraces(spans_) : WriteOtlpTracesProto(spans_),
         spans_.size());
    spans_.clear();
  }
  void FlushLogs() {
    if (logs_.empty()) return;
    Push(OtlpSignal::kLogs, json_ ? WriteOtlpLogs(logs_) : WriteOtlpLogsProto(logs_), logs_.size());
    logs_.clear();
  }
  void FlushMetrics() {
    if (metrics_.empty()) return;
    Push(OtlpSignal::kMetrics, json_ ? WriteOtlpMetrics(metrics_) : WriteOtlpMetricsProto(metrics_),
         metrics_.size());
    metrics_.clear();
  }

  size_t batch_;
  bool json_, gzip_;
  std::vector<Span> spans_;
  std::vector<LogRecord> logs_;
  std::vector<MetricSample> metrics_;
  std::vector<Request> out_;
  uint64_t raw_bytes_ = 0;
};

// What the server says about itself in /metrics (sums over labels).
struct ServerView {
  bool ok = false;
  double ingested = 0, processed = 0, dropped = 0, queue_batches = 0;
  double rss = -1, rss_peak = -1, cpu_s = -1;
};

ServerView ScrapeServer(httplib::Client& cli) {
  ServerView v;
  auto r = cli.Get("/metrics");
  if (!r || r->status != 200) return v;
  CollectingSink sink;
  if (!ParsePrometheusText(r->body, 0, sink, nullptr, "/metrics").ok()) return v;
  v.ok = true;
  for (const MetricSample& m : sink.metrics) {
    if (m.name == "triad_ingested_records_total") v.ingested += m.value;
    else if (m.name == "triad_processed_records_total") v.processed += m.value;
    else if (m.name == "triad_dropped_records_total") v.dropped += m.value;
    else if (m.name == "triad_queue_batches") v.queue_batches += m.value;
    else if (m.name == "process_resident_memory_bytes") v.rss = m.value;
    else if (m.name == "process_resident_memory_peak_bytes") v.rss_peak = m.value;
    else if (m.name == "process_cpu_seconds_total") v.cpu_s = m.value;
  }
  return v;
}

// From /proc/<pid>: CPU seconds (utime + stime) and VmHWM/VmRSS bytes; -1 when unreadable.
struct ProcView {
  double cpu_s = -1, rss_peak = -1, rss = -1;
};

// utime + stime of a /proc/.../stat file in seconds; -1 if unreadable.
double StatCpuSeconds(const std::string& path) {
  std::ifstream stat(path);
  std::string line;
  if (!std::getline(stat, line)) return -1;
  size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos || close + 2 > line.size()) return -1;
  std::istringstream in(line.substr(close + 2));
  std::string f;
  double ut = 0, st = 0;
  // Fields from 3 (state); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && (in >> f); ++i) {
    if (i == 14) ut = std::atof(f.c_str());
    if (i == 15) st = std::atof(f.c_str());
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of each thread of `pid`, by thread id.
std::map<std::string, double> ThreadCpu(int pid) {
  std::map<std::string, double> out;
  if (pid <= 0) return out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    double s = StatCpuSeconds((e.path() / "stat").string());
    if (s >= 0) out[e.path().filename().string()] = s;
  }
  return out;
}

ProcView ReadProc(int pid) {
  ProcView v;
  if (pid <= 0) return v;
  v.cpu_s = StatCpuSeconds(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  while (std::getline(status, line)) {
    auto kb = [&](const char* key, double* out) {
      if (line.rfind(key, 0) == 0) *out = std::atof(line.c_str() + std::string(key).size()) * 1024;
    };
    kb("VmHWM:", &v.rss_peak);
    kb("VmRSS:", &v.rss);
  }
  return v;
}

// This process's CPU seconds (user + system, all threads).
double ClientCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a.empty() ? "?" : a + " " + b + " " + c;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) ;
  k = std::clamp<size_t>(k, 1, v.size()) - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// Per-client tallies, merged at the end.
struct Tally {
  std::array<uint64_t, 3> sent{}, acked{};  // records by signal (sent: first attempt)
  uint64_t requests = 0, acked_requests = 0, refused_429 = 0, refused_503 = 0, errors = 0,
           conn_errors = 0, abandoned = 0, bytes = 0;
  std::vector<double> latency_ms;  // 2xx attempts
  std::string first_error;
};

int Run(const LoadArgs& a) {
  if (a.batch == 0 || a.clients < 1 || a.rate < 0 || a.duration < 0 ||
      (a.format != "proto" && a.format != "json")) {
    spdlog::error("loadgen: need --batch >= 1, --clients >= 1, --rate/--duration >= 0, "
                  "--format proto|json");
    return 2;
  }
  SimConfig cfg = a.sim;
  cfg.train_minutes = a.train_minutes >= 0 ? a.train_minutes : cfg.minutes / 2;
  if (Status st = ValidateSimConfig(cfg); !st.ok()) {
    spdlog::error("loadgen: {}", st.message());
    return 2;
  }
  httplib::Client probe(a.target);
  if (!a.token.empty()) probe.set_bearer_token_auth(a.token);
  probe.set_connection_timeout(5, 0);
  probe.set_read_timeout(30, 0);
  const ServerView before = ScrapeServer(probe);
  if (!before.ok) {
    spdlog::error("loadgen: cannot read {}/metrics", a.target);
    return 2;
  }

  // 1. Generate and encode.
  auto g0 = Clock::now();
  Encoder enc(a.batch, a.format == "json", a.gzip);
  {
    Simulator sim(cfg);
    sim.set_step_callback([&](TimeNs) { enc.FlushAll(); });
    if (Status st = sim.Run(enc); !st.ok()) {
      spdlog::error("loadgen: simulator: {}", st.ToString());
      return 2;
    }
    enc.FlushAll();
  }
  std::vector<Request>& reqs = enc.requests();
  std::vector<uint64_t> before_records(reqs.size() + 1, 0);  // records in requests < i
  uint64_t total_bytes = 0;
  std::array<uint64_t, 3> generated{};
  for (size_t i = 0; i < reqs.size(); ++i) {
    before_records[i + 1] = before_records[i] + reqs[i].records;
    total_bytes += reqs[i].body.size();
    generated[static_cast<int>(reqs[i].signal)] += reqs[i].records;
  }
  const double gen_s = std::chrono::duration<double>(Clock::now() - g0).count();
  fmt::print("loadgen: {} requests ({} spans, {} logs, {} metric points; {:.1f} MB {}{}) "
             "generated in {:.1f} s\n",
             reqs.size(), generated[0], generated[1], generated[2], total_bytes / 1e6, a.format,
             a.gzip ? "+gzip" : "", gen_s);
  std::fflush(stdout);

  // 2. Send.
  const std::string load_before = LoadAverage();
  const ProcView proc0 = ReadProc(a.server_pid);
  const auto threads0 = ThreadCpu(a.server_pid);
  const double client_cpu0 = ClientCpuSeconds();
  std::atomic<size_t> next{0};
  std::vector<Tally> tallies(static_cast<size_t>(a.clients));
  const auto t0 = Clock::now();
  const auto deadline = a.duration > 0 ? t0 + std::chrono::microseconds(static_cast<int64_t>(
                                                  a.duration * 1e6))
                                       : Clock::time_point::max();
  auto client = [&](Tally& t) {
    httplib::Client cli(a.target);
    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true);
    cli.set_connection_timeout(5, 0);
    cli.set_read_timeout(60, 0);
    cli.set_write_timeout(60, 0);
    if (!a.token.empty()) cli.set_bearer_token_auth(a.token);
    httplib::Headers headers;
    if (a.gzip) headers.emplace("Content-Encoding", "gzip");
    const char* ctype = a.format == "json" ? "application/json" : "application/x-protobuf";
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= reqs.size() || Clock::now() >= deadline) break;
      const Request& r = reqs[i];
      if (a.rate > 0) {
        auto when = t0 + std::chrono::microseconds(static_cast<int64_t>(
                             static_cast<double>(before_records[i]) / a.rate * 1e6));
        if (when >= deadline) break;
        std::this_thread::sleep_until(when);
      }
      const std::string path = std::string("/v1/") + OtlpSignalName(r.signal);
      const int sig = static_cast<int>(r.signal);
      t.sent[sig] += r.records;
      ++t.requests;
      int conn_failures = 0;
      for (;;) {
        auto s0 = Clock::now();
        auto res = cli.Post(path, headers, r.body, ctype);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - s0).count();
        t.bytes += r.body.size();
        if (!res) {
          ++t.conn_errors;
          if (t.first_error.empty()) t.first_error = httplib::to_string(res.error());
          if (++conn_failures < 3 && Clock::now() < deadline) continue;
          ++t.abandoned;
          break;
        }
        if (res->status == 200 || res->status == 202) {
          t.acked[sig] += r.records;
          ++t.acked_requests;
          t.latency_ms.push_back(ms);
          break;
        }
        if (res->status == 429 || res->status == 503) {
          ++(res->status == 429 ? t.refused_429 : t.refused_503);
          double wait_s = 1;
          try {
            wait_s = std::stod(res->get_header_value("Retry-After"));
          } catch (...) {
          }
          auto until = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                                          std::clamp(wait_s, 0.0, 60.0) * 1000));
          if (until >= deadline) {
            ++t.abandoned;
            break;
          }
          std::this_thread::sleep_until(until);
          continue;
        }
        ++t.errors;
        if (t.first_error.empty())
          t.first_error = fmt::format("HTTP {}: {}", res->status, res->body.substr(0, 200));
        break;
      }
    }
  };
  std::vector<std::thread> threads;
  for (auto& t : tallies) threads.emplace_back(client, std::ref(t));
  for (auto& th : threads) th.join();
  const auto t_sent = Clock::now();
  Tally all;
  for (auto& t : tallies) {
    for (int s = 0; s < 3; ++s) {
      all.sent[s] += t.sent[s];
      all.acked[s] += t.acked[s];
    }
    all.requests += t.requests;
    all.acked_requests += t.acked_requests;
    all.refused_429 += t.refused_429;
    all.refused_503 += t.refused_503;
    all.errors += t.errors;
    all.conn_errors += t.conn_errors;
    all.abandoned += t.abandoned;
    all.bytes += t.bytes;
    all.latency_ms.insert(all.latency_ms.end(), t.latency_ms.begin(), t.latency_ms.end());
    if (all.first_error.empty()) all.first_error = t.first_error;
  }
  const uint64_t acked = all.acked[0] + all.acked[1] + all.acked[2];

  // 3. Zero loss: the server ingested exactly what it acknowledged and processed all of it.
  ServerView after;
  bool drained = false;
  const auto drain_deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a.drain_timeout * 1000));
  for (;;) {
    after = ScrapeServer(probe);
    drained = after.ok && after.processed == after.ingested &&
              after.ingested - before.ingested == static_cast<double>(acked);
    if (drained || Clock::now() >= drain_deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto t_drained = Clock::now();
  const ProcView proc1 = ReadProc(a.server_pid);
  const double client_cpu = ClientCpuSeconds() - client_cpu0;
  // The busiest server thread (the pipeline's worker under load) bounds the
  // throughput: at most 1 / (its CPU per record) records/s, whatever the cores.
  double busiest = -1;
  for (const auto& [tid, s] : ThreadCpu(a.server_pid)) {
    auto it = threads0.find(tid);
    busiest = std::max(busiest, s - (it != threads0.end() ? it->second : 0.0));
  }
  const std::string load_after = LoadAverage();

  const double send_s = std::chrono::duration<double>(t_sent - t0).count();
  const double e2e_s = std::chrono::duration<double>(t_drained - t0).count();
  const double cpu_s = proc0.cpu_s >= 0 && proc1.cpu_s >= 0 ? proc1.cpu_s - proc0.cpu_s
                       : before.cpu_s >= 0 && after.cpu_s >= 0 ? after.cpu_s - before.cpu_s
                                                               : -1;
  const double rss_peak = proc1.rss_peak >= 0 ? proc1.rss_peak : after.rss_peak;
  const double rss = proc1.rss >= 0 ? proc1.rss : after.rss;
  const bool refusals_ok = !a.expect_refusals || all.refused_429 + all.refused_503 > 0;
  const bool pass = drained && refusals_ok;
  auto per_s = [](double n, double s) { return s > 0 ? n / s : 0.0; };
  std::vector<double> lat = all.latency_ms;
  const double p50 = Percentile(lat, 0.50), p95 = Percentile(lat, 0.95),
               p99 = Percentile(lat, 0.99),
               pmax = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());

  const char* names[3] = {"spans", "log lines", "metric points"};
  fmt::print("\n{:<16} {:>12} {:>12} {:>14} {:>16}\n", "records", "sent", "acked", "acked/s (send)",
             "acked/s (e2e)");
  for (int s = 0; s < 3; ++s)
    fmt::print("{:<16} {:>12} {:>12} {:>14.0f} {:>16.0f}\n", names[s], all.sent[s], all.acked[s],
               per_s(static_cast<double>(all.acked[s]), send_s),
               per_s(static_cast<double>(all.acked[s]), e2e_s));
  fmt::print("{:<16} {:>12} {:>12} {:>14.0f} {:>16.0f}\n", "all",
             all.sent[0] + all.sent[1] + all.sent[2], acked, per_s(static_cast<double>(acked), send_s),
             per_s(static_cast<double>(acked), e2e_s));
  fmt::print("\nclients {}, batch {}, {}{}, rate {}, send {:.2f} s, until processed {:.2f} s\n",
             a.clients, a.batch, a.format, a.gzip ? "+gzip" : "",
             a.rate > 0 ? fmt::format("{:.0f}/s", a.rate) : std::string("max"), send_s, e2e_s);
  fmt::print("requests {} (2xx {}), 429 {}, 503 {}, other errors {}, connection errors {}, "
             "abandoned {}\n",
             all.requests, all.acked_requests, all.refused_429, all.refused_503, all.errors,
             all.conn_errors, all.abandoned);
  if (!all.first_error.empty()) fmt::print("first error: {}\n", all.first_error);
  fmt::print("latency of 2xx requests (ms): p50 {:.2f}  p95 {:.2f}  p99 {:.2f}  max {:.2f}\n", p50,
             p95, p99, pmax);
  fmt::print("server: RSS {} MB (peak {} MB), CPU {} s ({} us/record), dropped late/implausible {:.0f}\n",
             rss >= 0 ? fmt::format("{:.0f}", rss / 1e6) : "?",
             rss_peak >= 0 ? fmt::format("{:.0f}", rss_peak / 1e6) : "?",
             cpu_s >= 0 ? fmt::format("{:.2f}", cpu_s) : "?",
             cpu_s >= 0 && acked > 0 ? fmt::format("{:.2f}", cpu_s / acked * 1e6) : "?",
             after.dropped - before.dropped);
  auto us_per = [&](double cpu) { return cpu >= 0 && acked > 0 ? cpu / acked * 1e6 : -1.0; };
  // Records/s that 2 otherwise idle cores could sustain at the measured CPU
  // costs: all server and client CPU spread over 2 cores, and the busiest
  // server thread on one core.
  double capacity = -1;
  if (cpu_s > 0 && busiest > 0 && acked > 0)
    capacity = std::min(2.0 / ((cpu_s + client_cpu) / acked), 1.0 / (busiest / acked));
  if (busiest >= 0)
    fmt::print("server busiest thread: {:.2f} s CPU ({:.2f} us/record); loadgen CPU {:.2f} us/record; "
               "projected capacity on 2 idle cores: {:.0f} records/s ({:.0f} spans/s at this mix)\n",
               busiest, us_per(busiest), us_per(client_cpu), capacity,
               acked > 0 ? capacity * static_cast<double>(all.acked[0]) / acked : 0.0);
  fmt::print("load average: {} (before), {} (after)\n", load_before, load_after);
  fmt::print("zero loss: {} (acked {}, server ingested {:.0f}, processed {:.0f}{})\n",
             drained ? "PASS" : "FAIL", acked, after.ingested - before.ingested,
             after.processed - before.processed, drained ? "" : ", not drained");
  if (a.expect_refusals)
    fmt::print("refusals expected: {}\n", refusals_ok ? "PASS (got 429/503)" : "FAIL (none)");

  if (!a.json_out.empty()) {
    nlohmann::json j = {
        {"target", a.target},
        {"clients", a.clients},
        {"batch", a.batch},
        {"format", a.format},
        {"gzip", a.gzip},
        {"rate", a.rate},
        {"requests", all.requests},
        {"acked_requests", all.acked_requests},
        {"bytes_sent", all.bytes},
        {"send_seconds", send_s},
        {"e2e_seconds", e2e_s},
        {"generate_seconds", gen_s},
        {"sent", {{"spans", all.sent[0]}, {"logs", all.sent[1]}, {"metrics", all.sent[2]}}},
        {"acked", {{"spans", all.acked[0]}, {"logs", all.acked[1]}, {"metrics", all.acked[2]}}},
        {"acked_per_s_send",
         {{"spans", per_s(static_cast<double>(all.acked[0]), send_s)},
          {"logs", per_s(static_cast<double>(all.acked[1]), send_s)},
          {"metrics", per_s(static_cast<double>(all.acked[2]), send_s)},
          {"all", per_s(static_cast<double>(acked), send_s)}}},
        {"acked_per_s_e2e",
         {{"spans", per_s(static_cast<double>(all.acked[0]), e2e_s)},
          {"logs", per_s(static_cast<double>(all.acked[1]), e2e_s)},
          {"metrics", per_s(static_cast<double>(all.acked[2]), e2e_s)},
          {"all", per_s(static_cast<double>(acked), e2e_s)}}},
        {"latency_ms", {{"p50", p50}, {"p95", p95}, {"p99", p99}, {"max", pmax}}},
        {"refused_429", all.refused_429},
        {"refused_503", all.refused_503},
        {"errors", all.errors},
        {"connection_errors", all.conn_errors},
        {"abandoned", all.abandoned},
        {"first_error", all.first_error},
        {"server_ingested", after.ingested - before.ingested},
        {"server_processed", after.processed - before.processed},
        {"server_dropped", after.dropped - before.dropped},
        {"server_rss_bytes", rss},
        {"server_rss_peak_bytes", rss_peak},
        {"server_cpu_seconds", cpu_s},
        {"server_cpu_us_per_record", us_per(cpu_s)},
        {"server_busiest_thread_cpu_seconds", busiest},
        {"server_busiest_thread_us_per_record", us_per(busiest)},
        {"client_cpu_us_per_record", us_per(client_cpu)},
        {"projected_records_per_s_2_idle_cores", capacity},
        {"projected_spans_per_s_2_idle_cores",
         capacity > 0 && acked > 0 ? capacity * static_cast<double>(all.acked[0]) / acked : -1},
        {"load_average_before", load_before},
        {"load_average_after", load_after},
        {"zero_loss", drained},
        {"pass", pass}};
    std::ofstream f(a.json_out);
    f << j.dump(2) << "\n";
    if (!f) spdlog::error("loadgen: cannot write {}", a.json_out);
  }
  return pass ? 0 : 1;
}

void Setup(CLI::App& app) {
  auto a = std::make_shared<LoadArgs>();
  a->sim.minutes = 5;
  a->sim.rps = 200;
  auto gzip = std::make_shared<bool>(false);
  auto expect = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "loadgen", "Load-test a `triad serve`: send simulator telemetry over OTLP/HTTP, check zero loss");
  cmd->add_option("--target", a->target, "Server URL, e.g. http://127.0.0.1:4318");
  cmd->add_option("--token", a->token, "Bearer token of the server");
  cmd->add_option("--services", a->sim.services, "Simulated services (>= 4)")
      ->check(CLI::Range(4, 500));
  cmd->add_option("--rps", a->sim.rps, "Simulated gateway requests per second");
  cmd->add_option("--minutes", a->sim.minutes, "Simulated minutes to generate");
  cmd->add_option("--train-minutes", a->train_minutes,
                  "Fault-free prefix of the simulation (default: half of --minutes)");
  cmd->add_option("--faults", a->sim.faults, "Faults injected after the prefix");
  cmd->add_option("--seed", a->sim.seed, "Simulator seed");
  cmd->add_option("--batch", a->batch, "Records per request (per signal)");
  cmd->add_option("--format", a->format, "proto or json");
  cmd->add_flag("--gzip", *gzip, "Content-Encoding: gzip");
  cmd->add_option("--clients", a->clients, "Concurrent keep-alive connections");
  cmd->add_option("--rate", a->rate, "Records/s to offer (open loop); 0 = as fast as possible");
  cmd->add_option("--duration", a->duration, "Stop sending after this many seconds (0 = send all)");
  cmd->add_option("--server-pid", a->server_pid, "Server pid: CPU and peak RSS from /proc");
  cmd->add_option("--drain-timeout", a->drain_timeout,
                  "Seconds to wait for the server to process what it acknowledged");
  cmd->add_flag("--expect-refusals", *expect, "Fail unless some requests got 429/503");
  cmd->add_option("--json", a->json_out, "Write the results as JSON to this file");
  cmd->callback([a, gzip, expect] {
    a->gzip = *gzip;
    a->expect_refusals = *expect;
    SetExitCode(Run(*a));
  });
}

CommandRegistration reg(45, Setup);

}  // namespace
}  // namespace triad::cli
