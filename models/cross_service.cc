#include "models/cross_service.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "models/fusion.h"  // EmpiricalQuantile
#include "models/model_file.h"
#include "models/torch_io.h"
#include "models/runtime.h"

namespace triad {
namespace {

constexpr char kFormat[] = "triad-cross-service";
constexpr int kVersion = 1;
constexpr int kEmbedChunk = 512;  // windows per inference batch
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Clock = std::chrono::steady_clock;

// ---- Network ----------------------------------------------------------------

struct NetImpl : torch::nn::Module {
  NetImpl(int64_t in, int64_t ch, int64_t k, int64_t clusters) {
    c1 = register_module("c1", torch::nn::Conv1d(torch::nn::Conv1dOptions(in, ch, 3).padding(1)));
    c2 = register_module(
        "c2", torch::nn::Conv1d(torch::nn::Conv1dOptions(ch, ch, 3).padding(2).dilation(2)));
    att = register_module("att", torch::nn::Linear(ch, 1));
    p1 = register_module("p1", torch::nn::Linear(ch, ch));
    p2 = register_module("p2", torch::nn::Linear(ch, k));
    protos = register_parameter("protos", torch::randn({std::max<int64_t>(clusters, 1), k}));
  }

  // x: [B, w, C]. Returns h: [B, k], unit rows.
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(c1->forward(x.transpose(1, 2)));  // [B, ch, w]
    h = torch::relu(c2->forward(h)) + h;
    h = h.transpose(1, 2);                        // [B, w, ch]
    auto a = torch::softmax(att->forward(h), 1);  // [B, w, 1]
    auto pooled = (a * h).sum(1);                 // [B, ch]
    return torch::nn::functional::normalize(p2->forward(torch::relu(p1->forward(pooled))),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  }

