// Log + metric fusion by contrastive representation learning (issue 6;
// Laurent & Bergström, "Fusing Log and Metric Streams Through Contrastive
// Representation Learning", section 3). Torch-free header.
//
// Inputs are the paired windows of align/log_metric_windows.h (one scope, so
// every window has the same metric width d). Two encoders map a window into a
// shared k-dimensional space (unit vectors):
//   f_L: template ids -> embedding + sinusoidal positions -> Transformer
//        encoder (key padding mask) -> mean over the non-pad positions ->
//        projection head (Linear, ReLU, Linear) -> L2 normalisation;
//   f_M: [T, d] z-scores -> Conv1d with each kernel size (3, 5, 7; "same"
//        padding) -> concat -> ReLU -> BiLSTM -> final forward and backward
//        states concatenated -> projection head -> L2 normalisation.
//        With mask_channel the input is [T, 2d]: z-scores ++ the window's
//        observed mask (1 = the cell had a sample).
// Training (self-supervised, on normal windows; labels are never read):
// symmetric InfoNCE between z_L and z_M of the same window (log->metric and
// metric->log, temperature 0.07). Batches hold pairs of temporally adjacent
// windows (the next window that does not overlap, so that with overlapping
// windows a near-copy is not used as a negative), so the hardest in-batch
// negatives are the neighbouring windows.
// With momentum on, keys come from momentum copies of the encoders
// (theta_k <- m theta_k + (1 - m) theta_q, m = 0.999) and each direction adds a
// FIFO queue of past keys as extra negatives (MoCo). Augmentations: logs
// (mask tokens, permute inside small local blocks), metrics (Gaussian noise,
// random scale, smooth time warp). Adam with cosine-annealed learning rate.
// Windows that lack one modality contribute an intra-modal two-view InfoNCE
// for the modality they have (only with augmentation on).
//
// Score (higher = more anomalous), each term divided by its mean on the
// training windows (for the k-NN terms leaving out every training window that
// overlaps the one scored, itself included), so terms are unit-free:
//   both modalities:  (1 - cos(z_L, z_M)) / s_D + (knn_L / s_L + knn_M / s_M) / 2
//   logs only:        knn_L / s_L      metrics only: knn_M / s_M
// where knn_X is the mean cosine distance to the `knn` nearest training
// embeddings of that modality. One threshold per modality pattern, a high
// quantile (or POT) of the scores of held-out normal validation windows (the
// chronological tail of the training windows); validation windows with both
// modalities also calibrate the single-modality thresholds. A window with
// neither modality gets score 0 and is never flagged (FusionScore::used).
//
// Ablations (FusionConfig::mode and switches): log-only and metric-only
// (each encoder trained alone with two augmented views of the same window;
// score = its k-NN term), concatenation (both encoders' pooled features
// concatenated into one projection, trained with two views; no cross-modal
// alignment; score = k-NN in the joint space), no momentum encoder (plain
// in-batch symmetric InfoNCE, no queue), no augmentation.
#ifndef TRIAD_MODELS_FUSION_H_
#define TRIAD_MODELS_FUSION_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "align/log_metric_windows.h"
#include "triad/status.h"

