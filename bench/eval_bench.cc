// Benchmarks of eval/: ranking metrics on large score vectors and rendering a
// long time series into the HTML report.
#include <benchmark/benchmark.h>

#include <random>
#include <utility>
#include <vector>

#include "eval/metrics.h"
#include "eval/report.h"
#include "eval/svg_plot.h"

namespace triad {
namespace {

void MakeScores(size_t n, std::vector<double>* s, std::vector<int>* l) {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 1);
  std::bernoulli_distribution pos(0.05);
  s->resize(n);
  l->resize(n);
  for (size_t i = 0; i < n; ++i) {
    (*l)[i] = pos(rng);
    (*s)[i] = noise(rng) + 1.5 * (*l)[i];
  }
}

void BM_RocAuc(benchmark::State& state) {
  std::vector<double> s;
  std::vector<int> l;
  MakeScores(state.range(0), &s, &l);
  for (auto _ : state) benchmark::DoNotOptimize(RocAuc(s, l));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RocAuc)->Arg(1 << 16)->Arg(1 << 20);

void BM_BestF1(benchmark::State& state) {
  std::vector<double> s;
  std::vector<int> l;
  MakeScores(state.range(0), &s, &l);
  for (auto _ : state) benchmark::DoNotOptimize(BestF1OverThresholds(s, l));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BestF1)->Arg(1 << 20);

void BM_DownsampleMinMax(benchmark::State& state) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<svg::Pt> run(state.range(0));
  for (size_t i = 0; i < run.size(); ++i) run[i] = {static_cast<double>(i), u(rng)};
  for (auto _ : state) {
    benchmark::DoNotOptimize(svg::DownsampleMinMax(run, 0, static_cast<double>(run.size()), 920));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DownsampleMinMax)->Arg(1 << 20);

void BM_TimelineRender(benchmark::State& state) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  Series s{"score", {}, {}};
  for (int64_t i = 0; i < state.range(0); ++i) {
    s.t.push_back(i * kNsPerSec);
    s.v.push_back(u(rng));
  }
  const std::vector<Series> series = {std::move(s)};
  for (auto _ : state) {
    HtmlReport r("bench");
    r.AddTimeline("score", series, 0.9, {}, {});
    benchmark::DoNotOptimize(r.Render());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TimelineRender)->Arg(1 << 20);

}  // namespace
}  // namespace triad

BENCHMARK_MAIN();
