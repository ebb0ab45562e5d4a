#include "align/trace_sequences.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/rng.h"

namespace triad {

// ---------------------------------------------------------------------------
// Trace

TimeNs Trace::start() const {
  if (spans.empty()) return 0;
  TimeNs s = spans[0].start;
  for (const Span& sp : spans) s = std::min(s, sp.start);
  return s;
}

TimeNs Trace::end() const {
  if (spans.empty()) return 0;
  TimeNs e = spans[0].end;
  for (const Span& sp : spans) e = std::max(e, sp.end);
  return e;
}

void FinalizeTrace(Trace* t) {
  const size_t n = t->spans.size();
  // First index per span id (input order), for parent lookup and depth.
  std::unordered_map<std::string_view, uint32_t> first;
  first.reserve(n * 2);
  for (uint32_t i = 0; i < n; ++i) first.emplace(t->spans[i].span_id, i);
  std::vector<int32_t> par(n, -1);
  for (uint32_t i = 0; i < n; ++i) {
    const std::string& p = t->spans[i].parent_span_id;
    if (p.empty()) continue;
    auto it = first.find(p);
    if (it != first.end() && it->second != i) par[i] = static_cast<int32_t>(it->second);
  }
  // Depth by walking up; -2 = in progress (cycle detection).
  std::vector<int32_t> depth(n, -1);
  std::vector<uint32_t> stack;
  for (uint32_t i = 0; i < n; ++i) {
    if (depth[i] >= 0) continue;
    uint32_t cur = i;
    while (depth[cur] == -1) {
      depth[cur] = -2;
      stack.push_back(cur);
      if (par[cur] < 0) break;
      cur = static_cast<uint32_t>(par[cur]);
    }
    int32_t base;
    if (depth[cur] >= 0) {
      base = depth[cur];  // reached a known ancestor
    } else if (par[cur] < 0) {
      base = -1;          // reached a root (it is on the stack)
    } else {
      // Cycle: cur is on the stack. Break it: cur acts as a root.
      par[cur] = -1;
      base = -1;
    }
    while (!stack.empty()) {
      const uint32_t s = stack.back();
      stack.pop_back();
      depth[s] = ++base;
    }
  }
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  const auto& sp = t->spans;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (sp[a].start != sp[b].start) return sp[a].start < sp[b].start;
    if (depth[a] != depth[b]) return depth[a] < depth[b];
    if (sp[a].span_id != sp[b].span_id) return sp[a].span_id < sp[b].span_id;
    if (sp[a].end != sp[b].end) return sp[a].end < sp[b].end;
    return a < b;
  });
  std::vector<uint32_t> pos(n);
  for (uint32_t k = 0; k < n; ++k) pos[order[k]] = k;
  std::vector<Span> sorted;
  sorted.reserve(n);
  t->parent.assign(n, -1);
  t->orphans = 0;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = order[k];
    if (par[i] >= 0) {
      t->parent[k] = static_cast<int32_t>(pos[par[i]]);
    } else if (!t->spans[i].parent_span_id.empty() && !first.count(t->spans[i].parent_span_id)) {
      ++t->orphans;
    }
  }
  for (uint32_t k = 0; k < n; ++k) sorted.push_back(std::move(t->spans[order[k]]));
  t->spans = std::move(sorted);
}

std::string TraceAssemblyStats::Summary() const {
  return fmt::format(
      "{} spans -> {} traces ({} evicted early); dropped: {} without trace id, {} late, {} over "
      "the span limit; {} duplicate span ids, {} orphan spans",
      spans, traces, evicted, no_trace_id, late_spans, over_span_limit, duplicate_span_ids,
      orphans);
}

