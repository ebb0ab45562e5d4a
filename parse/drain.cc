#include "parse/drain.h"

#include <algorithm>
#include <cassert>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace triad {
namespace {

bool HasDigit(std::string_view s) {
  for (char c : s)
    if (c >= '0' && c <= '9') return true;
  return false;
}

// Returns true iff `s` is valid UTF-8 (so nlohmann::json can dump it).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// Bytes-safe JSON for a token: a string if valid UTF-8, else {"hex": "..."}.
nlohmann::json EncodeToken(const std::string& s) {
  if (ValidUtf8(s)) return s;
  static const char* kHex = "0123456789abcdef";
  std::string h;
  h.reserve(s.size() * 2);
  for (unsigned char c : s) {
    h.push_back(kHex[c >> 4]);
    h.push_back(kHex[c & 15]);
  }
  return nlohmann::json{{"hex", h}};
}

bool DecodeToken(const nlohmann::json& j, std::string* out) {
  if (j.is_string()) {
    *out = j.get<std::string>();
    return true;
  }
  if (!j.is_object() || !j.contains("hex") || !j["hex"].is_string()) return false;
  const std::string& h = j["hex"].get_ref<const std::string&>();
  if (h.size() % 2 != 0) return false;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < h.size(); i += 2) {
    int a = val(h[i]), b = val(h[i + 1]);
    if (a < 0 || b < 0) return false;
    out->push_back(static_cast<char>(a * 16 + b));
  }
  return true;
}

}  // namespace

DrainParser::DrainParser(DrainConfig cfg) : cfg_(cfg) {
  if (cfg_.depth < 3) cfg_.depth = 3;
  if (cfg_.max_children < 2) cfg_.max_children = 2;
}

DrainParser::~DrainParser() = default;

int DrainParser::max_node_depth() const { return cfg_.depth - 2; }

void DrainParser::Tokenize(std::string_view content, std::string* masked,
                           std::vector<std::string_view>* tok,
                           std::vector<std::string_view>* raw) const {
  SplitWhitespace(content, raw);
  if (!cfg_.mask) {
    *tok = *raw;
    return;
  }
  MaskMessage(content, mask_opts_, masked);
  SplitWhitespace(*masked, tok);
  // Masking keeps whitespace, so the counts agree; fall back defensively.
  if (tok->size() != raw->size()) *raw = *tok;
}

const DrainParser::Node* DrainParser::FindLeaf(const std::vector<std::string_view>& tokens) const {
  auto it = root_.find(tokens.size());
  if (it == root_.end()) return nullptr;
  const Node* cur = it->second.get();
  int depth = 1;
  for (std::string_view t : tokens) {
    if (depth >= max_node_depth() || depth >= static_cast<int>(tokens.size())) break;
    auto c = cur->children.find(t);
    if (c == cur->children.end()) c = cur->children.find(kWildcard);
    if (c == cur->children.end()) return nullptr;
    cur = c->second.get();
    ++depth;
  }
  return cur;
}

uint32_t DrainParser::FastMatch(const Node& leaf, const std::vector<std::string_view>& tokens,
                                double threshold, bool include_params) const {
  double best_sim = -1;
  int best_params = -1;
  uint32_t best = 0;
  for (uint32_t id : leaf.cluster_ids) {
    const Cluster& c = clusters_[id - 1];
    assert(c.tokens.size() == tokens.size());
    size_t same = 0, params = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (c.tokens[i] == kWildcard) {
        ++params;
        // A masked message token equals the wildcard (Drain3 counts neither).
        if (!include_params && tokens[i] == kWildcard) ++same;
        continue;
      }
      if (c.tokens[i] == tokens[i]) ++same;
    }
    if (include_params) same += params;
    double sim = tokens.empty() ? 1.0 : static_cast<double>(same) / tokens.size();
    if (sim > best_sim || (sim == best_sim && static_cast<int>(params) > best_params)) {
      best_sim = sim;
      best_params = static_cast<int>(params);
      best = id;
    }
  }
  return best_sim >= threshold ? best : 0;
}

