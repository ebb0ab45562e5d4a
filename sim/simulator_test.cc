#include "sim/simulator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "ingest/otlp_json.h"

namespace triad {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("triad_sim_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SimConfig Small(uint64_t seed) {
  SimConfig c;
  c.seed = seed;
  c.services = 8;
  c.minutes = 4;
  c.train_minutes = 1.5;
  c.faults = 2;
  c.rps = 6;
  return c;
}

bool IsHex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

TEST(Simulator, ValidatesConfig) {
  SimConfig c;
  EXPECT_TRUE(ValidateSimConfig(c).ok());
  c.services = 3;
  EXPECT_FALSE(ValidateSimConfig(c).ok());
  c = SimConfig();
  c.train_minutes = 40;
  EXPECT_FALSE(ValidateSimConfig(c).ok());
  c = SimConfig();
  c.rps = 0;
  EXPECT_FALSE(ValidateSimConfig(c).ok());
  c = SimConfig();
  c.trace_sample = 1.5;
  EXPECT_FALSE(ValidateSimConfig(c).ok());
}

TEST(Simulator, SameSeedGivesByteIdenticalFiles) {
  for (bool gzip : {false, true}) {
    const std::string a = TempDir(gzip ? "det_a_gz" : "det_a"), b = TempDir(gzip ? "det_b_gz" : "det_b");
    SimulateResult ra, rb;
    ASSERT_TRUE(SimulateToDir(Small(11), a, gzip, nullptr, &ra).ok());
    ASSERT_TRUE(SimulateToDir(Small(11), b, gzip, nullptr, &rb).ok());
    ASSERT_EQ(ra.files.size(), 4u);
    ASSERT_EQ(rb.files.size(), 4u);
    for (size_t i = 0; i < ra.files.size(); ++i) {
      const std::string x = ReadFile(ra.files[i]), y = ReadFile(rb.files[i]);
      EXPECT_GT(x.size(), 100u) << ra.files[i];
      EXPECT_EQ(std::hash<std::string>()(x), std::hash<std::string>()(y)) << ra.files[i];
      EXPECT_TRUE(x == y) << ra.files[i];
    }
    if (gzip) {
      EXPECT_EQ(fs::path(ra.files[0]).filename(), "traces.jsonl.gz");
    }
    fs::remove_all(a);
    fs::remove_all(b);
  }
}

TEST(Simulator, DifferentSeedGivesDifferentOutput) {
  const std::string a = TempDir("seed_a"), b = TempDir("seed_b");
  SimulateResult ra, rb;
  ASSERT_TRUE(SimulateToDir(Small(1), a, false, nullptr, &ra).ok());
  ASSERT_TRUE(SimulateToDir(Small(2), b, false, nullptr, &rb).ok());
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(ReadFile(ra.files[i]), ReadFile(rb.files[i])) << ra.files[i];
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Simulator, GroundTruthRoundTrip) {
  Simulator sim(Small(4));
  const GroundTruth& g = sim.truth();
  ASSERT_EQ(g.faults.size(), 2u);
  ASSERT_EQ(g.services.size(), 8u);
  const std::string dir = TempDir("gt");
  fs::create_directories(dir);
  const std::string path = dir + "/ground_truth.json";
  ASSERT_TRUE(WriteGroundTruth(g, path).ok());
  GroundTruth r;
  ASSERT_TRUE(LoadGroundTruth(path, &r).ok());
  EXPECT_EQ(r.seed, g.seed);
  EXPECT_EQ(r.start, g.start);
  EXPECT_EQ(r.end, g.end);
  EXPECT_EQ(r.train_end, g.train_end);
  EXPECT_EQ(r.services, g.services);
  EXPECT_EQ(r.edges, g.edges);
  ASSERT_EQ(r.faults.size(), g.faults.size());
  for (size_t i = 0; i < g.faults.size(); ++i) {
    EXPECT_EQ(r.faults[i].id, g.faults[i].id);
    EXPECT_EQ(r.faults[i].type, g.faults[i].type);
    EXPECT_EQ(r.faults[i].services, g.faults[i].services);
    EXPECT_EQ(r.faults[i].start, g.faults[i].start);
    EXPECT_EQ(r.faults[i].end, g.faults[i].end);
    EXPECT_EQ(r.faults[i].description, g.faults[i].description);
  }
  // The documented schema, key by key.
  const std::string text = ReadFile(path);
  for (const char* key : {"\"seed\":4", "\"start_ns\":", "\"end_ns\":", "\"train_end_ns\":",
                          "\"services\":[\"gateway\"", "\"edges\":[[\"gateway\",", "\"faults\":[{\"id\":\"f1\",\"type\":"})
    EXPECT_NE(text.find(key), std::string::npos) << key;

  GroundTruth bad;
  EXPECT_EQ(ParseGroundTruth("{\"seed\":1}", &bad).code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseGroundTruth("not json", &bad).code(), Status::Code::kCorruption);
  EXPECT_EQ(LoadGroundTruth(dir + "/missing.json", &bad).code(), Status::Code::kNotFound);
  fs::remove_all(dir);
}

TEST(Simulator, FaultsOnlyAfterTrainEndAndNonOverlapping) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    SimConfig c;
    c.seed = seed;
    c.faults = 6;
    Simulator sim(c);
    const GroundTruth& g = sim.truth();
    ASSERT_EQ(g.faults.size(), 6u);
    TimeNs prev = g.train_end;
    for (const auto& f : g.faults) {
      EXPECT_GT(f.start, prev);
      EXPECT_LT(f.start, f.end);
      EXPECT_LE(f.end, g.end);
      prev = f.end;
      ASSERT_FALSE(f.services.empty());
      for (const auto& s : f.services)
        EXPECT_NE(std::find(g.services.begin(), g.services.end(), s), g.services.end()) << s;
      EXPECT_EQ(f.services.size(), f.type == "network_delay" ? 2u : 1u);
    }
  }
}

