#include "serve/request_decoder.h"

#include <fmt/core.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "ingest/otlp_json.h"
#include "ingest/zipkin_json.h"

namespace triad {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A header value for a message: at most 100 bytes, printable ASCII.
std::string Quote(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100))
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

void Fail(DecodeResult* r, int http_status, std::string message) {
  r->http_status = http_status;
  r->rpc_code = kRpcInvalidArgument;
  r->message = std::move(message);
}

// Collects the records of one request. Records of another signal than the
// path's are counted, not kept; past `max_records` records nothing more is
// kept and overflow() is true.
class BatchSink : public TelemetrySink {
 public:
  BatchSink(IngestBatch* b, OtlpSignal want, size_t max_records)
      : b_(b), want_(want), max_(max_records) {}
  void OnSpan(Span&& s) override {
    if (Count(OtlpSignal::kTraces)) b_->spans.push_back(std::move(s));
  }
  void OnLog(LogRecord&& l) override {
    if (Count(OtlpSignal::kLogs)) b_->logs.push_back(std::move(l));
  }
  void OnMetric(MetricSample&& m) override {
    if (Count(OtlpSignal::kMetrics)) b_->metrics.push_back(std::move(m));
  }
  uint64_t wrong() const { return wrong_; }
  bool overflow() const { return seen_ > max_; }

 private:
  // Returns true iff a record of signal `s` is to be kept.
  bool Count(OtlpSignal s) {
    if (++seen_ > max_) return false;
    if (s != want_) {
      ++wrong_;
      return false;
    }
    return true;
  }
  IngestBatch* b_;
  OtlpSignal want_;
  size_t max_;
  uint64_t seen_ = 0, wrong_ = 0;
};

void Join(std::string* msg, const std::string& part) {
  if (part.empty()) return;
  if (!msg->empty()) *msg += "; ";
  *msg += part;
}

// Inflates with zlib `window_bits`. Returns Z_STREAM_END on success, Z_BUF_ERROR
// when more than max_bytes would be produced, another code for corrupt data;
// *produced tells whether any output came out.
int Inflate(std::string_view raw, int window_bits, size_t max_bytes, std::string* out,
            bool* produced) {
  out->clear();
  *produced = false;
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return Z_MEM_ERROR;
  const auto* in = reinterpret_cast<const Bytef*>(raw.data());
  size_t in_left = raw.size();
  constexpr size_t kChunk = 64u << 10;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (zs.avail_in == 0 && in_left > 0) {
      zs.next_in = const_cast<Bytef*>(in);
      zs.avail_in = static_cast<uInt>(std::min<size_t>(in_left, 1u << 30));
      in += zs.avail_in;
      in_left -= zs.avail_in;
    }
    // Room for one byte past the cap, to tell "exactly max_bytes" from "more".
    const size_t left = max_bytes - out->size();
    const size_t room = left >= kChunk ? kChunk : left + 1;
    const size_t old = out->size();
    out->resize(old + room);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + old);
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    out->resize(old + room - zs.avail_out);
    if (out->size() > 0) *produced = true;
    if (out->size() > max_bytes) {
      rc = Z_BUF_ERROR;
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
      rc = Z_DATA_ERROR;  // input ended before the stream did
      break;
    }
    if (rc == Z_BUF_ERROR) rc = Z_OK;  // no progress possible with this room: loop again
  }
  if (rc == Z_STREAM_END && (zs.avail_in > 0 || in_left > 0)) rc = Z_DATA_ERROR;  // trailing bytes
  inflateEnd(&zs);
  return rc;
}

}  // namespace

IngestEncoding IngestEncodingOf(std::string_view content_type) {
  const std::string ct = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  if (ct == "application/x-protobuf" || ct == "application/protobuf") return IngestEncoding::kProto;
  if (ct == "application/json") return IngestEncoding::kJson;
  return IngestEncoding::kOther;
}

bool SupportedContentEncoding(std::string_view content_encoding) {
  const std::string ce = Lower(Trim(content_encoding));
  return ce.empty() || ce == "identity" || ce == "gzip" || ce == "deflate";
}

