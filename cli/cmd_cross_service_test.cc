// End-to-end tests of `triad cs-train` / `cs-score` / `cs-sweep` on a small
// simulator run. The binary's path comes from TRIAD_BIN (set by ctest);
// skipped when unset, missing, or built without LibTorch.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "detect/output.h"

namespace triad {
namespace {

namespace fs = std::filesystem;
using testutil::HasCommand;
using testutil::ReadAll;
using testutil::Shell;

// A tiny model so training takes seconds.
constexpr char kSmall[] =
    " --step 15s --window 8 --steps 30 --batch 16 --channels 8 --embedding 8 --threads 1 --seed 3";

// A CSV file as rows of fields (no quoting: the sweep tables hold none).
std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(ReadAll(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string x;
    while (std::getline(ls, x, ',')) f.push_back(x);
    rows.push_back(std::move(f));
  }
  return rows;
}

// Simulated once for the suite: 8 fault-free minutes, then 2 faults; one model.
class CrossServiceCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* b = std::getenv("TRIAD_BIN");
    if (b == nullptr || !fs::exists(b)) return;
    if (!HasCommand(b, "cs-train")) return;  // built without torch
    bin_ = b;
    dir_ = (fs::temp_directory_path() / ("triad_cs_cli_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    std::string out;
    ASSERT_EQ(Shell(bin_ + " simulate --out " + dir_ + "/sim --minutes 16 --train-minutes 8 "
                    "--faults 2 --services 5 --rps 3 --seed 5", &out), 0) << out;
    sim_ = dir_ + "/sim";
    model_ = dir_ + "/cs.model";
    ASSERT_EQ(Shell(bin_ + " cs-train --out " + model_ + kSmall + " --sim " + sim_, &out), 0) << out;
    train_log_ = out;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (bin_.empty()) GTEST_SKIP() << "TRIAD_BIN not set, missing, or built without LibTorch";
  }
  static std::string bin_, dir_, sim_, model_, train_log_;
};
std::string CrossServiceCliTest::bin_, CrossServiceCliTest::dir_, CrossServiceCliTest::sim_,
    CrossServiceCliTest::model_, CrossServiceCliTest::train_log_;

TEST_F(CrossServiceCliTest, TrainWritesModelAndInputSpec) {
  EXPECT_GT(fs::file_size(model_), 1000u);
  EXPECT_NE(train_log_.find("trained cross-service model (with aggregation, w 8)"), std::string::npos)
      << train_log_;
  // 8 training minutes of 15 s steps, 5 services.
  EXPECT_NE(train_log_.find("training steps 0..32"), std::string::npos) << train_log_;
  const std::string spec = ReadAll(model_ + ".graph.json");
  EXPECT_NE(spec.find("triad-cs-graph"), std::string::npos) << spec;
  EXPECT_NE(spec.find("15000000000"), std::string::npos) << spec;  // the step
  EXPECT_NE(ReadAll(model_ + ".drain.json").find("triad-drain"), std::string::npos);
}

TEST_F(CrossServiceCliTest, ScoreWritesContractRowsSuspectsAndReport) {
  const std::string csv = dir_ + "/scores.csv", html = dir_ + "/report.html";
  std::string out;
  ASSERT_EQ(Shell(bin_ + " cs-score --model " + model_ + " --sim " + sim_ + " --out " + csv +
                      " --report " + html + " --threads 1", &out), 0)
      << out;
  EXPECT_NE(out.find("localisation top-1"), std::string::npos) << out;
  ScoreTable t;
  ASSERT_TRUE(ReadScoreCsv(csv, &t).ok());
  const std::vector<std::string> want = {"id", "start", "end", "service", "score", "anomaly",
                                         "step", "threshold", "system_anomaly", "max_ratio",
                                         "label", "suspects", "alarmed"};
  ASSERT_EQ(t.header, want);
  // The test part only (ground truth train_end: step 32) up to the last full step.
  ASSERT_GT(t.rows.size(), 25u);
  EXPECT_EQ(std::stoi(t.rows.front()[6]), 32);
  std::set<std::string> labels;
  int prev = -1;
  for (const auto& r : t.rows) {
    EXPECT_EQ(r[3], "*");
    EXPECT_GT(std::stoi(r[6]), prev);
    prev = std::stoi(r[6]);
    labels.insert(r[10]);
    if (r[8] == "1") {
      EXPECT_GT(std::stod(r[4]), std::stod(r[7]));
    }
    if (r[8] == "1" || !r[12].empty()) {
      EXPECT_EQ(r[5], "1");
    }
    EXPECT_GE(std::stod(r[9]), 0.0);
    // Three suspects "svc:s" of the simulated services.
    size_t items = 1;
    for (char c : r[11]) items += c == ';';
    EXPECT_EQ(items, 3u) << r[11];
    EXPECT_NE(r[11].find(':'), std::string::npos);
  }
  EXPECT_EQ(labels, (std::set<std::string>{"0", "1"}));
  const std::string h = ReadAll(html);
  EXPECT_NE(h.find("<svg"), std::string::npos);
  EXPECT_NE(h.find("System score S_t"), std::string::npos);
  EXPECT_NE(h.find("ranked suspects"), std::string::npos);
  EXPECT_NE(h.find("top-3"), std::string::npos);
  EXPECT_NE(h.find("</html>"), std::string::npos);

  // Deterministic: a second run writes the same file.
  const std::string csv2 = dir_ + "/scores2.csv";
  ASSERT_EQ(Shell(bin_ + " cs-score --model " + model_ + " --sim " + sim_ + " --out " + csv2 +
                      " --threads 1", &out), 0) << out;
  EXPECT_EQ(ReadAll(csv2), ReadAll(csv));
}

TEST_F(CrossServiceCliTest, QuickSweepWritesOneTablePerFactor) {
  const std::string d = dir_ + "/sweep";
  std::string out;
  ASSERT_EQ(Shell(bin_ + " cs-sweep --quick --threads 1 --out " + d, &out), 0) << out;
  const std::map<std::string, std::set<std::string>> values = {
      {"lr", {"0.0001", "0.0006"}}, {"batch", {"16", "32"}}, {"window", {"8", "16"}},
      {"tau", {"0.1", "0.5"}}};
  for (const auto& [factor, want] : values) {
    const auto rows = ReadCsv(d + "/sweep_" + factor + ".csv");
    ASSERT_EQ(rows.size(), 3u) << factor << "\n" << out;
    const std::vector<std::string> header = {factor, "acc", "precision", "recall", "f1", "top1",
                                             "top3", "train_s", "windows", "fault_windows",
                                             "alarms", "final_loss", "threshold",
                                             "sys_precision", "sys_recall", "sys_f1"};
    EXPECT_EQ(rows[0], header);
    std::set<std::string> got;
    for (size_t i = 1; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i].size(), header.size());
      got.insert(rows[i][0]);
      for (int c : {1, 2, 3, 4, 5, 6, 13, 14, 15}) {
        EXPECT_GE(std::stod(rows[i][c]), 0.0) << factor << " " << header[c];
        EXPECT_LE(std::stod(rows[i][c]), 1.0) << factor << " " << header[c];
      }
      EXPECT_GT(std::stod(rows[i][7]), 0.0);  // train seconds
      EXPECT_GT(std::stoi(rows[i][9]), 0);    // fault windows
      EXPECT_LE(std::stoi(rows[i][9]), std::stoi(rows[i][8]));
    }
    EXPECT_EQ(got, want) << factor;
  }
  // A window overlaps a fault for longer when it is longer: more fault windows
  // over the same window ends.
  const auto w = ReadCsv(d + "/sweep_window.csv");
  EXPECT_EQ(w[1][8], w[2][8]);
  EXPECT_GT(std::stoi(w[2][9]), std::stoi(w[1][9]));
  // The learning rate changes what is learnt.
  const auto lr = ReadCsv(d + "/sweep_lr.csv");
  EXPECT_NE(lr[1][11], lr[2][11]) << "final loss";
  const std::string h = ReadAll(d + "/sweep.html");
  for (const char* title : {"Learning rate (paper: Table 2)", "Batch size (paper: Fig. 2)",
                            "Window length in steps (paper: Fig. 3)", "Temperature (paper: Fig. 4)"})
    EXPECT_NE(h.find(title), std::string::npos) << title;
  size_t charts = 0;
  for (size_t p = h.find("<figure class=\"chart\""); p != std::string::npos;
       p = h.find("<figure class=\"chart\"", p + 1))
    ++charts;
  EXPECT_EQ(charts, 4u);
}

