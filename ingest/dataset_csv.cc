#include "ingest/dataset_csv.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "core/time_parse.h"
#include "ingest/csv.h"

namespace triad {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string LowerStr(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsLowerAlnum(std::string_view s) {
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return !s.empty();
}
bool HasDigit(std::string_view s) {
  for (char c : s)
    if (c >= '0' && c <= '9') return true;
  return false;
}

// A CSV with a header, columns found by name.
class Table {
 public:
  Table(LineReader& r, ReadStats* stats) : r_(r), csv_(&r), st_(stats != nullptr ? stats : &local_) {}

  // Reads the header; REQUIRES the named columns (case-insensitive).
  Status Open(std::initializer_list<const char*> required) {
    std::string error;
    for (;;) {
      auto res = csv_.Next(&fields_, &error);
      if (res == CsvReader::Result::kEnd) {
        TRIAD_RETURN_IF_ERROR(r_.status());
        return Status::InvalidArgument(r_.name() + ": empty file (no header)");
      }
      ++st_->lines;
      if (res == CsvReader::Result::kMalformed)
        return Status::InvalidArgument(r_.name() + ": malformed header: " + error);
      if (fields_.size() == 1 && Trim(fields_[0]).empty()) continue;
      break;
    }
    for (size_t k = 0; k < fields_.size(); ++k) {
      std::string_view h = Trim(fields_[k]);
      if (k == 0 && h.size() >= 3 && h.substr(0, 3) == "\xEF\xBB\xBF") h.remove_prefix(3);
      cols_[LowerStr(h)] = static_cast<int>(k);
    }
    ncols_ = fields_.size();
    for (const char* name : required)
      if (Col(name) < 0)
        return Status::InvalidArgument(r_.name() + ": missing column '" + name + "'");
    return Status::OK();
  }

  // Column index by lowercase name, or -1.
  int Col(const char* lower_name) const {
    auto it = cols_.find(lower_name);
    return it == cols_.end() ? -1 : it->second;
  }

  // Next well-formed row with the header's column count; false at the end.
  bool Next() {
    std::string error;
    for (;;) {
      auto res = csv_.Next(&fields_, &error);
      if (res == CsvReader::Result::kEnd) return false;
      ++st_->lines;
      if (res == CsvReader::Result::kMalformed) {
        Skip(error);
        continue;
      }
      if (fields_.size() == 1 && Trim(fields_[0]).empty()) continue;  // blank line
      if (fields_.size() != ncols_) {
        Skip("expected " + std::to_string(ncols_) + " columns, got " + std::to_string(fields_.size()));
        continue;
      }
      return true;
    }
  }

  std::string_view Get(int col) const { return col < 0 ? std::string_view() : Trim(fields_[col]); }
  void Skip(std::string_view why) { st_->Skip(r_.name(), csv_.line_number(), why); }
  void Emitted() { ++st_->records; }
  Status Finish() { return FinishLineReader(r_, st_); }

 private:
  LineReader& r_;
  CsvReader csv_;
  ReadStats local_;
  ReadStats* st_;
  std::unordered_map<std::string, int> cols_;
  size_t ncols_ = 0;
  std::vector<std::string_view> fields_;
};

bool ParseInt64(std::string_view s, int64_t* v) {
  s = Trim(s);
  if (s.empty()) return false;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  int64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, c - '0', &x)) return false;
  }
  *v = neg ? -x : x;
  return true;
}

bool IsRootParent(std::string_view p) {
  if (p.empty() || p == "root" || p == "-1" || p == "null" || p == "None") return true;
  for (char c : p)
    if (c != '0') return false;
  return true;
}

std::string LowerHex(std::string_view s) { return LowerStr(Trim(s)); }

// Level word among the first few tokens of a plain-text log line.
int SeverityFromLine(std::string_view line, std::string* text) {
  size_t pos = 0;
  for (int tok = 0; tok < 5 && pos < line.size(); ++tok) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    size_t end = pos;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    std::string_view w = line.substr(pos, end - pos);
    if (!w.empty() && (w.front() == '[')) w.remove_prefix(1);
    if (!w.empty() && (w.back() == ']' || w.back() == ':')) w.remove_suffix(1);
    if (w.size() >= 4 && w.size() <= 8) {
      int sev = SeverityFromText(w);
      if (sev != 0) {
        text->assign(w);
        return sev;
      }
    }
    pos = end;
  }
  return 0;
}

const nlohmann::json* FindKey(const nlohmann::json& obj, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = obj.find(k);
    if (it != obj.end() && it->is_string()) return &*it;
  }
  return nullptr;
}

