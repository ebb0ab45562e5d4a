// Cross-service temporal contrastive learning over the call graph (issue 7;
// paper 001, section "Method", eqs. 6-12). Torch-free header.
//
// Input: a ServiceGraphSeries (align/service_graph.h) of raw x_{v,t}, masks
// and the call graph per step. The model owns a FeatureNormalizer fitted on
// its training steps; tokens z_{v,t} = concat(x_{v,t}, x~_{v,t}) are built
// with BuildTokens (or z = x alone with aggregate = false: the single-service
// ablation). A window Z_{v,t} is the w tokens of service v ending at step t.
//
// Encoder f_theta (shared by all services), one window [w, C] -> R^k:
//   Conv1d(C -> ch, 3, "same") -> ReLU -> Conv1d(ch -> ch, 3, dilation 2,
//   "same") -> ReLU, residual -> attention pooling over time (softmax of a
//   learned score per step) -> Linear(ch, ch) -> ReLU -> Linear(ch, k) ->
//   L2 normalisation. C = 2d (d with aggregate = false).
//
// Training (self-supervised, on the training steps; no labels): batches of
// (service, window end) pairs; two augmented views of each (eq. 6):
//   time jitter        the view's window ends at t + U{-jitter..jitter}
//                      (clamped to the training windows)
//   subsequence crop   a random sub-window of length in [crop_min * w, w]
//                      stretched back to w steps (nearest step)
//   feature masking    each channel zeroed with probability mask_prob
//   value noise        Gaussian, noise_sd (z-score units)
//   neighbourhood perturbation
//                      the x~ half comes from one of `perturbed_graphs`
//                      token series built (BuildTokens) from the training
//                      graph with each edge dropped with probability
//                      edge_drop and the others' call counts scaled by
//                      U[1 - edge_reweight, 1 + edge_reweight] (with
//                      probability neighbour_prob; else the true graph)
// Loss (eq. 9): L = L_svc + lambda * L_clu with
//   L_svc  service-level InfoNCE (eq. 8), symmetric: 0.5 * (CE(a -> b) +
//          CE(b -> a)), logits = cos / temperature, the positive at the
//          same row; by default no other window of the same service is a
//          negative (kNone: with kNonOverlapping, the first version's
//          default, the encoder learns to tell a service's windows of
//          different times apart, and slow drift after training reads as
//          anomalous: simulator F1 .61-.69 vs .76-.83, docs/BENCHMARKS.md);
//          same_service_negatives chooses.
//   L_clu  prototype term: learned unit prototypes q_c, one per cluster
//          c(v) (default: the service itself); 0.5 * (CE(a -> q) + CE(b -> q))
//          with logits cos(h, q_c) / temperature and the target c(v).
//
// Scoring (eqs. 10-12): after training, normal prototypes
// p_v = mean of h_{v,t} over the reference windows (default: the training
// windows; ComputePrototypes sets another period), s_{v,t} = 1 - cos(h_{v,t},
// p_v), S_t = sum_v w_v s_{v,t} with weights summing to 1 over the services
// scored (default: each service's share of the training call counts, calls
// made plus calls served; or uniform, or given per service). Thresholds: the
// `quantile` of S_t (and per service of s_{v,t}) on held-out normal
// validation windows (the chronological tail of the training windows,
// validation_fraction). A window is anomalous when S_t > threshold or (with
// service_alarms) some s_{v,t} exceeds service_margin times its own
// threshold thr_v, or (max_ratio_alarm, instead of the latter) when
// M_t = max_v s_{v,t} / thr_v exceeds its own validation quantile. Suspect
// services are ranked by s_{v,t} / thr_v (or by s_{v,t} with rank_by_ratio =
// false), highest first, optionally less a share of their callees' (see
// rank_neighbour_weight).
#ifndef TRIAD_MODELS_CROSS_SERVICE_H_
#define TRIAD_MODELS_CROSS_SERVICE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "align/service_graph.h"
#include "triad/status.h"

