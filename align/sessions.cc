#include "align/sessions.h"

#include <fmt/core.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <map>
#include <numeric>
#include <unordered_map>
#include <utility>

namespace triad {

namespace {

bool IsWordChar(unsigned char c) { return std::isalnum(c) || c == '_'; }

// Parses a non-negative decimal at spec[*i]; returns false if none.
bool ParseCount(std::string_view spec, size_t* i, size_t* out) {
  size_t v = 0, start = *i;
  while (*i < spec.size() && spec[*i] >= '0' && spec[*i] <= '9') {
    v = v * 10 + static_cast<size_t>(spec[*i] - '0');
    if (v > (1u << 20)) return false;
    ++*i;
  }
  *out = v;
  return *i > start;
}

void AddLine(Session* s, const ParsedLine& l) {
  if (s->keys.empty()) s->service = l.service;
  s->keys.push_back(l.key);
  s->lines.push_back(l.line);
  if (l.time != 0) {
    if (s->start == 0 || l.time < s->start) s->start = l.time;
    if (s->end == 0 || l.time > s->end) s->end = l.time;
  }
}

}  // namespace

Status ParseIdPattern(std::string_view spec, IdPattern* out) {
  IdPattern p;
  p.spec = std::string(spec);
  size_t i = 0;
  auto err = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("id pattern '{}' at position {}: {}", spec, i, why));
  };
  while (i < spec.size() && spec[i] != '[') {
    char c = spec[i];
    if (c == '\\') {
      if (i + 1 >= spec.size()) return err("dangling backslash");
      p.prefix.push_back(spec[i + 1]);
      i += 2;
      continue;
    }
    if (c == '-' && i + 1 < spec.size() && spec[i + 1] == '?') {
      if (i + 2 >= spec.size() || spec[i + 2] != '[') return err("'-?' must precede '['");
      p.optional_minus = true;
      i += 2;
      continue;
    }
    if (c == '?' || c == '*' || c == '+' || c == '{' || c == '}' || c == '(' || c == ')' ||
        c == '|' || c == '.' || c == ']' || c == '^' || c == '$')
      return err(fmt::format("unsupported '{}' in the prefix (escape it with \\)", c));
    p.prefix.push_back(c);
    ++i;
  }
  if (i >= spec.size()) return err("expected a [charset]");
  ++i;  // '['
  bool any = false;
  while (i < spec.size() && spec[i] != ']') {
    unsigned char lo = static_cast<unsigned char>(spec[i]);
    if (lo == '\\' && i + 1 < spec.size()) lo = static_cast<unsigned char>(spec[++i]);
    unsigned char hi = lo;
    if (i + 2 < spec.size() && spec[i + 1] == '-' && spec[i + 2] != ']') {
      hi = static_cast<unsigned char>(spec[i + 2]);
      if (hi < lo) return err("reversed range");
      i += 2;
    }
    for (unsigned c = lo; c <= hi; ++c) p.charset[c] = true;
    any = true;
    ++i;
  }
  if (i >= spec.size()) return err("unterminated [charset]");
  if (!any) return err("empty [charset]");
  ++i;  // ']'
  if (i >= spec.size()) return err("expected '+' or '{n}' or '{n,m}' after the charset");
  if (spec[i] == '+') {
    ++i;
  } else if (spec[i] == '{') {
    ++i;
    if (!ParseCount(spec, &i, &p.min_len)) return err("expected a count");
    p.max_len = p.min_len;
    if (i < spec.size() && spec[i] == ',') {
      ++i;
      if (!ParseCount(spec, &i, &p.max_len)) return err("expected a count");
    }
    if (i >= spec.size() || spec[i] != '}') return err("expected '}'");
    ++i;
    if (p.min_len == 0 || p.max_len < p.min_len) return err("bad repetition counts");
  } else {
    return err("expected '+' or '{n}' or '{n,m}' after the charset");
  }
  if (i != spec.size()) return err("trailing text");
  *out = std::move(p);
  return Status::OK();
}

const IdPattern& HdfsBlockIdPattern() {
  static const IdPattern* p = [] {
    auto* x = new IdPattern;
    Status s = ParseIdPattern("blk_-?[0-9]+", x);
    (void)s;
    return x;
  }();
  return *p;
}

void FindIds(std::string_view text, const IdPattern& p, std::vector<std::string>* out) {
  out->clear();
  const size_t n = text.size();
  auto in_set = [&](size_t k) { return p.charset[static_cast<unsigned char>(text[k])]; };
  size_t i = 0;
  while (i < n) {
    size_t start = i;
    if (!p.prefix.empty()) {
      size_t f = text.find(p.prefix, i);
      if (f == std::string_view::npos) return;
      start = f;
    } else if (!in_set(i) && !(p.optional_minus && text[i] == '-')) {
      ++i;
      continue;
    }
    // Left boundary.
    if (start > 0) {
      unsigned char prev = static_cast<unsigned char>(text[start - 1]);
      bool bad = IsWordChar(prev) || (p.prefix.empty() && (prev == '-' || p.charset[prev]));
      if (bad) {
        i = start + 1;
        continue;
      }
    }
    size_t j = start + p.prefix.size();
    size_t run_begin = j;
    if (p.optional_minus && j < n && text[j] == '-') ++j, ++run_begin;
    size_t k = run_begin;
    while (k < n && in_set(k)) ++k;
    size_t len = k - run_begin;
    if (len >= p.min_len && len <= p.max_len) {
      std::string id(text.substr(start, k - start));
      if (std::find(out->begin(), out->end(), id) == out->end()) out->push_back(std::move(id));
      i = k;
    } else {
      i = std::max(k, start + 1);
    }
  }
}

