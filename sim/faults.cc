#include "sim/faults.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <fmt/core.h>

#include "sim/rng.h"

namespace triad {
namespace {

bool IsStore(const Service& s) {
  return s.kind == ServiceKind::kDatabase || s.kind == ServiceKind::kCache;
}

// Candidate root services for a fault type (never the gateway: it is the front door).
std::vector<int> Candidates(const Topology& topo, FaultType type) {
  std::vector<int> out;
  for (int i = 1; i < static_cast<int>(topo.services.size()); ++i) {
    const Service& s = topo.services[i];
    switch (type) {
      case FaultType::kErrorBurst:
      case FaultType::kMemoryLeak:
      case FaultType::kBadDeploy:
        if (!IsStore(s)) out.push_back(i);
        break;
      default:
        out.push_back(i);
    }
  }
  return out;
}

std::string Pct(double x) { return fmt::format("{:.0f}%", 100 * x); }

}  // namespace

const char* FaultTypeName(FaultType t) {
  switch (t) {
    case FaultType::kLatency: return "latency";
    case FaultType::kErrorBurst: return "error_burst";
    case FaultType::kCpuHog: return "cpu_hog";
    case FaultType::kMemoryLeak: return "memory_leak";
    case FaultType::kCrash: return "crash";
    case FaultType::kNetworkDelay: return "network_delay";
    case FaultType::kBadDeploy: return "bad_deploy";
  }
  return "unknown";
}

FaultPlan FaultPlan::Generate(const Topology& topo, uint64_t seed, TimeNs train_end, TimeNs end,
                              int count) {
  FaultPlan plan;
  if (count <= 0 || end <= train_end) return plan;
  Rng rng(seed, 202);

  // Durations and gaps (seconds), scaled to fit the test window.
  const double window = static_cast<double>(end - train_end) / kNsPerSec;
  std::vector<double> dur(count), gap(count + 1);
  for (auto& d : dur) d = rng.Uniform(120, 300);
  for (auto& g : gap) g = rng.Uniform(90, 240);
  double total = 0;
  for (double d : dur) total += d;
  for (double g : gap) total += g;
  if (total > window) {
    const double k = window / total;
    for (auto& d : dur) d *= k;
    for (auto& g : gap) g *= k;
  } else {  // spread the slack over the gaps
    const double slack = window - total;
    std::vector<double> w(count + 1);
    double ws = 0;
    for (auto& x : w) ws += (x = rng.Uniform(0.5, 1.5));
    for (int i = 0; i <= count; ++i) gap[i] += slack * w[i] / ws;
  }

  std::vector<FaultType> perm;
  for (int i = 0; i < kNumFaultTypes; ++i) perm.push_back(static_cast<FaultType>(i));
  rng.Shuffle(perm);

  std::vector<int> used(topo.services.size(), 0);
  const auto edges = topo.Edges();
  double t = 0;
  for (int i = 0; i < count; ++i) {
    t += gap[i];
    FaultSpec f;
    f.id = "f" + std::to_string(i + 1);
    f.type = perm[i % kNumFaultTypes];
    f.start = train_end + static_cast<TimeNs>(t * kNsPerSec);
    t += dur[i];
    f.end = std::min(end, train_end + static_cast<TimeNs>(t * kNsPerSec));
    const double len_s = static_cast<double>(f.end - f.start) / kNsPerSec;

    auto pick = [&](std::vector<int> c) {
      // Least used first, random among those.
      rng.Shuffle(c);
      std::stable_sort(c.begin(), c.end(), [&](int a, int b) { return used[a] < used[b]; });
      return c[0];
    };
    if (f.type == FaultType::kNetworkDelay) {
      std::vector<int> idx;
      for (size_t e = 0; e < edges.size(); ++e) idx.push_back(static_cast<int>(e));
      rng.Shuffle(idx);
      std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) {
        return used[edges[a].second] < used[edges[b].second];
      });
      f.service = edges[idx[0]].first;
      f.peer = edges[idx[0]].second;
      ++used[f.peer];
    } else {
      f.service = pick(Candidates(topo, f.type));
      ++used[f.service];
    }
    const Service& s = topo.services[f.service];
    switch (f.type) {
      case FaultType::kLatency:
        f.magnitude = rng.Uniform(3, 10);
        f.description = fmt::format("{}: operations {:.1f}x slower", s.name, f.magnitude);
        break;
      case FaultType::kErrorBurst:
        f.magnitude = rng.Uniform(0.2, 0.5);
        f.description = fmt::format("{}: {} of requests fail with HTTP 500 (unhandled exception)",
                                    s.name, Pct(f.magnitude));
        break;
      case FaultType::kCpuHog:
        f.magnitude = rng.Uniform(0.92, 0.99);
        f.latency_mult = rng.Uniform(1.5, 3);
        f.description = fmt::format("{}: CPU saturated at {}, requests {:.1f}x slower", s.name,
                                    Pct(f.magnitude), f.latency_mult);
        break;
      case FaultType::kMemoryLeak: {
        const double down = std::min(rng.Uniform(5, 15), 0.2 * len_s);
        f.down_end = f.end;
        f.down_start = f.end - static_cast<TimeNs>(down * kNsPerSec);
        f.description = fmt::format(
            "{}: memory grows linearly, GC pauses lengthen, OOM-killed and restarted at the end",
            s.name);
        break;
      }
      case FaultType::kCrash: {
        const double down = std::min(rng.Uniform(30, 90), 0.6 * len_s);
        f.down_start = f.start;
        f.down_end = f.start + static_cast<TimeNs>(down * kNsPerSec);
        f.description = fmt::format(
            "{}: process crashed, down for {:.0f} s (connection refused), then restarted cold",
            s.name, down);
        break;
      }
      case FaultType::kNetworkDelay:
        f.magnitude = rng.Uniform(50, 300);
        f.description = fmt::format("network delay +{:.0f} ms on calls {} -> {}", f.magnitude,
                                    s.name, topo.services[f.peer].name);
        break;
      case FaultType::kBadDeploy: {
        f.magnitude = rng.Uniform(0.03, 0.08);
        f.latency_mult = rng.Uniform(1.1, 1.4);
        f.new_template_prob = rng.Uniform(0.15, 0.35);
        f.changed_op = static_cast<int>(rng.Below(s.ops.size()));
        const Operation& op = s.ops[f.changed_op];
        // A call the old version never made: a deeper service it does not call.
        std::vector<int> fresh;
        for (int j = f.service + 1; j < static_cast<int>(topo.services.size()); ++j)
          if (topo.services[j].layer > s.layer && !topo.Calls(f.service, j)) fresh.push_back(j);
        std::string change;
        if (!fresh.empty() && (op.calls.empty() || rng.Bernoulli(0.6))) {
          f.extra_call.service = rng.Pick(fresh);
          f.extra_call.op = static_cast<int>(rng.Below(topo.services[f.extra_call.service].ops.size()));
          f.extra_call.prob = rng.Uniform(0.5, 1.0);
          f.extra_call.propagate = 0.5;
          f.extra_call.group = op.calls.empty() ? 0 : op.calls.back().group + 1;
          change = "now calls " + topo.services[f.extra_call.service].name;
        } else if (!op.calls.empty()) {
          f.skipped_call = static_cast<int>(rng.Below(op.calls.size()));
          change = "skips its call to " + topo.services[op.calls[f.skipped_call].service].name;
        }
        f.new_version = fmt::format("{}.{}.0-rc{}", s.version.substr(0, s.version.find('.')),
                                    rng.Int(15, 30), rng.Int(1, 4));
        f.description = fmt::format(
            "{}: bad deploy of v{} ({} on {}), new warnings/errors, +{} errors; rolled back at the end",
            s.name, f.new_version, change.empty() ? "same call path" : change, op.name,
            Pct(f.magnitude));
        break;
      }
    }
    plan.faults_.push_back(std::move(f));
  }

  for (const auto& f : plan.faults_) {
    const Service& s = topo.services[f.service];
    if (f.type == FaultType::kCrash) plan.restarts_.push_back({f.down_end, f.service, "crash", s.version});
    if (f.type == FaultType::kMemoryLeak) plan.restarts_.push_back({f.down_end, f.service, "oom", s.version});
    if (f.type == FaultType::kBadDeploy) {
      plan.restarts_.push_back({f.start, f.service, "deploy", f.new_version});
      plan.restarts_.push_back({f.end, f.service, "rollback", s.version});
    }
  }
  std::stable_sort(plan.restarts_.begin(), plan.restarts_.end(),
                   [](const Restart& a, const Restart& b) { return a.time < b.time; });
  return plan;
}

