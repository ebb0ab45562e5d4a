#include "sim/simulator.h"

#include <fmt/core.h>
#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ingest/otlp_json.h"
#include "sim/faults.h"
#include "sim/log_templates.h"
#include "sim/rng.h"
#include "sim/topology.h"

namespace triad {
namespace {

constexpr TimeNs kStep = 5 * kNsPerSec;             // traffic/log/span batch
constexpr TimeNs kMetricInterval = 10 * kNsPerSec;  // metric scrape interval
constexpr double kPi = 3.14159265358979323846;

constexpr int kInfo = 9, kWarn = 13, kError = 17, kFatal = 21;

TimeNs Ms(double ms) { return static_cast<TimeNs>(ms * kNsPerMs); }
double ToMs(TimeNs ns) { return static_cast<double>(ns) / kNsPerMs; }

const char* SeverityText(int sev) {
  if (sev >= kFatal) return "FATAL";
  if (sev >= kError) return "ERROR";
  if (sev >= kWarn) return "WARN";
  return "INFO";
}

bool IsStore(const Service& s) {
  return s.kind == ServiceKind::kDatabase || s.kind == ServiceKind::kCache;
}

std::string Capitalized(const std::string& name) {
  std::string out;
  bool up = true;
  for (char c : name) {
    if (c == '-' || c == '_') {
      up = true;
      continue;
    }
    out.push_back(up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    up = false;
  }
  return out;
}

struct User {
  std::string name;
  int uid = 0;
  std::string ip;
  std::string agent;
};

struct Request {
  std::string trace_id;
  bool sampled = true;
  const User* user = nullptr;
  std::string ids[3];  // hex, num, uuid; generated on first use
};

// Per-instance process state and the current metric interval's accumulators.
struct InstState {
  // Traits.
  double idle_cpu = 0.03, cpu_cost = 0.01, mem_base = 3e8, gc_base_ms = 5;
  int pid = 1;
  double health_phase_s = 0, minute_phase_s = 0;
  // Process.
  double requests_total = 0, errors_total = 0;
  TimeNs proc_start = 0;
  double cpu_noise = 0;
  uint64_t gc_count = 0;
  // Interval.
  std::vector<double> durs_ms;
  uint64_t errors = 0;
  double dur_sum_ms = 0;
  double db_time_ms = 0;
  double last_gc_ms = 0;
};

struct Outcome {
  TimeNs end = 0;
  int code = 200;
  bool refused = false;
  std::string instance;
};

// Context for rendering one log template.
struct Ctx {
  int svc = -1, inst = -1;
  Request* req = nullptr;
  const Operation* op = nullptr;
  std::string path;
  double ms = 0;
  int code = 0;
  int callee = -1;
  std::string stmt, ver, store, sip, flag;
  int sport = 0;
  double mb = 0;
};

}  // namespace

Status ValidateSimConfig(const SimConfig& c) {
  if (c.services < 4 || c.services > 500) return Status::InvalidArgument("services must be in [4, 500]");
  if (!(c.minutes > 0) || c.minutes > 60 * 24 * 60)
    return Status::InvalidArgument("minutes must be in (0, 86400]");
  if (!(c.train_minutes >= 0) || c.train_minutes > c.minutes)
    return Status::InvalidArgument("train_minutes must be in [0, minutes]");
  if (c.faults < 0 || c.faults > 10000) return Status::InvalidArgument("faults must be in [0, 10000]");
  if (!(c.rps > 0) || c.rps > 1e5) return Status::InvalidArgument("rps must be in (0, 100000]");
  if (!(c.trace_sample >= 0) || c.trace_sample > 1)
    return Status::InvalidArgument("trace_sample must be in [0, 1]");
  if (c.start < 0) return Status::InvalidArgument("start must be >= 0");
  return Status::OK();
}

struct Simulator::Impl {
  SimConfig cfg;
  Topology topo;
  FaultPlan plan;
  Rng rng;      // traffic, latencies, log parameters
  Rng ids;      // trace and span ids
  std::vector<User> users;
  std::vector<std::vector<InstState>> inst;  // [service][instance]
  std::vector<char> calls_db;                // service calls a database
  std::vector<std::vector<int>> stores_of;   // data stores each service calls
  double rate_noise = 0;
  // Output of the current step.
  std::vector<Span> spans;
  std::vector<LogRecord> logs;
  std::vector<MetricSample> metrics;

  explicit Impl(const SimConfig& c)
      : cfg(c), topo(Topology::Generate(c.services, c.seed)), rng(c.seed, 1), ids(c.seed, 2) {
    const TimeNs end = cfg.start + static_cast<TimeNs>(cfg.minutes * 60 * kNsPerSec);
    const TimeNs train_end = cfg.start + static_cast<TimeNs>(cfg.train_minutes * 60 * kNsPerSec);
    plan = FaultPlan::Generate(topo, cfg.seed, train_end, end, cfg.faults);
    Rng r(cfg.seed, 3);
    static const char* kNames[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                                   "ivan", "judy", "mallory", "nina", "oscar", "peggy", "quinn",
                                   "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier",
                                   "yvonne", "zoe", "liam", "mia", "noah", "olivia", "emma", "lucas"};
    static const char* kAgents[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/119.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148",
        "shop-android/4.12.0 okhttp/4.11.0", "curl/8.4.0"};
    for (int i = 0; i < 300; ++i) {
      User u;
      u.name = std::string(kNames[r.Below(30)]) + (r.Bernoulli(0.7) ? std::to_string(r.Int(1, 999)) : "");
      u.uid = r.Int(10000, 999999);
      u.ip = fmt::format("{}.{}.{}.{}", r.Int(23, 203), r.Int(0, 255), r.Int(0, 255), r.Int(1, 254));
      u.agent = kAgents[r.Weighted({5, 3, 3, 2, 0.2})];
      users.push_back(std::move(u));
    }
    const auto rates = topo.ExpectedRates(cfg.rps);
    const size_t n = topo.services.size();
    inst.resize(n);
    calls_db.assign(n, 0);
    stores_of.resize(n);
    for (const auto& [a, b] : topo.Edges()) {
      if (topo.services[b].kind == ServiceKind::kDatabase) calls_db[a] = 1;
      if (IsStore(topo.services[b])) stores_of[a].push_back(b);
    }
    for (size_t s = 0; s < n; ++s) {
      const Service& svc = topo.services[s];
      const double per_inst = std::max(0.02, rates[s] / svc.instances.size());
      const double target = r.Uniform(0.12, 0.45);
      double mem_lo = 150, mem_hi = 400;
      if (svc.runtime == "java") mem_lo = 600, mem_hi = 1200;
      if (svc.runtime == "go") mem_lo = 60, mem_hi = 250;
      if (svc.runtime == "postgres") mem_lo = 500, mem_hi = 2000;
      if (svc.runtime == "mysql") mem_lo = 600, mem_hi = 1500;
      if (svc.runtime == "redis") mem_lo = 50, mem_hi = 300;
      const double mem_base = r.Uniform(mem_lo, mem_hi) * 1024 * 1024;
      for (size_t k = 0; k < svc.instances.size(); ++k) {
        InstState st;
        st.idle_cpu = r.Uniform(0.02, 0.06);
        st.cpu_cost = target / per_inst * r.Uniform(0.9, 1.1);
        st.mem_base = mem_base * r.Uniform(0.9, 1.1);
        st.gc_base_ms = svc.runtime == "java" ? r.Uniform(4, 12) : r.Uniform(0.3, 3);
        st.pid = r.Int(7, 32000);
        st.health_phase_s = r.Uniform(0, 30);
        st.minute_phase_s = r.Uniform(0, 60);
        st.proc_start = cfg.start - static_cast<TimeNs>(r.Uniform(3600, 86400 * 5) * kNsPerSec);
        inst[s].push_back(std::move(st));
      }
    }
  }