  torch::nn::Conv1d c1{nullptr}, c2{nullptr};
  torch::nn::Linear att{nullptr}, p1{nullptr}, p2{nullptr};
  torch::Tensor protos;  // [clusters, k] (normalised in the loss)
};
TORCH_MODULE(Net);

struct LossTensors {
  torch::Tensor total, svc, clu;
};

// a, b: [n, k]; protos: [c, k]; cluster: [n] long; excluded: [n, n] bool or undefined.
LossTensors ComputeLoss(torch::Tensor a, torch::Tensor b, const torch::Tensor& protos,
                        const torch::Tensor& cluster, double tau, double lambda,
                        const torch::Tensor& excluded) {
  namespace F = torch::nn::functional;
  a = F::normalize(a, F::NormalizeFuncOptions().dim(1));
  b = F::normalize(b, F::NormalizeFuncOptions().dim(1));
  const int64_t n = a.size(0);
  auto logits = a.mm(b.t()) / tau;  // [n, n]: row i = view a of i against views b
  if (excluded.defined()) logits = logits.masked_fill(excluded, -1e9);
  auto labels = torch::arange(n, torch::kLong);
  LossTensors out;
  out.svc = 0.5 * (F::cross_entropy(logits, labels) + F::cross_entropy(logits.t(), labels));
  if (lambda > 0) {
    auto p = F::normalize(protos, F::NormalizeFuncOptions().dim(1));
    out.clu = 0.5 * (F::cross_entropy(a.mm(p.t()) / tau, cluster) +
                     F::cross_entropy(b.mm(p.t()) / tau, cluster));
    out.total = out.svc + lambda * out.clu;
  } else {
    out.clu = torch::zeros({});
    out.total = out.svc;
  }
  return out;
}

// ---- Config <-> JSON (one field list for both directions) ---------------------

// clang-format off
#define TRIAD_CS_FIELDS(X)                                                                   \
  X(window) X(aggregate) X(channels) X(embedding) X(steps) X(batch) X(lr) X(temperature)     \
  X(lambda) X(clusters) X(augment) X(jitter) X(crop_min) X(mask_prob) X(noise_sd)            \
  X(neighbour_prob) X(perturbed_graphs) X(edge_drop) X(edge_reweight) X(weights)             \
  X(validation_fraction) X(quantile) X(rank_by_ratio) X(system_ratio) X(service_alarms)      \
  X(service_margin) X(seed) X(threads) X(verbose)
// clang-format on

nlohmann::json ConfigToJson(const CrossServiceConfig& c) {
  nlohmann::json j;
#define TRIAD_CS_PUT(f) j[#f] = c.f;
  TRIAD_CS_FIELDS(TRIAD_CS_PUT)
#undef TRIAD_CS_PUT
  j["weighting"] = int(c.weighting);
  j["same_service_negatives"] = int(c.same_service_negatives);
  j["norm"] = int(c.aggregation.norm);
  j["direction"] = int(c.aggregation.direction);
  j["weighted"] = c.aggregation.weighted;
  j["max_ratio_alarm"] = c.max_ratio_alarm;
  j["rank_neighbour_weight"] = c.rank_neighbour_weight;
  return j;
}

// Throws nlohmann::json::exception on a missing or mistyped field.
CrossServiceConfig ConfigFromJson(const nlohmann::json& j) {
  CrossServiceConfig c;
#define TRIAD_CS_GET(f) j.at(#f).get_to(c.f);
  TRIAD_CS_FIELDS(TRIAD_CS_GET)
#undef TRIAD_CS_GET
  c.weighting = static_cast<ServiceWeighting>(j.at("weighting").get<int>());
  c.same_service_negatives =
      static_cast<SameServiceNegatives>(j.at("same_service_negatives").get<int>());
  c.aggregation.norm = static_cast<AggregationOptions::Norm>(j.at("norm").get<int>());
  c.aggregation.direction =
      static_cast<AggregationOptions::Direction>(j.at("direction").get<int>());
  c.aggregation.weighted = j.at("weighted").get<bool>();
  // Added after version 1's first files: optional, default = first behaviour.
  c.max_ratio_alarm = j.value("max_ratio_alarm", false);
  c.rank_neighbour_weight = j.value("rank_neighbour_weight", 0.0);
  return c;
}
#undef TRIAD_CS_FIELDS

Status CheckConfig(const CrossServiceConfig& c) {
  auto prob = [](double p) { return p >= 0 && p <= 1; };
  if (c.window < 2) return Status::InvalidArgument("cross-service: window must be >= 2");
  if (c.channels < 1 || c.embedding < 2)
    return Status::InvalidArgument("cross-service: channels >= 1 and embedding >= 2 required");
  if (c.steps < 1 || c.batch < 2)
    return Status::InvalidArgument("cross-service: steps >= 1, batch >= 2");
  if (!(c.lr > 0) || !(c.temperature > 0) || !(c.lambda >= 0))
    return Status::InvalidArgument("cross-service: lr and temperature > 0, lambda >= 0 required");
  if (c.jitter < 0 || !(c.crop_min > 0 && c.crop_min <= 1) || !prob(c.mask_prob) ||
      !(c.noise_sd >= 0) || !prob(c.neighbour_prob) || c.perturbed_graphs < 0 ||
      !prob(c.edge_drop) || !(c.edge_reweight >= 0 && c.edge_reweight < 1))
    return Status::InvalidArgument("cross-service: bad augmentation settings");
  if (!(c.service_margin > 0) || !std::isfinite(c.rank_neighbour_weight))
    return Status::InvalidArgument(
        "cross-service: service_margin must be > 0, rank_neighbour_weight finite");
  if (!(c.validation_fraction > 0 && c.validation_fraction < 1) ||
      !(c.quantile > 0 && c.quantile <= 1))
    return Status::InvalidArgument(
        "cross-service: validation_fraction in (0,1), quantile in (0,1]");
  if (static_cast<int>(c.same_service_negatives) > 2)
    return Status::InvalidArgument("cross-service: bad same_service_negatives");
  if (static_cast<int>(c.weighting) > 2)
    return Status::InvalidArgument("cross-service: bad weighting");
  for (const auto& [s, w] : c.weights)
    if (!(w >= 0))
      return Status::InvalidArgument("cross-service: weight of " + s + " must be >= 0");
  return Status::OK();
}

double Cosine(const float* a, const float* b, int k) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < k; ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  if (aa <= 0 || bb <= 0) return 0;
  return ab / std::sqrt(aa * bb);
}

}  // namespace

// ---- Model --------------------------------------------------------------------

struct CrossServiceModel::Impl {
  CrossServiceConfig cfg;
  CrossServiceStats stats;
  bool trained = false;
  std::vector<std::string> services, columns;
  std::map<std::string, int> index;  // service -> model id
  FeatureNormalizer norm;
  std::vector<std::vector<float>> protos;  // [N][k] p_v (empty: none)
  std::vector<double> weights;             // [N] w_v
  std::vector<double> service_thr;         // [N]
  int clusters = 0;
  mutable Net net{nullptr};  // forward() is not const

  int Dims() const { return static_cast<int>(columns.size()); }
  int InWidth() const { return cfg.aggregate ? 2 * Dims() : Dims(); }

