#include "models/fusion.h"
#include "models/model_file.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

#include "models/runtime.h"

namespace triad {
namespace {

constexpr char kFormat[] = "triad-fusion";
constexpr int kVersion = 1;
constexpr int64_t kPad = 0, kMask = 1, kUnknown = 2, kFirstTemplate = 3;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Clock = std::chrono::steady_clock;

// One window, ready for the encoders.
struct Sample {
  std::vector<int64_t> ids;   // dense template ids (no pads), <= max_len
  // [T, C] per row: d z-scores (0 for missing cells), then (mask_channel) the
  // d observed flags; C = InputWidth().
  std::vector<float> values;
  bool logs = false, metrics = false;
  TimeNs start = 0, end = 0;  // the window's span (overlap checks)
};

// ---- Network ----------------------------------------------------------------

struct NetImpl : torch::nn::Module {
  NetImpl(const FusionConfig& c, int64_t vocab_size, int64_t dims) : cfg(c), dims(dims) {
    const bool use_logs = c.mode != FusionMode::kMetricOnly;
    const bool use_metrics = c.mode != FusionMode::kLogOnly;
    if (use_logs) {
      emb = register_module("emb", torch::nn::Embedding(vocab_size, c.d_model));
      auto layer = torch::nn::TransformerEncoderLayer(
          torch::nn::TransformerEncoderLayerOptions(c.d_model, c.heads)
              .dim_feedforward(c.ff)
              .dropout(c.dropout));
      enc = register_module("enc", torch::nn::TransformerEncoder(
                                       torch::nn::TransformerEncoderOptions(layer, c.layers)));
      // Sinusoidal positions: pe[p, 0, 2i] = sin(p / 10000^(2i/d)), pe[p, 0, 2i+1] = cos(..).
      auto pos = torch::arange(c.max_len, torch::kFloat).unsqueeze(1);
      auto div = torch::exp(torch::arange(0, c.d_model, 2, torch::kFloat) *
                            (-std::log(10000.0) / c.d_model));
      auto pe = torch::zeros({c.max_len, c.d_model});
      pe.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, torch::indexing::None, 2)},
                    torch::sin(pos * div));
      auto cosv = torch::cos(pos * div);
      pe.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 2)},
                    cosv.narrow(1, 0, c.d_model / 2));
      pe_ = register_buffer("pe", pe.unsqueeze(1));  // [max_len, 1, d]
      if (c.mode != FusionMode::kConcat) {
        lp1 = register_module("lp1", torch::nn::Linear(c.d_model, c.d_model));
        lp2 = register_module("lp2", torch::nn::Linear(c.d_model, c.embedding));
      }
    }
    if (use_metrics) {
      convs = register_module("convs", torch::nn::ModuleList());
      const int64_t in_channels = dims * (c.mask_channel ? 2 : 1);
      for (int k : c.kernels)
        convs->push_back(torch::nn::Conv1d(
            torch::nn::Conv1dOptions(in_channels, c.conv_channels, k).padding(k / 2)));
      lstm = register_module(
          "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(c.conv_channels * int64_t(c.kernels.size()),
                                                         c.lstm_hidden)
                                      .num_layers(c.lstm_layers)
                                      .bidirectional(true)
                                      .batch_first(true)));
      if (c.mode != FusionMode::kConcat) {
        mp1 = register_module("mp1", torch::nn::Linear(2 * c.lstm_hidden, 2 * c.lstm_hidden));
        mp2 = register_module("mp2", torch::nn::Linear(2 * c.lstm_hidden, c.embedding));
      }
    }
    if (c.mode == FusionMode::kConcat) {
      const int64_t in = c.d_model + 2 * c.lstm_hidden;
      jp1 = register_module("jp1", torch::nn::Linear(in, in));
      jp2 = register_module("jp2", torch::nn::Linear(in, c.embedding));
    }
  }

  // ids: [S, B] long; pad: [B, S] bool (true = pad). Returns [B, d_model].
  torch::Tensor LogHidden(const torch::Tensor& ids, const torch::Tensor& pad) {
    const int64_t S = ids.size(0);
    auto x = emb->forward(ids) * std::sqrt(double(cfg.d_model)) + pe_.narrow(0, 0, S);
    auto h = enc->forward(x, torch::Tensor(), pad);  // [S, B, d]
    auto valid = (~pad).to(torch::kFloat).transpose(0, 1).unsqueeze(2);  // [S, B, 1]
    return (h * valid).sum(0) / valid.sum(0).clamp_min(1.0);
  }

  // x: [B, T, C] (C = dims, or 2 * dims with the mask channels). Returns [B, 2 * lstm_hidden].
  torch::Tensor MetricHidden(const torch::Tensor& x) {
    const int64_t T = x.size(1);
    auto xt = x.transpose(1, 2);  // [B, dims, T]
    std::vector<torch::Tensor> outs;
    for (const auto& m : *convs) outs.push_back(m->as<torch::nn::Conv1d>()->forward(xt).narrow(2, 0, T));
    auto c = torch::relu(torch::cat(outs, 1)).transpose(1, 2);  // [B, T, C]
    auto out = lstm->forward(c);
    auto h = std::get<0>(std::get<1>(out));  // [layers * 2, B, H]
    const int64_t L = h.size(0);
    return torch::cat({h[L - 2], h[L - 1]}, 1);
  }

  torch::Tensor LogZ(const torch::Tensor& h) {
    return torch::nn::functional::normalize(
        lp2->forward(torch::relu(lp1->forward(h))),
        torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  torch::Tensor MetricZ(const torch::Tensor& h) {
    return torch::nn::functional::normalize(
        mp2->forward(torch::relu(mp1->forward(h))),
        torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  // hl: [B, d_model], hm: [B, 2H] (zeros for a missing modality).
  torch::Tensor JointZ(const torch::Tensor& hl, const torch::Tensor& hm) {
    return torch::nn::functional::normalize(
        jp2->forward(torch::relu(jp1->forward(torch::cat({hl, hm}, 1)))),
        torch::nn::functional::NormalizeFuncOptions().dim(1));
  }

  FusionConfig cfg;
  int64_t dims;
  torch::nn::Embedding emb{nullptr};
  torch::nn::TransformerEncoder enc{nullptr};
  torch::Tensor pe_;
  torch::nn::Linear lp1{nullptr}, lp2{nullptr}, mp1{nullptr}, mp2{nullptr}, jp1{nullptr},
      jp2{nullptr};
  torch::nn::ModuleList convs{nullptr};
  torch::nn::LSTM lstm{nullptr};
};
TORCH_MODULE(Net);

// CE(q -> [k; queue]) with the positive on the diagonal. q, k: [n, K]; queue: [Q, K] or undefined.
torch::Tensor Nce(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& queue,
                  double temperature) {
  auto logits = torch::mm(q, k.t());
  if (queue.defined() && queue.size(0) > 0) logits = torch::cat({logits, torch::mm(q, queue.t())}, 1);
  logits = logits / temperature;
  auto target = torch::arange(q.size(0), torch::kLong);
  return torch::nn::functional::cross_entropy(logits, target);
}

torch::Tensor SymNce(const torch::Tensor& qa, const torch::Tensor& ka, const torch::Tensor& qb,
                     const torch::Tensor& kb, const torch::Tensor& queue_a,
                     const torch::Tensor& queue_b, double temperature) {
  return 0.5 * (Nce(qa, kb, queue_b, temperature) + Nce(qb, ka, queue_a, temperature));
}

torch::Tensor QueueTensor(const EmbeddingQueue& q) {
  if (q.size() == 0) return torch::Tensor();
  return torch::from_blob(const_cast<float*>(q.data()), {q.size(), q.dim()}, torch::kFloat).clone();
}

void EnqueueTensor(EmbeddingQueue* q, const torch::Tensor& k) {
  auto c = k.detach().contiguous();
  q->Enqueue(c.data_ptr<float>(), static_cast<int>(c.size(0)));
}

nlohmann::json ConfigToJson(const FusionConfig& c) {
  return {{"mode", int(c.mode)}, {"d_model", c.d_model}, {"layers", c.layers}, {"heads", c.heads},
          {"ff", c.ff}, {"max_len", c.max_len}, {"dropout", c.dropout},
          {"conv_channels", c.conv_channels}, {"kernels", c.kernels},
          {"lstm_hidden", c.lstm_hidden}, {"lstm_layers", c.lstm_layers},
          {"embedding", c.embedding}, {"epochs", c.epochs}, {"batch", c.batch}, {"lr", c.lr},
          {"lr_min", c.lr_min}, {"temperature", c.temperature},
          {"hard_negatives", c.hard_negatives}, {"momentum", c.momentum},
          {"momentum_m", c.momentum_m}, {"queue", c.queue}, {"augment", c.augment},
          {"mask_prob", c.mask_prob}, {"permute_block", c.permute_block},
          {"noise_sd", c.noise_sd}, {"scale_range", c.scale_range}, {"warp", c.warp},
          {"normalize", c.normalize}, {"mask_channel", c.mask_channel}, {"knn", c.knn}, {"bank", c.bank},
          {"validation_fraction", c.validation_fraction}, {"quantile", c.quantile},
          {"pot", c.pot}, {"pot_risk", c.pot_risk}, {"pot_initial", c.pot_initial},
          {"seed", c.seed}, {"threads", c.threads}, {"verbose", c.verbose}};
}

template <typename T>
void Get(const nlohmann::json& j, const char* key, T* v) {
  auto it = j.find(key);
  if (it != j.end()) *v = it->get<T>();
}

FusionConfig ConfigFromJson(const nlohmann::json& j) {
  FusionConfig c;
  int mode = 0;
  Get(j, "mode", &mode);
  c.mode = static_cast<FusionMode>(mode);
  Get(j, "d_model", &c.d_model);
  Get(j, "layers", &c.layers);
  Get(j, "heads", &c.heads);
  Get(j, "ff", &c.ff);
  Get(j, "max_len", &c.max_len);
  Get(j, "dropout", &c.dropout);
  Get(j, "conv_channels", &c.conv_channels);
  Get(j, "kernels", &c.kernels);
  Get(j, "lstm_hidden", &c.lstm_hidden);
  Get(j, "lstm_layers", &c.lstm_layers);
  Get(j, "embedding", &c.embedding);
  Get(j, "epochs", &c.epochs);
  Get(j, "batch", &c.batch);
  Get(j, "lr", &c.lr);
  Get(j, "lr_min", &c.lr_min);
  Get(j, "temperature", &c.temperature);
  Get(j, "hard_negatives", &c.hard_negatives);
  Get(j, "momentum", &c.momentum);
  Get(j, "momentum_m", &c.momentum_m);
  Get(j, "queue", &c.queue);
  Get(j, "augment", &c.augment);
  Get(j, "mask_prob", &c.mask_prob);
  Get(j, "permute_block", &c.permute_block);
  Get(j, "noise_sd", &c.noise_sd);
  Get(j, "scale_range", &c.scale_range);
  Get(j, "warp", &c.warp);
  Get(j, "normalize", &c.normalize);
  c.mask_channel = false;  // absent in files written before the option existed
  Get(j, "mask_channel", &c.mask_channel);
  Get(j, "knn", &c.knn);
  Get(j, "bank", &c.bank);
  Get(j, "validation_fraction", &c.validation_fraction);
  Get(j, "quantile", &c.quantile);
  Get(j, "pot", &c.pot);
  Get(j, "pot_risk", &c.pot_risk);
  Get(j, "pot_initial", &c.pot_initial);
  Get(j, "seed", &c.seed);
  Get(j, "threads", &c.threads);
  Get(j, "verbose", &c.verbose);
  return c;
}

Status CheckConfig(const FusionConfig& c) {
  if (int(c.mode) > 3) return Status::InvalidArgument("fusion: unknown mode");
  if (c.d_model < 2 || c.d_model % 2 != 0 || c.heads < 1 || c.d_model % c.heads != 0)
    return Status::InvalidArgument("fusion: d_model must be even and divisible by heads");
  if (c.layers < 1 || c.ff < 1 || c.max_len < 1 || c.conv_channels < 1 || c.kernels.empty() ||
      c.lstm_hidden < 1 || c.lstm_layers < 1 || c.embedding < 1 || c.epochs < 0 || c.batch < 2 ||
      c.knn < 1 || c.bank < 1 || c.queue < 0)
    return Status::InvalidArgument("fusion: sizes must be positive");
  for (int k : c.kernels)
    if (k < 1) return Status::InvalidArgument("fusion: kernel sizes must be >= 1");
  if (!(c.temperature > 0) || !(c.lr > 0) || !(c.momentum_m >= 0 && c.momentum_m <= 1))
    return Status::InvalidArgument("fusion: temperature, lr > 0 and momentum in [0, 1] required");
  if (!(c.validation_fraction >= 0 && c.validation_fraction < 1) || !(c.quantile > 0 && c.quantile <= 1))
    return Status::InvalidArgument("fusion: validation_fraction in [0, 1) and quantile in (0, 1]");
  return Status::OK();
}

}  // namespace

// ---- Public helpers ----------------------------------------------------------

const char* FusionModeName(FusionMode m) {
  switch (m) {
    case FusionMode::kFused: return "fused";
    case FusionMode::kLogOnly: return "log-only";
    case FusionMode::kMetricOnly: return "metric-only";
    case FusionMode::kConcat: return "concat";
  }
  return "?";
}

EmbeddingQueue::EmbeddingQueue(int capacity, int dim)
    : capacity_(capacity), dim_(dim), data_(static_cast<size_t>(std::max(capacity, 0)) * dim) {
  assert(capacity >= 0 && dim > 0);
}

void EmbeddingQueue::Enqueue(const float* rows, int n) {
  if (capacity_ == 0) return;
  for (int i = 0; i < n; ++i) {
    std::copy(rows + static_cast<size_t>(i) * dim_, rows + static_cast<size_t>(i + 1) * dim_,
              data_.begin() + static_cast<size_t>(next_) * dim_);
    next_ = (next_ + 1) % capacity_;
    size_ = std::min(size_ + 1, capacity_);
  }
}

const float* EmbeddingQueue::Oldest(int i) const {
  assert(i >= 0 && i < size_);
  const int slot = size_ < capacity_ ? i : (next_ + i) % capacity_;
  return data_.data() + static_cast<size_t>(slot) * dim_;
}

double SymmetricInfoNce(const std::vector<float>& a, const std::vector<float>& b, int n, int k,
                        double temperature, const std::vector<float>& queue_a,
                        const std::vector<float>& queue_b) {
  torch::NoGradGuard ng;
  auto norm = [&](const std::vector<float>& v) -> torch::Tensor {
    if (v.empty()) return torch::Tensor();
    auto t = torch::from_blob(const_cast<float*>(v.data()),
                              {static_cast<int64_t>(v.size()) / k, k}, torch::kFloat)
                 .clone();
    return torch::nn::functional::normalize(t, torch::nn::functional::NormalizeFuncOptions().dim(1));
  };
  assert(static_cast<int>(a.size()) == n * k && static_cast<int>(b.size()) == n * k);
  auto ta = norm(a), tb = norm(b);
  return SymNce(ta, ta, tb, tb, norm(queue_a), norm(queue_b), temperature).item<double>();
}

double EmpiricalQuantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * double(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

double PotThreshold(std::vector<double> scores, double initial, double risk) {
  if (scores.empty()) return 0;
  const double t = EmpiricalQuantile(scores, initial);
  std::vector<double> ex;
  for (double s : scores)
    if (s > t) ex.push_back(s - t);
  if (ex.size() < 10) return EmpiricalQuantile(scores, 1.0 - risk);
  double m = 0, v = 0;
  for (double e : ex) m += e;
  m /= double(ex.size());
  for (double e : ex) v += (e - m) * (e - m);
  v /= double(ex.size() - 1);
  if (!(v > 0)) return t;
  // Method of moments for the GPD: xi = (1 - m^2/v) / 2, sigma = m (1 + m^2/v) / 2.
  const double r = m * m / v;
  const double xi = 0.5 * (1.0 - r), sigma = 0.5 * m * (1.0 + r);
  const double ratio = risk * double(scores.size()) / double(ex.size());
  if (std::fabs(xi) < 1e-6) return t - sigma * std::log(ratio);
  return t + sigma / xi * (std::pow(ratio, -xi) - 1.0);
}

// ---- Model -------------------------------------------------------------------

struct FusionModel::Impl {
  FusionConfig cfg;
  FusionStats stats;
  bool trained = false;
  std::vector<uint32_t> vocab;                  // dense id kFirstTemplate + i <-> vocab[i]
  std::unordered_map<uint32_t, int64_t> dense;  // raw template id -> dense id
  bool has_norm = false;
  MetricNormalizer norm;
  std::vector<std::string> metric_names;
  std::map<std::string, std::string> attachments;
  Net net{nullptr}, mom{nullptr};
  torch::Tensor bank_l, bank_m, bank_j;  // [n, k] training embeddings
  std::mt19937_64 rng;

  int64_t VocabSize() const { return kFirstTemplate + static_cast<int64_t>(vocab.size()); }
  // Columns per row of Sample::values.
  int InputWidth() const { return stats.dims * (cfg.mask_channel ? 2 : 1); }

  void BuildNets() {
    torch::manual_seed(cfg.seed);
    net = Net(cfg, VocabSize(), stats.dims);
    if (cfg.momentum) {
      mom = Net(cfg, VocabSize(), stats.dims);
      CopyToMomentum();
    }
  }

  void CopyToMomentum() {
    torch::NoGradGuard ng;
    auto q = net->parameters(), k = mom->parameters();
    for (size_t i = 0; i < q.size(); ++i) {
      k[i].copy_(q[i]);
      k[i].set_requires_grad(false);
    }
  }

  void MomentumUpdate(double m) {
    torch::NoGradGuard ng;
    auto q = net->parameters(), k = mom->parameters();
    for (size_t i = 0; i < q.size(); ++i) k[i].mul_(m).add_(q[i], 1.0 - m);
  }

  Status ToSample(const LogMetricWindow& w, Sample* s) const {
    s->start = w.start;
    s->end = w.end;
    s->ids.clear();
    for (uint32_t t : w.templates) {
      if (static_cast<int>(s->ids.size()) >= cfg.max_len) break;
      auto it = dense.find(t);
      s->ids.push_back(it == dense.end() ? kUnknown : it->second);
    }
    s->logs = !s->ids.empty();
    s->metrics = w.dims > 0 && !w.missing_metrics && cfg.mode != FusionMode::kLogOnly;
    if (cfg.mode == FusionMode::kMetricOnly) s->logs = false;
    s->values.clear();
    if (stats.dims > 0) {
      if (w.dims != stats.dims || w.steps != stats.steps)
        return Status::InvalidArgument("fusion: window of " + w.scope + " has a " +
                                       std::to_string(w.steps) + "x" + std::to_string(w.dims) +
                                       " metric matrix, model expects " +
                                       std::to_string(stats.steps) + "x" + std::to_string(stats.dims));
      const std::vector<MetricNormalizer::Feature>* f = nullptr;
      if (has_norm) {
        f = norm.Find(w.scope);
        if (!f || static_cast<int>(f->size()) != w.dims)
          return Status::InvalidArgument("fusion: no normaliser for scope " + w.scope);
      }
      const int d = w.dims, C = InputWidth();
      s->values.assign(static_cast<size_t>(w.steps) * C, 0.0f);
      const bool have_mask = w.mask.size() == w.values.size();
      for (int t = 0; t < w.steps; ++t)
        for (int j = 0; j < d; ++j) {
          const size_t c = static_cast<size_t>(t) * d + j;
          double v = w.values[c];
          if (f) v = (v - (*f)[j].mean) / (*f)[j].sd;
          float* row = &s->values[static_cast<size_t>(t) * C];
          row[j] = std::isfinite(v) ? static_cast<float>(v) : 0.0f;
          if (cfg.mask_channel) row[d + j] = have_mask ? (w.mask[c] ? 1.0f : 0.0f) : 1.0f;
        }
    } else {
      s->metrics = false;
    }
    return Status::OK();
  }

  // Augmented copies.
  std::vector<int64_t> AugLog(const std::vector<int64_t>& ids) {
    std::vector<int64_t> out = ids;
    if (!cfg.augment) return out;
    std::uniform_real_distribution<double> u(0, 1);
    if (cfg.permute_block > 1)
      for (size_t b = 0; b < out.size(); b += cfg.permute_block)
        std::shuffle(out.begin() + b, out.begin() + std::min(out.size(), b + cfg.permute_block), rng);
    for (auto& t : out)
      if (u(rng) < cfg.mask_prob) t = kMask;
    return out;
  }

  std::vector<float> AugMetric(const std::vector<float>& v) {
    if (!cfg.augment) return v;
    const int T = stats.steps, d = stats.dims, C = InputWidth();
    std::vector<float> out(v.size());
    std::uniform_real_distribution<double> u(-1, 1);
    std::normal_distribution<float> noise(0.0f, static_cast<float>(cfg.noise_sd));
    const double a = cfg.warp * u(rng);
    const float scale = static_cast<float>(1.0 + cfg.scale_range * u(rng));
    for (int t = 0; t < T; ++t) {
      double pos = T > 1 ? t + a * std::sin(M_PI * t / (T - 1)) : 0.0;
      pos = std::clamp(pos, 0.0, double(T - 1));
      const int lo = static_cast<int>(std::floor(pos));
      const int hi = std::min(lo + 1, T - 1);
      const float w = static_cast<float>(pos - lo);
      for (int f = 0; f < C; ++f) {
        const float x = (1 - w) * v[size_t(lo) * C + f] + w * v[size_t(hi) * C + f];
        // Mask channels (f >= d) are warped with the values but not scaled or noised.
        out[size_t(t) * C + f] = f < d ? x * scale + (cfg.noise_sd > 0 ? noise(rng) : 0.0f) : x;
      }
    }
    return out;
  }

  // ids of `seqs` -> ([S, B] long, [B, S] bool pad).
  static std::pair<torch::Tensor, torch::Tensor> LogBatch(const std::vector<std::vector<int64_t>>& seqs) {
    int64_t S = 1;
    for (const auto& s : seqs) S = std::max<int64_t>(S, s.size());
    const int64_t B = seqs.size();
    auto ids = torch::full({S, B}, kPad, torch::kLong);
    auto pad = torch::ones({B, S}, torch::kBool);
    auto ia = ids.accessor<int64_t, 2>();
    auto pa = pad.accessor<bool, 2>();
    for (int64_t b = 0; b < B; ++b)
      for (size_t i = 0; i < seqs[b].size(); ++i) {
        ia[i][b] = seqs[b][i];
        pa[b][i] = false;
      }
    return {ids, pad};
  }

  torch::Tensor MetricBatch(const std::vector<const std::vector<float>*>& vals) const {
    const int64_t B = vals.size();
    const int64_t C = InputWidth();
    auto x = torch::empty({B, stats.steps, C}, torch::kFloat);
    float* p = x.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) std::copy(vals[b]->begin(), vals[b]->end(), p + b * stats.steps * C);
    return x;
  }

  // Training loss of one batch of samples.
  torch::Tensor BatchLoss(const std::vector<const Sample*>& batch, EmbeddingQueue* ql,
                          EmbeddingQueue* qm) {
    const double tau = cfg.temperature;
    std::vector<torch::Tensor> losses;
    std::vector<double> weights;
    auto log_view = [&](Net& n, const std::vector<std::vector<int64_t>>& seqs) {
      auto [ids, pad] = LogBatch(seqs);
      return n->LogHidden(ids, pad);
    };
    auto metric_view = [&](Net& n, const std::vector<std::vector<float>>& vs) {
      std::vector<const std::vector<float>*> p;
      for (const auto& v : vs) p.push_back(&v);
      return n->MetricHidden(MetricBatch(p));
    };
    const bool mom_on = cfg.momentum && mom;
    auto add = [&](torch::Tensor l, size_t n) {
      losses.push_back(l);
      weights.push_back(double(n));
    };
    // Two-view intra-modal loss on `z` (query views a, b; keys from the momentum net).
    auto two_view = [&](auto qfun, auto kfun, EmbeddingQueue* queue, size_t n) {
      torch::Tensor qa, qb, ka, kb;
      std::tie(qa, qb) = qfun();
      if (mom_on) {
        torch::NoGradGuard ng;
        std::tie(ka, kb) = kfun();
      } else {
        ka = qa;
        kb = qb;
      }
      torch::Tensor qt = queue && mom_on ? QueueTensor(*queue) : torch::Tensor();
      if (!qt.defined() && n < 2) return;
      add(SymNce(qa, ka, qb, kb, qt, qt, tau), n);
      if (queue && mom_on) EnqueueTensor(queue, kb);
    };

    if (cfg.mode == FusionMode::kFused) {
      std::vector<std::vector<int64_t>> lseq, lonly_a, lonly_b;
      std::vector<std::vector<float>> mval, monly_a, monly_b;
      for (const Sample* s : batch) {
        if (s->logs && s->metrics) {
          lseq.push_back(AugLog(s->ids));
          mval.push_back(AugMetric(s->values));
        } else if (s->logs && cfg.augment) {
          lonly_a.push_back(AugLog(s->ids));
          lonly_b.push_back(AugLog(s->ids));
        } else if (s->metrics && cfg.augment) {
          monly_a.push_back(AugMetric(s->values));
          monly_b.push_back(AugMetric(s->values));
        }
      }
      if (!lseq.empty()) {
        auto qa = net->LogZ(log_view(net, lseq));
        auto qb = net->MetricZ(metric_view(net, mval));
        torch::Tensor ka = qa, kb = qb, tql, tqm;
        if (mom_on) {
          torch::NoGradGuard ng;
          ka = mom->LogZ(log_view(mom, lseq));
          kb = mom->MetricZ(metric_view(mom, mval));
          tql = QueueTensor(*ql);
          tqm = QueueTensor(*qm);
        }
        if (lseq.size() >= 2 || tql.defined() || tqm.defined()) {
          add(SymNce(qa, ka, qb, kb, tql, tqm, tau), lseq.size());
          if (mom_on) {
            EnqueueTensor(ql, ka);
            EnqueueTensor(qm, kb);
          }
        }
      }
      if (!lonly_a.empty())
        two_view([&] { return std::make_pair(net->LogZ(log_view(net, lonly_a)), net->LogZ(log_view(net, lonly_b))); },
                 [&] { return std::make_pair(mom->LogZ(log_view(mom, lonly_a)), mom->LogZ(log_view(mom, lonly_b))); },
                 ql, lonly_a.size());
      if (!monly_a.empty())
        two_view([&] { return std::make_pair(net->MetricZ(metric_view(net, monly_a)), net->MetricZ(metric_view(net, monly_b))); },
                 [&] { return std::make_pair(mom->MetricZ(metric_view(mom, monly_a)), mom->MetricZ(metric_view(mom, monly_b))); },
                 qm, monly_a.size());
    } else if (cfg.mode == FusionMode::kLogOnly) {
      std::vector<std::vector<int64_t>> a, b;
      for (const Sample* s : batch)
        if (s->logs) {
          a.push_back(AugLog(s->ids));
          b.push_back(AugLog(s->ids));
        }
      if (!a.empty())
        two_view([&] { return std::make_pair(net->LogZ(log_view(net, a)), net->LogZ(log_view(net, b))); },
                 [&] { return std::make_pair(mom->LogZ(log_view(mom, a)), mom->LogZ(log_view(mom, b))); },
                 ql, a.size());
    } else if (cfg.mode == FusionMode::kMetricOnly) {
      std::vector<std::vector<float>> a, b;
      for (const Sample* s : batch)
        if (s->metrics) {
          a.push_back(AugMetric(s->values));
          b.push_back(AugMetric(s->values));
        }
      if (!a.empty())
        two_view([&] { return std::make_pair(net->MetricZ(metric_view(net, a)), net->MetricZ(metric_view(net, b))); },
                 [&] { return std::make_pair(mom->MetricZ(metric_view(mom, a)), mom->MetricZ(metric_view(mom, b))); },
                 qm, a.size());
    } else {  // kConcat
      std::vector<const Sample*> any;
      for (const Sample* s : batch)
        if (s->logs || s->metrics) any.push_back(s);
      if (!any.empty()) {
        auto joint = [&](Net& n) {
          return n->JointZ(JointLog(n, any, true), JointMetric(n, any, true));
        };
        two_view([&] { return std::make_pair(joint(net), joint(net)); },
                 [&] { return std::make_pair(joint(mom), joint(mom)); }, qm, any.size());
      }
    }
    if (losses.empty()) return torch::Tensor();
    double wsum = std::accumulate(weights.begin(), weights.end(), 0.0);
    torch::Tensor total = losses[0] * (weights[0] / wsum);
    for (size_t i = 1; i < losses.size(); ++i) total = total + losses[i] * (weights[i] / wsum);
    return total;
  }

  // Concat mode: hidden log features of `ss` ([n, d_model], zeros where no logs).
  torch::Tensor JointLog(Net& n, const std::vector<const Sample*>& ss, bool aug) {
    std::vector<std::vector<int64_t>> seqs;
    std::vector<int64_t> rows;
    for (size_t i = 0; i < ss.size(); ++i)
      if (ss[i]->logs) {
        seqs.push_back(aug ? AugLog(ss[i]->ids) : ss[i]->ids);
        rows.push_back(static_cast<int64_t>(i));
      }
    auto out = torch::zeros({static_cast<int64_t>(ss.size()), cfg.d_model});
    if (seqs.empty()) return out;
    auto [ids, pad] = LogBatch(seqs);
    return out.index_copy(0, torch::tensor(rows, torch::kLong), n->LogHidden(ids, pad));
  }
  torch::Tensor JointMetric(Net& n, const std::vector<const Sample*>& ss, bool aug) {
    std::vector<std::vector<float>> vals;
    std::vector<int64_t> rows;
    for (size_t i = 0; i < ss.size(); ++i)
      if (ss[i]->metrics) {
        vals.push_back(aug ? AugMetric(ss[i]->values) : ss[i]->values);
        rows.push_back(static_cast<int64_t>(i));
      }
    auto out = torch::zeros({static_cast<int64_t>(ss.size()), 2 * int64_t(cfg.lstm_hidden)});
    if (vals.empty()) return out;
    std::vector<const std::vector<float>*> p;
    for (const auto& v : vals) p.push_back(&v);
    return out.index_copy(0, torch::tensor(rows, torch::kLong), n->MetricHidden(MetricBatch(p)));
  }

  // Embeddings of `ss` (eval mode, no augmentation): zl, zm, zj [n, k] (zero rows when absent).
  void EmbedSamples(const std::vector<const Sample*>& ss, torch::Tensor* zl, torch::Tensor* zm,
                    torch::Tensor* zj) const {
    torch::NoGradGuard ng;
    Net n = net;
    const int64_t N = ss.size(), K = cfg.embedding;
    *zl = torch::zeros({N, K});
    *zm = torch::zeros({N, K});
    *zj = torch::zeros({N, K});
    constexpr size_t kChunk = 256;
    auto* self = const_cast<Impl*>(this);
    for (size_t b0 = 0; b0 < ss.size(); b0 += kChunk) {
      std::vector<const Sample*> part(ss.begin() + b0, ss.begin() + std::min(ss.size(), b0 + kChunk));
      auto idx = torch::arange(int64_t(b0), int64_t(b0 + part.size()), torch::kLong);
      if (cfg.mode == FusionMode::kConcat) {
        auto hl = self->JointLog(n, part, false), hm = self->JointMetric(n, part, false);
        zj->index_copy_(0, idx, n->JointZ(hl, hm));
        continue;
      }
      if (cfg.mode != FusionMode::kMetricOnly) {
        std::vector<std::vector<int64_t>> seqs;
        std::vector<int64_t> rows;
        for (size_t i = 0; i < part.size(); ++i)
          if (part[i]->logs) {
            seqs.push_back(part[i]->ids);
            rows.push_back(int64_t(b0 + i));
          }
        if (!seqs.empty()) {
          auto [ids, pad] = LogBatch(seqs);
          zl->index_copy_(0, torch::tensor(rows, torch::kLong), n->LogZ(n->LogHidden(ids, pad)));
        }
      }
      if (cfg.mode != FusionMode::kLogOnly) {
        std::vector<const std::vector<float>*> vals;
        std::vector<int64_t> rows;
        for (size_t i = 0; i < part.size(); ++i)
          if (part[i]->metrics) {
            vals.push_back(&part[i]->values);
            rows.push_back(int64_t(b0 + i));
          }
        if (!vals.empty())
          zm->index_copy_(0, torch::tensor(rows, torch::kLong), n->MetricZ(n->MetricHidden(MetricBatch(vals))));
      }
    }
  }

  // Mean cosine distance of each row of z to its `knn` nearest rows of bank.
  // self (the bank's own samples, row i = bank row i) makes it leave-out:
  // bank rows whose window overlaps row i's (itself included) are excluded,
  // so an overlapping near-copy of a window does not count as its neighbour.
  // [n] doubles; NaN where no neighbour is left.
  std::vector<double> Knn(const torch::Tensor& z, const torch::Tensor& bank,
                          const std::vector<const Sample*>* self = nullptr) const {
    std::vector<double> out(z.size(0), kNaN);
    if (!bank.defined() || bank.size(0) == 0 || z.size(0) == 0) return out;
    torch::NoGradGuard ng;
    const int64_t m = bank.size(0);
    const int64_t k = std::min<int64_t>(cfg.knn, m);
    torch::Tensor bs, be;
    if (self) {
      assert(static_cast<int64_t>(self->size()) == m && z.size(0) == m);
      std::vector<int64_t> st, en;
      for (const Sample* x : *self) {
        st.push_back(x->start);
        en.push_back(std::max(x->end, x->start + 1));  // a window without a span overlaps only itself
      }
      bs = torch::tensor(st, torch::kLong);
      be = torch::tensor(en, torch::kLong);
    }
    // Rows in chunks so that the [rows, m] distance matrix stays small.
    constexpr int64_t kRows = 1024;
    for (int64_t r0 = 0; r0 < z.size(0); r0 += kRows) {
      const int64_t nr = std::min<int64_t>(kRows, z.size(0) - r0);
      auto d = 1.0 - torch::mm(z.narrow(0, r0, nr), bank.t());  // [nr, m]
      if (self) {
        auto rs = bs.narrow(0, r0, nr).unsqueeze(1), re = be.narrow(0, r0, nr).unsqueeze(1);
        auto overlap = (bs.unsqueeze(0) < re) & (rs < be.unsqueeze(0));  // [nr, m]
        d.masked_fill_(overlap, std::numeric_limits<float>::infinity());
      }
      auto top = std::get<0>(d.topk(k, 1, /*largest=*/false)).contiguous();
      auto a = top.accessor<float, 2>();
      for (int64_t i = 0; i < nr; ++i) {
        double sum = 0;
        int cnt = 0;
        for (int64_t j = 0; j < k; ++j)
          if (std::isfinite(a[i][j])) sum += a[i][j], ++cnt;
        if (cnt > 0) out[r0 + i] = sum / cnt;
      }
    }
    return out;
  }

  // Scores samples (terms + score + modality; thresholds not applied).
  void ScoreSamples(const std::vector<const Sample*>& ss, std::vector<FusionScore>* out,
                    std::vector<double>* single_log = nullptr,
                    std::vector<double>* single_metric = nullptr) const {
    torch::Tensor zl, zm, zj;
    EmbedSamples(ss, &zl, &zm, &zj);
    auto kl = Knn(zl, bank_l), km = Knn(zm, bank_m), kj = Knn(zj, bank_j);
    torch::Tensor cosv = (zl * zm).sum(1).contiguous();
    auto ca = cosv.accessor<float, 1>();
    const FusionStats& st = stats;
    out->assign(ss.size(), FusionScore{});
    if (single_log) single_log->assign(ss.size(), kNaN);
    if (single_metric) single_metric->assign(ss.size(), kNaN);
    for (size_t i = 0; i < ss.size(); ++i) {
      FusionScore& r = (*out)[i];
      r.disagreement = r.log_distance = r.metric_distance = r.joint_distance = kNaN;
      const bool L = ss[i]->logs, M = ss[i]->metrics;
      if (cfg.mode == FusionMode::kConcat) {
        if (!L && !M) continue;
        r.joint_distance = kj[i];
        r.score = kj[i] / st.scale_joint;
        r.used = L && M ? FusionModality::kBoth : L ? FusionModality::kLogs : FusionModality::kMetrics;
        continue;
      }
      const bool lok = L && !std::isnan(kl[i]), mok = M && !std::isnan(km[i]);
      if (lok) r.log_distance = kl[i];
      if (mok) r.metric_distance = km[i];
      const double sl = lok ? kl[i] / st.scale_log : kNaN, sm = mok ? km[i] / st.scale_metric : kNaN;
      if (single_log) (*single_log)[i] = sl;
      if (single_metric) (*single_metric)[i] = sm;
      if (lok && mok && cfg.mode == FusionMode::kFused) {
        r.disagreement = 1.0 - ca[i];
        r.score = r.disagreement / st.scale_disagreement + 0.5 * (sl + sm);
        r.used = FusionModality::kBoth;
      } else if (lok) {
        r.score = sl;
        r.used = FusionModality::kLogs;
      } else if (mok) {
        r.score = sm;
        r.used = FusionModality::kMetrics;
      }
    }
  }
  void ApplyThresholds(std::vector<FusionScore>* out) const {
    for (FusionScore& r : *out) {
      switch (r.used) {
        case FusionModality::kBoth: r.threshold = stats.threshold_both; break;
        case FusionModality::kLogs: r.threshold = stats.threshold_logs; break;
        case FusionModality::kMetrics: r.threshold = stats.threshold_metrics; break;
        case FusionModality::kNone: r.threshold = std::numeric_limits<double>::infinity(); break;
      }
      r.anomaly = r.used != FusionModality::kNone && r.score > r.threshold;
    }
  }

  double Threshold(const std::vector<double>& v) const {
    return cfg.pot ? PotThreshold(v, cfg.pot_initial, cfg.pot_risk) : EmpiricalQuantile(v, cfg.quantile);
  }

  Status Fit(const std::vector<LogMetricWindow>& train, const MetricSchema& schema);
  Status Samples(const std::vector<const LogMetricWindow*>& ws, std::vector<Sample>* out) const {
    out->resize(ws.size());
    for (size_t i = 0; i < ws.size(); ++i) TRIAD_RETURN_IF_ERROR(ToSample(*ws[i], &(*out)[i]));
    return Status::OK();
  }
  nlohmann::json NormalizerJson() const;
};

Status FusionModel::Impl::Fit(const std::vector<LogMetricWindow>& train, const MetricSchema& schema) {
  TRIAD_RETURN_IF_ERROR(CheckConfig(cfg));
  if (train.empty()) return Status::InvalidArgument("fusion: no training windows");
  const auto t0 = Clock::now();
  ConfigureTorchRuntime(cfg.threads);
  stats = FusionStats();
  stats.scope = train[0].scope;
  stats.dims = train[0].dims;
  stats.steps = train[0].steps;
  for (const auto& w : train) {
    if (w.scope != stats.scope)
      return Status::InvalidArgument("fusion: training windows of several scopes (" + stats.scope +
                                     ", " + w.scope + ")");
    if (w.dims != stats.dims || w.steps != stats.steps)
      return Status::InvalidArgument("fusion: training windows of several metric widths");
  }
  if (stats.dims == 0 && cfg.mode != FusionMode::kLogOnly)
    return Status::InvalidArgument("fusion: windows have no metrics (use mode log-only)");
  has_norm = cfg.normalize && stats.dims > 0;
  metric_names.clear();
  if (has_norm) {
    norm = MetricNormalizer::Fit(train, schema);
    const auto* f = norm.Find(stats.scope);
    if (!f || static_cast<int>(f->size()) != stats.dims)
      return Status::InvalidArgument("fusion: schema does not describe scope " + stats.scope);
    for (const auto& x : *f) metric_names.push_back(x.name);
  } else if (stats.dims > 0) {
    std::vector<std::string> names = stats.scope == kSystemScope
                                         ? schema.SystemFeatures()
                                         : (schema.features.count(stats.scope) ? schema.features.at(stats.scope)
                                                                              : std::vector<std::string>{});
    if (static_cast<int>(names.size()) == stats.dims) metric_names = names;
  }
  // Chronological split.
  size_t n_val = static_cast<size_t>(std::floor(cfg.validation_fraction * double(train.size())));
  if (cfg.validation_fraction > 0 && train.size() >= 5) n_val = std::max<size_t>(n_val, 1);
  const size_t n_train = train.size() - n_val;
  // Vocabulary from the training part.
  std::set<uint32_t> seen;
  for (size_t i = 0; i < n_train; ++i) seen.insert(train[i].templates.begin(), train[i].templates.end());
  seen.erase(0u);
  vocab.assign(seen.begin(), seen.end());
  dense.clear();
  for (size_t i = 0; i < vocab.size(); ++i) dense[vocab[i]] = kFirstTemplate + static_cast<int64_t>(i);
  stats.vocab = static_cast<int>(vocab.size());
  std::vector<Sample> samples(train.size());
  for (size_t i = 0; i < train.size(); ++i) TRIAD_RETURN_IF_ERROR(ToSample(train[i], &samples[i]));
  std::vector<size_t> usable;
  for (size_t i = 0; i < n_train; ++i) {
    const Sample& s = samples[i];
    if (s.logs && s.metrics) ++stats.train_pairs;
    else if (s.logs) ++stats.train_log_only;
    else if (s.metrics) ++stats.train_metric_only;
    else ++stats.skipped_empty;
    if (s.logs || s.metrics) usable.push_back(i);
  }
  stats.train_windows = n_train;
  stats.validation_windows = n_val;
  if (usable.empty()) return Status::InvalidArgument("fusion: no training window has data");

  rng.seed(cfg.seed);
  BuildNets();
  EmbeddingQueue ql(cfg.momentum ? cfg.queue : 0, cfg.embedding),
      qm(cfg.momentum ? cfg.queue : 0, cfg.embedding);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(cfg.lr));
  // Hard negative of window i: the next training window that does not overlap
  // it (with overlapping windows the very next one is a near-copy, i.e. a
  // false negative).
  std::vector<size_t> next_disjoint(n_train, n_train);
  for (size_t i = 0, j = 0; i < n_train; ++i) {
    j = std::max(j, i + 1);
    while (j < n_train && samples[j].start < samples[i].end && samples[i].end > samples[i].start) ++j;
    next_disjoint[i] = j;
  }
  const size_t steps_per_epoch = (usable.size() + cfg.batch - 1) / cfg.batch;
  const size_t total_steps = std::max<size_t>(1, steps_per_epoch * cfg.epochs);
  size_t step = 0;
  for (int ep = 0; ep < cfg.epochs; ++ep) {
    const auto e0 = Clock::now();
    net->train();
    std::vector<size_t> perm = usable;
    std::shuffle(perm.begin(), perm.end(), rng);
    double loss_sum = 0;
    int loss_n = 0;
    size_t cursor = 0;
    for (size_t s = 0; s < steps_per_epoch; ++s) {
      // Batch: anchors and (hard negatives) their next window in time.
      std::vector<const Sample*> batch;
      std::set<size_t> in;
      while (batch.size() < static_cast<size_t>(cfg.batch) && cursor < perm.size()) {
        const size_t i = perm[cursor++];
        if (in.insert(i).second) batch.push_back(&samples[i]);
        const size_t nb = next_disjoint[i];
        if (cfg.hard_negatives && nb < n_train && batch.size() < static_cast<size_t>(cfg.batch) &&
            (samples[nb].logs || samples[nb].metrics) && in.insert(nb).second)
          batch.push_back(&samples[nb]);
      }
      if (batch.empty()) break;
      const double lr =
          cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1.0 + std::cos(M_PI * double(step) / double(total_steps)));
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
      ++step;
      torch::Tensor loss = BatchLoss(batch, &ql, &qm);
      if (!loss.defined()) continue;
      opt.zero_grad();
      loss.backward();
      opt.step();
      if (cfg.momentum) MomentumUpdate(cfg.momentum_m);
      loss_sum += loss.item<double>();
      ++loss_n;
    }
    stats.final_loss = loss_n ? loss_sum / loss_n : 0;
    stats.epochs_run = ep + 1;
    if (cfg.verbose) {
      const double es = std::chrono::duration<double>(Clock::now() - e0).count();
      spdlog::info("fusion[{}] epoch {}/{}: loss {:.4f}, {:.0f} windows/s, ETA {:.1f} s",
                   FusionModeName(cfg.mode), ep + 1, cfg.epochs, stats.final_loss,
                   double(usable.size()) / std::max(es, 1e-9), es * (cfg.epochs - ep - 1));
    }
  }
  net->eval();

  // k-NN banks and term scales on the training part.
  std::vector<const Sample*> tr;
  for (size_t i : usable) tr.push_back(&samples[i]);
  if (tr.size() > static_cast<size_t>(cfg.bank)) {
    std::vector<const Sample*> sub;
    for (int j = 0; j < cfg.bank; ++j) sub.push_back(tr[size_t(double(j) * tr.size() / cfg.bank)]);
    tr = sub;
  }
  torch::Tensor zl, zm, zj;
  EmbedSamples(tr, &zl, &zm, &zj);
  std::vector<int64_t> rl, rm, rb;
  std::vector<const Sample*> tl, tm;  // the samples of bank_l, bank_m rows
  for (size_t i = 0; i < tr.size(); ++i) {
    if (tr[i]->logs) rl.push_back(int64_t(i)), tl.push_back(tr[i]);
    if (tr[i]->metrics) rm.push_back(int64_t(i)), tm.push_back(tr[i]);
    if (tr[i]->logs && tr[i]->metrics) rb.push_back(int64_t(i));
  }
  auto rows = [](const torch::Tensor& z, const std::vector<int64_t>& r) {
    return z.index_select(0, torch::tensor(r, torch::kLong)).contiguous();
  };
  auto mean_scale = [](const std::vector<double>& v) {
    double s = 0;
    size_t n = 0;
    for (double x : v)
      if (!std::isnan(x)) s += x, ++n;
    return n ? std::max(s / double(n), 1e-6) : 1.0;
  };
  const int64_t K = cfg.embedding;
  bank_l = torch::zeros({0, K});
  bank_m = torch::zeros({0, K});
  bank_j = torch::zeros({0, K});
  if (cfg.mode == FusionMode::kConcat) {
    bank_j = zj.contiguous();
    stats.scale_joint = mean_scale(Knn(bank_j, bank_j, &tr));
  } else {
    if (!rl.empty() && cfg.mode != FusionMode::kMetricOnly) {
      bank_l = rows(zl, rl);
      stats.scale_log = mean_scale(Knn(bank_l, bank_l, &tl));
    }
    if (!rm.empty() && cfg.mode != FusionMode::kLogOnly) {
      bank_m = rows(zm, rm);
      stats.scale_metric = mean_scale(Knn(bank_m, bank_m, &tm));
    }
    if (!rb.empty() && cfg.mode == FusionMode::kFused) {
      auto c = (rows(zl, rb) * rows(zm, rb)).sum(1);
      std::vector<double> d;
      for (int64_t i = 0; i < c.size(0); ++i) d.push_back(1.0 - c[i].item<double>());
      stats.scale_disagreement = mean_scale(d);
    }
  }

  // Thresholds on the validation windows (fall back to the training windows' leave-one-out
  // scores when there is no validation window).
  std::vector<const Sample*> val;
  for (size_t i = n_train; i < samples.size(); ++i) val.push_back(&samples[i]);
  std::vector<FusionScore> vs;
  std::vector<double> sl, sm;
  ScoreSamples(val, &vs, &sl, &sm);
  std::vector<double> both, logs, metrics, all;
  for (size_t i = 0; i < vs.size(); ++i) {
    if (vs[i].used == FusionModality::kNone) continue;
    all.push_back(vs[i].score);
    if (vs[i].used == FusionModality::kBoth) both.push_back(vs[i].score);
    if (vs[i].used == FusionModality::kLogs) logs.push_back(vs[i].score);
    if (vs[i].used == FusionModality::kMetrics) metrics.push_back(vs[i].score);
    if (cfg.mode == FusionMode::kFused && vs[i].used == FusionModality::kBoth) {
      if (!std::isnan(sl[i])) logs.push_back(sl[i]);
      if (!std::isnan(sm[i])) metrics.push_back(sm[i]);
    }
  }
  stats.validation_both = both.size();
  stats.validation_logs = logs.size();
  stats.validation_metrics = metrics.size();
  const double inf = std::numeric_limits<double>::infinity();
  const double fallback = all.empty() ? inf : Threshold(all);
  if (all.empty()) spdlog::warn("fusion: no validation window could be scored; nothing will be flagged");
  stats.threshold_both = both.empty() ? fallback : Threshold(both);
  stats.threshold_logs = logs.empty() ? fallback : Threshold(logs);
  stats.threshold_metrics = metrics.empty() ? fallback : Threshold(metrics);
  stats.train_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  trained = true;
  if (cfg.verbose)
    spdlog::info("fusion[{}]: {} train windows ({} pairs, {} logs only, {} metrics only), {} validation, "
                 "V={}, thresholds both {:.3f} logs {:.3f} metrics {:.3f}, {:.1f} s",
                 FusionModeName(cfg.mode), stats.train_windows, stats.train_pairs, stats.train_log_only,
                 stats.train_metric_only, stats.validation_windows, stats.vocab, stats.threshold_both,
                 stats.threshold_logs, stats.threshold_metrics, stats.train_seconds);
  return Status::OK();
}

