// A simple log "template" key: the message with its variable parts masked.
// Stand-in for the Drain parser (parse/, a later issue): any token that holds
// a digit (numbers, ids, IPs, durations, timestamps, uuids), and long runs of
// hex digits, become "<*>".
#ifndef TRIAD_ALIGN_LOG_KEY_H_
#define TRIAD_ALIGN_LOG_KEY_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace triad {

// Returns `text` with every token that contains a decimal digit, or that is a
// run of >= 16 hex digits, replaced by "<*>". Tokens are maximal runs of
// letters, digits and "_.:-" (so "10.0.0.1:8080", "3f2a-...-uuid", "12ms",
// "2024-01-01T10:00:00" are each one token); other characters are kept as
// they are, whitespace runs collapse to one space. The result is cut to at
// most `max_len` bytes.
std::string MaskLogKey(std::string_view text, size_t max_len = 160);

}  // namespace triad

#endif  // TRIAD_ALIGN_LOG_KEY_H_
