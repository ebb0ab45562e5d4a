// JSON model files of the torch-free detectors (PCA, STIDE): one JSON object
// with "format": "triad-model", "model": <name>, "version": <int> and the
// model's own fields.
#ifndef TRIAD_DETECT_MODEL_JSON_H_
#define TRIAD_DETECT_MODEL_JSON_H_

#include <string>

#include <nlohmann/json.hpp>

#include "triad/status.h"

namespace triad {

// Writes `doc` (REQUIRES: it holds format, model and version) to `path`.
Status WriteJsonModel(const std::string& path, const nlohmann::json& doc);

// Reads `path` into *doc. Returns IOError if unreadable; Corruption if not a
// JSON object; InvalidArgument if not a triad model file or a model other than
// `model` (the message names the model found, e.g. "'stide'"); Unsupported if
// its version is not `version`.
Status ReadJsonModel(const std::string& path, const std::string& model, int version,
                     nlohmann::json* doc);

}  // namespace triad

#endif  // TRIAD_DETECT_MODEL_JSON_H_
