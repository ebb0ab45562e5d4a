#include "align/log_metric_windows.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

namespace triad {
namespace {

constexpr TimeNs kS = kNsPerSec;
constexpr TimeNs kT0 = 1'699'999'980LL * kS;  // a multiple of 60 s

MetricSample M(const std::string& svc, const std::string& name, TimeNs t, double v,
               const std::string& inst = "") {
  MetricSample s;
  s.service = svc;
  s.instance = inst;
  s.name = name;
  s.time = t;
  s.value = v;
  return s;
}

LogRecord L(const std::string& svc, TimeNs t, const std::string& body, int sev = 9) {
  LogRecord l;
  l.service = svc;
  l.time = t;
  l.body = body;
  l.severity_number = sev;
  return l;
}

LogMetricOptions Opts(int steps = 6) {
  LogMetricOptions o;
  o.tau = 60 * kS;
  o.metric_steps = steps;  // cells of 10 s
  return o;
}

const LogMetricWindow* Find(const std::vector<LogMetricWindow>& w, const std::string& scope,
                            TimeNs start) {
  for (const auto& x : w)
    if (x.scope == scope && x.start == start) return &x;
  return nullptr;
}

TEST(LogMetricWindows, PairsLogsAndMetricsPerServiceAndSystem) {
  LogMetricWindowBuilder b(Opts());
  b.OnLog(L("a", kT0 + 1 * kS, "user 1 logged in"));
  b.OnLog(L("a", kT0 + 2 * kS, "user 2 logged in"));
  b.OnLog(L("b", kT0 + 3 * kS, "disk full on /dev/sda", 17));
  b.OnMetric(M("a", "cpu", kT0 + 5 * kS, 1.0));
  b.OnMetric(M("a", "cpu", kT0 + 7 * kS, 3.0));
  b.OnMetric(M("b", "mem", kT0 + 15 * kS, 10.0));
  auto w = b.Build();
  ASSERT_EQ(w.size(), 3u);  // one window start, scopes "*", "a", "b"
  EXPECT_EQ(w[0].scope, kSystemScope);
  const auto* a = Find(w, "a", kT0);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->templates.size(), 2u);
  EXPECT_EQ(a->templates[0], a->templates[1]);  // same Drain template
  EXPECT_EQ(b.parser().TemplateText(a->templates[0]), "user <*> logged in");
  ASSERT_EQ(a->dims, 1);
  EXPECT_EQ(a->steps, 6);
  EXPECT_FLOAT_EQ(a->value(0, 0), 2.0f);  // mean of 1 and 3 in cell 0
  EXPECT_TRUE(a->observed(0, 0));
  EXPECT_FALSE(a->observed(1, 0));
  EXPECT_FLOAT_EQ(a->value(1, 0), 3.0f);  // carried forward: the last sample, not the cell mean
  const auto* sys = Find(w, kSystemScope, kT0);
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(sys->log_count, 3u);
  EXPECT_EQ(sys->error_logs, 1u);
  ASSERT_EQ(sys->dims, 2);  // a/cpu, b/mem
  EXPECT_EQ(b.schema().SystemFeatures(), (std::vector<std::string>{"a/cpu", "b/mem"}));
  EXPECT_FLOAT_EQ(sys->value(1, 1), 10.0f);
  EXPECT_TRUE(sys->observed(1, 1));
  EXPECT_FALSE(sys->missing_logs);
  EXPECT_FALSE(sys->missing_metrics);
}

TEST(LogMetricWindows, CarryForwardUsesLastSampleValue) {
  auto o = Opts();
  o.resample = LogMetricOptions::Resample::kLast;
  LogMetricWindowBuilder b(o);
  b.OnMetric(M("a", "cpu", kT0 + 5 * kS, 1.0));
  b.OnMetric(M("a", "cpu", kT0 + 7 * kS, 3.0));
  b.OnMetric(M("a", "cpu", kT0 + 6 * kS, 2.0));  // out of order, within lateness 0? late
  auto w = b.Build();
  const auto* a = Find(w, "a", kT0);
  ASSERT_NE(a, nullptr);
  EXPECT_FLOAT_EQ(a->value(0, 0), 3.0f);  // last by time
  EXPECT_FLOAT_EQ(a->value(5, 0), 3.0f);  // carried forward
  EXPECT_EQ(a->late_records, 1u);         // 6 s arrived after 7 s
  EXPECT_EQ(b.stats().late, 1u);
}

TEST(LogMetricWindows, EmptyWindowsInAGapAreEmittedAndFlagged) {
  auto o = Opts();
  o.max_fill_age = 30 * kS;
  LogMetricWindowBuilder b(o);
  b.OnLog(L("a", kT0 + 1 * kS, "start"));
  b.OnMetric(M("a", "cpu", kT0 + 55 * kS, 1.0));
  b.OnMetric(M("a", "cpu", kT0 + 3 * 60 * kS + 30 * kS, 4.0));
  auto w = b.Build();
  // 4 window starts x 2 scopes.
  ASSERT_EQ(w.size(), 8u);
  const auto* w1 = Find(w, "a", kT0 + 60 * kS);
  ASSERT_NE(w1, nullptr);
  EXPECT_TRUE(w1->missing_logs);
  EXPECT_TRUE(w1->missing_metrics);
  EXPECT_EQ(w1->log_count, 0u);
  EXPECT_TRUE(w1->templates.empty());
  // Cells within max_fill_age of the 55 s sample are carried, the rest not.
  EXPECT_FLOAT_EQ(w1->value(0, 0), 1.0f);   // cell at 60 s: 5 s old
  EXPECT_FLOAT_EQ(w1->value(2, 0), 1.0f);   // 80 s: 25 s old
  EXPECT_TRUE(std::isnan(w1->value(3, 0)));  // 90 s: 35 s old, nothing later in the window
  for (int t = 0; t < 6; ++t) EXPECT_FALSE(w1->observed(t, 0));
  // Back-fill inside a window from the next observed cell.
  const auto* w3 = Find(w, "a", kT0 + 180 * kS);
  ASSERT_NE(w3, nullptr);
  EXPECT_FLOAT_EQ(w3->value(0, 0), 4.0f);
  EXPECT_FALSE(w3->observed(0, 0));
  EXPECT_TRUE(w3->observed(3, 0));
  EXPECT_FALSE(w3->missing_metrics);
  EXPECT_EQ(b.stats().windows, 8u);
  EXPECT_EQ(b.stats().windows_missing_logs, 6u);  // starts 1..3, scopes a and *
}

TEST(LogMetricWindows, WindowBoundariesAreHalfOpenAndStepsOverlap) {
  auto o = Opts(2);
  o.step = 30 * kS;
  o.per_service = false;
  LogMetricWindowBuilder b(o);
  b.OnLog(L("a", kT0, "x"));
  b.OnLog(L("a", kT0 + 30 * kS, "x"));
  b.OnLog(L("a", kT0 + 60 * kS, "x"));  // exactly at the end of the first window
  b.OnMetric(M("a", "cpu", kT0 + 29 * kS, 1.0));
  b.OnMetric(M("a", "cpu", kT0 + 30 * kS, 2.0));
  auto w = b.Build();
  ASSERT_EQ(w.size(), 3u);  // starts 0, 30, 60 s; system scope only
  EXPECT_EQ(w[0].start, kT0);
  EXPECT_EQ(w[0].end, kT0 + 60 * kS);
  EXPECT_EQ(w[0].log_count, 2u);
  EXPECT_EQ(w[1].log_count, 2u);
  EXPECT_EQ(w[2].log_count, 1u);
  EXPECT_FLOAT_EQ(w[0].value(0, 0), 1.0f);  // [0, 30)
  EXPECT_FLOAT_EQ(w[0].value(1, 0), 2.0f);  // [30, 60)
  EXPECT_FLOAT_EQ(w[1].value(0, 0), 2.0f);
}

TEST(LogMetricWindows, FixedRangeAndOutOfRangeRecords) {
  auto o = Opts();
  o.from = kT0 + 60 * kS;
  o.to = kT0 + 180 * kS;
  LogMetricWindowBuilder b(o);
  b.OnLog(L("a", kT0 + 10 * kS, "early"));
  b.OnLog(L("a", kT0 + 70 * kS, "in"));
  b.OnLog(L("a", kT0 + 500 * kS, "late one"));
  const std::vector<LogMetricWindow> all = b.Build();
  auto w = WindowsOfScope(all, "a");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0]->start, kT0 + 60 * kS);
  EXPECT_EQ(w[1]->start, kT0 + 120 * kS);
  EXPECT_EQ(b.stats().out_of_range, 2u);
}

