#include "serve/streaming_windows.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace triad {
namespace {

std::string SpanKeyOf(const std::string& trace_id, const std::string& span_id) {
  std::string k;
  k.reserve(trace_id.size() + span_id.size() + 1);
  k += trace_id;
  k += '\x1f';
  k += span_id;
  return k;
}

}  // namespace

struct StreamingWindows::Slot {
  std::unique_ptr<WindowAggregator> agg;
  std::unordered_map<std::string, MiniSpan> owners;  // every span of the slot, by key
  std::vector<Child> children;                        // spans with a parent id
  std::unordered_map<std::string, MetricSample> last;  // series key -> latest sample
};

StreamingWindows::StreamingWindows(StreamingWindowOptions opts, EmitFn emit)
    : opts_(opts), emit_(std::move(emit)) {
  assert(opts_.window > 0 && opts_.allowed_lateness >= 0);
  assert(emit_);
}

StreamingWindows::~StreamingWindows() = default;

StreamingWindows::Slot* StreamingWindows::SlotFor(TimeNs t) {
  if (!PlausibleEventTime(t)) {
    ++implausible_;
    return nullptr;
  }
  TimeNs start = WindowStart(t, opts_.window, 0);
  if (next_close_ != INT64_MIN && start < next_close_) {
    ++late_;
    return nullptr;
  }
  auto& slot = slots_[start];
  if (!slot) {
    slot = std::make_unique<Slot>();
    AlignOptions ao;
    ao.window = opts_.window;
    ao.origin = 0;
    ao.max_gap = 0;  // one slot plus context: no clock-skew clustering
    ao.max_operations = opts_.max_operations;
    slot->agg = std::make_unique<WindowAggregator>(ao);
  }
  min_time_ = std::min(min_time_, t);
  max_time_ = std::max(max_time_, t);
  return slot.get();
}

void StreamingWindows::OnSpan(Span&& span) {
  TimeNs t = span.start;
  Slot* s = SlotFor(t);
  if (s == nullptr) return;
  std::string key = SpanKeyOf(span.trace_id, span.span_id);
  if (!span.parent_span_id.empty())
    s->children.push_back({key, SpanKeyOf(span.trace_id, span.parent_span_id), span.service,
                           span.start, span.trace_id.size()});
  if (!span.span_id.empty())
    s->owners.try_emplace(std::move(key), MiniSpan{span.parent_span_id, span.service, span.start,
                                                   span.trace_id.size()});
  s->agg->OnSpan(std::move(span));
  Observed(0, t);
}

void StreamingWindows::OnLog(LogRecord&& log) {
  TimeNs t = log.time != 0 ? log.time : log.observed_time;
  Slot* s = SlotFor(t);
  if (s == nullptr) return;
  s->agg->OnLog(std::move(log));
  Observed(1, t);
}

void StreamingWindows::OnMetric(MetricSample&& sample) {
  TimeNs t = sample.time;
  Slot* s = SlotFor(t);
  if (s == nullptr) return;
  if (sample.kind != MetricKind::kGauge && std::isfinite(sample.value)) {
    auto [it, inserted] = s->last.try_emplace(MetricSeriesKey(sample));
    if (inserted || sample.time >= it->second.time) it->second = sample;
  }
  s->agg->OnMetric(std::move(sample));
  Observed(2, t);
}

void StreamingWindows::Observed(int signal, TimeNs t) {
  if (t <= front_[signal]) return;
  front_[signal] = t;
  TimeNs lo = INT64_MAX, hi = INT64_MIN;
  for (TimeNs f : front_) {
    if (f == INT64_MIN) continue;
    lo = std::min(lo, f);
    hi = std::max(hi, f);
  }
  TimeNs wm = std::max({lo, hi - opts_.max_signal_lag, forced_});
  if (wm <= watermark_) return;
  watermark_ = wm;
  CloseDue(false);
}

