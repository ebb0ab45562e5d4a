#include "detect/pca_detector.h"
#include "detect/model_json.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace triad {

using json = nlohmann::json;

void SymmetricEigen(const std::vector<double>& a_in, size_t n, std::vector<double>* values,
                    std::vector<double>* vectors) {
  assert(a_in.size() == n * n);
  std::vector<double> a = a_in;
  std::vector<double> v(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
  auto A = [&](size_t i, size_t j) -> double& { return a[i * n + j]; };
  double total = 0;
  for (double x : a) total += x * x;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) off += A(i, j) * A(i, j);
    if (off <= 1e-30 * std::max(total, 1e-300)) break;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        double apq = A(p, q);
        if (std::fabs(apq) < 1e-300) continue;
        double theta = (A(q, q) - A(p, p)) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < n; ++k) {  // columns p, q
          double akp = A(k, p), akq = A(k, q);
          A(k, p) = c * akp - s * akq;
          A(k, q) = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // rows p, q
          double apk = A(p, k), aqk = A(q, k);
          A(p, k) = c * apk - s * aqk;
          A(q, k) = s * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {
          double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return A(x, x) > A(y, y); });
  values->assign(n, 0);
  vectors->assign(n * n, 0);
  for (size_t c = 0; c < n; ++c) {
    (*values)[c] = A(order[c], order[c]);
    for (size_t k = 0; k < n; ++k) (*vectors)[k * n + c] = v[k * n + order[c]];
  }
}

PcaDetector::PcaDetector(PcaConfig cfg) : cfg_(std::move(cfg)) {}

void PcaDetector::Vectorize(const Session& s, std::vector<double>* x,
                            std::vector<double>* counts) const {
  const size_t d = dims();
  counts->assign(d, 0.0);
  for (uint32_t k : s.keys) {
    auto it = column_.find(k);
    (*counts)[it == column_.end() ? d - 1 : it->second] += 1;
  }
  x->resize(d);
  for (size_t j = 0; j < d; ++j) (*x)[j] = (*counts)[j] * idf_[j] - mean_[j];
}

