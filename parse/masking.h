// Generic log-message masking: replaces variable-looking substrings (numbers,
// words that start with a digit such as 16K or 65020ms, hex, IPv4 addresses
// with an optional leading '/' and ":port", UUIDs, URLs up to a closing
// bracket/quote, HDFS block ids, '_'-joined ids with a numeric part such as
// job_1445144423722_0020, dates and times, and absolute paths) with "<*>",
// before template mining. Hand-written scanner (no std::regex, no
// allocation beyond the output string, no per-dataset patterns).
//
// Contract: masking never consumes or produces whitespace, so the masked text
// splits into exactly as many whitespace-separated tokens as the input, and
// token i of the output comes from token i of the input.
#ifndef TRIAD_PARSE_MASKING_H_
#define TRIAD_PARSE_MASKING_H_

#include <string>
#include <string_view>
#include <vector>

namespace triad {

struct MaskOptions {
  bool numbers = true;     // 42, -7, 3.14, 1e5, 16K, 65020ms (whole, at word boundaries)
  bool hex = true;         // 0x1f, and runs of >= 8 hex digits with a digit in them
  bool ipv4 = true;        // 10.0.0.1, 10.0.0.1:8080 and /10.0.0.1:8080 (one value)
  bool uuid = true;        // 8-4-4-4-12 hex
  bool urls = true;        // scheme://... up to whitespace or a closing bracket/quote
  bool block_ids = true;   // HDFS blk_-?\d+, and word_123_45-style generated ids
  bool timestamps = true;  // 2015-10-18, 2015/10/18, 18:01:47(.123|,123)
  bool paths = true;       // /a/b/c at the start of a token or after ( [ = : ' " ,
};

// The wildcard that masks and templates use.
inline constexpr std::string_view kWildcard = "<*>";

// Writes `in` with every masked substring replaced by kWildcard to *out
// (cleared first; its capacity is reused).
void MaskMessage(std::string_view in, const MaskOptions& opts, std::string* out);

// Splits `s` on runs of ASCII whitespace into *tokens (cleared first; views
// into `s`). An all-whitespace `s` gives no tokens.
void SplitWhitespace(std::string_view s, std::vector<std::string_view>* tokens);

}  // namespace triad

#endif  // TRIAD_PARSE_MASKING_H_
