#include "detect/output.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "core/time_parse.h"

namespace triad {
namespace {

TEST(OutputTest, FormatIso8601) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(1700000000LL * kNsPerSec), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatIso8601(951782400LL * kNsPerSec + 5 * kNsPerMs), "2000-02-29T00:00:00.005Z");
  EXPECT_EQ(FormatIso8601(1700000000LL * kNsPerSec + 1), "2023-11-14T22:13:20.000000001Z");
  EXPECT_EQ(FormatIso8601(-kNsPerSec), "1969-12-31T23:59:59Z");
}

TEST(OutputTest, CsvFieldQuotes) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField(""), "");
}

TEST(OutputTest, WriteThenParseBack) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("triad_output_test_" + std::to_string(::getpid()) + ".csv"))
          .string();
  std::unique_ptr<ScoreCsvWriter> w;
  ASSERT_TRUE(ScoreCsvWriter::Open(path, {"threshold", "top_features", "evidence"}, &w).ok());
  TimeNs t0 = 1700000000LL * kNsPerSec;
  ScoreRow r1{t0, t0 + 30 * kNsPerSec, "checkout", 12.5, true,
              {"4.2", "log:error;trace:p95_ms", "new template \"conn, refused\"\nline 2"}};
  ScoreRow r2{t0 + 30 * kNsPerSec, t0 + 60 * kNsPerSec, "cart,eu", 0.25, false, {"4.2", "", ""}};
  ASSERT_TRUE(w->Write(r1).ok());
  ASSERT_TRUE(w->Write(r2).ok());
  EXPECT_EQ(w->rows(), 2u);
  ASSERT_TRUE(w->Close().ok());

  ScoreTable t;
  Status s = ReadScoreCsv(path, &t);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> want_header = {"id", "start", "end", "service", "score", "anomaly",
                                          "threshold", "top_features", "evidence"};
  EXPECT_EQ(t.header, want_header);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], "1");
  EXPECT_EQ(t.rows[1][0], "2");
  TimeNs start = 0;
  ASSERT_TRUE(ParseTimestamp(t.rows[0][1], &start));
  EXPECT_EQ(start, t0);
  EXPECT_EQ(t.rows[0][3], "checkout");
  EXPECT_DOUBLE_EQ(std::stod(t.rows[0][4]), 12.5);
  EXPECT_EQ(t.rows[0][5], "1");
  EXPECT_EQ(t.rows[0][8], "new template \"conn, refused\"\nline 2");
  EXPECT_EQ(t.rows[1][3], "cart,eu");
  EXPECT_EQ(t.rows[1][5], "0");
  std::filesystem::remove(path);
}

TEST(OutputTest, RejectsForeignHeader) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("triad_output_bad_" + std::to_string(::getpid()) + ".csv"))
          .string();
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("time,value\n1,2\n", f);
  std::fclose(f);
  ScoreTable t;
  EXPECT_EQ(ReadScoreCsv(path, &t).code(), Status::Code::kCorruption);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace triad