TEST(LogMetricWindows, LogSequenceIsCappedAndCutIsCounted) {
  auto o = Opts();
  o.max_log_len = 3;
  LogMetricWindowBuilder b(o);
  for (int i = 0; i < 5; ++i) b.OnLog(L("a", kT0 + (5 - i) * kS, "event " + std::string(1, 'a' + i)));
  auto w = b.Build();
  const auto* a = Find(w, "a", kT0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->log_count, 5u);
  EXPECT_EQ(a->templates.size(), 3u);
  EXPECT_EQ(a->logs_truncated, 2u);
  EXPECT_EQ(b.stats().logs_truncated, 4u);  // service a and system
}

TEST(LogMetricWindows, LateSamplesAreFlaggedAndOptionallyDropped) {
  for (bool drop : {false, true}) {
    auto o = Opts();
    o.allowed_lateness = 20 * kS;
    o.drop_late = drop;
    LogMetricWindowBuilder b(o);
    b.OnMetric(M("a", "cpu", kT0 + 100 * kS, 1.0, "pod-1"));
    b.OnMetric(M("a", "cpu", kT0 + 85 * kS, 5.0, "pod-1"));   // 15 s behind: allowed
    b.OnMetric(M("a", "cpu", kT0 + 10 * kS, 9.0, "pod-1"));   // 90 s behind: late
    b.OnMetric(M("a", "cpu", kT0 + 20 * kS, 7.0, "pod-2"));   // another source: its own watermark
    auto w = b.Build();
    EXPECT_EQ(b.stats().late, 1u);
    EXPECT_EQ(b.stats().late_dropped, drop ? 1u : 0u);
    const auto* a0 = Find(w, "a", kT0);
    ASSERT_NE(a0, nullptr);
    EXPECT_EQ(a0->late_records, 1u);
    EXPECT_TRUE(a0->observed(2, 0));  // pod-2 at 20 s
    EXPECT_EQ(a0->observed(1, 0), !drop);  // the late sample at 10 s
    EXPECT_EQ(Find(w, kSystemScope, kT0)->late_records, 1u);
  }
}

