#include "models/trace_lstm.h"
#include "models/model_file.h"
#include "models/torch_io.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "models/runtime.h"

namespace triad {
namespace {

constexpr char kFormat[] = "triad-trace-lstm";
constexpr int kVersion = 1;
// Floor of the squared-error bound (scaled units): a label whose validation
// errors are all ~0 would otherwise flag any jitter.
constexpr double kMinBound = 1e-4;

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool UsesLabels(TraceModelKind k) {
  return k == TraceModelKind::kSad || k == TraceModelKind::kMultimodal ||
         k == TraceModelKind::kDenseSad || k == TraceModelKind::kDenseMultimodal;
}
bool UsesRt(TraceModelKind k) {
  return k == TraceModelKind::kRtad || k == TraceModelKind::kMultimodal ||
         k == TraceModelKind::kDenseRtad || k == TraceModelKind::kDenseMultimodal;
}

// Sets the calling thread's OpenMP team size (a per-thread ICV, which
// libtorch's parallel regions read) for the guard's lifetime. Small LSTM
// batches gain little from intra-op threads, and on a loaded machine a 2-thread
// team waits for descheduled members at every op (measured: 20x slower), so
// scoring runs one thread per worker and parallelises over batches instead.
class OmpThreads {
 public:
  explicit OmpThreads(int n) {
    if (n <= 0) return;
    at::internal::lazy_init_num_threads();  // would otherwise reset the ICV later
    static auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    static auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (get == nullptr || set == nullptr) return;
    prev_ = get();
    set_ = set;
    set(n);
  }
  ~OmpThreads() {
    if (set_ != nullptr) set_(prev_);
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int prev_ = 0;
  void (*set_)(int) = nullptr;
};

// The networks. forward(labels [B, T] int64, rt [B, T] float) ->
//   (logits [B, T, N_l] or undefined, rt prediction [B, T] or undefined).
struct TraceNetImpl : torch::nn::Module {
  TraceNetImpl(TraceModelKind kind, int64_t n, const TraceModelConfig& c) : kind_(kind), n_(n) {
    using torch::nn::Linear;
    using torch::nn::LSTM;
    using torch::nn::LSTMOptions;
    const int64_t h = c.hidden, h2 = c.joint_hidden, d1 = c.dense1, d2 = c.dense2;
    switch (kind) {
      case TraceModelKind::kSad:
        l1 = register_module("l1", LSTM(LSTMOptions(n, h).batch_first(true)));
        l2 = register_module("l2", LSTM(LSTMOptions(h, h2).batch_first(true)));
        head_l = register_module("head_l", Linear(h2, n));
        break;
      case TraceModelKind::kRtad:
        r1 = register_module("r1", LSTM(LSTMOptions(1, h).batch_first(true)));
        l2 = register_module("l2", LSTM(LSTMOptions(h, h2).batch_first(true)));
        head_r = register_module("head_r", Linear(h2, 1));
        break;
      case TraceModelKind::kMultimodal:
        l1 = register_module("l1", LSTM(LSTMOptions(n, h).batch_first(true)));
        r1 = register_module("r1", LSTM(LSTMOptions(1, h).batch_first(true)));
        l2 = register_module("l2", LSTM(LSTMOptions(2 * h, h2).batch_first(true)));
        head_l = register_module("head_l", Linear(h2, n));
        head_r = register_module("head_r", Linear(h2, 1));
        break;
      case TraceModelKind::kDenseSad:
        dl = register_module("dl", Linear(n, d1));
        d2l = register_module("d2l", Linear(d1, d2));
        head_l = register_module("head_l", Linear(d2, n));
        break;
      case TraceModelKind::kDenseRtad:
        dr = register_module("dr", Linear(1, d1));
        d2r = register_module("d2r", Linear(d1, d2));
        head_r = register_module("head_r", Linear(d2, 1));
        break;
      case TraceModelKind::kDenseMultimodal:
        dl = register_module("dl", Linear(n, d1));
        dr = register_module("dr", Linear(1, d1));
        d2l = register_module("d2l", Linear(2 * d1, d2));
        d2r = register_module("d2r", Linear(2 * d1, d2));
        head_l = register_module("head_l", Linear(d2, n));
        head_r = register_module("head_r", Linear(d2, 1));
        break;
    }
  }

  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& labels,
                                                  const torch::Tensor& rt) {
    torch::Tensor xl, xr;
    if (UsesLabels(kind_)) xl = torch::one_hot(labels, n_).to(torch::kFloat);  // [B, T, N_l]
    if (UsesRt(kind_)) xr = rt.unsqueeze(-1);                                   // [B, T, 1]
    auto run = [](torch::nn::LSTM& m, const torch::Tensor& x) { return std::get<0>(m->forward(x)); };
    torch::Tensor logits, rtp;
    switch (kind_) {
      case TraceModelKind::kSad:
        logits = head_l(run(l2, run(l1, xl)));
        break;
      case TraceModelKind::kRtad:
        rtp = head_r(run(l2, run(r1, xr))).squeeze(-1);
        break;
      case TraceModelKind::kMultimodal: {
        torch::Tensor h = run(l2, torch::cat({run(l1, xl), run(r1, xr)}, -1));  // [B, T, h2]
        logits = head_l(h);
        rtp = head_r(h).squeeze(-1);
        break;
      }
      case TraceModelKind::kDenseSad:
        logits = head_l(torch::relu(d2l(torch::relu(dl(xl)))));
        break;
      case TraceModelKind::kDenseRtad:
        rtp = head_r(torch::relu(d2r(torch::relu(dr(xr))))).squeeze(-1);
        break;
      case TraceModelKind::kDenseMultimodal: {
        torch::Tensor c = torch::cat({torch::relu(dl(xl)), torch::relu(dr(xr))}, -1);  // [B, T, 2 d1]
        logits = head_l(torch::relu(d2l(c)));
        rtp = head_r(torch::relu(d2r(c))).squeeze(-1);
        break;
      }
    }
    return {logits, rtp};
  }