Status PcaDetector::Fit(const std::vector<Session>& normal) {
  if (normal.empty()) return Status::InvalidArgument("pca: no training sessions");
  if (!(cfg_.variance > 0 && cfg_.variance <= 1))
    return Status::InvalidArgument("pca: variance must be in (0, 1]");
  if (cfg_.threshold != "q-statistic" && cfg_.threshold != "quantile")
    return Status::InvalidArgument("pca: threshold must be 'q-statistic' or 'quantile'");
  if (!(cfg_.quantile > 0 && cfg_.quantile <= 1))
    return Status::InvalidArgument("pca: quantile must be in (0, 1]");
  std::map<uint32_t, size_t> df;
  for (const Session& s : normal) {
    std::vector<uint32_t> u = s.keys;
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
    for (uint32_t k : u)
      if (k != 0) ++df[k];
  }
  events_.clear();
  column_.clear();
  for (const auto& [k, c] : df) {
    column_[k] = events_.size();
    events_.push_back(k);
  }
  const size_t d = dims();
  const double N = static_cast<double>(normal.size());
  idf_.assign(d, 1.0);
  mean_.assign(d, 0.0);
  if (cfg_.tf_idf) {
    for (size_t j = 0; j + 1 < d; ++j) idf_[j] = std::log(N / (df[events_[j]] + 1e-8));
    idf_[d - 1] = std::log(N / 1e-8);  // never seen in training
  }
  std::vector<std::vector<double>> X(normal.size());
  std::vector<double> counts;
  for (size_t i = 0; i < normal.size(); ++i) Vectorize(normal[i], &X[i], &counts);
  if (cfg_.zero_mean) {
    for (const auto& x : X)
      for (size_t j = 0; j < d; ++j) mean_[j] += x[j] / N;
    for (auto& x : X)
      for (size_t j = 0; j < d; ++j) x[j] -= mean_[j];
  }
  std::vector<double> cov(d * d, 0.0);
  for (const auto& x : X)
    for (size_t a = 0; a < d; ++a) {
      if (x[a] == 0) continue;
      for (size_t b = 0; b < d; ++b) cov[a * d + b] += x[a] * x[b];
    }
  for (double& c : cov) c /= N;
  std::vector<double> vecs;
  SymmetricEigen(cov, d, &eigenvalues_, &vecs);
  for (double& l : eigenvalues_) l = std::max(l, 0.0);
  double total = std::accumulate(eigenvalues_.begin(), eigenvalues_.end(), 0.0);
  size_t k = 0;
  if (total > 0) {
    double acc = 0;
    for (k = 0; k < d; ++k) {
      acc += eigenvalues_[k];
      if (acc / total >= cfg_.variance) break;
    }
    k = std::min(k + 1, d);
  }
  components_ = static_cast<int>(k);
  proj_.assign(d * d, 0.0);
  for (size_t a = 0; a < d; ++a) {
    proj_[a * d + a] = 1.0;
    for (size_t c = 0; c < k; ++c)
      for (size_t b = 0; b < d; ++b) proj_[a * d + b] -= vecs[a * d + c] * vecs[b * d + c];
  }
  fitted_ = true;
  train_sessions_ = normal.size();
  // Threshold.
  std::vector<double> spe;
  spe.reserve(normal.size());
  for (const Session& s : normal) spe.push_back(Score(s).score);
  std::sort(spe.begin(), spe.end());
  double q_thr = NAN;
  if (cfg_.threshold == "q-statistic") {
    double phi[3] = {0, 0, 0};
    for (size_t j = k; j < d; ++j)
      for (int i = 0; i < 3; ++i) phi[i] += std::pow(eigenvalues_[j], i + 1);
    if (phi[0] > 0 && phi[1] > 0) {
      double h0 = 1.0 - 2 * phi[0] * phi[2] / (3.0 * phi[1] * phi[1]);
      double base = cfg_.c_alpha * std::sqrt(2 * phi[1] * h0 * h0) / phi[0] + 1.0 +
                    phi[1] * h0 * (h0 - 1) / (phi[0] * phi[0]);
      if (h0 > 0 && base > 0) q_thr = phi[0] * std::pow(base, 1.0 / h0);
    }
  }
  if (std::isfinite(q_thr)) {
    threshold_ = q_thr;
  } else {
    // Quantile of the training SPEs (also the fallback when the residual
    // spectrum is degenerate).
    size_t idx = static_cast<size_t>(std::ceil(cfg_.quantile * spe.size())) - 1;
    idx = std::min(idx, spe.size() - 1);
    threshold_ = cfg_.margin * spe[idx];
  }
  return Status::OK();
}

SequenceVerdict PcaDetector::Score(const Session& s) const {
  assert(fitted_);
  const size_t d = dims();
  std::vector<double> x, counts;
  Vectorize(s, &x, &counts);
  std::vector<double> r(d, 0.0);
  double spe = 0;
  for (size_t a = 0; a < d; ++a) {
    double acc = 0;
    for (size_t b = 0; b < d; ++b) acc += proj_[a * d + b] * x[b];
    r[a] = acc;
    spe += acc * acc;
  }
  SequenceVerdict v;
  v.score = spe;
  v.anomaly = spe > threshold_;
  if (spe <= 0) return v;
  size_t worst = 0;
  for (size_t j = 1; j < d; ++j)
    if (r[j] * r[j] > r[worst] * r[worst]) worst = j;
  double share = r[worst] * r[worst] / spe;
  double expected = idf_[worst] > 0 ? (x[worst] - r[worst] + mean_[worst]) / idf_[worst] : 0;
  expected = std::max(expected, 0.0);
  bool oov = worst == d - 1;
  for (size_t i = 0; i < s.keys.size(); ++i) {
    auto it = column_.find(s.keys[i]);
    bool in_col = oov ? it == column_.end() : (it != column_.end() && it->second == worst);
    if (in_col) {
      v.position = static_cast<int>(i);
      v.observed = s.keys[i];
      break;
    }
  }
  std::string what = oov ? "unseen events" : fmt::format("E{}", events_[worst]);
  v.reason = fmt::format("{} x{:.0f} (expected {:.1f}) gives {:.0f}% of SPE {:.3g}", what,
                         counts[worst], oov ? 0.0 : expected, 100 * share, spe);
  return v;
}