std::vector<Trace> AssembleTraces(std::vector<Span> spans, TraceAssemblyStats* stats,
                                  size_t max_spans_per_trace) {
  TraceAssemblyStats local;
  TraceAssemblyStats& st = stats ? *stats : local;
  std::unordered_map<std::string, size_t> index;
  std::vector<Trace> traces;
  std::vector<std::unordered_set<std::string>> ids;
  for (Span& s : spans) {
    ++st.spans;
    if (s.trace_id.empty()) {
      ++st.no_trace_id;
      continue;
    }
    auto [it, fresh] = index.emplace(s.trace_id, traces.size());
    if (fresh) {
      traces.emplace_back();
      traces.back().trace_id = s.trace_id;
      ids.emplace_back();
    }
    Trace& t = traces[it->second];
    if (t.spans.size() >= max_spans_per_trace) {
      ++st.over_span_limit;
      continue;
    }
    if (!ids[it->second].insert(s.span_id).second) ++st.duplicate_span_ids;
    t.spans.push_back(std::move(s));
  }
  for (Trace& t : traces) {
    FinalizeTrace(&t);
    st.orphans += t.orphans;
  }
  std::vector<std::pair<TimeNs, size_t>> order;
  order.reserve(traces.size());
  for (size_t i = 0; i < traces.size(); ++i) order.emplace_back(traces[i].start(), i);
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return traces[a.second].trace_id < traces[b.second].trace_id;
  });
  std::vector<Trace> out;
  out.reserve(traces.size());
  for (const auto& o : order) out.push_back(std::move(traces[o.second]));
  st.traces += out.size();
  return out;
}

// ---------------------------------------------------------------------------
// TraceAssembler

TraceAssembler::TraceAssembler(const TraceAssemblerOptions& opts, EmitFn emit)
    : opts_(opts), emit_(std::move(emit)) {
  assert(opts_.max_open_traces >= 1);
  assert(emit_);
}

TraceAssembler::~TraceAssembler() = default;

void TraceAssembler::Add(Span&& span) {
  ++stats_.spans;
  if (span.trace_id.empty()) {
    ++stats_.no_trace_id;
    return;
  }
  const TimeNs act = std::max(span.start, span.end);
  auto it = open_.find(span.trace_id);
  if (it == open_.end()) {
    if (done_.count(span.trace_id)) {
      ++stats_.late_spans;
      return;
    }
    if (open_.size() >= opts_.max_open_traces) {
      // Evict the least recently active trace.
      const std::string victim = by_last_.begin()->second;
      Complete(victim, /*evicted=*/true);
    }
    it = open_.emplace(span.trace_id, Open{}).first;
    it->second.trace.trace_id = span.trace_id;
    it->second.last = act;
    it->second.pos = by_last_.emplace(act, span.trace_id).first;
  } else if (act > it->second.last) {
    // Re-key the trace's entry in place (no string copy, no allocation).
    auto node = by_last_.extract(it->second.pos);
    node.value().first = act;
    it->second.pos = by_last_.insert(std::move(node)).position;
    it->second.last = act;
  }
  Open& o = it->second;
  if (o.trace.spans.size() >= opts_.max_spans_per_trace) {
    ++stats_.over_span_limit;
  } else {
    o.trace.spans.push_back(std::move(span));  // duplicate ids are counted in Complete()
  }
  if (act > watermark_) watermark_ = act;
  CompleteIdle();
}

void TraceAssembler::AdvanceTo(TimeNs event_time) {
  if (event_time > watermark_) watermark_ = event_time;
  CompleteIdle();
}

void TraceAssembler::CompleteIdle() {
  while (!by_last_.empty()) {
    const auto& front = *by_last_.begin();
    // watermark - last > timeout, without overflow: last < watermark - timeout.
    if (watermark_ < INT64_MIN + opts_.idle_timeout ||
        front.first >= watermark_ - opts_.idle_timeout)
      break;
    const std::string id = front.second;
    Complete(id, /*evicted=*/false);
  }
}