  TraceModelKind kind_;
  int64_t n_;
  torch::nn::LSTM l1{nullptr}, r1{nullptr}, l2{nullptr};
  torch::nn::Linear dl{nullptr}, dr{nullptr}, d2l{nullptr}, d2r{nullptr}, head_l{nullptr},
      head_r{nullptr};
};
TORCH_MODULE(TraceNet);

// ---- Hand-written inference -------------------------------------------------
// The trained weights copied once into plain float arrays; the forward pass is
// plain C++ (libtorch's per-op overhead, ~500 us per trace at batch 1, and its
// one-hot matmuls dominate otherwise). Same outputs as TraceNet::forward + softmax
// to ~1e-6 (float rounding; exp by a degree-7 polynomial).

// Kernels get AVX-512 / AVX2 clones (dispatched at load time by the CPU) because
// the build has no -march flag.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TRIAD_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TRIAD_SIMD_CLONES
#endif

// C[m, n] (row stride ldc) += A[m, k] (row stride lda) * W[k, n] (row stride n).
// The inner loops run over n (contiguous), so they vectorise without
// reassociating sums; four rows of A share each load of W.
TRIAD_SIMD_CLONES
void GemmAcc(int M, int N, int K, const float* A, int lda, const float* W, float* C, int ldc) {
  constexpr int kNB = 64;
  int m = 0;
  for (; m + 4 <= M; m += 4) {
    const float* a0 = A + static_cast<size_t>(m) * lda;
    const float* a1 = a0 + lda;
    const float* a2 = a1 + lda;
    const float* a3 = a2 + lda;
    float* c0 = C + static_cast<size_t>(m) * ldc;
    float* c1 = c0 + ldc;
    float* c2 = c1 + ldc;
    float* c3 = c2 + ldc;
    for (int n0 = 0; n0 < N; n0 += kNB) {
      const int nb = std::min(kNB, N - n0);
      float r0[kNB], r1[kNB], r2[kNB], r3[kNB];
      for (int j = 0; j < nb; ++j) {
        r0[j] = c0[n0 + j];
        r1[j] = c1[n0 + j];
        r2[j] = c2[n0 + j];
        r3[j] = c3[n0 + j];
      }
      for (int k = 0; k < K; ++k) {
        const float* w = W + static_cast<size_t>(k) * N + n0;
        const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
        for (int j = 0; j < nb; ++j) {
          const float wj = w[j];
          r0[j] += x0 * wj;
          r1[j] += x1 * wj;
          r2[j] += x2 * wj;
          r3[j] += x3 * wj;
        }
      }
      for (int j = 0; j < nb; ++j) {
        c0[n0 + j] = r0[j];
        c1[n0 + j] = r1[j];
        c2[n0 + j] = r2[j];
        c3[n0 + j] = r3[j];
      }
    }
  }
  for (; m < M; ++m) {
    const float* a = A + static_cast<size_t>(m) * lda;
    float* c = C + static_cast<size_t>(m) * ldc;
    for (int k = 0; k < K; ++k) {
      const float x = a[k];
      const float* w = W + static_cast<size_t>(k) * N;
      for (int j = 0; j < N; ++j) c[j] += x * w[j];
    }
  }
}

// exp(x) for x in [-87, 88] (clamped), relative error < 2e-7; vectorisable.
inline float FastExp(float x) {
  x = std::min(88.0f, std::max(-87.0f, x));
  const float t = x * 1.44269504089f;                 // x / ln 2
  const float r = (t + 12582912.0f) - 12582912.0f;    // round to nearest
  const float f = (t - r) * 0.69314718056f;           // in [-ln2/2, ln2/2]
  float p = 1.0f / 5040;
  p = p * f + 1.0f / 720;
  p = p * f + 1.0f / 120;
  p = p * f + 1.0f / 24;
  p = p * f + 1.0f / 6;
  p = p * f + 0.5f;
  p = p * f + 1.0f;
  p = p * f + 1.0f;
  const int32_t bits = (static_cast<int32_t>(r) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// In place: gates [B, 4h] (i, f, g, o: torch's order) -> c [B, h] (row stride
// ldc) and h [B, h] (row stride ldh).
TRIAD_SIMD_CLONES
void LstmCell(int B, int H, float* gates, float* c, int ldc, float* h, int ldh) {
  for (int b = 0; b < B; ++b) {
    float* g = gates + static_cast<size_t>(b) * 4 * H;
    float* cb = c + static_cast<size_t>(b) * ldc;
    float* hb = h + static_cast<size_t>(b) * ldh;
    for (int j = 0; j < H; ++j) {
      const float i = 1.0f / (1.0f + FastExp(-g[j]));
      const float f = 1.0f / (1.0f + FastExp(-g[H + j]));
      const float gg = 2.0f / (1.0f + FastExp(-2.0f * g[2 * H + j])) - 1.0f;  // tanh
      const float o = 1.0f / (1.0f + FastExp(-g[3 * H + j]));
      const float cn = f * cb[j] + i * gg;
      cb[j] = cn;
      hb[j] = o * (2.0f / (1.0f + FastExp(-2.0f * cn)) - 1.0f);
    }
  }
}

// In place over rows of length n (row stride ld): softmax.
TRIAD_SIMD_CLONES
void SoftmaxRows(int rows, int n, float* x, int ld) {
  for (int r = 0; r < rows; ++r) {
    float* v = x + static_cast<size_t>(r) * ld;
    float mx = v[0];
    for (int j = 1; j < n; ++j) mx = std::max(mx, v[j]);
    for (int j = 0; j < n; ++j) v[j] = FastExp(v[j] - mx);
    float s = 0;
    for (int j = 0; j < n; ++j) s += v[j];
    const float inv = 1.0f / s;
    for (int j = 0; j < n; ++j) v[j] *= inv;
  }
}

void ReluRows(size_t n, float* x) {
  for (size_t i = 0; i < n; ++i) x[i] = std::max(0.0f, x[i]);
}

// One LSTM layer: w [(in + h), 4h] = [W_ih^T ; W_hh^T] (row-major, gates fused),
// b [4h] = b_ih + b_hh.
struct FastLstm {
  int in = 0, h = 0;
  std::vector<float> w, b;
  const float* Wx() const { return w.data(); }
  const float* Wh() const { return w.data() + static_cast<size_t>(in) * 4 * h; }
};
// y = x W^T + b with w [in, out] = W^T.
struct FastLinear {
  int in = 0, out = 0;
  std::vector<float> w, b;
  // Rows of y [rows, out] (stride ldy) = b.
  void Bias(int rows, float* y, int ldy) const {
    for (int r = 0; r < rows; ++r) std::copy(b.begin(), b.end(), y + static_cast<size_t>(r) * ldy);
  }
};

std::vector<float> ToVector(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

FastLstm CopyLstm(torch::nn::LSTM& m) {
  FastLstm f;
  auto p = m->named_parameters();
  torch::Tensor wih = p["weight_ih_l0"], whh = p["weight_hh_l0"];  // [4h, in], [4h, h]
  f.in = static_cast<int>(wih.size(1));
  f.h = static_cast<int>(whh.size(1));
  f.w = ToVector(torch::cat({wih.t(), whh.t()}, 0));  // [in + h, 4h]
  f.b = ToVector(p["bias_ih_l0"] + p["bias_hh_l0"]);
  return f;
}

FastLinear CopyLinear(torch::nn::Linear& m) {
  FastLinear f;
  f.in = static_cast<int>(m->weight.size(1));
  f.out = static_cast<int>(m->weight.size(0));
  f.w = ToVector(m->weight.t());
  f.b = ToVector(m->bias);
  return f;
}

struct FastNet {
  TraceModelKind kind = TraceModelKind::kSad;
  int n = 0;  // N_l
  FastLstm l1, r1, l2;
  FastLinear dl, dr, d2l, d2r, head_l, head_r;

  explicit FastNet(TraceNetImpl& net) : kind(net.kind_), n(static_cast<int>(net.n_)) {
    torch::NoGradGuard ng;
    if (net.l1) l1 = CopyLstm(net.l1);
    if (net.r1) r1 = CopyLstm(net.r1);
    if (net.l2) l2 = CopyLstm(net.l2);
    if (net.dl) dl = CopyLinear(net.dl);
    if (net.dr) dr = CopyLinear(net.dr);
    if (net.d2l) d2l = CopyLinear(net.d2l);
    if (net.d2r) d2r = CopyLinear(net.d2r);
    if (net.head_l) head_l = CopyLinear(net.head_l);
    if (net.head_r) head_r = CopyLinear(net.head_r);
  }

  // labels, rt: [B, L] (labels < N_l); probs: [B, L, N_l] softmax (or null),
  // rtp: [B, L] (or null). Same as TraceNet::forward followed by softmax.
  void Forward(const int64_t* labels, const float* rt, int B, int L, float* probs, float* rtp) const {
    if (kind == TraceModelKind::kSad || kind == TraceModelKind::kRtad ||
        kind == TraceModelKind::kMultimodal)
      Recurrent(labels, rt, B, L, probs, rtp);
    else
      Dense(labels, rt, B, L, probs, rtp);
  }

 private:
  // Time-major over the batch. x2 [B, in2 + h2] holds the second layer's
  // input [h1 (labels) | h1 (rt)] followed by its own state h2, so the first
  // layers write their states there and the second layer is one GEMM.
  void Recurrent(const int64_t* labels, const float* rt, int B, int L, float* probs,
                 float* rtp) const {
    const bool S = UsesLabels(kind), R = UsesRt(kind);
    const int hl = S ? l1.h : 0, hr = R ? r1.h : 0, h2 = l2.h;
    const int ld2 = hl + hr + h2;
    assert(l2.in == hl + hr);
    std::vector<float> x2(static_cast<size_t>(B) * ld2, 0.f);
    std::vector<float> c1l(static_cast<size_t>(B) * hl, 0.f), c1r(static_cast<size_t>(B) * hr, 0.f),
        c2(static_cast<size_t>(B) * h2, 0.f);
    const int gmax = 4 * std::max(std::max(hl, hr), h2);
    std::vector<float> g(static_cast<size_t>(B) * gmax);
    std::vector<float> out_r(R ? B : 0);
    for (int t = 0; t < L; ++t) {
      if (S) {  // one-hot input: the input product is a row of W_ih^T
        const int G = 4 * hl;
        for (int b = 0; b < B; ++b) {
          const float* wx = l1.Wx() + static_cast<size_t>(labels[static_cast<size_t>(b) * L + t]) * G;
          float* gb = g.data() + static_cast<size_t>(b) * G;
          for (int j = 0; j < G; ++j) gb[j] = l1.b[j] + wx[j];
        }
        GemmAcc(B, G, hl, x2.data(), ld2, l1.Wh(), g.data(), G);
        LstmCell(B, hl, g.data(), c1l.data(), hl, x2.data(), ld2);
      }
      if (R) {  // scalar input
        const int G = 4 * hr;
        for (int b = 0; b < B; ++b) {
          const float x = rt[static_cast<size_t>(b) * L + t];
          float* gb = g.data() + static_cast<size_t>(b) * G;
          for (int j = 0; j < G; ++j) gb[j] = r1.b[j] + x * r1.w[j];
        }
        GemmAcc(B, G, hr, x2.data() + hl, ld2, r1.Wh(), g.data(), G);
        LstmCell(B, hr, g.data(), c1r.data(), hr, x2.data() + hl, ld2);
      }
      {
        const int G = 4 * h2;
        for (int b = 0; b < B; ++b) std::copy(l2.b.begin(), l2.b.end(), g.data() + static_cast<size_t>(b) * G);
        GemmAcc(B, G, ld2, x2.data(), ld2, l2.w.data(), g.data(), G);
        LstmCell(B, h2, g.data(), c2.data(), h2, x2.data() + hl + hr, ld2);
      }
      const float* hh = x2.data() + hl + hr;
      if (S && probs != nullptr) {
        float* p = probs + static_cast<size_t>(t) * n;
        const int ldp = L * n;
        head_l.Bias(B, p, ldp);
        GemmAcc(B, n, h2, hh, ld2, head_l.w.data(), p, ldp);
        SoftmaxRows(B, n, p, ldp);
      }
      if (R && rtp != nullptr) {
        head_r.Bias(B, out_r.data(), 1);
        GemmAcc(B, 1, h2, hh, ld2, head_r.w.data(), out_r.data(), 1);
        for (int b = 0; b < B; ++b) rtp[static_cast<size_t>(b) * L + t] = out_r[b];
      }
    }
  }

  // Every (trace, step) row on its own.
  void Dense(const int64_t* labels, const float* rt, int B, int L, float* probs, float* rtp) const {
    const bool S = UsesLabels(kind), R = UsesRt(kind);
    const int M = B * L;
    const int d1l = S ? dl.out : 0, d1r = R ? dr.out : 0, ldc = d1l + d1r;
    std::vector<float> c(static_cast<size_t>(M) * ldc);
    for (int r = 0; r < M; ++r) {
      float* cr = c.data() + static_cast<size_t>(r) * ldc;
      if (S) {
        const float* w = dl.w.data() + static_cast<size_t>(labels[r]) * d1l;
        for (int j = 0; j < d1l; ++j) cr[j] = std::max(0.f, dl.b[j] + w[j]);
      }
      if (R)
        for (int j = 0; j < d1r; ++j) cr[d1l + j] = std::max(0.f, dr.b[j] + rt[r] * dr.w[j]);
    }
    // The second layer sees the concatenation (multimodal) or its own modality.
    auto second = [&](const FastLinear& d2, const FastLinear& head, int col, float* out) {
      std::vector<float> y(static_cast<size_t>(M) * d2.out);
      d2.Bias(M, y.data(), d2.out);
      GemmAcc(M, d2.out, d2.in, c.data() + col, ldc, d2.w.data(), y.data(), d2.out);
      ReluRows(y.size(), y.data());
      head.Bias(M, out, head.out);
      GemmAcc(M, head.out, head.in, y.data(), d2.out, head.w.data(), out, head.out);
    };
    const bool multi = kind == TraceModelKind::kDenseMultimodal;
    if (S && probs != nullptr) {
      second(d2l, head_l, 0, probs);
      SoftmaxRows(M, n, probs, n);
    }
    if (R && rtp != nullptr) second(d2r, head_r, multi ? 0 : d1l, rtp);
  }
};

// ---- config <-> JSON

nlohmann::json ConfigToJson(const TraceModelConfig& c) {
  return {{"kind", TraceModelKindName(c.kind)},
          {"hidden", c.hidden},
          {"joint_hidden", c.joint_hidden},
          {"dense1", c.dense1},
          {"dense2", c.dense2},
          {"label_host", static_cast<int>(c.label_options.host)},
          {"label_http_method", c.label_options.http_method},
          {"label_error_suffix", c.label_options.error_suffix},
          {"top_m", c.top_m},
          {"min_count", c.min_count},
          {"min_length", c.length_filter.min_length},
          {"max_length", c.length_filter.max_length},
          {"truncate", c.length_filter.truncate},
          {"max_per_length", c.length_filter.max_per_length},
          {"filter_seed", c.length_filter.seed},
          {"rt_clamp_hi", c.rt_clamp_hi},
          {"epochs", c.epochs},
          {"batch", c.batch},
          {"lr", c.lr},
          {"seed", c.seed},
          {"threads", c.threads},
          {"validation_fraction", c.validation_fraction},
          {"top_k", c.top_k},
          {"rt_z", c.rt_z},
          {"min_gaussian_samples", c.min_gaussian_samples},
          {"check_first", c.check_first},
          {"score_batch", c.score_batch},
          {"score_threads", c.score_threads},
          {"torch_inference", c.torch_inference}};
}

template <typename T>
void Get(const nlohmann::json& j, const char* name, T* v) {
  auto it = j.find(name);
  if (it != j.end()) *v = it->get<T>();
}

Status ConfigFromJson(const nlohmann::json& j, TraceModelConfig* c) {
  std::string kind;
  Get(j, "kind", &kind);
  if (!ParseTraceModelKind(kind, &c->kind)) return Status::Corruption("unknown model kind " + kind);
  Get(j, "hidden", &c->hidden);
  Get(j, "joint_hidden", &c->joint_hidden);
  Get(j, "dense1", &c->dense1);
  Get(j, "dense2", &c->dense2);
  int host = 0;
  Get(j, "label_host", &host);
  if (host < 0 || host > 2) return Status::Corruption("bad label_host");
  c->label_options.host = static_cast<LabelHost>(host);
  Get(j, "label_http_method", &c->label_options.http_method);
  Get(j, "label_error_suffix", &c->label_options.error_suffix);
  Get(j, "top_m", &c->top_m);
  Get(j, "min_count", &c->min_count);
  Get(j, "min_length", &c->length_filter.min_length);
  Get(j, "max_length", &c->length_filter.max_length);
  Get(j, "truncate", &c->length_filter.truncate);
  Get(j, "max_per_length", &c->length_filter.max_per_length);
  Get(j, "filter_seed", &c->length_filter.seed);
  Get(j, "rt_clamp_hi", &c->rt_clamp_hi);
  Get(j, "epochs", &c->epochs);
  Get(j, "batch", &c->batch);
  Get(j, "lr", &c->lr);
  Get(j, "seed", &c->seed);
  Get(j, "threads", &c->threads);
  Get(j, "validation_fraction", &c->validation_fraction);
  Get(j, "top_k", &c->top_k);
  Get(j, "rt_z", &c->rt_z);
  Get(j, "min_gaussian_samples", &c->min_gaussian_samples);
  Get(j, "check_first", &c->check_first);
  Get(j, "score_batch", &c->score_batch);
  Get(j, "score_threads", &c->score_threads);
  Get(j, "torch_inference", &c->torch_inference);
  return Status::OK();
}

Status CheckConfig(const TraceModelConfig& c) {
  if (c.hidden < 1 || c.joint_hidden < 1 || c.dense1 < 1 || c.dense2 < 1)
    return Status::InvalidArgument("trace model: layer sizes must be >= 1");
  if (c.epochs < 0 || c.batch < 1 || !(c.lr > 0))
    return Status::InvalidArgument("trace model: epochs >= 0, batch >= 1, lr > 0 required");
  if (!(c.validation_fraction >= 0 && c.validation_fraction < 1))
    return Status::InvalidArgument("trace model: validation_fraction must be in [0, 1)");
  if (c.top_k < 1) return Status::InvalidArgument("trace model: top_k must be >= 1");
  if (!(c.rt_z >= 0)) return Status::InvalidArgument("trace model: rt_z must be >= 0");
  if (c.score_batch < 1) return Status::InvalidArgument("trace model: score_batch must be >= 1");
  if (!(c.rt_clamp_hi > 0)) return Status::InvalidArgument("trace model: rt_clamp_hi must be > 0");
  return Status::OK();
}

}  // namespace

const char* TraceModelKindName(TraceModelKind k) {
  switch (k) {
    case TraceModelKind::kSad: return "sad";
    case TraceModelKind::kRtad: return "rtad";
    case TraceModelKind::kMultimodal: return "multimodal";
    case TraceModelKind::kDenseSad: return "dense-sad";
    case TraceModelKind::kDenseRtad: return "dense-rtad";
    case TraceModelKind::kDenseMultimodal: return "dense-multimodal";
  }
  return "?";
}

bool ParseTraceModelKind(const std::string& name, TraceModelKind* out) {
  for (int i = 0; i <= static_cast<int>(TraceModelKind::kDenseMultimodal); ++i) {
    auto k = static_cast<TraceModelKind>(i);
    if (name == TraceModelKindName(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

const char* TraceAnomalyTypeName(TraceAnomalyType t) {
  switch (t) {
    case TraceAnomalyType::kNone: return "none";
    case TraceAnomalyType::kStructural: return "structural";
    case TraceAnomalyType::kResponseTime: return "response_time";
    case TraceAnomalyType::kBoth: return "both";
  }
  return "?";
}

// ---------------------------------------------------------------------------

struct TraceModel::Impl {
  TraceModelConfig cfg;
  TraceModelStats stats;
  bool trained = false;
  EventVocabulary vocab;
  RtScaler scaler;
  std::vector<double> g_mean, g_std;  // [N_l] per-label Gaussian of squared errors
  std::vector<uint8_t> g_own;         // [N_l] 1 iff the label has its own Gaussian
  double pooled_mean = 0, pooled_std = 0;
  std::vector<uint64_t> first_count;  // [N_l] traces starting with the label (training)
  std::vector<float> mean_rt;         // [N_l] mean scaled rt (training), fed for label-only prefixes
  mutable TraceNet net{nullptr};  // forward() is not const in libtorch
  std::unique_ptr<FastNet> fast;  // the same weights for plain-C++ inference (after training)

  int64_t N() const { return static_cast<int64_t>(vocab.size()); }
  uint32_t Clip(uint32_t l) const {
    return l < vocab.size() ? l : static_cast<uint32_t>(EventVocabulary::kUnknown);
  }

  void BuildNet() {
    torch::manual_seed(cfg.seed);
    net = TraceNet(cfg.kind, N(), cfg);
  }

  // Inputs of `rows` sequences of one length L: labels [B, L] (clipped), scaled
  // rt [B, L]. durs == nullptr: each event gets its label's mean training rt.
  void Inputs(const std::vector<const std::vector<uint32_t>*>& labels,
              const std::vector<const std::vector<TimeNs>*>* durs, int64_t L,
              std::vector<int64_t>* xl, std::vector<float>* xr) const {
    const int64_t B = static_cast<int64_t>(labels.size());
    xl->resize(B * L);
    xr->resize(B * L);
    int64_t* pl = xl->data();
    float* pr = xr->data();
    for (int64_t b = 0; b < B; ++b) {
      const auto& ls = *labels[b];
      for (int64_t i = 0; i < L; ++i) {
        const uint32_t l = Clip(ls[i]);
        pl[b * L + i] = l;
        if (durs != nullptr) {
          const auto& ds = *(*durs)[b];
          pr[b * L + i] = scaler.Scale(l, i < static_cast<int64_t>(ds.size()) ? ds[i] : 0);
        } else {
          pr[b * L + i] = mean_rt.empty() ? 0.f : mean_rt[l];
        }
      }
    }
  }

  // Copies the trained weights into the hand-written inference path.
  void BuildFast() { fast = std::make_unique<FastNet>(*net); }

  // Inference: labels, rt [B, L] -> probs [B, L, N_l] (softmax; empty for
  // RT-only kinds) and rt predictions [B, L] (empty for SAD kinds). Runs the
  // hand-written path unless cfg.torch_inference (or before BuildFast).
  void Forward(const std::vector<int64_t>& labels, const std::vector<float>& rt, int64_t B,
               int64_t L, std::vector<float>* probs, std::vector<float>* rtp) const {
    probs->clear();
    rtp->clear();
    const bool S = UsesLabels(cfg.kind), R = UsesRt(cfg.kind);
    if (fast != nullptr && !cfg.torch_inference) {
      if (S) probs->resize(B * L * N());
      if (R) rtp->resize(B * L);
      fast->Forward(labels.data(), rt.data(), static_cast<int>(B), static_cast<int>(L),
                    S ? probs->data() : nullptr, R ? rtp->data() : nullptr);
      return;
    }
    c10::InferenceMode guard;
    OmpThreads one(1);
    torch::Tensor xl = torch::from_blob(const_cast<int64_t*>(labels.data()), {B, L}, torch::kInt64);
    torch::Tensor xr = torch::from_blob(const_cast<float*>(rt.data()), {B, L}, torch::kFloat);
    auto out = net->forward(xl, xr);
    if (out.first.defined()) {
      torch::Tensor p = torch::softmax(out.first, -1).contiguous();
      probs->assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    }
    if (out.second.defined()) {
      torch::Tensor r = out.second.contiguous();
      rtp->assign(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
    }
  }

  std::pair<double, double> Gaussian(uint32_t label) const {
    if (label < g_own.size() && g_own[label]) return {g_mean[label], g_std[label]};
    return {pooled_mean, pooled_std};
  }
  double Bound(uint32_t label) const {
    auto [m, s] = Gaussian(label);
    return std::max(m + cfg.rt_z * s, kMinBound);
  }

  // Verdict of one trace from its model outputs. probs: [n, N_l] or null; rtp: [n] or null.
  void Verdict(const EventSequence& s, const float* probs, const float* rtp,
               TraceVerdict* v) const;
  // Scores `idx` (all of one length L) of `in` into out.
  void ScoreBucket(const std::vector<EventSequence>& in, const std::vector<size_t>& idx, int64_t L,
                   std::vector<TraceVerdict>* out) const;
  void Train(const std::vector<EventSequence>& train);
  void FitGaussians(const std::vector<EventSequence>& val);
};

void TraceModel::Impl::Verdict(const EventSequence& s, const float* probs, const float* rtp,
                               TraceVerdict* v) const {
  *v = TraceVerdict();
  const size_t n = std::min(s.labels.size(), s.durations.size());
  if (n == 0) return;
  const int64_t Nl = N();
  const int k = cfg.top_k;
  // Per position 0..n: flags; findings only built for anomalous positions.
  bool any_s = false, any_r = false;
  auto find = [&](uint32_t pos) -> TraceEventFinding& {
    for (auto& f : v->findings)
      if (f.position == pos) return f;
    v->findings.emplace_back();
    v->findings.back().position = pos;
    return v->findings.back();
  };
  auto topk = [&](const float* row, std::vector<std::pair<uint32_t, float>>* e) {
    std::vector<uint32_t> c(Nl);
    std::iota(c.begin(), c.end(), 0u);
    const size_t kk = std::min<size_t>(k, c.size());
    std::partial_sort(c.begin(), c.begin() + kk, c.end(), [row](uint32_t a, uint32_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a < b);
    });
    for (size_t i = 0; i < kk; ++i) e->emplace_back(c[i], row[c[i]]);
  };
  if (probs != nullptr) {
    if (cfg.check_first) {
      const uint32_t f0 = Clip(s.labels[0]);
      if (first_count.empty() || first_count[f0] == 0) {
        v->structural_score = static_cast<double>(Nl + 1);
        any_s = true;
        TraceEventFinding& f = find(0);
        f.structural = true;
        f.observed_label = f0;
        f.rank = static_cast<int>(Nl + 1);
        // Expected: the most frequent first labels.
        std::vector<uint32_t> c(Nl);
        std::iota(c.begin(), c.end(), 0u);
        std::stable_sort(c.begin(), c.end(),
                         [&](uint32_t a, uint32_t b) { return first_count[a] > first_count[b]; });
        uint64_t tot = 0;
        for (uint64_t x : first_count) tot += x;
        for (int i = 0; i < k && i < Nl && first_count[c[i]] > 0; ++i)
          f.expected.emplace_back(c[i], static_cast<float>(first_count[c[i]]) / tot);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      const uint32_t pos = static_cast<uint32_t>(i + 1);
      const uint32_t obs = pos < n ? Clip(s.labels[pos]) : EventVocabulary::kPad;
      const float* row = probs + i * Nl;
      const float p = row[obs];
      int rank = 1;
      for (int64_t c = 0; c < Nl; ++c) rank += row[c] > p;
      const double sc = rank - 1 + 0.0005 + 0.999 * (1.0 - p);
      v->structural_score = std::max(v->structural_score, sc);
      if (rank > k) {
        any_s = true;
        TraceEventFinding& f = find(pos);
        f.structural = true;
        f.observed_label = obs;
        f.rank = rank;
        f.probability = p;
        topk(row, &f.expected);
        if (pos < n) f.observed_rt = s.durations[pos];
      }
    }
  }
  if (rtp != nullptr) {
    for (size_t j = 1; j < n; ++j) {
      const uint32_t l = Clip(s.labels[j]);
      const double x = scaler.Scale(l, s.durations[j]);
      const double pred = rtp[j - 1];
      const double err = (x - pred) * (x - pred);
      const double bound = Bound(l);
      const double ratio = err / bound;
      v->rt_score = std::max(v->rt_score, ratio);
      if (ratio > 1) {
        any_r = true;
        TraceEventFinding& f = find(static_cast<uint32_t>(j));
        f.response_time = true;
        f.observed_label = l;
        f.observed_rt = s.durations[j];
        f.rt_ratio = ratio;
        const double r = std::sqrt(bound);
        f.expected_rt_lo = std::max(0.0, scaler.Unscale(l, static_cast<float>(pred - r)));
        f.expected_rt_hi = scaler.Unscale(l, static_cast<float>(pred + r));
      }
    }
  }
  v->score = std::max(v->structural_score / k, v->rt_score);
  v->anomaly = any_s || any_r;
  v->type = any_s && any_r ? TraceAnomalyType::kBoth
            : any_s        ? TraceAnomalyType::kStructural
            : any_r        ? TraceAnomalyType::kResponseTime
                           : TraceAnomalyType::kNone;
  std::sort(v->findings.begin(), v->findings.end(),
            [](const TraceEventFinding& a, const TraceEventFinding& b) {
              return a.position < b.position;
            });
}

void TraceModel::Impl::ScoreBucket(const std::vector<EventSequence>& in,
                                   const std::vector<size_t>& idx, int64_t L,
                                   std::vector<TraceVerdict>* out) const {
  std::vector<const std::vector<uint32_t>*> ls;
  std::vector<const std::vector<TimeNs>*> ds;
  ls.reserve(idx.size());
  ds.reserve(idx.size());
  for (size_t i : idx) {
    ls.push_back(&in[i].labels);
    ds.push_back(&in[i].durations);
  }
  std::vector<int64_t> xl;
  std::vector<float> xr, probs, rt;
  Inputs(ls, &ds, L, &xl, &xr);
  Forward(xl, xr, static_cast<int64_t>(idx.size()), L, &probs, &rt);
  const float* pp = probs.empty() ? nullptr : probs.data();
  const float* pr = rt.empty() ? nullptr : rt.data();
  for (size_t b = 0; b < idx.size(); ++b)
    Verdict(in[idx[b]], pp ? pp + b * L * N() : nullptr, pr ? pr + b * L : nullptr,
            &(*out)[idx[b]]);
}

// Groups indices by sequence length (> 0), in chunks of at most `chunk`.
static std::vector<std::pair<int64_t, std::vector<size_t>>> Buckets(
    const std::vector<EventSequence>& in, size_t chunk) {
  std::map<size_t, std::vector<size_t>> by;
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t n = std::min(in[i].labels.size(), in[i].durations.size());
    if (n > 0) by[n].push_back(i);
  }
  std::vector<std::pair<int64_t, std::vector<size_t>>> out;
  for (auto& [n, v] : by)
    for (size_t s = 0; s < v.size(); s += chunk)
      out.emplace_back(static_cast<int64_t>(n),
                       std::vector<size_t>(v.begin() + s, v.begin() + std::min(v.size(), s + chunk)));
  return out;
}

void TraceModel::Impl::Train(const std::vector<EventSequence>& train) {
  // Per length: the paper's input/target tensors (EncodeTraces), no padding needed.
  struct Bucket {
    int64_t L;
    torch::Tensor xl, xr, yl, yr;  // [n, L]
  };
  std::map<size_t, std::vector<EventSequence>> by;
  for (const auto& s : train) {
    const size_t n = std::min(s.labels.size(), s.durations.size());
    if (n == 0) continue;
    EventSequence c = s;
    c.labels.resize(n);
    c.durations.resize(n);
    for (auto& l : c.labels) l = Clip(l);
    by[n].push_back(std::move(c));
  }
  std::vector<Bucket> buckets;
  size_t total = 0;
  for (auto& [n, seqs] : by) {
    TraceTensors t = EncodeTraces(seqs, scaler, n);
    const int64_t B = static_cast<int64_t>(t.num_traces), L = static_cast<int64_t>(n);
    Bucket b;
    b.L = L;
    b.xl = torch::from_blob(t.input_labels.data(), {B, L}, torch::kInt64).clone();
    b.xr = torch::from_blob(t.input_rt.data(), {B, L}, torch::kFloat).clone();
    b.yl = torch::from_blob(t.target_labels.data(), {B, L}, torch::kInt64).clone();
    b.yr = torch::from_blob(t.target_rt.data(), {B, L}, torch::kFloat).clone();
    buckets.push_back(std::move(b));
    total += t.num_traces;
  }
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(cfg.lr));
  std::mt19937_64 rng(cfg.seed);
  const bool S = UsesLabels(cfg.kind), R = UsesRt(cfg.kind);
  OmpThreads team(cfg.threads);  // 0: as configured process-wide
  const auto t0 = Clock::now();
  net->train();
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    const auto te = Clock::now();
    // Batches: (bucket, row indices), shuffled within buckets and in order.
    std::vector<std::pair<size_t, std::vector<int64_t>>> batches;
    for (size_t bi = 0; bi < buckets.size(); ++bi) {
      std::vector<int64_t> rows(buckets[bi].xl.size(0));
      std::iota(rows.begin(), rows.end(), 0);
      std::shuffle(rows.begin(), rows.end(), rng);
      for (size_t s = 0; s < rows.size(); s += cfg.batch)
        batches.emplace_back(bi, std::vector<int64_t>(rows.begin() + s,
                                                      rows.begin() + std::min(rows.size(), s + cfg.batch)));
    }
    std::shuffle(batches.begin(), batches.end(), rng);
    double loss_sum = 0;
    size_t seen = 0;
    for (auto& [bi, rows] : batches) {
      const Bucket& b = buckets[bi];
      torch::Tensor ix = torch::from_blob(rows.data(), {static_cast<int64_t>(rows.size())},
                                          torch::kInt64);
      auto out = net->forward(b.xl.index_select(0, ix), b.xr.index_select(0, ix));
      torch::Tensor loss = torch::zeros({});
      if (S) {
        torch::Tensor y = b.yl.index_select(0, ix);
        loss = loss + torch::nn::functional::cross_entropy(out.first.reshape({-1, N()}),
                                                           y.reshape({-1}));
      }
      if (R && b.L > 1) {
        // The trace-end step (target 0) is left out: it carries no response time.
        torch::Tensor y = b.yr.index_select(0, ix).narrow(1, 0, b.L - 1);
        loss = loss + torch::mse_loss(out.second.narrow(1, 0, b.L - 1), y);
      }
      // Nothing to learn (an RT-only kind on length-1 traces has no RT target).
      if (!loss.requires_grad()) continue;
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>() * rows.size();
      seen += rows.size();
    }
    stats.final_loss = seen ? loss_sum / seen : 0;
    const double es = Seconds(te);
    const double eta = Seconds(t0) / (epoch + 1) * (cfg.epochs - epoch - 1);
    spdlog::info("trace-{} epoch {}/{}: loss {:.4f}, {:.0f} sequences/s, ETA {:.0f} s",
                 TraceModelKindName(cfg.kind), epoch + 1, cfg.epochs, stats.final_loss,
                 es > 0 ? total / es : 0.0, eta);
  }
  net->eval();
}

void TraceModel::Impl::FitGaussians(const std::vector<EventSequence>& val) {
  const int64_t Nl = N();
  g_mean.assign(Nl, 0);
  g_std.assign(Nl, 0);
  g_own.assign(Nl, 0);
  pooled_mean = pooled_std = 0;
  if (!UsesRt(cfg.kind)) return;
  std::vector<double> sum(Nl, 0), sq(Nl, 0);
  std::vector<uint64_t> cnt(Nl, 0);
  double psum = 0, psq = 0;
  uint64_t pcnt = 0;
  for (const auto& [L, idx] : Buckets(val, cfg.score_batch)) {
    std::vector<const std::vector<uint32_t>*> ls;
    std::vector<const std::vector<TimeNs>*> ds;
    for (size_t i : idx) {
      ls.push_back(&val[i].labels);
      ds.push_back(&val[i].durations);
    }
    std::vector<int64_t> xl;
    std::vector<float> xr, probs, rt;
    Inputs(ls, &ds, L, &xl, &xr);
    Forward(xl, xr, static_cast<int64_t>(idx.size()), L, &probs, &rt);
    const float* pr = rt.data();
    const float* xs = xr.data();
    const int64_t* lab = xl.data();
    for (size_t b = 0; b < idx.size(); ++b)
      for (int64_t j = 1; j < L; ++j) {
        const double e = xs[b * L + j] - pr[b * L + j - 1];
        const double e2 = e * e;
        const int64_t l = lab[b * L + j];
        sum[l] += e2;
        sq[l] += e2 * e2;
        ++cnt[l];
        psum += e2;
        psq += e2 * e2;
        ++pcnt;
      }
  }
  auto ms = [](double s, double q, uint64_t c) {
    const double m = s / c;
    return std::make_pair(m, std::sqrt(std::max(0.0, q / c - m * m)));
  };
  if (pcnt > 0) std::tie(pooled_mean, pooled_std) = ms(psum, psq, pcnt);
  stats.gaussian_labels = 0;
  for (int64_t l = 0; l < Nl; ++l)
    if (cnt[l] >= static_cast<uint64_t>(std::max(1, cfg.min_gaussian_samples))) {
      std::tie(g_mean[l], g_std[l]) = ms(sum[l], sq[l], cnt[l]);
      g_own[l] = 1;
      ++stats.gaussian_labels;
    }
}

// ---------------------------------------------------------------------------

TraceModel::TraceModel() : TraceModel(TraceModelConfig()) {}
TraceModel::TraceModel(const TraceModelConfig& cfg) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = cfg;
}
TraceModel::~TraceModel() = default;
TraceModel::TraceModel(TraceModel&&) noexcept = default;
TraceModel& TraceModel::operator=(TraceModel&&) noexcept = default;

bool TraceModel::trained() const { return impl_->trained; }
bool TraceModel::structural() const { return UsesLabels(impl_->cfg.kind); }
bool TraceModel::response_time() const { return UsesRt(impl_->cfg.kind); }
const TraceModelConfig& TraceModel::config() const { return impl_->cfg; }
TraceModelConfig* TraceModel::mutable_config() { return &impl_->cfg; }
const TraceModelStats& TraceModel::stats() const { return impl_->stats; }
const EventVocabulary& TraceModel::vocabulary() const { return impl_->vocab; }
const RtScaler& TraceModel::scaler() const { return impl_->scaler; }
std::pair<double, double> TraceModel::ErrorGaussian(uint32_t label) const {
  return impl_->Gaussian(label);
}

Status TraceModel::Fit(const std::vector<LabeledTrace>& train,
                       const std::vector<LabeledTrace>& validation) {
  TRIAD_RETURN_IF_ERROR(CheckConfig(impl_->cfg));
  const TraceModelConfig& c = impl_->cfg;
  EventVocabulary vocab;
  vocab.Fit(train, c.top_m, c.min_count);
  SequenceStats st;
  std::vector<EventSequence> tr = ToEventSequences(train, vocab, c.length_filter, &st);
  LengthFilter vf = c.length_filter;
  vf.max_per_length = 0;
  std::vector<EventSequence> va = ToEventSequences(validation, vocab, vf, nullptr);
  TRIAD_RETURN_IF_ERROR(FitSequences(vocab, tr, va));
  impl_->stats.train_sequences = st;
  spdlog::info("trace model: training sequences: {}", st.Summary());
  return Status::OK();
}

Status TraceModel::FitSequences(const EventVocabulary& vocab,
                                const std::vector<EventSequence>& train_in,
                                const std::vector<EventSequence>& validation) {
  TRIAD_RETURN_IF_ERROR(CheckConfig(impl_->cfg));
  if (vocab.size() < 3) return Status::InvalidArgument("trace model: empty dictionary");
  Impl& m = *impl_;
  const auto t0 = Clock::now();
  ConfigureTorchRuntime(m.cfg.threads);
  std::vector<EventSequence> train, val = validation;
  for (const auto& s : train_in)
    if (!s.labels.empty() && s.labels.size() == s.durations.size()) train.push_back(s);
  if (val.empty() && m.cfg.validation_fraction > 0 && train.size() >= 2) {
    std::vector<size_t> idx(train.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::mt19937_64 rng(m.cfg.seed ^ 0x9e3779b97f4a7c15ull);
    std::shuffle(idx.begin(), idx.end(), rng);
    const size_t nv = std::max<size_t>(1, static_cast<size_t>(train.size() * m.cfg.validation_fraction));
    std::vector<char> is_val(train.size(), 0);
    for (size_t i = 0; i < nv; ++i) is_val[idx[i]] = 1;
    std::vector<EventSequence> keep;
    for (size_t i = 0; i < train.size(); ++i)
      (is_val[i] ? val : keep).push_back(std::move(train[i]));
    train = std::move(keep);
  }
  if (train.empty()) return Status::InvalidArgument("trace model: no usable training trace");
  m.vocab = vocab;
  m.scaler = RtScaler(m.cfg.rt_clamp_hi);
  m.scaler.Fit(train);
  const int64_t Nl = m.N();
  m.first_count.assign(Nl, 0);
  m.mean_rt.assign(Nl, 0.f);
  std::vector<double> rs(Nl, 0);
  std::vector<uint64_t> rc(Nl, 0);
  for (const auto& s : train) {
    ++m.first_count[m.Clip(s.labels[0])];
    for (size_t i = 0; i < s.size(); ++i) {
      const uint32_t l = m.Clip(s.labels[i]);
      rs[l] += m.scaler.Scale(l, s.durations[i]);
      ++rc[l];
    }
  }
  for (int64_t l = 0; l < Nl; ++l) m.mean_rt[l] = rc[l] ? static_cast<float>(rs[l] / rc[l]) : 0.f;
  m.stats = TraceModelStats();
  m.stats.train_traces = train.size();
  m.stats.validation_traces = val.size();
  spdlog::info("trace model {}: {} labels, {} training / {} validation traces; {}",
               TraceModelKindName(m.cfg.kind), Nl, train.size(), val.size(), DescribeTorchRuntime());
  m.BuildNet();
  m.Train(train);
  m.BuildFast();
  m.FitGaussians(val.empty() ? train : val);
  m.trained = true;
  if (!val.empty()) {
    std::vector<TraceVerdict> vv;
    ScoreBatch(val, &vv);
    size_t f = 0;
    for (const auto& v : vv) f += v.anomaly;
    m.stats.validation_flag_rate = static_cast<double>(f) / vv.size();
  }
  m.stats.train_seconds = Seconds(t0);
  spdlog::info("trace model: trained in {:.1f} s, final loss {:.4f}, {} labels with a Gaussian, "
               "{:.2f} % of validation traces flagged",
               m.stats.train_seconds, m.stats.final_loss, m.stats.gaussian_labels,
               100 * m.stats.validation_flag_rate);
  return Status::OK();
}

EventSequence TraceModel::ToSequence(const LabeledTrace& t) const {
  EventSequence s;
  s.trace_id = t.trace_id;
  s.labels.reserve(t.labels.size());
  for (const auto& l : t.labels) s.labels.push_back(impl_->vocab.Index(l));
  s.durations = t.durations;
  s.durations.resize(s.labels.size(), 0);
  return s;
}

TraceVerdict TraceModel::Score(const EventSequence& s) const {
  assert(trained());
  TraceVerdict v;
  const size_t n = std::min(s.labels.size(), s.durations.size());
  if (n == 0) return v;
  std::vector<const std::vector<uint32_t>*> ls{&s.labels};
  std::vector<const std::vector<TimeNs>*> ds{&s.durations};
  std::vector<int64_t> xl;
  std::vector<float> xr, probs, rt;
  impl_->Inputs(ls, &ds, static_cast<int64_t>(n), &xl, &xr);
  impl_->Forward(xl, xr, 1, static_cast<int64_t>(n), &probs, &rt);
  impl_->Verdict(s, probs.empty() ? nullptr : probs.data(), rt.empty() ? nullptr : rt.data(), &v);
  return v;
}

void TraceModel::ScoreBatch(const std::vector<EventSequence>& in,
                            std::vector<TraceVerdict>* out) const {
  assert(trained());
  out->assign(in.size(), TraceVerdict());
  const auto buckets = Buckets(in, impl_->cfg.score_batch);
  int workers = impl_->cfg.score_threads > 0 ? impl_->cfg.score_threads : at::get_num_threads();
  workers = std::max(1, std::min<int>(workers, static_cast<int>(buckets.size())));
  // Each worker takes the next chunk; chunks (and so the results) do not
  // depend on the number of workers.
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t b; (b = next.fetch_add(1)) < buckets.size();)
      impl_->ScoreBucket(in, buckets[b].second, buckets[b].first, out);
  };
  if (workers == 1) {
    work();
    return;
  }
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

void TraceModel::ScoreBatch(const std::vector<LabeledTrace>& in,
                            std::vector<TraceVerdict>* out) const {
  std::vector<EventSequence> seqs;
  seqs.reserve(in.size());
  for (const auto& t : in) seqs.push_back(ToSequence(t));
  ScoreBatch(seqs, out);
}

void TraceModel::Predict(const std::vector<EventSequence>& in,
                         std::vector<TracePrediction>* out) const {
  assert(trained());
  const Impl& m = *impl_;
  out->assign(in.size(), TracePrediction());
  const int64_t Nl = m.N();
  for (const auto& [L, idx] : Buckets(in, m.cfg.score_batch)) {
    std::vector<const std::vector<uint32_t>*> ls;
    std::vector<const std::vector<TimeNs>*> ds;
    for (size_t i : idx) {
      ls.push_back(&in[i].labels);
      ds.push_back(&in[i].durations);
    }
    std::vector<int64_t> xl;
    std::vector<float> xr, probs, rt;
    m.Inputs(ls, &ds, L, &xl, &xr);
    m.Forward(xl, xr, static_cast<int64_t>(idx.size()), L, &probs, &rt);
    for (size_t b = 0; b < idx.size(); ++b) {
      TracePrediction& p = (*out)[idx[b]];
      p.labels = static_cast<size_t>(Nl);
      if (!probs.empty()) {
        const float* src = probs.data() + b * L * Nl;
        p.probs.assign(src, src + L * Nl);
      }
      if (!rt.empty()) {
        const float* src = rt.data() + b * L;
        p.rt.assign(src, src + L);
      }
    }
  }
}

void TraceModel::NextLabelDistribution(const std::vector<std::vector<uint32_t>>& prefixes,
                                       std::vector<std::vector<float>>* out) const {
  assert(trained() && structural());
  const Impl& m = *impl_;
  const int64_t Nl = m.N();
  out->assign(prefixes.size(), std::vector<float>());
  std::map<size_t, std::vector<size_t>> by;
  for (size_t i = 0; i < prefixes.size(); ++i)
    if (!prefixes[i].empty()) by[prefixes[i].size()].push_back(i);
  for (const auto& [n, all] : by) {
    const int64_t L = static_cast<int64_t>(n);
    for (size_t s = 0; s < all.size(); s += m.cfg.score_batch) {
      std::vector<size_t> idx(all.begin() + s, all.begin() + std::min(all.size(), s + m.cfg.score_batch));
      std::vector<const std::vector<uint32_t>*> ls;
      for (size_t i : idx) ls.push_back(&prefixes[i]);
      std::vector<int64_t> xl;
      std::vector<float> xr, probs, rt;
      m.Inputs(ls, nullptr, L, &xl, &xr);
      m.Forward(xl, xr, static_cast<int64_t>(idx.size()), L, &probs, &rt);
      for (size_t b = 0; b < idx.size(); ++b) {
        const float* src = probs.data() + (b * L + L - 1) * Nl;
        (*out)[idx[b]].assign(src, src + Nl);
      }
    }
  }
}

Status TraceModel::Save(const std::string& path) const {
  const Impl& m = *impl_;
  if (!m.trained) return Status::InvalidArgument("trace model: Save before Fit/Load");
  nlohmann::json h;
  h["format"] = kFormat;
  h["version"] = kVersion;
  h["config"] = ConfigToJson(m.cfg);
  h["vocabulary"] = nlohmann::json::parse(m.vocab.ToJson());
  h["scaler"] = nlohmann::json::parse(m.scaler.ToJson());
  h["gaussian"] = {{"mean", m.g_mean}, {"std", m.g_std}, {"own", m.g_own},
                   {"pooled_mean", m.pooled_mean}, {"pooled_std", m.pooled_std}};
  h["first_count"] = m.first_count;
  h["mean_rt"] = m.mean_rt;
  h["stats"] = {{"train_traces", m.stats.train_traces},
                {"validation_traces", m.stats.validation_traces},
                {"final_loss", m.stats.final_loss},
                {"train_seconds", m.stats.train_seconds},
                {"gaussian_labels", m.stats.gaussian_labels},
                {"validation_flag_rate", m.stats.validation_flag_rate}};
  return SaveModuleFile(path, std::move(h), *m.net, "trace model");
}

Status TraceModel::Load(const std::string& path) {
  nlohmann::json h;
  std::string weights;
  int version = 0;
  TRIAD_RETURN_IF_ERROR(
      ReadModelFile(path, {kFormat, "trace", kVersion, kVersion}, &h, &weights, &version));
  auto m = std::make_unique<Impl>();
  try {
    TRIAD_RETURN_IF_ERROR(ConfigFromJson(h.at("config"), &m->cfg));
    TRIAD_RETURN_IF_ERROR(CheckConfig(m->cfg));
    TRIAD_RETURN_IF_ERROR(m->vocab.FromJson(h.at("vocabulary").dump()));
    TRIAD_RETURN_IF_ERROR(m->scaler.FromJson(h.at("scaler").dump()));
    const auto& g = h.at("gaussian");
    m->g_mean = g.at("mean").get<std::vector<double>>();
    m->g_std = g.at("std").get<std::vector<double>>();
    m->g_own = g.at("own").get<std::vector<uint8_t>>();
    m->pooled_mean = g.at("pooled_mean").get<double>();
    m->pooled_std = g.at("pooled_std").get<double>();
    m->first_count = h.at("first_count").get<std::vector<uint64_t>>();
    m->mean_rt = h.at("mean_rt").get<std::vector<float>>();
    const auto& st = h.at("stats");
    Get(st, "train_traces", &m->stats.train_traces);
    Get(st, "validation_traces", &m->stats.validation_traces);
    Get(st, "final_loss", &m->stats.final_loss);
    Get(st, "train_seconds", &m->stats.train_seconds);
    Get(st, "gaussian_labels", &m->stats.gaussian_labels);
    Get(st, "validation_flag_rate", &m->stats.validation_flag_rate);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + ": bad trace model header: " + e.what());
  }
  const size_t Nl = m->vocab.size();
  if (Nl < 3 || m->g_mean.size() != Nl || m->g_std.size() != Nl || m->g_own.size() != Nl ||
      m->first_count.size() != Nl || m->mean_rt.size() != Nl)
    return Status::Corruption(path + ": trace model header sizes disagree with the dictionary");
  ConfigureTorchRuntime(m->cfg.threads);
  m->BuildNet();
  TRIAD_RETURN_IF_ERROR(LoadModuleWeights(weights, *m->net, path, "trace model"));
  m->net->eval();
  m->BuildFast();
  m->trained = true;
  impl_ = std::move(m);
  return Status::OK();
}

// ---------------------------------------------------------------------------
// Execution paths

PathReport FindExecutionPaths(const TraceModel& model, const std::vector<EventSequence>& traces,
                              const PathOptions& opts) {
  assert(model.trained() && model.structural());
  PathReport rep;
  using Seq = std::vector<uint32_t>;
  const size_t Nl = model.vocabulary().size();
  // Distinct prefixes of the traces (length >= 1).
  std::set<Seq> pre;
  for (const auto& t : traces) {
    Seq p;
    for (uint32_t l : t.labels) {
      p.push_back(l < Nl ? l : static_cast<uint32_t>(EventVocabulary::kUnknown));
      if (pre.size() >= opts.max_prefixes && !pre.count(p)) break;
      pre.insert(p);
    }
  }
  rep.prefixes = pre.size();
  std::map<Seq, std::vector<float>> dist;
  auto eval = [&](const std::set<Seq>& want) {
    std::vector<Seq> q;
    for (const auto& s : want)
      if (!dist.count(s)) q.push_back(s);
    std::vector<std::vector<float>> d;
    model.NextLabelDistribution(q, &d);
    for (size_t i = 0; i < q.size(); ++i) dist[q[i]] = std::move(d[i]);
  };
  eval(pre);
  auto cands = [&](const std::vector<float>& d) {
    std::vector<uint32_t> c;
    for (uint32_t l = 1; l < d.size(); ++l)
      if (d[l] >= opts.candidate_p) c.push_back(l);
    return c;
  };
  auto top1 = [](const std::vector<float>& d) {
    uint32_t b = 0;
    for (uint32_t l = 1; l < d.size(); ++l)
      if (d[l] > d[b]) b = l;
    return b;
  };
  // Second round: the extensions needed for each candidate pair.
  std::set<Seq> need;
  for (const auto& p : pre) {
    auto c = cands(dist[p]);
    for (size_t i = 0; i < c.size(); ++i)
      for (size_t j = i + 1; j < c.size(); ++j) {
        Seq pa = p, pb = p;
        pa.push_back(c[i]);
        pb.push_back(c[j]);
        need.insert(pa);
        need.insert(pb);
        Seq pab = pa, pba = pb;
        pab.push_back(c[j]);
        pba.push_back(c[i]);
        need.insert(pab);
        need.insert(pba);
      }
  }
  eval(need);
  std::map<std::pair<uint32_t, uint32_t>, ConcurrentPair> conc;
  for (const auto& p : pre) {
    const auto& d = dist[p];
    auto c = cands(d);
    for (size_t i = 0; i < c.size(); ++i)
      for (size_t j = i + 1; j < c.size(); ++j) {
        const uint32_t a = c[i], b = c[j];
        Seq pa = p, pb = p;
        pa.push_back(a);
        pb.push_back(b);
        const auto& da = dist[pa];
        const auto& db = dist[pb];
        std::string ev;
        uint32_t next = 0;
        double pn = 0;
        const uint32_t na = top1(da), nb = top1(db);
        if (na == nb && na != a && na != b && da[na] >= opts.dependent_p &&
            db[nb] >= opts.dependent_p) {
          ev = "same-next";
          next = na;
          pn = std::min(da[na], db[nb]);
        } else if (da[b] >= opts.candidate_p && db[a] >= opts.candidate_p) {
          Seq pab = pa, pba = pb;
          pab.push_back(b);
          pba.push_back(a);
          const auto& dab = dist[pab];
          const auto& dba = dist[pba];
          const uint32_t x = top1(dab), y = top1(dba);
          if (x == y) {
            ev = "interleaved";
            next = x;
            pn = std::min(dab[x], dba[y]);
          }
        }
        if (ev.empty()) continue;
        ConcurrentPair& cp = conc[{a, b}];
        if (cp.prefixes == 0) {
          cp.a = a;
          cp.b = b;
          cp.evidence = ev;
          cp.next = next;
          cp.p_next = pn;
        }
        cp.pa = std::max(cp.pa, static_cast<double>(d[a]));
        cp.pb = std::max(cp.pb, static_cast<double>(d[b]));
        ++cp.prefixes;
      }
  }
  auto is_conc = [&](uint32_t a, uint32_t b) {
    return conc.count({std::min(a, b), std::max(a, b)}) > 0;
  };
  std::map<std::pair<uint32_t, uint32_t>, DependentPair> dep;
  auto add_dep = [&](uint32_t from, uint32_t to, double p) {
    DependentPair& dp = dep[{from, to}];
    dp.from = from;
    dp.to = to;
    dp.p = std::max(dp.p, p);
    ++dp.prefixes;
  };
  for (const auto& p : pre) {
    const auto& d = dist[p];
    const uint32_t x = p.back();
    const uint32_t y = top1(d);
    if (y != 0 && d[y] >= opts.dependent_p) {
      if (!is_conc(x, y)) add_dep(x, y, d[y]);
      continue;
    }
    // A concurrent group following x.
    auto c = cands(d);
    if (c.size() < 2) continue;
    bool group = true;
    double sum = 0;
    for (size_t i = 0; i < c.size() && group; ++i) {
      sum += d[c[i]];
      for (size_t j = i + 1; j < c.size(); ++j)
        if (!is_conc(c[i], c[j])) {
          group = false;
          break;
        }
    }
    if (group && sum >= opts.dependent_p)
      for (uint32_t l : c)
        if (!is_conc(x, l)) add_dep(x, l, d[l]);
  }
  for (auto& [k, v] : conc) rep.concurrent.push_back(v);
  for (auto& [k, v] : dep) rep.dependent.push_back(v);
  return rep;
}

}  // namespace triad
