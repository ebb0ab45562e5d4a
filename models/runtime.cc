#include "models/runtime.h"

#include <dlfcn.h>
#include <link.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <mutex>
#include <thread>

namespace triad {
namespace {

int FindBlas(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("openblas") != std::string::npos ||
      (out->empty() && name.find("libblas") != std::string::npos)) {
    *out = name;
  }
  return 0;
}

using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

std::once_flag g_once;

}  // namespace

void ConfigureTorchRuntime(int threads) {
  std::call_once(g_once, [threads] {
    int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    if (auto fn = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
      fn(1);
    at::set_num_threads(n);
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
      // Already set by earlier parallel work; harmless.
    }
    TorchRuntimeInfo info = GetTorchRuntimeInfo();
    if (!info.openblas)
      spdlog::warn("LibTorch is using a non-OpenBLAS BLAS ({}): training will be ~15x slower; "
                   "run scripts/install-deps.sh", info.blas_library.empty() ? "none found"
                                                                          : info.blas_library);
    spdlog::debug("{}", DescribeTorchRuntime());
  });
}

TorchRuntimeInfo GetTorchRuntimeInfo() {
  TorchRuntimeInfo info;
  dl_iterate_phdr(FindBlas, &info.blas_library);
  if (auto fn = reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) {
    info.openblas = true;
    info.blas_threads = fn();
  }
  // The openblas symbols may be present through libblas.so.3 -> openblas-pthread.
  if (info.blas_library.find("openblas") != std::string::npos) info.openblas = true;
  info.torch_threads = at::get_num_threads();
  info.torch_version = TORCH_VERSION;
  return info;
}

std::string DescribeTorchRuntime() {
  TorchRuntimeInfo i = GetTorchRuntimeInfo();
  return "torch " + i.torch_version + ", BLAS " + (i.openblas ? "OpenBLAS" : "other/reference") +
         " (" + (i.blas_library.empty() ? "?" : i.blas_library) + "), torch threads " +
         std::to_string(i.torch_threads) + ", BLAS threads " + std::to_string(i.blas_threads);
}

double MeasureGemmGflops(int n, int reps) {
  torch::NoGradGuard ng;
  torch::manual_seed(0);
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) c = torch::mm(a, b);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (void)c.sum().item<float>();
  return 2.0 * n * n * n * reps / s / 1e9;
}

}  // namespace triad
