#include "models/runtime.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <chrono>
#include <vector>

namespace triad {
namespace {

TEST(TorchRuntime, UsesOpenBlasWithOneBlasThread) {
  ConfigureTorchRuntime(2);
  TorchRuntimeInfo info = GetTorchRuntimeInfo();
  EXPECT_TRUE(info.openblas) << DescribeTorchRuntime();
  EXPECT_EQ(info.blas_threads, 1) << DescribeTorchRuntime();
  EXPECT_EQ(info.torch_threads, 2);
}

// The reference BLAS (Debian's libblas3), loaded beside OpenBLAS as the
// yardstick measured in the same run. Returns GFLOP/s, or -1 if unavailable.
double ReferenceSgemmGflops(int n) {
  void* h = dlopen("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) return -1;
  using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*,
                         const float*, const float*, const int*, const float*, const int*,
                         const float*, float*, const int*);
  auto sgemm = reinterpret_cast<Sgemm>(dlsym(h, "sgemm_"));
  if (sgemm == nullptr) return -1;
  std::vector<float> a(n * n, 1.0f), b(n * n, 0.5f), c(n * n, 0.0f);
  float one = 1, zero = 0;
  auto t0 = std::chrono::steady_clock::now();
  sgemm("N", "N", &n, &n, &n, &one, a.data(), &n, b.data(), &n, &zero, c.data(), &n);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FLOAT_EQ(c[0], 0.5f * n);
  return 2.0 * n * n * n / s / 1e9;
}

TEST(TorchRuntime, GemmMuchFasterThanReferenceBlas) {
  ConfigureTorchRuntime(2);
  double ref = ReferenceSgemmGflops(384);
  if (ref < 0) GTEST_SKIP() << "reference BLAS not installed";
  // Measured here: OpenBLAS ~45 GFLOP/s on one thread, the reference BLAS ~5.
  double torch_gflops = MeasureGemmGflops(384, 4);
  EXPECT_GT(torch_gflops / ref, 3.0)
      << torch_gflops << " vs " << ref << " GFLOP/s; " << DescribeTorchRuntime();
}

}  // namespace
}  // namespace triad