  // Normalised tokens of `raw`; InvalidArgument on a column mismatch.
  Status Tokens(const ServiceGraphSeries& raw, TokenSeries* out) const {
    ServiceGraphSeries s = raw;
    Status st = norm.Apply(&s);
    if (!st.ok()) return Status::InvalidArgument("cross-service: " + st.message());
    *out = BuildTokens(s, cfg.aggregation);
    return Status::OK();
  }

  // Copies the window of service v with step offsets src[0..w) (absolute
  // steps) into dst [w, InWidth()].
  void Gather(const TokenSeries& ts, int v, const int* src, float* dst) const {
    const int c = InWidth(), w = cfg.window;
    for (int i = 0; i < w; ++i) {
      const float* z = &ts.z[(static_cast<size_t>(src[i]) * ts.services + v) * ts.dims];
      std::copy(z, z + c, dst + static_cast<size_t>(i) * c);
    }
  }

  // h of (service, end) pairs of `ts`: [pairs, k].
  std::vector<float> Encode(const TokenSeries& ts,
                            const std::vector<std::pair<int, int>>& pairs) const {
    const int w = cfg.window, c = InWidth(), k = cfg.embedding;
    std::vector<float> h(pairs.size() * k);
    torch::NoGradGuard ng;
    std::vector<int> src(w);
    for (size_t b0 = 0; b0 < pairs.size(); b0 += kEmbedChunk) {
      const size_t nb = std::min<size_t>(kEmbedChunk, pairs.size() - b0);
      auto x = torch::empty({static_cast<int64_t>(nb), w, c});
      float* xp = x.data_ptr<float>();
      for (size_t i = 0; i < nb; ++i) {
        const auto [v, end] = pairs[b0 + i];
        for (int j = 0; j < w; ++j) src[j] = end - w + 1 + j;
        Gather(ts, v, src.data(), xp + i * static_cast<size_t>(w) * c);
      }
      auto out = net->forward(x).contiguous();
      std::copy(out.data_ptr<float>(), out.data_ptr<float>() + nb * k, h.begin() + b0 * k);
    }
    return h;
  }

  // Model id of each service of `raw` (-1: unknown).
  std::vector<int> MapServices(const ServiceGraphSeries& raw) const {
    std::vector<int> m(raw.services.size(), -1);
    for (size_t v = 0; v < raw.services.size(); ++v) {
      auto it = index.find(raw.services[v]);
      if (it != index.end()) m[v] = it->second;
    }
    return m;
  }

  // Scores of window ends [from, to) of tokens `ts` whose services map to
  // model ids `ids`; `graph` (the scored series) gives the window neighbours.
  void ScoreTokens(const TokenSeries& ts, const std::vector<int>& ids, int from, int to,
                   const ServiceGraphSeries& graph, std::vector<CrossServiceScore>* out) const {
    const int n = ts.services, k = cfg.embedding;
    std::vector<std::pair<int, int>> pairs;
    for (int t = from; t < to; ++t)
      for (int v = 0; v < n; ++v) pairs.emplace_back(v, t);
    const std::vector<float> h = Encode(ts, pairs);
    // Thresholds and weights in the scored series' indices.
    ServiceScoreThresholds thr;
    thr.system = stats.threshold;
    thr.max_ratio = stats.max_ratio_threshold;
    thr.service.assign(n, 1.0);
    std::vector<double> w(n, 0.0);
    for (int v = 0; v < n; ++v)
      if (ids[v] >= 0) {
        thr.service[v] = service_thr[ids[v]];
        w[v] = weights[ids[v]];
      }
    const bool nbr = cfg.rank_neighbour_weight != 0;
    std::vector<std::vector<int>> neighbours;
    out->clear();
    out->reserve(to - from);
    for (int t = from; t < to; ++t) {
      CrossServiceScore sc;
      sc.step = t;
      sc.service.assign(n, kNaN);
      for (int v = 0; v < n; ++v) {
        const int id = ids[v];
        if (id < 0 || protos[id].empty()) continue;
        const float* hv = &h[(static_cast<size_t>(t - from) * n + v) * k];
        sc.service[v] = 1.0 - Cosine(hv, protos[id].data(), k);
      }
      if (nbr) neighbours = WindowCallees(graph, t, cfg.window);
      FinishServiceScore(thr, w, cfg, nbr ? &neighbours : nullptr, &sc);
      out->push_back(std::move(sc));
    }
  }

