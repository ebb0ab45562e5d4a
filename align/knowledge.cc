#include "align/knowledge.h"

#include <fmt/core.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace triad {
namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "triad-knowledge";
constexpr int kVersion = 1;

// Reads a required string member; returns false (with *err set) if absent or
// not a string.
bool Str(const json& j, const char* key, const std::string& where, std::string* out,
         std::string* err) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    *err = fmt::format("{}: \"{}\" must be a string", where, key);
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool Num(const json& j, const char* key, const std::string& where, double* out, std::string* err,
         bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) *err = fmt::format("{}: \"{}\" is required", where, key);
    return !required;
  }
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    *err = fmt::format("{}: \"{}\" must be a finite number", where, key);
    return false;
  }
  *out = it->get<double>();
  return true;
}

const json& Array(const json& j, const char* key, bool* ok, std::string* err) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  if (it == j.end()) return kEmpty;
  if (!it->is_array()) {
    *ok = false;
    *err = fmt::format("\"{}\" must be an array", key);
    return kEmpty;
  }
  return *it;
}

std::vector<std::string> Tokens(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string t;
  while (in >> t) out.push_back(t);
  return out;
}

// True iff `text` equals `want`, or every token of `want` appears in `text`'s
// tokens in order.
bool TemplateMatches(const std::string& text, const std::string& want) {
  if (text == want) return true;
  std::vector<std::string> a = Tokens(text), b = Tokens(want);
  if (b.empty()) return false;
  size_t i = 0;
  for (const std::string& t : a)
    if (i < b.size() && t == b[i]) ++i;
  return i == b.size();
}

}  // namespace

Status ParseKnowledge(std::string_view text, Knowledge* out) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("knowledge: not a JSON object");
  if (j.value("format", std::string()) != kFormat)
    return Status::Unsupported(fmt::format("knowledge: \"format\" must be \"{}\"", kFormat));
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != kVersion)
    return Status::Unsupported(fmt::format("knowledge: version must be {}", kVersion));
  Knowledge k;
  std::string err;
  bool ok = true;
  const json& topo = Array(j, "topology", &ok, &err);
  for (size_t i = 0; ok && i < topo.size(); ++i) {
    std::string where = fmt::format("topology[{}]", i), a, b;
    ok = topo[i].is_object() && Str(topo[i], "caller", where, &a, &err) &&
         Str(topo[i], "callee", where, &b, &err);
    if (ok) k.topology.emplace_back(a, b);
  }
  const json& dep = ok ? Array(j, "deployment", &ok, &err) : topo;
  for (size_t i = 0; ok && i < dep.size(); ++i) {
    std::string where = fmt::format("deployment[{}]", i), s, h;
    ok = dep[i].is_object() && Str(dep[i], "service", where, &s, &err) &&
         Str(dep[i], "host", where, &h, &err);
    if (ok) k.deployment.emplace_back(s, h);
  }
  const json& faults = ok ? Array(j, "faults", &ok, &err) : topo;
  for (size_t i = 0; ok && i < faults.size(); ++i) {
    const json& f = faults[i];
    std::string where = fmt::format("faults[{}]", i);
    FaultSignature sig;
    ok = f.is_object() && Str(f, "name", where, &sig.name, &err) &&
         Str(f, "service", where, &sig.service, &err);
    if (!ok) break;
    auto it = f.find("signals");
    if (it == f.end() || !it->is_array() || it->empty()) {
      ok = false;
      err = fmt::format("{} ({}): \"signals\" must be a non-empty array", where, sig.name);
      break;
    }
    for (size_t s = 0; ok && s < it->size(); ++s) {
      const json& x = (*it)[s];
      std::string w = fmt::format("{}.signals[{}]", where, s);
      KnowledgeSignal ks;
      ok = x.is_object() && Str(x, "feature", w, &ks.feature, &err) &&
           Num(x, "change", w, &ks.change, &err, /*required=*/false);
      if (ok && ks.feature == "log:template")
        ok = Str(x, "template", w, &ks.template_text, &err);
      if (ok) sig.signals.push_back(std::move(ks));
    }
    if (ok) k.faults.push_back(std::move(sig));
  }
  const json& rules = ok ? Array(j, "rules", &ok, &err) : topo;
  for (size_t i = 0; ok && i < rules.size(); ++i) {
    const json& r = rules[i];
    std::string where = fmt::format("rules[{}]", i);
    AlertRule rule;
    ok = r.is_object() && Str(r, "name", where, &rule.name, &err) &&
         Str(r, "service", where, &rule.service, &err) &&
         Str(r, "feature", where, &rule.feature, &err) && Str(r, "op", where, &rule.op, &err) &&
         Num(r, "value", where, &rule.value, &err, /*required=*/true);
    if (ok && rule.op != ">" && rule.op != ">=" && rule.op != "<" && rule.op != "<=") {
      ok = false;
      err = fmt::format("{}: op must be one of > >= < <=, not \"{}\"", where, rule.op);
    }
    if (ok) k.rules.push_back(std::move(rule));
  }
  if (!ok) return Status::Corruption("knowledge: " + (err.empty() ? "entry is not an object" : err));
  *out = std::move(k);
  return Status::OK();
}