bool InflateRequestBody(std::string_view content_encoding, std::string_view raw,
                        size_t max_bytes, std::string* out, DecodeResult* r) {
  out->clear();
  const std::string ce = Lower(Trim(content_encoding));
  if (!SupportedContentEncoding(ce)) {
    Fail(r, 415, fmt::format("unsupported Content-Encoding '{}' (use gzip)", Quote(ce)));
    return false;
  }
  if (ce.empty() || ce == "identity") {
    if (raw.size() > max_bytes) {
      Fail(r, 413, fmt::format("request body larger than {} bytes", max_bytes));
      return false;
    }
    out->assign(raw);
    return true;
  }
  bool produced = false;
  int rc = Inflate(raw, 15 + 32, max_bytes, out, &produced);  // gzip or zlib header
  if (ce == "deflate" && rc == Z_DATA_ERROR && !produced)
    rc = Inflate(raw, -15, max_bytes, out, &produced);  // raw deflate, as some clients send
  if (rc == Z_STREAM_END) return true;
  out->clear();
  if (rc == Z_BUF_ERROR) {
    Fail(r, 413, fmt::format("request body larger than {} bytes (after decompression)",
                             max_bytes));
  } else {
    Fail(r, 400, fmt::format("cannot decompress the request body: corrupt or truncated {} data",
                             ce));
  }
  return false;
}

std::string CompressRequestBody(std::string_view content_encoding, std::string_view data) {
  const std::string ce = Lower(Trim(content_encoding));
  if (ce != "gzip" && ce != "deflate") return std::string(data);
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, ce == "gzip" ? 15 + 16 : 15, 9,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return std::string();
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? zs.total_out : 0);
  deflateEnd(&zs);
  return out;
}

void DecodeIngestRequest(const IngestRequest& in, const IngestLimits& limits, IngestBatch* out,
                         DecodeResult* r) {
  *r = DecodeResult();
  *out = IngestBatch();
  out->signal = in.signal;
  const IngestEncoding enc = IngestEncodingOf(in.content_type);
  r->reply = enc == IngestEncoding::kProto ? IngestEncoding::kProto : IngestEncoding::kJson;
  if (!SupportedContentEncoding(in.content_encoding)) {
    Fail(r, 415, fmt::format("unsupported Content-Encoding '{}' (use gzip)",
                             Quote(in.content_encoding)));
    return;
  }
  if (enc == IngestEncoding::kOther || (in.zipkin && enc != IngestEncoding::kJson)) {
    r->reply = IngestEncoding::kJson;
    Fail(r, 415,
         fmt::format("unsupported Content-Type '{}': use {}", Quote(in.content_type),
                     in.zipkin ? "application/json"
                               : "application/x-protobuf or application/json"));
    return;
  }
  if (in.body.size() > limits.max_bytes) {
    Fail(r, 413, fmt::format("request body of {} bytes is larger than {} bytes (max_bytes)",
                             in.body.size(), limits.max_bytes));
    return;
  }
  BatchSink sink(out, in.signal, limits.max_records);
  ReadStats stats;
  Status st;
  if (in.zipkin) {
    st = ParseZipkinJson(in.body, sink, &stats, in.source, 0, limits);
  } else if (enc == IngestEncoding::kJson) {
    st = ParseOtlpJson(in.body, sink, &stats, in.source, 0, limits);
  } else {
    st = ParseOtlpProto(in.signal, in.body, sink, &stats, in.source, limits);
  }
  if (!st.ok() || sink.overflow()) {
    *out = IngestBatch();
    out->signal = in.signal;
    if (!st.ok()) {
      Fail(r, 400, st.message().substr(0, 500));
    } else {
      Fail(r, 413, fmt::format("request holds more than {} records (max_records)",
                               limits.max_records));
    }
    return;
  }
  r->records = out->records();
  r->rejected = stats.skipped + sink.wrong();
  r->truncated = stats.truncated;
  r->dropped_attributes = stats.dropped_attributes;
  r->message = OtlpPartialSuccessMessage(stats);
  if (sink.wrong() > 0)
    Join(&r->message, fmt::format("{} records of another signal than {} rejected", sink.wrong(),
                                  OtlpSignalName(in.signal)));
  Join(&r->message, IngestLimitsMessage(stats, limits));
}

}  // namespace triad