namespace triad {

enum class SameServiceNegatives : uint8_t {
  kNone = 0,            // only other services' windows are negatives
  kNonOverlapping = 1,  // also the service's windows that do not overlap (|t_i - t_j| >= w)
  kAll = 2,             // every other row of the batch (plain InfoNCE)
};

enum class ServiceWeighting : uint8_t {
  kTraffic = 0,  // share of the training call counts (made + served); uniform if no calls
  kUniform = 1,
  kCustom = 2,  // CrossServiceConfig::weights (services not named: weight 0)
};

struct CrossServiceConfig {
  // Tokens.
  int window = 48;                 // w (paper default 48)
  bool aggregate = true;           // false: z = x only (no neighbourhood aggregation)
  AggregationOptions aggregation;  // normalisation and direction of Â
  // Encoder.
  int channels = 32;   // ch
  int embedding = 32;  // k
  // Training.
  int steps = 300;           // optimiser steps
  int batch = 64;            // (service, window) pairs per step
  double lr = 1e-3;          // Adam
  double temperature = 0.1;  // tau (paper's sensitivity study: 0.1)
  double lambda = 2.0;       // weight of the prototype term (0: off); 2 on the synthetic test
  // Which other windows of the same service are negatives in L_svc.
  SameServiceNegatives same_service_negatives = SameServiceNegatives::kNone;
  // cluster c(v) by service name; services not named are their own cluster.
  std::map<std::string, std::string> clusters;
  // Augmentation.
  bool augment = true;
  int jitter = 2;          // steps
  double crop_min = 0.7;   // shortest crop as a fraction of w (1: off)
  double mask_prob = 0.1;  // per channel
  double noise_sd = 0.05;
  double neighbour_prob = 0.5;
  int perturbed_graphs = 4;  // token series with perturbed graphs (0: off)
  double edge_drop = 0.2;
  double edge_reweight = 0.3;
  // Scoring.
  ServiceWeighting weighting = ServiceWeighting::kTraffic;
  std::map<std::string, double> weights;  // kCustom
  double validation_fraction = 0.2;       // chronological tail of the training windows
  double quantile = 0.99;
  bool rank_by_ratio = true;
  // S_t = sum_v w_v s_{v,t} / thr_v (each service's score in units of its
  // own validation threshold) instead of eq. 12's sum_v w_v s_{v,t}.
  bool system_ratio = false;
  // A window is also anomalous when a service's s_{v,t} exceeds
  // service_margin times its own validation threshold (the paper: "when S_t
  // or a critical service's s_{v,t} rises"); false: S_t alone decides.
  bool service_alarms = true;
  double service_margin = 1.2;
  // Calibrated union alarm (issue 7 tuning): the window's max ratio
  // M_t = max_v s_{v,t} / thr_v has its own threshold, the `quantile` of M
  // over the validation windows; anomaly = S_t > threshold or M_t > that
  // threshold (replaces the service_margin rule, which has no overall false
  // alarm rate: one 0.99 quantile per service fires on ~N % of windows).
  bool max_ratio_alarm = false;
  // Ranking: key_v = r_v - rank_neighbour_weight * max_{u in callees(v)} r_u,
  // r = s / thr_v (or s), callees(v) = services v called in the window's
  // steps. > 0: a caller whose score echoes its callee's fault (it waits on
  // it; with aggregation its x~ contains it) is not blamed for it. 0: plain
  // r_v (first version).
  double rank_neighbour_weight = 0;
  uint64_t seed = 42;
  int threads = 0;       // ConfigureTorchRuntime(threads)
  bool verbose = false;  // spdlog::info progress
};

struct CrossServiceStats {
  int services = 0, dims = 0;             // N, d of the training series
  int train_windows = 0;                  // window ends used for training and prototypes
  int validation_windows = 0;             // window ends held out for thresholds
  double first_loss = 0, final_loss = 0;  // mean over the first / last 10 % of steps
  double train_seconds = 0;
  double threshold = 0;            // on S_t
  double max_ratio_threshold = 0;  // on M_t (max_ratio_alarm)
};

// The scores of one window end (all services of the scored series).
struct CrossServiceScore {
  int step = 0;       // window end t (index into the scored series)
  double system = 0;  // S_t
  double threshold = 0;
  bool system_anomaly = false;  // system > threshold
  bool anomaly = false;         // system_anomaly, or (service_alarms) some service alarmed
                                // (or, with max_ratio_alarm, max_ratio > max_ratio_threshold)
  double max_ratio = 0;         // M_t = max_v s_{v,t} / thr_v over known services
  std::vector<int> alarmed;     // services with s > service_margin * their threshold, rank order
  std::vector<double>
      service;  // s_{v,t} per service of the scored series; NaN if unknown to the model
  std::vector<int>
      ranked;  // service ids (of the scored series), most suspect first; known services only
};

class CrossServiceModel {
 public:
  explicit CrossServiceModel(const CrossServiceConfig& cfg);
  ~CrossServiceModel();
  CrossServiceModel(const CrossServiceModel&) = delete;
  CrossServiceModel& operator=(const CrossServiceModel&) = delete;

  // Trains on the windows ending in [from_step + w - 1, to_step) of `raw`
  // (unnormalised, as ServiceGraphBuilder::Build gives it; normal behaviour).
  // The normaliser is fitted on steps [from_step, to_step). Returns
  // InvalidArgument for a bad config or range, or fewer than 2 training and
  // 1 validation window ends.
  Status Fit(const ServiceGraphSeries& raw, int from_step, int to_step);