TEST(LogMetricWindows, ClockSkewIsCountedPerSource) {
  auto o = Opts();
  o.max_skew = 2 * kS;
  LogMetricWindowBuilder b(o);
  LogRecord ok = L("a", kT0 + 1 * kS, "fine");
  ok.observed_time = kT0 + 2 * kS;
  LogRecord skewed = L("a", kT0 + 3 * kS, "ahead");
  skewed.instance = "a-pod-1";
  skewed.observed_time = kT0 + 3 * kS - 30 * kS;  // event clock 30 s ahead of the collector
  LogRecord skewed2 = skewed;
  skewed2.time += kS;
  skewed2.observed_time += kS;
  b.OnLog(std::move(ok));
  b.OnLog(std::move(skewed));
  b.OnLog(std::move(skewed2));
  b.AddMetric(M("b", "cpu", kT0 + 4 * kS, 1.0), kT0 + 4 * kS + 10 * kS);
  b.AddMetric(M("b", "cpu", kT0 + 5 * kS, 1.0), kT0 + 5 * kS);
  auto w = b.Build();
  EXPECT_EQ(b.stats().skewed, 3u);
  EXPECT_EQ(b.stats().skewed_sources, 2u);
  EXPECT_EQ(Find(w, "a", kT0)->skewed_records, 2u);
  EXPECT_EQ(Find(w, "b", kT0)->skewed_records, 1u);
  EXPECT_EQ(Find(w, kSystemScope, kT0)->skewed_records, 3u);
}

