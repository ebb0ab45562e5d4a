#include "ingest/csv.h"

#include <cstring>

#include "ingest/read_stats.h"

namespace triad {

CsvSplit SplitCsvRecord(std::string_view text, char delim, std::string* storage,
                        std::vector<std::string_view>* fields) {
  fields->clear();
  storage->clear();
  const char* p = text.data();
  const size_t n = text.size();
  if (std::memchr(p, '"', n) == nullptr) {
    // Fast path: no quotes, every field is a view into `text`.
    size_t start = 0;
    for (;;) {
      const void* d = std::memchr(p + start, delim, n - start);
      if (d == nullptr) {
        fields->emplace_back(p + start, n - start);
        return CsvSplit::kOk;
      }
      size_t end = static_cast<const char*>(d) - p;
      fields->emplace_back(p + start, end - start);
      start = end + 1;
    }
  }
  // Slow path: unescape quoted fields into storage. Offsets first, views after
  // (storage may reallocate while it grows).
  struct Span {
    bool in_storage;
    size_t off, len;
  };
  std::vector<Span> spans;
  size_t i = 0;
  for (;;) {
    if (i < n && p[i] == '"') {
      size_t off = storage->size();
      ++i;
      bool closed = false;
      while (i < n) {
        const void* q = std::memchr(p + i, '"', n - i);
        if (q == nullptr) break;
        size_t qi = static_cast<const char*>(q) - p;
        storage->append(p + i, qi - i);
        if (qi + 1 < n && p[qi + 1] == '"') {
          storage->push_back('"');
          i = qi + 2;
          continue;
        }
        i = qi + 1;
        closed = true;
        break;
      }
      if (!closed) return CsvSplit::kIncomplete;
      // Lenient: text after the closing quote up to the delimiter is literal.
      while (i < n && p[i] != delim) storage->push_back(p[i++]);
      spans.push_back({true, off, storage->size() - off});
    } else {
      size_t start = i;
      while (i < n && p[i] != delim) ++i;
      spans.push_back({false, start, i - start});
    }
    if (i >= n) break;
    ++i;  // the delimiter
    if (i == n) {
      spans.push_back({false, n, 0});  // trailing empty field
      break;
    }
  }
  fields->reserve(spans.size());
  for (const Span& s : spans)
    fields->emplace_back(s.in_storage ? storage->data() + s.off : p + s.off, s.len);
  return CsvSplit::kOk;
}

bool SplitCsvLine(std::string_view text, std::vector<std::string>* fields, char delim) {
  std::string storage;
  std::vector<std::string_view> views;
  fields->clear();
  if (SplitCsvRecord(text, delim, &storage, &views) != CsvSplit::kOk) return false;
  fields->assign(views.begin(), views.end());
  return true;
}

CsvReader::CsvReader(LineReader* r, char delim, size_t max_record_lines, size_t max_record_bytes)
    : r_(r), delim_(delim), max_lines_(max_record_lines), max_bytes_(max_record_bytes) {}

bool CsvReader::NextLine(std::string_view* line, uint64_t* line_no) {
  if (!replay_.empty()) {
    *line_no = replay_.front().first;
    cur_line_ = std::move(replay_.front().second);
    replay_.pop_front();
    *line = cur_line_;
    return true;
  }
  if (!r_->Next(line)) return false;
  *line_no = r_->line_number();
  return true;
}

CsvReader::Result CsvReader::Next(std::vector<std::string_view>* fields, std::string* error) {
  std::string_view line;
  uint64_t line_no;
  if (!NextLine(&line, &line_no)) return Result::kEnd;
  record_line_ = line_no;
  if (SplitCsvRecord(line, delim_, &storage_, fields) == CsvSplit::kOk) return Result::kRecord;
  // An open quoted field: join physical lines until it closes.
  pending_.clear();
  pending_.emplace_back(line_no, std::string(line));
  record_.assign(line);
  for (;;) {
    bool have = pending_.size() < max_lines_ && record_.size() <= max_bytes_ &&
                NextLine(&line, &line_no);
    if (!have) {
      const bool at_end = pending_.size() < max_lines_ && record_.size() <= max_bytes_;
      *error = at_end ? "unterminated quoted field"
                      : "quoted field spans more than " + std::to_string(max_lines_) +
                            " lines or " + std::to_string(max_bytes_) + " bytes";
      // Read the lines after the first one again as fresh records.
      for (size_t k = pending_.size(); k-- > 1;) replay_.push_front(std::move(pending_[k]));
      pending_.clear();
      record_.clear();
      return Result::kMalformed;
    }
    pending_.emplace_back(line_no, std::string(line));
    record_.push_back('\n');
    record_.append(line);
    // Only a line with a quote can close the open field.
    if (std::memchr(line.data(), '"', line.size()) != nullptr &&
        SplitCsvRecord(record_, delim_, &storage_, fields) == CsvSplit::kOk) {
      pending_.clear();
      return Result::kRecord;
    }
  }
}

Status FinishLineReader(const LineReader& r, ReadStats* stats) {
  if (stats != nullptr && r.oversized() > 0) {
    stats->Skip(r.name(), r.line_number(),
                std::to_string(r.oversized()) + " line(s) longer than the line limit skipped");
    stats->skipped += r.oversized() - 1;
  }
  return r.status();
}

}  // namespace triad
