// Topology: the simulated microservice system. A gateway in front, mid-tier
// services in layers, databases and caches at the bottom; each service has a
// few operations, each operation a plan of calls to other services' operations.
// The call graph is a DAG: a call always goes to a service with a larger index.
#ifndef TRIAD_SIM_TOPOLOGY_H_
#define TRIAD_SIM_TOPOLOGY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace triad {

enum class ServiceKind : uint8_t { kGateway, kService, kDatabase, kCache };

// One outgoing call of an operation.
struct Call {
  int service = -1;        // callee service index
  int op = 0;              // callee operation index
  double prob = 1;         // probability the call is made (conditional calls < 1)
  double propagate = 0.9;  // probability a 5xx/connection error of the callee fails the caller
  int group = 0;           // calls of one group run concurrently; groups run in order
};

struct Operation {
  std::string name;       // span name: "GET /api/cart/{id}", "SELECT orders", "GET"
  std::string method;     // HTTP method; empty for databases and caches
  std::string route;      // HTTP route template with "{id}"; empty for databases/caches
  std::string statement;  // db.statement template for databases/caches ("{id}" placeholder)
  double self_ms = 1;     // median own processing time (ms)
  double sigma = 0.4;     // log-normal sigma of the own time
  double weight = 1;      // share of the gateway's traffic (gateway operations only)
  double p4xx = 0;        // probability of a 4xx answer (client error noise)
  std::vector<Call> calls;  // sorted by group
  double expected_ms = 0;   // rough median end-to-end duration, set by Generate
};

struct Instance {
  std::string name;  // pod name, e.g. "cart-5d8f7b6c9d-x2k4p"
  std::string ip;    // pod IP
};

struct Service {
  std::string name;
  ServiceKind kind = ServiceKind::kService;
  int layer = 0;            // 0 = gateway, 1.. = mid tiers, last = data stores
  std::string runtime;      // "java", "go", "node", "python", "postgres", "mysql", "redis"
  std::string version;      // "1.7.3"
  int port = 8080;
  std::string id_style;     // "hex", "num" or "uuid": ids in this service's URLs
  std::vector<Operation> ops;
  std::vector<Instance> instances;
};

class Topology {
 public:
  // Builds a system of `n` services (n >= 4) from `seed`.
  static Topology Generate(int n, uint64_t seed);

  std::vector<Service> services;

  // Distinct caller -> callee service pairs, in a deterministic order.
  std::vector<std::pair<int, int>> Edges() const;
  // Returns true iff some operation of `caller` calls `callee`.
  bool Calls(int caller, int callee) const;
  // Index of the service named `name`, or -1.
  int Find(const std::string& name) const;
  // Expected requests per second reaching each service when the gateway gets `rps`.
  std::vector<double> ExpectedRates(double rps) const;
  // Re-computes Operation::expected_ms (after a change of the plan).
  void ComputeExpected();
};

const char* ServiceKindName(ServiceKind k);

}  // namespace triad

#endif  // TRIAD_SIM_TOPOLOGY_H_