TEST(LogMetricWindows, NaNValuesUnknownMetricsAndMissingTimes) {
  LogMetricWindowBuilder b(Opts());
  b.OnMetric(M("a", "cpu", kT0 + 1 * kS, std::nan("")));
  b.OnMetric(M("a", "cpu", kT0 + 2 * kS, INFINITY));
  b.OnMetric(M("a", "cpu", kT0 + 3 * kS, 2.0));
  b.OnMetric(M("a", "gpu", kT0 + 3 * kS, 2.0));
  b.OnMetric(M("c", "cpu", kT0 + 3 * kS, 2.0));
  b.OnMetric(M("a", "cpu", 0, 2.0));
  b.OnLog(L("a", 0, "no time"));
  MetricSchema schema;
  schema.features["a"] = {"cpu", "disk"};
  b.SetSchema(schema);
  auto w = b.Build();
  EXPECT_EQ(b.stats().nan_values, 2u);
  EXPECT_EQ(b.stats().unknown_metric_samples, 2u);  // a/gpu, c/cpu
  EXPECT_EQ(b.read_stats().skipped, 2u);
  const auto* a = Find(w, "a", kT0);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->dims, 2);
  EXPECT_FLOAT_EQ(a->value(0, 0), 2.0f);
  EXPECT_TRUE(std::isnan(a->value(0, 1)));  // "disk": never seen
  EXPECT_FALSE(a->observed(0, 1));
  const auto* c = Find(w, "c", kT0);
  ASSERT_NE(c, nullptr);  // the scope exists, with no features
  EXPECT_EQ(c->dims, 0);
  EXPECT_FALSE(c->missing_metrics);
  // Pod names map to services when the service is empty.
  LogMetricWindowBuilder b2(Opts());
  b2.OnMetric(M("", "cpu", kT0, 1.0, "ts-order-service-5d8b6f7c9-x2kq4"));
  auto w2 = b2.Build();
  EXPECT_NE(Find(w2, "ts-order-service", kT0), nullptr);
}

TEST(LogMetricWindows, ZScoreFittedOnTrainOnlyWithZeroVarianceAndSaveLoad) {
  LogMetricWindowBuilder b(Opts(2));
  for (int m = 0; m < 4; ++m) {
    const TimeNs t = kT0 + m * 60 * kS;
    b.OnMetric(M("a", "const", t, 7.0));
    b.OnMetric(M("a", "var", t, m < 2 ? (m == 0 ? 1.0 : 3.0) : 100.0));
  }
  auto w = b.Build();
  std::vector<LogMetricWindow> train, test;
  for (auto& x : w) (x.start < kT0 + 120 * kS ? train : test).push_back(x);
  MetricNormalizer n = MetricNormalizer::Fit(train, b.schema());
  const auto* fa = n.Find("a");
  ASSERT_NE(fa, nullptr);
  ASSERT_EQ(fa->size(), 2u);
  EXPECT_EQ((*fa)[0].name, "const");
  EXPECT_DOUBLE_EQ((*fa)[0].sd, 1.0);  // zero variance
  EXPECT_DOUBLE_EQ((*fa)[0].mean, 7.0);
  EXPECT_DOUBLE_EQ((*fa)[1].mean, 2.0);  // train only: 1 and 3
  EXPECT_DOUBLE_EQ((*fa)[1].sd, 1.0);
  EXPECT_EQ((*fa)[1].count, 2u);
  ASSERT_NE(n.Find(kSystemScope), nullptr);

  const std::string path = (std::filesystem::temp_directory_path() /
                            ("triad_zscore_" + std::to_string(::getpid()) + ".json")).string();
  ASSERT_TRUE(n.Save(path).ok());
  MetricNormalizer loaded;
  ASSERT_TRUE(MetricNormalizer::Load(path, &loaded).ok());
  std::remove(path.c_str());
  EXPECT_EQ(loaded.schema().features, b.schema().features);
  ASSERT_TRUE(loaded.Apply(&test).ok());
  for (const auto& x : test) {
    if (x.scope != "a") continue;
    EXPECT_FLOAT_EQ(x.value(0, 0), 0.0f);     // constant stays 0
    EXPECT_FLOAT_EQ(x.value(0, 1), 98.0f);    // (100 - 2) / 1
    EXPECT_FLOAT_EQ(x.value(1, 1), 98.0f);    // filled cell, normalised too
  }
  // Mismatching dims are an error, not a silent mix-up.
  LogMetricWindow bad;
  bad.scope = "a";
  bad.dims = 3;
  bad.steps = 1;
  bad.values.assign(3, 0);
  bad.mask.assign(3, 0);
  std::vector<LogMetricWindow> v{bad};
  EXPECT_FALSE(n.Apply(&v).ok());
  v[0].scope = "zzz";
  EXPECT_FALSE(n.Apply(&v).ok());
  // A corrupt file is reported.
  MetricNormalizer none;
  EXPECT_FALSE(MetricNormalizer::Load(path, &none).ok());
}