nlohmann::json FusionModel::Impl::NormalizerJson() const {
  if (!has_norm) return nullptr;
  return nlohmann::json::parse(norm.ToJson());
}

FusionModel::FusionModel(const FusionConfig& cfg) : impl_(std::make_unique<Impl>()) { impl_->cfg = cfg; }
FusionModel::~FusionModel() = default;

Status FusionModel::Fit(const std::vector<LogMetricWindow>& train, const MetricSchema& schema) {
  return impl_->Fit(train, schema);
}

Status FusionModel::Score(const std::vector<const LogMetricWindow*>& windows,
                          std::vector<FusionScore>* out) const {
  if (!impl_->trained) return Status::InvalidArgument("fusion: Score before Fit/Load");
  std::vector<Sample> s;
  TRIAD_RETURN_IF_ERROR(impl_->Samples(windows, &s));
  std::vector<const Sample*> p;
  for (const auto& x : s) p.push_back(&x);
  impl_->ScoreSamples(p, out);
  impl_->ApplyThresholds(out);
  return Status::OK();
}

Status FusionModel::Score(const std::vector<LogMetricWindow>& windows, std::vector<FusionScore>* out) const {
  std::vector<const LogMetricWindow*> p;
  for (const auto& w : windows) p.push_back(&w);
  return Score(p, out);
}