  void SetPrototypes(const TokenSeries& ts, const std::vector<int>& ids, int from, int to) {
    const int n = ts.services, k = cfg.embedding;
    std::vector<std::pair<int, int>> pairs;
    for (int t = from; t < to; ++t)
      for (int v = 0; v < n; ++v) pairs.emplace_back(v, t);
    const std::vector<float> h = Encode(ts, pairs);
    for (int v = 0; v < n; ++v) {
      if (ids[v] < 0) continue;
      std::vector<double> sum(k, 0.0);
      for (int t = from; t < to; ++t)
        for (int j = 0; j < k; ++j) sum[j] += h[(static_cast<size_t>(t - from) * n + v) * k + j];
      auto& p = protos[ids[v]];
      p.assign(k, 0.f);
      for (int j = 0; j < k; ++j) p[j] = static_cast<float>(sum[j] / (to - from));
    }
  }
};

CrossServiceModel::CrossServiceModel(const CrossServiceConfig& cfg)
    : impl_(std::make_unique<Impl>()) {
  impl_->cfg = cfg;
}
CrossServiceModel::~CrossServiceModel() = default;

const CrossServiceConfig& CrossServiceModel::config() const { return impl_->cfg; }
const CrossServiceStats& CrossServiceModel::stats() const { return impl_->stats; }
bool CrossServiceModel::trained() const { return impl_->trained; }
const std::vector<std::string>& CrossServiceModel::services() const { return impl_->services; }

const std::vector<float>* CrossServiceModel::Prototype(const std::string& service) const {
  auto it = impl_->index.find(service);
  if (it == impl_->index.end() || impl_->protos[it->second].empty()) return nullptr;
  return &impl_->protos[it->second];
}
double CrossServiceModel::Weight(const std::string& service) const {
  auto it = impl_->index.find(service);
  return it == impl_->index.end() ? 0 : impl_->weights[it->second];
}
double CrossServiceModel::ServiceThreshold(const std::string& service) const {
  auto it = impl_->index.find(service);
  return it == impl_->index.end() ? kNaN : impl_->service_thr[it->second];
}