namespace triad {

enum class FusionMode : uint8_t {
  kFused = 0,       // dual encoders, cross-modal contrastive alignment (the paper)
  kLogOnly = 1,     // log encoder alone
  kMetricOnly = 2,  // metric encoder alone
  kConcat = 3,      // concatenated features, no cross-modal alignment
};
const char* FusionModeName(FusionMode m);

struct FusionConfig {
  FusionMode mode = FusionMode::kFused;
  // Log encoder (paper: d_model 256?, 6 layers, 8 heads).
  int d_model = 64;
  int layers = 2;
  int heads = 4;           // REQUIRES d_model % heads == 0
  int ff = 128;            // Transformer feed-forward width
  int max_len = 128;       // template ids kept per window (the first ones)
  double dropout = 0.1;
  // Metric encoder (paper: 3 convolutions, 2 LSTM layers of 256).
  int conv_channels = 32;             // per kernel size
  std::vector<int> kernels = {3, 5, 7};
  int lstm_hidden = 64;
  int lstm_layers = 1;
  // Shared space.
  int embedding = 128;  // k
  // Training.
  int epochs = 30;
  int batch = 64;           // windows per step
  double lr = 1e-3;
  double lr_min = 1e-5;     // cosine annealing floor
  double temperature = 0.07;
  bool hard_negatives = true;  // batches of adjacent-window pairs
  bool momentum = true;
  double momentum_m = 0.999;
  int queue = 1024;            // negatives kept per modality
  bool augment = true;
  double mask_prob = 0.15;     // logs: token -> [MASK]
  int permute_block = 3;       // logs: shuffle inside blocks of this many tokens (<= 1: off)
  double noise_sd = 0.1;       // metrics: Gaussian noise (z-score units)
  double scale_range = 0.2;    // metrics: x *= U[1 - r, 1 + r]
  double warp = 1.0;           // metrics: time warp amplitude, in cells (0: off)
  bool normalize = true;       // z-score metrics with a MetricNormalizer fitted on the training windows
  // Metric encoder input: the window's missing-data mask as d extra channels
  // ([T, d] values ++ [T, d] mask -> [T, 2d]), so a carried-forward or absent
  // cell is not mistaken for an observed value. Models saved before this
  // option existed load with false.
  bool mask_channel = true;
  // Scoring and threshold.
  int knn = 5;
  int bank = 4096;                  // training embeddings kept for k-NN (evenly subsampled)
  double validation_fraction = 0.2; // chronological tail of the training windows
  double quantile = 0.99;           // threshold = this quantile of validation scores
  bool pot = false;                 // Peaks-over-threshold (GPD, method of moments) instead
  double pot_risk = 1e-3;           // POT: target exceedance probability
  double pot_initial = 0.9;         // POT: quantile of the initial threshold
  uint64_t seed = 42;
  int threads = 0;                  // ConfigureTorchRuntime(threads)
  bool verbose = true;              // spdlog::info per epoch
};

// Which modalities scored a window.
enum class FusionModality : uint8_t { kNone = 0, kLogs = 1, kMetrics = 2, kBoth = 3 };

struct FusionScore {
  double score = 0;      // see the header comment; 0 when used == kNone
  double threshold = 0;  // the threshold of this window's modality pattern
  bool anomaly = false;  // score > threshold
  FusionModality used = FusionModality::kNone;
  // Terms (NaN when not computed): 1 - cos(z_L, z_M); mean k-NN cosine
  // distances of z_L, z_M and (concat) of the joint embedding.
  double disagreement, log_distance, metric_distance, joint_distance;
};

struct FusionStats {
  int vocab = 0;                        // distinct training templates
  int dims = 0, steps = 0;              // metric matrix of the training windows
  std::string scope;                    // scope of the training windows
  size_t train_windows = 0, validation_windows = 0;
  size_t train_pairs = 0;               // training windows with both modalities
  size_t train_log_only = 0, train_metric_only = 0, skipped_empty = 0;
  int epochs_run = 0;
  double final_loss = 0;                // mean loss of the last epoch
  double train_seconds = 0;
  // Term scales and thresholds (both, logs only, metrics only).
  double scale_disagreement = 1, scale_log = 1, scale_metric = 1, scale_joint = 1;
  double threshold_both = 0, threshold_logs = 0, threshold_metrics = 0;
  size_t validation_both = 0, validation_logs = 0, validation_metrics = 0;
};

// Per anomalous window: what moved its score (occlusion: a template's
// occurrences removed, or a metric column set to its training mean; delta =
// score - occluded score, so positive = raised the score). Sorted by delta.
struct FusionAttribution {
  double score = 0;
  std::vector<std::pair<uint32_t, double>> templates;  // (template id, delta)
  std::vector<std::pair<int, double>> metrics;         // (feature column, delta)
  std::vector<std::string> metric_names;               // names of `metrics` when known
};

class FusionModel {
 public:
  explicit FusionModel(const FusionConfig& cfg);
  ~FusionModel();
  FusionModel(const FusionModel&) = delete;
  FusionModel& operator=(const FusionModel&) = delete;

  // Trains on `train` (normal windows of one scope, in time order; raw
  // metric values if cfg.normalize, else already z-scored). The last
  // validation_fraction of them (at least 1 when there are >= 5) are held
  // out for the thresholds. Returns InvalidArgument if the windows are empty,
  // of several scopes or metric widths, or the config is invalid.
  Status Fit(const std::vector<LogMetricWindow>& train, const MetricSchema& schema);

