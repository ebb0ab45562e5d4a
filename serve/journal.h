// Journal: `triad serve`'s append-only spill journal of accepted batches, so
// that what the server acknowledged survives a crash (kill -9) and a restart.
//
// Layout: a directory (by default `<db>.journal/`) of segment files
// `<first seq, 20 digits>.seg` plus a `LOCK` file (flock: one process per
// journal; the kernel drops the lock when the process dies, so a crash leaves
// no stale lock). A segment is a sequence of records:
//   u32 payload length | u32 CRC32 (zlib) of seq + payload | u64 seq | payload
// (little-endian). Sequence numbers increase by one per record across
// segments. A segment rolls when the next record would take it past
// segment_bytes.
//
// Durability: Append() write()s the whole record to the OS before it
// returns, which survives the death of the process. With `fsync`, Sync(seq)
// also fdatasync()s, as a group commit: concurrent callers share one
// fdatasync (power loss). Without `fsync`, Sync is a no-op.
//
// Bad data: Open() scans every segment. A record whose CRC or sequence is
// wrong is skipped (counted in ReadStats and logged, "segment:offset: why");
// a torn tail (a record cut short, an impossible length) is truncated away
// and counted. Nothing crashes on a damaged journal.
//
// Bounds: Append() refuses (kFull) when the segments would exceed max_bytes;
// the owner frees space with ReleaseBefore(seq) once everything before seq is
// reflected in durable state (a checkpoint), which deletes whole segments.
//
// Thread-safe.
#ifndef TRIAD_SERVE_JOURNAL_H_
#define TRIAD_SERVE_JOURNAL_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/read_stats.h"
#include "triad/status.h"

namespace triad {

struct JournalOptions {
  std::string dir;                       // created if missing; REQUIRES: not empty
  uint64_t segment_bytes = 64ull << 20;  // roll segments at this size
  uint64_t max_bytes = 1ull << 30;       // Append refuses beyond this (all segments)
  bool fsync = false;                    // Sync() fdatasyncs (group commit)
};

class Journal {
 public:
  // Opens (creating if needed) the journal in opts.dir, takes its lock,
  // scans the segments (skips and truncations counted in *stats, which may be
  // null). Returns IOError if the directory cannot be used or another process
  // holds the lock.
  static Status Open(const JournalOptions& opts, std::unique_ptr<Journal>* out,
                     ReadStats* stats);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  enum class Result { kOk, kFull, kError };
  // Writes one record holding `payload` and sets *seq to its sequence number.
  // kFull: the journal would exceed max_bytes (nothing written). kError: the
  // write failed (*error says why; the segment is cut back, nothing kept).
  Result Append(std::string_view payload, uint64_t* seq, Status* error = nullptr);

  // Returns once every record up to `seq` is on stable storage (fsync mode;
  // at once otherwise).
  Status Sync(uint64_t seq);

  // Calls fn(seq, payload) for every valid record with seq >= from, in order.
  // Returns IOError if a segment cannot be read.
  Status Replay(uint64_t from,
                const std::function<void(uint64_t seq, std::string_view payload)>& fn) const;

  // Deletes the segments all of whose records have seq < `seq` (the active
  // segment too: the next Append starts a new one).
  void ReleaseBefore(uint64_t seq);

  // Makes the next sequence number at least `seq` (e.g. when a checkpoint
  // refers to sequence numbers of a journal that was deleted).
  void SetNextSeqAtLeast(uint64_t seq);

  uint64_t next_seq() const;
  uint64_t oldest_seq() const;  // first seq still kept (next_seq() if none)
  uint64_t bytes() const;       // all segments
  size_t segments() const;
  uint64_t records() const;     // valid records kept
  const JournalOptions& options() const { return opts_; }

 private:
  struct Segment {
    std::string path;
    uint64_t first_seq = 0;  // from the name
    uint64_t last_seq = 0;   // 0 if no record
    uint64_t records = 0;
    uint64_t bytes = 0;
  };
  explicit Journal(JournalOptions opts) : opts_(std::move(opts)) {}
  Status OpenActive();  // a new segment starting at next_seq_; REQUIRES: mu_ held
  void CloseActive();   // REQUIRES: mu_ held, !syncing_

  JournalOptions opts_;
  int lock_fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable sync_cv_;
  std::vector<Segment> segs_;  // oldest first; the last is active iff active_fd_ >= 0
  int active_fd_ = -1;
  uint64_t next_seq_ = 1;
  uint64_t bytes_ = 0;
  uint64_t synced_ = 0;  // records <= synced_ are on stable storage
  bool syncing_ = false;
};

}  // namespace triad

#endif  // TRIAD_SERVE_JOURNAL_H_