void TraceAssembler::Complete(const std::string& id, bool evicted) {
  auto it = open_.find(id);
  assert(it != open_.end());
  Trace t = std::move(it->second.trace);
  by_last_.erase(it->second.pos);
  open_.erase(it);
  {
    std::vector<std::string_view> ids;
    ids.reserve(t.spans.size());
    for (const Span& s : t.spans) ids.push_back(s.span_id);
    std::sort(ids.begin(), ids.end());
    for (size_t i = 1; i < ids.size(); ++i) stats_.duplicate_span_ids += ids[i] == ids[i - 1];
  }
  if (opts_.remember_completed > 0) {
    if (done_fifo_.size() >= opts_.remember_completed) {
      done_.erase(done_fifo_.front());
      done_fifo_.pop_front();
    }
    done_.insert(id);
    done_fifo_.push_back(id);
  }
  t.evicted = evicted;
  FinalizeTrace(&t);
  ++stats_.traces;
  if (evicted) ++stats_.evicted;
  stats_.orphans += t.orphans;
  emit_(std::move(t));
}

void TraceAssembler::Flush() {
  while (!by_last_.empty()) {
    const std::string id = by_last_.begin()->second;
    Complete(id, /*evicted=*/false);
  }
}

// ---------------------------------------------------------------------------
// Labels

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!IsHex(s[i])) {
      return false;
    }
  }
  return true;
}

bool IsIdSegment(std::string_view seg) {
  if (seg.empty()) return false;
  size_t digits = 0, letters = 0, hex_only = 1, alnum_only = 1;
  for (char c : seg) {
    if (IsDigit(c)) ++digits;
    else if (IsAlpha(c)) ++letters;
    if (!IsHex(c)) hex_only = 0;
    if (!IsDigit(c) && !IsAlpha(c)) alnum_only = 0;
  }
  if (digits == 0) return false;
  if (letters == 0) return true;                        // 123, 2021-08-17, 1.5
  if (IsUuid(seg)) return true;
  if (hex_only && seg.size() >= 4) return true;         // a16d, 5f3a9c0e
  if (alnum_only && digits >= 3) return true;           // G1234, user123
  if (seg.size() >= 16) return true;                    // long tokens with digits
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string UrlPattern(std::string_view url) {
  url = Trim(url);
  // Drop query and fragment.
  size_t q = url.find_first_of("?#");
  if (q != std::string_view::npos) url = url.substr(0, q);
  // Drop scheme://authority.
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos && url.find('/') > scheme) {
    url = url.substr(scheme + 3);
    size_t slash = url.find('/');
    url = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  }
  std::string out;
  out.reserve(url.size() + 1);
  size_t i = 0;
  while (i < url.size()) {
    while (i < url.size() && url[i] == '/') ++i;
    if (i >= url.size()) break;
    size_t j = url.find('/', i);
    if (j == std::string_view::npos) j = url.size();
    std::string_view seg = url.substr(i, j - i);
    out.push_back('/');
    if (IsIdSegment(seg)) out += "id";
    else out.append(seg);
    i = j;
  }
  if (out.empty()) out = "/";
  return out;
}

bool IsHttpSpan(const Span& s) {
  return s.http_status_code != 0 || !s.http_url.empty() || !s.http_method.empty();
}

namespace {
std::string HostPart(const Span& s, LabelHost mode) {
  switch (mode) {
    case LabelHost::kNone:
      return std::string();
    case LabelHost::kService:
      return s.service;
    case LabelHost::kHost:
      break;
  }
  for (const char* k : {"net.host.name", "server.address", "host.name"}) {
    if (std::string_view(k) == "server.address" && s.kind != SpanKind::kServer) continue;
    if (const std::string* v = FindAttribute(s.attributes, k); v && !v->empty()) return *v;
  }
  if (!s.host.empty()) return s.host;
  return s.service;
}
}  // namespace

std::string EventLabel(const Span& s, const LabelOptions& opts) {
  std::string out;
  if (IsHttpSpan(s)) {
    if (s.http_status_code != 0) out = std::to_string(s.http_status_code);
    else out = s.status == SpanStatus::kError ? "err" : "0";
    if (opts.http_method && !s.http_method.empty()) {
      out.push_back('_');
      out += s.http_method;
    }
    out.push_back('_');
    out += UrlPattern(s.http_url.empty() ? std::string_view(s.name) : std::string_view(s.http_url));
    std::string host = HostPart(s, opts.host);
    if (!host.empty()) {
      out.push_back('_');
      out += host;
    }
    return out;
  }
  out = s.service;
  out.push_back('_');
  out += s.name;
  if (opts.error_suffix && s.status == SpanStatus::kError) out += "_err";
  return out;
}