TEST(Simulator, SpansAreWellFormed) {
  SimConfig c = Small(5);
  CollectingSink sink;
  Simulator sim(c);
  ASSERT_TRUE(sim.Run(sink).ok());
  ASSERT_GT(sink.spans.size(), 1000u);
  EXPECT_EQ(sim.stats().spans, sink.spans.size());
  std::unordered_map<std::string, const Span*> by_id;
  std::map<std::string, int> roots;
  for (const auto& s : sink.spans) {
    ASSERT_TRUE(IsHex(s.trace_id, 32)) << s.trace_id;
    ASSERT_TRUE(IsHex(s.span_id, 16)) << s.span_id;
    ASSERT_TRUE(by_id.emplace(s.span_id, &s).second) << "duplicate span id";
    ASSERT_LE(s.start, s.end);
    ASSERT_FALSE(s.service.empty());
    ASSERT_EQ(s.host, s.instance);
    ASSERT_TRUE(s.kind == SpanKind::kServer || s.kind == SpanKind::kClient);
    if (s.kind == SpanKind::kClient) {
      EXPECT_FALSE(s.peer.empty());
    }
  }
  int children = 0, server_children_of_client = 0;
  for (const auto& s : sink.spans) {
    if (s.parent_span_id.empty()) {
      EXPECT_EQ(s.service, "gateway");
      EXPECT_EQ(s.kind, SpanKind::kServer);
      ++roots[s.trace_id];
      continue;
    }
    auto it = by_id.find(s.parent_span_id);
    ASSERT_NE(it, by_id.end()) << "parent missing";
    const Span& p = *it->second;
    ASSERT_EQ(p.trace_id, s.trace_id);
    ASSERT_GE(s.start, p.start) << "child starts before parent";
    ASSERT_LE(s.end, p.end) << "child ends after parent";
    if (s.kind == SpanKind::kServer) {
      ASSERT_EQ(p.kind, SpanKind::kClient);
      ASSERT_EQ(p.peer, s.service);
      ++server_children_of_client;
    } else {
      ASSERT_EQ(p.kind, SpanKind::kServer);
      ASSERT_EQ(p.service, s.service);
    }
    ++children;
  }
  EXPECT_GT(children, 0);
  EXPECT_GT(server_children_of_client, 0);
  for (const auto& [t, n] : roots) ASSERT_EQ(n, 1) << "one root per trace";
  EXPECT_EQ(roots.size(), sim.stats().requests);

  // Some concurrency: sibling client spans that overlap in time.
  std::map<std::string, std::vector<const Span*>> kids;
  for (const auto& s : sink.spans)
    if (s.kind == SpanKind::kClient) kids[s.parent_span_id].push_back(&s);
  int overlapping = 0, sequential = 0;
  for (auto& [p, v] : kids)
    for (size_t i = 0; i + 1 < v.size(); ++i)
      for (size_t j = i + 1; j < v.size(); ++j) {
        const bool ov = v[i]->start < v[j]->end && v[j]->start < v[i]->end;
        (ov ? overlapping : sequential)++;
      }
  EXPECT_GT(overlapping + sequential, 0);

  // HTTP details: real ids in URLs, mostly 2xx, some 4xx.
  int ok = 0, c4 = 0, http = 0;
  for (const auto& s : sink.spans) {
    if (s.kind != SpanKind::kServer || s.http_status_code == 0) continue;
    ++http;
    EXPECT_EQ(s.http_url.find('{'), std::string::npos) << s.http_url;
    ok += s.http_status_code < 300;
    c4 += s.http_status_code >= 400 && s.http_status_code < 500;
  }
  EXPECT_GT(ok, http * 0.9);
  EXPECT_GT(c4, 0);
}

