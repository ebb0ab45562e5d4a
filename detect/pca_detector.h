// Count-vector PCA (Xu et al., "Detecting Large-Scale System Problems by
// Mining Console Logs", SOSP'09), as loglizer implements it:
//   x = event counts of a session over the training vocabulary, plus one
//       column for keys not in it (key 0 and unseen ids);
//   optional TF-IDF: x_j *= log(N / (df_j + 1e-8)) (N training sessions, df_j
//       sessions holding event j);
//   optional zero-mean: x -= mean of the (weighted) training vectors;
//   C = X^T X / N; eigenvectors by cyclic Jacobi; the principal subspace P
//       keeps the leading components up to `variance` of the total;
//   score = SPE = |(I - P P^T) x|^2; anomaly iff SPE > threshold.
// Threshold, from the training sessions only: the Q-statistic
// (Jackson & Mudholkar 1979) at z = c_alpha on the residual eigenvalues, or the
// `quantile` of the training SPEs times `margin`.
#ifndef TRIAD_DETECT_PCA_DETECTOR_H_
#define TRIAD_DETECT_PCA_DETECTOR_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detect/sequence_detector.h"

namespace triad {

struct PcaConfig {
  // TF-IDF off by default: on hdfs_100k most anomalies are sessions cut short
  // ("22 5"), made of events every session has, which TF-IDF weighs ~0
  // (measured in sequence_eval_test: F1 .31 with it, .69 without).
  bool tf_idf = false;
  bool zero_mean = true;
  double variance = 0.95;    // fraction of variance the principal subspace keeps
  std::string threshold = "q-statistic";  // or "quantile"
  double c_alpha = 3.2905;   // Q-statistic z (loglizer's value for alpha = 0.001)
  double quantile = 0.995;   // "quantile": of the training SPEs
  double margin = 1.0;       // "quantile": threshold = margin * quantile
};

// Eigen-decomposition of a symmetric n x n matrix `a` (row-major) by cyclic
// Jacobi rotations. On return *values are the eigenvalues in decreasing order
// and *vectors (row-major n x n) holds the matching unit eigenvectors as
// COLUMNS. REQUIRES: a.size() == n * n, a symmetric.
void SymmetricEigen(const std::vector<double>& a, size_t n, std::vector<double>* values,
                    std::vector<double>* vectors);

class PcaDetector : public SequenceDetector {
 public:
  static constexpr int kVersion = 1;

  explicit PcaDetector(PcaConfig cfg = {});

  std::string name() const override { return "pca"; }
  // Returns InvalidArgument if `normal` is empty or the config is out of range.
  Status Fit(const std::vector<Session>& normal) override;
  // position/observed: the first occurrence of the event whose residual adds
  // most to the SPE; expected: empty (PCA does not predict keys); reason:
  // "E7 x3 (expected 0.1) gives 85% of SPE 41.2".
  SequenceVerdict Score(const Session& s) const override;
  Status Save(const std::string& path) const override;
  // Reads a file written by Save(); refuses any other file with a clear Status.
  static Status Load(const std::string& path, std::unique_ptr<PcaDetector>* out);

  double threshold() const { return threshold_; }
  int components() const { return components_; }
  const std::vector<uint32_t>& events() const { return events_; }  // column -> key
  const PcaConfig& config() const { return cfg_; }
  // Template texts for mapping raw lines (optional; saved with the model).
  void set_vocabulary(std::map<uint32_t, std::string> v) { vocab_ = std::move(v); }
  const std::map<uint32_t, std::string>& vocabulary() const { return vocab_; }

 private:
  // x: [dims] weighted and centred counts of `s`; counts: [dims] raw counts.
  void Vectorize(const Session& s, std::vector<double>* x, std::vector<double>* counts) const;
  size_t dims() const { return events_.size() + 1; }  // + the unseen-key column

  PcaConfig cfg_;
  bool fitted_ = false;
  std::vector<uint32_t> events_;       // sorted training keys
  std::map<uint32_t, size_t> column_;  // key -> column
  std::vector<double> idf_, mean_;     // [dims]
  std::vector<double> proj_;           // [dims x dims] I - P P^T (row-major)
  std::vector<double> eigenvalues_;    // [dims], decreasing
  int components_ = 0;
  double threshold_ = 0;
  size_t train_sessions_ = 0;
  std::map<uint32_t, std::string> vocab_;
};

// Loads a PCA model file into a SequenceDetector.
Status LoadPcaDetector(const std::string& path, std::unique_ptr<SequenceDetector>* out);

}  // namespace triad

#endif  // TRIAD_DETECT_PCA_DETECTOR_H_