Status FusionModel::Embed(const std::vector<const LogMetricWindow*>& windows, std::vector<float>* z_log,
                          std::vector<float>* z_metric) const {
  if (!impl_->trained) return Status::InvalidArgument("fusion: Embed before Fit/Load");
  std::vector<Sample> s;
  TRIAD_RETURN_IF_ERROR(impl_->Samples(windows, &s));
  std::vector<const Sample*> p;
  for (const auto& x : s) p.push_back(&x);
  torch::Tensor zl, zm, zj;
  impl_->EmbedSamples(p, &zl, &zm, &zj);
  if (impl_->cfg.mode == FusionMode::kConcat) zl = zj;  // the joint embedding stands in for both
  auto copy = [](const torch::Tensor& t, std::vector<float>* v) {
    auto c = t.contiguous();
    v->assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  if (z_log) copy(zl, z_log);
  if (z_metric) copy(impl_->cfg.mode == FusionMode::kConcat ? zj : zm, z_metric);
  return Status::OK();
}

Status FusionModel::Project2D(const std::vector<const LogMetricWindow*>& windows,
                              std::vector<std::array<float, 2>>* points) const {
  std::vector<float> zl, zm;
  TRIAD_RETURN_IF_ERROR(Embed(windows, &zl, &zm));
  const int64_t n = windows.size(), k = impl_->cfg.embedding;
  points->assign(n, {0.0f, 0.0f});
  if (n < 2) return Status::OK();
  torch::NoGradGuard ng;
  auto a = torch::from_blob(zl.data(), {n, k}, torch::kFloat).clone();
  auto b = torch::from_blob(zm.data(), {n, k}, torch::kFloat).clone();
  torch::Tensor x;
  switch (impl_->cfg.mode) {
    case FusionMode::kFused:
      x = torch::nn::functional::normalize(a + b, torch::nn::functional::NormalizeFuncOptions().dim(1));
      break;
    case FusionMode::kLogOnly: x = a; break;
    default: x = b; break;
  }
  x = x - x.mean(0, true);
  auto cov = torch::mm(x.t(), x) / double(n - 1);
  auto eig = torch::linalg::eigh(cov, "L");  // ascending eigenvalues
  auto vecs = std::get<1>(eig);
  auto basis = torch::stack({vecs.select(1, k - 1), vecs.select(1, k - 2)}, 1);  // [k, 2]
  auto p = torch::mm(x, basis).contiguous();
  auto acc = p.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) (*points)[i] = {acc[i][0], acc[i][1]};
  return Status::OK();
}

