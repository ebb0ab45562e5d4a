// The output contract every Triad detector follows: one CSV row per scored
// (service, window) with the columns
//     id,start,end,service,score,anomaly
// followed by the detector's own evidence columns (the baseline adds
// threshold,top_features,evidence). `id` counts rows from 1; start/end are
// ISO-8601 UTC ("2024-05-01T10:00:30Z", with a fraction only when the time has
// one), both empty when the scored unit has no times (a session of a
// pre-parsed file); score is a decimal number (higher = more anomalous);
// anomaly is 0 or 1.
// Fields are quoted per RFC 4180 when they hold a comma, quote or newline.
#ifndef TRIAD_DETECT_OUTPUT_H_
#define TRIAD_DETECT_OUTPUT_H_

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// The leading columns of every score file.
const std::vector<std::string>& ScoreCsvBaseColumns();

// "YYYY-MM-DDTHH:MM:SS[.fff|.fffffffff]Z".
std::string FormatIso8601(TimeNs t);

// Returns `s` as one CSV field: quoted (with "" for ") iff it contains a
// comma, a quote, CR or LF, or starts/ends with a space.
std::string CsvField(std::string_view s);

struct ScoreRow {
  TimeNs start = 0, end = 0;
  std::string service;
  double score = 0;
  bool anomaly = false;
  std::vector<std::string> extra;  // the detector's evidence columns, in order
};

class ScoreCsvWriter {
 public:
  // Creates `path` ("-" = stdout) and writes the header.
  static Status Open(const std::string& path, const std::vector<std::string>& extra_columns,
                     std::unique_ptr<ScoreCsvWriter>* out);
  ~ScoreCsvWriter();
  ScoreCsvWriter(const ScoreCsvWriter&) = delete;
  ScoreCsvWriter& operator=(const ScoreCsvWriter&) = delete;

  // Writes one row with the next id. REQUIRES: row.extra.size() equals the
  // number of extra columns given to Open.
  Status Write(const ScoreRow& row);
  // Flushes and closes; returns an IOError if anything failed to write.
  Status Close();
  uint64_t rows() const { return next_id_ - 1; }

 private:
  ScoreCsvWriter() = default;
  std::FILE* f_ = nullptr;
  bool owns_ = false;
  size_t extra_ = 0;
  uint64_t next_id_ = 1;
  std::string path_;
};

// A score file read back.
struct ScoreTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each the same size as header
};

// Reads a score CSV. Returns Corruption if the header does not start with the
// base columns or a row has a different number of fields than the header.
Status ReadScoreCsv(const std::string& path, ScoreTable* out);

}  // namespace triad

#endif  // TRIAD_DETECT_OUTPUT_H_