  // ---- ids and template values ------------------------------------------

  std::string EntityId(Request* req, const std::string& style) {
    const int k = style == "num" ? 1 : style == "uuid" ? 2 : 0;
    std::string fresh;
    std::string* slot = req ? &req->ids[k] : &fresh;
    if (slot->empty()) {
      if (k == 1) {
        *slot = std::to_string(rng.Int(10000, 9999999));
      } else if (k == 2) {
        const std::string h = rng.Hex(32);
        *slot = h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-a" +
                h.substr(17, 3) + "-" + h.substr(20, 12);
      } else {
        *slot = rng.Hex(12);
      }
    }
    return *slot;
  }

  std::string Resolve(std::string_view key, const Ctx& c) {
    const Service* s = c.svc >= 0 ? &topo.services[c.svc] : nullptr;
    if (key == "svc") return s ? s->name : "";
    if (key == "Svc") return s ? Capitalized(s->name) : "";
    if (key == "inst") return s && c.inst >= 0 ? s->instances[c.inst].name : "";
    if (key == "runtime") return s ? s->runtime : "";
    if (key == "ver") return !c.ver.empty() ? c.ver : s ? s->version : "1.0.0";
    if (key == "port") return s ? std::to_string(s->port) : "8080";
    if (key == "pid") return s && c.inst >= 0 ? std::to_string(inst[c.svc][c.inst].pid)
                                               : std::to_string(rng.Int(100, 32000));
    if (key == "user") return c.req && c.req->user ? c.req->user->name : users[rng.Below(users.size())].name;
    if (key == "uid") return std::to_string(c.req && c.req->user ? c.req->user->uid : rng.Int(10000, 999999));
    if (key == "ip") return c.req && c.req->user ? c.req->user->ip : users[rng.Below(users.size())].ip;
    if (key == "ua") return c.req && c.req->user ? c.req->user->agent : "curl/8.4.0";
    if (key == "id") return EntityId(c.req, s ? s->id_style : "num");
    if (key == "method") return c.op ? c.op->method : "GET";
    if (key == "path") return c.path;
    if (key == "route") return c.op ? c.op->route : "";
    if (key == "ms") return fmt::format("{:.1f}", c.ms);
    if (key == "code") return std::to_string(c.code);
    if (key == "callee") return c.callee >= 0 ? topo.services[c.callee].name : "";
    if (key == "cip") {
      if (c.callee >= 0) return topo.services[c.callee].instances[0].ip;
      return fmt::format("10.244.{}.{}", rng.Int(0, 7), rng.Int(2, 254));
    }
    if (key == "cport") return c.callee >= 0 ? std::to_string(topo.services[c.callee].port)
                                             : std::to_string(rng.Int(32768, 60999));
    if (key == "stmt") return c.stmt;
    if (key == "store") return c.store;
    if (key == "sip") return c.sip;
    if (key == "sport") return std::to_string(c.sport);
    if (key == "mb") return fmt::format("{:.0f}", c.mb);
    if (key == "flag") return c.flag;
    if (key == "n") return std::to_string(rng.Int(1, 24));
    if (key == "size") return std::to_string(static_cast<int>(rng.LogNormal(2500, 1.0)) + 64);
    if (key == "pct") return std::to_string(rng.Int(0, 40));
    if (key == "amount") return fmt::format("{:.2f}", rng.LogNormal(45, 0.9));
    if (key == "item") return fmt::format("SKU-{:05d}", rng.Int(0, 99999));
    if (key == "cat") {
      static const char* k[] = {"shoes", "books", "electronics", "garden", "toys", "kitchen"};
      return k[rng.Below(6)];
    }
    if (key == "page") return std::to_string(rng.Int(1, 6));
    if (key == "status") {
      static const char* k[] = {"PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"};
      return k[rng.Weighted({3, 4, 4, 6, 0.5})];
    }
    if (key == "card") return fmt::format("{:04d}", rng.Int(0, 9999));
    if (key == "txn") return "tx_" + rng.Hex(10);
    if (key == "zip") return fmt::format("{:05d}", rng.Int(1000, 99950));
    if (key == "carrier") {
      static const char* k[] = {"UPS", "FedEx", "DHL", "USPS"};
      return k[rng.Below(4)];
    }
    if (key == "wh") return "WH-" + std::to_string(rng.Int(1, 4));
    if (key == "q") {
      static const char* k[] = {"running shoes", "usb-c cable", "coffee grinder", "lego", "desk lamp",
                                "headphones", "garden hose", "yoga mat"};
      return k[rng.Below(8)];
    }
    if (key == "r") return std::to_string(rng.Int(1, 5));
    if (key == "rows") return std::to_string(rng.Int(0, 40));
    if (key == "line") return std::to_string(rng.Int(20, 900));
    if (key == "hex4") return rng.Hex(4);
    if (key == "sec") return fmt::format("{:.2f}", rng.Uniform(1.5, 9));
    if (key == "date") return "2023-11-14 22:00:00 UTC";
    return "";
  }

