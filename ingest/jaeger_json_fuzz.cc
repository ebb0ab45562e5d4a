// libFuzzer target: ParseJaegerJson must never crash, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/jaeger_json.h"

namespace {
class DiscardSink : public triad::TelemetrySink {};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DiscardSink sink;
  triad::ReadStats stats;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)triad::ParseJaegerJson(text, sink, &stats, "<fuzz>", 1);
  return 0;
}
