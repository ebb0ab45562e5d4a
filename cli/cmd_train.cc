// `triad train`: fits a detector on telemetry of normal operation and saves it.
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "align/window_aggregator.h"
#include "cli/cmd_sequence.h"
#include "cli/command.h"
#include "cli/input_options.h"
#include "core/time_parse.h"
#include "detect/baseline.h"
#include "detect/pipeline.h"
#include "ingest/reader.h"
#include "sim/simulator.h"

namespace triad::cli {
namespace {

struct TrainArgs {
  std::string model = "baseline";
  std::string out;
  std::string window = "30s";
  std::string until;
  std::string train_end_from;
  InputArgs in;
  SequenceTrainArgs seq;  // --model pca|stide|deeplog
};

int Run(const TrainArgs& a) {
  auto t0 = std::chrono::steady_clock::now();
  if (IsSequenceModel(a.model)) return RunSequenceTrain(a.model, a.out, a.seq);
  if (a.model != "baseline") {
    spdlog::error("unknown model '{}' (available: baseline, pca, stide, deeplog)", a.model);
    return 2;
  }
  if (a.in.inputs.empty()) {
    spdlog::error("--model baseline needs INPUT files");
    return 2;
  }
  ReadOptions ro;
  if (!ToReadOptions(a.in, &ro)) return 2;
  BaselineConfig cfg;
  if (!ParseDuration(a.window, &cfg.window)) {
    spdlog::error("bad --window '{}' (e.g. 30s, 1m)", a.window);
    return 2;
  }
  TimeNs until = 0;
  bool have_until = false;
  if (!a.until.empty()) {
    if (!ParseTimestamp(a.until, &until)) {
      spdlog::error("bad --until '{}' (ISO-8601 or unix time)", a.until);
      return 2;
    }
    have_until = true;
  }
  if (!a.train_end_from.empty()) {
    GroundTruth gt;
    Status s = LoadGroundTruth(a.train_end_from, &gt);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
    until = have_until ? std::min(until, gt.train_end) : gt.train_end;
    have_until = true;
  }
  ReadStats total;
  std::vector<WindowFeatures> windows;
  Status s = ReadWindows(a.in.inputs, ro, cfg.window, &windows, &total);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (have_until) {
    std::vector<WindowFeatures> kept;
    for (auto& w : windows)
      if (w.end <= until) kept.push_back(std::move(w));
    spdlog::info("training on the {} of {} windows that end by {}", kept.size(), windows.size(),
                 a.until.empty() ? a.train_end_from : a.until);
    windows = std::move(kept);
  }
  if (windows.empty()) {
    spdlog::error("no training windows: the inputs hold no usable telemetry{}",
                  have_until ? " before the training end" : "");
    return 1;
  }
  BaselineDetector det(cfg);
  s = det.Fit(windows);
  if (s.ok()) s = det.Save(a.out);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("trained baseline on {} windows of {} services ({}); threshold {:.3f}\n",
             windows.size(), det.services().size(), total.Summary(), det.threshold());
  fmt::print("model written to {} ({:.1f} s)\n", a.out, secs);
  return 0;
}

void Setup(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Fit a detector on telemetry of normal operation");
  cmd->add_option("--model", a->model,
                  "Detector to train: baseline (telemetry windows), or pca, stide, deeplog "
                  "(log sessions, see --sessions)");
  cmd->add_option("--out", a->out, "Model file to write (JSON)")->required();
  cmd->add_option("--window", a->window, "Window length, e.g. 30s, 1m");
  cmd->add_option("--until", a->until, "Use only windows that end by this time (ISO-8601/unix)");
  cmd->add_option("--train-end-from", a->train_end_from,
                  "Use only windows before train_end of this ground_truth.json");
  AddInputOptions(cmd, &a->in);
  cmd->get_option("inputs")->required(false);  // not for --sessions
  AddSequenceTrainOptions(cmd, &a->seq);
  cmd->callback([a] { SetExitCode(Run(*a)); });
}

CommandRegistration reg(20, Setup);

}  // namespace
}  // namespace triad::cli