  std::string Render(std::string_view tmpl, const Ctx& c) {
    return RenderTemplate(tmpl, [&](std::string_view k) { return Resolve(k, c); });
  }

  void Log(TimeNs t, int sev, int svc, int inst_idx, std::string body, const std::string& trace_id = {},
           const std::string& span_id = {}) {
    LogRecord l;
    l.time = t;
    l.observed_time = t;
    l.severity_number = sev;
    l.severity_text = SeverityText(sev);
    l.body = std::move(body);
    l.service = topo.services[svc].name;
    l.instance = topo.services[svc].instances[inst_idx].name;
    l.trace_id = trace_id;
    l.span_id = span_id;
    logs.push_back(std::move(l));
  }

  std::string RealPath(const Service& s, const Operation& op, Request* req) {
    std::string p = op.route;
    const size_t k = p.find("{id}");
    if (k != std::string::npos) p.replace(k, 4, EntityId(req, s.id_style));
    if (op.method == "GET" && p.find("/search") != std::string::npos)
      p += "?q=" + std::to_string(rng.Int(1, 500)) + "&limit=20";
    return p;
  }

  // ---- requests ------------------------------------------------------------

  // Simulates `op` of `svc` reached at `start`; returns its end and status.
  Outcome Serve(Request& req, int svc, int op_idx, TimeNs start, const std::string& parent_id) {
    const Service& s = topo.services[svc];
    const Operation& op = s.ops[op_idx];
    const int ii = static_cast<int>(rng.Below(s.instances.size()));
    InstState& st = inst[svc][ii];
    const Effects e = plan.At(svc, start);
    const std::string span_id = req.sampled ? ids.Hex(16) : std::string();

    double self = rng.LogNormal(op.self_ms, op.sigma);
    if (rng.Bernoulli(0.02)) self *= std::min(40.0, 2 * rng.Pareto(1.2));  // heavy tail
    double extra = 0;
    if (e.latency_mult > 1) extra = (e.latency_mult - 1) * op.expected_ms * rng.LogNormal(1, 0.25);
    const double pre_frac = rng.Uniform(0.2, 0.6);
    TimeNs t = start + Ms(self * pre_frac + extra);

    // The calls this version makes.
    const std::vector<Call>* calls = &op.calls;
    std::vector<Call> changed;
    if (e.deploy && e.deploy->changed_op == op_idx) {
      changed = op.calls;
      if (e.deploy->skipped_call >= 0 && e.deploy->skipped_call < static_cast<int>(changed.size()))
        changed.erase(changed.begin() + e.deploy->skipped_call);
      if (e.deploy->extra_call.service >= 0) changed.push_back(e.deploy->extra_call);
      calls = &changed;
    }

    const bool own_fail = rng.Bernoulli(e.error_prob + 0.0004);
    const bool client_err = !own_fail && rng.Bernoulli(op.p4xx);
    int n_groups = 0;
    for (size_t k = 0; k < calls->size(); ++k)
      if (k == 0 || (*calls)[k].group != (*calls)[k - 1].group) ++n_groups;
    const int abort_at = (own_fail || client_err) ? rng.Int(0, n_groups) : n_groups + 1;

    int code = op.method == "POST" ? 201 : 200;
    std::string cause;  // why the request failed
    int failed_callee = -1, failed_code = 0;
    bool refused = false;
    std::vector<std::pair<TimeNs, std::string>> warn_logs;
    size_t k = 0;
    int gi = 0;
    while (k < calls->size() && code < 400 && gi < abort_at) {
      const int g = (*calls)[k].group;
      TimeNs gend = t;
      for (; k < calls->size() && (*calls)[k].group == g; ++k) {
        const Call& c = (*calls)[k];
        if (!rng.Bernoulli(c.prob)) continue;
        const TimeNs cs = t + static_cast<TimeNs>(rng.Uniform(10, 250) * kNsPerUs);
        Outcome o = Client(req, svc, ii, span_id, c, cs);
        gend = std::max(gend, o.end);
        if (o.code >= 500) {
          if (rng.Bernoulli(c.propagate)) {
            code = s.kind == ServiceKind::kGateway ? (o.refused ? 503 : 502) : 500;
            failed_callee = c.service;
            failed_code = o.code;
            refused = o.refused;
            cause = "upstream";
          } else if (req.sampled) {
            Ctx cx;
            cx.svc = svc;
            cx.inst = ii;
            cx.req = &req;
            cx.callee = c.service;
            warn_logs.emplace_back(o.end, Render(o.refused ? "Falling back to defaults: {callee} unavailable (connection refused)"
                                                           : "Falling back to defaults: {callee} returned an error",
                                                 cx));
          }
        } else if (o.code >= 400 && !IsStore(topo.services[c.service])) {
          code = o.code;  // pass the client error on
        }
      }
      t = gend + static_cast<TimeNs>(rng.Uniform(20, 400) * kNsPerUs);
      ++gi;
    }
    t += Ms(self * (1 - pre_frac));
    if (own_fail && code < 400) {
      code = 500;
      cause = "own";
    } else if (client_err && code < 400) {
      code = op.route.find("{id}") != std::string::npos && op.method != "POST" ? 404
             : svc != 0 && s.name == "auth"                                   ? 401
                                                                              : 400;
    }
    const TimeNs end = t;
    const double dur_ms = ToMs(end - start);

    // Instance statistics (whether sampled or not).
    st.durs_ms.push_back(dur_ms);
    st.dur_sum_ms += dur_ms;
    st.requests_total += 1;
    if (code >= 500) {
      st.errors += 1;
      st.errors_total += 1;
    }

    if (!req.sampled) return Outcome{end, code, false, s.instances[ii].name};

    Ctx cx;
    cx.svc = svc;
    cx.inst = ii;
    cx.req = &req;
    cx.op = &op;
    cx.ms = dur_ms;
    cx.code = code;
    cx.path = IsStore(s) ? "" : RealPath(s, op, &req);
    if (IsStore(s)) cx.stmt = ExpandStatement(op, &req, s);

    Span sp;
    sp.trace_id = req.trace_id;
    sp.span_id = span_id;
    sp.parent_span_id = parent_id;
    sp.service = s.name;
    sp.instance = s.instances[ii].name;
    sp.host = sp.instance;
    sp.name = op.name;
    sp.kind = SpanKind::kServer;
    sp.start = start;
    sp.end = end;
    if (IsStore(s)) {
      sp.attributes = {{"db.statement", cx.stmt}, {"db.system", s.runtime}};
      if (code >= 500) {
        sp.status = SpanStatus::kError;
        sp.status_message = "query failed";
      }
    } else {
      sp.http_method = op.method;
      sp.http_url = cx.path;
      sp.http_status_code = code;
      sp.attributes = {{"http.route", op.route}};
      if (code >= 500) {
        sp.status = SpanStatus::kError;
        sp.status_message = code == 502 ? "Bad Gateway" : code == 503 ? "Service Unavailable"
                                                                      : "Internal Server Error";
      }
    }

    // Logs of this hop.
    const TimeNs mid = start + (end - start) / 2;
    if (s.kind == ServiceKind::kGateway) {
      Log(end, kInfo, svc, ii,
          Render("{ip} - {user} \"{method} {path} HTTP/1.1\" {code} {size} {ms}ms \"{ua}\"", cx),
          req.trace_id, span_id);
    } else if (!IsStore(s)) {
      if (rng.Bernoulli(0.6)) {
        const auto& tm = RequestInfoTemplates(s);
        const size_t which = rng.Bernoulli(0.85) ? op_idx % tm.size() : rng.Below(tm.size());
        Log(mid, kInfo, svc, ii, Render(tm[which], cx), req.trace_id, span_id);
      }
    } else if (s.kind == ServiceKind::kDatabase && rng.Bernoulli(0.08)) {
      Log(end, kInfo, svc, ii, Render(RequestInfoTemplates(s)[0], cx), req.trace_id, span_id);
    }
    if (dur_ms > 4 * op.expected_ms + 5 && rng.Bernoulli(0.7)) {
      const char* tmpl = IsStore(s) ? "slow query: duration {ms} ms statement: {stmt}"
                                    : "Slow request {method} {path}: {ms} ms";
      Log(end, kWarn, svc, ii, Render(tmpl, cx), req.trace_id, span_id);
    }
    for (auto& [wt, body] : warn_logs) Log(wt, kWarn, svc, ii, std::move(body), req.trace_id, span_id);
    if (rng.Bernoulli(0.002) && !IsStore(s))
      Log(mid, kWarn, svc, ii, Render("Retrying {method} {path} after transient error (attempt 2/3)", cx),
          req.trace_id, span_id);
    if (e.deploy && rng.Bernoulli(e.deploy->new_template_prob)) {
      Ctx dx = cx;
      static const char* kFlags[] = {"checkout_v2", "new_pricing", "fast_path", "async_writes"};
      dx.flag = kFlags[rng.Below(4)];
      dx.ver = e.deploy->new_version;
      const auto& tw = BadDeployWarnTemplates();
      Log(mid, kWarn, svc, ii, Render(tw[rng.Below(tw.size())], dx), req.trace_id, span_id);
    }
    if (e.cpu_floor > 0 && rng.Bernoulli(0.03))
      Log(start, kWarn, svc, ii, Render("Worker pool saturated: {n} requests queued", cx), req.trace_id, span_id);
    if (code >= 500) {
      std::string body;
      if (cause == "upstream") {
        Ctx ux = cx;
        ux.callee = failed_callee;
        ux.code = failed_code;
        body = refused ? Render("Error calling {callee}: dial tcp {cip}:{cport}: connect: connection refused", ux)
                       : Render("Upstream {callee} returned {code} while handling {method} {path}", ux);
      } else if (e.deploy && rng.Bernoulli(0.7)) {
        const auto& te = BadDeployErrorTemplates();
        body = Render(te[rng.Below(te.size())], cx);
      } else {
        body = Render(ExceptionTemplate(s.runtime, static_cast<int>(rng.Below(2))), cx);
      }
      Log(end, kError, svc, ii, std::move(body), req.trace_id, span_id);
    }
    spans.push_back(std::move(sp));
    return Outcome{end, code, false, s.instances[ii].name};
  }

