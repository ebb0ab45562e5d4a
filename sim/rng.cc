#include "sim/rng.h"

#include <cassert>
#include <cmath>

namespace triad {
namespace {

uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL) ^ 0x5851f42d4c957f2dULL;
  for (auto& s : s_) s = SplitMix(&x);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Rng::Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

uint64_t Rng::Below(uint64_t n) {
  assert(n > 0);
  // Rejection sampling: no modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = Next();
  } while (x >= limit);
  return x % n;
}

int Rng::Int(int lo, int hi) {
  assert(lo <= hi);
  return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo) + 1));
}

bool Rng::Bernoulli(double p) { return Uniform() < p; }

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {  // Marsaglia polar method
    u = Uniform() * 2 - 1;
    v = Uniform() * 2 - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  const double m = std::sqrt(-2 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

double Rng::LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }

double Rng::Exponential(double rate) {
  assert(rate > 0);
  return -std::log(1 - Uniform()) / rate;
}

uint64_t Rng::Poisson(double mean) {
  if (mean <= 0) return 0;
  if (mean < 40) {
    const double l = std::exp(-mean);
    uint64_t k = 0;
    double p = Uniform();
    while (p > l) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  const double x = std::floor(Normal(mean, std::sqrt(mean)) + 0.5);
  return x < 0 ? 0 : static_cast<uint64_t>(x);
}

double Rng::Pareto(double alpha) { return std::pow(1 - Uniform(), -1.0 / alpha); }

std::string Rng::Hex(int n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s(n, '0');
  bool nonzero = false;
  uint64_t bits = 0;
  for (int i = 0; i < n; ++i) {
    if (i % 16 == 0) bits = Next();
    const int d = static_cast<int>(bits & 15);
    bits >>= 4;
    s[i] = kDigits[d];
    nonzero |= d != 0;
  }
  if (!nonzero && n > 0) s[n - 1] = '1';
  return s;
}

std::string Rng::Chars(int n, const char* alphabet) {
  size_t len = 0;
  while (alphabet[len]) ++len;
  std::string s(n, ' ');
  for (int i = 0; i < n; ++i) s[i] = alphabet[Below(len)];
  return s;
}

size_t Rng::Weighted(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w > 0 ? w : 0;
  assert(total > 0);
  double x = Uniform() * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  for (size_t i = weights.size(); i-- > 0;)
    if (weights[i] > 0) return i;
  return 0;
}

}  // namespace triad
