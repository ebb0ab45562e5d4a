// RFC-4180 CSV: a record splitter and a streaming record reader on top of
// LineReader.
//
// Fields are separated by `delim`; a field that starts with '"' is quoted:
// it ends at the next lone '"', and '""' inside it is one '"'. Quoted fields
// may contain delimiters and newlines (the reader joins physical lines).
// Lenient where RFC-4180 is strict and nothing is lost: a '"' inside an
// unquoted field is literal, and text between a closing quote and the next
// delimiter is appended literally. An unterminated quoted field is the only
// malformed record.
#ifndef TRIAD_INGEST_CSV_H_
#define TRIAD_INGEST_CSV_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/line_reader.h"

namespace triad {

enum class CsvSplit {
  kOk,          // a complete record
  kIncomplete,  // the text ends inside a quoted field
};

// Splits one record held in `text` (which may contain newlines inside quoted
// fields). *fields views `text` or, for fields that needed unescaping,
// *storage (both are cleared first): the views stay valid while `text` and
// *storage are unchanged. An empty `text` is one empty field. On kIncomplete
// *fields is unspecified.
CsvSplit SplitCsvRecord(std::string_view text, char delim, std::string* storage,
                        std::vector<std::string_view>* fields);

// Convenience: splits into owned strings. Returns false iff incomplete.
bool SplitCsvLine(std::string_view text, std::vector<std::string>* fields, char delim = ',');

// Reads CSV records from a LineReader in bounded memory.
class CsvReader {
 public:
  enum class Result { kRecord, kMalformed, kEnd };

  // A record may span at most `max_record_lines` physical lines and
  // `max_record_bytes` bytes; beyond that (or at end of input) an open quote
  // makes its first line a malformed record and the lines after it are read
  // again as fresh records (so one stray quote costs one line).
  explicit CsvReader(LineReader* r, char delim = ',', size_t max_record_lines = 10000,
                     size_t max_record_bytes = 16u << 20);

  // Reads the next record. kRecord: *fields holds it (views valid until the
  // next call). kMalformed: *error says why; the record is gone. kEnd: end of
  // input or a read error (see the LineReader's status()).
  Result Next(std::vector<std::string_view>* fields, std::string* error);

  // Physical line number where the last record started (1-based).
  uint64_t line_number() const { return record_line_; }

 private:
  bool NextLine(std::string_view* line, uint64_t* line_no);

  LineReader* r_;
  char delim_;
  size_t max_lines_, max_bytes_;
  std::deque<std::pair<uint64_t, std::string>> replay_;  // lines to read again
  std::string cur_line_;   // the current physical line when replayed
  std::string record_;     // joined physical lines of the current record
  std::string storage_;
  std::vector<std::pair<uint64_t, std::string>> pending_;  // lines of an open record
  uint64_t record_line_ = 0;
};

// Ends a read: counts the lines `r` skipped for length as skips in *stats
// (if non-null) and returns r.status(). Shared by the line-based readers.
struct ReadStats;
Status FinishLineReader(const LineReader& r, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_CSV_H_