  std::string ExpandStatement(const Operation& op, Request* req, const Service& s) {
    std::string st = op.statement;
    for (size_t k; (k = st.find("{id}")) != std::string::npos;) st.replace(k, 4, EntityId(req, s.id_style));
    return st;
  }

  // A call from (svc, inst) to c.service starting at `cs`: client span + callee.
  Outcome Client(Request& req, int svc, int ii, const std::string& parent_id, const Call& c, TimeNs cs) {
    const Service& callee = topo.services[c.service];
    const Operation& op = callee.ops[c.op];
    const std::string span_id = req.sampled ? ids.Hex(16) : std::string();
    const Effects ce = plan.At(c.service, cs);
    const TimeNs extra = plan.NetworkDelay(svc, c.service, cs);
    auto one_way = [&] {
      double d = rng.LogNormal(0.25, 0.4);
      if (extra > 0) d += ToMs(extra) / 2 * rng.LogNormal(1, 0.15);
      return Ms(d);
    };
    Outcome o;
    const TimeNs d1 = one_way();
    if (ce.down) {
      o.end = cs + d1 + Ms(rng.LogNormal(0.8, 0.3));
      o.code = 503;
      o.refused = true;
    } else {
      o = Serve(req, c.service, c.op, cs + d1, span_id);
      o.end += one_way();
    }
    if (callee.kind == ServiceKind::kDatabase) inst[svc][ii].db_time_ms += ToMs(o.end - cs);
    if (!req.sampled) return o;
    Span sp;
    sp.trace_id = req.trace_id;
    sp.span_id = span_id;
    sp.parent_span_id = parent_id;
    sp.service = topo.services[svc].name;
    sp.instance = topo.services[svc].instances[ii].name;
    sp.host = sp.instance;
    sp.name = op.name;
    sp.kind = SpanKind::kClient;
    sp.start = cs;
    sp.end = o.end;
    sp.peer = callee.name;
    if (IsStore(callee)) {
      sp.attributes = {{"db.statement", ExpandStatement(op, &req, callee)}, {"db.system", callee.runtime}};
    } else {
      sp.http_method = op.method;
      sp.http_url = fmt::format("http://{}:{}{}", callee.name, callee.port, RealPath(callee, op, &req));
      sp.http_status_code = o.refused ? 0 : o.code;
    }
    if (!o.instance.empty()) sp.attributes.push_back({"net.peer.name", o.instance});
    if (o.refused) {
      sp.status = SpanStatus::kError;
      sp.status_message = "connect: connection refused";
      sp.attributes.push_back({"error.type", "connection_refused"});
      if (!IsStore(callee)) sp.http_status_code = 503;
    } else if (o.code >= 500) {
      sp.status = SpanStatus::kError;
      sp.status_message = IsStore(callee) ? "query failed" : fmt::format("HTTP {}", o.code);
    }
    spans.push_back(std::move(sp));
    return o;
  }