Status CrossServiceModel::Fit(const ServiceGraphSeries& raw, int from_step, int to_step) {
  Impl& m = *impl_;
  const CrossServiceConfig& c = m.cfg;
  TRIAD_RETURN_IF_ERROR(CheckConfig(c));
  const int w = c.window, n = raw.num_services(), d = raw.dims();
  if (n < 1 || d < 1) return Status::InvalidArgument("cross-service: empty series");
  if (from_step < 0 || to_step > raw.steps || from_step >= to_step)
    return Status::InvalidArgument("cross-service: bad training step range");
  const int first_end = from_step + w - 1;
  const int ends = to_step - first_end;
  const int n_val = std::max(1, static_cast<int>(std::lround(ends * c.validation_fraction)));
  const int n_train = ends - n_val;
  if (n_train < 2)
    return Status::InvalidArgument("cross-service: too few windows (" + std::to_string(ends) +
                                   " window ends of " + std::to_string(w) + " steps)");
  const int train_end = first_end + n_train;  // window ends [first_end, train_end) train
  ConfigureTorchRuntime(c.threads);
  const auto t0 = Clock::now();

  m.services = raw.services;
  m.columns = raw.columns;
  m.index.clear();
  for (int v = 0; v < n; ++v) m.index[m.services[v]] = v;
  m.norm = FeatureNormalizer::Fit(raw, from_step, train_end);
  ServiceGraphSeries normed = raw;
  TRIAD_RETURN_IF_ERROR(m.norm.Apply(&normed));
  std::vector<TokenSeries> versions;  // [0] the true graph, then perturbed ones
  versions.push_back(BuildTokens(normed, c.aggregation));
  std::mt19937_64 rng(c.seed);
  if (c.augment && c.aggregate) {
    std::uniform_real_distribution<double> u01(0, 1);
    for (int r = 0; r < c.perturbed_graphs; ++r) {
      ServiceGraphSeries p = normed;
      for (auto& step_edges : p.edges) {
        std::vector<CallEdge> kept;
        for (CallEdge e : step_edges) {
          if (u01(rng) < c.edge_drop) continue;
          e.calls *= 1.0 + c.edge_reweight * (2 * u01(rng) - 1);
          kept.push_back(e);
        }
        step_edges = std::move(kept);
      }
      versions.push_back(BuildTokens(p, c.aggregation));
    }
  }

  // Clusters c(v).
  std::map<std::string, int> cluster_ids;
  std::vector<int64_t> cluster(n);
  for (int v = 0; v < n; ++v) {
    auto it = c.clusters.find(m.services[v]);
    const std::string& name = it == c.clusters.end() ? m.services[v] : it->second;
    auto ins = cluster_ids.emplace(name, static_cast<int>(cluster_ids.size()));
    cluster[v] = ins.first->second;
  }
  m.clusters = static_cast<int>(cluster_ids.size());

  // Weights w_v.
  m.weights.assign(n, 0.0);
  if (c.weighting == ServiceWeighting::kTraffic) {
    for (int t = from_step; t < train_end; ++t)
      for (const CallEdge& e : raw.edges[t]) {
        m.weights[e.caller] += e.calls;
        m.weights[e.callee] += e.calls;
      }
    if (std::accumulate(m.weights.begin(), m.weights.end(), 0.0) <= 0) m.weights.assign(n, 1.0);
  } else if (c.weighting == ServiceWeighting::kUniform) {
    m.weights.assign(n, 1.0);
  } else {
    for (int v = 0; v < n; ++v) {
      auto it = c.weights.find(m.services[v]);
      if (it != c.weights.end()) m.weights[v] = it->second;
    }
  }
  const double wtotal = std::accumulate(m.weights.begin(), m.weights.end(), 0.0);
  if (!(wtotal > 0)) return Status::InvalidArgument("cross-service: all service weights are 0");
  for (double& x : m.weights) x /= wtotal;

  // Training.
  torch::manual_seed(c.seed);
  m.net = Net(m.InWidth(), c.channels, c.embedding, m.clusters);
  m.net->train();
  torch::optim::Adam opt(m.net->parameters(), torch::optim::AdamOptions(c.lr));
  const int B = c.batch, C = m.InWidth();
  std::uniform_int_distribution<int> pick_v(0, n - 1), pick_t(first_end, train_end - 1);
  std::uniform_int_distribution<int> pick_j(-c.jitter, c.jitter);
  std::uniform_int_distribution<int> pick_r(
      1, std::max<int>(1, static_cast<int>(versions.size()) - 1));
  std::uniform_real_distribution<double> u01(0, 1);
  std::normal_distribution<float> noise(0.f, static_cast<float>(c.noise_sd));
  const int min_len = std::max(2, static_cast<int>(std::ceil(c.crop_min * w)));
  std::uniform_int_distribution<int> pick_len(std::min(min_len, w), w);
  std::vector<int> vs(B), ts(B), src(w);
  std::vector<double> losses;
  for (int step = 0; step < c.steps; ++step) {
    for (int i = 0; i < B; ++i) {
      vs[i] = pick_v(rng);
      ts[i] = pick_t(rng);
    }
    auto x = torch::zeros({2 * B, w, C});
    float* xp = x.data_ptr<float>();
    for (int view = 0; view < 2; ++view)
      for (int i = 0; i < B; ++i) {
        float* dst = xp + (static_cast<size_t>(view) * B + i) * w * C;
        int end = ts[i];
        const TokenSeries* tok = &versions[0];
        if (!c.augment) {
          for (int j = 0; j < w; ++j) src[j] = end - w + 1 + j;
          m.Gather(*tok, vs[i], src.data(), dst);
          continue;
        }
        end = std::clamp(end + pick_j(rng), first_end, train_end - 1);
        const int len = pick_len(rng);
        const int off = std::uniform_int_distribution<int>(0, w - len)(rng);
        for (int j = 0; j < w; ++j)
          src[j] = end - w + 1 + off + static_cast<int>((int64_t(j) * len) / w);
        if (versions.size() > 1 && u01(rng) < c.neighbour_prob) tok = &versions[pick_r(rng)];
        m.Gather(*tok, vs[i], src.data(), dst);
        for (int f = 0; f < C; ++f) {
          const bool drop = u01(rng) < c.mask_prob;
          for (int j = 0; j < w; ++j) {
            float& cell = dst[static_cast<size_t>(j) * C + f];
            cell = drop ? 0.f : cell + (c.noise_sd > 0 ? noise(rng) : 0.f);
          }
        }
      }
    torch::Tensor excluded;
    if (c.same_service_negatives != SameServiceNegatives::kAll) {
      const bool all = c.same_service_negatives == SameServiceNegatives::kNone;
      excluded = torch::zeros({B, B}, torch::kBool);
      auto ex = excluded.accessor<bool, 2>();
      for (int i = 0; i < B; ++i)
        for (int j = 0; j < B; ++j)
          if (i != j && vs[i] == vs[j] && (all || std::abs(ts[i] - ts[j]) < w)) ex[i][j] = true;
    }
    auto cl = torch::empty({B}, torch::kLong);
    auto cla = cl.accessor<int64_t, 1>();
    for (int i = 0; i < B; ++i) cla[i] = cluster[vs[i]];
    auto h = m.net->forward(x);
    LossTensors loss = ComputeLoss(h.narrow(0, 0, B), h.narrow(0, B, B), m.net->protos, cl,
                                   c.temperature, c.lambda, excluded);
    opt.zero_grad();
    loss.total.backward();
    opt.step();
    losses.push_back(loss.total.item<double>());
    if (c.verbose && (step + 1) % 50 == 0)
      spdlog::info("cross-service: step {}/{} loss {:.4f}", step + 1, c.steps, losses.back());
  }
  m.net->eval();

  // Prototypes from the training windows, thresholds from the validation ones.
  std::vector<int> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  m.protos.assign(n, {});
  m.SetPrototypes(versions[0], ids, first_end, train_end);
  m.stats = CrossServiceStats();
  m.service_thr.assign(n, 1.0);
  m.stats.threshold = m.stats.max_ratio_threshold = 0;
  std::vector<CrossServiceScore> val;
  m.ScoreTokens(versions[0], ids, train_end, to_step, normed, &val);
  std::vector<std::vector<double>> vs_scores;
  for (const auto& sc : val) vs_scores.push_back(sc.service);
  const ServiceScoreThresholds thr = FitServiceScoreThresholds(vs_scores, m.weights, c);
  m.service_thr = thr.service;
  CrossServiceStats& st = m.stats;
  st.threshold = thr.system;
  st.max_ratio_threshold = thr.max_ratio;
  st.services = n;
  st.dims = d;
  st.train_windows = n_train;
  st.validation_windows = n_val;
  const size_t tenth = std::max<size_t>(1, losses.size() / 10);
  st.first_loss = std::accumulate(losses.begin(), losses.begin() + tenth, 0.0) / tenth;
  st.final_loss = std::accumulate(losses.end() - tenth, losses.end(), 0.0) / tenth;
  st.train_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  m.trained = true;
  if (c.verbose)
    spdlog::info(
        "cross-service: {} services, d {}, {} train / {} validation windows, loss {:.4f} -> "
        "{:.4f}, threshold {:.4f}, {:.1f} s",
        n, d, n_train, n_val, st.first_loss, st.final_loss, st.threshold, st.train_seconds);
  return Status::OK();
}

