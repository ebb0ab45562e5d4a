// Log parsing throughput: masking, tokenising, DrainParser::Add (serial, with
// and without masking) and ParallelDrain (1, 2 and all hardware threads) on
//  (a) "hdfs": HDFS-like messages from sim/log_corpus.h (2M by default;
//      TRIAD_BENCH_HDFS_LINES=n to change), and
//  (b) "loghub": the Content column of the 8-system loghub 2k sample,
//      concatenated and repeated to ~1M messages (skipped with a message when
//      the shared data is absent; TRIAD_SHARED_DATA_DIR=dir overrides where it
//      is looked for).
// Every iteration parses the whole corpus with a fresh parser. Counters:
// items/s = messages/s, bytes/s = message bytes/s (per CPU second of the
// benchmark thread, except ParallelDrain: per wall-clock second), templates
// found, relookups and lines_per_cpu_s (ParallelDrain: all threads' CPU), maxrss_MB (process peak RSS so far, corpora included) and
// parser_MB (RSS growth while the parser was built, a rough parser size).
//
// Run: build/parse_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ingest/csv.h"
#include "ingest/line_reader.h"
#include "parse/drain.h"
#include "parse/masking.h"
#include "parse/parallel_drain.h"
#include "sim/log_corpus.h"

namespace triad {
namespace {

constexpr size_t kBatch = 65536;  // messages per ParallelDrain::AddBatch call

double MaxRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

// CPU seconds of the whole process (all threads).
double ProcessCpuSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double CurrentRssMb() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

std::string DataDir() {
  if (const char* e = std::getenv("TRIAD_SHARED_DATA_DIR")) return e;
#ifdef TRIAD_SHARED_DATA_DIR
  return TRIAD_SHARED_DATA_DIR;
#else
  return "../shared/data";
#endif
}

constexpr const char* kSystems[] = {"HDFS", "Hadoop", "Spark", "Zookeeper",
                                    "BGL",  "HPC",    "Linux", "Apache"};

std::string LoghubPath(const char* system) {
  return DataDir() + "/logs/loghub_2k_original/" + system + "/" + system +
         "_2k.log_structured.csv";
}

bool LoghubPresent() {
  for (const char* s : kSystems)
    if (!std::filesystem::exists(LoghubPath(s))) return false;
  return true;
}

struct Corpus {
  LogCorpus text;
  std::vector<std::string_view> views;
  std::vector<std::vector<std::string_view>> batches;  // views in kBatch chunks
  std::string error;