TEST(LogMetricWindows, CounterRatesPerSeriesWithResets) {
  auto o = Opts();
  o.counter_rates = true;
  o.metric_steps = 1;
  o.system = false;
  LogMetricWindowBuilder b(o);
  auto C = [](const std::string& inst, TimeNs t, double v) {
    MetricSample s = M("a", "req_total", t, v, inst);
    s.kind = MetricKind::kCounter;
    return s;
  };
  // Two pods of one service, samples every 10 s; pod p2 restarts (reset) at t = 40 s.
  for (int i = 0; i < 6; ++i) {
    const TimeNs t = kT0 + i * 10 * kS;
    b.OnMetric(C("p1", t, 1000.0 + 20.0 * i));             // 2 / s
    b.OnMetric(C("p2", t, i < 4 ? 50.0 + 40.0 * i : 8.0 * (i - 3)));  // 4 / s, then reset
    b.OnMetric(M("a", "cpu", t, 0.5, "p1"));                // a gauge stays as it is
  }
  auto w = b.Build();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(b.stats().counter_unpaired, 2u);  // the first sample of each pod
  const auto& f = b.schema().features.at("a");
  const int req = static_cast<int>(std::find(f.begin(), f.end(), "req_total") - f.begin());
  const int cpu = static_cast<int>(std::find(f.begin(), f.end(), "cpu") - f.begin());
  // p1: five rates of 2; p2: rates 4, 4, 4, then 0.8 (reset: 8 over 10 s), 0.8.
  EXPECT_NEAR(w[0].value(0, req), (5 * 2.0 + 3 * 4.0 + 2 * 0.8) / 10.0, 1e-5);
  EXPECT_FLOAT_EQ(w[0].value(0, cpu), 0.5f);

  // Off (the default): raw totals.
  auto o2 = o;
  o2.counter_rates = false;
  LogMetricWindowBuilder raw(o2);
  raw.OnMetric(C("p1", kT0, 1000.0));
  raw.OnMetric(C("p1", kT0 + 10 * kS, 1020.0));
  auto w2 = raw.Build();
  ASSERT_EQ(w2.size(), 1u);
  EXPECT_FLOAT_EQ(w2[0].value(0, 0), 1010.0f);
  EXPECT_EQ(raw.stats().counter_unpaired, 0u);
}

