#include "serve/journal.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace triad {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeader = 16;                   // length, crc, seq
constexpr uint32_t kMaxPayload = 1u << 30;        // larger lengths are corruption

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint32_t RecordCrc(const char* seq8, std::string_view payload) {
  uLong c = crc32(0L, Z_NULL, 0);
  c = crc32(c, reinterpret_cast<const Bytef*>(seq8), 8);
  // zlib's length is uInt: feed large payloads in pieces.
  size_t off = 0;
  while (off < payload.size()) {
    const size_t n = std::min<size_t>(payload.size() - off, 1u << 30);
    c = crc32(c, reinterpret_cast<const Bytef*>(payload.data() + off), static_cast<uInt>(n));
    off += n;
  }
  return static_cast<uint32_t>(c);
}

std::string SegmentName(uint64_t first_seq) { return fmt::format("{:020}.seg", first_seq); }

Status ReadFile(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
  out->clear();
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::OK();
}

// Walks the records of one segment's bytes. Calls ok(offset, seq, payload)
// for valid records and bad(offset, why) for skipped ones; records must have
// seq > *last_seq (updated). Returns the length of the valid prefix: the
// offset where a torn tail starts (== data.size() if none).
template <typename Ok, typename Bad>
size_t Scan(std::string_view data, uint64_t* last_seq, Ok ok, Bad bad) {
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < kHeader) {
      bad(pos, "torn record header at the tail");
      return pos;
    }
    const uint32_t len = GetU32(data.data() + pos);
    if (len > kMaxPayload || len > data.size() - pos - kHeader) {
      bad(pos, fmt::format("record length {} past the end: torn tail", len));
      return pos;
    }
    const uint32_t crc = GetU32(data.data() + pos + 4);
    const uint64_t seq = GetU64(data.data() + pos + 8);
    std::string_view payload = data.substr(pos + kHeader, len);
    if (RecordCrc(data.data() + pos + 8, payload) != crc) {
      bad(pos, "CRC mismatch: record skipped");
    } else if (seq <= *last_seq) {
      bad(pos, fmt::format("sequence {} after {}: record skipped", seq, *last_seq));
    } else {
      *last_seq = seq;
      ok(pos, seq, payload);
    }
    pos += kHeader + len;
  }
  return pos;
}