  // ---- per step ------------------------------------------------------------

  double RateAt(TimeNs t) {
    const double hours = std::fmod(static_cast<double>(t) / kNsPerSec / 3600.0, 24.0);
    const double daily = 1 + 0.3 * std::sin(2 * kPi * (hours - 12) / 24);
    rate_noise = 0.97 * rate_noise + rng.Normal(0, 0.02);
    return std::max(0.01, cfg.rps * daily * std::exp(rate_noise));
  }

  void Traffic(TimeNs t0, TimeNs t1, SimStats& stats) {
    const double rate = RateAt(t0);
    const Service& gw = topo.services[0];
    std::vector<double> weights;
    for (const auto& op : gw.ops) weights.push_back(op.weight);
    double t = static_cast<double>(t0);
    while (true) {
      t += rng.Exponential(rate) * kNsPerSec;
      if (t >= static_cast<double>(t1)) break;
      Request req;
      req.sampled = rng.Bernoulli(cfg.trace_sample);
      if (req.sampled) req.trace_id = ids.Hex(32);
      req.user = &users[rng.Below(users.size())];
      const int op = static_cast<int>(rng.Weighted(weights));
      Serve(req, 0, op, static_cast<TimeNs>(t), "");
      ++stats.requests;
    }
  }

  bool Down(int svc, TimeNs t) const { return plan.At(svc, t).down; }

  void Lifecycle(TimeNs t0, TimeNs t1) {
    for (const auto& f : plan.faults()) {
      if (f.down_end <= f.down_start || f.down_start < t0 || f.down_start >= t1) continue;
      const Service& s = topo.services[f.service];
      for (size_t k = 0; k < s.instances.size(); ++k) {
        Ctx cx;
        cx.svc = f.service;
        cx.inst = static_cast<int>(k);
        cx.mb = inst[f.service][k].mem_base * 2.2 / (1024 * 1024);
        const TimeNs at = f.down_start - Ms(rng.Uniform(1, 400));
        if (f.type == FaultType::kMemoryLeak && !IsStore(s))
          Log(at, kFatal, f.service, static_cast<int>(k), Render(OomTemplate(s.runtime), cx));
        else
          Log(at, kFatal, f.service, static_cast<int>(k), Render(CrashTemplate(s.runtime), cx));
      }
    }
    for (const auto& r : plan.restarts()) {
      if (r.time < t0 || r.time >= t1) continue;
      const Service& s = topo.services[r.service];
      for (size_t k = 0; k < s.instances.size(); ++k) {
        InstState& st = inst[r.service][k];
        // Rolling restarts for deploys, all at once after a crash.
        const TimeNs at = r.time + (r.reason == "deploy" || r.reason == "rollback"
                                        ? static_cast<TimeNs>(k) * Ms(rng.Uniform(2000, 4000))
                                        : Ms(rng.Uniform(50, 500)));
        st.proc_start = at;
        st.requests_total = 0;
        st.errors_total = 0;
        st.gc_count = 0;
        st.pid = rng.Int(7, 200);
        if (r.reason == "rollback" || r.reason == "deploy")
          Log(at - Ms(300), kInfo, r.service, static_cast<int>(k),
              "Received SIGTERM, shutting down gracefully (draining connections)");
        TimeNs lt = at;
        for (const auto& tmpl : StartupTemplates(s)) {
          Ctx cx;
          cx.svc = r.service;
          cx.inst = static_cast<int>(k);
          cx.ver = r.version;
          cx.ms = rng.LogNormal(40, 0.5);
          if (tmpl.find("{store}") != std::string::npos) {
            for (int store : stores_of[r.service]) {
              cx.store = topo.services[store].name;
              cx.sip = topo.services[store].instances[0].ip;
              cx.sport = topo.services[store].port;
              lt += Ms(rng.LogNormal(30, 0.6));
              Log(lt, kInfo, r.service, static_cast<int>(k), Render(tmpl, cx));
            }
            continue;
          }
          lt += Ms(rng.LogNormal(60, 0.8));
          Log(lt, kInfo, r.service, static_cast<int>(k), Render(tmpl, cx));
        }
      }
    }
  }

  // Periodic times phase + k * period inside [t0, t1).
  static std::vector<TimeNs> Ticks(TimeNs origin, double phase_s, double period_s, TimeNs t0, TimeNs t1) {
    std::vector<TimeNs> out;
    const TimeNs period = static_cast<TimeNs>(period_s * kNsPerSec);
    const TimeNs base = origin + static_cast<TimeNs>(phase_s * kNsPerSec);
    TimeNs k = t0 <= base ? 0 : (t0 - base + period - 1) / period;
    for (TimeNs t = base + k * period; t < t1; t += period) out.push_back(t);
    return out;
  }

