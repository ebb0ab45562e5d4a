// Decoding of one ingest request of `triad serve` (serve/ingest_server.h),
// without HTTP: Content-Type and Content-Encoding checks, the OTLP/protobuf,
// OTLP/JSON and Zipkin JSON decoders under IngestLimits, and the answer
// (HTTP status, google.rpc code, message, partial success) that the server
// sends. Pure functions: the server, the tests and the fuzz target
// (serve/request_decoder_fuzz.cc) all go through them.
#ifndef TRIAD_SERVE_REQUEST_DECODER_H_
#define TRIAD_SERVE_REQUEST_DECODER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/ingest_limits.h"
#include "ingest/otlp_proto.h"
#include "serve/ingest_batch.h"

namespace triad {

// gRPC codes used by the OTLP/HTTP error bodies (google.rpc.Status).
constexpr int kRpcInvalidArgument = 3, kRpcResourceExhausted = 8, kRpcUnavailable = 14,
              kRpcUnauthenticated = 16;

enum class IngestEncoding { kProto, kJson, kOther };

// application/x-protobuf (or application/protobuf) -> kProto,
// application/json -> kJson, anything else -> kOther. Parameters (";
// charset=...") and case are ignored.
IngestEncoding IngestEncodingOf(std::string_view content_type);

// Returns true iff `content_encoding` (case ignored) is empty, "identity",
// "gzip" or "deflate".
bool SupportedContentEncoding(std::string_view content_encoding);

struct IngestRequest {
  OtlpSignal signal = OtlpSignal::kTraces;  // the path's signal (/v1/<signal>)
  bool zipkin = false;                      // POST /api/v2/spans (then signal is traces)
  std::string_view content_type;            // the header as sent
  std::string_view content_encoding;        // the header as sent; `body` is already inflated
  std::string_view body;                    // after decompression
  std::string_view source = "<request>";    // names the request in messages (the path)
};

struct DecodeResult {
  // 200: decoded (the server answers 202 for Zipkin); 400 undecodable or
  // nested too deep; 413 body or record count over a limit; 415 unsupported
  // Content-Type / Content-Encoding.
  int http_status = 200;
  int rpc_code = 0;  // google.rpc code of the error body (0 when 200)
  // The error (status != 200), or the partial-success error_message ("" =
  // full success): the first rejected record's reason, records of another
  // signal, values truncated and attributes dropped by the limits.
  std::string message;
  // Encoding of the answer body: kProto iff the request was protobuf.
  IngestEncoding reply = IngestEncoding::kJson;
  uint64_t records = 0;             // records kept in the batch
  uint64_t rejected = 0;            // records skipped: malformed or of another signal
  uint64_t truncated = 0;           // strings cut to max_string_bytes
  uint64_t dropped_attributes = 0;  // attributes beyond max_attributes
};

// Decodes `in` into *out (cleared first; left empty unless r->http_status is
// 200) within `limits`; sets every field of *r.
// Invariants: r->records == out->records() <= limits.max_records; every kept
// string is at most limits.max_string_bytes long and every record holds at
// most limits.max_attributes attributes.
void DecodeIngestRequest(const IngestRequest& in, const IngestLimits& limits, IngestBatch* out,
                         DecodeResult* r);

// Inflates a request body as the server's HTTP layer does: "" and "identity"
// copy `raw`; "gzip" and "deflate" inflate it (zlib; gzip or zlib header
// detected, raw deflate accepted for "deflate"). At most max_bytes bytes are
// produced. Returns true on success; otherwise false with r->http_status 413
// (more than max_bytes after decompression: a "gzip bomb"), 400 (corrupt or
// truncated data) or 415 (unsupported encoding), and r->message set.
bool InflateRequestBody(std::string_view content_encoding, std::string_view raw,
                        size_t max_bytes, std::string* out, DecodeResult* r);

// The inverse, for clients and tests: "gzip" -> a gzip stream, "deflate" ->
// a zlib stream, anything else -> `data` unchanged.
std::string CompressRequestBody(std::string_view content_encoding, std::string_view data);

}  // namespace triad

#endif  // TRIAD_SERVE_REQUEST_DECODER_H_
