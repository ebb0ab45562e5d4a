// End-to-end test of `triad fusion-train` / `fusion-score` on the simulator's
// OTLP/JSON logs and metrics. The binary's path comes from TRIAD_BIN (set by
// ctest); skipped when unset, missing, or built without LibTorch.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "detect/output.h"

namespace triad {
namespace {

namespace fs = std::filesystem;
using testutil::ReadAll;
using testutil::HasCommand;
using testutil::Shell;

// A tiny model so training takes seconds.
constexpr char kSmall[] =
    " --tau 60s --step 30s --metric-steps 6 --epochs 4 --batch 16 --d-model 16 --heads 2"
    " --layers 1 --lstm-hidden 16 --conv-channels 8 --embedding 16 --queue 32 --threads 1 --seed 3";

// Simulated once for the suite: 8 fault-free minutes, then 2 faults; one fused model.
class FusionCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* b = std::getenv("TRIAD_BIN");
    if (b == nullptr || !fs::exists(b)) return;
    std::string out;
    if (!HasCommand(b, "fusion-train")) return;  // built without torch
    bin_ = b;
    dir_ = (fs::temp_directory_path() / ("triad_fusion_cli_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    const int rc = Shell(bin_ + " simulate --out " + dir_ + "/sim --minutes 16 --train-minutes 8 "
                         "--faults 2 --services 5 --rps 3 --seed 5", &out);
    ASSERT_EQ(rc, 0) << out;
    truth_ = dir_ + "/sim/ground_truth.json";
    inputs_ = " " + dir_ + "/sim/logs.jsonl " + dir_ + "/sim/metrics.jsonl";
    metrics_ = " " + dir_ + "/sim/metrics.jsonl";
    ASSERT_TRUE(fs::exists(dir_ + "/sim/logs.jsonl")) << out;
    model_ = dir_ + "/fused.model";
    ASSERT_EQ(Shell(bin_ + " fusion-train --out " + model_ + kSmall + " --train-end-from " + truth_ +
                        " --faults " + truth_ + inputs_, &out), 0)
        << out;
    train_log_ = out;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (bin_.empty()) GTEST_SKIP() << "TRIAD_BIN not set, missing, or built without LibTorch";
  }
  static std::string bin_, dir_, truth_, inputs_, metrics_, model_, train_log_;
};
std::string FusionCliTest::bin_, FusionCliTest::dir_, FusionCliTest::truth_, FusionCliTest::inputs_,
    FusionCliTest::metrics_, FusionCliTest::model_, FusionCliTest::train_log_;

TEST_F(FusionCliTest, TrainWritesOneModelFile) {
  EXPECT_TRUE(fs::exists(model_));
  EXPECT_GT(fs::file_size(model_), 1000u);
  EXPECT_NE(train_log_.find("trained fusion model (fused)"), std::string::npos) << train_log_;
  EXPECT_NE(train_log_.find("model written to"), std::string::npos);
  // The one file carries the Drain parser and window options.
  const std::string m = ReadAll(model_);
  EXPECT_NE(m.find("triad-fusion"), std::string::npos);
  EXPECT_NE(m.find("triad-drain"), std::string::npos);
  EXPECT_NE(m.find("tau_ns"), std::string::npos);
}

TEST_F(FusionCliTest, ScoreWritesContractRowsAndReport) {
  const std::string csv = dir_ + "/scores.csv", html = dir_ + "/report.html";
  std::string out;
  ASSERT_EQ(Shell(bin_ + " fusion-score --model " + model_ + " --faults " + truth_ + " --out " + csv +
                      " --report " + html + " --threads 1" + inputs_, &out), 0)
      << out;
  EXPECT_NE(out.find("PR-AUC"), std::string::npos) << out;
  ScoreTable t;
  ASSERT_TRUE(ReadScoreCsv(csv, &t).ok());
  const std::vector<std::string> want = {"id", "start", "end", "service", "score", "anomaly",
                                         "threshold", "modality", "disagreement", "log_distance",
                                         "metric_distance", "label", "top_templates", "top_metrics"};
  ASSERT_EQ(t.header, want);
  // 16 minutes of 60 s windows every 30 s.
  ASSERT_GT(t.rows.size(), 25u);
  std::set<std::string> modalities, labels;
  size_t flagged = 0, explained = 0;
  for (const auto& r : t.rows) {
    EXPECT_EQ(r[3], "*");
    EXPECT_EQ(r[1].back(), 'Z');
    modalities.insert(r[7]);
    labels.insert(r[11]);
    EXPECT_TRUE(r[5] == "0" || r[5] == "1");
    if (r[5] == "1") {
      ++flagged;
      explained += !r[12].empty() || !r[13].empty();
      EXPECT_GE(std::stod(r[4]), std::stod(r[6])) << "a flagged window's score exceeds its threshold";
    }
  }
  for (const auto& m : modalities) EXPECT_TRUE(m == "both" || m == "logs" || m == "metrics") << m;
  EXPECT_EQ(labels, (std::set<std::string>{"0", "1"}));  // the ground truth reached the rows
  EXPECT_EQ(explained, flagged);
  const std::string h = ReadAll(html);
  EXPECT_NE(h.find("<svg"), std::string::npos);
  EXPECT_NE(h.find("Embeddings (2-D PCA), coloured by ground truth"), std::string::npos);
  EXPECT_NE(h.find("fault window"), std::string::npos);
  EXPECT_NE(h.find("</html>"), std::string::npos);

  // Scoring is deterministic: a second run writes the same file.
  const std::string csv2 = dir_ + "/scores2.csv";
  ASSERT_EQ(Shell(bin_ + " fusion-score --model " + model_ + " --faults " + truth_ + " --out " + csv2 +
                      " --threads 1" + inputs_, &out), 0) << out;
  EXPECT_EQ(ReadAll(csv2), ReadAll(csv));
}

TEST_F(FusionCliTest, SinceAndExplainAll) {
  const std::string csv = dir_ + "/since.csv";
  std::string out;
  // 1700000000 is the simulator's default start; keep the last 6 minutes.
  ASSERT_EQ(Shell(bin_ + " fusion-score --model " + model_ + " --explain-all --top 2 --since " +
                      "1700000600 --out " + csv + " --threads 1" + inputs_, &out), 0) << out;
  ScoreTable t;
  ASSERT_TRUE(ReadScoreCsv(csv, &t).ok());
  ASSERT_GE(t.rows.size(), 5u);
  ASSERT_LE(t.rows.size(), 12u);
  for (const auto& r : t.rows) {
    EXPECT_GE(r[1], std::string("2023-11-14T22:23:20Z"));
    EXPECT_EQ(r[11], "");  // no --faults: no label
    EXPECT_FALSE(r[13].empty()) << "every window explained";
    size_t items = 1;
    for (char c : r[13]) items += c == ';';
    EXPECT_LE(items, 2u) << r[13];
  }
}

TEST_F(FusionCliTest, AblationModesAndServiceScope) {
  std::string out;
  const std::string m = dir_ + "/metric.model";
  ASSERT_EQ(Shell(bin_ + " fusion-train --out " + m + kSmall + " --mode metric-only --scope gateway "
                      "--train-end-from " + truth_ + inputs_, &out), 0) << out;
  EXPECT_NE(out.find("(metric-only)"), std::string::npos) << out;
  EXPECT_NE(out.find("scope 'gateway'"), std::string::npos) << out;
  const std::string csv = dir_ + "/metric.csv";
  ASSERT_EQ(Shell(bin_ + " fusion-score --model " + m + " --out " + csv + " --threads 1" + inputs_,
                  &out), 0) << out;
  ScoreTable t;
  ASSERT_TRUE(ReadScoreCsv(csv, &t).ok());
  ASSERT_FALSE(t.rows.empty());
  size_t with_metrics = 0;
  for (const auto& r : t.rows) {
    EXPECT_EQ(r[3], "gateway");
    EXPECT_TRUE(r[7] == "metrics" || r[7] == "none") << r[7];  // metric-only never uses logs
    with_metrics += r[7] == "metrics";
  }
  EXPECT_GT(with_metrics, t.rows.size() / 2);
}

TEST_F(FusionCliTest, BadInputFailsClearly) {
  std::string out;
  EXPECT_EQ(Shell(bin_ + " fusion-train --out " + dir_ + "/x.model --mode nosuch" + inputs_, &out), 2);
  EXPECT_NE(out.find("nosuch"), std::string::npos) << out;
  EXPECT_EQ(Shell(bin_ + " fusion-train --out " + dir_ + "/x.model --tau zz" + inputs_, &out), 2);
  EXPECT_NE(out.find("--tau"), std::string::npos) << out;
  // A scope without data (metrics only: no log parsing, fast).
  EXPECT_NE(Shell(bin_ + " fusion-train --out " + dir_ + "/x.model --scope nosuchservice" + metrics_,
                  &out), 0);
  EXPECT_NE(out.find("nosuchservice"), std::string::npos) << out;
  // A file that is not a fusion model is refused.
  EXPECT_EQ(Shell(bin_ + " fusion-score --model " + truth_ + metrics_, &out), 1);
  EXPECT_NE(out.find("fusion"), std::string::npos) << out;
}

}  // namespace
}  // namespace triad
