// Triad model files: one line of JSON (the header: "format", "version", and
// whatever the model needs to rebuild itself: config, vocabulary, scaler,
// thresholds) followed by the binary weights, whose exact size the header
// gives in "weights_bytes". Shared by every LibTorch model. Torch-free.
#ifndef TRIAD_MODELS_MODEL_FILE_H_
#define TRIAD_MODELS_MODEL_FILE_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "triad/status.h"

namespace triad {

struct ModelFileSpec {
  std::string format;      // e.g. "triad-deeplog"
  std::string what;        // for messages, e.g. "DeepLog"
  int oldest_version = 1;  // versions this build reads: [oldest_version, newest_version]
  int newest_version = 1;
};

// Writes `header` (REQUIRES: it holds "format" and "version"; "weights_bytes"
// is set here) as one line, then `weights`.
Status WriteModelFile(const std::string& path, nlohmann::json header, std::string_view weights);

// Reads a file written by WriteModelFile. Returns NotFound if it cannot be
// opened; Unsupported if it is not a Triad model of spec.format or its version
// is outside the spec's range (the message names what was found); Corruption
// if the weights are missing, truncated or followed by extra bytes.
Status ReadModelFile(const std::string& path, const ModelFileSpec& spec, nlohmann::json* header,
                     std::string* weights, int* version);

}  // namespace triad

#endif  // TRIAD_MODELS_MODEL_FILE_H_