TEST(Simulator, LogsAndMetricsLookRight) {
  CollectingSink sink;
  Simulator sim(Small(6));
  ASSERT_TRUE(sim.Run(sink).ok());
  ASSERT_GT(sink.logs.size(), 200u);
  int with_trace = 0, info = 0, warn = 0;
  std::set<std::string> bodies;
  for (const auto& l : sink.logs) {
    ASSERT_FALSE(l.body.empty());
    ASSERT_FALSE(l.service.empty());
    ASSERT_FALSE(l.instance.empty());
    ASSERT_EQ(SeverityFromText(l.severity_text), l.severity_number - (l.severity_number - 1) % 4);
    with_trace += !l.trace_id.empty();
    info += l.severity_text == "INFO";
    warn += l.severity_text == "WARN";
    if (!l.trace_id.empty()) {
      EXPECT_TRUE(IsHex(l.span_id, 16));
    }
    bodies.insert(l.body);
  }
  EXPECT_GT(with_trace, static_cast<int>(sink.logs.size() / 3));
  EXPECT_LT(with_trace, static_cast<int>(sink.logs.size()));  // background logs too
  EXPECT_GT(info, static_cast<int>(sink.logs.size() * 0.8));
  EXPECT_GT(bodies.size(), sink.logs.size() / 4) << "bodies carry parameters";

  std::map<std::string, int> names;
  std::map<std::pair<std::string, std::string>, double> last_counter;
  const GroundTruth& g = sim.truth();
  for (const auto& m : sink.metrics) {
    ++names[m.name];
    ASSERT_TRUE(std::isfinite(m.value));
    ASSERT_GE(m.time, g.start);
    ASSERT_LE(m.time, g.end);
    ASSERT_EQ((m.time - g.start) % (10 * kNsPerSec), 0);
    if (m.name == "cpu_usage") {
      ASSERT_GE(m.value, 0);
      ASSERT_LE(m.value, 1);
    }
    if (m.name == "requests_total" && m.time < g.train_end) {
      ASSERT_EQ(m.kind, MetricKind::kCounter);
      auto key = std::make_pair(m.service, m.instance);
      ASSERT_GE(m.value, last_counter[key]) << "counters are cumulative";
      last_counter[key] = m.value;
    }
  }
  for (const char* n : {"cpu_usage", "memory_bytes", "requests_total", "errors_total", "latency_p50_ms",
                        "latency_p99_ms", "gc_pause_ms", "queue_depth"})
    EXPECT_GT(names[n], 0) << n;
  EXPECT_GT(names["db_pool_in_use"] + names["connections"], 0);
}

TEST(Simulator, TraceSampleReducesSpansNotMetrics) {
  SimConfig c = Small(7);
  c.faults = 0;
  CollectingSink all, some;
  Simulator a(c);
  ASSERT_TRUE(a.Run(all).ok());
  c.trace_sample = 0.25;
  Simulator b(c);
  ASSERT_TRUE(b.Run(some).ok());
  const double ratio = static_cast<double>(some.spans.size()) / all.spans.size();
  EXPECT_GT(ratio, 0.15);
  EXPECT_LT(ratio, 0.35);
  EXPECT_NEAR(static_cast<double>(some.metrics.size()), static_cast<double>(all.metrics.size()),
              all.metrics.size() * 0.05);
}