std::vector<Session> SessionsById(const std::vector<ParsedLine>& lines, const IdPattern& p,
                                  uint64_t* unassigned) {
  std::vector<Session> out;
  std::unordered_map<std::string, size_t> index;
  std::vector<std::string> ids;
  uint64_t none = 0;
  for (const ParsedLine& l : lines) {
    FindIds(l.content, p, &ids);
    if (ids.empty()) {
      ++none;
      continue;
    }
    for (std::string& id : ids) {
      auto [it, fresh] = index.emplace(id, out.size());
      if (fresh) {
        out.emplace_back();
        out.back().id = std::move(id);
      }
      AddLine(&out[it->second], l);
    }
  }
  if (unassigned != nullptr) *unassigned = none;
  return out;
}

std::vector<Session> SessionsByTimeWindow(const std::vector<ParsedLine>& lines, TimeNs size,
                                          TimeNs step, bool per_service, uint64_t* untimed) {
  assert(size > 0 && step > 0);
  std::vector<size_t> order;
  uint64_t no_time = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].time == 0) {
      ++no_time;
      continue;
    }
    order.push_back(i);
  }
  if (untimed != nullptr) *untimed = no_time;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lines[a].time < lines[b].time; });
  auto floor_div = [](TimeNs a, TimeNs b) {
    TimeNs q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  };
  // (window start, service) -> session; std::map keeps start order.
  std::map<std::pair<TimeNs, std::string>, Session> win;
  for (size_t i : order) {
    const ParsedLine& l = lines[i];
    // Windows [k*step, k*step+size) containing t: k in (floor((t-size)/step), floor(t/step)].
    TimeNs k_hi = floor_div(l.time, step);
    TimeNs k_lo = floor_div(l.time - size, step) + 1;
    for (TimeNs k = k_lo; k <= k_hi; ++k) {
      TimeNs ws = k * step;
      std::string svc = per_service ? l.service : std::string();
      Session& s = win[{ws, svc}];
      if (s.id.empty()) {
        s.id = per_service ? fmt::format("{}/{}", ws, svc) : fmt::format("{}", ws);
      }
      std::string keep = s.keys.empty() ? (per_service ? svc : l.service) : s.service;
      AddLine(&s, l);
      s.service = keep;
      s.start = ws;
      s.end = ws + size;
    }
  }
  std::vector<Session> out;
  out.reserve(win.size());
  for (auto& [k, s] : win) out.push_back(std::move(s));
  return out;
}

std::vector<Session> SessionsByService(const std::vector<ParsedLine>& lines) {
  std::vector<Session> out;
  std::unordered_map<std::string, size_t> index;
  for (const ParsedLine& l : lines) {
    auto [it, fresh] = index.emplace(l.service, out.size());
    if (fresh) {
      out.emplace_back();
      out.back().id = l.service;
    }
    AddLine(&out[it->second], l);
  }
  return out;
}

namespace {

// Collapses whitespace runs to one space and trims.
std::string NormalizeSpaces(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !o.empty()) o.push_back(' ');
    space = false;
    o.push_back(c);
  }
  return o;
}

}  // namespace

TemplateMatcher::TemplateMatcher(const std::vector<std::pair<uint32_t, std::string>>& templates) {
  for (const auto& [id, text] : templates) {
    Template t;
    t.id = id;
    std::string norm = NormalizeSpaces(text);
    size_t pos = 0;
    for (;;) {
      size_t w = norm.find("<*>", pos);
      if (w == std::string::npos) {
        t.parts.push_back(norm.substr(pos));
        break;
      }
      t.parts.push_back(norm.substr(pos, w - pos));
      pos = w + 3;
    }
    for (const auto& p : t.parts) t.literal_chars += p.size();
    templates_.push_back(std::move(t));
  }
  std::stable_sort(templates_.begin(), templates_.end(), [](const Template& a, const Template& b) {
    if (a.literal_chars != b.literal_chars) return a.literal_chars > b.literal_chars;
    return a.id < b.id;
  });
}

uint32_t TemplateMatcher::Match(std::string_view message) const {
  std::string m = NormalizeSpaces(message);
  std::string_view mv = m;
  for (const Template& t : templates_) {
    const auto& parts = t.parts;
    if (parts.size() == 1) {
      if (mv == parts[0]) return t.id;
      continue;
    }
    if (mv.size() < t.literal_chars) continue;
    if (mv.substr(0, parts[0].size()) != parts[0]) continue;
    const std::string& last = parts.back();
    if (mv.substr(mv.size() - last.size()) != last) continue;
    size_t pos = parts[0].size();
    size_t limit = mv.size() - last.size();
    bool ok = pos <= limit;
    for (size_t i = 1; ok && i + 1 < parts.size(); ++i) {
      size_t f = mv.substr(0, limit).find(parts[i], pos);
      if (f == std::string_view::npos) ok = false;
      else pos = f + parts[i].size();
    }
    if (ok) return t.id;
  }
  return 0;
}

}  // namespace triad