  void Finish() {
    views = text.Views();
    for (size_t i = 0; i < views.size(); i += kBatch)
      batches.emplace_back(views.begin() + i, views.begin() + std::min(views.size(), i + kBatch));
  }
};

const Corpus& Hdfs() {
  static const Corpus* c = [] {
    auto* c = new Corpus;
    size_t n = 2000000;
    if (const char* e = std::getenv("TRIAD_BENCH_HDFS_LINES")) n = std::strtoull(e, nullptr, 10);
    GenerateHdfsLike(n, {.seed = 1}, &c->text);
    c->Finish();
    return c;
  }();
  return *c;
}

const Corpus& Loghub() {
  static const Corpus* c = [] {
    auto* c = new Corpus;
    std::vector<std::string> once;
    for (const char* s : kSystems) {
      std::unique_ptr<LineReader> lr;
      Status st = LineReader::Open(LoghubPath(s), &lr);
      if (!st.ok()) {
        c->error = st.ToString();
        return c;
      }
      CsvReader csv(lr.get());
      std::vector<std::string_view> f;
      std::string err;
      if (csv.Next(&f, &err) != CsvReader::Result::kRecord) continue;
      auto it = std::find(f.begin(), f.end(), "Content");
      if (it == f.end()) continue;
      const size_t ci = static_cast<size_t>(it - f.begin()), ncols = f.size();
      for (;;) {
        CsvReader::Result r = csv.Next(&f, &err);
        if (r == CsvReader::Result::kEnd) break;
        if (r == CsvReader::Result::kRecord && f.size() == ncols) once.emplace_back(f[ci]);
      }
    }
    if (once.empty()) {
      c->error = "no Content rows in " + DataDir();
      return c;
    }
    const size_t reps = (1000000 + once.size() - 1) / once.size();
    size_t bytes = 0;
    for (const auto& s : once) bytes += s.size();
    c->text.Reserve(reps * once.size(), reps * bytes);
    for (size_t r = 0; r < reps; ++r)
      for (const auto& s : once) c->text.Append(s);
    c->Finish();
    return c;
  }();
  return *c;
}

using CorpusFn = const Corpus& (*)();

// Returns false (and skips) if the corpus could not be built.
bool Ready(benchmark::State& state, const Corpus& c) {
  if (!c.error.empty() || c.views.empty()) {
    state.SkipWithError(c.error.empty() ? "empty corpus" : c.error.c_str());
    return false;
  }
  return true;
}

void SetRates(benchmark::State& state, const Corpus& c) {
  state.SetItemsProcessed(static_cast<int64_t>(c.views.size()) * state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(c.text.bytes()) * state.iterations());
  state.counters["maxrss_MB"] = MaxRssMb();
}

void BM_Mask(benchmark::State& state, CorpusFn corpus) {
  const Corpus& c = corpus();
  if (!Ready(state, c)) return;
  MaskOptions opts;
  std::string out;
  size_t sink = 0;
  for (auto _ : state) {
    for (std::string_view l : c.views) {
      MaskMessage(l, opts, &out);
      sink += out.size();
    }
  }
  benchmark::DoNotOptimize(sink);
  SetRates(state, c);
}

void BM_Split(benchmark::State& state, CorpusFn corpus) {
  const Corpus& c = corpus();
  if (!Ready(state, c)) return;
  std::vector<std::string_view> tok;
  size_t sink = 0;
  for (auto _ : state) {
    for (std::string_view l : c.views) {
      SplitWhitespace(l, &tok);
      sink += tok.size();
    }
  }
  benchmark::DoNotOptimize(sink);
  SetRates(state, c);
}

// What the parser does before the tree: split, mask, split the masked text.
void BM_Prepare(benchmark::State& state, CorpusFn corpus) {
  const Corpus& c = corpus();
  if (!Ready(state, c)) return;
  DrainParser p;
  DrainScratch s;
  size_t sink = 0;
  for (auto _ : state) {
    for (std::string_view l : c.views) {
      p.Prepare(l, &s);
      sink += s.tok.size();
    }
  }
  benchmark::DoNotOptimize(sink);
  SetRates(state, c);
}

// The serial loop: for (line) parser.Add(line). state.range(0): masking on/off.
void BM_DrainAdd(benchmark::State& state, CorpusFn corpus) {
  const Corpus& c = corpus();
  if (!Ready(state, c)) return;
  DrainConfig cfg;
  cfg.mask = state.range(0) != 0;
  size_t templates = 0;
  double parser_mb = 0;
  for (auto _ : state) {
    const double before = CurrentRssMb();
    DrainParser p(cfg);
    for (std::string_view l : c.views) benchmark::DoNotOptimize(p.Add(l));
    templates = p.num_templates();
    parser_mb = CurrentRssMb() - before;
  }
  SetRates(state, c);
  state.counters["templates"] = static_cast<double>(templates);
  state.counters["parser_MB"] = parser_mb;
}

// ParallelDrain in batches of kBatch. state.range(0): threads.
void BM_ParallelDrain(benchmark::State& state, CorpusFn corpus) {
  const Corpus& c = corpus();
  if (!Ready(state, c)) return;
  const int threads = static_cast<int>(state.range(0));
  size_t templates = 0, relookups = 0;
  std::vector<DrainMatch> out;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    DrainParser p;
    ParallelDrain pd(&p, threads);
    for (const auto& b : c.batches) pd.AddBatch(b, &out);
    templates = p.num_templates();
    relookups = pd.relookups();
  }
  SetRates(state, c);
  state.counters["templates"] = static_cast<double>(templates);
  state.counters["relookups"] = static_cast<double>(relookups);
  // Messages per CPU second summed over all threads: parallel efficiency,
  // and a rate that a loaded machine distorts less than the wall-clock one.
  state.counters["lines_per_cpu_s"] =
      static_cast<double>(c.views.size()) * static_cast<double>(state.iterations()) /
      (ProcessCpuSeconds() - cpu0);
}

void Register(const char* corpus_name, CorpusFn corpus) {
  const std::string n = corpus_name;
  // One pass over a corpus takes ~0.1-3 s: a few passes at most. The serial
  // benchmarks' rates are per CPU second of the benchmark thread (robust on a
  // shared machine); ParallelDrain's are per wall-clock second.
  auto tune = [](benchmark::internal::Benchmark* b) {
    b->MinTime(0.5)->Unit(benchmark::kMillisecond);
  };
  tune(benchmark::RegisterBenchmark(("Mask/" + n).c_str(), BM_Mask, corpus));
  tune(benchmark::RegisterBenchmark(("Split/" + n).c_str(), BM_Split, corpus));
  tune(benchmark::RegisterBenchmark(("Prepare/" + n).c_str(), BM_Prepare, corpus));
  tune(benchmark::RegisterBenchmark(("DrainAdd/" + n).c_str(), BM_DrainAdd, corpus)
           ->ArgName("mask")
           ->Arg(1)
           ->Arg(0));
  auto* pd = benchmark::RegisterBenchmark(("ParallelDrain/" + n).c_str(), BM_ParallelDrain, corpus)
                 ->ArgName("threads");
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> ts = {1, 2, hw};  // Arg() does not dedupe (hw may be 1 or 2)
  std::sort(ts.begin(), ts.end());
  ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
  for (int t : ts) pd->Arg(t);
  tune(pd);
  pd->UseRealTime();
}

}  // namespace
}  // namespace triad

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  triad::Register("hdfs", triad::Hdfs);
  if (triad::LoghubPresent()) {
    triad::Register("loghub", triad::Loghub);
  } else {
    std::fprintf(stderr, "parse_bench: loghub 2k data absent under %s: skipping the loghub corpus\n",
                 triad::DataDir().c_str());
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