Status CrossServiceModel::Embed(const ServiceGraphSeries& raw, int from_end, int to_end,
                                std::vector<float>* h) const {
  const Impl& m = *impl_;
  if (!m.trained) return Status::InvalidArgument("cross-service: Embed before Fit/Load");
  if (from_end < m.cfg.window - 1 || to_end > raw.steps || from_end >= to_end)
    return Status::InvalidArgument("cross-service: bad window range");
  TokenSeries ts;
  TRIAD_RETURN_IF_ERROR(m.Tokens(raw, &ts));
  std::vector<std::pair<int, int>> pairs;
  for (int t = from_end; t < to_end; ++t)
    for (int v = 0; v < ts.services; ++v) pairs.emplace_back(v, t);
  *h = m.Encode(ts, pairs);
  return Status::OK();
}

Status CrossServiceModel::ComputePrototypes(const ServiceGraphSeries& raw, int from_end,
                                            int to_end) {
  Impl& m = *impl_;
  if (!m.trained)
    return Status::InvalidArgument("cross-service: ComputePrototypes before Fit/Load");
  if (from_end < m.cfg.window - 1 || to_end > raw.steps || from_end >= to_end)
    return Status::InvalidArgument("cross-service: bad reference range");
  TokenSeries ts;
  TRIAD_RETURN_IF_ERROR(m.Tokens(raw, &ts));
  m.SetPrototypes(ts, m.MapServices(raw), from_end, to_end);
  return Status::OK();
}

Status CrossServiceModel::Score(const ServiceGraphSeries& raw, int from_end, int to_end,
                                std::vector<CrossServiceScore>* out) const {
  const Impl& m = *impl_;
  if (!m.trained) return Status::InvalidArgument("cross-service: Score before Fit/Load");
  from_end = std::max(from_end, m.cfg.window - 1);
  if (to_end <= 0) to_end = raw.steps;
  if (to_end > raw.steps || from_end >= to_end)
    return Status::InvalidArgument("cross-service: bad window range");
  TokenSeries ts;
  TRIAD_RETURN_IF_ERROR(m.Tokens(raw, &ts));
  m.ScoreTokens(ts, m.MapServices(raw), from_end, to_end, raw, out);
  return Status::OK();
}