LabeledTrace LabelTrace(const Trace& t, const LabelOptions& opts) {
  LabeledTrace lt;
  lt.trace_id = t.trace_id;
  lt.start = t.start();
  lt.labels.reserve(t.spans.size());
  lt.durations.reserve(t.spans.size());
  for (const Span& s : t.spans) {
    lt.labels.push_back(EventLabel(s, opts));
    lt.durations.push_back(std::max<TimeNs>(0, s.end - s.start));
  }
  return lt;
}

// ---------------------------------------------------------------------------
// EventVocabulary

EventVocabulary::EventVocabulary() {
  labels_ = {kPadLabel, kUnknownLabel};
  counts_ = {0, 0};
  index_ = {{kPadLabel, kPad}, {kUnknownLabel, kUnknown}};
}

void EventVocabulary::Fit(const std::vector<LabeledTrace>& train, size_t top_m,
                          uint64_t min_count) {
  std::unordered_map<std::string, uint64_t> counts;
  for (const LabeledTrace& t : train)
    for (const std::string& l : t.labels) ++counts[l];
  FitCounts(counts, top_m, min_count);
}

void EventVocabulary::FitCounts(const std::unordered_map<std::string, uint64_t>& counts,
                                size_t top_m, uint64_t min_count) {
  std::vector<std::pair<std::string, uint64_t>> v;
  for (const auto& [l, c] : counts)
    if (c >= min_count && l != kPadLabel && l != kUnknownLabel) v.emplace_back(l, c);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  if (top_m > 0 && v.size() > top_m) v.resize(top_m);
  *this = EventVocabulary();
  for (auto& [l, c] : v) {
    index_.emplace(l, static_cast<uint32_t>(labels_.size()));
    labels_.push_back(l);
    counts_.push_back(c);
  }
}

uint32_t EventVocabulary::Index(std::string_view label) const {
  auto it = index_.find(std::string(label));
  return it == index_.end() ? kUnknown : it->second;
}

std::string EventVocabulary::ToJson() const {
  nlohmann::json j;
  j["format"] = "triad-event-vocabulary";
  j["version"] = 1;
  j["labels"] = labels_;
  j["counts"] = counts_;
  return j.dump();
}

Status EventVocabulary::FromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("vocabulary: not a JSON object");
  if (j.value("format", std::string()) != "triad-event-vocabulary")
    return Status::Corruption("vocabulary: format is not triad-event-vocabulary");
  auto l = j.find("labels");
  auto c = j.find("counts");
  if (l == j.end() || !l->is_array() || c == j.end() || !c->is_array() || l->size() != c->size())
    return Status::Corruption("vocabulary: labels/counts missing or of different sizes");
  if (l->size() < 2 || !(*l)[0].is_string() || (*l)[0] != kPadLabel || !(*l)[1].is_string() ||
      (*l)[1] != kUnknownLabel)
    return Status::Corruption("vocabulary: entries 0 and 1 must be \"!0\" and \"!unk\"");
  EventVocabulary v;
  for (size_t i = 2; i < l->size(); ++i) {
    if (!(*l)[i].is_string() || !(*c)[i].is_number_unsigned())
      return Status::Corruption(fmt::format("vocabulary: bad entry {}", i));
    std::string label = (*l)[i].get<std::string>();
    if (!v.index_.emplace(label, static_cast<uint32_t>(v.labels_.size())).second)
      return Status::Corruption(fmt::format("vocabulary: duplicate label '{}'", label));
    v.labels_.push_back(std::move(label));
    v.counts_.push_back((*c)[i].get<uint64_t>());
  }
  *this = std::move(v);
  return Status::OK();
}

