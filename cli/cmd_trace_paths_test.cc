// End-to-end test of `triad trace-train` / `trace-score` / `trace-paths` on
// the simulator's OTLP/JSON output. The binary's path comes from TRIAD_BIN
// (set by ctest); skipped when unset, missing, or built without LibTorch.
#include <gtest/gtest.h>

#include "cli/cli_test_util.h"
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace triad {
namespace {

namespace fs = std::filesystem;
using testutil::ReadAll;
using testutil::HasCommand;
using testutil::Shell;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

// Simulated once for the suite: a small fault-free run and a trained SAD model.
class TracePathsCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* b = std::getenv("TRIAD_BIN");
    if (b == nullptr || !fs::exists(b)) return;
    std::string out;
    if (!HasCommand(b, "trace-train")) return;  // built without torch
    bin_ = b;
    dir_ = (fs::temp_directory_path() / ("triad_trace_cli_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    const int rc = Shell(bin_ + " simulate --out " + dir_ + "/sim --minutes 2 --train-minutes 2 "
                         "--faults 0 --services 6 --rps 10 --seed 3", &out);
    ASSERT_EQ(rc, 0) << out;
    traces_ = dir_ + "/sim/traces.jsonl";
    ASSERT_TRUE(fs::exists(traces_)) << out;
    model_ = dir_ + "/sad.model";
    ASSERT_EQ(Shell(bin_ + " trace-train --out " + model_ + " --kind sad --epochs 15 --lr 0.01 "
                    "--batch 64 --threads 1 --min-length 1 --max-length 60 " + traces_, &out), 0)
        << out;
    train_log_ = out;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (bin_.empty()) GTEST_SKIP() << "TRIAD_BIN not set, missing, or without trace commands";
  }
  static std::string bin_, dir_, traces_, model_, train_log_;
};
std::string TracePathsCliTest::bin_, TracePathsCliTest::dir_, TracePathsCliTest::traces_,
    TracePathsCliTest::model_, TracePathsCliTest::train_log_;

TEST_F(TracePathsCliTest, TrainWritesModel) {
  EXPECT_TRUE(fs::exists(model_));
  EXPECT_GT(fs::file_size(model_), 100u);
  EXPECT_NE(train_log_.find("trained trace model sad"), std::string::npos) << train_log_;
  EXPECT_NE(train_log_.find("model written to"), std::string::npos);
}

TEST_F(TracePathsCliTest, ScoreWritesContractColumns) {
  const std::string tsv = dir_ + "/score.tsv";
  std::string out;
  ASSERT_EQ(Shell(bin_ + " trace-score --all --model " + model_ + " --out " + tsv + " " + traces_,
                  &out), 0) << out;
  const std::vector<std::string> lines = Split(ReadAll(tsv), '\n');
  ASSERT_GT(lines.size(), 10u);
  EXPECT_EQ(lines[0], "trace_id\tanomaly\ttype\tscore\tevents\tfindings");
  const std::set<std::string> types = {"none", "structural", "response_time", "both"};
  size_t flagged = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto f = Split(lines[i], '\t');
    ASSERT_GE(f.size(), 5u) << lines[i];
    EXPECT_FALSE(f[0].empty());
    ASSERT_TRUE(f[1] == "0" || f[1] == "1") << lines[i];
    EXPECT_TRUE(types.count(f[2])) << lines[i];
    EXPECT_EQ(f[1] == "1", f[2] != "none") << lines[i];
    EXPECT_GE(std::stod(f[3]), 0.0);
    EXPECT_GT(std::stoi(f[4]), 0);
    flagged += f[1] == "1";
  }
  // Scored on its own (normal) training traces: few are flagged.
  EXPECT_LT(flagged, (lines.size() - 1) / 5) << out;
  EXPECT_NE(out.find("traces scored"), std::string::npos) << out;
}

TEST_F(TracePathsCliTest, PathsWritesConcurrentAndDependentRows) {
  const std::string tsv = dir_ + "/paths.tsv";
  std::string out;
  ASSERT_EQ(Shell(bin_ + " trace-paths --model " + model_ + " --out " + tsv + " " + traces_, &out),
            0) << out;
  size_t dependent = 0;
  for (const auto& line : Split(ReadAll(tsv), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = Split(line, '\t');
    if (f[0] == "concurrent") {
      ASSERT_EQ(f.size(), 9u) << line;
      EXPECT_GE(std::stod(f[3]), 0.0);
      EXPECT_LE(std::stod(f[3]), 1.0);
    } else {
      ASSERT_EQ(f[0], "dependent") << line;
      ASSERT_EQ(f.size(), 5u) << line;
      // p >= --dependent-p (0.95) for a single successor; members of a
      // concurrent group share it, so each may be lower.
      const double p = std::stod(f[3]);
      EXPECT_GT(p, 0.0);
      EXPECT_LE(p, 1.0 + 1e-9);
      EXPECT_GT(std::stoull(f[4]), 0u);
      ++dependent;
    }
  }
  EXPECT_GT(dependent, 0u) << ReadAll(tsv);  // every simulated call has a fixed child path
}

TEST_F(TracePathsCliTest, RefusesForeignModelFiles) {
  std::string out;
  const std::string foreign = dir_ + "/sim/ground_truth.json";
  ASSERT_TRUE(fs::exists(foreign));
  EXPECT_NE(Shell(bin_ + " trace-score --model " + foreign + " " + traces_, &out), 0) << out;
  EXPECT_NE(Shell(bin_ + " trace-paths --model " + foreign + " " + traces_, &out), 0) << out;
  const std::string junk = dir_ + "/junk.model";
  std::ofstream(junk) << "{\"format\":\"triad-trace-lstm\",\"version\":1}\nnot torch";
  EXPECT_NE(Shell(bin_ + " trace-score --model " + junk + " " + traces_, &out), 0) << out;
  EXPECT_NE(Shell(bin_ + " trace-score --model " + dir_ + "/missing.model " + traces_, &out), 0);
}

TEST_F(TracePathsCliTest, PathsRefusesResponseTimeOnlyModel) {
  std::string out;
  const std::string rtad = dir_ + "/rtad.model";
  ASSERT_EQ(Shell(bin_ + " trace-train --out " + rtad + " --kind rtad --epochs 2 --threads 1 "
                  "--min-length 1 --max-length 60 " + traces_, &out), 0) << out;
  EXPECT_EQ(Shell(bin_ + " trace-paths --model " + rtad + " " + traces_, &out), 2) << out;
  EXPECT_NE(out.find("predicts no labels"), std::string::npos) << out;
}

}  // namespace
}  // namespace triad