Status FusionModel::Explain(const LogMetricWindow& window, int top, FusionAttribution* out) const {
  if (!impl_->trained) return Status::InvalidArgument("fusion: Explain before Fit/Load");
  Sample base;
  TRIAD_RETURN_IF_ERROR(impl_->ToSample(window, &base));
  std::vector<Sample> variants{base};
  std::vector<uint32_t> tmpl;
  {
    std::set<uint32_t> distinct(window.templates.begin(), window.templates.end());
    tmpl.assign(distinct.begin(), distinct.end());
  }
  if (base.logs)
    for (uint32_t t : tmpl) {
      Sample s = base;
      s.ids.clear();
      for (uint32_t x : window.templates) {
        if (x == t) continue;
        if (static_cast<int>(s.ids.size()) >= impl_->cfg.max_len) break;
        auto it = impl_->dense.find(x);
        s.ids.push_back(it == impl_->dense.end() ? kUnknown : it->second);
      }
      s.logs = !s.ids.empty() && impl_->cfg.mode != FusionMode::kMetricOnly;
      variants.push_back(std::move(s));
    }
  const int d = base.metrics ? impl_->stats.dims : 0;
  const int C = impl_->InputWidth();
  for (int f = 0; f < d; ++f) {
    // The column at its training mean, observed in every cell.
    Sample s = base;
    for (int t = 0; t < impl_->stats.steps; ++t) {
      s.values[size_t(t) * C + f] = 0.0f;
      if (impl_->cfg.mask_channel) s.values[size_t(t) * C + d + f] = 1.0f;
    }
    variants.push_back(std::move(s));
  }
  std::vector<const Sample*> p;
  for (const auto& v : variants) p.push_back(&v);
  std::vector<FusionScore> sc;
  impl_->ScoreSamples(p, &sc);
  *out = FusionAttribution();
  out->score = sc[0].score;
  size_t j = 1;
  if (base.logs)
    for (uint32_t t : tmpl) out->templates.push_back({t, sc[0].score - sc[j++].score});
  for (int f = 0; f < d; ++f) out->metrics.push_back({f, sc[0].score - sc[j++].score});
  auto by_delta = [](const auto& a, const auto& b) { return a.second > b.second; };
  std::stable_sort(out->templates.begin(), out->templates.end(), by_delta);
  std::stable_sort(out->metrics.begin(), out->metrics.end(), by_delta);
  if (top >= 0) {
    if (out->templates.size() > size_t(top)) out->templates.resize(top);
    if (out->metrics.size() > size_t(top)) out->metrics.resize(top);
  }
  for (const auto& m : out->metrics)
    out->metric_names.push_back(m.first < static_cast<int>(impl_->metric_names.size())
                                    ? impl_->metric_names[m.first]
                                    : "#" + std::to_string(m.first));
  return Status::OK();
}

