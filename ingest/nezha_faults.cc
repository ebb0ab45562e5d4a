#include "ingest/nezha_faults.h"

#include <algorithm>
#include <charconv>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/time_parse.h"
#include "ingest/dataset_csv.h"
#include "ingest/line_reader.h"

namespace triad {

namespace {

void SortEvents(std::vector<FaultEvent>* v) {
  std::stable_sort(v->begin(), v->end(), [](const FaultEvent& a, const FaultEvent& b) {
    return a.start < b.start;
  });
}

std::string JsonText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// Simulator ground_truth.json: {"faults":[{"id","type","services","start_ns","end_ns"}]}.
Status ParseSimFaults(const nlohmann::json& j, std::vector<FaultEvent>* out, ReadStats* stats,
                      const std::string& source) {
  const auto& faults = j.at("faults");
  if (!faults.is_array()) return Status::Corruption(source + ": \"faults\" is not a list");
  uint64_t idx = 0;
  for (const auto& f : faults) {
    ++idx;
    if (stats) ++stats->lines;
    if (!f.is_object() || !f.contains("start_ns") || !f.contains("end_ns") ||
        !f["start_ns"].is_number_integer() || !f["end_ns"].is_number_integer()) {
      if (stats) stats->Skip(source, idx, "fault without integer start_ns/end_ns");
      continue;
    }
    FaultEvent e;
    e.start = f["start_ns"].get<TimeNs>();
    e.end = f["end_ns"].get<TimeNs>();
    if (e.end <= e.start) {
      if (stats) stats->Skip(source, idx, "fault with end_ns <= start_ns");
      continue;
    }
    if (f.contains("id")) e.id = JsonText(f["id"]);
    if (f.contains("type")) e.kind = JsonText(f["type"]);
    if (f.contains("services") && f["services"].is_array()) {
      for (const auto& s : f["services"])
        if (s.is_string()) e.services.push_back(s.get<std::string>());
    }
    if (!e.services.empty()) e.service = e.services[0];
    if (stats) ++stats->records;
    out->push_back(std::move(e));
  }
  return Status::OK();
}

Status ParseNezha(const nlohmann::json& j, const NezhaFaultOptions& opts,
                  std::vector<FaultEvent>* out, ReadStats* stats, const std::string& source) {
  uint64_t idx = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_array())
      return Status::Corruption(source + ": key \"" + it.key() + "\" does not hold a list");
    int k = 0;
    for (const auto& f : it.value()) {
      ++idx;
      if (stats) ++stats->lines;
      const std::string id = fmt::format("{}#{}", it.key(), k++);
      if (!f.is_object()) {
        if (stats) stats->Skip(source, idx, "fault entry is not an object");
        continue;
      }
      TimeNs t = 0;
      if (!f.contains("inject_time") || !f["inject_time"].is_string() ||
          !ParseDateTime(f["inject_time"].get<std::string>(), &t)) {
        if (stats) stats->Skip(source, idx, "fault " + id + " without a parseable inject_time");
        continue;
      }
      if (!f.contains("inject_pod") || JsonText(f["inject_pod"]).empty()) {
        if (stats) stats->Skip(source, idx, "fault " + id + " without inject_pod");
        continue;
      }
      FaultEvent e;
      e.id = id;
      e.start = t;
      e.end = t + opts.duration;
      e.instance = JsonText(f["inject_pod"]);
      e.service = ServiceFromPodName(e.instance);
      e.services = {e.service};
      if (f.contains("inject_type")) e.kind = JsonText(f["inject_type"]);
      if (stats) ++stats->records;
      out->push_back(std::move(e));
    }
  }
  return Status::OK();
}

Status ParseAny(const std::string& text, const NezhaFaultOptions& opts,
                std::vector<FaultEvent>* out, ReadStats* stats, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption(source + ": fault list is not a JSON object");
  std::vector<FaultEvent> v;
  Status s;
  try {
    s = j.contains("faults") ? ParseSimFaults(j, &v, stats, source)
                             : ParseNezha(j, opts, &v, stats, source);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(source + ": " + e.what());
  }
  if (!s.ok()) return s;
  SortEvents(&v);
  *out = std::move(v);
  return Status::OK();
}

}  // namespace

Status ParseNezhaFaultList(const std::string& json, const NezhaFaultOptions& opts,
                           std::vector<FaultEvent>* out, ReadStats* stats) {
  if (opts.duration <= 0) return Status::InvalidArgument("fault duration must be > 0");
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption("fault_list.json: not a JSON object");
  std::vector<FaultEvent> v;
  try {
    TRIAD_RETURN_IF_ERROR(ParseNezha(j, opts, &v, stats, "fault_list.json"));
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("fault_list.json: ") + e.what());
  }
  SortEvents(&v);
  *out = std::move(v);
  return Status::OK();
}

Status LoadFaultEvents(const std::string& path, const NezhaFaultOptions& opts,
                       std::vector<FaultEvent>* out, ReadStats* stats) {
  if (opts.duration <= 0) return Status::InvalidArgument("fault duration must be > 0");
  std::unique_ptr<LineReader> r;
  Status s = LineReader::Open(path, &r);
  if (!s.ok()) return Status::IOError(s.message());
  std::string text;
  TRIAD_RETURN_IF_ERROR(r->ReadAll(&text, 256u << 20));
  if (!r->status().ok()) return Status::IOError(r->status().message());
  return ParseAny(text, opts, out, stats, path);
}

std::vector<FaultEvent> FaultsFromPointLabels(const std::vector<int>& labels, TimeNs t0,
                                              TimeNs step, const std::string& kind) {
  std::vector<FaultEvent> out;
  size_t i = 0;
  while (i < labels.size()) {
    if (labels[i] == 0) { ++i; continue; }
    size_t j = i;
    while (j + 1 < labels.size() && labels[j + 1] != 0) ++j;
    FaultEvent e;
    e.id = fmt::format("r{}", out.size() + 1);
    e.start = t0 + static_cast<TimeNs>(i) * step;
    e.end = t0 + static_cast<TimeNs>(j + 1) * step;
    e.kind = kind;
    out.push_back(std::move(e));
    i = j + 1;
  }
  return out;
}

Status ReadPointLabels(const std::string& path, std::vector<int>* out, ReadStats* stats) {
  std::unique_ptr<LineReader> r;
  Status s = LineReader::Open(path, &r);
  if (!s.ok()) return Status::IOError(s.message());
  std::vector<int> v;
  std::string_view line;
  while (r->Next(&line)) {
    if (stats) ++stats->lines;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) {
      v.push_back(0);  // keeps later points at their positions
      if (stats) stats->Skip(path, r->line_number(), "empty label line");
      continue;
    }
    double d = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), d);
    if (ec != std::errc() || p != line.data() + line.size()) {
      v.push_back(0);
      if (stats) stats->Skip(path, r->line_number(), "label is not a number");
      continue;
    }
    v.push_back(d != 0 ? 1 : 0);
    if (stats) ++stats->records;
  }
  if (!r->status().ok()) return Status::IOError(r->status().message());
  *out = std::move(v);
  return Status::OK();
}

}  // namespace triad
