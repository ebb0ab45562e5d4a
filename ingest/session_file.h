// Readers for pre-grouped log-session files (issue 4):
//  - the loghub/deep-loglizer CSV  "BlockId,Label,Split,EventSequence"
//    (Label Normal/Anomaly or 0/1, Split train/test, EventSequence = template
//    ids separated by spaces; the Split column is optional);
//  - its JSON-lines twin  {"block_id","label","split","event_ids","templates"}
//    whose template texts give a vocabulary id -> text;
//  - DeepLog's format: one session a line, template ids separated by spaces
//    (the session id is "line<N>", label and split unknown).
// Plain or gzip files (LineReader). Template ids must be 1..2^31; a line with
// anything else is a counted skip (ReadStats), never silently dropped.
#ifndef TRIAD_INGEST_SESSION_FILE_H_
#define TRIAD_INGEST_SESSION_FILE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "align/sessions.h"
#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "triad/status.h"

namespace triad {

enum class SessionFileFormat { kAuto, kCsv, kJsonl, kDeepLog };

// Template id -> template text ("<*>" for parameters).
using SessionVocabulary = std::map<uint32_t, std::string>;

// Parses "1 5 22 5" (spaces, tabs or commas between ids). Returns false on
// anything but positive ids in 1..2^31 (an empty text is an empty sequence).
bool ParseKeySequence(std::string_view text, std::vector<uint32_t>* out);

// Reads sessions from `r` in format `fmt` (kAuto: decided by the first
// non-empty line: a header starting with "BlockId" or containing
// "EventSequence" -> CSV, '{' -> JSON lines, else DeepLog). Appends to *out;
// fills *vocab (if non-null) from JSON-lines template texts; `stats` may be
// null. Returns IOError/Corruption for read errors, InvalidArgument when a
// CSV header lacks the required columns.
Status ReadSessions(LineReader& r, SessionFileFormat fmt, std::vector<Session>* out,
                    SessionVocabulary* vocab, ReadStats* stats);
Status ReadSessionFile(const std::string& path, std::vector<Session>* out,
                       SessionVocabulary* vocab, ReadStats* stats,
                       SessionFileFormat fmt = SessionFileFormat::kAuto);

// Returns true iff `s` may be used for training: not labelled anomalous and
// not in the test split.
bool IsTrainingSession(const Session& s);

}  // namespace triad

#endif  // TRIAD_INGEST_SESSION_FILE_H_
