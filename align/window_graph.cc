#include "align/window_graph.h"

#include <fmt/core.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace triad {

std::vector<std::string> WindowGraphLayout::NodeNames(const ServiceGraphSeries& s) const {
  std::vector<std::string> out;
  for (int v = 0; v < services; ++v) out.push_back(s.services[v]);
  for (auto [v, f] : log_nodes) out.push_back(s.services[v] + " " + s.ColumnName(v, f));
  for (auto [v, f] : metric_nodes) out.push_back(s.services[v] + " " + s.columns[f]);
  return out;
}

WindowGraphLayout MakeWindowGraphLayout(const ServiceGraphSeries& raw, int from_step,
                                        int to_step, int window) {
  assert(window >= 1 && 0 <= from_step && from_step <= to_step && to_step <= raw.steps);
  WindowGraphLayout l;
  l.window = window;
  l.services = raw.num_services();
  std::vector<int> metric_cols, slot_cols;
  for (int f = 0; f < raw.dims(); ++f) {
    const std::string& c = raw.columns[f];
    if (c.rfind("metric:", 0) == 0) {
      metric_cols.push_back(f);
    } else if (c.rfind("log:top", 0) == 0) {
      slot_cols.push_back(f);
    } else {
      l.service_columns.push_back(f);
    }
  }
  for (int v = 0; v < l.services; ++v)
    for (size_t k = 0; k < slot_cols.size(); ++k)
      if (k < raw.slot_templates[v].size() && raw.slot_templates[v][k] != 0)
        l.log_nodes.emplace_back(v, slot_cols[k]);
  for (int v = 0; v < l.services; ++v)
    for (int f : metric_cols) {
      bool seen = false;
      for (int t = from_step; t < to_step && !seen; ++t) seen = raw.observed(t, v, f);
      if (seen) l.metric_nodes.emplace_back(v, f);
    }
  return l;
}

void SymmetricNormalizedCoo(int n, const std::vector<std::tuple<int, int, float>>& edges,
                            std::vector<int32_t>* row, std::vector<int32_t>* col,
                            std::vector<float>* weight) {
  std::map<std::pair<int, int>, double> a;
  for (int i = 0; i < n; ++i) a[{i, i}] = 1.0;  // + I
  for (auto [u, v, w] : edges) {
    assert(u >= 0 && u < n && v >= 0 && v < n && w >= 0);
    a[{u, v}] += w;
    if (u != v) a[{v, u}] += w;
  }
  std::vector<double> deg(n, 0.0);
  for (const auto& [k, w] : a) deg[k.first] += w;
  row->clear();
  col->clear();
  weight->clear();
  for (const auto& [k, w] : a) {  // map order: sorted by (row, col)
    if (w == 0) continue;
    row->push_back(k.first);
    col->push_back(k.second);
    weight->push_back(static_cast<float>(w / std::sqrt(deg[k.first] * deg[k.second])));
  }
}