void DrainParser::AddToTree(uint32_t id, const std::vector<std::string_view>& tokens) {
  auto& first = root_[tokens.size()];
  if (!first) first = std::make_unique<Node>();
  Node* cur = first.get();
  std::vector<std::string>& path = clusters_[id - 1].path;
  path.clear();
  const size_t max_children = static_cast<size_t>(cfg_.max_children);
  int depth = 1;
  for (std::string_view t : tokens) {
    if (depth >= max_node_depth() || depth >= static_cast<int>(tokens.size())) break;
    std::string_view key = t;
    auto it = cur->children.find(t);
    if (it == cur->children.end()) {
      bool has_wild = cur->children.count(kWildcard) > 0;
      if (HasDigit(t)) {
        key = kWildcard;
      } else if (has_wild) {
        if (cur->children.size() >= max_children) key = kWildcard;
      } else if (cur->children.size() + 1 >= max_children) {
        key = kWildcard;  // the last free slot becomes the overflow child
      }
    }
    path.emplace_back(key);
    auto& child = cur->children[path.back()];
    if (!child) child = std::make_unique<Node>();
    cur = child.get();
    ++depth;
  }
  cur->cluster_ids.push_back(id);
}

void DrainParser::PlaceByPath(uint32_t id, size_t length, const std::vector<std::string>& path) {
  auto& first = root_[length];
  if (!first) first = std::make_unique<Node>();
  Node* cur = first.get();
  for (const std::string& key : path) {
    auto& child = cur->children[key];
    if (!child) child = std::make_unique<Node>();
    cur = child.get();
  }
  cur->cluster_ids.push_back(id);
}

void DrainParser::JoinTokens(const std::vector<std::string>& toks, std::string* out) {
  out->clear();
  for (size_t i = 0; i < toks.size(); ++i) {
    if (i > 0) out->push_back(' ');
    out->append(toks[i]);
  }
}

void DrainParser::Prepare(std::string_view content, DrainScratch* s) const {
  Tokenize(content, &s->masked, &s->tok, &s->raw);
}

uint32_t DrainParser::Lookup(const DrainScratch& s) const {
  const Node* leaf = FindLeaf(s.tok);
  return leaf ? FastMatch(*leaf, s.tok, cfg_.sim_threshold, false) : 0;
}

DrainMatch DrainParser::Add(std::string_view content, std::vector<std::string>* params) {
  Prepare(content, &scratch_);
  return AddPrepared(scratch_, 0, version_ + 1, params);
}

DrainMatch DrainParser::AddPrepared(const DrainScratch& s, uint32_t hint, uint64_t hint_version,
                                    std::vector<std::string>* params) {
  const std::vector<std::string_view>& tok = s.tok;
  DrainMatch m;
  uint32_t id = hint_version == version_ ? hint : Lookup(s);
  if (id == 0) {
    Cluster c;
    c.tokens.assign(tok.begin(), tok.end());
    JoinTokens(c.tokens, &c.text);
    c.count = 1;
    clusters_.push_back(std::move(c));
    id = static_cast<uint32_t>(clusters_.size());
    AddToTree(id, tok);
    m.is_new = true;
    ++version_;
  } else {
    Cluster& c = clusters_[id - 1];
    assert(c.tokens.size() == tok.size());
    ++c.count;
    for (size_t i = 0; i < tok.size(); ++i) {
      if (c.tokens[i] != kWildcard && c.tokens[i] != tok[i]) {
        c.tokens[i] = kWildcard;
        m.changed = true;
      }
    }
    if (m.changed) {
      JoinTokens(c.tokens, &c.text);
      ++version_;
    }
  }
  m.template_id = id;
  if (params != nullptr) {
    params->clear();
    const Cluster& c = clusters_[id - 1];
    for (size_t i = 0; i < c.tokens.size(); ++i) {
      if (c.tokens[i].find(kWildcard) != std::string::npos) params->emplace_back(s.raw[i]);
    }
  }
  return m;
}

