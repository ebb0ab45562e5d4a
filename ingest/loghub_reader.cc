#include "ingest/loghub_reader.h"

#include <cctype>
#include <cstring>
#include <memory>

#include "core/time_parse.h"
#include "ingest/csv.h"

namespace triad {
namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view Strip(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

LoghubLineParser::LoghubLineParser(std::string_view format, std::string service)
    : service_(std::move(service)) {
  int open_group = -1;
  auto add_literal = [&](char c) {
    if (toks_.empty() || toks_.back().kind != Token::kLiteral) toks_.push_back({Token::kLiteral, "", -1, -1});
    toks_.back().text.push_back(c);
  };
  size_t i = 0;
  while (i < format.size()) {
    char c = format[i];
    if (c == '<') {
      size_t close = format.find('>', i + 1);
      size_t next_open = format.find('<', i + 1);
      if (close == std::string_view::npos || close == i + 1 ||
          (next_open != std::string_view::npos && next_open < close)) {
        status_ = Status::InvalidArgument("log format: unterminated or empty <field> at offset " +
                                          std::to_string(i));
        return;
      }
      std::string name(format.substr(i + 1, close - i - 1));
      for (const auto& n : names_)
        if (n == name) {
          status_ = Status::InvalidArgument("log format: duplicate field <" + name + ">");
          return;
        }
      toks_.push_back({Token::kField, "", static_cast<int>(names_.size()), -1});
      names_.push_back(std::move(name));
      i = close + 1;
    } else if (c == ' ' || c == '\t') {
      while (i < format.size() && (format[i] == ' ' || format[i] == '\t')) ++i;
      if (toks_.empty() || toks_.back().kind != Token::kSpace) toks_.push_back({Token::kSpace, "", -1, -1});
    } else if (c == '\\') {
      if (i + 1 >= format.size()) {
        status_ = Status::InvalidArgument("log format: trailing backslash");
        return;
      }
      add_literal(format[i + 1]);
      i += 2;
    } else if (c == '(') {
      if (open_group >= 0) {
        status_ = Status::InvalidArgument("log format: nested groups are not supported");
        return;
      }
      open_group = static_cast<int>(toks_.size());
      toks_.push_back({Token::kGroupBegin, "", -1, -1});
      ++i;
    } else if (c == ')') {
      if (open_group < 0) {
        status_ = Status::InvalidArgument("log format: unbalanced ')'");
        return;
      }
      bool optional = i + 1 < format.size() && format[i + 1] == '?';
      if (optional) {
        toks_[open_group].group_end = static_cast<int>(toks_.size());
        toks_.push_back({Token::kGroupEnd, "", -1, -1});
      } else {
        // A plain group: its content is just part of the sequence.
        toks_.erase(toks_.begin() + open_group);
        // Re-merge literals that the group marker separated.
        std::vector<Token> merged;
        for (auto& t : toks_) {
          if (t.kind == Token::kLiteral && !merged.empty() && merged.back().kind == Token::kLiteral)
            merged.back().text += t.text;
          else
            merged.push_back(std::move(t));
        }
        toks_ = std::move(merged);
      }
      open_group = -1;
      i += optional ? 2 : 1;
    } else {
      add_literal(c);
      ++i;
    }
  }
  if (open_group >= 0) {
    status_ = Status::InvalidArgument("log format: unbalanced '('");
    return;
  }
  if (names_.empty()) {
    status_ = Status::InvalidArgument("log format has no <field>");
    return;
  }
  for (size_t k = 0; k < names_.size(); ++k) {
    const std::string& n = names_[k];
    int idx = static_cast<int>(k);
    if (EqualsIgnoreCase(n, "Content")) content_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Level")) level_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Component")) component_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Node")) node_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Timestamp")) timestamp_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Date")) date_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Time")) time_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Month")) month_idx_ = idx;
    else if (EqualsIgnoreCase(n, "Day")) day_idx_ = idx;
  }
  if (content_idx_ < 0) content_idx_ = static_cast<int>(names_.size()) - 1;
  bool in_group = false;
  for (const Token& t : toks_) {
    if (t.kind == Token::kGroupBegin) in_group = true;
    else if (t.kind == Token::kGroupEnd) in_group = false;
    else if (t.kind == Token::kLiteral && !in_group) required_.push_back(t.text);
  }
  scratch_.resize(names_.size());
}

// Search state of one Match: the step budget and, once a line needs more
// than kMemoAfter steps, a bitset of (token, offset) states known to fail
// (fields do not influence later matching: no backreferences).
struct LoghubLineParser::MatchState {
  int budget = 0;
  std::vector<uint64_t>* memo = nullptr;  // null: no memo
  size_t stride = 0;                      // line.size() + 1
};

namespace {
constexpr int kMemoAfter = 256;
constexpr size_t kMaxMemoBits = size_t{1} << 24;
}  // namespace

