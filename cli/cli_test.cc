// End-to-end test of the triad binary: `triad demo` on a small simulation,
// then `triad train` / `triad detect` on the files it wrote. The binary's path
// comes from TRIAD_BIN (set by ctest); skipped when unset or missing.
#include <gtest/gtest.h>

#include "cli/cli_test_util.h"
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "detect/output.h"

namespace triad {
namespace {

namespace fs = std::filesystem;
using testutil::ReadAll;
using testutil::Shell;

std::string BinOrEmpty() {
  const char* b = std::getenv("TRIAD_BIN");
  if (b == nullptr || !fs::exists(b)) return "";
  return b;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = BinOrEmpty();
    if (bin_.empty()) GTEST_SKIP() << "TRIAD_BIN not set or missing";
    dir_ = (fs::temp_directory_path() / ("triad_cli_test_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string bin_, dir_;
};

TEST_F(CliTest, DemoTrainDetect) {
  std::string out;
  int rc = Shell(bin_ + " demo --out " + dir_ + " --minutes 12 --services 6", &out);
  ASSERT_EQ(rc, 0) << out;

  // scores.csv follows the output contract.
  ScoreTable t;
  Status s = ReadScoreCsv(dir_ + "/scores.csv", &t);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> header = {"id", "start", "end", "service", "score", "anomaly",
                                     "threshold", "top_features", "evidence"};
  EXPECT_EQ(t.header, header);
  ASSERT_FALSE(t.rows.empty());
  size_t anomalies = 0;
  for (const auto& r : t.rows) {
    EXPECT_TRUE(r[5] == "0" || r[5] == "1") << r[5];
    EXPECT_EQ(r[1].back(), 'Z');
    anomalies += r[5] == "1";
  }
  EXPECT_GT(anomalies, 0u);

  // The report exists and has the plots.
  std::string html = ReadAll(dir_ + "/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);

  // At least one injected fault was detected (the table prints "yes" in the
  // detected column; event recall > 0).
  size_t at = out.find("event recall");
  ASSERT_NE(at, std::string::npos) << out;
  std::istringstream line(out.substr(at + 12, out.find('\n', at) - at - 12));
  double recall = -1;
  line >> recall;
  EXPECT_GT(recall, 0.0) << out;
  EXPECT_NE(out.find("point-adjusted"), std::string::npos);
  EXPECT_NE(out.find("uses labels"), std::string::npos);

  // train + detect on the same files, with the ground truth's training end.
  std::string model = dir_ + "/m.json", scores = dir_ + "/s.csv";
  rc = Shell(bin_ + " train --model baseline --out " + model + " --train-end-from " + dir_ +
               "/ground_truth.json " + dir_ + "/traces.jsonl " + dir_ + "/logs.jsonl " + dir_ +
               "/metrics.jsonl",
           &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(ReadAll(model).find("\"model\": \"baseline\""), std::string::npos);
  rc = Shell(bin_ + " detect --model " + model + " --out " + scores + " " + dir_ + "/traces.jsonl " +
               dir_ + "/logs.jsonl " + dir_ + "/metrics.jsonl",
           &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("anomalous windows"), std::string::npos) << out;
  ScoreTable t2;
  ASSERT_TRUE(ReadScoreCsv(scores, &t2).ok());
  EXPECT_FALSE(t2.rows.empty());

  // A model file of another kind is refused with a clear message.
  std::string other = ReadAll(model);
  other.replace(other.find("\"model\": \"baseline\""), 19, "\"model\": \"lstm\"");
  std::ofstream(dir_ + "/other.json") << other;
  rc = Shell(bin_ + " detect --model " + dir_ + "/other.json --out " + scores + " " + dir_ +
               "/logs.jsonl",
           &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("lstm"), std::string::npos) << out;
}

TEST_F(CliTest, BadArgumentsFail) {
  std::string out;
  EXPECT_NE(Shell(bin_ + " train --out " + dir_ + "/m.json --window zz " + bin_, &out), 0);
  EXPECT_NE(Shell(bin_ + " train --model nosuch --out " + dir_ + "/m.json " + bin_, &out), 0);
  EXPECT_NE(out.find("nosuch"), std::string::npos) << out;
}

}  // namespace
}  // namespace triad
