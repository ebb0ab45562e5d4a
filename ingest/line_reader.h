// LineReader: streams lines from a file, a gzip file (detected by its magic
// bytes, whatever the name) or stdin ("-"), in bounded memory.
#ifndef TRIAD_INGEST_LINE_READER_H_
#define TRIAD_INGEST_LINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "triad/status.h"

namespace triad {

class LineReader {
 public:
  static constexpr size_t kDefaultMaxLine = 64u << 20;  // 64 MiB

  // Opens `path` ("-" = stdin). Lines longer than `max_line` bytes are skipped
  // whole and counted in oversized().
  static Status Open(const std::string& path, std::unique_ptr<LineReader>* out,
                     size_t max_line = kDefaultMaxLine);
  // Reads from an in-memory buffer (tests, HTTP bodies). `data` must outlive the reader.
  static std::unique_ptr<LineReader> FromString(std::string_view data,
                                                size_t max_line = kDefaultMaxLine);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Returns true and sets *line (without "\n" or "\r\n") iff a line was read.
  // The view is valid until the next call. Returns false at end of input or on a
  // read error (see status()).
  bool Next(std::string_view* line);

  uint64_t line_number() const { return line_no_; }  // 1-based number of the last line
  uint64_t oversized() const { return oversized_; }  // lines skipped for length
  const std::string& name() const { return name_; }
  const Status& status() const { return status_; }

  // Reads all of the remaining input into *out (for whole-document formats).
  // Returns an error if it exceeds max_bytes.
  Status ReadAll(std::string* out, size_t max_bytes = 1u << 30);

 private:
  LineReader() = default;
  bool Fill();  // reads more into buf_; false at EOF/error

  void* gz_ = nullptr;  // gzFile
  std::string_view mem_;
  bool from_mem_ = false;
  std::string name_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  size_t max_line_ = kDefaultMaxLine;
  uint64_t line_no_ = 0;
  uint64_t oversized_ = 0;
  std::string line_;
  Status status_;
};

// Returns true iff `path` exists and can be opened for reading ("-" is always true).
bool IsReadable(const std::string& path);

}  // namespace triad

#endif  // TRIAD_INGEST_LINE_READER_H_