bool LoghubLineParser::MatchFrom(size_t tok, std::string_view line, size_t pos,
                                 std::vector<std::string_view>* fields, MatchState* st) const {
  if (st->memo == nullptr) return MatchTokens(tok, line, pos, fields, st);
  const size_t bit = tok * st->stride + pos;
  uint64_t& word = (*st->memo)[bit >> 6];
  const uint64_t mask = uint64_t{1} << (bit & 63);
  if (word & mask) return false;
  if (MatchTokens(tok, line, pos, fields, st)) return true;
  if (st->budget >= 0) (*st->memo)[bit >> 6] |= mask;  // a real failure, not an exhausted budget
  return false;
}

bool LoghubLineParser::MatchTokens(size_t tok, std::string_view line, size_t pos,
                                   std::vector<std::string_view>* fields, MatchState* st) const {
  int* budget = &st->budget;
  for (;;) {
    if (--*budget < 0) return false;
    if (tok == toks_.size()) return pos == line.size();
    const Token& t = toks_[tok];
    switch (t.kind) {
      case Token::kLiteral:
        if (line.size() - pos < t.text.size() ||
            std::memcmp(line.data() + pos, t.text.data(), t.text.size()) != 0)
          return false;
        pos += t.text.size();
        ++tok;
        continue;
      case Token::kGroupEnd:
        ++tok;
        continue;
      case Token::kSpace: {
        size_t end = pos;
        while (end < line.size() && IsWs(line[end])) ++end;
        if (end == pos) return false;
        if (tok + 1 == toks_.size()) return end == line.size();
        // Longest first; fewer only when the rest needs it.
        for (size_t e = end; e > pos; --e) {
          if (MatchFrom(tok + 1, line, e, fields, st)) return true;
          if (*budget < 0) return false;
        }
        return false;
      }
      case Token::kGroupBegin: {
        if (MatchFrom(tok + 1, line, pos, fields, st)) return true;
        if (*budget < 0) return false;
        for (int k = tok + 1; k < t.group_end; ++k)
          if (toks_[k].kind == Token::kField) (*fields)[toks_[k].field] = std::string_view();
        tok = static_cast<size_t>(t.group_end) + 1;
        continue;
      }
      case Token::kField: {
        // Last token (or only group ends follow): the rest of the line.
        size_t nt = tok + 1;
        while (nt < toks_.size() && toks_[nt].kind == Token::kGroupEnd) ++nt;
        if (nt == toks_.size()) {
          (*fields)[t.field] = line.substr(pos);
          return true;
        }
        const Token& next = toks_[nt];
        if (next.kind == Token::kLiteral) {
          size_t at = pos;
          for (;;) {
            at = line.find(next.text, at);
            if (at == std::string_view::npos) return false;
            (*fields)[t.field] = line.substr(pos, at - pos);
            if (MatchFrom(tok + 1, line, at, fields, st)) return true;
            if (*budget < 0) return false;
            ++at;
          }
        }
        if (next.kind == Token::kSpace) {
          for (size_t at = pos; at < line.size(); ++at) {
            if (!IsWs(line[at])) continue;
            (*fields)[t.field] = line.substr(pos, at - pos);
            if (MatchFrom(tok + 1, line, at, fields, st)) return true;
            if (*budget < 0) return false;
          }
          return false;
        }
        // Followed by another field or a group: try every length.
        for (size_t at = pos; at <= line.size(); ++at) {
          (*fields)[t.field] = line.substr(pos, at - pos);
          if (MatchFrom(tok + 1, line, at, fields, st)) return true;
          if (*budget < 0) return false;
        }
        return false;
      }
    }
  }
}

bool LoghubLineParser::Match(std::string_view line, std::vector<std::string_view>* fields) const {
  fields->assign(names_.size(), std::string_view());
  line = Strip(line);
  // Fast rejection: the required literals must occur in order.
  size_t at = 0;
  for (const std::string& lit : required_) {
    at = line.find(lit, at);
    if (at == std::string_view::npos) return false;
    at += lit.size();
  }
  MatchState st;
  st.budget = kMemoAfter;
  if (MatchFrom(0, line, 0, fields, &st)) return true;
  if (st.budget >= 0) return false;  // a definite non-match
  // A hard line: search again with memoized failures.
  st.stride = line.size() + 1;
  thread_local std::vector<uint64_t> memo;
  const size_t bits = (toks_.size() + 1) * st.stride;
  if (bits <= kMaxMemoBits) {
    memo.assign((bits + 63) / 64, 0);
    st.memo = &memo;
  }
  st.budget = kMaxMatchSteps;
  fields->assign(names_.size(), std::string_view());
  return MatchFrom(0, line, 0, fields, &st);
}

