#include "serve/batch_codec.h"

#include <cstdint>
#include <cstring>

namespace triad {
namespace {

constexpr uint8_t kVersion = 1;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutSigned(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void PutString(std::string* out, const std::string& s) {
  PutVarint(out, s.size());
  out->append(s);
}
void PutDouble(std::string* out, double d) {
  char b[8];
  std::memcpy(b, &d, 8);
  out->append(b, 8);
}
void PutAttrs(std::string* out, const Attributes& a) {
  PutVarint(out, a.size());
  for (const auto& [k, v] : a) {
    PutString(out, k);
    PutString(out, v);
  }
}

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= d_.size()) return false;
      const uint8_t c = static_cast<uint8_t>(d_[pos_++]);
      r |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool Signed(int64_t* v) {
    uint64_t u;
    if (!Varint(&u)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  template <typename T>
  bool Int(T* v) {
    int64_t x;
    if (!Signed(&x)) return false;
    *v = static_cast<T>(x);
    return true;
  }
  bool String(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > d_.size() - pos_) return false;
    s->assign(d_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Double(double* d) {
    if (d_.size() - pos_ < 8) return false;
    std::memcpy(d, d_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  // A count of items each at least `min_bytes` long: bounded by what is left.
  bool Count(uint64_t* n, size_t min_bytes) {
    return Varint(n) && *n <= (d_.size() - pos_) / min_bytes;
  }
  bool Attrs(Attributes* a) {
    uint64_t n;
    if (!Count(&n, 2)) return false;
    a->resize(n);
    for (auto& [k, v] : *a)
      if (!String(&k) || !String(&v)) return false;
    return true;
  }
  bool done() const { return pos_ == d_.size(); }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

}  // namespace

void EncodeBatch(const IngestBatch& b, TimeNs advance_to, std::string* out) {
  out->push_back(static_cast<char>(kVersion));
  PutVarint(out, static_cast<uint64_t>(b.signal));
  PutSigned(out, advance_to);
  PutVarint(out, b.spans.size());
  for (const Span& s : b.spans) {
    for (const std::string* f : {&s.trace_id, &s.span_id, &s.parent_span_id, &s.service,
                                 &s.instance, &s.name, &s.status_message, &s.http_method,
                                 &s.http_url, &s.host, &s.peer})
      PutString(out, *f);
    PutVarint(out, static_cast<uint64_t>(s.kind));
    PutVarint(out, static_cast<uint64_t>(s.status));
    PutSigned(out, s.start);
    PutSigned(out, s.end);
    PutSigned(out, s.http_status_code);
    PutAttrs(out, s.attributes);
  }
  PutVarint(out, b.logs.size());
  for (const LogRecord& l : b.logs) {
    for (const std::string* f : {&l.severity_text, &l.body, &l.service, &l.instance,
                                 &l.trace_id, &l.span_id})
      PutString(out, *f);
    PutSigned(out, l.time);
    PutSigned(out, l.observed_time);
    PutSigned(out, l.severity_number);
    PutAttrs(out, l.attributes);
  }
  PutVarint(out, b.metrics.size());
  for (const MetricSample& m : b.metrics) {
    PutString(out, m.name);
    PutString(out, m.service);
    PutString(out, m.instance);
    PutAttrs(out, m.labels);
    PutSigned(out, m.time);
    PutVarint(out, static_cast<uint64_t>(m.kind));
    PutDouble(out, m.value);
    PutVarint(out, m.count);
    PutVarint(out, m.bounds.size());
    for (double d : m.bounds) PutDouble(out, d);
    PutVarint(out, m.bucket_counts.size());
    for (uint64_t c : m.bucket_counts) PutVarint(out, c);
  }
}

bool DecodeBatch(std::string_view data, IngestBatch* b, TimeNs* advance_to) {
  if (data.empty() || static_cast<uint8_t>(data[0]) != kVersion) return false;
  uint64_t u, n;
  Reader in(data.substr(1));
  if (!in.Varint(&u) || u > static_cast<uint64_t>(OtlpSignal::kMetrics)) return false;
  b->signal = static_cast<OtlpSignal>(u);
  if (!in.Signed(advance_to)) return false;
  // Each span/log/metric takes at least 11/10/13 bytes (one per field).
  if (!in.Count(&n, 11)) return false;
  b->spans.assign(n, Span());
  for (Span& s : b->spans) {
    for (std::string* f : {&s.trace_id, &s.span_id, &s.parent_span_id, &s.service, &s.instance,
                           &s.name, &s.status_message, &s.http_method, &s.http_url, &s.host,
                           &s.peer})
      if (!in.String(f)) return false;
    if (!in.Varint(&u) || u > static_cast<uint64_t>(SpanKind::kConsumer)) return false;
    s.kind = static_cast<SpanKind>(u);
    if (!in.Varint(&u) || u > static_cast<uint64_t>(SpanStatus::kError)) return false;
    s.status = static_cast<SpanStatus>(u);
    if (!in.Signed(&s.start) || !in.Signed(&s.end) || !in.Int(&s.http_status_code) ||
        !in.Attrs(&s.attributes))
      return false;
  }
  if (!in.Count(&n, 10)) return false;
  b->logs.assign(n, LogRecord());
  for (LogRecord& l : b->logs) {
    for (std::string* f : {&l.severity_text, &l.body, &l.service, &l.instance, &l.trace_id,
                           &l.span_id})
      if (!in.String(f)) return false;
    if (!in.Signed(&l.time) || !in.Signed(&l.observed_time) || !in.Int(&l.severity_number) ||
        !in.Attrs(&l.attributes))
      return false;
  }
  if (!in.Count(&n, 13)) return false;
  b->metrics.assign(n, MetricSample());
  for (MetricSample& m : b->metrics) {
    if (!in.String(&m.name) || !in.String(&m.service) || !in.String(&m.instance) ||
        !in.Attrs(&m.labels) || !in.Signed(&m.time))
      return false;
    if (!in.Varint(&u) || u > static_cast<uint64_t>(MetricKind::kHistogram)) return false;
    m.kind = static_cast<MetricKind>(u);
    if (!in.Double(&m.value) || !in.Varint(&m.count) || !in.Count(&n, 8)) return false;
    m.bounds.resize(n);
    for (double& d : m.bounds)
      if (!in.Double(&d)) return false;
    if (!in.Count(&n, 1)) return false;
    m.bucket_counts.resize(n);
    for (uint64_t& c : m.bucket_counts)
      if (!in.Varint(&c)) return false;
  }
  return in.done();
}

}  // namespace triad