namespace {
Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot open " + path + " for writing");
  f << text << '\n';
  f.close();
  if (!f) return Status::IOError("cannot write " + path);
  return Status::OK();
}
Status ReadText(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return Status::OK();
}
}  // namespace

Status EventVocabulary::Save(const std::string& path) const { return WriteText(path, ToJson()); }

Status EventVocabulary::Load(const std::string& path) {
  std::string text;
  TRIAD_RETURN_IF_ERROR(ReadText(path, &text));
  Status s = FromJson(text);
  if (!s.ok()) return Status::Corruption(path + ": " + s.message());
  return s;
}

// ---------------------------------------------------------------------------
// Sequences

std::string SequenceStats::Summary() const {
  return fmt::format(
      "{} traces: {} kept ({} events, {} unknown), skipped {} too short, {} too long, {} over the "
      "per-length cap; {} truncated",
      traces, kept, events, unknown, too_short, too_long, capped, truncated);
}

std::vector<EventSequence> ToEventSequences(const std::vector<LabeledTrace>& traces,
                                            const EventVocabulary& vocab,
                                            const LengthFilter& filter, SequenceStats* stats) {
  SequenceStats local;
  SequenceStats& st = stats ? *stats : local;
  // Candidate indices per kept length (before the per-length cap).
  std::vector<size_t> cand;
  std::vector<size_t> len_of(traces.size(), 0);
  for (size_t i = 0; i < traces.size(); ++i) {
    const size_t n = traces[i].labels.size();
    ++st.traces;
    ++st.length_hist[n];
    if (n < filter.min_length) {
      ++st.too_short;
      continue;
    }
    size_t len = n;
    if (n > filter.max_length) {
      if (!filter.truncate) {
        ++st.too_long;
        continue;
      }
      len = filter.max_length;
    }
    len_of[i] = len;
    cand.push_back(i);
  }
  std::vector<char> keep(traces.size(), 0);
  if (filter.max_per_length == 0) {
    for (size_t i : cand) keep[i] = 1;
  } else {
    // Reservoir sampling per length (algorithm R), seeded.
    Rng rng(filter.seed, 17);
    std::map<size_t, std::vector<size_t>> res;
    std::map<size_t, uint64_t> seen;
    for (size_t i : cand) {
      const size_t len = len_of[i];
      auto& r = res[len];
      const uint64_t k = seen[len]++;
      if (r.size() < filter.max_per_length) {
        r.push_back(i);
      } else {
        const uint64_t j = rng.Below(k + 1);
        if (j < filter.max_per_length) r[j] = i;
      }
    }
    for (const auto& [len, r] : res)
      for (size_t i : r) keep[i] = 1;
    st.capped += cand.size();
    for (const auto& [len, r] : res) st.capped -= r.size();
  }
  std::vector<EventSequence> out;
  for (size_t i = 0; i < traces.size(); ++i) {
    if (!keep[i]) continue;
    const LabeledTrace& t = traces[i];
    const size_t len = len_of[i];
    if (len < t.labels.size()) ++st.truncated;
    EventSequence s;
    s.trace_id = t.trace_id;
    s.labels.reserve(len);
    s.durations.reserve(len);
    for (size_t k = 0; k < len; ++k) {
      const uint32_t idx = vocab.Index(t.labels[k]);
      if (idx == EventVocabulary::kUnknown) ++st.unknown;
      s.labels.push_back(idx);
      s.durations.push_back(k < t.durations.size() ? t.durations[k] : 0);
    }
    st.events += len;
    ++st.kept;
    out.push_back(std::move(s));
  }
  return out;
}

// ---------------------------------------------------------------------------
// RtScaler

void RtScaler::Fit(const std::vector<EventSequence>& train) {
  range_.clear();
  bool any = false;
  for (const EventSequence& s : train) {
    for (size_t i = 0; i < s.labels.size() && i < s.durations.size(); ++i) {
      const double d = static_cast<double>(s.durations[i]);
      auto [it, fresh] = range_.emplace(s.labels[i], std::make_pair(d, d));
      if (!fresh) {
        it->second.first = std::min(it->second.first, d);
        it->second.second = std::max(it->second.second, d);
      }
      if (!any) {
        gmin_ = gmax_ = d;
        any = true;
      } else {
        gmin_ = std::min(gmin_, d);
        gmax_ = std::max(gmax_, d);
      }
    }
  }
  // Unknown-label statistics are not label-specific: use the global range.
  range_.erase(EventVocabulary::kUnknown);
  fitted_ = true;
}