  void Background(TimeNs t0, TimeNs t1) {
    const double step_min = static_cast<double>(t1 - t0) / kNsPerSec / 60;
    for (size_t s = 0; s < topo.services.size(); ++s) {
      const Service& svc = topo.services[s];
      const int si = static_cast<int>(s);
      for (size_t k = 0; k < svc.instances.size(); ++k) {
        const int ki = static_cast<int>(k);
        InstState& st = inst[s][k];
        auto at = [&] { return t0 + static_cast<TimeNs>(rng.Uniform() * static_cast<double>(t1 - t0)); };
        const Effects e = plan.At(si, t0);
        if (e.down) continue;
        Ctx cx;
        cx.svc = si;
        cx.inst = ki;
        if (!IsStore(svc)) {
          for (TimeNs t : Ticks(cfg.start, st.health_phase_s, 30, t0, t1)) {
            cx.ms = rng.LogNormal(0.4, 0.3) * e.latency_mult;
            Log(t, kInfo, si, ki, Render("GET /healthz 200 {ms}ms kube-probe/1.27", cx));
          }
          // GC logs.
          double gc_rate = svc.runtime == "java" ? 3 : svc.runtime == "go" ? 1.5 : svc.runtime == "node" ? 1 : 0;
          gc_rate *= 1 + 4 * e.leak;
          for (uint64_t g = rng.Poisson(gc_rate * step_min); g > 0; --g) {
            const double pause = rng.LogNormal(st.gc_base_ms, 0.45) * (1 + 15 * e.leak * e.leak);
            st.last_gc_ms = std::max(st.last_gc_ms, pause);
            const double heap = st.mem_base / (1024 * 1024) * (0.6 + 0.3 * rng.Uniform() + 1.2 * e.leak);
            ++st.gc_count;
            std::string body;
            if (svc.runtime == "java")
              body = fmt::format("GC pause (G1 Evacuation Pause) (young) {:.0f}M->{:.0f}M({:.0f}M) {:.3f}ms",
                                 heap, heap * 0.55, st.mem_base / (1024 * 1024) * 2.2, pause);
            else if (svc.runtime == "go")
              body = fmt::format("gc {} @{:.3f}s 1%: 0.018+{:.2f}+0.021 ms clock, {:.0f}->{:.0f}->{:.0f} MB, {:.0f} MB goal, 4 P",
                                 st.gc_count, static_cast<double>(t0 - st.proc_start) / kNsPerSec, pause,
                                 heap, heap * 1.05, heap * 0.5, heap * 1.1);
            else
              body = fmt::format("Mark-Compact {:.1f} ({:.1f}) -> {:.1f} ({:.1f}) MB, {:.2f} / 0.00 ms  allocation failure",
                                 heap, heap * 1.2, heap * 0.6, heap * 1.2, pause);
            Log(at(), kInfo, si, ki, std::move(body));
          }
          for (TimeNs t : Ticks(cfg.start, st.minute_phase_s, 60, t0, t1)) {
            for (int store : stores_of[s]) {
              if (topo.services[store].kind == ServiceKind::kCache) {
                cx.ms = rng.LogNormal(25, 0.5);
                Log(t, kInfo, si, ki, Render("Cache refresh completed: {n} entries in {ms} ms", cx));
              } else {
                const int active = static_cast<int>(st.db_time_ms / 10000 * 3 + rng.Uniform(0, 2));
                const int total = 10;
                Log(t + Ms(3), kInfo, si, ki,
                    svc.runtime == "java"
                        ? fmt::format("HikariPool-1 - Pool stats (total={}, active={}, idle={}, waiting=0)",
                                      total, std::min(active, total), std::max(0, total - active))
                        : fmt::format("db pool stats: open={} in_use={} idle={} wait_count=0", total,
                                      std::min(active, total), std::max(0, total - active)));
              }
            }
          }
          if (rng.Bernoulli(0.1 * step_min)) {
            std::vector<int> peers = stores_of[s];
            for (const auto& op : svc.ops)
              for (const auto& c : op.calls) peers.push_back(c.service);
            if (!peers.empty()) {
              cx.callee = peers[rng.Below(peers.size())];
              cx.ms = rng.LogNormal(120, 0.6);
              Log(at(), kWarn, si, ki,
                  Render(rng.Bernoulli(0.5) ? "Slow DNS resolution for {callee}.default.svc.cluster.local: {ms} ms"
                                            : "Connection to {callee} reset by peer; reconnecting",
                         cx));
            }
          }
          if (e.leak > 0.5 && rng.Bernoulli(0.5)) {
            cx.mb = st.mem_base / (1024 * 1024) * (1 + 1.2 * e.leak);
            Log(at(), kWarn, si, ki,
                Render(fmt::format("Heap usage at {:.0f}% of limit ({{mb}} MB / {:.0f} MB)", 40 + 55 * e.leak,
                                   st.mem_base * 2.2 / (1024 * 1024)),
                       cx));
          }
        } else if (svc.runtime == "postgres" || svc.runtime == "mysql") {
          if (rng.Bernoulli(0.2 * step_min)) {
            const TimeNs t = at();
            if (svc.runtime == "postgres") {
              Log(t, kInfo, si, ki, "checkpoint starting: time");
              Log(t + Ms(rng.Uniform(500, 3000)), kInfo, si, ki,
                  Render("checkpoint complete: wrote {n} buffers (0.{n}%); 0 WAL file(s) added, 0 removed, 1 recycled; write={sec} s, sync=0.00{n} s, total={sec} s",
                         cx));
            } else {
              cx.ms = rng.LogNormal(1500, 0.3);
              Log(t, kWarn, si, ki,
                  Render("InnoDB: page_cleaner: 1000ms intended loop took {ms}ms. The settings might not be optimal.", cx));
            }
          }
          if (rng.Bernoulli(0.5 * step_min)) {
            Log(at(), kInfo, si, ki,
                Render(svc.runtime == "postgres"
                           ? "connection authorized: user=app database=shop application_name={svc}"
                           : "Aborted connection {n} to db: 'shop' user: 'app' host: '{cip}' (Got timeout reading communication packets)",
                       cx));
          }
        } else {  // redis
          if (rng.Bernoulli(0.2 * step_min)) {
            const TimeNs t = at();
            Log(t, kInfo, si, ki, Render("{n}00 changes in 300 seconds. Saving...", cx));
            Log(t + Ms(2), kInfo, si, ki, Render("Background saving started by pid {pid}", cx));
            Log(t + Ms(rng.Uniform(50, 400)), kInfo, si, ki, "DB saved on disk");
            Log(t + Ms(rng.Uniform(450, 900)), kInfo, si, ki, "Background saving terminated with success");
          }
        }
      }
    }
  }

  static double Percentile(std::vector<double>& v, double q) {
    const size_t idx = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
    return v[idx];
  }

