#include "sim/topology.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <set>

#include "sim/rng.h"

namespace triad {
namespace {

struct KnownService {
  const char* name;
  const char* ops[4];  // "METHOD /route"; nullptr-terminated
  const char* id_style;
  bool prefers_cache;
};

// In order of use; roughly shallow services first.
const KnownService kKnown[] = {
    {"auth", {"GET /api/auth/verify", "POST /api/auth/login", "POST /api/auth/refresh", nullptr}, "hex", true},
    {"catalog", {"GET /api/catalog/products/{id}", "GET /api/catalog/products", "GET /api/catalog/categories/{id}", nullptr}, "num", false},
    {"cart", {"GET /api/cart/{id}", "POST /api/cart/{id}/items", "DELETE /api/cart/{id}", nullptr}, "hex", true},
    {"orders", {"GET /api/orders/{id}", "POST /api/orders", "GET /api/orders", nullptr}, "num", false},
    {"payment", {"POST /api/payment/charge", "POST /api/payment/refund/{id}", nullptr, nullptr}, "uuid", false},
    {"shipping", {"GET /api/shipping/quote", "POST /api/shipping/{id}/ship", nullptr, nullptr}, "num", false},
    {"recommendation", {"GET /api/recommendations/{id}", nullptr, nullptr, nullptr}, "num", true},
    {"user", {"GET /api/users/{id}", "PUT /api/users/{id}", nullptr, nullptr}, "num", false},
    {"inventory", {"GET /api/inventory/{id}", "POST /api/inventory/{id}/reserve", nullptr, nullptr}, "num", false},
    {"search", {"GET /api/search", "GET /api/search/suggest", nullptr, nullptr}, "num", true},
    {"review", {"GET /api/reviews/{id}", "POST /api/reviews", nullptr, nullptr}, "num", false},
    {"notification", {"POST /api/notifications", "GET /api/notifications/{id}", nullptr, nullptr}, "uuid", false},
    {"pricing", {"GET /api/pricing/{id}", "POST /api/pricing/quote", nullptr, nullptr}, "num", true},
    {"currency", {"GET /api/currency/convert", "GET /api/currency/rates", nullptr, nullptr}, "num", true},
    {"checkout", {"POST /api/checkout", "GET /api/checkout/{id}", nullptr, nullptr}, "uuid", false},
    {"ads", {"GET /api/ads", nullptr, nullptr, nullptr}, "num", true},
};
constexpr int kNumKnown = sizeof(kKnown) / sizeof(kKnown[0]);

const char* kPodAlphabet = "bcdfghjklmnpqrstvwxz2456789";

std::vector<std::string> GenericOps(const std::string& res) {
  return {"GET /api/" + res + "/{id}", "GET /api/" + res, "POST /api/" + res,
          "PUT /api/" + res + "/{id}"};
}

Operation HttpOp(const std::string& spec) {
  Operation op;
  const size_t sp = spec.find(' ');
  op.method = spec.substr(0, sp);
  op.route = spec.substr(sp + 1);
  op.name = spec;
  return op;
}

bool IsRead(const Operation& op) { return op.method == "GET"; }

// Index of a callee operation suited to the caller's operation.
int PickCalleeOp(const Service& callee, const Operation& caller_op, Rng& rng) {
  std::vector<int> match;
  for (size_t i = 0; i < callee.ops.size(); ++i) {
    const Operation& o = callee.ops[i];
    const bool read = callee.kind == ServiceKind::kService ? IsRead(o)
                                                           : (o.name.rfind("SELECT", 0) == 0 ||
                                                              o.name == "GET" || o.name == "MGET");
    if (read == IsRead(caller_op)) match.push_back(static_cast<int>(i));
  }
  if (match.empty() || rng.Bernoulli(0.2)) return static_cast<int>(rng.Below(callee.ops.size()));
  return rng.Pick(match);
}

}  // namespace

const char* ServiceKindName(ServiceKind k) {
  switch (k) {
    case ServiceKind::kGateway: return "gateway";
    case ServiceKind::kDatabase: return "database";
    case ServiceKind::kCache: return "cache";
    default: return "service";
  }
}

Topology Topology::Generate(int n, uint64_t seed) {
  assert(n >= 4);
  Rng rng(seed, 101);
  Topology t;

  int n_data = std::max(1, static_cast<int>(std::lround(n * 0.3)));
  if (n - 1 - n_data < 2) n_data = n - 3;
  const int n_mid = n - 1 - n_data;

  // Gateway.
  Service gw;
  gw.name = "gateway";
  gw.kind = ServiceKind::kGateway;
  gw.layer = 0;
  gw.runtime = rng.Bernoulli(0.5) ? "go" : "node";
  t.services.push_back(gw);

  // Mid-tier services: names, then layers.
  std::vector<Service> mids;
  for (int i = 0; i < n_mid; ++i) {
    Service s;
    s.kind = ServiceKind::kService;
    std::vector<std::string> specs;
    if (i < kNumKnown) {
      s.name = kKnown[i].name;
      s.id_style = kKnown[i].id_style;
      for (const char* o : kKnown[i].ops)
        if (o) specs.push_back(o);
    } else {
      s.name = "svc-" + std::to_string(i + 1);
      s.id_style = rng.Bernoulli(0.5) ? "num" : "hex";
      specs = GenericOps(s.name);
    }
    // 1..4 operations; auth keeps its verify endpoint first.
    const int n_ops = rng.Int(1, static_cast<int>(specs.size()));
    for (int k = 0; k < n_ops; ++k) s.ops.push_back(HttpOp(specs[k]));
    static const char* kRuntimes[] = {"java", "go", "node", "python"};
    s.runtime = kRuntimes[rng.Below(4)];
    mids.push_back(std::move(s));
  }
  const bool has_auth = mids[0].name == "auth";
  const int n_nonauth = n_mid - (has_auth ? 1 : 0);
  const int n_layer1 = std::max(1, static_cast<int>(std::ceil(n_nonauth * 0.45)));
  const int n_deep = n_nonauth - n_layer1;
  const int deep_layers = n_deep == 0 ? 0 : (n_deep <= 3 ? 1 : 2);
  {
    int k = 0;
    for (auto& s : mids) {
      if (has_auth && &s == &mids[0]) {
        s.layer = 1;
        continue;
      }
      if (k < n_layer1) {
        s.layer = 1;
      } else {
        const int d = k - n_layer1;  // 0..n_deep-1
        s.layer = 2 + (deep_layers == 2 && d >= (n_deep + 1) / 2 ? 1 : 0);
      }
      ++k;
    }
  }
  const int data_layer = 2 + deep_layers;
  for (auto& s : mids) t.services.push_back(std::move(s));
  const int mid_begin = 1, mid_end = 1 + n_mid;

  // Data stores, owned by distinct mid-tier services.
  std::vector<int> owners;
  for (int i = mid_begin; i < mid_end; ++i) owners.push_back(i);
  rng.Shuffle(owners);
  // Services that naturally own data first.
  auto owns_data = [&](int i) {
    static const char* kData[] = {"auth", "catalog", "cart", "orders", "payment", "user",
                                  "inventory", "review", "pricing"};
    for (const char* d : kData)
      if (t.services[i].name == d) return 0;
    return 1;
  };
  std::stable_sort(owners.begin(), owners.end(),
                   [&](int a, int b) { return owns_data(a) < owns_data(b); });
  owners.resize(n_data);
  std::sort(owners.begin(), owners.end());
  std::vector<int> store_owner;
  for (int o : owners) {
    Service s;
    const std::string& oname = t.services[o].name;
    bool cache_pref = false;
    for (int k = 0; k < kNumKnown; ++k)
      if (oname == kKnown[k].name) cache_pref = kKnown[k].prefers_cache;
    const bool cache = rng.Bernoulli(cache_pref ? 0.7 : 0.2);
    s.kind = cache ? ServiceKind::kCache : ServiceKind::kDatabase;
    s.name = oname + (cache ? "-cache" : "-db");
    s.layer = data_layer;
    s.id_style = t.services[o].id_style;
    if (cache) {
      s.runtime = "redis";
      s.port = 6379;
      const std::string key = oname + ":{id}";
      Operation get;
      get.name = "GET";
      get.statement = "GET " + key;
      Operation set;
      set.name = "SET";
      set.statement = "SET " + key + " ? EX 300";
      Operation mget;
      mget.name = "MGET";
      mget.statement = "MGET " + key + " " + oname + ":{id}:meta";
      s.ops = {get, set};
      if (rng.Bernoulli(0.5)) s.ops.push_back(mget);
      for (auto& op : s.ops) {
        op.self_ms = rng.Uniform(0.12, 0.6);
        op.sigma = rng.Uniform(0.3, 0.5);
      }
    } else {
      s.runtime = rng.Bernoulli(0.6) ? "postgres" : "mysql";
      s.port = s.runtime == "postgres" ? 5432 : 3306;
      const std::string& tb = oname;
      Operation sel;
      sel.name = "SELECT " + tb;
      sel.statement = "SELECT * FROM " + tb + " WHERE id = ?";
      Operation ins;
      ins.name = "INSERT " + tb;
      ins.statement = "INSERT INTO " + tb + " (id, user_id, payload, created_at) VALUES (?, ?, ?, now())";
      Operation upd;
      upd.name = "UPDATE " + tb;
      upd.statement = "UPDATE " + tb + " SET payload = ?, updated_at = now() WHERE id = ?";
      s.ops = {sel, ins};
      if (rng.Bernoulli(0.6)) s.ops.push_back(upd);
      for (auto& op : s.ops) {
        op.self_ms = rng.Uniform(0.5, 4.0) * (op.name.rfind("SELECT", 0) == 0 ? 1.0 : 1.5);
        op.sigma = rng.Uniform(0.35, 0.6);
      }
    }
    store_owner.push_back(o);
    t.services.push_back(std::move(s));
  }
  const int n_total = static_cast<int>(t.services.size());
  assert(n_total == n);

  // Mid-tier to mid-tier edges: every deeper service gets a caller one layer up.
  std::vector<std::vector<int>> children(n_total);
  auto add_child = [&](int a, int b) {
    if (std::find(children[a].begin(), children[a].end(), b) == children[a].end())
      children[a].push_back(b);
  };
  for (int i = mid_begin; i < mid_end; ++i) {
    Service& s = t.services[i];
    if (s.layer < 2) continue;
    std::vector<int> cands;
    for (int j = mid_begin; j < mid_end; ++j) {
      const Service& c = t.services[j];
      if (c.layer == s.layer - 1 && c.name != "auth") cands.push_back(j);
    }
    assert(!cands.empty());
    // Least loaded caller first, ties by random.
    rng.Shuffle(cands);
    std::stable_sort(cands.begin(), cands.end(),
                     [&](int a, int b) { return children[a].size() < children[b].size(); });
    add_child(cands[0], i);
  }
  for (int i = mid_begin; i < mid_end; ++i) {
    if (t.services[i].name == "auth") continue;
    if (!rng.Bernoulli(0.55)) continue;
    std::vector<int> deeper;
    for (int j = mid_begin; j < mid_end; ++j)
      if (t.services[j].layer > t.services[i].layer) deeper.push_back(j);
    if (!deeper.empty()) add_child(i, rng.Pick(deeper));
  }
  if (has_auth && n_mid > 2) {
    const int user = t.Find("user");
    if (user > 0 && rng.Bernoulli(0.7)) add_child(1, user);
  }
  // Data stores: owner, plus an occasional second reader.
  for (size_t k = 0; k < store_owner.size(); ++k) {
    const int store = mid_end + static_cast<int>(k);
    add_child(store_owner[k], store);
    if (rng.Bernoulli(0.4)) {
      const int other = rng.Int(mid_begin, mid_end - 1);
      add_child(other, store);
    }
  }

  // Operation plans of the mid-tier services.
  for (int i = mid_begin; i < mid_end; ++i) {
    Service& s = t.services[i];
    for (auto& op : s.ops) {
      op.self_ms = rng.LogNormal(3.0, 0.6);
      op.sigma = rng.Uniform(0.35, 0.65);
      op.p4xx = op.route.find("{id}") != std::string::npos ? rng.Uniform(0.002, 0.012)
                                                             : rng.Uniform(0.0, 0.005);
    }
    std::vector<std::vector<int>> op_children(s.ops.size());
    for (int c : children[i]) {
      op_children[rng.Below(s.ops.size())].push_back(c);
      if (s.ops.size() > 1 && rng.Bernoulli(0.35)) {
        const size_t o = rng.Below(s.ops.size());
        if (std::find(op_children[o].begin(), op_children[o].end(), c) == op_children[o].end())
          op_children[o].push_back(c);
      }
    }
    for (size_t o = 0; o < s.ops.size(); ++o) {
      Operation& op = s.ops[o];
      std::vector<int> cs = op_children[o];
      std::sort(cs.begin(), cs.end());
      // Caches before databases so that "cache miss -> database" reads naturally.
      std::stable_sort(cs.begin(), cs.end(), [&](int a, int b) {
        auto rank = [&](int x) {
          return t.services[x].kind == ServiceKind::kCache ? 0
                 : t.services[x].kind == ServiceKind::kService ? 1 : 2;
        };
        return rank(a) < rank(b);
      });
      int group = 0;
      bool had_cache = false;
      for (size_t k = 0; k < cs.size(); ++k) {
        const Service& callee = t.services[cs[k]];
        Call call;
        call.service = cs[k];
        call.op = PickCalleeOp(callee, op, rng);
        if (k > 0) group += rng.Bernoulli(0.35) ? 0 : 1;
        call.group = group;
        if (callee.kind == ServiceKind::kCache) {
          had_cache = true;
          call.propagate = 0.15;  // a failing cache degrades to the database
        } else if (callee.kind == ServiceKind::kDatabase) {
          if (had_cache) {
            call.prob = rng.Uniform(0.15, 0.4);  // cache miss
            call.group = ++group;
          }
          call.propagate = 0.9;
        } else if (callee.name == "recommendation" || callee.name == "ads" ||
                   callee.name == "review" || rng.Bernoulli(0.25)) {
          call.prob = rng.Uniform(0.3, 0.9);
          call.propagate = 0.25;  // optional feature: degrade gracefully
        } else {
          call.propagate = 0.85;
        }
        op.calls.push_back(call);
      }
      std::stable_sort(op.calls.begin(), op.calls.end(),
                       [](const Call& a, const Call& b) { return a.group < b.group; });
    }
  }

  // Gateway routes: one per operation of the layer-1 services, each after an auth check.
  Service& g = t.services[0];
  const int auth = has_auth ? 1 : -1;
  for (int i = mid_begin; i < mid_end; ++i) {
    const Service& s = t.services[i];
    if (s.layer != 1 || i == auth) continue;
    for (size_t o = 0; o < s.ops.size(); ++o) {
      Operation op;
      op.method = s.ops[o].method;
      op.route = s.ops[o].route;
      op.name = s.ops[o].name;
      op.self_ms = rng.Uniform(0.3, 1.5);
      op.sigma = 0.3;
      op.weight = rng.LogNormal(1.0, 0.6) * (op.method == "GET" ? 2.0 : 1.0);
      op.p4xx = rng.Uniform(0.003, 0.01);  // bad requests, unknown routes
      if (auth > 0) {
        Call a;
        a.service = auth;
        a.op = 0;
        a.prob = 0.95;
        a.propagate = 0.95;
        a.group = 0;
        op.calls.push_back(a);
      }
      Call c;
      c.service = i;
      c.op = static_cast<int>(o);
      c.propagate = 1.0;
      c.group = 1;
      op.calls.push_back(c);
      g.ops.push_back(std::move(op));
    }
  }
  if (has_auth) {  // login goes straight through
    Operation op = HttpOp(t.services[auth].ops.size() > 1 ? t.services[auth].ops[1].name
                                                          : t.services[auth].ops[0].name);
    op.self_ms = 0.8;
    op.sigma = 0.3;
    op.weight = 0.3;
    Call c;
    c.service = auth;
    c.op = t.services[auth].ops.size() > 1 ? 1 : 0;
    c.propagate = 1.0;
    op.calls.push_back(c);
    g.ops.push_back(std::move(op));
  }

  // Every operation must be reachable: services are in topological order, so once
  // the callers' operations are all reachable, an operation nobody calls gets an
  // occasional call from one of them ("sometimes also ...").
  struct CallRef {
    int svc, op, call;
  };
  for (int i = 1; i < n_total; ++i) {
    std::vector<CallRef> incoming;
    for (int j = 0; j < i; ++j)
      for (size_t o = 0; o < t.services[j].ops.size(); ++o)
        for (size_t k = 0; k < t.services[j].ops[o].calls.size(); ++k)
          if (t.services[j].ops[o].calls[k].service == i)
            incoming.push_back({j, static_cast<int>(o), static_cast<int>(k)});
    assert(!incoming.empty());
    auto call_of = [&](const CallRef& r) -> Call& { return t.services[r.svc].ops[r.op].calls[r.call]; };
    std::vector<int> hits(t.services[i].ops.size(), 0);
    for (const CallRef& r : incoming) ++hits[call_of(r).op];
    for (size_t o = 0; o < hits.size(); ++o) {
      if (hits[o] > 0) continue;
      // Re-target a call whose operation has other callers, else add a conditional call.
      bool moved = false;
      for (const CallRef& r : incoming) {
        Call& c = call_of(r);
        if (hits[c.op] > 1) {
          --hits[c.op];
          c.op = static_cast<int>(o);
          ++hits[o];
          moved = true;
          break;
        }
      }
      if (moved) continue;
      const CallRef r = incoming[rng.Below(incoming.size())];
      Operation& op = t.services[r.svc].ops[r.op];
      Call c = op.calls[r.call];
      c.op = static_cast<int>(o);
      c.prob = rng.Uniform(0.2, 0.6);
      c.group = op.calls.back().group + 1;
      op.calls.push_back(c);
      incoming.push_back({r.svc, r.op, static_cast<int>(op.calls.size()) - 1});
      ++hits[o];
    }
  }

  // Versions, ports, instances.
  for (int i = 0; i < n_total; ++i) {
    Service& s = t.services[i];
    s.version = std::to_string(rng.Int(1, 3)) + "." + std::to_string(rng.Int(0, 14)) + "." +
                std::to_string(rng.Int(0, 9));
    if (s.kind == ServiceKind::kService || s.kind == ServiceKind::kGateway)
      s.port = s.kind == ServiceKind::kGateway ? 8080 : 8000 + 10 * i;
    int n_inst = 1;
    if (s.kind == ServiceKind::kGateway) n_inst = rng.Int(2, 3);
    if (s.kind == ServiceKind::kService) n_inst = rng.Int(1, 3);
    const std::string rs = rng.Chars(10, kPodAlphabet);
    for (int k = 0; k < n_inst; ++k) {
      Instance in;
      if (s.kind == ServiceKind::kDatabase || s.kind == ServiceKind::kCache)
        in.name = s.name + "-" + std::to_string(k);
      else
        in.name = s.name + "-" + rs + "-" + rng.Chars(5, kPodAlphabet);
      in.ip = "10.244." + std::to_string(rng.Int(0, 7)) + "." + std::to_string(rng.Int(2, 254));
      s.instances.push_back(in);
    }
  }
  t.ComputeExpected();
  return t;
}

void Topology::ComputeExpected() {
  for (int i = static_cast<int>(services.size()) - 1; i >= 0; --i) {
    for (auto& op : services[i].ops) {
      double total = op.self_ms;
      size_t k = 0;
      while (k < op.calls.size()) {
        double group_max = 0;
        const int g = op.calls[k].group;
        for (; k < op.calls.size() && op.calls[k].group == g; ++k) {
          const Call& c = op.calls[k];
          group_max = std::max(group_max,
                               c.prob * (services[c.service].ops[c.op].expected_ms + 0.6));
        }
        total += group_max;
      }
      op.expected_ms = total;
    }
  }
}

std::vector<std::pair<int, int>> Topology::Edges() const {
  std::set<std::pair<int, int>> seen;
  std::vector<std::pair<int, int>> out;
  for (int i = 0; i < static_cast<int>(services.size()); ++i)
    for (const auto& op : services[i].ops)
      for (const auto& c : op.calls)
        if (seen.insert({i, c.service}).second) out.push_back({i, c.service});
  std::sort(out.begin(), out.end());
  return out;
}

bool Topology::Calls(int caller, int callee) const {
  for (const auto& op : services[caller].ops)
    for (const auto& c : op.calls)
      if (c.service == callee) return true;
  return false;
}

int Topology::Find(const std::string& name) const {
  for (size_t i = 0; i < services.size(); ++i)
    if (services[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<double> Topology::ExpectedRates(double rps) const {
  std::vector<double> rate(services.size(), 0.0);
  std::vector<std::vector<double>> op_rate(services.size());
  for (size_t i = 0; i < services.size(); ++i) op_rate[i].assign(services[i].ops.size(), 0.0);
  double wsum = 0;
  for (const auto& op : services[0].ops) wsum += op.weight;
  for (size_t o = 0; o < services[0].ops.size(); ++o)
    op_rate[0][o] = wsum > 0 ? rps * services[0].ops[o].weight / wsum : 0;
  for (size_t i = 0; i < services.size(); ++i) {
    for (size_t o = 0; o < services[i].ops.size(); ++o) {
      rate[i] += op_rate[i][o];
      for (const auto& c : services[i].ops[o].calls)
        op_rate[c.service][c.op] += op_rate[i][o] * c.prob;
    }
  }
  return rate;
}

}  // namespace triad
