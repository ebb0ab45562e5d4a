// Synthetic log corpora for parser tests and benchmarks: deterministic for a
// seed (the same bytes with every standard library, see sim/rng.h).
//
//  - HDFS-like: messages of the 14 HDFS v1 event types (block ids, datanode
//    addresses with ports, sizes, PacketResponder numbers, task paths), in
//    roughly the mix of the loghub HDFS sample, with block ids reused the way
//    a block's life cycle reuses them. Written from the event templates, not
//    copied from any data file.
//  - Many-templates: `templates` random templates (fixed words, numeric
//    variables, and word variables that force Drain to generalise), most of
//    them first seen early in the corpus; for equivalence tests of parsers.
#ifndef TRIAD_SIM_LOG_CORPUS_H_
#define TRIAD_SIM_LOG_CORPUS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

// Messages stored back to back in one buffer (no per-message allocation).
class LogCorpus {
 public:
  void Append(std::string_view msg) {
    data_.append(msg);
    ends_.push_back(data_.size());
  }
  void Reserve(size_t messages, size_t bytes) {
    ends_.reserve(messages);
    data_.reserve(bytes);
  }
  size_t size() const { return ends_.size(); }
  // Total bytes of the messages (no separators).
  size_t bytes() const { return data_.size(); }
  // REQUIRES: i < size(). Valid until the next Append.
  std::string_view line(size_t i) const {
    size_t b = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(data_).substr(b, ends_[i] - b);
  }
  // All messages in order; valid until the next Append.
  std::vector<std::string_view> Views() const;

 private:
  std::string data_;
  std::vector<size_t> ends_;
};

struct HdfsLikeOptions {
  uint64_t seed = 1;
  // Prefix each message with an HDFS v1 header
  // ("081109 203615 148 INFO dfs.DataNode$PacketResponder: "), as in the raw log.
  bool header = false;
};

// Appends `n` HDFS-like messages to *out.
void GenerateHdfsLike(size_t n, const HdfsLikeOptions& opts, LogCorpus* out);

// Number of distinct event types GenerateHdfsLike draws from.
inline constexpr int kHdfsLikeEventTypes = 14;

// Appends `n` messages drawn from `templates` random templates to *out.
// Template k first appears around position n * 0.2 * (k / templates)^2, so
// most templates are new early in the corpus. REQUIRES: templates >= 1.
void GenerateManyTemplates(size_t n, int templates, uint64_t seed, LogCorpus* out);

}  // namespace triad

#endif  // TRIAD_SIM_LOG_CORPUS_H_
