// System knowledge an operator writes down for the knowledge-enhanced graph
// model (issue 8; paper 003, section 3: "service dependency graphs,
// deployment constraints, and known fault associations" initialise the
// knowledge memory M_k). One JSON file, documented in docs/KNOWLEDGE.md:
//
// {
//   "format": "triad-knowledge", "version": 1,
//   "topology":   [{"caller": "frontend", "callee": "cart"}, ...],
//   "deployment": [{"service": "cart", "host": "node-1"}, ...],
//   "faults": [{"name": "cart cache down", "service": "cart",
//               "signals": [{"feature": "span:p95_ms", "change": 4},
//                           {"feature": "log:template",
//                            "template": "Connection to <*> refused", "change": 3}]}],
//   "rules": [{"name": "errors", "service": "*", "feature": "span:error_rate",
//              "op": ">", "value": 0.2}]
// }
//
// A signal's feature is a ServiceGraphSeries column ("span:p95_ms",
// "metric:cpu_usage", "log:error_rate", ...) or "log:template" with the
// template text (matched against the service's template slots: equal text,
// or every token of the given text found in order). `change` is the shift in
// z-score units (training standard deviations; + up, - down) that the fault
// causes. A rule's value is in raw units; op is one of > >= < <=; service
// "*" means every service. Unknown keys are ignored (forward compatible);
// missing required keys, bad types and unknown ops are Corruption errors that
// name the entry.
#ifndef TRIAD_ALIGN_KNOWLEDGE_H_
#define TRIAD_ALIGN_KNOWLEDGE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "align/service_graph.h"
#include "triad/status.h"

namespace triad {

struct KnowledgeSignal {
  std::string feature;        // column name or "log:template"
  std::string template_text;  // for "log:template"
  double change = 3.0;        // z-score shift
};

struct FaultSignature {
  std::string name, service;
  std::vector<KnowledgeSignal> signals;
};

struct AlertRule {
  std::string name, service, feature, op;
  double value = 0;
};

struct Knowledge {
  std::vector<std::pair<std::string, std::string>> topology;    // (caller, callee)
  std::vector<std::pair<std::string, std::string>> deployment;  // (service, host)
  std::vector<FaultSignature> faults;
  std::vector<AlertRule> rules;
};

Status ParseKnowledge(std::string_view json_text, Knowledge* out);
Status LoadKnowledge(const std::string& path, Knowledge* out);
std::string KnowledgeToJson(const Knowledge& k);

// A signal resolved against a series: the cells it touches.
struct ResolvedSignal {
  int service = -1, column = -1;
  double change = 0;
};

// Resolves every signal of `f` against `series` (service name, column or
// template slot). Returns NotFound naming the first signal that matches no
// column of the service (so a typo in the file is reported, not ignored).
Status ResolveSignature(const FaultSignature& f, const ServiceGraphSeries& series,
                        std::vector<ResolvedSignal>* out);

// Adds each signal's change to the cells of steps [from_step, to_step) of a
// NORMALISED series (z-scores) and marks them observed: the window a known
// fault would produce. REQUIRES: 0 <= from_step <= to_step <= series->steps.
void ApplySignature(const std::vector<ResolvedSignal>& signals, int from_step, int to_step,
                    ServiceGraphSeries* normalized);

// Returns true iff `rule` fires for service v at step t of a RAW series
// (observed cell and the comparison holds). REQUIRES: valid t, v.
bool RuleFires(const AlertRule& rule, const ServiceGraphSeries& raw, int t, int v);

// Extra undirected service pairs from the knowledge (topology, and services
// sharing a host), as indices into series.services; names the series does
// not know are skipped.
std::vector<std::pair<int, int>> KnowledgeServicePairs(const Knowledge& k,
                                                       const ServiceGraphSeries& series);

}  // namespace triad

#endif  // TRIAD_ALIGN_KNOWLEDGE_H_
