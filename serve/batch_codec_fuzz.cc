// libFuzzer target: the journal's batch decoder (serve/batch_codec.h) on
// arbitrary bytes; what decodes must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "serve/batch_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  triad::IngestBatch b;
  triad::TimeNs advance_to = 0;
  if (triad::DecodeBatch(in, &b, &advance_to)) {
    std::string again;
    triad::EncodeBatch(b, advance_to, &again);
    // Varints have one canonical form in the encoder but not in the decoder,
    // so compare the decoded records through a second round trip.
    triad::IngestBatch c;
    triad::TimeNs adv2 = 0;
    if (!triad::DecodeBatch(again, &c, &adv2) || adv2 != advance_to ||
        c.records() != b.records() || c.signal != b.signal)
      __builtin_trap();
    std::string third;
    triad::EncodeBatch(c, adv2, &third);
    if (third != again) __builtin_trap();
  }
  return 0;
}