Status LoadKnowledge(const std::string& path, Knowledge* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open knowledge file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  Status s = ParseKnowledge(ss.str(), out);
  if (s.code() == Status::Code::kUnsupported) return Status::Unsupported(path + ": " + s.message());
  if (!s.ok()) return Status::Corruption(path + ": " + s.message());
  return s;
}

std::string KnowledgeToJson(const Knowledge& k) {
  json j = {{"format", kFormat}, {"version", kVersion}};
  j["topology"] = json::array();
  for (const auto& [a, b] : k.topology) j["topology"].push_back({{"caller", a}, {"callee", b}});
  j["deployment"] = json::array();
  for (const auto& [s, h] : k.deployment) j["deployment"].push_back({{"service", s}, {"host", h}});
  j["faults"] = json::array();
  for (const FaultSignature& f : k.faults) {
    json sig = json::array();
    for (const KnowledgeSignal& s : f.signals) {
      json x = {{"feature", s.feature}, {"change", s.change}};
      if (s.feature == "log:template") x["template"] = s.template_text;
      sig.push_back(std::move(x));
    }
    j["faults"].push_back({{"name", f.name}, {"service", f.service}, {"signals", std::move(sig)}});
  }
  j["rules"] = json::array();
  for (const AlertRule& r : k.rules)
    j["rules"].push_back({{"name", r.name},
                          {"service", r.service},
                          {"feature", r.feature},
                          {"op", r.op},
                          {"value", r.value}});
  return j.dump(2);
}

Status ResolveSignature(const FaultSignature& f, const ServiceGraphSeries& series,
                        std::vector<ResolvedSignal>* out) {
  out->clear();
  const int v = series.ServiceIndex(f.service);
  if (v < 0)
    return Status::NotFound(
        fmt::format("fault \"{}\": service \"{}\" is not in the data", f.name, f.service));
  for (const KnowledgeSignal& s : f.signals) {
    int col = -1;
    if (s.feature == "log:template") {
      const auto& slots = series.slot_templates[v];
      for (size_t k = 0; k < slots.size() && col < 0; ++k) {
        auto t = series.template_text.find(slots[k]);
        if (slots[k] != 0 && t != series.template_text.end() &&
            TemplateMatches(t->second, s.template_text))
          col = series.ColumnIndex(fmt::format("log:top{}", k + 1));
      }
      if (col < 0)
        return Status::NotFound(fmt::format(
            "fault \"{}\": no template slot of {} matches \"{}\"", f.name, f.service,
            s.template_text));
    } else {
      col = series.ColumnIndex(s.feature);
      if (col < 0)
        return Status::NotFound(
            fmt::format("fault \"{}\": no column \"{}\" in the data", f.name, s.feature));
    }
    out->push_back({v, col, s.change});
  }
  return Status::OK();
}

void ApplySignature(const std::vector<ResolvedSignal>& signals, int from_step, int to_step,
                    ServiceGraphSeries* s) {
  assert(0 <= from_step && from_step <= to_step && to_step <= s->steps);
  for (int t = from_step; t < to_step; ++t)
    for (const ResolvedSignal& r : signals) {
      const size_t i = s->Index(t, r.service, r.column);
      const float base = s->mask[i] && std::isfinite(s->x[i]) ? s->x[i] : 0.0f;
      s->x[i] = base + static_cast<float>(r.change);
      s->mask[i] = 1;
    }
}

bool RuleFires(const AlertRule& rule, const ServiceGraphSeries& raw, int t, int v) {
  if (rule.service != "*" && raw.services[v] != rule.service) return false;
  const int f = raw.ColumnIndex(rule.feature);
  if (f < 0 || !raw.observed(t, v, f)) return false;
  const double x = raw.value(t, v, f);
  if (!std::isfinite(x)) return false;
  if (rule.op == ">") return x > rule.value;
  if (rule.op == ">=") return x >= rule.value;
  if (rule.op == "<") return x < rule.value;
  return x <= rule.value;
}

std::vector<std::pair<int, int>> KnowledgeServicePairs(const Knowledge& k,
                                                       const ServiceGraphSeries& series) {
  std::vector<std::pair<int, int>> out;
  auto add = [&](int a, int b) {
    if (a >= 0 && b >= 0 && a != b) out.emplace_back(std::min(a, b), std::max(a, b));
  };
  for (const auto& [a, b] : k.topology) add(series.ServiceIndex(a), series.ServiceIndex(b));
  std::map<std::string, std::vector<int>> by_host;
  for (const auto& [s, h] : k.deployment) by_host[h].push_back(series.ServiceIndex(s));
  for (const auto& [h, v] : by_host)
    for (size_t i = 0; i < v.size(); ++i)
      for (size_t j = i + 1; j < v.size(); ++j) add(v[i], v[j]);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace triad