float RtScaler::Scale(uint32_t label, TimeNs rt) const {
  double lo = gmin_, hi = gmax_;
  if (auto it = range_.find(label); it != range_.end()) {
    lo = it->second.first;
    hi = it->second.second;
  }
  const double den = std::max(hi - lo, static_cast<double>(std::max<TimeNs>(min_range_, 1)));
  double x = (static_cast<double>(rt) - lo) / den;
  x = std::clamp(x, 0.0, static_cast<double>(clamp_hi_));
  return static_cast<float>(x);
}

double RtScaler::Unscale(uint32_t label, float scaled) const {
  double lo = gmin_, hi = gmax_;
  if (auto it = range_.find(label); it != range_.end()) {
    lo = it->second.first;
    hi = it->second.second;
  }
  const double den = std::max(hi - lo, static_cast<double>(std::max<TimeNs>(min_range_, 1)));
  return lo + static_cast<double>(scaled) * den;
}

std::string RtScaler::ToJson() const {
  nlohmann::json j;
  j["format"] = "triad-rt-scaler";
  j["version"] = 1;
  j["clamp_hi"] = clamp_hi_;
  j["min_range_ns"] = min_range_;
  j["global"] = {gmin_, gmax_};
  nlohmann::json labels = nlohmann::json::object();
  std::map<uint32_t, std::pair<double, double>> sorted(range_.begin(), range_.end());
  for (const auto& [l, r] : sorted) labels[std::to_string(l)] = {r.first, r.second};
  j["labels"] = std::move(labels);
  return j.dump();
}

Status RtScaler::FromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("rt scaler: not a JSON object");
  if (j.value("format", std::string()) != "triad-rt-scaler")
    return Status::Corruption("rt scaler: format is not triad-rt-scaler");
  auto pair_of = [](const nlohmann::json& v, std::pair<double, double>* out) {
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number()) return false;
    *out = {v[0].get<double>(), v[1].get<double>()};
    return out->first <= out->second;
  };
  std::pair<double, double> g;
  if (!j.contains("global") || !pair_of(j["global"], &g))
    return Status::Corruption("rt scaler: bad \"global\" range");
  if (!j.contains("clamp_hi") || !j["clamp_hi"].is_number() || !j.contains("min_range_ns") ||
      !j["min_range_ns"].is_number_integer() || !j.contains("labels") || !j["labels"].is_object())
    return Status::Corruption("rt scaler: clamp_hi/min_range_ns/labels missing");
  std::unordered_map<uint32_t, std::pair<double, double>> range;
  for (const auto& [k, v] : j["labels"].items()) {
    uint32_t l = 0;
    try {
      size_t used = 0;
      unsigned long x = std::stoul(k, &used);
      if (used != k.size() || x > UINT32_MAX) throw std::out_of_range(k);
      l = static_cast<uint32_t>(x);
    } catch (const std::exception&) {
      return Status::Corruption("rt scaler: bad label index '" + k + "'");
    }
    std::pair<double, double> r;
    if (!pair_of(v, &r)) return Status::Corruption("rt scaler: bad range for label " + k);
    range[l] = r;
  }
  clamp_hi_ = j["clamp_hi"].get<float>();
  min_range_ = j["min_range_ns"].get<TimeNs>();
  gmin_ = g.first;
  gmax_ = g.second;
  range_ = std::move(range);
  fitted_ = true;
  return Status::OK();
}

// ---------------------------------------------------------------------------
// EncodeTraces

