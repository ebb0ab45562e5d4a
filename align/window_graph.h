// Heterogeneous window graph of the knowledge-enhanced model (issue 8; paper
// 003, section 3: G_t = (V_t, E_t, X_t, A_t)), built from a ServiceGraphSeries
// (align/service_graph.h) so all three signals enter through the same
// observation columns as the cross-service model.
//
// Nodes: a fixed universe per layout (the same for every window, so windows
// batch and a node keeps its identity over time), in this order:
//   service nodes  one per service v                          (N)
//   log nodes      one per used template slot (v, log:top<k>)  (L)
//   metric nodes   one per (v, metric:<name>) that v reported in the layout's
//                  step range                                  (M)
// Node attributes for the window of w steps ending at step `end` (values from
// the NORMALISED series: z-scores, 0 where unobserved), modality-aware:
//   x_service: [N, w * S]  the S service columns (every column that is neither
//                          metric:* nor log:top*: log:count, log:error_rate,
//                          log:other, span:*), time-major: [i * S + c]
//   x_log:     [L, w]      the slot's template count per step
//   x_metric:  [M, w]      the metric per step (the "metric segment")
// Edges (undirected; from the RAW series, whose counts are real counts):
//   invocation   service u - service v: a call u->v or v->u in some step of
//                the window (plus knowledge pairs: topology, shared host)
//   deployment   log / metric node - its service
//   co-occurrence log node a - log node b (a != b): both templates logged in
//                at least `cooccur_steps` common steps of the window, by the
//                same service or by two services with an invocation edge
// A = sum of the edge weights (1 each, or for invocation log1p(calls) / log1p(max
// calls in the window) with weighted_calls); the GCN's operator is
//   Â = D^-1/2 (A + I) D^-1/2,  D = row sums of A + I  (paper eq. for H^(l+1)),
// returned as a sparse COO list including the self-loops.
#ifndef TRIAD_ALIGN_WINDOW_GRAPH_H_
#define TRIAD_ALIGN_WINDOW_GRAPH_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "align/service_graph.h"
#include "triad/status.h"

namespace triad {

struct WindowGraphOptions {
  int window = 20;             // w (paper Table 2: 20)
  int cooccur_steps = 1;       // common steps for a co-occurrence edge; 0 = no such edges
  bool weighted_calls = false;
  bool knowledge_edges = true;  // use the extra service pairs given to Build
};

struct WindowGraphLayout {
  int window = 0;
  int services = 0;
  std::vector<int> service_columns;             // the S columns of x_service
  std::vector<std::pair<int, int>> log_nodes;     // (service, column) per log node
  std::vector<std::pair<int, int>> metric_nodes;  // (service, column) per metric node
  int nodes() const {
    return services + static_cast<int>(log_nodes.size() + metric_nodes.size());
  }
  int service_dim() const { return window * static_cast<int>(service_columns.size()); }
  // Node names for reports: "svc", "svc log:top1 [template]", "svc metric:cpu".
  std::vector<std::string> NodeNames(const ServiceGraphSeries& series) const;
};

// The node universe from steps [from_step, to_step) of `raw` (usually the
// training range). REQUIRES: window >= 1, 0 <= from_step <= to_step <= raw.steps.
WindowGraphLayout MakeWindowGraphLayout(const ServiceGraphSeries& raw, int from_step,
                                        int to_step, int window);

struct WindowGraph {
  int end = -1;
  std::vector<float> x_service;  // [N, w * S]
  std::vector<float> x_log;      // [L, w]
  std::vector<float> x_metric;   // [M, w]
  // Â in COO, sorted by (row, col), self-loops included; row/col index the
  // node order above.
  std::vector<int32_t> row, col;
  std::vector<float> weight;
  // Undirected edge counts by kind (before self-loops).
  int invocation_edges = 0, deployment_edges = 0, cooccurrence_edges = 0;
};

// Builds the graph of the window ending at `end`. `raw` and `normalized` are
// the same series before and after FeatureNormalizer::Apply; `extra_pairs`
// are service pairs from the knowledge file (KnowledgeServicePairs).
// Returns InvalidArgument unless window - 1 <= end < steps and the series'
// services/columns match the layout.
Status BuildWindowGraph(const WindowGraphLayout& layout, const ServiceGraphSeries& raw,
                        const ServiceGraphSeries& normalized,
                        const std::vector<std::pair<int, int>>& extra_pairs, int end,
                        const WindowGraphOptions& opts, WindowGraph* out);

// Â = D^-1/2 (A + I) D^-1/2 of an undirected weighted edge list over n nodes
// ((a, b, w) adds w to A[a][b] and A[b][a]; a == b adds to the diagonal once).
// COO sorted by (row, col). REQUIRES: indices < n, weights >= 0.
void SymmetricNormalizedCoo(int n, const std::vector<std::tuple<int, int, float>>& edges,
                            std::vector<int32_t>* row, std::vector<int32_t>* col,
                            std::vector<float>* weight);

}  // namespace triad

#endif  // TRIAD_ALIGN_WINDOW_GRAPH_H_