  void Metrics(TimeNs t, double interval_s) {
    for (size_t s = 0; s < topo.services.size(); ++s) {
      const Service& svc = topo.services[s];
      const Effects e = plan.At(static_cast<int>(s), t);
      for (size_t k = 0; k < svc.instances.size(); ++k) {
        InstState& st = inst[s][k];
        auto emit = [&](const char* name, MetricKind kind, double v) {
          MetricSample m;
          m.name = name;
          m.service = svc.name;
          m.instance = svc.instances[k].name;
          m.time = t;
          m.kind = kind;
          m.value = v;
          metrics.push_back(std::move(m));
        };
        const double n = static_cast<double>(st.durs_ms.size());
        if (!e.down) {
          const double rate = n / interval_s;
          st.cpu_noise = 0.9 * st.cpu_noise + rng.Normal(0, 0.008);
          double cpu = st.idle_cpu + rate * st.cpu_cost + st.cpu_noise + rng.Normal(0, 0.01) +
                       0.15 * e.leak * e.leak;
          if (e.cpu_floor > 0) cpu = std::max(cpu, e.cpu_floor + rng.Normal(0, 0.01));
          cpu = std::clamp(cpu, 0.001, 1.0);
          const double warm = std::clamp(static_cast<double>(t - st.proc_start) / (120.0 * kNsPerSec), 0.0, 1.0);
          const double mem = st.mem_base * (0.65 + 0.35 * warm) * (1 + 0.08 * rng.Uniform()) +
                             e.leak * (st.mem_base * 2.2 * 0.97 - st.mem_base) + n * 2048;
          emit("cpu_usage", MetricKind::kGauge, std::round(cpu * 10000) / 10000);
          emit("memory_bytes", MetricKind::kGauge, std::round(mem));
          emit("requests_total", MetricKind::kCounter, st.requests_total);
          emit("errors_total", MetricKind::kCounter, st.errors_total);
          if (!st.durs_ms.empty()) {
            emit("latency_p50_ms", MetricKind::kGauge, std::round(Percentile(st.durs_ms, 0.5) * 1000) / 1000);
            emit("latency_p99_ms", MetricKind::kGauge, std::round(Percentile(st.durs_ms, 0.99) * 1000) / 1000);
          }
          if (!IsStore(svc)) {
            double gc = rng.LogNormal(st.gc_base_ms, 0.45) * (1 + 15 * e.leak * e.leak) *
                        (e.cpu_floor > 0 ? 1.6 : 1.0);
            gc = std::max(gc, st.last_gc_ms);
            emit("gc_pause_ms", MetricKind::kGauge, std::round(gc * 1000) / 1000);
          }
          if (calls_db[s]) {
            const double in_use = st.db_time_ms / (interval_s * 1000) * 3 + std::abs(rng.Normal(0, 0.3));
            emit("db_pool_in_use", MetricKind::kGauge, std::round(std::min(in_use, 20.0) * 100) / 100);
          }
          if (IsStore(svc)) {
            const double conns = 6.0 * static_cast<double>(1 + s % 3) + st.dur_sum_ms / (interval_s * 1000) * 4 +
                                 static_cast<double>(rng.Int(0, 2));
            emit("connections", MetricKind::kGauge, std::round(conns));
          }
          double queue = st.dur_sum_ms / (interval_s * 1000) + std::abs(rng.Normal(0, 0.2));
          if (e.cpu_floor > 0) queue *= 3;
          emit("queue_depth", MetricKind::kGauge, std::round(queue * 100) / 100);
        }
        st.durs_ms.clear();
        st.errors = 0;
        st.dur_sum_ms = 0;
        st.db_time_ms = 0;
        st.last_gc_ms = 0;
      }
    }
  }
};

Simulator::Simulator(SimConfig cfg) : cfg_(cfg) {
  assert(ValidateSimConfig(cfg_).ok());
  impl_ = std::make_unique<Impl>(cfg_);
  const Topology& topo = impl_->topo;
  truth_.seed = cfg_.seed;
  truth_.start = cfg_.start;
  truth_.end = cfg_.start + static_cast<TimeNs>(cfg_.minutes * 60 * kNsPerSec);
  truth_.train_end = cfg_.start + static_cast<TimeNs>(cfg_.train_minutes * 60 * kNsPerSec);
  for (const auto& s : topo.services) truth_.services.push_back(s.name);
  for (const auto& [a, b] : topo.Edges())
    truth_.edges.emplace_back(topo.services[a].name, topo.services[b].name);
  for (const auto& f : impl_->plan.faults()) {
    FaultTruth ft;
    ft.id = f.id;
    ft.type = FaultTypeName(f.type);
    ft.services.push_back(topo.services[f.service].name);
    if (f.peer >= 0) ft.services.push_back(topo.services[f.peer].name);
    ft.start = f.start;
    ft.end = f.end;
    ft.description = f.description;
    truth_.faults.push_back(std::move(ft));
  }
}

Simulator::~Simulator() = default;

Status Simulator::Run(TelemetrySink& sink) {
  if (!impl_) return Status::InvalidArgument("Simulator::Run called twice");
  Impl& im = *impl_;
  TimeNs next_metric = cfg_.start + kMetricInterval;
  TimeNs last_metric = cfg_.start;
  for (TimeNs t0 = cfg_.start; t0 < truth_.end;) {
    const TimeNs t1 = std::min(t0 + kStep, truth_.end);
    im.Lifecycle(t0, t1);
    im.Traffic(t0, t1, stats_);
    im.Background(t0, t1);
    if (t1 >= next_metric || t1 == truth_.end) {
      im.Metrics(t1, static_cast<double>(t1 - last_metric) / kNsPerSec);
      last_metric = t1;
      next_metric = t1 + kMetricInterval;
    }
    std::stable_sort(im.logs.begin(), im.logs.end(),
                     [](const LogRecord& a, const LogRecord& b) { return a.time < b.time; });
    stats_.spans += im.spans.size();
    stats_.logs += im.logs.size();
    stats_.metrics += im.metrics.size();
    for (auto& s : im.spans) sink.OnSpan(std::move(s));
    for (auto& l : im.logs) sink.OnLog(std::move(l));
    for (auto& m : im.metrics) sink.OnMetric(std::move(m));
    im.spans.clear();
    im.logs.clear();
    im.metrics.clear();
    if (step_cb_) step_cb_(t1);
    t0 = t1;
  }
  impl_.reset();
  return Status::OK();
}

// ---- ground truth -------------------------------------------------------

Status WriteGroundTruth(const GroundTruth& g, const std::string& path) {
  nlohmann::ordered_json j;
  j["seed"] = g.seed;
  j["start_ns"] = g.start;
  j["end_ns"] = g.end;
  j["train_end_ns"] = g.train_end;
  j["services"] = g.services;
  auto edges = nlohmann::ordered_json::array();
  for (const auto& [a, b] : g.edges) edges.push_back({a, b});
  j["edges"] = std::move(edges);
  auto faults = nlohmann::ordered_json::array();
  for (const auto& f : g.faults) {
    nlohmann::ordered_json o;
    o["id"] = f.id;
    o["type"] = f.type;
    o["services"] = f.services;
    o["start_ns"] = f.start;
    o["end_ns"] = f.end;
    o["description"] = f.description;
    faults.push_back(std::move(o));
  }
  j["faults"] = std::move(faults);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError("cannot write " + path);
  out << j.dump() << "\n";
  out.close();
  if (!out) return Status::IOError("write failed: " + path);
  return Status::OK();
}

Status ParseGroundTruth(const std::string& text, GroundTruth* out) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("ground truth: not a JSON object");
  GroundTruth g;
  try {
    g.seed = j.at("seed").get<uint64_t>();
    g.start = j.at("start_ns").get<TimeNs>();
    g.end = j.at("end_ns").get<TimeNs>();
    g.train_end = j.at("train_end_ns").get<TimeNs>();
    g.services = j.at("services").get<std::vector<std::string>>();
    for (const auto& e : j.at("edges")) {
      if (!e.is_array() || e.size() != 2) return Status::Corruption("ground truth: edge is not a pair");
      g.edges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    }
    for (const auto& f : j.at("faults")) {
      FaultTruth ft;
      ft.id = f.at("id").get<std::string>();
      ft.type = f.at("type").get<std::string>();
      ft.services = f.at("services").get<std::vector<std::string>>();
      ft.start = f.at("start_ns").get<TimeNs>();
      ft.end = f.at("end_ns").get<TimeNs>();
      if (f.contains("description")) ft.description = f.at("description").get<std::string>();
      g.faults.push_back(std::move(ft));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("ground truth: ") + e.what());
  }
  *out = std::move(g);
  return Status::OK();
}

Status LoadGroundTruth(const std::string& path, GroundTruth* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseGroundTruth(ss.str(), out);
}

// ---- files ----------------------------------------------------------------

namespace {

// One output file, plain or gzip (deterministic: zlib writes mtime 0).
class OutFile {
 public:
  ~OutFile() { Close(); }
  Status Open(const std::string& path, bool gzip) {
    path_ = path;
    if (gzip) {
      gz_ = gzopen(path.c_str(), "wb6");
      if (!gz_) return Status::IOError("cannot create " + path);
    } else {
      f_ = std::fopen(path.c_str(), "wb");
      if (!f_) return Status::IOError("cannot create " + path);
    }
    return Status::OK();
  }
  Status Write(const std::string& data) {
    if (data.empty()) return Status::OK();
    if (gz_) {
      if (gzwrite(gz_, data.data(), static_cast<unsigned>(data.size())) != static_cast<int>(data.size()))
        return Status::IOError("write failed: " + path_);
    } else if (f_) {
      if (std::fwrite(data.data(), 1, data.size(), f_) != data.size())
        return Status::IOError("write failed: " + path_);
    }
    return Status::OK();
  }
  Status Close() {
    Status st;
    if (gz_ && gzclose(gz_) != Z_OK) st = Status::IOError("close failed: " + path_);
    if (f_ && std::fclose(f_) != 0) st = Status::IOError("close failed: " + path_);
    gz_ = nullptr;
    f_ = nullptr;
    return st;
  }