Status FusionModel::Save(const std::string& path) const {
  const Impl& m = *impl_;
  if (!m.trained) return Status::InvalidArgument("fusion: Save before Fit/Load");
  const FusionStats& s = m.stats;
  nlohmann::json h;
  h["format"] = kFormat;
  h["version"] = kVersion;
  h["config"] = ConfigToJson(m.cfg);
  h["vocab"] = m.vocab;
  h["normalizer"] = m.NormalizerJson();
  h["metric_names"] = m.metric_names;
  h["attachments"] = m.attachments;
  h["stats"] = {{"vocab", s.vocab}, {"dims", s.dims}, {"steps", s.steps}, {"scope", s.scope},
                {"train_windows", s.train_windows}, {"validation_windows", s.validation_windows},
                {"train_pairs", s.train_pairs}, {"train_log_only", s.train_log_only},
                {"train_metric_only", s.train_metric_only}, {"skipped_empty", s.skipped_empty},
                {"epochs_run", s.epochs_run}, {"final_loss", s.final_loss},
                {"train_seconds", s.train_seconds}, {"scale_disagreement", s.scale_disagreement},
                {"scale_log", s.scale_log}, {"scale_metric", s.scale_metric},
                {"scale_joint", s.scale_joint}, {"threshold_both", s.threshold_both},
                {"threshold_logs", s.threshold_logs}, {"threshold_metrics", s.threshold_metrics},
                {"validation_both", s.validation_both}, {"validation_logs", s.validation_logs},
                {"validation_metrics", s.validation_metrics}};
  std::ostringstream blob;
  try {
    torch::serialize::OutputArchive ar;
    torch::serialize::OutputArchive net;
    m.net->save(net);
    ar.write("net", net);
    ar.write("bank_l", m.bank_l);
    ar.write("bank_m", m.bank_m);
    ar.write("bank_j", m.bank_j);
    ar.save_to(blob);
  } catch (const c10::Error& e) {
    return Status::IOError(std::string("fusion: serialising weights: ") + e.what_without_backtrace());
  }
  Status st = WriteModelFile(path, std::move(h), blob.str());
  if (!st.ok()) return Status::IOError("fusion: " + st.message());
  return Status::OK();
}