uint32_t DrainParser::Match(std::string_view content) const {
  std::string masked;
  std::vector<std::string_view> tok, raw;
  Tokenize(content, &masked, &tok, &raw);
  const Node* leaf = FindLeaf(tok);
  return leaf ? FastMatch(*leaf, tok, 1.0, true) : 0;
}

const std::string& DrainParser::TemplateText(uint32_t id) const {
  assert(id >= 1 && id <= clusters_.size());
  return clusters_[id - 1].text;
}

uint64_t DrainParser::Occurrences(uint32_t id) const {
  assert(id >= 1 && id <= clusters_.size());
  return clusters_[id - 1].count;
}

Status DrainParser::Save(const std::string& path) const {
  nlohmann::json j;
  j["format"] = kFormatTag;
  j["version"] = kFormatVersion;
  j["config"] = {{"depth", cfg_.depth},
                 {"sim_threshold", cfg_.sim_threshold},
                 {"max_children", cfg_.max_children},
                 {"mask", cfg_.mask}};
  nlohmann::json arr = nlohmann::json::array();
  for (size_t i = 0; i < clusters_.size(); ++i) {
    const Cluster& c = clusters_[i];
    nlohmann::json toks = nlohmann::json::array(), p = nlohmann::json::array();
    for (const auto& t : c.tokens) toks.push_back(EncodeToken(t));
    for (const auto& k : c.path) p.push_back(EncodeToken(k));
    arr.push_back({{"id", i + 1}, {"tokens", std::move(toks)}, {"count", c.count},
                   {"path", std::move(p)}});
  }
  j["templates"] = std::move(arr);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot write " + path);
  f << j.dump(1) << '\n';
  f.close();
  if (!f) return Status::IOError("write failed: " + path);
  return Status::OK();
}

Status DrainParser::Load(const std::string& path, std::unique_ptr<DrainParser>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(path + ": not JSON");
  if (!j.contains("format") || j["format"] != kFormatTag)
    return Status::Unsupported(path + ": not a triad Drain model");
  if (!j.contains("version") || j["version"] != kFormatVersion)
    return Status::Unsupported(path + ": unsupported Drain model version");
  try {
    const auto& c = j.at("config");
    DrainConfig cfg;
    cfg.depth = c.at("depth").get<int>();
    cfg.sim_threshold = c.at("sim_threshold").get<double>();
    cfg.max_children = c.at("max_children").get<int>();
    cfg.mask = c.at("mask").get<bool>();
    auto p = std::make_unique<DrainParser>(cfg);
    const auto& arr = j.at("templates");
    if (!arr.is_array()) return Status::Corruption(path + ": templates is not an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      const auto& t = arr[i];
      if (t.at("id").get<uint64_t>() != i + 1)
        return Status::Corruption(path + ": template ids are not dense");
      Cluster cl;
      std::string s;
      for (const auto& tok : t.at("tokens")) {
        if (!DecodeToken(tok, &s)) return Status::Corruption(path + ": bad token");
        cl.tokens.push_back(s);
      }
      for (const auto& k : t.at("path")) {
        if (!DecodeToken(k, &s)) return Status::Corruption(path + ": bad path key");
        cl.path.push_back(s);
      }
      size_t want = cl.tokens.empty()
                        ? 0
                        : std::min<size_t>(p->max_node_depth() - 1, cl.tokens.size() - 1);
      if (cl.path.size() != want) return Status::Corruption(path + ": bad tree path length");
      cl.count = t.at("count").get<uint64_t>();
      JoinTokens(cl.tokens, &cl.text);
      size_t len = cl.tokens.size();
      std::vector<std::string> keys = cl.path;
      p->clusters_.push_back(std::move(cl));
      p->PlaceByPath(static_cast<uint32_t>(i + 1), len, keys);
    }
    *out = std::move(p);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + ": " + e.what());
  }
  return Status::OK();
}

}  // namespace triad
