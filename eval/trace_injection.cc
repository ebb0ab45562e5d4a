#include "eval/trace_injection.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "sim/rng.h"

namespace triad {

const char* InjectionKindName(InjectionKind k) {
  switch (k) {
    case InjectionKind::kReplace: return "replace";
    case InjectionKind::kSwap: return "swap";
    case InjectionKind::kInsert: return "insert";
    case InjectionKind::kDelete: return "delete";
    case InjectionKind::kResponseTime: return "rt";
  }
  return "?";
}

bool ParseInjectionKind(const std::string& name, InjectionKind* out) {
  for (InjectionKind k : {InjectionKind::kReplace, InjectionKind::kSwap, InjectionKind::kInsert,
                          InjectionKind::kDelete, InjectionKind::kResponseTime}) {
    if (name == InjectionKindName(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

namespace {
void Begin(const EventSequence& s, InjectionKind kind, uint32_t pos, InjectedAnomaly* out) {
  out->kind = kind;
  out->position = pos;
  out->other_position = pos;
  out->original_label = 0;
  out->injected_label = 0;
  out->original_rt = out->injected_rt = 0;
  out->clean_length = static_cast<uint32_t>(s.labels.size());
}
}  // namespace

bool InjectReplace(EventSequence* seq, uint32_t position, uint32_t label, InjectedAnomaly* out) {
  if (position >= seq->labels.size() || seq->labels[position] == label) return false;
  Begin(*seq, InjectionKind::kReplace, position, out);
  out->original_label = seq->labels[position];
  out->injected_label = label;
  seq->labels[position] = label;
  return true;
}

bool InjectSwap(EventSequence* seq, uint32_t i, uint32_t j, InjectedAnomaly* out) {
  if (i >= j || j >= seq->labels.size() || seq->labels[i] == seq->labels[j]) return false;
  Begin(*seq, InjectionKind::kSwap, i, out);
  out->other_position = j;
  out->original_label = seq->labels[i];
  out->injected_label = seq->labels[j];
  std::swap(seq->labels[i], seq->labels[j]);
  if (j < seq->durations.size()) std::swap(seq->durations[i], seq->durations[j]);
  return true;
}

bool InjectInsert(EventSequence* seq, uint32_t position, uint32_t label, TimeNs rt,
                  InjectedAnomaly* out) {
  if (position > seq->labels.size()) return false;
  Begin(*seq, InjectionKind::kInsert, position, out);
  out->original_label = position < seq->labels.size() ? seq->labels[position] : 0;
  out->injected_label = label;
  out->injected_rt = rt;
  seq->labels.insert(seq->labels.begin() + position, label);
  seq->durations.resize(seq->labels.size() - 1, 0);
  seq->durations.insert(seq->durations.begin() + position, rt);
  return true;
}

bool InjectDelete(EventSequence* seq, uint32_t position, InjectedAnomaly* out) {
  if (seq->labels.size() < 2 || position >= seq->labels.size()) return false;
  Begin(*seq, InjectionKind::kDelete, position, out);
  out->original_label = seq->labels[position];
  seq->labels.erase(seq->labels.begin() + position);
  if (position < seq->durations.size()) {
    out->original_rt = seq->durations[position];
    seq->durations.erase(seq->durations.begin() + position);
  }
  out->injected_label = position < seq->labels.size() ? seq->labels[position] : 0;
  return true;
}

bool InjectResponseTime(EventSequence* seq, uint32_t position, TimeNs new_rt,
                        InjectedAnomaly* out) {
  if (position >= seq->labels.size() || position >= seq->durations.size() ||
      seq->durations[position] == new_rt)
    return false;
  Begin(*seq, InjectionKind::kResponseTime, position, out);
  out->original_label = out->injected_label = seq->labels[position];
  out->original_rt = seq->durations[position];
  out->injected_rt = new_rt;
  seq->durations[position] = new_rt;
  return true;
}

namespace {
// Draws a label in [2, vocab) != avoid accepted by the filter; 0 if none.
uint32_t DrawLabel(const InjectionOptions& o, Rng& rng, size_t trace, uint32_t pos,
                   uint32_t avoid) {
  if (o.vocab_size < 3) return 0;
  const uint64_t range = o.vocab_size - 2;
  for (int t = 0; t < std::max(1, o.max_label_tries); ++t) {
    const uint32_t l = static_cast<uint32_t>(2 + rng.Below(range));
    if (l == avoid) continue;
    if (o.accept_label && !o.accept_label(trace, pos, l)) continue;
    return l;
  }
  return 0;
}
}  // namespace

bool InjectOne(EventSequence* seq, size_t trace_index, InjectionKind kind, int64_t position,
               const InjectionOptions& opts, Rng& rng, InjectedAnomaly* out) {
  const uint32_t n = static_cast<uint32_t>(seq->labels.size());
  const uint32_t first = opts.first_position;
  // Allowed positions: [first, hi) where hi depends on the kind.
  const uint32_t hi = kind == InjectionKind::kInsert ? n + 1 : n;
  if (first >= hi) return false;
  uint32_t pos;
  if (position >= 0) {
    if (position < first || position >= hi) return false;
    pos = static_cast<uint32_t>(position);
  } else {
    pos = first + static_cast<uint32_t>(rng.Below(hi - first));
  }
  bool ok = false;
  switch (kind) {
    case InjectionKind::kReplace: {
      const uint32_t l = DrawLabel(opts, rng, trace_index, pos, seq->labels[pos]);
      ok = l != 0 && InjectReplace(seq, pos, l, out);
      break;
    }
    case InjectionKind::kInsert: {
      const uint32_t l = DrawLabel(opts, rng, trace_index, pos, 0);
      // RT of the inserted event: a copy of a random event's RT of the trace.
      const TimeNs rt = seq->durations.empty() ? 0 : seq->durations[rng.Below(seq->durations.size())];
      ok = l != 0 && InjectInsert(seq, pos, l, rt, out);
      break;
    }
    case InjectionKind::kDelete:
      ok = InjectDelete(seq, pos, out);
      break;
    case InjectionKind::kSwap: {
      // Partner: a later (or, at the end, earlier) event with a different label.
      std::vector<uint32_t> partners;
      for (uint32_t j = first; j < n; ++j)
        if (j != pos && seq->labels[j] != seq->labels[pos]) partners.push_back(j);
      if (partners.empty()) return false;
      const uint32_t j = partners[rng.Below(partners.size())];
      ok = InjectSwap(seq, std::min(pos, j), std::max(pos, j), out);
      break;
    }
    case InjectionKind::kResponseTime: {
      if (pos >= seq->durations.size()) return false;
      TimeNs rt = std::max<TimeNs>(seq->durations[pos], kNsPerUs);
      const double r = rng.Uniform(opts.rt_lo * static_cast<double>(rt),
                                   opts.rt_hi * static_cast<double>(rt));
      const TimeNs nrt = opts.rt_additive ? rt + static_cast<TimeNs>(r) : static_cast<TimeNs>(r);
      ok = InjectResponseTime(seq, pos, nrt, out);
      break;
    }
  }
  if (ok) out->trace = trace_index;
  return ok;
}

std::vector<EventSequence> InjectAnomalies(const std::vector<EventSequence>& clean,
                                           const InjectionOptions& opts,
                                           std::vector<InjectedAnomaly>* truth,
                                           InjectionStats* stats) {
  InjectionStats local;
  InjectionStats& st = stats ? *stats : local;
  Rng rng(opts.seed, 23);
  std::vector<EventSequence> out = clean;
  if (truth) truth->clear();
  for (size_t t = 0; t < out.size(); ++t) {
    if (opts.kinds.empty()) {
      ++st.skipped;
      continue;
    }
    const InjectionKind kind = opts.kinds[rng.Below(opts.kinds.size())];
    InjectedAnomaly a;
    EventSequence copy = out[t];
    if (InjectOne(&copy, t, kind, -1, opts, rng, &a)) {
      out[t] = std::move(copy);
      ++st.injected;
      ++st.by_kind[kind];
      if (truth) truth->push_back(a);
    } else {
      ++st.skipped;
    }
  }
  return out;
}

void InjectionAccuracy::Add(const InjectedAnomaly& a, int k, bool detected) {
  const Key key{a.kind, k};
  for (Cell* c : {&all_[key], &len_[key][a.clean_length], &pos_[key][a.position]}) {
    ++c->injected;
    if (detected) ++c->detected;
  }
}

InjectionAccuracy::Cell InjectionAccuracy::Overall(InjectionKind kind, int k) const {
  auto it = all_.find({kind, k});
  return it == all_.end() ? Cell{} : it->second;
}

std::map<uint32_t, InjectionAccuracy::Cell> InjectionAccuracy::ByLength(InjectionKind kind,
                                                                        int k) const {
  auto it = len_.find({kind, k});
  return it == len_.end() ? std::map<uint32_t, Cell>{} : it->second;
}

std::map<uint32_t, InjectionAccuracy::Cell> InjectionAccuracy::ByPosition(InjectionKind kind,
                                                                          int k) const {
  auto it = pos_.find({kind, k});
  return it == pos_.end() ? std::map<uint32_t, Cell>{} : it->second;
}

std::string InjectionAccuracy::ToCsv() const {
  std::string s = "kind,k,group,key,injected,detected,accuracy\n";
  auto row = [&](const Key& key, const char* group, uint32_t k2, const Cell& c) {
    s += fmt::format("{},{},{},{},{},{},{:.6f}\n", InjectionKindName(key.first), key.second, group,
                     k2, c.injected, c.detected, c.accuracy());
  };
  for (const auto& [key, c] : all_) {
    row(key, "all", 0, c);
    for (const auto& [l, cl] : len_.at(key)) row(key, "length", l, cl);
    for (const auto& [p, cp] : pos_.at(key)) row(key, "position", p, cp);
  }
  return s;
}

}  // namespace triad
