#include "ingest/line_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace triad {
namespace {
constexpr size_t kChunk = 1 << 16;
}

Status LineReader::Open(const std::string& path, std::unique_ptr<LineReader>* out,
                        size_t max_line) {
  std::unique_ptr<LineReader> r(new LineReader());
  r->name_ = path == "-" ? "<stdin>" : path;
  r->max_line_ = max_line;
  gzFile gz = nullptr;
  if (path == "-") {
    int fd = dup(0);
    if (fd < 0) return Status::IOError("cannot read stdin");
    gz = gzdopen(fd, "rb");
  } else {
    gz = gzopen(path.c_str(), "rb");  // reads plain files transparently
  }
  if (gz == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
  gzbuffer(gz, 1 << 17);
  r->gz_ = gz;
  *out = std::move(r);
  return Status::OK();
}

std::unique_ptr<LineReader> LineReader::FromString(std::string_view data, size_t max_line) {
  std::unique_ptr<LineReader> r(new LineReader());
  r->name_ = "<memory>";
  r->mem_ = data;
  r->from_mem_ = true;
  r->max_line_ = max_line;
  return r;
}

LineReader::~LineReader() {
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
}

bool LineReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  if (from_mem_) {
    buf_.append(mem_.data(), mem_.size());
    eof_ = true;
    return !mem_.empty();
  }
  size_t old = buf_.size();
  buf_.resize(old + kChunk);
  int n = gzread(static_cast<gzFile>(gz_), buf_.data() + old, kChunk);
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    status_ = Status::IOError(name_ + ": " + (msg ? msg : "read error"));
    buf_.resize(old);
    eof_ = true;
    return false;
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) {
    eof_ = true;
    // A truncated gzip stream shows up as an error after the last read.
    int err = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    if (err != Z_OK && err != Z_STREAM_END && err != Z_BUF_ERROR)
      status_ = Status::Corruption(name_ + ": " + (msg ? msg : "gzip error"));
    else if (err == Z_BUF_ERROR)
      status_ = Status::Corruption(name_ + ": truncated gzip stream");
    return false;
  }
  return true;
}

bool LineReader::Next(std::string_view* line) {
  bool skipping = false;  // inside an oversized line
  size_t scan_from = pos_;
  for (;;) {
    const char* base = buf_.data();
    const void* nl = std::memchr(base + scan_from, '\n', buf_.size() - scan_from);
    if (nl != nullptr) {
      size_t end = static_cast<const char*>(nl) - base;
      ++line_no_;
      if (skipping || end - pos_ > max_line_) {
        ++oversized_;
        pos_ = end + 1;
        skipping = false;
        scan_from = pos_;
        continue;
      }
      size_t len = end - pos_;
      if (len > 0 && base[pos_ + len - 1] == '\r') --len;
      line_.assign(base + pos_, len);
      pos_ = end + 1;
      *line = line_;
      return true;
    }
    // No newline in the buffer.
    if (buf_.size() - pos_ > max_line_) {
      // Drop what we have of this oversized line and keep scanning for its end.
      skipping = true;
      pos_ = buf_.size();
    }
    size_t have = buf_.size() - pos_;
    if (!Fill()) {
      if (have > 0 || skipping) {
        ++line_no_;
        if (skipping || have > max_line_) {
          ++oversized_;
          pos_ = buf_.size();
          return false;
        }
        size_t len = have;
        if (len > 0 && buf_[pos_ + len - 1] == '\r') --len;
        line_.assign(buf_.data() + pos_, len);
        pos_ = buf_.size();
        *line = line_;
        return true;
      }
      return false;
    }
    scan_from = pos_ + have;
  }
}

Status LineReader::ReadAll(std::string* out, size_t max_bytes) {
  out->assign(buf_.data() + pos_, buf_.size() - pos_);
  pos_ = buf_.size();
  while (Fill()) {
    out->append(buf_.data() + pos_, buf_.size() - pos_);
    pos_ = buf_.size();
    if (out->size() > max_bytes)
      return Status::InvalidArgument(name_ + ": document larger than " +
                                     std::to_string(max_bytes) + " bytes");
  }
  return status_;
}

bool IsReadable(const std::string& path) {
  if (path == "-") return true;
  return access(path.c_str(), R_OK) == 0;
}

}  // namespace triad