Status PcaDetector::Save(const std::string& path) const {
  if (!fitted_) return Status::InvalidArgument("pca: Save before Fit");
  json vocab = json::object();
  for (const auto& [k, t] : vocab_) vocab[std::to_string(k)] = t;
  json doc = {{"format", "triad-model"},
              {"model", "pca"},
              {"version", kVersion},
              {"config",
               {{"tf_idf", cfg_.tf_idf},
                {"zero_mean", cfg_.zero_mean},
                {"variance", cfg_.variance},
                {"threshold", cfg_.threshold},
                {"c_alpha", cfg_.c_alpha},
                {"quantile", cfg_.quantile},
                {"margin", cfg_.margin}}},
              {"events", events_},
              {"idf", idf_},
              {"mean", mean_},
              {"projection", proj_},
              {"eigenvalues", eigenvalues_},
              {"components", components_},
              {"threshold", threshold_},
              {"train_sessions", train_sessions_},
              {"vocabulary", vocab}};
  return WriteJsonModel(path, doc);
}

Status PcaDetector::Load(const std::string& path, std::unique_ptr<PcaDetector>* out) {
  json doc;
  TRIAD_RETURN_IF_ERROR(ReadJsonModel(path, "pca", kVersion, &doc));
  try {
    const json& c = doc.at("config");
    PcaConfig cfg;
    cfg.tf_idf = c.at("tf_idf").get<bool>();
    cfg.zero_mean = c.at("zero_mean").get<bool>();
    cfg.variance = c.at("variance").get<double>();
    cfg.threshold = c.at("threshold").get<std::string>();
    cfg.c_alpha = c.at("c_alpha").get<double>();
    cfg.quantile = c.at("quantile").get<double>();
    cfg.margin = c.at("margin").get<double>();
    auto det = std::make_unique<PcaDetector>(cfg);
    det->events_ = doc.at("events").get<std::vector<uint32_t>>();
    for (size_t j = 0; j < det->events_.size(); ++j) {
      if (det->events_[j] == 0 || !det->column_.emplace(det->events_[j], j).second)
        return Status::Corruption(path + ": pca model: bad events list");
    }
    const size_t d = det->dims();
    det->idf_ = doc.at("idf").get<std::vector<double>>();
    det->mean_ = doc.at("mean").get<std::vector<double>>();
    det->proj_ = doc.at("projection").get<std::vector<double>>();
    det->eigenvalues_ = doc.at("eigenvalues").get<std::vector<double>>();
    if (det->idf_.size() != d || det->mean_.size() != d || det->proj_.size() != d * d ||
        det->eigenvalues_.size() != d)
      return Status::Corruption(path + ": pca model: array sizes do not match the events");
    det->components_ = doc.at("components").get<int>();
    det->threshold_ = doc.at("threshold").get<double>();
    det->train_sessions_ = doc.at("train_sessions").get<size_t>();
    for (const auto& [k, t] : doc.at("vocabulary").items()) {
      uint64_t id = std::stoull(k);
      det->vocab_[static_cast<uint32_t>(id)] = t.get<std::string>();
    }
    det->fitted_ = true;
    *out = std::move(det);
  } catch (const std::exception& e) {
    return Status::Corruption(fmt::format("{}: pca model: {}", path, e.what()));
  }
  return Status::OK();
}

Status LoadPcaDetector(const std::string& path, std::unique_ptr<SequenceDetector>* out) {
  std::unique_ptr<PcaDetector> d;
  TRIAD_RETURN_IF_ERROR(PcaDetector::Load(path, &d));
  *out = std::move(d);
  return Status::OK();
}

}  // namespace triad