Status CrossServiceModel::Save(const std::string& path) const {
  const Impl& m = *impl_;
  if (!m.trained) return Status::InvalidArgument("cross-service: Save before Fit/Load");
  nlohmann::json h;
  h["format"] = kFormat;
  h["version"] = kVersion;
  h["config"] = ConfigToJson(m.cfg);
  h["services"] = m.services;
  h["columns"] = m.columns;
  h["normalizer"] = nlohmann::json::parse(m.norm.ToJson());
  h["prototypes"] = m.protos;
  h["weights"] = m.weights;
  h["service_thresholds"] = m.service_thr;
  h["clusters"] = m.clusters;
  const CrossServiceStats& s = m.stats;
  h["stats"] = {{"services", s.services},
                {"dims", s.dims},
                {"train_windows", s.train_windows},
                {"validation_windows", s.validation_windows},
                {"first_loss", s.first_loss},
                {"final_loss", s.final_loss},
                {"train_seconds", s.train_seconds},
                {"threshold", s.threshold},
                {"max_ratio_threshold", s.max_ratio_threshold}};
  return SaveModuleFile(path, std::move(h), *m.net, "cross-service");
}

Status LoadCrossServiceModel(const std::string& path, std::unique_ptr<CrossServiceModel>* out) {
  nlohmann::json h;
  std::string weights;
  int version = 0;
  TRIAD_RETURN_IF_ERROR(ReadModelFile(path, {kFormat, "cross-service model", kVersion, kVersion},
                                      &h, &weights, &version));
  auto model = std::make_unique<CrossServiceModel>(CrossServiceConfig());
  CrossServiceModel::Impl& m = *model->impl_;
  try {
    m.cfg = ConfigFromJson(h.at("config"));
    TRIAD_RETURN_IF_ERROR(CheckConfig(m.cfg));
    m.services = h.at("services").get<std::vector<std::string>>();
    m.columns = h.at("columns").get<std::vector<std::string>>();
    Status ns = FeatureNormalizer::FromJson(h.at("normalizer").dump(), &m.norm);
    if (!ns.ok()) return Status::Corruption(path + ": normaliser: " + ns.message());
    m.protos = h.at("prototypes").get<std::vector<std::vector<float>>>();
    m.weights = h.at("weights").get<std::vector<double>>();
    m.service_thr = h.at("service_thresholds").get<std::vector<double>>();
    m.clusters = h.at("clusters").get<int>();
    const auto& s = h.at("stats");
    CrossServiceStats& st = m.stats;
    st.services = s.at("services").get<int>();
    st.dims = s.at("dims").get<int>();
    st.train_windows = s.at("train_windows").get<int>();
    st.validation_windows = s.at("validation_windows").get<int>();
    st.first_loss = s.at("first_loss").get<double>();
    st.final_loss = s.at("final_loss").get<double>();
    st.train_seconds = s.at("train_seconds").get<double>();
    st.threshold = s.at("threshold").get<double>();
    st.max_ratio_threshold = s.value("max_ratio_threshold", 0.0);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + ": bad cross-service header: " + e.what());
  }
  const size_t n = m.services.size();
  bool ok = n > 0 && m.protos.size() == n && m.weights.size() == n && m.service_thr.size() == n &&
            m.columns == m.norm.columns() && m.clusters >= 1;
  for (const auto& p : m.protos)
    ok = ok && (p.empty() || static_cast<int>(p.size()) == m.cfg.embedding);
  if (!ok) return Status::Corruption(path + ": inconsistent cross-service header");
  for (size_t v = 0; v < n; ++v) m.index[m.services[v]] = static_cast<int>(v);
  ConfigureTorchRuntime(m.cfg.threads);
  m.net = Net(m.InWidth(), m.cfg.channels, m.cfg.embedding, m.clusters);
  TRIAD_RETURN_IF_ERROR(LoadModuleWeights(weights, *m.net, path, "cross-service"));
  m.net->eval();
  m.trained = true;
  *out = std::move(model);
  return Status::OK();
}

// ---- Calibration and ranking ------------------------------------------------------

ServiceScoreThresholds FitServiceScoreThresholds(const std::vector<std::vector<double>>& validation,
                                                 const std::vector<double>& weights,
                                                 const CrossServiceConfig& cfg) {
  const size_t n = weights.size();
  ServiceScoreThresholds thr;
  std::vector<std::vector<double>> per(n);
  for (const auto& row : validation) {
    assert(row.size() == n);
    for (size_t v = 0; v < n; ++v)
      if (!std::isnan(row[v])) per[v].push_back(row[v]);
  }
  thr.service.assign(n, 1.0);  // no validation score: 1 (s <= 2)
  for (size_t v = 0; v < n; ++v)
    if (!per[v].empty()) thr.service[v] = EmpiricalQuantile(per[v], cfg.quantile);
  std::vector<double> sys, ratio;
  for (const auto& row : validation) {
    CrossServiceScore sc;
    sc.service = row;
    FinishServiceScore(thr, weights, cfg, nullptr, &sc);
    sys.push_back(sc.system);
    ratio.push_back(sc.max_ratio);
  }
  thr.system = EmpiricalQuantile(sys, cfg.quantile);
  thr.max_ratio = EmpiricalQuantile(ratio, cfg.quantile);
  return thr;
}