TEST(Simulator, FilesReadBackWithoutSkips) {
  for (bool gzip : {false, true}) {
    const std::string dir = TempDir(gzip ? "read_gz" : "read");
    SimulateResult res;
    GroundTruth truth;
    ASSERT_TRUE(SimulateToDir(Small(8), dir, gzip, &truth, &res).ok());
    EXPECT_EQ(truth.seed, 8u);
    CollectingSink sink;
    for (int i = 0; i < 3; ++i) {
      ReadStats st;
      ASSERT_TRUE(ReadOtlpJsonFile(res.files[i], sink, &st).ok()) << res.files[i];
      EXPECT_EQ(st.skipped, 0u) << res.files[i] << ": " << (st.errors.empty() ? "" : st.errors[0]);
      EXPECT_GT(st.lines, 10u) << "streamed in batches";
    }
    EXPECT_EQ(sink.spans.size(), res.stats.spans);
    EXPECT_EQ(sink.logs.size(), res.stats.logs);
    EXPECT_EQ(sink.metrics.size(), res.stats.metrics);
    GroundTruth g;
    ASSERT_TRUE(LoadGroundTruth(res.files[3], &g).ok());
    EXPECT_EQ(g.faults.size(), truth.faults.size());
    fs::remove_all(dir);
  }
}

// ---- fault effects: one long run with every fault type ---------------------

struct SpanRec {
  int svc, peer;
  SpanKind kind;
  TimeNs start;
  double ms;
  bool error;
};
struct LogRec {
  int svc;
  TimeNs time;
  int sev;
  std::string shape;  // body with tokens holding digits masked
};
struct MetricRec {
  int svc;
  std::string instance, name;
  TimeNs time;
  double value;
};

class AnalysisSink : public TelemetrySink {
 public:
  int Id(const std::string& s) {
    if (s.empty()) return -1;
    auto [it, fresh] = ids_.emplace(s, static_cast<int>(ids_.size()));
    return it->second;
  }
  void OnSpan(Span&& s) override {
    spans.push_back({Id(s.service), Id(s.peer), s.kind, s.start, static_cast<double>(s.duration()) / kNsPerMs,
                     s.is_error()});
  }
  void OnLog(LogRecord&& l) override {
    static const std::regex kToken(R"([A-Za-z_\-:./]*[0-9][A-Za-z0-9_\-:./]*)");
    logs.push_back({Id(l.service), l.time, l.severity_number, std::regex_replace(l.body, kToken, "<*>")});
  }
  void OnMetric(MetricSample&& m) override { metrics.push_back({Id(m.service), m.instance, m.name, m.time, m.value}); }
  std::vector<SpanRec> spans;
  std::vector<LogRec> logs;
  std::vector<MetricRec> metrics;

 private:
  std::unordered_map<std::string, int> ids_;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

class SimFaultEffects : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SimConfig c;
    c.seed = 3;  // checked by hand with seeds 1-12
    c.services = 10;
    c.minutes = 62;
    c.train_minutes = 14;
    c.faults = 7;
    c.rps = 8;
    sim_ = new Simulator(c);
    sink_ = new AnalysisSink();
    ASSERT_TRUE(sim_->Run(*sink_).ok());
  }
  static void TearDownTestSuite() {
    delete sim_;
    delete sink_;
  }
  static const FaultTruth* Fault(const std::string& type) {
    for (const auto& f : sim_->truth().faults)
      if (f.type == type) return &f;
    return nullptr;
  }
  static int Svc(const std::string& name) { return sink_->Id(name); }
  // Server span durations (ms) of `svc` started in [a, b).
  static std::vector<double> Durations(int svc, TimeNs a, TimeNs b) {
    std::vector<double> v;
    for (const auto& s : sink_->spans)
      if (s.svc == svc && s.kind == SpanKind::kServer && s.start >= a && s.start < b) v.push_back(s.ms);
    return v;
  }
  static double ErrorRatio(int svc, TimeNs a, TimeNs b) {
    double n = 0, e = 0;
    for (const auto& s : sink_->spans)
      if (s.svc == svc && s.kind == SpanKind::kServer && s.start >= a && s.start < b) {
        ++n;
        e += s.error;
      }
    return n > 0 ? e / n : 0;
  }
  static double MeanMetric(int svc, const std::string& name, TimeNs a, TimeNs b) {
    double n = 0, sum = 0;
    for (const auto& m : sink_->metrics)
      if (m.svc == svc && m.name == name && m.time >= a && m.time < b) {
        ++n;
        sum += m.value;
      }
    return n > 0 ? sum / n : -1;
  }
  static bool CounterReset(int svc, TimeNs a, TimeNs b) {
    std::map<std::string, double> last;
    for (const auto& m : sink_->metrics) {
      if (m.svc != svc || m.name != "requests_total") continue;
      auto it = last.find(m.instance);
      if (it != last.end() && m.value < it->second && m.time >= a && m.time < b) return true;
      last[m.instance] = m.value;
    }
    return false;
  }
  static TimeNs train_end() { return sim_->truth().train_end; }
  static TimeNs start() { return sim_->truth().start; }
  static Simulator* sim_;
  static AnalysisSink* sink_;
};
Simulator* SimFaultEffects::sim_ = nullptr;
AnalysisSink* SimFaultEffects::sink_ = nullptr;

