// libFuzzer target: one `triad serve` ingest request through
// InflateRequestBody + DecodeIngestRequest (serve/request_decoder.h).
// Byte 0 chooses the request: bits 0-1 the path (traces, logs, metrics,
// Zipkin spans), bits 2-3 the Content-Type (protobuf, JSON, text/plain, JSON
// with parameters), bits 4-5 the Content-Encoding (identity, gzip, deflate,
// br); byte 1 the limits (bit 0: 16-byte strings, bit 1: 2 attributes, bit 2:
// 5 records). The rest is the body as sent (inflated, capped, when encoded).
// Checked: no crash; the status is 200/400/413/415 with a message unless 200;
// records are kept only on 200, only of the path's signal, at most
// max_records of them, with every string within max_string_bytes and at most
// max_attributes attributes; the inflated body is within its cap.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "serve/request_decoder.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    __builtin_trap();
  }
}

struct Limits {
  const triad::IngestLimits& lim;
  bool Str(const std::string& s) const { return s.size() <= lim.max_string_bytes; }
  bool Attrs(const triad::Attributes& a) const {
    if (a.size() > lim.max_attributes) return false;
    for (const auto& [k, v] : a)
      if (!Str(k) || !Str(v)) return false;
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  using triad::OtlpSignal;
  static const char* const kTypes[] = {"application/x-protobuf", "application/json", "text/plain",
                                       "Application/JSON; charset=utf-8"};
  static const char* const kEncodings[] = {"identity", "gzip", "deflate", "br"};
  const int path = data[0] & 3;
  const bool zipkin = path == 3;
  const OtlpSignal sig = zipkin ? OtlpSignal::kTraces : static_cast<OtlpSignal>(path);
  const char* ct = kTypes[(data[0] >> 2) & 3];
  const char* ce = kEncodings[(data[0] >> 4) & 3];
  triad::IngestLimits lim;
  lim.max_bytes = 1u << 20;
  if (data[1] & 1) lim.max_string_bytes = 16;
  if (data[1] & 2) lim.max_attributes = 2;
  if (data[1] & 4) lim.max_records = 5;
  const std::string_view raw(reinterpret_cast<const char*>(data) + 2, size - 2);

  triad::DecodeResult r;
  std::string body;
  if (!triad::InflateRequestBody(ce, raw, lim.max_bytes, &body, &r)) {
    Check(r.http_status == 400 || r.http_status == 413 || r.http_status == 415, "inflate status");
    Check(!r.message.empty(), "inflate message");
    Check(body.empty(), "no body after a failed inflate");
    Check((r.http_status == 415) == ((data[0] >> 4 & 3) == 3), "415 iff br");
    return 0;
  }
  Check(body.size() <= lim.max_bytes, "inflated body within its cap");

  triad::IngestBatch batch;
  triad::DecodeIngestRequest(triad::IngestRequest{sig, zipkin, ct, ce, body, "/fuzz"}, lim,
                             &batch, &r);
  const int st = r.http_status;
  Check(st == 200 || st == 400 || st == 413 || st == 415, "status");
  Check(r.records == batch.records(), "records == batch");
  if (st != 200) {
    Check(batch.records() == 0, "nothing kept from a refused request");
    Check(!r.message.empty() && r.rpc_code != 0, "error message");
    return 0;
  }
  Check(batch.records() <= lim.max_records, "max_records");
  Check(batch.signal == sig, "batch signal");
  Check(sig == OtlpSignal::kTraces || batch.spans.empty(), "spans only on traces");
  Check(sig == OtlpSignal::kLogs || batch.logs.empty(), "logs only on logs");
  Check(sig == OtlpSignal::kMetrics || batch.metrics.empty(), "metrics only on metrics");
  Check((r.rejected > 0 || r.truncated > 0 || r.dropped_attributes > 0) == !r.message.empty(),
        "partial-success message iff something was rejected/truncated/dropped");
  const Limits L{lim};
  for (const triad::Span& s : batch.spans)
    Check(L.Str(s.trace_id) && L.Str(s.span_id) && L.Str(s.parent_span_id) && L.Str(s.service) &&
              L.Str(s.instance) && L.Str(s.name) && L.Str(s.status_message) &&
              L.Str(s.http_method) && L.Str(s.http_url) && L.Str(s.host) && L.Str(s.peer) &&
              L.Attrs(s.attributes),
          "span within limits");
  for (const triad::LogRecord& l : batch.logs)
    Check(L.Str(l.body) && L.Str(l.severity_text) && L.Str(l.service) && L.Str(l.instance) &&
              L.Str(l.trace_id) && L.Str(l.span_id) && L.Attrs(l.attributes),
          "log within limits");
  for (const triad::MetricSample& m : batch.metrics)
    Check(L.Str(m.name) && L.Str(m.service) && L.Str(m.instance) && L.Attrs(m.labels),
          "metric within limits");
  return 0;
}
