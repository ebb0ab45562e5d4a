#include "ingest/tracebench_csv.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

namespace triad {

namespace {

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

std::string_view TrimWs(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\xEF' || s.front() == '\xBB' || s.front() == '\xBF'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits `line` at commas into at most `max_fields` fields (the last one takes
// the rest, commas included); max_fields 0 = no limit.
std::vector<std::string_view> Split(std::string_view line, size_t max_fields) {
  std::vector<std::string_view> f;
  size_t i = 0;
  while (true) {
    if (max_fields && f.size() + 1 == max_fields) {
      f.push_back(line.substr(i));
      break;
    }
    size_t j = line.find(',', i);
    if (j == std::string_view::npos) {
      f.push_back(line.substr(i));
      break;
    }
    f.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return f;
}

bool ParseI64(std::string_view s, int64_t* out) {
  s = TrimWs(s);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "2013-10-28 23:12:29" (UTC) -> ns. False if malformed.
bool ParseDateTime(std::string_view s, TimeNs* out) {
  s = TrimWs(s);
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':' || s[16] != ':')
    return false;
  int64_t y, mo, d, h, mi, se;
  if (!ParseI64(s.substr(0, 4), &y) || !ParseI64(s.substr(5, 2), &mo) ||
      !ParseI64(s.substr(8, 2), &d) || !ParseI64(s.substr(11, 2), &h) ||
      !ParseI64(s.substr(14, 2), &mi) || !ParseI64(s.substr(17, 2), &se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *out = ((days * 24 + h) * 60 + mi) * 60 * kNsPerSec + se * kNsPerSec;
  return true;
}

struct Header {
  std::unordered_map<std::string, size_t> col;
  size_t n = 0;
  int Col(const char* name) const {
    auto it = col.find(name);
    return it == col.end() ? -1 : static_cast<int>(it->second);
  }
};

bool ReadHeader(LineReader& r, Header* h) {
  std::string_view line;
  while (r.Next(&line)) {
    if (TrimWs(line).empty()) continue;
    auto f = Split(line, 0);
    h->n = f.size();
    for (size_t i = 0; i < f.size(); ++i) h->col.emplace(Lower(TrimWs(f[i])), i);
    return true;
  }
  return false;
}

struct Event {
  std::string tid, op, addr, hostname, agent, desc;
  TimeNs start = 0, end = 0;
  uint64_t line = 0;
};

struct EdgeRef {
  std::string father;
  TimeNs father_start = 0;
};

bool IsRootTid(std::string_view tid) {
  tid = TrimWs(tid);
  if (tid.empty()) return true;
  for (char c : tid)
    if (c != '0') return false;
  return true;
}

}  // namespace

Status ReadTraceBench(LineReader& events, LineReader* edges, LineReader* traces,
                      const TraceBenchOptions& opts, TelemetrySink& sink, ReadStats* stats) {
  ReadStats local;
  ReadStats& st = stats ? *stats : local;

  // --- edges: (task, child) -> fathers
  std::unordered_map<std::string, std::vector<EdgeRef>> fathers;  // key task + '/' + child
  if (edges) {
    Header h;
    if (ReadHeader(*edges, &h)) {
      ++st.lines;
      const int ct = h.Col("taskid"), cf = h.Col("fathertid"), cfs = h.Col("fatherstarttime"),
                cc = h.Col("childtid");
      if (ct < 0 || cf < 0 || cfs < 0 || cc < 0)
        return Status::InvalidArgument(edges->name() +
                                       ": edge file needs TaskID, FatherTID, FatherStartTime, ChildTID");
      std::string_view line;
      while (edges->Next(&line)) {
        ++st.lines;
        if (TrimWs(line).empty()) continue;
        auto f = Split(line, 0);
        int64_t fs = 0;
        if (f.size() != h.n || !ParseI64(f[cfs], &fs)) {
          st.Skip(edges->name(), edges->line_number(), "bad edge row (field count or FatherStartTime)");
          continue;
        }
        std::string key = std::string(TrimWs(f[ct])) + "/" + std::string(TrimWs(f[cc]));
        fathers[key].push_back({std::string(TrimWs(f[cf])), fs});
      }
      if (!edges->status().ok()) return edges->status();
    }
  }

  // --- traces: task -> (title, first seen)
  std::unordered_map<std::string, std::pair<std::string, TimeNs>> info;
  if (traces) {
    Header h;
    if (ReadHeader(*traces, &h)) {
      ++st.lines;
      const int ct = h.Col("taskid"), ctitle = h.Col("title"), cfirst = h.Col("firstseen");
      if (ct >= 0) {
        std::string_view line;
        while (traces->Next(&line)) {
          ++st.lines;
          if (TrimWs(line).empty()) continue;
          auto f = Split(line, 0);
          if (f.size() != h.n) {
            st.Skip(traces->name(), traces->line_number(), "bad trace row (field count)");
            continue;
          }
          TimeNs first = 0;
          if (cfirst >= 0 && !ParseDateTime(f[cfirst], &first)) first = 0;
          info[std::string(TrimWs(f[ct]))] = {ctitle >= 0 ? std::string(TrimWs(f[ctitle])) : "",
                                              first};
        }
        if (!traces->status().ok()) return traces->status();
      }
    }
  }

  // --- events, grouped by task in order of first appearance
  Header h;
  if (!ReadHeader(events, &h)) {
    if (!events.status().ok()) return events.status();
    return Status::InvalidArgument(events.name() + ": empty TraceBench event file");
  }
  ++st.lines;
  const int ct = h.Col("taskid"), ctid = h.Col("tid"), cop = h.Col("opname"),
            cs = h.Col("starttime"), ce = h.Col("endtime"), ca = h.Col("hostaddress"),
            chn = h.Col("hostname"), cag = h.Col("agent"), cd = h.Col("description");
  if (ct < 0 || ctid < 0 || cop < 0 || cs < 0 || ce < 0)
    return Status::InvalidArgument(events.name() +
                                   ": event file needs TaskID, TID, OpName, StartTime, EndTime");
  const bool desc_last = cd >= 0 && static_cast<size_t>(cd) + 1 == h.n;
  std::vector<std::string> order;
  std::unordered_map<std::string, std::vector<Event>> by_task;
  std::string_view line;
  while (events.Next(&line)) {
    ++st.lines;
    if (TrimWs(line).empty()) continue;
    auto f = Split(line, desc_last ? h.n : 0);
    if (f.size() != h.n) {
      st.Skip(events.name(), events.line_number(),
              fmt::format("expected {} fields, got {}", h.n, f.size()));
      continue;
    }
    Event e;
    if (!ParseI64(f[cs], &e.start) || !ParseI64(f[ce], &e.end)) {
      st.Skip(events.name(), events.line_number(), "unparseable StartTime/EndTime");
      continue;
    }
    if (e.end < e.start) {
      st.Skip(events.name(), events.line_number(), "event ends before it starts");
      continue;
    }
    std::string task(TrimWs(f[ct]));
    e.tid.assign(TrimWs(f[ctid]));
    if (task.empty() || e.tid.empty()) {
      st.Skip(events.name(), events.line_number(), "empty TaskID or TID");
      continue;
    }
    e.op.assign(TrimWs(f[cop]));
    if (ca >= 0) e.addr.assign(TrimWs(f[ca]));
    if (chn >= 0) e.hostname.assign(TrimWs(f[chn]));
    if (cag >= 0) e.agent.assign(TrimWs(f[cag]));
    if (cd >= 0) e.desc.assign(TrimWs(f[cd]).substr(0, 512));
    e.line = events.line_number();
    auto [it, fresh] = by_task.try_emplace(task);
    if (fresh) order.push_back(task);
    it->second.push_back(std::move(e));
  }
  if (!events.status().ok()) return events.status();

  for (const std::string& task : order) {
    std::vector<Event>& ev = by_task[task];
    const size_t n = ev.size();
    std::vector<std::string> ids(n);
    std::unordered_map<std::string, size_t> by_id;
    std::unordered_map<std::string, std::vector<size_t>> by_tid;
    for (size_t i = 0; i < n; ++i) {
      ids[i] = fmt::format("{}@{}", ev[i].tid, ev[i].start);
      by_id.emplace(ids[i], i);
      by_tid[ev[i].tid].push_back(i);
    }
    // Parent ids.
    std::vector<std::string> parent(n);
    std::vector<int64_t> pidx(n, -1);
    for (auto& [tid, idx] : by_tid) {
      auto fit = fathers.find(task + "/" + tid);
      if (fit == fathers.end()) continue;
      std::vector<EdgeRef> fs = fit->second;
      std::stable_sort(idx.begin(), idx.end(),
                       [&](size_t a, size_t b) { return ev[a].start < ev[b].start; });
      std::stable_sort(fs.begin(), fs.end(), [](const EdgeRef& a, const EdgeRef& b) {
        return a.father_start < b.father_start;
      });
      for (size_t k = 0; k < idx.size(); ++k) {
        const EdgeRef& e = fs.size() == idx.size() ? fs[k] : fs[0];
        if (IsRootTid(e.father)) continue;
        std::string pid = fmt::format("{}@{}", e.father, e.father_start);
        auto pit = by_id.find(pid);
        if (pit == by_id.end()) {
          auto tit = by_tid.find(e.father);
          if (tit != by_tid.end() && tit->second.size() == 1) {
            pid = ids[tit->second[0]];
            pit = by_id.find(pid);
          }
        }
        if (pit != by_id.end() && pit->second == idx[k]) continue;  // self edge
        parent[idx[k]] = pid;
        if (pit != by_id.end()) pidx[idx[k]] = static_cast<int64_t>(pit->second);
      }
    }
    // Clock alignment: BFS from events without a resolved parent.
    std::vector<TimeNs> shift(n, 0);
    if (opts.align_clocks) {
      std::vector<std::vector<size_t>> kids(n);
      std::deque<size_t> q;
      for (size_t i = 0; i < n; ++i) {
        if (pidx[i] >= 0) kids[static_cast<size_t>(pidx[i])].push_back(i);
        else q.push_back(i);
      }
      std::vector<char> seen(n, 0);
      for (size_t i : q) seen[i] = 1;
      auto host_of = [&](size_t i) -> const std::string& {
        return ev[i].addr.empty() ? ev[i].hostname : ev[i].addr;
      };
      while (!q.empty()) {
        const size_t i = q.front();
        q.pop_front();
        if (pidx[i] >= 0) {
          const size_t p = static_cast<size_t>(pidx[i]);
          if (host_of(p) == host_of(i)) {
            shift[i] = shift[p];  // same clock as the parent
          } else {
            const TimeNs pstart = ev[p].start + shift[p];
            shift[i] = pstart + ((ev[p].end - ev[p].start) - (ev[i].end - ev[i].start)) / 2 -
                       ev[i].start;
          }
        }
        for (size_t k : kids[i])
          if (!seen[k]) {
            seen[k] = 1;
            q.push_back(k);
          }
      }
    }
    const auto inf = info.find(task);
    if (opts.wall_clock && inf != info.end() && inf->second.second > 0) {
      TimeNs lo = INT64_MAX;
      for (size_t i = 0; i < n; ++i) lo = std::min(lo, ev[i].start + shift[i]);
      const TimeNs delta = inf->second.second - lo;
      for (TimeNs& s : shift) s += delta;
    }
    for (size_t i = 0; i < n; ++i) {
      Event& e = ev[i];
      Span s;
      s.trace_id = task;
      s.span_id = ids[i];
      s.parent_span_id = parent[i];
      s.service = e.agent.empty() ? e.hostname : e.agent;
      s.instance = e.addr;
      s.host = e.hostname;
      s.name = e.op;
      s.start = e.start + shift[i];
      s.end = e.end + shift[i];
      if (e.desc.rfind("Success", 0) == 0) {
        s.status = SpanStatus::kOk;
      } else if (e.desc.find("Exception") != std::string::npos ||
                 e.desc.find("Error") != std::string::npos ||
                 e.desc.find("Fail") != std::string::npos) {
        s.status = SpanStatus::kError;
        s.status_message = e.desc.substr(0, e.desc.find(':'));
      }
      if (!e.desc.empty()) s.attributes.emplace_back("description", std::move(e.desc));
      if (parent[i].empty() && inf != info.end() && !inf->second.first.empty())
        s.attributes.emplace_back("tracebench.title", inf->second.first);
      ++st.records;
      sink.OnSpan(std::move(s));
    }
  }
  return Status::OK();
}

Status ReadTraceBenchDir(const std::string& dir, const TraceBenchOptions& opts,
                         TelemetrySink& sink, ReadStats* stats) {
  auto open = [&](const char* name, std::unique_ptr<LineReader>* r) -> Status {
    for (std::string p : {dir + "/" + name, dir + "/" + name + ".gz"})
      if (IsReadable(p)) return LineReader::Open(p, r);
    return Status::NotFound(fmt::format("{}: no {} or {}.gz", dir, name, name));
  };
  std::unique_ptr<LineReader> ev, ed, tr;
  TRIAD_RETURN_IF_ERROR(open("event.csv", &ev));
  if (!open("edge.csv", &ed).ok()) ed.reset();
  if (!open("trace.csv", &tr).ok()) tr.reset();
  return ReadTraceBench(*ev, ed.get(), tr.get(), opts, sink, stats);
}

}  // namespace triad