TEST_F(SimFaultEffects, EveryTypeInjected) {
  std::set<std::string> types;
  for (const auto& f : sim_->truth().faults) types.insert(f.type);
  EXPECT_EQ(types, (std::set<std::string>{"latency", "error_burst", "cpu_hog", "memory_leak", "crash",
                                          "network_delay", "bad_deploy"}));
}

TEST_F(SimFaultEffects, NoErrorsBurstInTraining) {
  const int gw = Svc("gateway");
  EXPECT_LT(ErrorRatio(gw, start(), train_end()), 0.03);
  EXPECT_GT(Durations(gw, start(), train_end()).size(), 1000u);
}

TEST_F(SimFaultEffects, LatencySlowsTheRootAndSoftlyItsCallers) {
  const FaultTruth* f = Fault("latency");
  ASSERT_NE(f, nullptr);
  const int svc = Svc(f->services[0]);
  const double base = Median(Durations(svc, start(), train_end()));
  const auto in = Durations(svc, f->start, f->end);
  ASSERT_GT(in.size(), 20u);
  EXPECT_GT(Median(in), 2.5 * base) << f->description;
  // Normal after the window.
  const auto after = Durations(svc, f->end + 60 * kNsPerSec, f->end + 120 * kNsPerSec);
  if (after.size() > 20) {
    EXPECT_LT(Median(after), 1.5 * base);
  }
}

TEST_F(SimFaultEffects, ErrorBurstRaisesErrorRatio) {
  const FaultTruth* f = Fault("error_burst");
  ASSERT_NE(f, nullptr);
  const int svc = Svc(f->services[0]);
  EXPECT_LT(ErrorRatio(svc, start(), train_end()), 0.02);
  EXPECT_GT(ErrorRatio(svc, f->start, f->end), 0.15) << f->description;
  // ERROR logs from it inside the window.
  int errors = 0;
  for (const auto& l : sink_->logs) errors += l.svc == svc && l.sev >= 17 && l.time >= f->start && l.time < f->end;
  EXPECT_GT(errors, 10);
  // Propagated to the gateway, softer.
  const int gw = Svc("gateway");
  const double gw_err = ErrorRatio(gw, f->start, f->end);
  EXPECT_GT(gw_err, ErrorRatio(gw, start(), train_end()));
}

TEST_F(SimFaultEffects, CpuHogSaturatesCpu) {
  const FaultTruth* f = Fault("cpu_hog");
  ASSERT_NE(f, nullptr);
  const int svc = Svc(f->services[0]);
  EXPECT_LT(MeanMetric(svc, "cpu_usage", start(), train_end()), 0.7);
  EXPECT_GT(MeanMetric(svc, "cpu_usage", f->start + 10 * kNsPerSec, f->end), 0.85) << f->description;
  const auto in = Durations(svc, f->start, f->end);
  if (in.size() > 20) {
    EXPECT_GT(Median(in), 1.3 * Median(Durations(svc, start(), train_end())));
  }
}

