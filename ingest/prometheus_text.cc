#include "ingest/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>

#include "ingest/csv.h"

namespace triad {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Parses a sample value: float, [+-]Inf, NaN.
bool ParseValue(std::string_view s, double* v) {
  if (s.empty()) return false;
  std::string_view u = s;
  bool neg = false;
  if (u.front() == '+' || u.front() == '-') {
    neg = u.front() == '-';
    u.remove_prefix(1);
  }
  if (EqualsIgnoreCase(u, "inf") || EqualsIgnoreCase(u, "infinity")) {
    *v = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (EqualsIgnoreCase(u, "nan")) {
    *v = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (u.empty()) return false;
  auto [p, ec] = std::from_chars(u.data(), u.data() + u.size(), *v);
  if (ec != std::errc() || p != u.data() + u.size()) return false;
  if (neg) *v = -*v;
  return true;
}

struct ParsedLine {
  std::string name;
  Attributes labels;
  double value = 0;
  bool has_ts = false;
  int64_t ts_ms = 0;
};

// Parses `name{labels} value [ts]`. Returns an empty string on success, else why.
std::string ParseSampleLine(std::string_view line, ParsedLine* out) {
  size_t i = 0;
  const size_t n = line.size();
  while (i < n && IsBlank(line[i])) ++i;
  if (i == n || !IsNameStart(line[i])) return "bad metric name";
  size_t start = i;
  while (i < n && IsNameChar(line[i])) ++i;
  out->name.assign(line.substr(start, i - start));
  out->labels.clear();
  while (i < n && IsBlank(line[i])) ++i;
  if (i < n && line[i] == '{') {
    ++i;
    for (;;) {
      while (i < n && IsBlank(line[i])) ++i;
      if (i < n && line[i] == '}') {
        ++i;
        break;
      }
      if (i == n || !IsNameStart(line[i])) return "bad label name";
      size_t ls = i;
      while (i < n && IsNameChar(line[i])) ++i;
      std::string key(line.substr(ls, i - ls));
      while (i < n && IsBlank(line[i])) ++i;
      if (i == n || line[i] != '=') return "expected '=' after label name";
      ++i;
      while (i < n && IsBlank(line[i])) ++i;
      if (i == n || line[i] != '"') return "expected '\"' to open label value";
      ++i;
      std::string val;
      bool closed = false;
      while (i < n) {
        char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == n) break;
          char e = line[i++];
          if (e == 'n') val.push_back('\n');
          else if (e == '\\' || e == '"') val.push_back(e);
          else {
            val.push_back('\\');  // unknown escape kept literally
            val.push_back(e);
          }
        } else {
          val.push_back(c);
        }
      }
      if (!closed) return "unterminated label value";
      for (const auto& kv : out->labels)
        if (kv.first == key) return "duplicate label '" + key + "'";
      out->labels.emplace_back(std::move(key), std::move(val));
      while (i < n && IsBlank(line[i])) ++i;
      if (i < n && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < n && line[i] == '}') {
        ++i;
        break;
      }
      return "expected ',' or '}' in labels";
    }
  }
  while (i < n && IsBlank(line[i])) ++i;
  size_t vs = i;
  while (i < n && !IsBlank(line[i])) ++i;
  if (!ParseValue(line.substr(vs, i - vs), &out->value)) return "bad sample value";
  while (i < n && IsBlank(line[i])) ++i;
  out->has_ts = false;
  if (i < n) {
    size_t ts = i;
    while (i < n && !IsBlank(line[i])) ++i;
    std::string_view t = line.substr(ts, i - ts);
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out->ts_ms);
    if (ec != std::errc() || p != t.data() + t.size()) return "bad timestamp";
    if (out->ts_ms > INT64_MAX / kNsPerMs || out->ts_ms < INT64_MIN / kNsPerMs) return "timestamp out of range";
    out->has_ts = true;
    while (i < n && IsBlank(line[i])) ++i;
    if (i < n) return "trailing text after timestamp";
  }
  return "";
}

bool HasSuffix(std::string_view s, std::string_view suf) {
  return s.size() > suf.size() && s.substr(s.size() - suf.size()) == suf;
}

class Parser {
 public:
  Parser(TimeNs default_time, TelemetrySink& sink, ReadStats* st, std::string source)
      : default_time_(default_time), sink_(sink), st_(st), source_(std::move(source)) {}

  void Line(std::string_view line, uint64_t line_no) {
    ++st_->lines;
    size_t i = 0;
    while (i < line.size() && IsBlank(line[i])) ++i;
    if (i == line.size()) return;
    if (line[i] == '#') {
      Comment(line.substr(i + 1), line_no);
      return;
    }
    std::string why = ParseSampleLine(line, &p_);
    if (!why.empty()) {
      st_->Skip(source_, line_no, why);
      return;
    }
    Sample(line_no);
  }

