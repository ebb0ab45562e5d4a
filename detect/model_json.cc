#include "detect/model_json.h"

#include <fmt/core.h>

#include <fstream>
#include <sstream>

namespace triad {

Status WriteJsonModel(const std::string& path, const nlohmann::json& doc) {
  std::string text;
  try {
    text = doc.dump();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("model file: ") + e.what());
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot create " + path);
  f << text << "\n";
  f.close();
  if (!f) return Status::IOError("cannot write " + path);
  return Status::OK();
}

Status ReadJsonModel(const std::string& path, const std::string& model, int version,
                     nlohmann::json* doc) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json d = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (d.is_discarded() || !d.is_object())
    return Status::Corruption(path + ": not a JSON object (expected a triad model file)");
  if (d.value("format", std::string()) != "triad-model")
    return Status::InvalidArgument(path + ": not a triad model file");
  const std::string found = d.value("model", std::string());
  if (found != model)
    return Status::InvalidArgument(fmt::format("{}: this is a '{}' model, not a '{}' model", path,
                                               found.empty() ? "unknown" : found, model));
  const int v = d.value("version", -1);
  if (v != version)
    return Status::Unsupported(fmt::format(
        "{}: {} model version {} is not supported (this build reads version {})", path, model, v,
        version));
  *doc = std::move(d);
  return Status::OK();
}

}  // namespace triad