// Fills body/severity from a Nezha "Log" cell.
void DecodeNezhaLog(std::string_view raw, LogRecord* rec) {
  std::string inner;
  bool have_inner = false;
  if (!raw.empty() && raw.front() == '{') {
    auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
      if (const auto* l = FindKey(j, {"log", "message", "msg"})) {
        inner = l->get<std::string>();
        have_inner = true;
      }
      if (const auto* s = FindKey(j, {"stream"})) rec->attributes.emplace_back("log.iostream", s->get<std::string>());
    }
  }
  if (!have_inner) inner.assign(raw);
  while (!inner.empty() && (inner.back() == '\n' || inner.back() == '\r')) inner.pop_back();
  std::string_view in = Trim(inner);
  if (!in.empty() && in.front() == '{') {
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object()) {
      const auto* msg = FindKey(j, {"message", "msg", "log", "body"});
      const auto* sev = FindKey(j, {"severity", "level", "lvl", "levelname", "log.level"});
      if (msg != nullptr) {
        rec->body = msg->get<std::string>();
        if (sev != nullptr) {
          rec->severity_text = sev->get<std::string>();
          rec->severity_number = SeverityFromText(rec->severity_text);
        }
        return;
      }
    }
  }
  rec->body.assign(in);
  rec->severity_number = SeverityFromLine(rec->body, &rec->severity_text);
}

}  // namespace

std::string ServiceFromPodName(std::string_view pod) {
  std::string_view p = Trim(pod);
  size_t d1 = p.rfind('-');
  if (d1 == std::string_view::npos || d1 == 0) return std::string(p);
  std::string_view last = p.substr(d1 + 1);
  if (last.size() != 5 || !IsLowerAlnum(last)) return std::string(p);
  std::string_view rest = p.substr(0, d1);
  size_t d2 = rest.rfind('-');
  if (d2 != std::string_view::npos && d2 > 0) {
    std::string_view rs = rest.substr(d2 + 1);
    if (rs.size() >= 6 && rs.size() <= 10 && IsLowerAlnum(rs) && HasDigit(rs))
      return std::string(rest.substr(0, d2));
  }
  if (HasDigit(last)) return std::string(rest);
  return std::string(p);
}

Status ReadNezhaTraceCsv(LineReader& r, TelemetrySink& sink, ReadStats* stats) {
  Table t(r, stats);
  TRIAD_RETURN_IF_ERROR(t.Open({"traceid", "spanid", "parentid", "podname", "operationname",
                                "starttimeunixnano"}));
  const int c_trace = t.Col("traceid"), c_span = t.Col("spanid"), c_parent = t.Col("parentid"),
            c_pod = t.Col("podname"), c_op = t.Col("operationname"),
            c_start = t.Col("starttimeunixnano"), c_end = t.Col("endtimeunixnano"),
            c_dur = t.Col("duration");
  while (t.Next()) {
    Span s;
    s.trace_id = LowerHex(t.Get(c_trace));
    s.span_id = LowerHex(t.Get(c_span));
    if (s.trace_id.empty() || s.span_id.empty()) {
      t.Skip("empty TraceID or SpanID");
      continue;
    }
    std::string_view parent = t.Get(c_parent);
    if (!IsRootParent(parent)) s.parent_span_id = LowerHex(parent);
    if (!ParseInt64(t.Get(c_start), &s.start)) {
      t.Skip("unparseable StartTimeUnixNano");
      continue;
    }
    int64_t dur_us;
    if (c_end >= 0 && ParseInt64(t.Get(c_end), &s.end)) {
    } else if (c_dur >= 0 && ParseInt64(t.Get(c_dur), &dur_us)) {
      s.end = s.start + dur_us * kNsPerUs;  // Duration is in microseconds
    } else {
      t.Skip("unparseable EndTimeUnixNano and Duration");
      continue;
    }
    if (s.end < s.start) {
      t.Skip("span ends before it starts");
      continue;
    }
    s.instance.assign(t.Get(c_pod));
    s.service = ServiceFromPodName(s.instance);
    s.name.assign(t.Get(c_op));
    t.Emitted();
    sink.OnSpan(std::move(s));
  }
  return t.Finish();
}

Status ReadNezhaLogCsv(LineReader& r, TelemetrySink& sink, ReadStats* stats) {
  Table t(r, stats);
  TRIAD_RETURN_IF_ERROR(t.Open({"podname", "log"}));
  const int c_ts = t.Col("timestamp"), c_ns = t.Col("timeunixnano"), c_node = t.Col("node"),
            c_pod = t.Col("podname"), c_container = t.Col("container"), c_trace = t.Col("traceid"),
            c_span = t.Col("spanid"), c_log = t.Col("log");
  if (c_ts < 0 && c_ns < 0)
    return Status::InvalidArgument(r.name() + ": missing column 'TimeUnixNano' or 'Timestamp'");
  while (t.Next()) {
    LogRecord rec;
    // TimeUnixNano (full precision) unless it is not positive or is more than
    // a day away from a parseable Timestamp: Nezha TT 2023-01-29 has rows
    // with an overflowed TimeUnixNano (-6795364578871345152) and a good Timestamp.
    TimeNs ns = 0, ts = 0;
    const bool have_ns = c_ns >= 0 && ParseInt64(t.Get(c_ns), &ns) && ns > 0;
    const bool have_ts = c_ts >= 0 && ParseTimestamp(t.Get(c_ts), &ts);
    if (have_ns && (!have_ts || std::llabs(ns - ts) <= 86400 * kNsPerSec)) {
      rec.time = ns;
    } else if (have_ts) {
      rec.time = ts;
    } else {
      t.Skip("unparseable TimeUnixNano/Timestamp");
      continue;
    }
    rec.instance.assign(t.Get(c_pod));
    rec.service = ServiceFromPodName(rec.instance);
    rec.trace_id = LowerHex(t.Get(c_trace));
    rec.span_id = LowerHex(t.Get(c_span));
    if (c_node >= 0 && !t.Get(c_node).empty()) rec.attributes.emplace_back("host.name", std::string(t.Get(c_node)));
    if (c_container >= 0 && !t.Get(c_container).empty())
      rec.attributes.emplace_back("container", std::string(t.Get(c_container)));
    DecodeNezhaLog(t.Get(c_log), &rec);
    t.Emitted();
    sink.OnLog(std::move(rec));
  }
  return t.Finish();
}

