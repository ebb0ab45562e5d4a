// The LibTorch runtime: BLAS and thread set-up that every model relies on.
// Torch-free header.
#ifndef TRIAD_MODELS_RUNTIME_H_
#define TRIAD_MODELS_RUNTIME_H_

#include <string>

namespace triad {

struct TorchRuntimeInfo {
  std::string blas_library;  // path of the loaded libblas/openblas ("" if none found)
  bool openblas = false;     // true iff the BLAS in use is OpenBLAS
  int blas_threads = -1;     // OpenBLAS thread count (-1 if unknown)
  int torch_threads = 0;     // at::get_num_threads()
  std::string torch_version;
};

// Sets LibTorch's intra-op pool to `threads` (<= 0: the number of cores) and
// pins OpenBLAS to one thread so the two pools do not fight over the cores.
// Idempotent; call before any tensor work. Logs a warning if the reference BLAS is loaded.
void ConfigureTorchRuntime(int threads = 0);

// Returns what is actually loaded and configured in this process.
TorchRuntimeInfo GetTorchRuntimeInfo();

// "torch 1.13.1, BLAS OpenBLAS (/usr/lib/...), torch threads 2, BLAS threads 1".
std::string DescribeTorchRuntime();

// Multiplies two n x n float matrices `reps` times; returns GFLOP/s measured.
double MeasureGemmGflops(int n = 512, int reps = 5);

}  // namespace triad

#endif  // TRIAD_MODELS_RUNTIME_H_