void FusionModel::SetAttachment(const std::string& name, std::string text) {
  impl_->attachments[name] = std::move(text);
}

const std::string* FusionModel::Attachment(const std::string& name) const {
  auto it = impl_->attachments.find(name);
  return it == impl_->attachments.end() ? nullptr : &it->second;
}

const FusionConfig& FusionModel::config() const { return impl_->cfg; }
const FusionStats& FusionModel::stats() const { return impl_->stats; }
bool FusionModel::trained() const { return impl_->trained; }

std::vector<float> FusionModel::ParametersForTest(bool momentum) const {
  std::vector<float> out;
  Net n = momentum ? impl_->mom : impl_->net;
  if (!n) return out;
  for (const auto& p : n->parameters()) {
    auto c = p.detach().contiguous().view(-1);
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

void FusionModel::PerturbAndMomentumUpdateForTest(float delta) {
  Impl& m = *impl_;
  if (!m.mom) {
    m.mom = Net(m.cfg, m.VocabSize(), m.stats.dims);
    m.CopyToMomentum();
  }
  {
    torch::NoGradGuard ng;
    for (auto& p : m.net->parameters()) p.add_(delta);
  }
  m.MomentumUpdate(m.cfg.momentum_m);
}

// Reads a double that Save may have written as null (+inf).
static double ReadThreshold(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::numeric_limits<double>::infinity();
  return it->get<double>();
}

Status LoadFusionModel(const std::string& path, std::unique_ptr<FusionModel>* out) {
  nlohmann::json h;
  std::string weights;
  int version = 0;
  TRIAD_RETURN_IF_ERROR(
      ReadModelFile(path, {kFormat, "fusion", kVersion, kVersion}, &h, &weights, &version));

  auto model = std::make_unique<FusionModel>(FusionConfig());
  FusionModel::Impl& m = *model->impl_;
  try {
    m.cfg = ConfigFromJson(h.at("config"));
    TRIAD_RETURN_IF_ERROR(CheckConfig(m.cfg));
    m.vocab = h.at("vocab").get<std::vector<uint32_t>>();
    for (size_t i = 0; i < m.vocab.size(); ++i) m.dense[m.vocab[i]] = kFirstTemplate + static_cast<int64_t>(i);
    m.metric_names = h.at("metric_names").get<std::vector<std::string>>();
    Get(h, "attachments", &m.attachments);
    const auto& s = h.at("stats");
    FusionStats& st = m.stats;
    st.vocab = s.at("vocab").get<int>();
    st.dims = s.at("dims").get<int>();
    st.steps = s.at("steps").get<int>();
    st.scope = s.at("scope").get<std::string>();
    Get(s, "train_windows", &st.train_windows);
    Get(s, "validation_windows", &st.validation_windows);
    Get(s, "train_pairs", &st.train_pairs);
    Get(s, "train_log_only", &st.train_log_only);
    Get(s, "train_metric_only", &st.train_metric_only);
    Get(s, "skipped_empty", &st.skipped_empty);
    Get(s, "epochs_run", &st.epochs_run);
    Get(s, "final_loss", &st.final_loss);
    Get(s, "train_seconds", &st.train_seconds);
    st.scale_disagreement = s.at("scale_disagreement").get<double>();
    st.scale_log = s.at("scale_log").get<double>();
    st.scale_metric = s.at("scale_metric").get<double>();
    st.scale_joint = s.at("scale_joint").get<double>();
    st.threshold_both = ReadThreshold(s, "threshold_both");
    st.threshold_logs = ReadThreshold(s, "threshold_logs");
    st.threshold_metrics = ReadThreshold(s, "threshold_metrics");
    Get(s, "validation_both", &st.validation_both);
    Get(s, "validation_logs", &st.validation_logs);
    Get(s, "validation_metrics", &st.validation_metrics);
    if (st.vocab != static_cast<int>(m.vocab.size()) || st.dims < 0 || st.steps < 0 ||
        (st.dims > 0 && st.steps < 1))
      return Status::Corruption(path + ": inconsistent vocabulary or metric shape");
    const auto& nj = h.at("normalizer");
    m.has_norm = !nj.is_null();
    if (m.has_norm) {
      Status ns = MetricNormalizer::FromJson(nj.dump(), &m.norm);
      if (!ns.ok()) return Status::Corruption(path + ": normaliser: " + ns.message());
      const auto* ft = m.norm.Find(st.scope);
      if (!ft || static_cast<int>(ft->size()) != st.dims)
        return Status::Corruption(path + ": normaliser does not match the metric width");
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + ": bad fusion header: " + e.what());
  }
  ConfigureTorchRuntime(m.cfg.threads);
  try {
    torch::manual_seed(m.cfg.seed);
    m.net = Net(m.cfg, m.VocabSize(), m.stats.dims);
    torch::serialize::InputArchive ar;
    std::istringstream in(weights);
    ar.load_from(in);
    torch::serialize::InputArchive net;
    if (!ar.try_read("net", net)) return Status::Corruption(path + ": fusion weights lack the network");
    m.net->load(net);
    ar.read("bank_l", m.bank_l);
    ar.read("bank_m", m.bank_m);
    ar.read("bank_j", m.bank_j);
  } catch (const c10::Error& e) {
    return Status::Corruption(path + ": bad fusion weights: " + e.what_without_backtrace());
  }
  m.net->eval();
  m.trained = true;
  *out = std::move(model);
  return Status::OK();
}

}  // namespace triad
