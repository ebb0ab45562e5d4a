#include "models/deeplog.h"
#include "models/model_file.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <unordered_map>

#include "models/runtime.h"

namespace triad {
namespace {

constexpr char kFormat[] = "triad-deeplog";
// Version 2 added the end-of-session class (config end_token). Version 1
// files are read with end_token = false, which is what they were trained as.
constexpr int kVersion = 2;
constexpr int kOldestVersion = 1;
constexpr size_t kMaxCacheFloats = 16u << 20;  // 64 MiB of cached distributions

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Key model: x [batch, history] (dense ids, 0 = padding/unknown)
//   -> embedding or one-hot [batch, history, in] -> LSTM [batch, history, hidden]
//   -> linear on the last step -> logits [batch, classes], classes = V + 1.
struct KeyNetImpl : torch::nn::Module {
  KeyNetImpl(int classes, int embedding, int hidden, int layers) : classes_(classes) {
    int in = classes;
    if (embedding > 0) {
      emb = register_module("emb", torch::nn::Embedding(classes, embedding));
      in = embedding;
    }
    lstm = register_module(
        "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(in, hidden).num_layers(layers).batch_first(true)));
    out = register_module("out", torch::nn::Linear(hidden, classes));
  }
  // x: [batch, history] int64 -> [batch, classes] logits
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor e = emb ? emb(x) : torch::one_hot(x, classes_).to(torch::kFloat);
    torch::Tensor y = std::get<0>(lstm->forward(e));  // [batch, history, hidden]
    return out(y.select(1, y.size(1) - 1));
  }
  int classes_;
  torch::nn::Embedding emb{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(KeyNet);

// Parameter-value model of one key: the previous `window` normalised value
// vectors of that key in the session, [batch, window * dim] -> the next one
// [batch, dim]. A small MLP: the per-key value sequences inside a session are
// short (a handful of occurrences), so a recurrent net buys nothing here.
torch::nn::Sequential MakeValueNet(int window, int dim, int hidden) {
  return torch::nn::Sequential(torch::nn::Linear(window * dim, hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, dim));
}

struct ValueModel {
  int key = 0;  // dense id
  int dim = 0;
  std::vector<float> mean, stddev;  // per dimension, for normalisation
  double err_mean = 0, err_std = 0, bound = 0;
  mutable torch::nn::Sequential net{nullptr};
};

nlohmann::json ConfigToJson(const DeepLogConfig& c) {
  return {{"history", c.history},
          {"top_g", c.top_g},
          {"layers", c.layers},
          {"hidden", c.hidden},
          {"embedding", c.embedding},
          {"epochs", c.epochs},
          {"batch", c.batch},
          {"lr", c.lr},
          {"seed", c.seed},
          {"threads", c.threads},
          {"dedup", c.dedup},
          {"validation_fraction", c.validation_fraction},
          {"choose_g", c.choose_g},
          {"max_validation_flag_rate", c.max_validation_flag_rate},
          {"value_model", c.value_model},
          {"value_window", c.value_window},
          {"value_hidden", c.value_hidden},
          {"value_epochs", c.value_epochs},
          {"value_sigma", c.value_sigma},
          {"value_min_samples", c.value_min_samples},
          {"score_batch", c.score_batch},
          {"end_token", c.end_token}};
}

template <typename T>
void Get(const nlohmann::json& j, const char* name, T* v) {
  auto it = j.find(name);
  if (it != j.end()) *v = it->get<T>();
}

DeepLogConfig ConfigFromJson(const nlohmann::json& j) {
  DeepLogConfig c;
  Get(j, "history", &c.history);
  Get(j, "top_g", &c.top_g);
  Get(j, "layers", &c.layers);
  Get(j, "hidden", &c.hidden);
  Get(j, "embedding", &c.embedding);
  Get(j, "epochs", &c.epochs);
  Get(j, "batch", &c.batch);
  Get(j, "lr", &c.lr);
  Get(j, "seed", &c.seed);
  Get(j, "threads", &c.threads);
  Get(j, "dedup", &c.dedup);
  Get(j, "validation_fraction", &c.validation_fraction);
  Get(j, "choose_g", &c.choose_g);
  Get(j, "max_validation_flag_rate", &c.max_validation_flag_rate);
  Get(j, "value_model", &c.value_model);
  Get(j, "value_window", &c.value_window);
  Get(j, "value_hidden", &c.value_hidden);
  Get(j, "value_epochs", &c.value_epochs);
  Get(j, "value_sigma", &c.value_sigma);
  Get(j, "value_min_samples", &c.value_min_samples);
  Get(j, "score_batch", &c.score_batch);
  Get(j, "end_token", &c.end_token);
  return c;
}

Status CheckConfig(const DeepLogConfig& c) {
  if (c.history < 1) return Status::InvalidArgument("deeplog: history must be >= 1");
  if (c.top_g < 1) return Status::InvalidArgument("deeplog: top_g must be >= 1");
  if (c.layers < 1 || c.hidden < 1 || c.embedding < 0)
    return Status::InvalidArgument("deeplog: layers and hidden must be >= 1, embedding >= 0");
  if (c.epochs < 0 || c.batch < 1 || !(c.lr > 0))
    return Status::InvalidArgument("deeplog: epochs >= 0, batch >= 1 and lr > 0 required");
  if (!(c.validation_fraction >= 0 && c.validation_fraction < 1))
    return Status::InvalidArgument("deeplog: validation_fraction must be in [0, 1)");
  if (!(c.max_validation_flag_rate >= 0 && c.max_validation_flag_rate <= 1))
    return Status::InvalidArgument("deeplog: max_validation_flag_rate must be in [0, 1]");
  if (c.value_window < 1 || c.value_hidden < 1 || c.value_epochs < 0 || !(c.value_sigma > 0))
    return Status::InvalidArgument("deeplog: bad value-model settings");
  if (c.score_batch < 1) return Status::InvalidArgument("deeplog: score_batch must be >= 1");
  return Status::OK();
}

std::string KeyName(uint32_t raw) { return "E" + std::to_string(raw); }

class DeepLog final : public SequenceDetector {
 public:
  explicit DeepLog(const DeepLogConfig& cfg) : cfg_(cfg) {}

  std::string name() const override { return "deeplog"; }
  Status Fit(const std::vector<Session>& normal) override;
  SequenceVerdict Score(const Session& s) const override {
    std::vector<SequenceVerdict> out;
    ScorePtrs({&s}, &out);  // no copy of the session
    return std::move(out[0]);
  }
  void ScoreAll(const std::vector<Session>& in, std::vector<SequenceVerdict>* out) const override {
    std::vector<const Session*> ptrs(in.size());
    for (size_t i = 0; i < in.size(); ++i) ptrs[i] = &in[i];
    ScorePtrs(ptrs, out);
  }
  Status Save(const std::string& path) const override;

  // `version`: of the file; version 1 files predate end_token.
  Status LoadFrom(const nlohmann::json& header, const std::string& weights, int version);
  const DeepLogStats& stats() const { return stats_; }
  const DeepLogConfig& config() const { return cfg_; }

 private:
  // Classes of the key model: 0 = unknown, 1..V = keys, V + 1 = session end
  // (iff cfg_.end_token).
  int classes() const { return stats_.vocab + 1 + (cfg_.end_token ? 1 : 0); }
  uint32_t EndId() const { return static_cast<uint32_t>(stats_.vocab + 1); }
  // Positions checked in `s`: its keys, plus the session end (position
  // keys.size()) iff end_token and the session is not empty.
  size_t Checked(const Session& s) const {
    return s.keys.size() + (cfg_.end_token && !s.keys.empty() ? 1 : 0);
  }
  // The class expected at checked position i of a session whose dense ids are `dense`.
  uint32_t Target(const std::vector<uint32_t>& dense, size_t i) const {
    return i < dense.size() ? dense[i] : EndId();
  }
  void ScorePtrs(const std::vector<const Session*>& in, std::vector<SequenceVerdict>* out) const;
  uint32_t Dense(uint32_t raw) const {
    auto it = dense_.find(raw);
    return it == dense_.end() ? 0 : it->second;
  }
  void BuildVocab(const std::vector<const Session*>& train);
  void BuildNets();
  void TrainKeyModel(const std::vector<const Session*>& train);
  // Per session: the worst key rank (V + 2 for an unknown key), for choosing g.
  std::vector<int> WorstRanks(const std::vector<const Session*>& sessions) const;
  void TrainValueModels(const std::vector<const Session*>& train,
                        const std::vector<const Session*>& val);
  // Fills *rows (one per key of each session, in order) with rows of the
  // distribution cache, computing the missing ones. REQUIRES: mu_ held.
  void LookupDistributions(const std::vector<const Session*>& sessions,
                           std::vector<std::vector<uint32_t>>* rows) const;
  // Value errors (ratio error / bound) per key of each session; 0 where no model applies.
  // (raw: the errors themselves instead of error / bound.)
  void ValueRatios(const std::vector<const Session*>& sessions,
                   std::vector<std::vector<float>>* ratios, bool raw = false) const;
  // Writes the value-model input for occurrence j of occ into dst[value_window * m.dim].
  void ValueInput(const ValueModel& m, const Session& s, const std::vector<size_t>& occ, size_t j,
                  float* dst) const;

  DeepLogConfig cfg_;
  DeepLogStats stats_;
  bool trained_ = false;
  std::vector<uint32_t> vocab_;  // dense id - 1 -> raw key
  std::unordered_map<uint32_t, uint32_t> dense_;
  mutable KeyNet net_{nullptr};  // forward() is not const in torch
  std::vector<ValueModel> values_;
  std::vector<int> value_of_key_;  // dense id -> index into values_, -1 if none

  // Cache of next-key distributions per distinct history window.
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, uint32_t> cache_index_;
  mutable std::vector<float> cache_probs_;  // rows of classes() floats
};

void DeepLog::BuildVocab(const std::vector<const Session*>& train) {
  std::map<uint32_t, uint64_t> seen;
  for (const Session* s : train)
    for (uint32_t k : s->keys)
      if (k != 0) ++seen[k];
  vocab_.clear();
  dense_.clear();
  for (const auto& [k, n] : seen) {
    vocab_.push_back(k);
    dense_[k] = static_cast<uint32_t>(vocab_.size());
  }
  stats_.vocab = static_cast<int>(vocab_.size());
}

void DeepLog::BuildNets() {
  net_ = KeyNet(classes(), cfg_.embedding, cfg_.hidden, cfg_.layers);
  value_of_key_.assign(classes(), -1);
  for (size_t i = 0; i < values_.size(); ++i) {
    values_[i].net = MakeValueNet(cfg_.value_window, values_[i].dim, cfg_.value_hidden);
    value_of_key_[values_[i].key] = static_cast<int>(i);
  }
}

// Appends the history window ending before position i (front-padded with 0).
void WindowAt(const std::vector<uint32_t>& dense, size_t i, int h, uint32_t* w) {
  for (int j = 0; j < h; ++j) {
    long p = static_cast<long>(i) - h + j;
    w[j] = p < 0 ? 0 : dense[p];
  }
}

void DeepLog::TrainKeyModel(const std::vector<const Session*>& train) {
  const int h = cfg_.history;
  // Samples: (window, next) pairs, deduplicated with their counts.
  std::unordered_map<std::string, uint32_t> index;
  std::vector<uint32_t> xs;  // rows of h
  std::vector<int64_t> ys;
  std::vector<float> ws;
  std::vector<uint32_t> dense, win(h + 1);
  std::string key;
  size_t total = 0;
  for (const Session* s : train) {
    dense.resize(s->keys.size());
    for (size_t i = 0; i < dense.size(); ++i) dense[i] = Dense(s->keys[i]);
    for (size_t i = 0, n = Checked(*s); i < n; ++i) {
      WindowAt(dense, i, h, win.data());
      win[h] = Target(dense, i);
      ++total;
      if (cfg_.dedup) {
        key.assign(reinterpret_cast<const char*>(win.data()), sizeof(uint32_t) * (h + 1));
        auto [it, fresh] = index.try_emplace(key, static_cast<uint32_t>(ys.size()));
        if (!fresh) {
          ws[it->second] += 1;
          continue;
        }
      }
      xs.insert(xs.end(), win.begin(), win.begin() + h);
      ys.push_back(win[h]);
      ws.push_back(1);
    }
  }
  stats_.train_samples = total;
  stats_.distinct_samples = ys.size();
  const int64_t n = static_cast<int64_t>(ys.size());
  if (n == 0 || cfg_.epochs == 0) return;

  torch::Tensor X = torch::from_blob(xs.data(), {n, h}, torch::kInt32).to(torch::kInt64);
  torch::Tensor Y = torch::from_blob(ys.data(), {n}, torch::kInt64).clone();
  torch::Tensor W = torch::from_blob(ws.data(), {n}, torch::kFloat).clone();
  const int64_t bs = cfg_.batch;
  const int64_t steps = (n + bs - 1) / bs;
  // Each batch's loss is sum(w * ce) / (total weight / steps): summed over an
  // epoch, the gradient is exactly that of the mean loss over all samples.
  const double norm = static_cast<double>(total) / steps;
  torch::optim::Adam opt(net_->parameters(), torch::optim::AdamOptions(cfg_.lr));
  net_->train();
  auto t0 = Clock::now();
  for (int ep = 0; ep < cfg_.epochs; ++ep) {
    auto te = Clock::now();
    torch::Tensor perm = torch::randperm(n, torch::kInt64);
    double loss_sum = 0;
    for (int64_t b = 0; b < steps; ++b) {
      torch::Tensor idx = perm.slice(0, b * bs, std::min(n, (b + 1) * bs));
      torch::Tensor logits = net_->forward(X.index_select(0, idx));
      torch::Tensor ce = torch::nn::functional::cross_entropy(
          logits, Y.index_select(0, idx),
          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
      torch::Tensor wsum = (ce * W.index_select(0, idx)).sum();
      torch::Tensor loss = wsum / norm;
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += wsum.item<double>();
    }
    stats_.final_loss = loss_sum / total;
    double el = Seconds(t0), eps = Seconds(te);
    spdlog::info("deeplog epoch {}/{}: loss {:.4f}, {:.0f} distinct samples/s ({:.0f} raw/s), ETA {:.1f} s",
                 ep + 1, cfg_.epochs, stats_.final_loss, n / eps, total / eps,
                 el / (ep + 1) * (cfg_.epochs - ep - 1));
  }
  net_->eval();
}

void DeepLog::LookupDistributions(const std::vector<const Session*>& sessions,
                                  std::vector<std::vector<uint32_t>>* rows) const {
  const int h = cfg_.history;
  const int C = classes();
  if (cache_probs_.size() > kMaxCacheFloats) {
    cache_probs_.clear();
    cache_index_.clear();
  }
  const uint32_t first_new = static_cast<uint32_t>(cache_index_.size());
  std::vector<uint32_t> pending;  // windows to compute, rows of h
  std::vector<uint32_t> dense, win(h);
  std::string key;
  rows->resize(sessions.size());
  for (size_t si = 0; si < sessions.size(); ++si) {
    const Session& s = *sessions[si];
    dense.resize(s.keys.size());
    for (size_t i = 0; i < dense.size(); ++i) dense[i] = Dense(s.keys[i]);
    auto& r = (*rows)[si];
    r.resize(Checked(s));
    for (size_t i = 0; i < r.size(); ++i) {
      WindowAt(dense, i, h, win.data());
      key.assign(reinterpret_cast<const char*>(win.data()), sizeof(uint32_t) * h);
      auto [it, fresh] = cache_index_.try_emplace(key, static_cast<uint32_t>(cache_index_.size()));
      if (fresh) pending.insert(pending.end(), win.begin(), win.end());
      r[i] = it->second;
    }
  }
  const int64_t n = static_cast<int64_t>(pending.size() / h);
  if (n == 0) return;
  assert(cache_probs_.size() == static_cast<size_t>(first_new) * C);
  cache_probs_.resize(cache_probs_.size() + static_cast<size_t>(n) * C);
  c10::InferenceMode guard;
  torch::Tensor X = torch::from_blob(pending.data(), {n, h}, torch::kInt32).to(torch::kInt64);
  for (int64_t b = 0; b < n; b += cfg_.score_batch) {
    int64_t e = std::min<int64_t>(n, b + cfg_.score_batch);
    torch::Tensor p = torch::softmax(net_->forward(X.slice(0, b, e)), 1).contiguous();
    std::memcpy(cache_probs_.data() + (static_cast<size_t>(first_new) + b) * C,
                p.data_ptr<float>(), sizeof(float) * (e - b) * C);
  }
}

// Rank (1-based, ties in the observed key's favour) of class `obs` in `p`.
int RankOf(const float* p, int C, uint32_t obs) {
  int rank = 1;
  for (int c = 0; c < C; ++c) rank += p[c] > p[obs];
  return rank;
}

std::vector<int> DeepLog::WorstRanks(const std::vector<const Session*>& sessions) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::vector<uint32_t>> rows;
  LookupDistributions(sessions, &rows);
  const int C = classes();
  std::vector<int> worst(sessions.size(), 0);
  for (size_t si = 0; si < sessions.size(); ++si) {
    const Session& s = *sessions[si];
    for (size_t i = 0, n = Checked(s); i < n; ++i) {
      uint32_t d = i < s.keys.size() ? Dense(s.keys[i]) : EndId();
      int r = d == 0 ? C + 1 : RankOf(cache_probs_.data() + size_t(rows[si][i]) * C, C, d);
      worst[si] = std::max(worst[si], r);
    }
  }
  return worst;
}

void DeepLog::ValueInput(const ValueModel& m, const Session& s, const std::vector<size_t>& occ,
                         size_t j, float* dst) const {
  // Input: the previous value_window normalised vectors (oldest first), zeros before the start.
  const int w = cfg_.value_window;
  for (int q = 0; q < w; ++q) {
    long o = static_cast<long>(j) - w + q;
    float* d = dst + q * m.dim;
    if (o < 0) {
      std::fill(d, d + m.dim, 0.0f);
      continue;
    }
    const std::vector<float>& v = s.values[occ[o]];
    for (int k = 0; k < m.dim; ++k) d[k] = (v[k] - m.mean[k]) / m.stddev[k];
  }
}

// The occurrences (line indices) of each value-modelled key in `s` whose value
// vector has the model's width.
std::vector<std::vector<size_t>> Occurrences(const Session& s, const std::vector<int>& value_of_key,
                                             const std::vector<ValueModel>& models,
                                             const std::unordered_map<uint32_t, uint32_t>& dense,
                                             uint64_t* skipped) {
  std::vector<std::vector<size_t>> occ(models.size());
  if (s.values.size() != s.keys.size()) return occ;
  for (size_t i = 0; i < s.keys.size(); ++i) {
    auto it = dense.find(s.keys[i]);
    if (it == dense.end()) continue;
    int m = value_of_key[it->second];
    if (m < 0) continue;
    if (static_cast<int>(s.values[i].size()) != models[m].dim) {
      if (skipped) ++*skipped;
      continue;
    }
    occ[m].push_back(i);
  }
  return occ;
}

void DeepLog::TrainValueModels(const std::vector<const Session*>& train,
                               const std::vector<const Session*>& val) {
  values_.clear();
  value_of_key_.assign(classes(), -1);
  if (!cfg_.value_model) return;
  // Width of each key's value vectors: the most common one in training.
  std::vector<std::map<size_t, size_t>> widths(classes());
  for (const Session* s : train) {
    if (s->values.size() != s->keys.size()) continue;
    for (size_t i = 0; i < s->keys.size(); ++i) {
      uint32_t d = Dense(s->keys[i]);
      if (d != 0 && !s->values[i].empty()) ++widths[d][s->values[i].size()];
    }
  }
  for (int d = 1; d < classes(); ++d) {
    if (widths[d].empty()) continue;
    auto best = std::max_element(widths[d].begin(), widths[d].end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    if (static_cast<int>(best->second) < cfg_.value_min_samples) continue;
    ValueModel m;
    m.key = d;
    m.dim = static_cast<int>(best->first);
    m.net = MakeValueNet(cfg_.value_window, m.dim, cfg_.value_hidden);
    value_of_key_[d] = static_cast<int>(values_.size());
    values_.push_back(std::move(m));
  }
  if (values_.empty()) return;
  stats_.value_lines_skipped = 0;
  // Occurrences per model and session.
  auto collect = [&](const std::vector<const Session*>& ss, uint64_t* skipped) {
    std::vector<std::vector<std::vector<size_t>>> occ;
    for (const Session* s : ss) occ.push_back(Occurrences(*s, value_of_key_, values_, dense_, skipped));
    return occ;
  };
  auto occ_train = collect(train, &stats_.value_lines_skipped);
  auto occ_val = collect(val, nullptr);
  const int w = cfg_.value_window;
  for (size_t mi = 0; mi < values_.size(); ++mi) {
    ValueModel& m = values_[mi];
    // Normalisation.
    std::vector<double> sum(m.dim, 0), sq(m.dim, 0);
    size_t cnt = 0;
    for (size_t si = 0; si < train.size(); ++si)
      for (size_t i : occ_train[si][mi]) {
        ++cnt;
        for (int k = 0; k < m.dim; ++k) {
          double v = train[si]->values[i][k];
          sum[k] += v;
          sq[k] += v * v;
        }
      }
    m.mean.resize(m.dim);
    m.stddev.resize(m.dim);
    for (int k = 0; k < m.dim; ++k) {
      double mu = sum[k] / std::max<size_t>(cnt, 1);
      double var = sq[k] / std::max<size_t>(cnt, 1) - mu * mu;
      m.mean[k] = static_cast<float>(mu);
      m.stddev[k] = var > 1e-12 ? static_cast<float>(std::sqrt(var)) : 1.0f;
    }
    // Samples.
    auto samples = [&](const std::vector<const Session*>& ss,
                       const std::vector<std::vector<std::vector<size_t>>>& occ, torch::Tensor* X,
                       torch::Tensor* Y) {
      std::vector<float> xs, ys;
      for (size_t si = 0; si < ss.size(); ++si) {
        const auto& o = occ[si][mi];
        for (size_t j = 0; j < o.size(); ++j) {
          size_t base = xs.size();
          xs.resize(base + size_t(w) * m.dim);
          ValueInput(m, *ss[si], o, j, xs.data() + base);
          for (int k = 0; k < m.dim; ++k)
            ys.push_back((ss[si]->values[o[j]][k] - m.mean[k]) / m.stddev[k]);
        }
      }
      int64_t n = static_cast<int64_t>(ys.size() / m.dim);
      *X = torch::from_blob(xs.data(), {n, int64_t(w) * m.dim}, torch::kFloat).clone();
      *Y = torch::from_blob(ys.data(), {n, m.dim}, torch::kFloat).clone();
    };
    torch::Tensor X, Y, VX, VY;
    samples(train, occ_train, &X, &Y);
    samples(val, occ_val, &VX, &VY);
    torch::optim::Adam opt(m.net->parameters(), torch::optim::AdamOptions(1e-3));
    const int64_t n = X.size(0), bs = 256;
    m.net->train();
    for (int ep = 0; ep < cfg_.value_epochs; ++ep) {
      torch::Tensor perm = torch::randperm(n, torch::kInt64);
      for (int64_t b = 0; b < n; b += bs) {
        torch::Tensor idx = perm.slice(0, b, std::min(n, b + bs));
        torch::Tensor loss =
            torch::mse_loss(m.net->forward(X.index_select(0, idx)), Y.index_select(0, idx));
        opt.zero_grad();
        loss.backward();
        opt.step();
      }
    }
    m.net->eval();
    // Gaussian bound on the per-vector errors of held-out normal data (the
    // training data if fewer than value_min_samples are held out).
    c10::InferenceMode guard;
    bool use_val = VX.size(0) >= cfg_.value_min_samples;
    torch::Tensor err = (m.net->forward(use_val ? VX : X) - (use_val ? VY : Y)).pow(2).mean(1);
    m.err_mean = err.mean().item<double>();
    m.err_std = err.numel() > 1 ? err.std().item<double>() : 0.0;
    m.bound = std::max(1e-6, m.err_mean + cfg_.value_sigma * m.err_std);
  }
  stats_.value_models = static_cast<int>(values_.size());
  // The bounds are mean + k * sigma with one k for all keys: value_sigma,
  // raised if needed so that at most max_validation_flag_rate of the
  // validation sessions (training sessions without a split) are flagged.
  const std::vector<const Session*>& judge = val.empty() ? train : val;
  std::vector<std::vector<float>> errs;
  ValueRatios(judge, &errs, /*raw=*/true);
  std::vector<double> maxz;
  for (size_t si = 0; si < judge.size(); ++si) {
    if (errs[si].empty()) continue;
    double z = -1e300;
    for (size_t i = 0; i < errs[si].size(); ++i) {
      int mi = value_of_key_[Dense(judge[si]->keys[i])];
      if (mi < 0) continue;
      const ValueModel& m = values_[mi];
      z = std::max(z, (errs[si][i] - m.err_mean) / std::max(m.err_std, 1e-12));
    }
    maxz.push_back(z);
  }
  double k = cfg_.value_sigma;
  if (!maxz.empty()) {
    std::sort(maxz.begin(), maxz.end(), std::greater<double>());
    size_t allowed = static_cast<size_t>(cfg_.max_validation_flag_rate * maxz.size());
    if (allowed < maxz.size()) k = std::max(k, maxz[allowed]);
  }
  stats_.value_k = k;
  for (ValueModel& m : values_) m.bound = std::max(1e-6, m.err_mean + k * m.err_std);
}

void DeepLog::ValueRatios(const std::vector<const Session*>& sessions,
                          std::vector<std::vector<float>>* ratios, bool raw) const {
  ratios->assign(sessions.size(), {});
  if (values_.empty()) return;
  const int w = cfg_.value_window;
  std::vector<std::vector<std::vector<size_t>>> occ;
  bool any = false;
  for (size_t si = 0; si < sessions.size(); ++si) {
    occ.push_back(Occurrences(*sessions[si], value_of_key_, values_, dense_, nullptr));
    if (sessions[si]->values.size() == sessions[si]->keys.size()) {
      (*ratios)[si].assign(sessions[si]->keys.size(), 0.0f);
      any = true;
    }
  }
  if (!any) return;
  c10::InferenceMode guard;
  for (size_t mi = 0; mi < values_.size(); ++mi) {
    const ValueModel& m = values_[mi];
    std::vector<float> xs, ys;
    std::vector<std::pair<size_t, size_t>> where;  // (session, line)
    for (size_t si = 0; si < sessions.size(); ++si) {
      const auto& o = occ[si][mi];
      for (size_t j = 0; j < o.size(); ++j) {
        size_t base = xs.size();
        xs.resize(base + size_t(w) * m.dim);
        ValueInput(m, *sessions[si], o, j, xs.data() + base);
        for (int k = 0; k < m.dim; ++k)
          ys.push_back((sessions[si]->values[o[j]][k] - m.mean[k]) / m.stddev[k]);
        where.emplace_back(si, o[j]);
      }
    }
    if (where.empty()) continue;
    int64_t n = static_cast<int64_t>(where.size());
    torch::Tensor X = torch::from_blob(xs.data(), {n, int64_t(w) * m.dim}, torch::kFloat);
    torch::Tensor Y = torch::from_blob(ys.data(), {n, m.dim}, torch::kFloat);
    torch::Tensor err = (m.net->forward(X) - Y).pow(2).mean(1).contiguous();
    const float* e = err.data_ptr<float>();
    for (int64_t q = 0; q < n; ++q) {
      float r = !std::isfinite(e[q]) ? 1e30f : raw ? e[q] : static_cast<float>(e[q] / m.bound);
      (*ratios)[where[q].first][where[q].second] = r;
    }
  }
}

Status DeepLog::Fit(const std::vector<Session>& normal) {
  TRIAD_RETURN_IF_ERROR(CheckConfig(cfg_));
  ConfigureTorchRuntime(cfg_.threads);
  torch::manual_seed(cfg_.seed);
  auto t0 = Clock::now();
  stats_ = DeepLogStats();
  // Validation split (by session, seeded).
  std::vector<size_t> order(normal.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(cfg_.seed);
  std::shuffle(order.begin(), order.end(), rng);
  size_t n_val = static_cast<size_t>(cfg_.validation_fraction * normal.size());
  if (n_val >= normal.size()) n_val = 0;
  std::vector<const Session*> train, val;
  for (size_t i = 0; i < order.size(); ++i)
    (i < n_val ? val : train).push_back(&normal[order[i]]);
  stats_.train_sessions = train.size();
  stats_.validation_sessions = val.size();

  BuildVocab(train);
  if (stats_.vocab == 0) return Status::InvalidArgument("deeplog: no keys in the training sessions");
  values_.clear();
  BuildNets();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cache_index_.clear();
    cache_probs_.clear();
  }
  TrainKeyModel(train);
  trained_ = true;

  // g: fixed, or the smallest one that flags at most the budget of validation
  // sessions (the training sessions when there is no validation split).
  const std::vector<const Session*>& judge = val.empty() ? train : val;
  std::vector<int> worst = WorstRanks(judge);
  auto flag_rate = [&](int g) {
    size_t f = 0;
    for (int r : worst) f += r > g;
    return judge.empty() ? 0.0 : static_cast<double>(f) / judge.size();
  };
  if (cfg_.choose_g) {
    stats_.g = classes();
    for (int g = 1; g <= classes(); ++g)
      if (flag_rate(g) <= cfg_.max_validation_flag_rate) {
        stats_.g = g;
        break;
      }
    stats_.g_chosen = true;
  } else {
    stats_.g = std::min(cfg_.top_g, classes());
  }
  stats_.validation_flag_rate = flag_rate(stats_.g);

  TrainValueModels(train, val);
  {
    // Start scoring from an empty cache, as a reloaded model does.
    std::lock_guard<std::mutex> lock(mu_);
    cache_index_.clear();
    cache_probs_.clear();
  }
  stats_.train_seconds = Seconds(t0);
  spdlog::info("deeplog: {} train + {} validation sessions, V={}, {} samples ({} distinct), g={}{} "
               "(validation flag rate {:.4f}), {} value models, {:.1f} s",
               stats_.train_sessions, stats_.validation_sessions, stats_.vocab,
               stats_.train_samples, stats_.distinct_samples, stats_.g,
               stats_.g_chosen ? " (chosen)" : "", stats_.validation_flag_rate,
               stats_.value_models, stats_.train_seconds);
  return Status::OK();
}

void DeepLog::ScorePtrs(const std::vector<const Session*>& in,
                        std::vector<SequenceVerdict>* out) const {
  assert(trained_);
  out->assign(in.size(), SequenceVerdict());
  std::vector<std::vector<float>> ratios;
  ValueRatios(in, &ratios);
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::vector<uint32_t>> rows;
  LookupDistributions(in, &rows);
  const int C = classes();
  const int g = stats_.g;
  auto key_list = [&](const float* p, uint32_t skip) {
    // The top-g classes, most likely first, less "unknown" and `skip`.
    std::vector<int> cls(C);
    std::iota(cls.begin(), cls.end(), 0);
    std::stable_sort(cls.begin(), cls.end(), [p](int a, int b) { return p[a] > p[b]; });
    cls.resize(std::min(g, C));
    std::vector<int> keep;
    for (int c : cls)
      if (c != 0 && static_cast<uint32_t>(c) != skip) keep.push_back(c);
    return keep;
  };
  for (size_t si = 0; si < in.size(); ++si) {
    const Session& s = *in[si];
    SequenceVerdict& v = (*out)[si];
    double best = 0;
    int best_pos = -1;
    bool best_is_value = false;
    for (size_t i = 0, n = Checked(s); i < n; ++i) {
      uint32_t d = i < s.keys.size() ? Dense(s.keys[i]) : EndId();
      double sc;
      if (d == 0) {
        sc = C + 0.9995;  // rank C + 1, p = 0
      } else {
        const float* p = cache_probs_.data() + size_t(rows[si][i]) * C;
        sc = RankOf(p, C, d) - 1 + 0.0005 + 0.999 * (1.0 - p[d]);
      }
      if (sc > best) {
        best = sc;
        best_pos = static_cast<int>(i);
        best_is_value = false;
      }
      if (i < s.keys.size() && !ratios[si].empty() && ratios[si][i] > 0) {
        double vs = static_cast<double>(g) * ratios[si][i];
        if (vs > best) {
          best = vs;
          best_pos = static_cast<int>(i);
          best_is_value = true;
        }
      }
    }
    v.score = best;
    v.anomaly = best > g;
    if (!v.anomaly) {
      v.reason = "every key" + std::string(cfg_.end_token ? " and the session end" : "") +
                 " within the top-" + std::to_string(g) + " predictions";
      continue;
    }
    const size_t i = static_cast<size_t>(best_pos);
    const bool at_end = i == s.keys.size();
    v.position = best_pos;
    v.observed = at_end ? 0 : s.keys[i];
    std::string hist;
    for (size_t j = i >= 3 ? i - 3 : 0; j < i; ++j) hist += (hist.empty() ? "" : " ") + KeyName(s.keys[j]);
    if (i > 3) hist = "... " + hist;
    if (best_is_value) {
      const ValueModel& m = values_[value_of_key_[Dense(s.keys[i])]];
      v.reason = fmt::format("parameter values of {} at line {} off: error {:.4g} > bound {:.4g}",
                             KeyName(s.keys[i]), i, ratios[si][i] * m.bound, m.bound);
      continue;
    }
    const float* p = cache_probs_.data() + size_t(rows[si][i]) * C;
    // `expected` holds keys only; the session end, when among the top-g, is
    // named in the reason.
    const uint32_t end = cfg_.end_token ? EndId() : 0;
    std::vector<int> top = key_list(p, end);
    for (int c : top) v.expected.push_back(vocab_[c - 1]);
    const bool end_expected = cfg_.end_token && !at_end && RankOf(p, C, end) <= g;
    uint32_t d = at_end ? EndId() : Dense(s.keys[i]);
    if (at_end) {
      std::string exp;
      for (uint32_t k : v.expected) exp += (exp.empty() ? "" : " ") + KeyName(k);
      v.reason = fmt::format("session ended after [{}]; expected one of [{}] (end: rank {}, p={:.3g})",
                             hist, exp, RankOf(p, C, d), p[d]);
    } else if (d == 0) {
      v.reason = fmt::format("{} never seen in training, after [{}]", KeyName(s.keys[i]), hist);
    } else {
      v.reason = fmt::format("{} not in top-{} after [{}] (rank {}, p={:.3g}){}", KeyName(s.keys[i]),
                             g, hist, RankOf(p, C, d), p[d],
                             end_expected ? "; the session end was expected" : "");
    }
  }
}

Status DeepLog::Save(const std::string& path) const {
  if (!trained_) return Status::InvalidArgument("deeplog: Save before Fit/Load");
  nlohmann::json h;
  h["format"] = kFormat;
  h["version"] = kVersion;
  h["config"] = ConfigToJson(cfg_);
  h["vocab"] = vocab_;
  h["g"] = stats_.g;
  h["stats"] = {{"g_chosen", stats_.g_chosen},
                {"validation_flag_rate", stats_.validation_flag_rate},
                {"train_sessions", stats_.train_sessions},
                {"validation_sessions", stats_.validation_sessions},
                {"train_samples", stats_.train_samples},
                {"distinct_samples", stats_.distinct_samples},
                {"final_loss", stats_.final_loss},
                {"train_seconds", stats_.train_seconds},
                {"value_lines_skipped", stats_.value_lines_skipped},
                {"value_k", stats_.value_k}};
  nlohmann::json vm = nlohmann::json::array();
  for (const ValueModel& m : values_)
    vm.push_back({{"key", m.key}, {"dim", m.dim}, {"mean", m.mean}, {"stddev", m.stddev},
                  {"err_mean", m.err_mean}, {"err_std", m.err_std}, {"bound", m.bound}});
  h["value_models"] = vm;
  std::ostringstream blob;
  try {
    torch::serialize::OutputArchive ar;
    net_->save(ar);
    for (size_t i = 0; i < values_.size(); ++i) {
      torch::serialize::OutputArchive sub;
      values_[i].net->save(sub);
      ar.write("value" + std::to_string(i), sub);
    }
    ar.save_to(blob);
  } catch (const c10::Error& e) {
    return Status::IOError(std::string("deeplog: serialising weights: ") + e.what_without_backtrace());
  }
  Status st = WriteModelFile(path, std::move(h), blob.str());
  if (!st.ok()) return Status::IOError("deeplog: " + st.message());
  return Status::OK();
}

Status DeepLog::LoadFrom(const nlohmann::json& h, const std::string& weights, int version) {
  try {
    cfg_ = ConfigFromJson(h.at("config"));
    if (version < 2) cfg_.end_token = false;  // version 1 had no session-end class
    TRIAD_RETURN_IF_ERROR(CheckConfig(cfg_));
    vocab_ = h.at("vocab").get<std::vector<uint32_t>>();
    dense_.clear();
    for (size_t i = 0; i < vocab_.size(); ++i) dense_[vocab_[i]] = static_cast<uint32_t>(i + 1);
    stats_ = DeepLogStats();
    stats_.vocab = static_cast<int>(vocab_.size());
    stats_.g = h.at("g").get<int>();
    const auto& st = h.at("stats");
    Get(st, "g_chosen", &stats_.g_chosen);
    Get(st, "validation_flag_rate", &stats_.validation_flag_rate);
    Get(st, "train_sessions", &stats_.train_sessions);
    Get(st, "validation_sessions", &stats_.validation_sessions);
    Get(st, "train_samples", &stats_.train_samples);
    Get(st, "distinct_samples", &stats_.distinct_samples);
    Get(st, "final_loss", &stats_.final_loss);
    Get(st, "train_seconds", &stats_.train_seconds);
    Get(st, "value_lines_skipped", &stats_.value_lines_skipped);
    Get(st, "value_k", &stats_.value_k);
    values_.clear();
    for (const auto& j : h.at("value_models")) {
      ValueModel m;
      m.key = j.at("key").get<int>();
      m.dim = j.at("dim").get<int>();
      m.mean = j.at("mean").get<std::vector<float>>();
      m.stddev = j.at("stddev").get<std::vector<float>>();
      m.err_mean = j.at("err_mean").get<double>();
      m.err_std = j.at("err_std").get<double>();
      m.bound = j.at("bound").get<double>();
      if (m.key < 1 || m.key > stats_.vocab || m.dim < 1 || int(m.mean.size()) != m.dim ||
          int(m.stddev.size()) != m.dim)
        return Status::Corruption("deeplog: bad value model in header");
      values_.push_back(std::move(m));
    }
    stats_.value_models = static_cast<int>(values_.size());
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("deeplog: bad header: ") + e.what());
  }
  if (stats_.vocab < 1 || stats_.g < 1 || stats_.g > classes())
    return Status::Corruption("deeplog: bad vocabulary size or g in header");
  ConfigureTorchRuntime(cfg_.threads);
  BuildNets();
  try {
    torch::serialize::InputArchive ar;
    std::istringstream in(weights);
    ar.load_from(in);
    net_->load(ar);
    for (size_t i = 0; i < values_.size(); ++i) {
      torch::serialize::InputArchive sub;
      if (!ar.try_read("value" + std::to_string(i), sub))
        return Status::Corruption("deeplog: value model weights missing");
      values_[i].net->load(sub);
    }
  } catch (const c10::Error& e) {
    return Status::Corruption(std::string("deeplog: bad weights: ") + e.what_without_backtrace());
  }
  net_->eval();
  for (ValueModel& m : values_) m.net->eval();
  trained_ = true;
  return Status::OK();
}

}  // namespace

std::unique_ptr<SequenceDetector> NewDeepLog(const DeepLogConfig& cfg) {
  return std::make_unique<DeepLog>(cfg);
}

Status LoadDeepLog(const std::string& path, std::unique_ptr<SequenceDetector>* out) {
  nlohmann::json h;
  std::string weights;
  int version = 0;
  TRIAD_RETURN_IF_ERROR(
      ReadModelFile(path, {kFormat, "DeepLog", kOldestVersion, kVersion}, &h, &weights, &version));
  auto model = std::make_unique<DeepLog>(DeepLogConfig());
  Status st = model->LoadFrom(h, weights, version);
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  *out = std::move(model);
  return Status::OK();
}

const DeepLogStats* GetDeepLogStats(const SequenceDetector& d) {
  auto* p = dynamic_cast<const DeepLog*>(&d);
  return p ? &p->stats() : nullptr;
}

const DeepLogConfig* GetDeepLogConfig(const SequenceDetector& d) {
  auto* p = dynamic_cast<const DeepLog*>(&d);
  return p ? &p->config() : nullptr;
}

}  // namespace triad
