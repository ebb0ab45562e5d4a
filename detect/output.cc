#include "detect/output.h"

#include <fmt/core.h>

#include <cassert>
#include <cmath>

#include "ingest/csv.h"
#include "ingest/line_reader.h"

namespace triad {
namespace {

// Howard Hinnant's civil_from_days.
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

std::string FormatScore(double s) {
  if (std::isnan(s)) return "nan";
  if (std::isinf(s)) return s > 0 ? "inf" : "-inf";
  return fmt::format("{:.4f}", s);
}

}  // namespace

const std::vector<std::string>& ScoreCsvBaseColumns() {
  static const std::vector<std::string> cols = {"id", "start", "end", "service", "score", "anomaly"};
  return cols;
}

std::string FormatIso8601(TimeNs t) {
  int64_t secs = t / kNsPerSec;
  int64_t ns = t % kNsPerSec;
  if (ns < 0) {
    ns += kNsPerSec;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", y, m, d, rem / 3600,
                                (rem / 60) % 60, rem % 60);
  if (ns != 0) {
    if (ns % kNsPerMs == 0) {
      out += fmt::format(".{:03d}", ns / kNsPerMs);
    } else {
      out += fmt::format(".{:09d}", ns);
    }
  }
  out += 'Z';
  return out;
}

std::string CsvField(std::string_view s) {
  bool quote = !s.empty() && (s.front() == ' ' || s.back() == ' ');
  for (char c : s)
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
  if (!quote) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

Status ScoreCsvWriter::Open(const std::string& path, const std::vector<std::string>& extra_columns,
                            std::unique_ptr<ScoreCsvWriter>* out) {
  std::unique_ptr<ScoreCsvWriter> w(new ScoreCsvWriter);
  w->path_ = path;
  if (path == "-") {
    w->f_ = stdout;
  } else {
    w->f_ = std::fopen(path.c_str(), "wb");
    if (w->f_ == nullptr) return Status::IOError(fmt::format("cannot create {}", path));
    w->owns_ = true;
  }
  w->extra_ = extra_columns.size();
  std::string header;
  for (const auto& c : ScoreCsvBaseColumns()) header += c + ",";
  for (const auto& c : extra_columns) header += CsvField(c) + ",";
  header.back() = '\n';
  std::fputs(header.c_str(), w->f_);
  *out = std::move(w);
  return Status::OK();
}

ScoreCsvWriter::~ScoreCsvWriter() {
  if (f_ != nullptr && owns_) std::fclose(f_);
}

Status ScoreCsvWriter::Write(const ScoreRow& r) {
  assert(f_ != nullptr);
  assert(r.extra.size() == extra_);
  // A row without times (e.g. a session from a pre-parsed file) leaves them empty.
  const bool timed = r.start != 0 || r.end != 0;
  std::string line = fmt::format("{},{},{},{},{},{}", next_id_++,
                                 timed ? FormatIso8601(r.start) : std::string(),
                                 timed ? FormatIso8601(r.end) : std::string(),
                                 CsvField(r.service), FormatScore(r.score),
                                 r.anomaly ? 1 : 0);
  for (const auto& e : r.extra) {
    line += ',';
    line += CsvField(e);
  }
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size())
    return Status::IOError(fmt::format("write to {} failed", path_));
  return Status::OK();
}

Status ScoreCsvWriter::Close() {
  if (f_ == nullptr) return Status::OK();
  bool bad = std::fflush(f_) != 0 || std::ferror(f_) != 0;
  if (owns_) bad = (std::fclose(f_) != 0) || bad;
  f_ = nullptr;
  if (bad) return Status::IOError(fmt::format("writing {} failed", path_));
  return Status::OK();
}

Status ReadScoreCsv(const std::string& path, ScoreTable* out) {
  std::unique_ptr<LineReader> lr;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &lr));
  CsvReader reader(lr.get());
  std::vector<std::string_view> fields;
  std::string error;
  out->header.clear();
  out->rows.clear();
  bool first = true;
  for (;;) {
    CsvReader::Result r = reader.Next(&fields, &error);
    if (r == CsvReader::Result::kEnd) break;
    if (r == CsvReader::Result::kMalformed)
      return Status::Corruption(fmt::format("{}:{}: {}", path, reader.line_number(), error));
    std::vector<std::string> row(fields.begin(), fields.end());
    if (first) {
      first = false;
      const auto& base = ScoreCsvBaseColumns();
      if (row.size() < base.size() || !std::equal(base.begin(), base.end(), row.begin()))
        return Status::Corruption(fmt::format("{}: header does not start with {}", path,
                                              fmt::format("id,start,end,service,score,anomaly")));
      out->header = std::move(row);
      continue;
    }
    if (row.size() != out->header.size())
      return Status::Corruption(fmt::format("{}:{}: {} fields, header has {}", path,
                                            reader.line_number(), row.size(),
                                            out->header.size()));
    out->rows.push_back(std::move(row));
  }
  if (!lr->status().ok()) return lr->status();
  if (first) return Status::Corruption(fmt::format("{}: empty score file", path));
  return Status::OK();
}

}  // namespace triad