TraceTensors EncodeTraces(const std::vector<EventSequence>& seqs, const RtScaler& scaler,
                          size_t max_length) {
  assert(max_length >= 1);
  assert(scaler.fitted());
  TraceTensors x;
  x.num_traces = seqs.size();
  x.time = max_length;
  const size_t total = seqs.size() * max_length;
  x.input_labels.assign(total, EventVocabulary::kPad);
  x.target_labels.assign(total, EventVocabulary::kPad);
  x.input_rt.assign(total, 0.f);
  x.target_rt.assign(total, 0.f);
  x.mask.assign(total, 0);
  x.lengths.reserve(seqs.size());
  for (size_t r = 0; r < seqs.size(); ++r) {
    const EventSequence& s = seqs[r];
    size_t n = std::min(s.labels.size(), s.durations.size());
    if (n > max_length) {
      n = max_length;
      ++x.truncated;
    }
    x.lengths.push_back(static_cast<int32_t>(n));
    const size_t row = r * max_length;
    for (size_t i = 0; i < n; ++i) {
      x.input_labels[row + i] = s.labels[i];
      x.input_rt[row + i] = scaler.Scale(s.labels[i], s.durations[i]);
      x.mask[row + i] = 1;
    }
    for (size_t i = 0; i + 1 < n; ++i) {
      x.target_labels[row + i] = x.input_labels[row + i + 1];
      x.target_rt[row + i] = x.input_rt[row + i + 1];
    }
  }
  return x;
}

// ---------------------------------------------------------------------------
// Execution relations

bool ExecutionRelations::Concurrent(uint32_t i, uint32_t j) const {
  for (const auto& set : concurrent) {
    const bool a = std::binary_search(set.begin(), set.end(), i);
    const bool b = std::binary_search(set.begin(), set.end(), j);
    if (a && b) return true;
    if (a || b) return false;
  }
  return false;
}

ExecutionRelations ExtractExecutionRelations(const Trace& t) {
  ExecutionRelations rel;
  const size_t n = t.spans.size();
  // Children per parent (-1 -> key n: roots and orphans), in trace order (by start).
  std::map<size_t, std::vector<uint32_t>> kids;
  for (uint32_t i = 0; i < n; ++i) {
    const int32_t p = i < t.parent.size() ? t.parent[i] : -1;
    kids[p < 0 ? n : static_cast<size_t>(p)].push_back(i);
    if (p >= 0) rel.dependent.emplace_back(static_cast<uint32_t>(p), i);
  }
  const auto& sp = t.spans;
  for (auto& [p, c] : kids) {
    std::stable_sort(c.begin(), c.end(),
                     [&](uint32_t a, uint32_t b) { return sp[a].start < sp[b].start; });
    // Concurrent sets: sweep by start, merging while the next start < max end so far.
    size_t k = 0;
    while (k < c.size()) {
      std::vector<uint32_t> set = {c[k]};
      TimeNs reach = sp[c[k]].end;
      size_t m = k + 1;
      while (m < c.size() && sp[c[m]].start < reach) {
        set.push_back(c[m]);
        reach = std::max(reach, sp[c[m]].end);
        ++m;
      }
      if (set.size() >= 2) {
        std::sort(set.begin(), set.end());
        rel.concurrent.push_back(std::move(set));
      }
      k = m;
    }
    // Immediate sequential successors.
    for (size_t a = 0; a < c.size(); ++a) {
      const TimeNs aend = sp[c[a]].end;
      TimeNs min_end = INT64_MAX;  // min end over candidates seen so far
      for (size_t b = 0; b < c.size(); ++b) {
        if (b == a || sp[c[b]].start < aend) continue;
        if (sp[c[b]].start >= min_end) break;  // a sibling lies between a and b
        rel.dependent.emplace_back(c[a], c[b]);
        min_end = std::min(min_end, sp[c[b]].end);
      }
    }
  }
  std::sort(rel.concurrent.begin(), rel.concurrent.end());
  std::sort(rel.dependent.begin(), rel.dependent.end());
  rel.dependent.erase(std::unique(rel.dependent.begin(), rel.dependent.end()), rel.dependent.end());
  return rel;
}

}  // namespace triad