TEST(LogMetricWindows, NormalizerJsonRoundTrip) {
  LogMetricWindowBuilder b(Opts());
  for (int m = 0; m < 3; ++m) {
    const TimeNs t = kT0 + m * 60 * kS;
    b.OnMetric(M("a", "x", t, 1.0 + 2.0 * m));
    b.OnMetric(M("b", "y", t, m == 1 ? 5.0 : 4.0));
  }
  auto w = b.Build();
  MetricNormalizer n = MetricNormalizer::Fit(w, b.schema());
  const std::string text = n.ToJson();
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one line
  MetricNormalizer back;
  ASSERT_TRUE(MetricNormalizer::FromJson(text, &back).ok());
  EXPECT_EQ(back.ToJson(), text);
  for (const char* scope : {"a", "b", kSystemScope}) {
    const auto *f0 = n.Find(scope), *f1 = back.Find(scope);
    ASSERT_NE(f0, nullptr);
    ASSERT_NE(f1, nullptr);
    ASSERT_EQ(f0->size(), f1->size());
    for (size_t i = 0; i < f0->size(); ++i) {
      EXPECT_EQ((*f0)[i].name, (*f1)[i].name);
      EXPECT_DOUBLE_EQ((*f0)[i].mean, (*f1)[i].mean);
      EXPECT_DOUBLE_EQ((*f0)[i].sd, (*f1)[i].sd);
      EXPECT_EQ((*f0)[i].count, (*f1)[i].count);
    }
  }
  EXPECT_DOUBLE_EQ((*back.Find("a"))[0].mean, 3.0);
  // Errors leave *out unchanged and say what is wrong.
  MetricNormalizer untouched = back;
  EXPECT_EQ(MetricNormalizer::FromJson("{", &untouched).code(), Status::Code::kCorruption);
  EXPECT_EQ(MetricNormalizer::FromJson(R"({"format":"other","version":1,"scopes":{}})", &untouched).code(),
            Status::Code::kCorruption);
  EXPECT_EQ(MetricNormalizer::FromJson(
                R"({"format":"triad-metric-zscore","version":99,"scopes":{}})", &untouched).code(),
            Status::Code::kUnsupported);
  Status bad = MetricNormalizer::FromJson(
      R"({"format":"triad-metric-zscore","version":1,"scopes":{"a":[{"name":"x","mean":1,"sd":0,"count":1}]}})",
      &untouched);
  EXPECT_EQ(bad.code(), Status::Code::kCorruption);
  EXPECT_NE(bad.message().find("a/x"), std::string::npos) << bad.ToString();
  EXPECT_EQ(untouched.ToJson(), text);
}

TEST(LogMetricWindows, FrozenParserGivesUnknownTemplateZero) {
  auto p = std::make_unique<DrainParser>();
  const uint32_t known = p->Add("connection from 10.0.0.1 closed").template_id;
  LogMetricWindowBuilder b(Opts());
  b.SetParser(std::move(p), /*learn=*/false);
  b.OnLog(L("a", kT0 + kS, "connection from 10.0.0.7 closed"));
  b.OnLog(L("a", kT0 + 2 * kS, "something never seen"));
  auto w = b.Build();
  const auto* a = Find(w, "a", kT0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->templates, (std::vector<uint32_t>{known, 0}));
  EXPECT_EQ(b.parser().num_templates(), 1u);
}

TEST(LogMetricWindows, LabelsFromFaultOverlap) {
  LogMetricWindowBuilder b(Opts());
  for (int m = 0; m < 4; ++m) {
    b.OnLog(L("a", kT0 + m * 60 * kS, "x"));
    b.OnLog(L("b", kT0 + m * 60 * kS, "x"));
  }
  auto w = b.Build();
  FaultEvent f;
  f.start = kT0 + 60 * kS;  // exactly window 1 and part of window 2
  f.end = kT0 + 121 * kS;
  f.service = "b";
  LabelWindows({f}, &w);
  for (const auto& x : w) {
    const int k = static_cast<int>((x.start - kT0) / (60 * kS));
    EXPECT_EQ(x.label, k == 1 || k == 2 ? 1 : 0) << x.scope << " " << k;
    if (x.label) {
      EXPECT_EQ(x.root_causes, std::vector<std::string>{"b"});
      EXPECT_EQ(x.scope_is_root_cause, x.scope == "b" || x.scope == kSystemScope);
    } else {
      EXPECT_FALSE(x.scope_is_root_cause);
    }
  }
}

TEST(LogMetricWindows, NoDataNoWindows) {
  LogMetricWindowBuilder b(Opts());
  EXPECT_TRUE(b.Build().empty());
  EXPECT_EQ(b.stats().windows, 0u);
}

}  // namespace
}  // namespace triad
