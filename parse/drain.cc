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

inline bool IsAlnumChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Returns true iff `open` and `close` are a bracket or quote pair.
bool IsPair(char open, char close) {
  return (open == '(' && close == ')') || (open == '[' && close == ']') ||
         (open == '{' && close == '}') || (open == '<' && close == '>') ||
         (open == '\'' && close == '\'') || (open == '"' && close == '"');
}

// Returns true iff template token `t` (which may hold "<*>" parts) matches
// message token `m`. A wildcard matches a non-empty run of characters, or
// an empty one between a bracket or quote pair ("(<*>)" matches "()"): an
// empty "key=" value differs from a set one, empty brackets hold an empty value.
bool GlobMatch(std::string_view t, std::string_view m) {
  if (t == m || t == kWildcard) return true;
  size_t w = t.find(kWildcard);
  if (w == std::string_view::npos) return false;
  // Prefix before the first wildcard, then each literal piece in order, the
  // last one anchored at the end.
  if (m.substr(0, w) != t.substr(0, w)) return false;
  size_t mi = w;
  size_t ti = w + kWildcard.size();
  for (;;) {
    size_t next = t.find(kWildcard, ti);
    std::string_view piece = t.substr(ti, next == std::string_view::npos ? t.npos : next - ti);
    size_t wpos = ti - kWildcard.size();
    size_t min_len = (wpos > 0 && ti < t.size() && IsPair(t[wpos - 1], t[ti])) ? 0 : 1;
    if (next == std::string_view::npos) {
      return m.size() - mi >= piece.size() + min_len && m.substr(m.size() - piece.size()) == piece;
    }
    if (mi + min_len > m.size()) return false;
    size_t f = m.find(piece, mi + min_len);
    if (f == std::string_view::npos) return false;
    mi = f + piece.size();
    ti = next + kWildcard.size();
  }
}

// A token that looks like a value even without digits: a path or a dotted
// name ("/a/b", "org.x.Y", "C:\\x").
bool LooksStructured(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '/' || c == '\\') return true;
    if (c == '.' && i > 0 && i + 1 < s.size() && IsAlnumChar(s[i - 1]) && IsAlnumChar(s[i + 1]))
      return true;
  }
  return false;
}

// How much a mismatch between template token `t` and message token `m` (t
// does not match m) weighs in the similarity's denominator.
//  - kWeak (1, as in Drain): a wildcard, a token with digits, a path or
//    dotted name, or "key=value" with the same key: values vary.
//  - kStrong: two different digit-free words ("error"/"ok",
//    "startup"/"shutdown"). Generic rationale: variables nearly always carry
//    digits, paths, dotted names or key=value values; a differing plain word
//    more often names a different event.
//  - kHard (never joins): a token without letters or digits ("-", "****":
//    separators and placeholders are format, not values), or a different
//    key=value structure (other key, or an empty vs a non-empty value):
//    fields name what a message is about.
enum class Mismatch { kWeak, kStrong, kHard };

// Returns true iff `s` has no letter or digit and is not an empty bracket or
// quote pair ("()", "[],": an empty value).
bool NoAlnum(std::string_view s) {
  for (char c : s)
    if (IsAlnumChar(c)) return false;
  return !(s.size() >= 2 && IsPair(s[0], s[1]));
}

Mismatch ClassifyMismatch(std::string_view t, std::string_view m) {
  bool tw = t == kWildcard, mw = m == kWildcard;
  if ((!tw && NoAlnum(t)) || (!mw && NoAlnum(m))) return Mismatch::kHard;
  if (tw || mw) return Mismatch::kWeak;
  if (HasDigit(t) || HasDigit(m)) return Mismatch::kWeak;
  if (LooksStructured(t) || LooksStructured(m)) return Mismatch::kWeak;
  size_t et = t.find('='), em = m.find('=');
  if (et != t.npos || em != m.npos) {
    if (et == t.npos || em == m.npos || t.substr(0, et) != m.substr(0, em)) return Mismatch::kHard;
    bool t_empty = et + 1 == t.size(), m_empty = em + 1 == m.size();
    return t_empty != m_empty ? Mismatch::kHard : Mismatch::kWeak;
  }
  return Mismatch::kStrong;
}

// The token that generalises template token `t` to also match `m`: a common
// "key=" prefix or punctuation-only prefix ("(", "'", "[") and a common
// punctuation-only suffix (")", ",", "'") are kept around one wildcard.
// Generic rationale: brackets, quotes, key= prefixes and trailing separators
// frame a value; they are not part of it.
std::string Generalize(std::string_view t, std::string_view m) {
  size_t first = t.find(kWildcard);
  size_t last = t.rfind(kWildcard);
  std::string_view head = first == t.npos ? t : t.substr(0, first);
  std::string_view tail = first == t.npos ? t : t.substr(last + kWildcard.size());
  size_t lcp = 0;
  while (lcp < head.size() && lcp < m.size() && head[lcp] == m[lcp]) ++lcp;
  // Keep "key=" (up to the last '=' of the common prefix), else only a
  // prefix without letters or digits.
  size_t p = 0;
  while (p < lcp && !IsAlnumChar(m[p])) ++p;
  for (size_t k = lcp; k > p; --k) {
    if (m[k - 1] == '=') {
      p = k;
      break;
    }
  }
  std::string_view mr = m.substr(p);
  size_t s = 0;
  while (s < tail.size() && s < mr.size() && tail[tail.size() - 1 - s] == mr[mr.size() - 1 - s] &&
         !IsAlnumChar(mr[mr.size() - 1 - s]))
    ++s;
  // The wildcard must stand for a non-empty part of both tokens, or for an
  // empty one between a bracket pair.
  bool pair = p > 0 && s > 0 && IsPair(m[p - 1], m[m.size() - s]);
  if (!pair && (p + s >= m.size() || (first == t.npos && p + s >= t.size())))
    return std::string(kWildcard);
  std::string out(m.substr(0, p));
  out.append(kWildcard);
  out.append(mr.substr(mr.size() - s));
  return out;
}

// A strong mismatch counts this many times in the similarity's denominator.
constexpr double kStrongWeight = 3.0;

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
    size_t same = 0, params = 0, strong = 0;
    bool hard = false;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const std::string& t = c.tokens[i];
      if (t == kWildcard) {
        ++params;
        // A masked message token equals the wildcard (Drain3 counts neither).
        if (!include_params && tokens[i] == kWildcard) ++same;
        continue;
      }
      if (t == tokens[i] || GlobMatch(t, tokens[i])) {
        ++same;
      } else {
        Mismatch k = ClassifyMismatch(t, tokens[i]);
        if (k == Mismatch::kHard) {
          hard = true;
          break;
        }
        if (k == Mismatch::kStrong) ++strong;
      }
    }
    if (hard) continue;
    if (include_params) same += params;
    double sim = tokens.empty() ? 1.0
                                : static_cast<double>(same) /
                                      (tokens.size() + (kStrongWeight - 1.0) * strong);
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
      if (!GlobMatch(c.tokens[i], tok[i])) {
        c.tokens[i] = Generalize(c.tokens[i], tok[i]);
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