void StreamingWindows::AdvanceTo(TimeNs t) {
  forced_ = std::max(forced_, t);
  if (t <= watermark_) return;
  watermark_ = t;
  CloseDue(false);
}

void StreamingWindows::Flush() { CloseDue(true); }

void StreamingWindows::CloseDue(bool flush) {
  const TimeNs w = opts_.window;
  auto due = [&](TimeNs start) {
    if (flush) return !slots_.empty();
    // start + w + lateness <= watermark, without overflow.
    return watermark_ - opts_.allowed_lateness >= start && watermark_ - opts_.allowed_lateness - start >= w;
  };
  if (next_close_ == INT64_MIN) {
    if (slots_.empty()) return;
    next_close_ = slots_.begin()->first;
  }
  while (due(next_close_)) {
    if (!slots_.count(next_close_)) {
      // A run of empty slots: emit them (absent telemetry is a signal) unless
      // the run is longer than max_empty_gap.
      TimeNs next_data = slots_.empty() ? WindowStart(watermark_, w, 0) : slots_.begin()->first;
      if (next_data - next_close_ > opts_.max_empty_gap) {
        skipped_empty_ += static_cast<uint64_t>((next_data - next_close_) / w);
        next_close_ = next_data;
        owners_prev_.clear();
        owners_prev2_.clear();
        continue;
      }
    }
    CloseSlot(next_close_);
    next_close_ += w;
  }
}

void StreamingWindows::CloseSlot(TimeNs start) {
  const TimeNs w = opts_.window;
  const TimeNs slack = w / 10;
  ClosedSlot out;
  out.start = start;
  out.end = start + w;
  out.scoreable = start >= min_time_ - slack && out.end <= max_time_ + slack;
  auto it = slots_.find(start);
  if (it == slots_.end()) {
    owners_prev2_ = std::move(owners_prev_);
    owners_prev_.clear();
    emit_(std::move(out));
    return;
  }
  Slot& s = *it->second;
  // Feeds the aggregator a zero-length span: key = trace_id \x1f span_id,
  // trace_id of `trace_len` bytes.
  auto feed = [&](const std::string& key, size_t trace_len, std::string_view parent_span_id,
                  const std::string& service, TimeNs t) {
    Span x;
    x.trace_id = key.substr(0, trace_len);
    x.span_id = key.substr(trace_len + 1);
    x.parent_span_id = parent_span_id;
    x.service = service;
    x.start = x.end = t;
    x.kind = SpanKind::kInternal;
    s.agg->OnSpan(std::move(x));
  };
  // Parents in the two previous slots.
  std::unordered_set<std::string_view> fed;
  for (const Child& c : s.children) {
    const std::string& key = c.parent_key;
    if (s.owners.count(key) || fed.count(key)) continue;
    auto p = owners_prev_.find(key);
    if (p == owners_prev_.end()) {
      p = owners_prev2_.find(key);
      if (p == owners_prev2_.end()) continue;
    }
    feed(p->first, p->second.trace_len, p->second.parent_span_id, p->second.service,
         p->second.start);
    fed.insert(key);
  }
  // Children in later, still open slots.
  for (auto later = std::next(it); later != slots_.end(); ++later)
    for (const Child& c : later->second->children)
      if (s.owners.count(c.parent_key))
        feed(c.key, c.trace_len, std::string_view(c.parent_key).substr(c.trace_len + 1),
             c.service, c.start);
  // Each series' last sample before the slot.
  for (const auto& [key, sample] : s.last) {
    auto c = carry_.find(key);
    if (c != carry_.end()) s.agg->OnMetric(MetricSample(c->second));
  }
  for (WindowFeatures& wf : s.agg->Finish())
    if (wf.start == start) out.windows.push_back(std::move(wf));
  for (auto& [key, sample] : s.last) carry_[key] = std::move(sample);
  owners_prev2_ = std::move(owners_prev_);
  owners_prev_ = std::move(s.owners);
  slots_.erase(it);
  emit_(std::move(out));
}

}  // namespace triad
