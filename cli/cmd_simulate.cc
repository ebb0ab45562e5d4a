// `triad simulate`: the built-in demo data (see sim/simulator.h).
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "cli/command.h"
#include "sim/simulator.h"

namespace triad::cli {
namespace {

struct Options {
  std::string out;
  SimConfig cfg;
  bool gzip = false;
};

std::string Offset(TimeNs t, TimeNs origin) {
  const int64_t s = (t - origin) / kNsPerSec;
  return fmt::format("{:+d}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

void Run(const Options& o) {
  const auto wall0 = std::chrono::steady_clock::now();
  // Progress every ~10 % of the run, at least every 5 simulated minutes apart.
  const TimeNs progress_every =
      std::max<TimeNs>(5 * 60 * kNsPerSec, static_cast<TimeNs>(o.cfg.minutes * 6 * kNsPerSec));
  TimeNs next_progress = o.cfg.start + progress_every;
  const TimeNs end = o.cfg.start + static_cast<TimeNs>(o.cfg.minutes * 60 * kNsPerSec);
  auto progress = [&](TimeNs t) {
    if (t < next_progress || t >= end) return;
    next_progress += progress_every;
    spdlog::info("simulated {:.0f}/{:.0f} min", static_cast<double>(t - o.cfg.start) / (60.0 * kNsPerSec),
                 o.cfg.minutes);
  };
  GroundTruth truth;
  SimulateResult res;
  Status st = SimulateToDir(o.cfg, o.out, o.gzip, &truth, &res, progress);
  if (!st.ok()) {
    spdlog::error("simulate: {}", st.ToString());
    SetExitCode(1);
    return;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  fmt::print("simulated {:.1f} min (train {:.1f} min), {} services, {} edges, seed {}\n",
             o.cfg.minutes, o.cfg.train_minutes, truth.services.size(), truth.edges.size(),
             truth.seed);
  fmt::print("  {} requests, {} spans, {} logs, {} metric points in {:.1f} s\n",
             res.stats.requests, res.stats.spans, res.stats.logs, res.stats.metrics, wall);
  fmt::print("services: ");
  for (size_t i = 0; i < truth.services.size(); ++i)
    fmt::print("{}{}", i ? ", " : "", truth.services[i]);
  fmt::print("\n");
  if (truth.faults.empty()) {
    fmt::print("faults: none\n");
  } else {
    fmt::print("faults:\n  {:<4} {:<14} {:<30} {:>10} {:>10}  {}\n", "id", "type", "services",
               "start", "end", "description");
    for (const auto& f : truth.faults) {
      std::string svcs;
      for (size_t i = 0; i < f.services.size(); ++i) svcs += (i ? " -> " : "") + f.services[i];
      fmt::print("  {:<4} {:<14} {:<30} {:>10} {:>10}  {}\n", f.id, f.type, svcs,
                 Offset(f.start, truth.start), Offset(f.end, truth.start), f.description);
    }
  }
  fmt::print("files:\n");
  for (const auto& f : res.files) fmt::print("  {}\n", f);
}

void Setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto gz = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "simulate", "Generate a demo microservice system's telemetry (OTLP/JSON) with injected faults");
  cmd->add_option("--out", o->out, "Output directory")->required();
  cmd->add_option("--seed", o->cfg.seed, "Random seed (same seed => identical files)");
  cmd->add_option("--services", o->cfg.services, "Number of services (>= 4)")
      ->check(CLI::Range(4, 500));
  cmd->add_option("--minutes", o->cfg.minutes, "Simulated minutes");
  cmd->add_option("--train-minutes", o->cfg.train_minutes, "Fault-free prefix (minutes)");
  cmd->add_option("--faults", o->cfg.faults, "Faults injected after the training prefix");
  cmd->add_option("--rps", o->cfg.rps, "Mean gateway requests per second");
  cmd->add_option("--trace-sample", o->cfg.trace_sample,
                  "Fraction of requests that emit spans and logs (0..1)");
  cmd->add_flag("--gzip", *gz, "Write .jsonl.gz files");
  cmd->callback([o, gz] {
    o->gzip = *gz;
    Status st = ValidateSimConfig(o->cfg);
    if (!st.ok()) {
      spdlog::error("simulate: {}", st.message());
      SetExitCode(2);
      return;
    }
    Run(*o);
  });
}

CommandRegistration reg(10, Setup);

}  // namespace
}  // namespace triad::cli