  // Scores windows of the training scope. InvalidArgument on a width mismatch.
  // REQUIRES: trained (Fit or LoadFusionModel).
  Status Score(const std::vector<const LogMetricWindow*>& windows, std::vector<FusionScore>* out) const;
  Status Score(const std::vector<LogMetricWindow>& windows, std::vector<FusionScore>* out) const;

  // Embeddings z_L, z_M (row-major [n, k]; rows of a missing modality are 0).
  Status Embed(const std::vector<const LogMetricWindow*>& windows, std::vector<float>* z_log,
               std::vector<float>* z_metric) const;

  // 2-D PCA projection ([n] points) of each window's embedding (fused: the
  // normalised mean of z_L and z_M; otherwise the one the mode uses), with
  // the principal axes fitted on the given windows.
  Status Project2D(const std::vector<const LogMetricWindow*>& windows,
                   std::vector<std::array<float, 2>>* points) const;

  // Occlusion attribution of one window; the top `top` templates and metrics.
  Status Explain(const LogMetricWindow& window, int top, FusionAttribution* out) const;

  // One file: JSON header line (format, version, config, vocabulary,
  // normaliser, scales, thresholds) + LibTorch archive (weights, k-NN banks).
  Status Save(const std::string& path) const;

  // Opaque named texts saved with the model (e.g. the CLI's Drain parser and
  // window options); replaced when the name exists.
  void SetAttachment(const std::string& name, std::string text);
  // The attachment `name`, or nullptr.
  const std::string* Attachment(const std::string& name) const;

  const FusionConfig& config() const;
  const FusionStats& stats() const;
  bool trained() const;

  // --- For tests. ---
  // Flattened parameters of the query (momentum = false) or momentum encoders.
  std::vector<float> ParametersForTest(bool momentum) const;
  // Perturbs the query encoders (adds `delta` to every parameter), then
  // applies one momentum update theta_k <- m theta_k + (1 - m) theta_q.
  void PerturbAndMomentumUpdateForTest(float delta);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  friend Status LoadFusionModel(const std::string& path, std::unique_ptr<FusionModel>* out);
};

// Loads a file written by FusionModel::Save. Unsupported for a file that is
// not a fusion model of this version; Corruption for a damaged one.
Status LoadFusionModel(const std::string& path, std::unique_ptr<FusionModel>* out);

// Symmetric InfoNCE as used in training, on plain arrays (rows are
// L2-normalised here): 0.5 * (CE(a -> [b; queue_b]) + CE(b -> [a; queue_a]))
// with logits = cosine / temperature and the positive at the same row.
// a, b: [n, k]; queue_a, queue_b: [q, k] (may be empty).
double SymmetricInfoNce(const std::vector<float>& a, const std::vector<float>& b, int n, int k,
                        double temperature, const std::vector<float>& queue_a = {},
                        const std::vector<float>& queue_b = {});

// FIFO of the last `capacity` key embeddings (rows of width `dim`), the MoCo
// negative queue. Storage is a ring: row i of data() is slot i.
class EmbeddingQueue {
 public:
  EmbeddingQueue(int capacity, int dim);
  // Appends `n` rows, overwriting the oldest once full.
  void Enqueue(const float* rows, int n);
  int size() const { return size_; }
  int capacity() const { return capacity_; }
  int dim() const { return dim_; }
  const float* data() const { return data_.data(); }  // [size, dim] filled slots (order: ring)
  // Row `i` in age order (0 = oldest). REQUIRES: 0 <= i < size().
  const float* Oldest(int i) const;

 private:
  int capacity_, dim_, size_ = 0, next_ = 0;
  std::vector<float> data_;
};

// Threshold from peaks over threshold: fits a generalised Pareto
// distribution (method of moments) to the excesses over the `initial`
// quantile of `scores` and returns the value exceeded with probability
// `risk`. Falls back to the plain (1 - risk) quantile with fewer than 10
// excesses.
double PotThreshold(std::vector<double> scores, double initial, double risk);
// The q-quantile (linear interpolation) of `v`; 0 for an empty vector.
double EmpiricalQuantile(std::vector<double> v, double q);

}  // namespace triad

#endif  // TRIAD_MODELS_FUSION_H_