TEST_F(SimFaultEffects, MemoryLeakGrowsMemoryThenRestarts) {
  const FaultTruth* f = Fault("memory_leak");
  ASSERT_NE(f, nullptr);
  const int svc = Svc(f->services[0]);
  const double base = MeanMetric(svc, "memory_bytes", start(), train_end());
  const TimeNs late = f->start + (f->end - f->start) * 3 / 4;
  EXPECT_GT(MeanMetric(svc, "memory_bytes", late, f->end), 1.4 * base) << f->description;
  EXPECT_GT(MeanMetric(svc, "gc_pause_ms", late, f->end), 2 * MeanMetric(svc, "gc_pause_ms", start(), train_end()));
  EXPECT_TRUE(CounterReset(svc, f->start, f->end + 60 * kNsPerSec));
  EXPECT_FALSE(CounterReset(svc, start(), f->start));
}

TEST_F(SimFaultEffects, CrashStopsTelemetryThenRestarts) {
  const FaultTruth* f = Fault("crash");
  ASSERT_NE(f, nullptr);
  const int svc = Svc(f->services[0]);
  // Longest silence (server spans) inside the window.
  std::vector<TimeNs> starts;
  for (const auto& s : sink_->spans)
    if (s.svc == svc && s.kind == SpanKind::kServer && s.start >= f->start - 60 * kNsPerSec && s.start < f->end)
      starts.push_back(s.start);
  std::sort(starts.begin(), starts.end());
  TimeNs gap = 0;
  for (size_t i = 1; i < starts.size(); ++i) gap = std::max(gap, starts[i] - starts[i - 1]);
  EXPECT_GE(gap, 25 * kNsPerSec) << f->description;
  // No metrics from it for a while either.
  std::vector<TimeNs> mt;
  for (const auto& m : sink_->metrics)
    if (m.svc == svc && m.name == "cpu_usage" && m.time >= f->start - 60 * kNsPerSec && m.time < f->end) mt.push_back(m.time);
  std::sort(mt.begin(), mt.end());
  TimeNs mgap = 0;
  for (size_t i = 1; i < mt.size(); ++i) mgap = std::max(mgap, mt[i] - mt[i - 1]);
  EXPECT_GE(mgap, 30 * kNsPerSec);
  EXPECT_TRUE(CounterReset(svc, f->start, f->end));
  // Callers see connection errors.
  int refused = 0;
  for (const auto& s : sink_->spans)
    refused += s.kind == SpanKind::kClient && s.peer == svc && s.error && s.start >= f->start && s.start < f->end;
  EXPECT_GT(refused, 0);
}

TEST_F(SimFaultEffects, NetworkDelaySlowsClientSpansOnly) {
  const FaultTruth* f = Fault("network_delay");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->services.size(), 2u);
  const int caller = Svc(f->services[0]), callee = Svc(f->services[1]);
  auto client = [&](TimeNs a, TimeNs b) {
    std::vector<double> v;
    for (const auto& s : sink_->spans)
      if (s.svc == caller && s.peer == callee && s.kind == SpanKind::kClient && s.start >= a && s.start < b)
        v.push_back(s.ms);
    return v;
  };
  const auto in = client(f->start, f->end);
  ASSERT_GT(in.size(), 10u);
  EXPECT_GT(Median(in) - Median(client(start(), train_end())), 40) << f->description;
  EXPECT_LT(Median(Durations(callee, f->start, f->end)), 1.5 * Median(Durations(callee, start(), train_end())) + 1);
}

TEST_F(SimFaultEffects, BadDeployEmitsNeverSeenLogs) {
  const FaultTruth* f = Fault("bad_deploy");
  ASSERT_NE(f, nullptr);
  const int svc = Svc(f->services[0]);
  auto novel = [&](TimeNs a, TimeNs b, TimeNs ref_a, TimeNs ref_b) {
    std::set<std::string> seen;
    for (const auto& l : sink_->logs)
      if (l.svc == svc && l.time >= ref_a && l.time < ref_b) seen.insert(l.shape);
    int n = 0;
    for (const auto& l : sink_->logs)
      if (l.svc == svc && l.time >= a && l.time < b && !seen.count(l.shape)) ++n;
    return n;
  };
  const TimeNs len = f->end - f->start;
  const int in = novel(f->start, f->end, start(), train_end());
  const int control = novel(train_end() - len, train_end(), start(), train_end() - len);
  EXPECT_GE(in, 5) << f->description;
  EXPECT_GT(in, 3 * control);
}

}  // namespace
}  // namespace triad