 private:
  std::string path_;
  gzFile gz_ = nullptr;
  std::FILE* f_ = nullptr;
};

// Buffers one step of records and writes each signal's batch as one OTLP/JSON line.
class DirWriter : public TelemetrySink {
 public:
  Status Open(const std::string& dir, bool gzip, std::vector<std::string>* files) {
    const std::string ext = gzip ? ".jsonl.gz" : ".jsonl";
    const std::string names[3] = {"traces", "logs", "metrics"};
    for (int i = 0; i < 3; ++i) {
      const std::string p = (std::filesystem::path(dir) / (names[i] + ext)).string();
      TRIAD_RETURN_IF_ERROR(out_[i].Open(p, gzip));
      files->push_back(p);
    }
    return Status::OK();
  }
  void OnSpan(Span&& s) override { spans_.push_back(std::move(s)); }
  void OnLog(LogRecord&& l) override { logs_.push_back(std::move(l)); }
  void OnMetric(MetricSample&& m) override { metrics_.push_back(std::move(m)); }
  void Flush() {
    if (!spans_.empty()) Keep(out_[0].Write(WriteOtlpTraces(spans_) + "\n"));
    if (!logs_.empty()) Keep(out_[1].Write(WriteOtlpLogs(logs_) + "\n"));
    if (!metrics_.empty()) Keep(out_[2].Write(WriteOtlpMetrics(metrics_) + "\n"));
    spans_.clear();
    logs_.clear();
    metrics_.clear();
  }
  Status Close() {
    Flush();
    for (auto& o : out_) Keep(o.Close());
    return status_;
  }

 private:
  void Keep(Status s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  OutFile out_[3];
  std::vector<Span> spans_;
  std::vector<LogRecord> logs_;
  std::vector<MetricSample> metrics_;
  Status status_;
};

}  // namespace

Status SimulateToDir(const SimConfig& cfg, const std::string& dir, bool gzip, GroundTruth* truth,
                     SimulateResult* result, std::function<void(TimeNs)> progress) {
  TRIAD_RETURN_IF_ERROR(ValidateSimConfig(cfg));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create directory " + dir + ": " + ec.message());
  SimulateResult res;
  DirWriter writer;
  TRIAD_RETURN_IF_ERROR(writer.Open(dir, gzip, &res.files));
  Simulator sim(cfg);
  sim.set_step_callback([&](TimeNs t) {
    writer.Flush();
    if (progress) progress(t);
  });
  TRIAD_RETURN_IF_ERROR(sim.Run(writer));
  TRIAD_RETURN_IF_ERROR(writer.Close());
  const std::string gt = (std::filesystem::path(dir) / "ground_truth.json").string();
  TRIAD_RETURN_IF_ERROR(WriteGroundTruth(sim.truth(), gt));
  res.files.push_back(gt);
  res.stats = sim.stats();
  if (truth) *truth = sim.truth();
  if (result) *result = std::move(res);
  return Status::OK();
}

}  // namespace triad
