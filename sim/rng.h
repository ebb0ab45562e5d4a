// Rng: a small, fast, seeded pseudo-random generator (xoshiro256**) with the
// distributions the simulator needs. Unlike <random>'s distributions, every
// draw here is specified by this code alone, so a seed gives the same sequence
// with every standard library.
#ifndef TRIAD_SIM_RNG_H_
#define TRIAD_SIM_RNG_H_

#include <cstdint>
#include <string>
#include <vector>

namespace triad {

class Rng {
 public:
  // Seeds the generator from (seed, stream): different streams of one seed are
  // independent sequences.
  explicit Rng(uint64_t seed, uint64_t stream = 0);

  uint64_t Next();                  // 64 uniform bits
  double Uniform();                 // [0, 1)
  double Uniform(double lo, double hi);  // [lo, hi)
  // Returns an integer uniform in [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n);
  // Returns an integer uniform in [lo, hi] (inclusive). REQUIRES: lo <= hi.
  int Int(int lo, int hi);
  bool Bernoulli(double p);         // true with probability p
  double Normal();                  // standard normal
  double Normal(double mean, double sd) { return mean + sd * Normal(); }
  // Log-normal with the given median and sigma (of the underlying normal).
  double LogNormal(double median, double sigma);
  double Exponential(double rate);  // mean 1/rate. REQUIRES: rate > 0
  uint64_t Poisson(double mean);    // mean >= 0
  // Pareto with scale 1 and shape alpha (values >= 1, heavy tail).
  double Pareto(double alpha);
  // `n` lowercase hex digits (never all zero).
  std::string Hex(int n);
  // A string of `n` characters drawn from `alphabet`.
  std::string Chars(int n, const char* alphabet);
  // Picks an index with probability proportional to weights[i]. REQUIRES: some weight > 0.
  size_t Weighted(const std::vector<double>& weights);
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Below(v.size())]; }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace triad

#endif  // TRIAD_SIM_RNG_H_
