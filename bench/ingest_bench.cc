// Ingestion throughput: OTLP/JSON decode of spans, logs and metrics, and raw
// line reading. Run: build/ingest_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ingest/line_reader.h"
#include "ingest/otlp_json.h"
#include "triad/telemetry.h"

namespace triad {
namespace {

std::string Hex(uint64_t v, int width) {
  static const char* d = "0123456789abcdef";
  std::string s(width, '0');
  for (int i = width - 1; i >= 0 && v; --i, v >>= 4) s[i] = d[v & 15];
  return s;
}

// A request of `n` spans from 4 services, the shape the simulator emits.
std::string MakeTraceRequest(int n) {
  std::vector<Span> spans;
  for (int i = 0; i < n; ++i) {
    Span s;
    s.trace_id = Hex(1000 + i / 8, 32);
    s.span_id = Hex(5000 + i, 16);
    if (i % 8) s.parent_span_id = Hex(5000 + i - 1, 16);
    s.service = "svc-" + std::to_string(i % 4);
    s.instance = s.service + "-5d8f7b-x2k4p";
    s.name = "GET /api/cart/{id}";
    s.kind = i % 2 ? SpanKind::kClient : SpanKind::kServer;
    s.start = 1700000000LL * kNsPerSec + i * kNsPerMs;
    s.end = s.start + 3 * kNsPerMs;
    s.http_method = "GET";
    s.http_url = "http://cart:8080/api/cart/" + Hex(i, 8);
    s.http_status_code = 200;
    s.attributes = {{"http.route", "/api/cart/{id}"}, {"net.host.port", "8080"}};
    spans.push_back(std::move(s));
  }
  return WriteOtlpTraces(spans);
}

std::string MakeLogRequest(int n) {
  std::vector<LogRecord> logs;
  for (int i = 0; i < n; ++i) {
    LogRecord l;
    l.time = 1700000000LL * kNsPerSec + i * kNsPerMs;
    l.severity_number = 9;
    l.severity_text = "INFO";
    l.body = "Added item " + std::to_string(i) + " to cart of user u" + std::to_string(i % 97) +
             " in " + std::to_string(i % 13) + " ms";
    l.service = "cart";
    l.trace_id = Hex(1000 + i, 32);
    l.span_id = Hex(5000 + i, 16);
    logs.push_back(std::move(l));
  }
  return WriteOtlpLogs(logs);
}

class CountingSink : public TelemetrySink {
 public:
  void OnSpan(Span&&) override { ++n; }
  void OnLog(LogRecord&&) override { ++n; }
  void OnMetric(MetricSample&&) override { ++n; }
  int64_t n = 0;
};

void BM_OtlpJsonSpans(benchmark::State& state) {
  std::string doc = MakeTraceRequest(static_cast<int>(state.range(0)));
  CountingSink sink;
  for (auto _ : state) {
    Status s = ParseOtlpJson(doc, sink, nullptr);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(sink.n);
  state.SetBytesProcessed(static_cast<int64_t>(doc.size()) * state.iterations());
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(sink.n),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OtlpJsonSpans)->Arg(100)->Arg(1000);

void BM_OtlpJsonLogs(benchmark::State& state) {
  std::string doc = MakeLogRequest(static_cast<int>(state.range(0)));
  CountingSink sink;
  for (auto _ : state) (void)ParseOtlpJson(doc, sink, nullptr);
  state.SetItemsProcessed(sink.n);
  state.counters["logs/s"] = benchmark::Counter(static_cast<double>(sink.n),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OtlpJsonLogs)->Arg(1000);

void BM_LineReader(benchmark::State& state) {
  std::string data;
  for (int i = 0; i < 100000; ++i)
    data += "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_" +
            std::to_string(i) + " terminating\n";
  int64_t lines = 0;
  for (auto _ : state) {
    auto r = LineReader::FromString(data);
    std::string_view line;
    while (r->Next(&line)) ++lines;
  }
  state.SetItemsProcessed(lines);
  state.SetBytesProcessed(static_cast<int64_t>(data.size()) * state.iterations());
}
BENCHMARK(BM_LineReader);

}  // namespace
}  // namespace triad

BENCHMARK_MAIN();
