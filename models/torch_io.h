// Model files of single-module LibTorch models: the JSON header of
// models/model_file.h followed by the module's weights as a torch archive.
// Internal to models/ (it includes torch).
#ifndef TRIAD_MODELS_TORCH_IO_H_
#define TRIAD_MODELS_TORCH_IO_H_

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "models/model_file.h"
#include "triad/status.h"

namespace triad {

// Writes `header` and `module`'s weights to `path`. Returns IOError whose
// message starts with `what` (e.g. "trace model") on failure.
inline Status SaveModuleFile(const std::string& path, nlohmann::json header,
                             const torch::nn::Module& module, const std::string& what) {
  std::ostringstream blob;
  try {
    torch::serialize::OutputArchive ar;
    module.save(ar);
    ar.save_to(blob);
  } catch (const c10::Error& e) {
    return Status::IOError(what + ": serialising weights: " + e.what_without_backtrace());
  }
  Status st = WriteModelFile(path, std::move(header), blob.str());
  if (!st.ok()) return Status::IOError(what + ": " + st.message());
  return Status::OK();
}

// Loads `weights` (the part ReadModelFile returns) into `module`, whose
// layout must match. Returns Corruption "<path>: bad <what> weights: ..."
// for a damaged or mismatched archive.
inline Status LoadModuleWeights(const std::string& weights, torch::nn::Module& module,
                                const std::string& path, const std::string& what) {
  try {
    torch::serialize::InputArchive ar;
    std::istringstream in(weights);
    ar.load_from(in);
    module.load(ar);
  } catch (const c10::Error& e) {
    return Status::Corruption(path + ": bad " + what + " weights: " + e.what_without_backtrace());
  }
  return Status::OK();
}

}  // namespace triad

#endif  // TRIAD_MODELS_TORCH_IO_H_