  // Embeddings h_{v,t} of every service for window ends [from_end, to_end):
  // h is [to_end - from_end, N, k] (N = raw's services). InvalidArgument if
  // the columns differ from the training ones or the range is bad.
  // REQUIRES: trained.
  Status Embed(const ServiceGraphSeries& raw, int from_end, int to_end,
               std::vector<float>* h) const;

  // Recomputes p_v as the mean of h_{v,t} over window ends [from_end,
  // to_end) of `raw` (eq. 10); services of `raw` only (others keep theirs).
  // Thresholds are not recomputed.
  Status ComputePrototypes(const ServiceGraphSeries& raw, int from_end, int to_end);

  // Scores window ends [from_end, to_end) (to_end <= 0: up to raw.steps).
  // from_end is raised to w - 1 if lower.
  Status Score(const ServiceGraphSeries& raw, int from_end, int to_end,
               std::vector<CrossServiceScore>* out) const;

  // JSON header (config, services, columns, normaliser, prototypes, weights,
  // thresholds) + LibTorch archive of the encoder, through models/model_file.h.
  Status Save(const std::string& path) const;

  const CrossServiceConfig& config() const;
  const CrossServiceStats& stats() const;
  bool trained() const;
  const std::vector<std::string>& services() const;  // training services (model ids)
  // p_v (unit length is not guaranteed: a mean), [k]; nullptr if unknown.
  const std::vector<float>* Prototype(const std::string& service) const;
  double Weight(const std::string& service) const;            // w_v (0 if unknown)
  double ServiceThreshold(const std::string& service) const;  // validation quantile of s_v

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  friend Status LoadCrossServiceModel(const std::string& path,
                                      std::unique_ptr<CrossServiceModel>* out);
};

// ---- Label-free calibration, shared with per-service baselines ---------------
// The alarm rules above work on any per-service score s_{v,t} (the model's, or
// a statistical baseline's on the same x_{v,t}); these two functions are the
// model's own code for them. Indices are those of the scored series.

struct ServiceScoreThresholds {
  std::vector<double> service;  // [N] thr_v: `quantile` of s_v on validation (NaN-free)
  double system = 0;            // `quantile` of S_t
  double max_ratio = 0;         // `quantile` of M_t
};

// Fits the thresholds on validation scores [windows][N] (NaN = unknown,
// left out) with weights [N] (w_v; summing to 1 over known services is not
// required: S_t divides by the sum of the known services' weights).
// Uses cfg.quantile and cfg.system_ratio.
ServiceScoreThresholds FitServiceScoreThresholds(const std::vector<std::vector<double>>& validation,
                                                 const std::vector<double>& weights,
                                                 const CrossServiceConfig& cfg);

// Fills system, threshold, system_anomaly, max_ratio, anomaly, ranked and
// alarmed of *sc from sc->service and sc->step, with the rules of `cfg`.
// neighbours: [N] ids of each service's neighbours in the window (used when
// cfg.rank_neighbour_weight != 0; may be null): callees, see WindowCallees.
void FinishServiceScore(const ServiceScoreThresholds& thr, const std::vector<double>& weights,
                        const CrossServiceConfig& cfg,
                        const std::vector<std::vector<int>>* neighbours, CrossServiceScore* sc);

// Callees of every service in steps [end - w + 1, end] of `series` (union of
// the call edges, self-calls left out): [N] sorted ids.
std::vector<std::vector<int>> WindowCallees(const ServiceGraphSeries& series, int end, int w);

// Loads a file written by CrossServiceModel::Save. Unsupported for a file
// that is not a cross-service model of this version; Corruption for a
// damaged one; NotFound if it cannot be opened.
Status LoadCrossServiceModel(const std::string& path, std::unique_ptr<CrossServiceModel>* out);

// The training loss on plain arrays, computed by the same code as training.
// a, b: [n, k] the two views (rows L2-normalised here); protos: [c, k]
// (normalised here); cluster: [n] in [0, c); excluded: empty or [n * n],
// excluded[i * n + j] = 1 drops pair (i, j), i != j, from the negatives of
// both directions. lambda = 0 ignores protos and cluster.
struct CrossServiceLossParts {
  double total = 0, svc = 0, clu = 0;
};
CrossServiceLossParts CrossServiceLoss(const std::vector<float>& a, const std::vector<float>& b,
                                       int n, int k, const std::vector<float>& protos, int c,
                                       const std::vector<int>& cluster, double temperature,
                                       double lambda, const std::vector<uint8_t>& excluded = {});

}  // namespace triad

#endif  // TRIAD_MODELS_CROSS_SERVICE_H_
