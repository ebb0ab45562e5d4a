#include "ingest/session_file.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "ingest/csv.h"
#include "ingest/json_util.h"

namespace triad {

namespace {

constexpr uint64_t kMaxKey = 1ull << 31;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Label text -> 0/1; returns false if unknown.
bool ParseLabel(std::string_view text, int* out) {
  std::string l = Lower(Trim(text));
  if (l == "normal" || l == "0" || l == "false" || l == "success") {
    *out = 0;
    return true;
  }
  if (l == "anomaly" || l == "anomalous" || l == "abnormal" || l == "1" || l == "true" ||
      l == "fail") {
    *out = 1;
    return true;
  }
  return false;
}

Status ReadCsv(LineReader& r, std::string_view first, uint64_t first_no,
               std::vector<Session>* out, ReadStats* st) {
  std::vector<std::string> header;
  SplitCsvLine(first, &header);
  int c_id = -1, c_label = -1, c_split = -1, c_seq = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = Lower(Trim(header[i]));
    if (h == "blockid" || h == "block_id" || h == "sessionid" || h == "session_id" || h == "id")
      c_id = static_cast<int>(i);
    else if (h == "label")
      c_label = static_cast<int>(i);
    else if (h == "split")
      c_split = static_cast<int>(i);
    else if (h == "eventsequence" || h == "event_sequence" || h == "events")
      c_seq = static_cast<int>(i);
  }
  if (c_id < 0 || c_seq < 0)
    return Status::InvalidArgument(fmt::format(
        "{}:{}: session CSV header needs BlockId and EventSequence columns", r.name(), first_no));
  CsvReader csv(&r);
  std::vector<std::string_view> f;
  std::string err;
  for (;;) {
    auto res = csv.Next(&f, &err);
    if (res == CsvReader::Result::kEnd) break;
    ++st->lines;
    if (res == CsvReader::Result::kMalformed) {
      st->Skip(r.name(), csv.line_number(), err);
      continue;
    }
    if (f.size() == 1 && Trim(f[0]).empty()) {
      --st->lines;
      continue;
    }
    if (f.size() != header.size()) {
      st->Skip(r.name(), csv.line_number(),
               fmt::format("{} fields, header has {}", f.size(), header.size()));
      continue;
    }
    Session s;
    s.id = std::string(Trim(f[c_id]));
    if (s.id.empty()) {
      st->Skip(r.name(), csv.line_number(), "empty session id");
      continue;
    }
    if (!ParseKeySequence(f[c_seq], &s.keys)) {
      st->Skip(r.name(), csv.line_number(), "EventSequence is not a list of ids 1..2^31");
      continue;
    }
    if (c_label >= 0 && !Trim(f[c_label]).empty() && !ParseLabel(f[c_label], &s.label)) {
      st->Skip(r.name(), csv.line_number(), fmt::format("unknown label '{}'", f[c_label]));
      continue;
    }
    if (c_split >= 0) s.split = Lower(Trim(f[c_split]));
    out->push_back(std::move(s));
    ++st->records;
  }
  return FinishLineReader(r, st);
}

// One JSON-lines record; returns "" or why it was skipped.
std::string ParseJsonSession(std::string_view line, Session* s, SessionVocabulary* vocab) {
  nlohmann::json j;
  std::string err;
  if (!ParseJsonText(line, &j, &err)) return "bad JSON: " + err;
  if (!j.is_object()) return "not a JSON object";
  const nlohmann::json* id = JsonField(j, "block_id", "session_id");
  if (id == nullptr) id = JsonField(j, "blockId", "id");
  if (id == nullptr || JsonValueToText(*id).empty()) return "no block_id/session_id";
  s->id = JsonValueToText(*id);
  const nlohmann::json* ev = JsonField(j, "event_ids", "events");
  if (ev == nullptr || !ev->is_array()) return "no event_ids array";
  for (const auto& e : *ev) {
    uint64_t k = 0;
    if (!JsonToUint64(e, &k) || k == 0 || k > kMaxKey) return "event_ids must be ids 1..2^31";
    s->keys.push_back(static_cast<uint32_t>(k));
  }
  if (const nlohmann::json* lab = JsonField(j, "label"); lab != nullptr) {
    if (!ParseLabel(JsonValueToText(*lab), &s->label)) return "unknown label";
  }
  if (const nlohmann::json* sp = JsonField(j, "split"); sp != nullptr)
    s->split = Lower(JsonValueToText(*sp));
  if (const nlohmann::json* t = JsonField(j, "templates"); t != nullptr) {
    if (!t->is_array() || t->size() != s->keys.size())
      return "templates must be an array as long as event_ids";
    if (vocab != nullptr) {
      for (size_t i = 0; i < t->size(); ++i) {
        if (!(*t)[i].is_string()) return "templates must be strings";
        auto [it, fresh] = vocab->emplace(s->keys[i], (*t)[i].get<std::string>());
        if (!fresh && it->second != (*t)[i].get<std::string>())
          return fmt::format("template {} has two texts", s->keys[i]);
      }
    }
  }
  return "";
}

}  // namespace

