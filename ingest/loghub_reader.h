// Loghub raw-log reader: turns lines of a raw system log (HDFS, Hadoop, Spark,
// Zookeeper, BGL, HPC, Linux, Apache, ...) into LogRecords, given a loghub /
// logparser format string such as
//   "<Date> <Time> <Pid> <Level> <Component>: <Content>".
//
// Format syntax (the logparser convention, matched by a hand-written matcher,
// no std::regex):
//   <Name>      a header field, like logparser's `(?P<Name>.*?)`: the shortest
//               text (possibly empty) that lets the rest of the format match;
//               a field at the end of the format takes the rest of the line.
//   spaces      a run of spaces in the format matches one or more whitespace
//               characters (`\s+`, longest first).
//   \[ \] \( \) \\ ...
//               a backslash makes the next character literal.
//   (...)?      an optional group (no nesting): tried first; if the line does
//               not match with it, it is skipped. Fields inside it are empty
//               when the group is absent.
//   any other   literal text (regex metacharacters other than the above are
//               NOT interpreted; no logparser format uses them).
// Lines are stripped of surrounding whitespace before matching and the match
// is anchored at both ends, as in logparser. A line that lacks one of the
// format's required literals fails at once; backtracking memoizes failed
// (token, offset) states once a line needs more than a few steps, and is
// bounded (a line needing more than kMaxMatchSteps steps is a non-match).
//
// Mapping to LogRecord: body = Content (or the last field if no Content);
// severity from a Level field (SeverityFromText); time from the
// Timestamp/Date/Time/Month/Day fields when parseable (see core/time_parse.h;
// a unix Timestamp column is preferred, refined by the sub-second fraction of
// a full Time field that agrees with it); every header field (all but the
// body field) is also an attribute keyed by its field name; service =
// opts.service, or else the Component/Node field. Lines that do not match the
// format are counted skips (as loghub leaves them out too).
#ifndef TRIAD_INGEST_LOGHUB_READER_H_
#define TRIAD_INGEST_LOGHUB_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct LoghubOptions {
  std::string format;   // logparser format string (required)
  std::string service;  // service for every record; empty = Component/Node field
};

// A compiled format string. Thread-compatible: Parse/Match use no shared
// mutable state beyond the object's scratch, so use one parser per thread.
class LoghubLineParser {
 public:
  // Compiles `format`. Check ok()/status() before use.
  explicit LoghubLineParser(std::string_view format, std::string service = "");

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // Field names in format order, e.g. {"Date","Time","Pid","Level","Component","Content"}.
  const std::vector<std::string>& field_names() const { return names_; }
  // Index of the body field (Content, else the last field); -1 if no fields.
  int content_index() const { return content_idx_; }

  // Returns true iff `line` matches the format; then (*fields)[i] is the text
  // of field_names()[i] (views into `line`, empty for an absent optional group).
  // REQUIRES: ok().
  bool Match(std::string_view line, std::vector<std::string_view>* fields) const;

  // Returns true iff `line` matches; then fills *out (all fields replaced).
  // Otherwise sets *error (if non-null) and leaves *out unspecified.
  bool Parse(std::string_view line, LogRecord* out, std::string* error);

 private:
  struct Token {
    enum Kind : uint8_t { kLiteral, kSpace, kField, kGroupBegin, kGroupEnd } kind;
    std::string text;  // kLiteral
    int field = -1;    // kField
    int group_end = -1;  // kGroupBegin: index of its kGroupEnd
  };
  static constexpr int kMaxMatchSteps = 20000;
  struct MatchState;
  bool MatchFrom(size_t tok, std::string_view line, size_t pos,
                 std::vector<std::string_view>* fields, MatchState* st) const;
  bool MatchTokens(size_t tok, std::string_view line, size_t pos,
                   std::vector<std::string_view>* fields, MatchState* st) const;

  Status status_;
  std::string service_;
  std::vector<Token> toks_;
  std::vector<std::string> required_;  // literals outside optional groups, in order
  std::vector<std::string> names_;
  int content_idx_ = -1;
  int level_idx_ = -1, component_idx_ = -1, node_idx_ = -1;
  int timestamp_idx_ = -1, date_idx_ = -1, time_idx_ = -1, month_idx_ = -1, day_idx_ = -1;
  std::vector<std::string_view> scratch_;
  std::string tbuf_;
};

// Reads every line of `r` (or of `path`: plain, gzip or "-" for stdin) and
// emits one LogRecord per matching line. Empty lines are ignored; other
// non-matching lines are counted skips. `stats` may be null.
// Returns InvalidArgument for a bad format, IOError/Corruption for read errors.
Status ReadLoghub(LineReader& r, const LoghubOptions& opts, TelemetrySink& sink,
                  ReadStats* stats);
Status ReadLoghubFile(const std::string& path, const LoghubOptions& opts, TelemetrySink& sink,
                      ReadStats* stats);

// The format strings of logparser's benchmark for the loghub systems
// ("HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Linux", "Apache",
// case-insensitive). Returns an empty string for an unknown system.
std::string LoghubFormatFor(std::string_view system);

}  // namespace triad

#endif  // TRIAD_INGEST_LOGHUB_READER_H_