Status ReadDeepTraLogCsv(LineReader& r, TelemetrySink& sink, ReadStats* stats) {
  Table t(r, stats);
  TRIAD_RETURN_IF_ERROR(t.Open({"starttime", "endtime", "url", "spantype", "service", "spanid",
                                "traceid", "parentspan"}));
  const int c_start = t.Col("starttime"), c_end = t.Col("endtime"), c_url = t.Col("url"),
            c_type = t.Col("spantype"), c_service = t.Col("service"), c_span = t.Col("spanid"),
            c_trace = t.Col("traceid"), c_peer = t.Col("peer"), c_parent = t.Col("parentspan"),
            c_comp = t.Col("component"), c_err = t.Col("iserror");
  while (t.Next()) {
    Span s;
    int64_t start_ms, end_ms;
    // StartTime/EndTime are unix milliseconds.
    if (!ParseInt64(t.Get(c_start), &start_ms) || !ParseInt64(t.Get(c_end), &end_ms) ||
        start_ms < 0 || end_ms < 0 || start_ms > INT64_MAX / kNsPerMs || end_ms > INT64_MAX / kNsPerMs) {
      t.Skip("unparseable StartTime/EndTime (unix ms)");
      continue;
    }
    s.start = start_ms * kNsPerMs;
    s.end = end_ms * kNsPerMs;
    if (s.end < s.start) {
      t.Skip("span ends before it starts");
      continue;
    }
    s.trace_id.assign(t.Get(c_trace));
    s.span_id.assign(t.Get(c_span));
    if (s.trace_id.empty() || s.span_id.empty()) {
      t.Skip("empty TraceId or SpanId");
      continue;
    }
    std::string_view parent = t.Get(c_parent);
    if (parent != "-1" && !parent.empty()) s.parent_span_id.assign(parent);
    std::string_view type = t.Get(c_type);
    if (type == "Entry") s.kind = SpanKind::kServer;
    else if (type == "Exit") s.kind = SpanKind::kClient;
    else if (type == "Local") s.kind = SpanKind::kInternal;
    s.service.assign(t.Get(c_service));
    s.peer.assign(t.Get(c_peer));
    std::string_view url = t.Get(c_url);
    s.name.assign(url);
    // "{POST}/api/v1/..." (SpringMVC entry) or "/api/v1/..." (RestTemplate exit).
    if (url.size() > 2 && url.front() == '{') {
      size_t close = url.find('}');
      if (close != std::string_view::npos) {
        s.http_method.assign(url.substr(1, close - 1));
        s.http_url.assign(url.substr(close + 1));
      }
    } else if (!url.empty() && (url.front() == '/' || url.substr(0, 4) == "http")) {
      s.http_url.assign(url);
    }
    if (c_comp >= 0 && !t.Get(c_comp).empty()) s.attributes.emplace_back("component", std::string(t.Get(c_comp)));
    std::string err = LowerStr(t.Get(c_err));
    if (err == "true" || err == "1") s.status = SpanStatus::kError;
    t.Emitted();
    sink.OnSpan(std::move(s));
  }
  return t.Finish();
}

namespace {
template <typename F>
Status WithFile(const std::string& path, TelemetrySink& sink, ReadStats* stats, F f) {
  std::unique_ptr<LineReader> r;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &r));
  return f(*r, sink, stats);
}
}  // namespace

Status ReadNezhaTraceCsv(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  return WithFile(path, sink, stats, [](LineReader& r, TelemetrySink& s, ReadStats* st) {
    return ReadNezhaTraceCsv(r, s, st);
  });
}
Status ReadNezhaLogCsv(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  return WithFile(path, sink, stats, [](LineReader& r, TelemetrySink& s, ReadStats* st) {
    return ReadNezhaLogCsv(r, s, st);
  });
}
Status ReadDeepTraLogCsv(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  return WithFile(path, sink, stats, [](LineReader& r, TelemetrySink& s, ReadStats* st) {
    return ReadDeepTraLogCsv(r, s, st);
  });
}

}  // namespace triad