bool ParseKeySequence(std::string_view text, std::vector<uint32_t>* out) {
  out->clear();
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == ',' || c == '\r') {
      ++i;
      continue;
    }
    if (c < '0' || c > '9') return false;
    uint64_t v = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      v = v * 10 + static_cast<uint64_t>(text[i] - '0');
      if (v > kMaxKey) return false;
      ++i;
    }
    if (v == 0) return false;
    if (i < n && !(text[i] == ' ' || text[i] == '\t' || text[i] == ',' || text[i] == '\r'))
      return false;
    out->push_back(static_cast<uint32_t>(v));
  }
  return true;
}

Status ReadSessions(LineReader& r, SessionFileFormat fmt, std::vector<Session>* out,
                    SessionVocabulary* vocab, ReadStats* stats) {
  ReadStats local;
  ReadStats* st = stats != nullptr ? stats : &local;
  std::string_view line;
  // First non-empty line decides the format.
  std::string first;
  uint64_t first_no = 0;
  while (r.Next(&line)) {
    if (!Trim(line).empty()) {
      first.assign(line);
      first_no = r.line_number();
      break;
    }
  }
  if (first_no == 0) return FinishLineReader(r, st);
  std::string_view f = Trim(first);
  if (!f.empty() && static_cast<unsigned char>(f[0]) == 0xEF && f.size() >= 3) f.remove_prefix(3);
  if (fmt == SessionFileFormat::kAuto) {
    std::string lf = Lower(f);
    if (lf.rfind("blockid", 0) == 0 || lf.find("eventsequence") != std::string::npos)
      fmt = SessionFileFormat::kCsv;
    else if (!f.empty() && f[0] == '{')
      fmt = SessionFileFormat::kJsonl;
    else
      fmt = SessionFileFormat::kDeepLog;
  }
  if (fmt == SessionFileFormat::kCsv) return ReadCsv(r, f, first_no, out, st);
  bool have = true;
  line = f;
  uint64_t no = first_no;
  while (have) {
    if (!Trim(line).empty()) {
      ++st->lines;
      Session s;
      if (fmt == SessionFileFormat::kJsonl) {
        std::string why = ParseJsonSession(line, &s, vocab);
        if (!why.empty()) {
          st->Skip(r.name(), no, why);
        } else {
          out->push_back(std::move(s));
          ++st->records;
        }
      } else {
        if (!ParseKeySequence(line, &s.keys) || s.keys.empty()) {
          st->Skip(r.name(), no, "not a list of template ids 1..2^31");
        } else {
          s.id = fmt::format("line{}", no);
          out->push_back(std::move(s));
          ++st->records;
        }
      }
    }
    have = r.Next(&line);
    no = r.line_number();
  }
  return FinishLineReader(r, st);
}

Status ReadSessionFile(const std::string& path, std::vector<Session>* out,
                       SessionVocabulary* vocab, ReadStats* stats, SessionFileFormat fmt) {
  std::unique_ptr<LineReader> r;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &r));
  return ReadSessions(*r, fmt, out, vocab, stats);
}

bool IsTrainingSession(const Session& s) { return s.label != 1 && s.split != "test"; }

}  // namespace triad
