// Log sessions: sequences of template ids (log keys) grouped by an identifier
// found in the line (HDFS block id, trace id, request id), by fixed or
// sliding time windows, or by service. Input to the sequence detectors
// (detect/sequence_detector.h).
#ifndef TRIAD_ALIGN_SESSIONS_H_
#define TRIAD_ALIGN_SESSIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "triad/telemetry.h"

namespace triad {

// One session. Keys are template ids >= 1 (0 is reserved for "unknown /
// padding"); lines[i] is the 1-based line number (in the source) of keys[i],
// or 0 when the source has no line numbers (pre-parsed session files).
struct Session {
  std::string id;          // block id, trace id, window start, ...
  std::string service;     // "" when not known
  TimeNs start = 0, end = 0;  // 0 when not known
  std::vector<uint32_t> keys;
  std::vector<uint64_t> lines;  // empty, or keys.size() entries
  // Optional, for DeepLog's parameter-value model: values[i] are the numeric
  // parameters of line i (its template's numeric wildcards, then the seconds
  // since the previous line of the session); empty when not known.
  std::vector<std::vector<float>> values;
  int label = -1;          // -1 unknown, 0 normal, 1 anomalous
  std::string split;       // "train" / "test" / "" (as the source says)
};

}  // namespace triad

#endif  // TRIAD_ALIGN_SESSIONS_H_