bool LoghubLineParser::Parse(std::string_view line, LogRecord* out, std::string* error) {
  if (!Match(line, &scratch_)) {
    if (error != nullptr) *error = "line does not match the log format";
    return false;
  }
  const auto& f = scratch_;
  *out = LogRecord();
  out->body.assign(f[content_idx_]);
  out->attributes.reserve(names_.size());
  for (size_t k = 0; k < names_.size(); ++k)
    if (static_cast<int>(k) != content_idx_) out->attributes.emplace_back(names_[k], std::string(f[k]));
  if (level_idx_ >= 0) {
    out->severity_number = SeverityFromText(f[level_idx_]);
    if (out->severity_number != 0) out->severity_text.assign(f[level_idx_]);
  }
  if (!service_.empty()) out->service = service_;
  else if (component_idx_ >= 0 && !f[component_idx_].empty()) out->service.assign(f[component_idx_]);
  else if (node_idx_ >= 0) out->service.assign(f[node_idx_]);
  if (node_idx_ >= 0) out->instance.assign(f[node_idx_]);

  // Time: a unix Timestamp column first, else Month Day/Date Time joined, else
  // Time alone, else Date alone.
  TimeNs t = 0;
  bool have = false;
  if (timestamp_idx_ >= 0 && ParseTimestamp(f[timestamp_idx_], &t)) {
    have = true;
    // BGL: refine a whole-second unix stamp with the fraction of a full Time
    // field that agrees with it up to a whole-quarter-hour zone offset.
    TimeNs t2;
    if (time_idx_ >= 0 && t % kNsPerSec == 0 && ParseDateTime(f[time_idx_], &t2)) {
      TimeNs frac = ((t2 % kNsPerSec) + kNsPerSec) % kNsPerSec;
      TimeNs whole = t2 - frac;
      if ((whole - t) % (900 * kNsPerSec) == 0) t += frac;
    }
  }
  if (!have) {
    tbuf_.clear();
    auto add = [&](int idx) {
      if (idx < 0 || f[idx].empty()) return;
      if (!tbuf_.empty()) tbuf_.push_back(' ');
      tbuf_.append(f[idx]);
    };
    add(month_idx_);
    add(day_idx_);
    add(date_idx_);
    add(time_idx_);
    if (!tbuf_.empty()) have = ParseTimestamp(tbuf_, &t);
    if (!have && time_idx_ >= 0) have = ParseTimestamp(f[time_idx_], &t);
    if (!have && date_idx_ >= 0) have = ParseDateTime(f[date_idx_], &t);
  }
  if (have) out->time = t;
  return true;
}

Status ReadLoghub(LineReader& r, const LoghubOptions& opts, TelemetrySink& sink,
                  ReadStats* stats) {
  ReadStats local;
  ReadStats& st = stats != nullptr ? *stats : local;
  LoghubLineParser parser(opts.format, opts.service);
  if (!parser.ok()) return parser.status();
  std::string_view line;
  std::string error;
  while (r.Next(&line)) {
    ++st.lines;
    if (Strip(line).empty()) continue;
    LogRecord rec;
    if (!parser.Parse(line, &rec, &error)) {
      st.Skip(r.name(), r.line_number(), error);
      continue;
    }
    ++st.records;
    sink.OnLog(std::move(rec));
  }
  return FinishLineReader(r, &st);
}

Status ReadLoghubFile(const std::string& path, const LoghubOptions& opts, TelemetrySink& sink,
                      ReadStats* stats) {
  {
    LoghubLineParser check(opts.format);
    if (!check.ok()) return check.status();
  }
  std::unique_ptr<LineReader> r;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &r));
  return ReadLoghub(*r, opts, sink, stats);
}

std::string LoghubFormatFor(std::string_view system) {
  static const std::pair<const char*, const char*> kFormats[] = {
      {"HDFS", "<Date> <Time> <Pid> <Level> <Component>: <Content>"},
      {"Hadoop", "<Date> <Time> <Level> \\[<Process>\\] <Component>: <Content>"},
      {"Spark", "<Date> <Time> <Level> <Component>: <Content>"},
      {"Zookeeper", "<Date> <Time> - <Level>  \\[<Node>:<Component>@<Id>\\] - <Content>"},
      {"BGL", "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>"},
      {"HPC", "<LogId> <Node> <Component> <State> <Time> <Flag> <Content>"},
      {"Linux", "<Month> <Date> <Time> <Level> <Component>(\\[<PID>\\])?: <Content>"},
      {"Apache", "\\[<Time>\\] \\[<Level>\\] <Content>"},
      {"Thunderbird",
       "<Label> <Timestamp> <Date> <User> <Month> <Day> <Time> <Location> <Component>(\\[<PID>\\])?: <Content>"},
      {"OpenSSH", "<Date> <Day> <Time> <Component> sshd\\[<Pid>\\]: <Content>"},
      {"Mac", "<Month>  <Date> <Time> <User> <Component>\\[<PID>\\]( \\(<Address>\\))?: <Content>"},
      {"HealthApp", "<Time>\\|<Component>\\|<Pid>\\|<Content>"},
      {"Proxifier", "\\[<Time>\\] <Program> - <Content>"},
      {"Android", "<Date> <Time>  <Pid>  <Tid> <Level> <Component>: <Content>"},
      {"Windows", "<Date> <Time>, <Level>                  <Component>    <Content>"},
  };
  for (const auto& [name, fmt] : kFormats)
    if (EqualsIgnoreCase(system, name)) return fmt;
  return "";
}

}  // namespace triad
