#include "models/model_file.h"

#include <fstream>

namespace triad {
namespace {
constexpr size_t kMaxHeaderBytes = 64u << 20;
}  // namespace

Status WriteModelFile(const std::string& path, nlohmann::json header, std::string_view weights) {
  header["weights_bytes"] = weights.size();
  std::string line;
  try {
    line = header.dump();  // non-finite numbers become null; invalid UTF-8 throws
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("model header: ") + e.what());
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot write " + path);
  f << line << '\n';
  f.write(weights.data(), static_cast<std::streamsize>(weights.size()));
  f.close();
  if (!f) return Status::IOError("error writing " + path);
  return Status::OK();
}

Status ReadModelFile(const std::string& path, const ModelFileSpec& spec, nlohmann::json* header,
                     std::string* weights, int* version) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound(spec.what + ": cannot open " + path);
  std::string line;
  char c;
  while (f.get(c) && c != '\n') {
    line.push_back(c);
    if (line.size() > kMaxHeaderBytes) break;
  }
  const std::string not_ours = path + ": not a Triad " + spec.what + " model";
  if (line.empty() || line[0] != '{') return Status::Unsupported(not_ours + " (no JSON header)");
  nlohmann::json h = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (h.is_discarded() || !h.is_object())
    return Status::Unsupported(not_ours + " (bad JSON header)");
  auto fi = h.find("format");
  const std::string format = fi != h.end() && fi->is_string() ? fi->get<std::string>() : "";
  if (format != spec.format)
    return Status::Unsupported(path + ": not a " + spec.what + " model (format '" + format +
                               "', expected '" + spec.format + "')");
  auto vi = h.find("version");
  if (vi == h.end() || !vi->is_number_integer() || vi->get<int>() < spec.oldest_version ||
      vi->get<int>() > spec.newest_version) {
    std::string range = spec.oldest_version == spec.newest_version
                            ? "version " + std::to_string(spec.newest_version)
                            : "versions " + std::to_string(spec.oldest_version) + " to " +
                                  std::to_string(spec.newest_version);
    return Status::Unsupported(path + ": " + spec.what + " model version " +
                               (vi == h.end() ? std::string("?") : vi->dump()) +
                               ", this build reads " + range);
  }
  auto wb = h.find("weights_bytes");
  if (wb == h.end() || !wb->is_number_unsigned())
    return Status::Corruption(path + ": " + spec.what + " header lacks weights_bytes");
  const size_t n = wb->get<size_t>();
  const std::streampos here = f.tellg();
  f.seekg(0, std::ios::end);
  const std::streamoff left = f.tellg() - here;
  f.seekg(here);
  if (left < 0 || static_cast<size_t>(left) != n)
    return Status::Corruption(path + ": " + spec.what + " weights truncated or trailing bytes (" +
                              std::to_string(left) + " bytes, header says " + std::to_string(n) +
                              ")");
  weights->assign(n, '\0');
  f.read(weights->data(), static_cast<std::streamsize>(n));
  if (static_cast<size_t>(f.gcount()) != n)
    return Status::Corruption(path + ": " + spec.what + " weights truncated");
  *version = vi->get<int>();
  *header = std::move(h);
  return Status::OK();
}

}  // namespace triad
