// `triad info`: version, build and runtime (BLAS, threads).
#include <fmt/core.h>

#include <memory>

#include "cli/command.h"
#ifdef TRIAD_WITH_TORCH
#include "models/runtime.h"
#endif

namespace triad::cli {
namespace {

void Setup(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show version, build options and the ML runtime");
  auto gemm = std::make_shared<bool>(false);
  cmd->add_flag("--gemm", *gemm, "Measure GEMM throughput of the BLAS in use");
  cmd->callback([gemm] {
    fmt::print("triad 0.1.0 (C++20)\n");
#ifdef TRIAD_WITH_TORCH
    ConfigureTorchRuntime();
    fmt::print("ml runtime: {}\n", DescribeTorchRuntime());
    if (*gemm) fmt::print("gemm 512x512: {:.1f} GFLOP/s\n", MeasureGemmGflops());
#else
    (void)gemm;
    fmt::print("ml runtime: built without LibTorch\n");
#endif
  });
}

CommandRegistration reg(90, Setup);

}  // namespace
}  // namespace triad::cli