Effects FaultPlan::At(int service, TimeNs t) const {
  Effects e;
  for (const auto& f : faults_) {
    if (f.service != service || t < f.start || t >= f.end) continue;
    const double frac = static_cast<double>(t - f.start) / static_cast<double>(f.end - f.start);
    switch (f.type) {
      case FaultType::kLatency:
        e.latency_mult *= f.magnitude;
        break;
      case FaultType::kErrorBurst:
        e.error_prob = std::max(e.error_prob, f.magnitude);
        e.error_fault = &f;
        break;
      case FaultType::kCpuHog:
        e.cpu_floor = f.magnitude;
        e.latency_mult *= f.latency_mult;
        break;
      case FaultType::kMemoryLeak:
        e.leak = frac;
        e.latency_mult *= 1 + 1.5 * frac * frac;
        if (t >= f.down_start && t < f.down_end) e.down = true;
        break;
      case FaultType::kCrash:
        if (t >= f.down_start && t < f.down_end) {
          e.down = true;
        } else {  // cold start: caches and JIT warm up
          const double w = static_cast<double>(t - f.down_end) /
                           static_cast<double>(std::max<TimeNs>(1, f.end - f.down_end));
          e.latency_mult *= 1 + 1.5 * (1 - w);
        }
        break;
      case FaultType::kNetworkDelay:
        break;
      case FaultType::kBadDeploy:
        e.error_prob = std::max(e.error_prob, f.magnitude);
        e.latency_mult *= f.latency_mult;
        e.deploy = &f;
        break;
    }
  }
  return e;
}

TimeNs FaultPlan::NetworkDelay(int caller, int callee, TimeNs t) const {
  TimeNs d = 0;
  for (const auto& f : faults_)
    if (f.type == FaultType::kNetworkDelay && f.service == caller && f.peer == callee &&
        t >= f.start && t < f.end)
      d += static_cast<TimeNs>(f.magnitude * kNsPerMs);
  return d;
}

}  // namespace triad
