// libFuzzer target: the CSV splitter and the streaming CSV reader.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // skip warnings are noise here
    return true;
  }();
  (void)quiet;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string storage;
  std::vector<std::string_view> fields;
  if (triad::SplitCsvRecord(text, ',', &storage, &fields) == triad::CsvSplit::kOk) {
    size_t total = 0;
    for (auto f : fields) total += f.size();
    if (total > text.size()) __builtin_trap();  // unescaping never grows
  }
  auto r = triad::LineReader::FromString(text, /*max_line=*/4096);
  triad::CsvReader csv(r.get(), ',', /*max_record_lines=*/16, /*max_record_bytes=*/8192);
  std::string error;
  uint64_t last_line = 0;
  for (;;) {
    auto res = csv.Next(&fields, &error);
    if (res == triad::CsvReader::Result::kEnd) break;
    if (res == triad::CsvReader::Result::kRecord)
      for (auto f : fields) (void)f.size();
    (void)last_line;
    last_line = csv.line_number();
  }
  return 0;
}