TEST_F(CrossServiceCliTest, ScalingTablePerServiceCount) {
  const std::string d = dir_ + "/scaling";
  std::string out;
  ASSERT_EQ(Shell(bin_ + " cs-sweep --scaling --quick --scaling-services 5,12 --repeats 1 "
                  "--window 8 --threads 1 --out " + d, &out), 0) << out;
  const auto rows = ReadCsv(d + "/scaling.csv");
  ASSERT_EQ(rows.size(), 3u) << out;
  EXPECT_EQ(rows[0][0], "services");
  EXPECT_EQ(rows[1][0], "5");
  EXPECT_EQ(rows[2][0], "12");
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_GT(std::stoi(rows[i][1]), 0);     // dims
    EXPECT_GT(std::stoi(rows[i][2]), 0);     // window ends timed
    EXPECT_GT(std::stod(rows[i][3]), 0.0);   // ms per window end
  }
}

TEST_F(CrossServiceCliTest, BadInputFailsClearly) {
  std::string out;
  EXPECT_EQ(Shell(bin_ + " cs-train --out " + dir_ + "/x.model --step zz --sim " + sim_, &out), 2);
  EXPECT_NE(out.find("--step"), std::string::npos) << out;
  EXPECT_EQ(Shell(bin_ + " cs-train --out " + dir_ + "/x.model", &out), 2);
  EXPECT_NE(out.find("no input"), std::string::npos) << out;
  EXPECT_EQ(Shell(bin_ + " cs-train --out " + dir_ + "/x.model --sim " + dir_ + "/nosuchdir", &out),
            1);
  EXPECT_NE(out.find("nosuchdir"), std::string::npos) << out;
  // A file that is not a cross-service model is refused.
  EXPECT_EQ(Shell(bin_ + " cs-score --model " + sim_ + "/ground_truth.json --sim " + sim_, &out), 1);
  // A sweep needs labelled data.
  EXPECT_EQ(Shell(bin_ + " cs-sweep --quick --out " + dir_ + "/nolabels " + sim_ + "/metrics.jsonl",
                  &out), 2);
  EXPECT_NE(out.find("labels"), std::string::npos) << out;
}

}  // namespace
}  // namespace triad