  void Finish() { FlushHistograms(); }

 private:
  struct Hist {
    std::string name;  // family name
    Attributes labels;  // without le
    TimeNs time = 0;
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    bool has_sum = false, has_count = false;
    double sum = 0, count = 0;
    uint64_t first_line = 0;
    bool bad = false;
    std::string why;
  };

  void Comment(std::string_view c, uint64_t line_no) {
    size_t i = 0;
    while (i < c.size() && IsBlank(c[i])) ++i;
    if (c.substr(i, 4) != "TYPE") return;  // HELP and free comments
    i += 4;
    if (i >= c.size() || !IsBlank(c[i])) return;
    while (i < c.size() && IsBlank(c[i])) ++i;
    size_t ns = i;
    while (i < c.size() && IsNameChar(c[i])) ++i;
    std::string name(c.substr(ns, i - ns));
    while (i < c.size() && IsBlank(c[i])) ++i;
    size_t ts = i;
    while (i < c.size() && !IsBlank(c[i])) ++i;
    std::string_view type = c.substr(ts, i - ts);
    if (name.empty() || !IsNameStart(name[0])) {
      st_->Skip(source_, line_no, "malformed # TYPE line");
      return;
    }
    if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
        type != "untyped") {
      st_->Skip(source_, line_no, "unknown metric type '" + std::string(type.substr(0, 32)) + "'");
      return;
    }
    SwitchFamily(name);
    if (types_.size() > 100000) types_.clear();  // bound memory on hostile input
    types_[name] = std::string(type);
  }

  // Type of the family of a sample name, and the family name.
  std::string_view TypeOf(const std::string& name, std::string* family) const {
    auto it = types_.find(name);
    if (it != types_.end()) {
      *family = name;
      return it->second;
    }
    for (std::string_view suf : {"_bucket", "_sum", "_count", "_total", "_created"}) {
      if (!HasSuffix(name, suf)) continue;
      std::string base = name.substr(0, name.size() - suf.size());
      auto jt = types_.find(base);
      if (jt != types_.end()) {
        *family = base;
        return jt->second;
      }
    }
    *family = name;
    return "untyped";
  }

  void SwitchFamily(const std::string& family) {
    if (family != current_family_) {
      FlushHistograms();
      current_family_ = family;
    }
  }

  void SetServiceFromLabels(MetricSample* s) {
    for (const char* key : {"service", "job", "service_name"})
      if (const std::string* v = FindAttribute(s->labels, key); v != nullptr && !v->empty()) {
        s->service = *v;
        break;
      }
    if (const std::string* v = FindAttribute(s->labels, "instance")) s->instance = *v;
  }

  void Sample(uint64_t line_no) {
    std::string family;
    std::string_view type = TypeOf(p_.name, &family);
    SwitchFamily(family);
    TimeNs t = p_.has_ts ? p_.ts_ms * kNsPerMs : default_time_;
    if (type == "histogram" && p_.name != family) {
      HistSample(family, t, line_no);
      return;
    }
    if (std::isnan(p_.value)) {
      st_->Skip(source_, line_no, "NaN value");
      return;
    }
    MetricSample s;
    s.name = p_.name;
    s.labels = std::move(p_.labels);
    std::sort(s.labels.begin(), s.labels.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    s.time = t;
    s.value = p_.value;
    if (type == "counter" || (type == "summary" && p_.name != family)) s.kind = MetricKind::kCounter;
    SetServiceFromLabels(&s);
    ++st_->records;
    sink_.OnMetric(std::move(s));
  }

  void HistSample(const std::string& family, TimeNs t, uint64_t line_no) {
    std::string_view suffix = std::string_view(p_.name).substr(family.size());
    double le = 0;
    if (suffix == "_bucket") {
      auto it = std::find_if(p_.labels.begin(), p_.labels.end(), [](const auto& kv) { return kv.first == "le"; });
      if (it == p_.labels.end() || !ParseValue(it->second, &le) || std::isnan(le)) {
        st_->Skip(source_, line_no, "histogram bucket without a valid 'le' label");
        return;
      }
      p_.labels.erase(it);
    } else if (suffix != "_sum" && suffix != "_count") {
      // e.g. _created: not part of the histogram sample.
      return;
    }
    std::sort(p_.labels.begin(), p_.labels.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string key;
    for (const auto& [k, v] : p_.labels) {
      key += k;
      key.push_back('\x01');
      key += v;
      key.push_back('\x02');
    }
    key += std::to_string(t);
    auto [it, inserted] = hist_index_.try_emplace(key, hists_.size());
    if (inserted) {
      if (hists_.size() >= 100000) {  // bound memory within one family
        hist_index_.erase(it);
        st_->Skip(source_, line_no, "too many histogram series in one family");
        return;
      }
      hists_.emplace_back();
      Hist& h = hists_.back();
      h.name = family;
      h.labels = p_.labels;
      h.time = t;
      h.first_line = line_no;
    }
    Hist& h = hists_[it->second];
    if (std::isnan(p_.value) || p_.value < 0 ||
        (suffix != "_sum" && !(p_.value <= 9e18))) {
      h.bad = true;
      h.why = "NaN, negative or out-of-range histogram value";
      return;
    }
    if (suffix == "_bucket") {
      if (h.buckets.size() >= 10000) {
        h.bad = true;
        h.why = "too many buckets";
        return;
      }
      h.buckets.emplace_back(le, p_.value);
    } else if (suffix == "_sum") {
      h.has_sum = true;
      h.sum = p_.value;
    } else {
      h.has_count = true;
      h.count = p_.value;
    }
  }

  void FlushHistograms() {
    for (Hist& h : hists_) EmitHistogram(h);
    hists_.clear();
    hist_index_.clear();
  }

  void EmitHistogram(Hist& h) {
    if (!h.bad && h.buckets.empty() && !h.has_count) {
      h.bad = true;
      h.why = "histogram without buckets or count";
    }
    if (!h.bad) {
      std::sort(h.buckets.begin(), h.buckets.end());
      for (size_t k = 1; k < h.buckets.size(); ++k)
        if (h.buckets[k].first == h.buckets[k - 1].first) {
          h.bad = true;
          h.why = "duplicate histogram bucket";
        }
    }
    MetricSample s;
    if (!h.bad) {
      s.name = h.name;
      s.labels = std::move(h.labels);
      s.time = h.time;
      s.kind = MetricKind::kHistogram;
      s.value = h.has_sum ? h.sum : 0;
      double total;
      size_t nfinite = h.buckets.size();
      if (!h.buckets.empty() && std::isinf(h.buckets.back().first) && h.buckets.back().first > 0) {
        --nfinite;
        total = h.buckets.back().second;
      } else {
        total = h.has_count ? h.count : (h.buckets.empty() ? 0 : h.buckets.back().second);
      }
      double prev = 0;
      for (size_t k = 0; k < nfinite && !h.bad; ++k) {
        double c = h.buckets[k].second;
        if (c < prev) {
          h.bad = true;
          h.why = "histogram cumulative counts decrease";
          break;
        }
        s.bounds.push_back(h.buckets[k].first);
        s.bucket_counts.push_back(static_cast<uint64_t>(std::llround(c - prev)));
        prev = c;
      }
      if (!h.bad && (total < prev || total > 9e18)) {
        h.bad = true;
        h.why = "histogram total below its buckets";
      }
      if (!h.bad) {
        s.bucket_counts.push_back(static_cast<uint64_t>(std::llround(total - prev)));
        s.count = static_cast<uint64_t>(std::llround(total));
      }
    }
    if (h.bad) {
      st_->Skip(source_, h.first_line, h.why);
      return;
    }
    SetServiceFromLabels(&s);
    ++st_->records;
    sink_.OnMetric(std::move(s));
  }

  TimeNs default_time_;
  TelemetrySink& sink_;
  ReadStats* st_;
  std::string source_;
  ParsedLine p_;
  std::unordered_map<std::string, std::string> types_;
  std::string current_family_;
  std::vector<Hist> hists_;
  std::unordered_map<std::string, size_t> hist_index_;
};

Status ReadImpl(LineReader& r, TimeNs default_time, TelemetrySink& sink, ReadStats* stats,
                std::string source) {
  ReadStats local;
  ReadStats* st = stats != nullptr ? stats : &local;
  Parser p(default_time, sink, st, std::move(source));
  std::string_view line;
  while (r.Next(&line)) p.Line(line, r.line_number());
  p.Finish();
  return FinishLineReader(r, st);
}

}  // namespace

Status ParsePrometheusText(std::string_view text, TimeNs default_time, TelemetrySink& sink,
                           ReadStats* stats, std::string_view source) {
  auto r = LineReader::FromString(text);
  return ReadImpl(*r, default_time, sink, stats, std::string(source));
}

Status ReadPrometheusText(LineReader& r, TimeNs default_time, TelemetrySink& sink,
                          ReadStats* stats) {
  return ReadImpl(r, default_time, sink, stats, r.name());
}

Status ReadPrometheusTextFile(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  std::unique_ptr<LineReader> r;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &r));
  TimeNs now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  return ReadPrometheusText(*r, now, sink, stats);
}

}  // namespace triad