void FinishServiceScore(const ServiceScoreThresholds& thr, const std::vector<double>& weights,
                        const CrossServiceConfig& cfg,
                        const std::vector<std::vector<int>>* neighbours, CrossServiceScore* sc) {
  const int n = static_cast<int>(sc->service.size());
  assert(weights.size() == size_t(n) && thr.service.size() == size_t(n));
  std::vector<double> r(n, kNaN);
  double wsum = 0, s_sum = 0, max_ratio = 0;
  for (int v = 0; v < n; ++v) {
    const double s = sc->service[v];
    if (std::isnan(s)) continue;
    const double ratio = s / std::max(thr.service[v], 1e-9);
    r[v] = cfg.rank_by_ratio ? ratio : s;
    wsum += weights[v];
    s_sum += weights[v] * (cfg.system_ratio ? ratio : s);
    max_ratio = std::max(max_ratio, ratio);
  }
  sc->threshold = thr.system;
  sc->system = wsum > 0 ? s_sum / wsum : 0;
  sc->system_anomaly = sc->system > thr.system;
  sc->max_ratio = max_ratio;
  std::vector<std::pair<double, int>> keys;
  for (int v = 0; v < n; ++v) {
    if (std::isnan(r[v])) continue;
    double key = r[v];
    if (neighbours != nullptr && cfg.rank_neighbour_weight != 0) {
      double echo = 0;  // the most anomalous callee
      for (int u : (*neighbours)[v])
        if (u != v && !std::isnan(r[u])) echo = std::max(echo, r[u]);
      key -= cfg.rank_neighbour_weight * echo;
    }
    keys.emplace_back(key, v);
  }
  std::stable_sort(keys.begin(), keys.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  sc->ranked.clear();
  sc->alarmed.clear();
  for (const auto& kv : keys) {
    sc->ranked.push_back(kv.second);
    if (sc->service[kv.second] > cfg.service_margin * thr.service[kv.second])
      sc->alarmed.push_back(kv.second);
  }
  if (cfg.max_ratio_alarm)
    sc->anomaly = sc->system_anomaly || max_ratio > thr.max_ratio;
  else
    sc->anomaly = sc->system_anomaly || (cfg.service_alarms && !sc->alarmed.empty());
}

std::vector<std::vector<int>> WindowCallees(const ServiceGraphSeries& series, int end, int w) {
  const int n = series.num_services();
  std::vector<std::vector<int>> nb(n);
  for (int t = std::max(0, end - w + 1); t <= end && t < static_cast<int>(series.edges.size()); ++t)
    for (const CallEdge& e : series.edges[t]) {
      if (e.caller < 0 || e.callee < 0 || e.caller >= n || e.callee >= n || e.caller == e.callee)
        continue;
      nb[e.caller].push_back(e.callee);
    }
  for (auto& v : nb) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  return nb;
}

CrossServiceLossParts CrossServiceLoss(const std::vector<float>& a, const std::vector<float>& b,
                                       int n, int k, const std::vector<float>& protos, int c,
                                       const std::vector<int>& cluster, double temperature,
                                       double lambda, const std::vector<uint8_t>& excluded) {
  assert(a.size() == size_t(n) * k && b.size() == a.size());
  auto ta = torch::from_blob(const_cast<float*>(a.data()), {n, k}, torch::kFloat).clone();
  auto tb = torch::from_blob(const_cast<float*>(b.data()), {n, k}, torch::kFloat).clone();
  torch::Tensor tp = torch::zeros({1, k}), tc = torch::zeros({n}, torch::kLong), tex;
  if (lambda > 0) {
    assert(protos.size() == size_t(c) * k && cluster.size() == size_t(n));
    tp = torch::from_blob(const_cast<float*>(protos.data()), {c, k}, torch::kFloat).clone();
    auto tca = tc.accessor<int64_t, 1>();
    for (int i = 0; i < n; ++i) tca[i] = cluster[i];
  }
  if (!excluded.empty()) {
    assert(excluded.size() == size_t(n) * n);
    tex = torch::from_blob(const_cast<uint8_t*>(excluded.data()), {n, n}, torch::kUInt8)
              .to(torch::kBool);
  }
  torch::NoGradGuard ng;
  LossTensors l = ComputeLoss(ta, tb, tp, tc, temperature, lambda, tex);
  return {l.total.item<double>(), l.svc.item<double>(), l.clu.item<double>()};
}

}  // namespace triad