Status BuildWindowGraph(const WindowGraphLayout& l, const ServiceGraphSeries& raw,
                        const ServiceGraphSeries& norm,
                        const std::vector<std::pair<int, int>>& extra_pairs, int end,
                        const WindowGraphOptions& opts, WindowGraph* out) {
  const int w = l.window;
  if (w < 1 || end < w - 1 || end >= raw.steps)
    return Status::InvalidArgument(
        fmt::format("window graph: end {} outside [{}, {})", end, w - 1, raw.steps));
  if (raw.services != norm.services || raw.columns != norm.columns || raw.steps != norm.steps ||
      raw.num_services() != l.services)
    return Status::InvalidArgument("window graph: raw and normalised series or layout differ");
  const int first = end - w + 1;
  WindowGraph g;
  g.end = end;
  const int S = static_cast<int>(l.service_columns.size());
  g.x_service.assign(static_cast<size_t>(l.services) * w * S, 0.0f);
  g.x_log.assign(l.log_nodes.size() * w, 0.0f);
  g.x_metric.assign(l.metric_nodes.size() * w, 0.0f);
  auto val = [&](int t, int v, int f) {
    float x = norm.value(t, v, f);
    return norm.observed(t, v, f) && std::isfinite(x) ? x : 0.0f;
  };
  for (int v = 0; v < l.services; ++v)
    for (int i = 0; i < w; ++i)
      for (int c = 0; c < S; ++c)
        g.x_service[(static_cast<size_t>(v) * w + i) * S + c] =
            val(first + i, v, l.service_columns[c]);
  for (size_t n = 0; n < l.log_nodes.size(); ++n)
    for (int i = 0; i < w; ++i)
      g.x_log[n * w + i] = val(first + i, l.log_nodes[n].first, l.log_nodes[n].second);
  for (size_t n = 0; n < l.metric_nodes.size(); ++n)
    for (int i = 0; i < w; ++i)
      g.x_metric[n * w + i] = val(first + i, l.metric_nodes[n].first, l.metric_nodes[n].second);

  // Invocation: calls summed over the window, per unordered pair.
  std::map<std::pair<int, int>, double> calls;
  for (int t = first; t <= end; ++t)
    for (const CallEdge& e : raw.edges[t])
      if (e.caller != e.callee && e.caller < l.services && e.callee < l.services)
        calls[{std::min(e.caller, e.callee), std::max(e.caller, e.callee)}] += e.calls;
  if (opts.knowledge_edges)
    for (auto [a, b] : extra_pairs)
      if (a >= 0 && b >= 0 && a < l.services && b < l.services && a != b)
        calls.emplace(std::make_pair(std::min(a, b), std::max(a, b)), 0.0);
  double max_calls = 0;
  for (const auto& [p, c] : calls) max_calls = std::max(max_calls, c);
  std::vector<std::tuple<int, int, float>> edges;
  std::set<std::pair<int, int>> linked;
  for (const auto& [p, c] : calls) {
    float wgt = 1.0f;
    if (opts.weighted_calls && max_calls > 0)
      wgt = static_cast<float>(std::max(std::log1p(c) / std::log1p(max_calls), 0.1));
    edges.emplace_back(p.first, p.second, wgt);
    linked.insert(p);
  }
  g.invocation_edges = static_cast<int>(edges.size());
  // Deployment: each log / metric node to its service.
  const int log0 = l.services, metric0 = l.services + static_cast<int>(l.log_nodes.size());
  for (size_t n = 0; n < l.log_nodes.size(); ++n)
    edges.emplace_back(log0 + static_cast<int>(n), l.log_nodes[n].first, 1.0f);
  for (size_t n = 0; n < l.metric_nodes.size(); ++n)
    edges.emplace_back(metric0 + static_cast<int>(n), l.metric_nodes[n].first, 1.0f);
  g.deployment_edges = static_cast<int>(l.log_nodes.size() + l.metric_nodes.size());
  // Co-occurrence of templates (raw counts > 0 in common steps).
  if (opts.cooccur_steps > 0) {
    std::vector<std::vector<uint8_t>> on(l.log_nodes.size(), std::vector<uint8_t>(w, 0));
    for (size_t n = 0; n < l.log_nodes.size(); ++n)
      for (int i = 0; i < w; ++i) {
        auto [v, f] = l.log_nodes[n];
        float x = raw.value(first + i, v, f);
        on[n][i] = raw.observed(first + i, v, f) && std::isfinite(x) && x > 0;
      }
    for (size_t a = 0; a < l.log_nodes.size(); ++a)
      for (size_t b = a + 1; b < l.log_nodes.size(); ++b) {
        int va = l.log_nodes[a].first, vb = l.log_nodes[b].first;
        if (va != vb && !linked.count({std::min(va, vb), std::max(va, vb)})) continue;
        int common = 0;
        for (int i = 0; i < w; ++i) common += on[a][i] && on[b][i];
        if (common >= opts.cooccur_steps) {
          edges.emplace_back(log0 + static_cast<int>(a), log0 + static_cast<int>(b), 1.0f);
          ++g.cooccurrence_edges;
        }
      }
  }
  SymmetricNormalizedCoo(l.nodes(), edges, &g.row, &g.col, &g.weight);
  *out = std::move(g);
  return Status::OK();
}

}  // namespace triad