Status WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::IOError(std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

Status Journal::Open(const JournalOptions& opts, std::unique_ptr<Journal>* out,
                     ReadStats* stats) {
  assert(!opts.dir.empty());
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec) return Status::IOError(fmt::format("journal {}: {}", opts.dir, ec.message()));
  std::unique_ptr<Journal> j(new Journal(opts));
  const std::string lock = (fs::path(opts.dir) / "LOCK").string();
  j->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (j->lock_fd_ < 0)
    return Status::IOError(fmt::format("journal {}: {}", lock, std::strerror(errno)));
  if (::flock(j->lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return Status::IOError(
        fmt::format("journal {} is in use by another process (flock: {})", opts.dir,
                    std::strerror(errno)));
  // Segments, oldest first.
  for (const auto& e : fs::directory_iterator(opts.dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() != 24 || name.substr(20) != ".seg" ||
        !std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    Segment s;
    s.path = e.path().string();
    s.first_seq = std::stoull(name.substr(0, 20));
    j->segs_.push_back(std::move(s));
  }
  if (ec) return Status::IOError(fmt::format("journal {}: {}", opts.dir, ec.message()));
  std::sort(j->segs_.begin(), j->segs_.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });
  uint64_t last = 0;
  std::string data;
  for (Segment& s : j->segs_) {
    TRIAD_RETURN_IF_ERROR(ReadFile(s.path, &data));
    const size_t valid = Scan(
        data, &last,
        [&](size_t, uint64_t seq, std::string_view) {
          if (s.records++ == 0 && seq < s.first_seq) s.first_seq = seq;
          s.last_seq = seq;
        },
        [&](size_t off, const std::string& why) {
          if (stats != nullptr) stats->Skip(s.path, off, why);
          else spdlog::warn("{}:{}: {}", s.path, off, why);
        });
    if (valid < data.size()) {
      if (::truncate(s.path.c_str(), static_cast<off_t>(valid)) != 0)
        return Status::IOError(fmt::format("{}: truncate: {}", s.path, std::strerror(errno)));
      spdlog::warn("journal: {}: truncated a torn tail of {} bytes", s.path, data.size() - valid);
    }
    s.bytes = valid;
    j->bytes_ += valid;
    j->next_seq_ = std::max({j->next_seq_, last + 1, s.first_seq});
  }
  // Appends continue in the last segment.
  if (!j->segs_.empty()) {
    Segment& s = j->segs_.back();
    j->active_fd_ = ::open(s.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (j->active_fd_ < 0)
      return Status::IOError(fmt::format("{}: {}", s.path, std::strerror(errno)));
  }
  j->synced_ = j->next_seq_ - 1;
  *out = std::move(j);
  return Status::OK();
}

Journal::~Journal() {
  std::unique_lock<std::mutex> l(mu_);
  sync_cv_.wait(l, [&] { return !syncing_; });
  CloseActive();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status Journal::OpenActive() {
  Segment s;
  s.first_seq = next_seq_;
  s.path = (fs::path(opts_.dir) / SegmentName(next_seq_)).string();
  active_fd_ = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (active_fd_ < 0)
    return Status::IOError(fmt::format("{}: {}", s.path, std::strerror(errno)));
  if (opts_.fsync) SyncDir(opts_.dir);
  segs_.push_back(std::move(s));
  return Status::OK();
}

void Journal::CloseActive() {
  if (active_fd_ < 0) return;
  if (opts_.fsync && ::fdatasync(active_fd_) == 0) synced_ = next_seq_ - 1;
  ::close(active_fd_);
  active_fd_ = -1;
}

Journal::Result Journal::Append(std::string_view payload, uint64_t* seq, Status* error) {
  const uint64_t need = kHeader + payload.size();
  if (payload.size() > kMaxPayload) {
    if (error) *error = Status::InvalidArgument("journal record too large");
    return Result::kError;
  }
  std::string rec(kHeader, '\0');
  rec.append(payload);
  std::unique_lock<std::mutex> l(mu_);
  if (bytes_ + need > opts_.max_bytes) return Result::kFull;
  if (active_fd_ >= 0 && segs_.back().bytes > 0 && segs_.back().bytes + need > opts_.segment_bytes) {
    sync_cv_.wait(l, [&] { return !syncing_; });  // not while a Sync uses the fd
    CloseActive();
  }
  if (active_fd_ < 0) {
    Status s = OpenActive();
    if (!s.ok()) {
      if (error) *error = s;
      return Result::kError;
    }
  }
  const uint64_t n = next_seq_;
  PutU32(rec.data(), static_cast<uint32_t>(payload.size()));
  PutU64(rec.data() + 8, n);
  PutU32(rec.data() + 4, RecordCrc(rec.data() + 8, payload));
  Segment& seg = segs_.back();
  Status s = WriteAll(active_fd_, rec.data(), rec.size());
  if (!s.ok()) {
    // Cut a partial record back so the segment stays well-formed.
    if (::ftruncate(active_fd_, static_cast<off_t>(seg.bytes)) != 0) CloseActive();
    if (error) *error = Status::IOError(fmt::format("{}: write: {}", seg.path, s.message()));
    return Result::kError;
  }
  if (seg.records++ == 0) seg.first_seq = n;
  seg.last_seq = n;
  seg.bytes += need;
  bytes_ += need;
  next_seq_ = n + 1;
  *seq = n;
  return Result::kOk;
}

Status Journal::Sync(uint64_t seq) {
  if (!opts_.fsync) return Status::OK();
  std::unique_lock<std::mutex> l(mu_);
  while (synced_ < seq) {
    if (syncing_) {
      sync_cv_.wait(l);
      continue;
    }
    if (active_fd_ < 0) break;  // closed segments were synced when they closed
    syncing_ = true;
    const uint64_t target = next_seq_ - 1;
    const int fd = active_fd_;
    l.unlock();
    const int rc = ::fdatasync(fd);  // one call covers every caller waiting meanwhile
    const int err = errno;
    l.lock();
    syncing_ = false;
    sync_cv_.notify_all();
    if (rc != 0) return Status::IOError(fmt::format("journal fdatasync: {}", std::strerror(err)));
    synced_ = std::max(synced_, target);
  }
  return Status::OK();
}

Status Journal::Replay(uint64_t from,
                       const std::function<void(uint64_t, std::string_view)>& fn) const {
  std::vector<Segment> segs;
  {
    std::lock_guard<std::mutex> l(mu_);
    segs = segs_;
  }
  std::string data;
  uint64_t last = 0;
  for (const Segment& s : segs) {
    if (s.records == 0 || s.last_seq < from) {
      last = std::max(last, s.last_seq);
      continue;
    }
    TRIAD_RETURN_IF_ERROR(ReadFile(s.path, &data));
    // Only the part that was valid (and counted) at Open or written since.
    Scan(
        std::string_view(data).substr(0, std::min<size_t>(data.size(), s.bytes)), &last,
        [&](size_t, uint64_t seq, std::string_view payload) {
          if (seq >= from) fn(seq, payload);
        },
        [](size_t, const std::string&) {});  // counted at Open
  }
  return Status::OK();
}

void Journal::ReleaseBefore(uint64_t seq) {
  std::unique_lock<std::mutex> l(mu_);
  size_t drop = 0;
  for (size_t i = 0; i < segs_.size(); ++i) {
    const bool active = i + 1 == segs_.size() && active_fd_ >= 0;
    // Every record of segment i is below the next segment's first seq.
    const uint64_t end = i + 1 < segs_.size() ? segs_[i + 1].first_seq : next_seq_;
    if (end > seq) break;
    if (active) {
      sync_cv_.wait(l, [&] { return !syncing_; });
      CloseActive();
    }
    ++drop;
  }
  for (size_t i = 0; i < drop; ++i) {
    std::error_code ec;
    fs::remove(segs_[i].path, ec);
    if (ec) spdlog::warn("journal: cannot delete {}: {}", segs_[i].path, ec.message());
    bytes_ -= segs_[i].bytes;
  }
  segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(drop));
}

void Journal::SetNextSeqAtLeast(uint64_t seq) {
  std::unique_lock<std::mutex> l(mu_);
  if (next_seq_ >= seq) return;
  sync_cv_.wait(l, [&] { return !syncing_; });
  if (active_fd_ >= 0) {
    CloseActive();
    if (segs_.back().records == 0) {  // an empty segment named by the old seq
      std::error_code ec;
      fs::remove(segs_.back().path, ec);
      segs_.pop_back();
    }
  }
  next_seq_ = seq;
  synced_ = std::max(synced_, seq - 1);
}

uint64_t Journal::next_seq() const {
  std::lock_guard<std::mutex> l(mu_);
  return next_seq_;
}

uint64_t Journal::oldest_seq() const {
  std::lock_guard<std::mutex> l(mu_);
  for (const Segment& s : segs_)
    if (s.records > 0) return s.first_seq;
  return next_seq_;
}

uint64_t Journal::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

size_t Journal::segments() const {
  std::lock_guard<std::mutex> l(mu_);
  return segs_.size();
}

uint64_t Journal::records() const {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t n = 0;
  for (const Segment& s : segs_) n += s.records;
  return n;
}

}  // namespace triad
