// Log sessions: sequences of template ids (log keys) grouped by an identifier
// found in the line (HDFS block id, trace id, request id), by fixed or
// sliding time windows, or by service. Input to the sequence detectors
// (detect/sequence_detector.h).
#ifndef TRIAD_ALIGN_SESSIONS_H_
#define TRIAD_ALIGN_SESSIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "triad/status.h"

#include "triad/telemetry.h"

namespace triad {

// One session. Keys are template ids >= 1 (0 is reserved for "unknown /
// padding"); lines[i] is the 1-based line number (in the source) of keys[i],
// or 0 when the source has no line numbers (pre-parsed session files).
struct Session {
  std::string id;          // block id, trace id, window start, ...
  std::string service;     // "" when not known
  TimeNs start = 0, end = 0;  // 0 when not known
  std::vector<uint32_t> keys;
  std::vector<uint64_t> lines;  // empty, or keys.size() entries
  // Optional, for DeepLog's parameter-value model: values[i] are the numeric
  // parameters of line i (its template's numeric wildcards, then the seconds
  // since the previous line of the session); empty when not known.
  std::vector<std::vector<float>> values;
  int label = -1;          // -1 unknown, 0 normal, 1 anomalous
  std::string split;       // "train" / "test" / "" (as the source says)
};


// One parsed log line, the input of the grouping functions below.
struct ParsedLine {
  uint32_t key = 0;      // template id (>= 1; 0 = unknown template)
  TimeNs time = 0;       // 0 when unknown
  std::string service;
  std::string content;   // the message (identifiers are searched here)
  uint64_t line = 0;     // 1-based line number in the source (0 = unknown)
};

// An identifier pattern of the form  PREFIX [-?] [CHARSET] (+ | {n} | {n,m})
// e.g. "blk_-?[0-9]+" (HDFS block ids), "[0-9a-f]{32}" (W3C trace ids),
// "req-[0-9A-Za-z]+". Matching is leftmost and greedy: the charset run takes
// every following charset character, and a match counts only if the run has
// an allowed length, the character before the match is not a letter, digit or
// '_' (nor '-' when the prefix is empty), and the character after the run is
// not in the charset.
struct IdPattern {
  std::string prefix;           // literal; may be empty
  bool optional_minus = false;  // "-?" right after the prefix
  bool charset[256] = {};       // allowed characters of the run
  size_t min_len = 1, max_len = SIZE_MAX;
  std::string spec;             // the text it was parsed from
};

// Parses `spec` (syntax above; inside [] ranges a-z and single characters, a
// backslash escapes the next character of the prefix). Returns InvalidArgument
// with the offending position for anything else.
Status ParseIdPattern(std::string_view spec, IdPattern* out);
// "blk_-?[0-9]+".
const IdPattern& HdfsBlockIdPattern();

// Appends to *out the distinct identifiers in `text` that match `p`, in order
// of first appearance (*out is cleared first).
void FindIds(std::string_view text, const IdPattern& p, std::vector<std::string>* out);

// Groups lines by identifier: one session per distinct id (in order of first
// appearance); a line naming several ids goes to each of their sessions; lines
// naming none are left out (*unassigned, if non-null, counts them). Keys keep
// the order of `lines`; start/end are the min/max known times; service is the
// service of the session's first line.
std::vector<Session> SessionsById(const std::vector<ParsedLine>& lines, const IdPattern& p,
                                  uint64_t* unassigned = nullptr);

// Groups lines into time windows [k*step, k*step + size) (fixed windows when
// step == size, sliding when step < size; a line may fall in several). Lines
// are taken in time order (stable for equal times); lines with time 0 are left
// out (counted in *untimed if non-null). Only non-empty windows are emitted,
// in order of start; with per_service, one session per (window, service).
// start/end are the window bounds [start, end).
// Session ids are "<start ns>" or "<start ns>/<service>".
// REQUIRES: size > 0, 0 < step.
std::vector<Session> SessionsByTimeWindow(const std::vector<ParsedLine>& lines, TimeNs size,
                                          TimeNs step, bool per_service = false,
                                          uint64_t* untimed = nullptr);

// One session per service (id = service name, "" for lines without one), in
// order of first appearance; keys in the order of `lines`.
std::vector<Session> SessionsByService(const std::vector<ParsedLine>& lines);

// Maps raw log messages to a fixed vocabulary of template texts (e.g. the
// loghub event templates a model was trained with). A message matches a
// template when, after collapsing whitespace runs to one space and trimming
// both, the template's literal parts (the text between "<*>" wildcards)
// appear in order, the first at the start and the last at the end; "<*>"
// matches any text, also empty or with spaces ("allocateBlock:<*>" matches
// "allocateBlock: /a/b blk_1"; the spaces around " <*> " are literal). Of several matching templates
// the one with the most literal characters wins (then the lowest id).
class TemplateMatcher {
 public:
  // `templates`: id (>= 1) -> text.
  explicit TemplateMatcher(const std::vector<std::pair<uint32_t, std::string>>& templates);
  // Returns the id of the best matching template, or 0 if none matches.
  uint32_t Match(std::string_view message) const;
  size_t size() const { return templates_.size(); }

 private:
  struct Template {
    uint32_t id = 0;
    std::vector<std::string> parts;  // literal parts; parts.size() == wildcards + 1
    size_t literal_chars = 0;
  };
  std::vector<Template> templates_;  // by literal_chars desc, id asc
};

}  // namespace triad

#endif  // TRIAD_ALIGN_SESSIONS_H_
