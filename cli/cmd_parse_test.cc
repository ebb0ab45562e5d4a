// End-to-end tests of `triad parse` (runs the binary named by TRIAD_BIN, set
// by ctest; skipped when unset or missing).
#include <gtest/gtest.h>

#include "cli/cli_test_util.h"
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/csv.h"
#include "ingest/line_reader.h"

namespace triad {
namespace {

namespace fs = std::filesystem;
using testutil::ReadAll;
using Table = std::vector<std::vector<std::string>>;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

// Reads a whole CSV file (header included) into rows of owned fields.
Table ReadCsv(const std::string& path) {
  Table t;
  std::unique_ptr<LineReader> r;
  if (!LineReader::Open(path, &r).ok()) return t;
  CsvReader csv(r.get());
  std::vector<std::string_view> f;
  std::string err;
  for (;;) {
    auto res = csv.Next(&f, &err);
    if (res == CsvReader::Result::kEnd) break;
    if (res == CsvReader::Result::kMalformed) {
      ADD_FAILURE() << path << ": " << err;
      continue;
    }
    t.emplace_back(f.begin(), f.end());
  }
  return t;
}

// A loghub HDFS line with `content`.
std::string Hdfs(int i, const std::string& level, const std::string& component,
                 const std::string& content) {
  return "081109 2036" + std::to_string(10 + i % 50) + " " + std::to_string(100 + i) + " " + level +
         " " + component + ": " + content + "\n";
}

// Hand-written fixture: 4 kinds of HDFS messages, 20 lines.
std::string SmallHdfs() {
  std::string s;
  const char* pr = "dfs.DataNode$PacketResponder";
  const char* ns = "dfs.FSNamesystem";
  s += Hdfs(0, "INFO", pr, "PacketResponder 1 for block blk_38865049064139660 terminating");
  s += Hdfs(1, "INFO", pr, "PacketResponder 0 for block blk_-6952295868487656571 terminating");
  s += Hdfs(2, "INFO", ns,
            "BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to "
            "blk_7128370237687728475 size 67108864");
  s += Hdfs(3, "INFO", "dfs.DataNode$DataXceiver",
            "Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: "
            "/10.250.19.102:50010");
  s += Hdfs(4, "WARN", "dfs.DataNode$DataXceiver",
            "10.251.30.85:50010:Got exception while serving blk_-2918118818249673980 to "
            "/10.251.90.64:");
  s += Hdfs(5, "INFO", pr, "PacketResponder 2 for block blk_8229193803249955061 terminating");
  s += Hdfs(6, "INFO", ns,
            "BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.250.10.6:50010 is added to "
            "blk_-3544583377289625738 size 67108864");
  s += Hdfs(7, "INFO", "dfs.DataNode$DataXceiver",
            "Receiving block blk_-5009020203888190378 src: /10.251.111.130:35275 dest: "
            "/10.251.111.130:50010");
  s += Hdfs(8, "INFO", "dfs.FSDataset",
            "Deleting block blk_-2918118818249673980 file "
            "/mnt/hadoop/dfs/data/current/subdir3/blk_-2918118818249673980");
  s += Hdfs(9, "INFO", "dfs.FSDataset",
            "Deleting block blk_5206063024454394394 file "
            "/mnt/hadoop/dfs/data/current/subdir55/blk_5206063024454394394");
  for (int i = 10; i < 20; ++i)
    s += Hdfs(i, "INFO", pr,
              "PacketResponder " + std::to_string(i % 3) + " for block blk_" +
                  std::to_string(1000003 * i) + " terminating");
  return s;
}

// Deterministic generator of messages whose templates generalise over time
// (words, not numbers, vary), in HDFS format.
std::string Generalising(int n, uint32_t seed) {
  const char* users[] = {"alice", "bob", "carol", "dave", "erin"};
  const char* files[] = {"report", "notes", "draft", "plan"};
  const char* verbs[] = {"opened", "closed"};
  const char* ends[] = {"timeout", "logout", "kick"};
  const char* via[] = {"web", "api", "cli"};
  uint32_t x = seed;
  auto next = [&x](uint32_t m) {
    x = x * 1664525u + 1013904223u;
    return (x >> 8) % m;
  };
  std::string s;
  for (int i = 0; i < n; ++i) {
    uint32_t r = next(10);
    std::string c;
    if (r < 4) {
      c = std::string("user ") + users[next(5)] + " " + verbs[next(2)] + " file " + files[next(4)];
    } else if (r < 7) {
      c = std::string("session ") + users[next(5)] + " expired after idle " + ends[next(3)] +
          " on " + via[next(3)];
    } else {
      c = "PacketResponder " + std::to_string(next(3)) + " for block blk_" +
          std::to_string(next(1000000000)) + " terminating";
    }
    s += Hdfs(i, "INFO", "dfs.X$Y", c);
  }
  return s;
}

class ParseCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* b = std::getenv("TRIAD_BIN");
    if (b == nullptr || !fs::exists(b)) GTEST_SKIP() << "TRIAD_BIN not set or missing";
    bin_ = b;
    dir_ = (fs::temp_directory_path() /
            ("triad_parse_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Runs `triad <args>`, stdout+stderr into *out; returns the exit status.
  int Triad(const std::string& args, std::string* out) {
    std::string log = dir_ + "/cmd.log";
    int rc = std::system((bin_ + " " + args + " > " + log + " 2>&1").c_str());
    *out = ReadAll(log);
    fs::remove(log);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string bin_, dir_;
};

const std::vector<std::string> kStructuredHeader = {
    "LineId",    "Date",    "Time",    "Pid",           "Level",
    "Component", "Content", "EventId", "EventTemplate", "ParameterList"};

// Checks structured.csv + templates.csv in `out` for `parsed` lines: header,
// columns, LineIds, EventId/EventTemplate consistency, Occurrences sum, and
// that every ParameterList has one entry per wildcard token.
void CheckOutputs(const std::string& out, size_t parsed, std::map<std::string, std::string>* ids) {
  Table s = ReadCsv(out + "/structured.csv");
  Table t = ReadCsv(out + "/templates.csv");
  ASSERT_EQ(s.size(), parsed + 1);
  EXPECT_EQ(s[0], kStructuredHeader);
  ASSERT_GE(t.size(), 2u);
  EXPECT_EQ(t[0], (std::vector<std::string>{"EventId", "EventTemplate", "Occurrences"}));
  std::map<std::string, std::string> text;  // EventId -> template
  uint64_t sum = 0;
  for (size_t i = 1; i < t.size(); ++i) {
    ASSERT_EQ(t[i].size(), 3u);
    EXPECT_EQ(t[i][0], "E" + std::string(t[i][0].substr(1)));
    EXPECT_TRUE(text.emplace(t[i][0], t[i][1]).second) << "duplicate " << t[i][0];
    sum += std::stoull(t[i][2]);
  }
  EXPECT_EQ(sum, parsed);
  std::map<std::string, uint64_t> seen;
  for (size_t i = 1; i < s.size(); ++i) {
    const auto& r = s[i];
    ASSERT_EQ(r.size(), kStructuredHeader.size()) << "row " << i;
    EXPECT_EQ(r[0], std::to_string(i));
    ASSERT_TRUE(text.count(r[7])) << r[7];
    EXPECT_EQ(r[8], text[r[7]]);
    ++seen[r[7]];
    // One parameter per template token that contains "<*>".
    std::istringstream ts(r[8]);
    std::string tok;
    size_t wild = 0;
    while (ts >> tok) wild += tok.find("<*>") != std::string::npos;
    size_t params = 0;
    if (r[9] != "[]") params = 1 + std::count(r[9].begin(), r[9].end(), ',');
    EXPECT_EQ(params, wild) << r[6] << " / " << r[8] << " / " << r[9];
  }
  for (size_t i = 1; i < t.size(); ++i) EXPECT_EQ(seen[t[i][0]], std::stoull(t[i][2])) << t[i][0];
  if (ids != nullptr) *ids = text;
}

TEST_F(ParseCliTest, WritesStructuredAndTemplates) {
  WriteFile(dir_ + "/small.log", SmallHdfs());
  std::string out;
  ASSERT_EQ(Triad("parse --log-format HDFS --out " + dir_ + "/o " + dir_ + "/small.log", &out), 0)
      << out;
  EXPECT_NE(out.find("20 lines, 20 parsed, 0 skipped"), std::string::npos) << out;
  std::map<std::string, std::string> ids;
  CheckOutputs(dir_ + "/o", 20, &ids);
  // Only the two CSVs: the spill file is gone.
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir_ + "/o")) files.insert(e.path().filename());
  EXPECT_EQ(files, (std::set<std::string>{"structured.csv", "templates.csv"}));
  Table s = ReadCsv(dir_ + "/o/structured.csv");
  ASSERT_EQ(s.size(), 21u);
  EXPECT_EQ(s[1][1], "081109");
  EXPECT_EQ(s[1][4], "INFO");
  EXPECT_EQ(s[1][5], "dfs.DataNode$PacketResponder");
  EXPECT_EQ(s[1][6], "PacketResponder 1 for block blk_38865049064139660 terminating");
  EXPECT_EQ(s[1][8], "PacketResponder <*> for block <*> terminating");
  EXPECT_EQ(s[1][9], "['1', 'blk_38865049064139660']");
  EXPECT_EQ(s[5][4], "WARN");
  // Same message kind -> same EventId; different kinds -> different ones.
  EXPECT_EQ(s[1][7], s[2][7]);
  EXPECT_EQ(s[1][7], s[20][7]);
  EXPECT_NE(s[1][7], s[3][7]);
  EXPECT_EQ(s[4][7], s[8][7]);
  EXPECT_EQ(s[9][7], s[10][7]);
  EXPECT_GE(ids.size(), 5u);
  EXPECT_LE(ids.size(), 7u);

  // --progress: a progress line (lines, lines/s, templates) on stderr, same outputs.
  ASSERT_EQ(
      Triad("parse --progress --log-format HDFS --out " + dir_ + "/p " + dir_ + "/small.log", &out),
      0)
      << out;
  EXPECT_NE(out.find("parse: 20 lines, "), std::string::npos) << out;
  EXPECT_NE(out.find(" templates"), std::string::npos) << out;
  EXPECT_EQ(ReadAll(dir_ + "/p/structured.csv"), ReadAll(dir_ + "/o/structured.csv"));
}

TEST_F(ParseCliTest, GzipAndStdinGiveTheSameOutput) {
  std::string text = SmallHdfs();
  WriteFile(dir_ + "/small.log", text);
  gzFile gz = gzopen((dir_ + "/small.log.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(gz);
  std::string out;
  ASSERT_EQ(Triad("parse --log-format HDFS --out " + dir_ + "/plain " + dir_ + "/small.log", &out),
            0)
      << out;
  ASSERT_EQ(Triad("parse --log-format HDFS --out " + dir_ + "/gz " + dir_ + "/small.log.gz", &out),
            0)
      << out;
  ASSERT_EQ(
      Triad("parse --log-format HDFS --out " + dir_ + "/stdin - < " + dir_ + "/small.log", &out), 0)
      << out;
  CheckOutputs(dir_ + "/plain", 20, nullptr);
  std::string plain = ReadAll(dir_ + "/plain/structured.csv");
  EXPECT_EQ(ReadAll(dir_ + "/gz/structured.csv"), plain);
  EXPECT_EQ(ReadAll(dir_ + "/stdin/structured.csv"), plain);
  EXPECT_EQ(ReadAll(dir_ + "/gz/templates.csv"), ReadAll(dir_ + "/plain/templates.csv"));
  EXPECT_EQ(ReadAll(dir_ + "/stdin/templates.csv"), ReadAll(dir_ + "/plain/templates.csv"));
}

TEST_F(ParseCliTest, ThreadsGiveByteIdenticalOutput) {
  WriteFile(dir_ + "/gen.log", Generalising(6000, 7));
  std::string out;
  const std::string common = "parse --log-format HDFS " + dir_ + "/gen.log ";
  ASSERT_EQ(Triad(common + "--threads 1 --out " + dir_ + "/t1 --events " + dir_ + "/e1.csv", &out),
            0)
      << out;
  // Small batches: many batches, templates generalising several times within one.
  ASSERT_EQ(
      Triad(common + "--threads 2 --batch 300 --out " + dir_ + "/t2 --events " + dir_ + "/e2.csv",
            &out),
      0)
      << out;
  ASSERT_EQ(Triad(common + "--threads 3 --out " + dir_ + "/t3 --events " + dir_ + "/e3.csv", &out),
            0)
      << out;
  EXPECT_EQ(out.find("warning"), std::string::npos) << out;
  CheckOutputs(dir_ + "/t1", 6000, nullptr);
  for (const char* t : {"t2", "t3"}) {
    EXPECT_EQ(ReadAll(dir_ + "/" + t + "/structured.csv"), ReadAll(dir_ + "/t1/structured.csv"))
        << t;
    EXPECT_EQ(ReadAll(dir_ + "/" + t + "/templates.csv"), ReadAll(dir_ + "/t1/templates.csv")) << t;
  }
  EXPECT_EQ(ReadAll(dir_ + "/e2.csv"), ReadAll(dir_ + "/e1.csv"));
  EXPECT_EQ(ReadAll(dir_ + "/e3.csv"), ReadAll(dir_ + "/e1.csv"));

  // The events: a "new" first per id, "changed" after it; the last text of an
  // id is its final template; there were generalisations.
  Table ev = ReadCsv(dir_ + "/e1.csv");
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0], (std::vector<std::string>{"LineId", "EventId", "kind", "EventTemplate"}));
  std::map<std::string, std::string> last;
  size_t changed = 0;
  for (size_t i = 1; i < ev.size(); ++i) {
    ASSERT_EQ(ev[i].size(), 4u);
    if (ev[i][2] == "new") {
      EXPECT_FALSE(last.count(ev[i][1])) << ev[i][1];
    } else {
      EXPECT_EQ(ev[i][2], "changed");
      EXPECT_TRUE(last.count(ev[i][1])) << ev[i][1];
      EXPECT_NE(last[ev[i][1]], ev[i][3]);
      ++changed;
    }
    last[ev[i][1]] = ev[i][3];
  }
  EXPECT_GT(changed, 5u);
  Table t = ReadCsv(dir_ + "/t1/templates.csv");
  EXPECT_EQ(last.size(), t.size() - 1);
  for (size_t i = 1; i < t.size(); ++i) EXPECT_EQ(last[t[i][0]], t[i][1]);
}

TEST_F(ParseCliTest, ModelKeepsIdsAcrossRuns) {
  std::string text = Generalising(2000, 11);
  size_t half = 0;
  for (int i = 0; i < 1000; ++i) half = text.find('\n', half) + 1;
  WriteFile(dir_ + "/a.log", text.substr(0, half));
  WriteFile(dir_ + "/b.log", text.substr(half));
  const std::string model = dir_ + "/drain.json";
  std::string out;
  ASSERT_EQ(
      Triad("parse --log-format HDFS --model " + model + " --out " + dir_ + "/a " + dir_ + "/a.log",
            &out),
      0)
      << out;
  ASSERT_TRUE(fs::exists(model));
  EXPECT_NE(ReadAll(model).find("triad-drain"), std::string::npos);
  std::map<std::string, std::string> ids_a, ids_b;
  CheckOutputs(dir_ + "/a", 1000, &ids_a);
  ASSERT_EQ(
      Triad("parse --log-format HDFS --model " + model + " --out " + dir_ + "/b " + dir_ + "/b.log",
            &out),
      0)
      << out;
  EXPECT_NE(out.find("loaded " + std::to_string(ids_a.size()) + " templates"), std::string::npos)
      << out;
  CheckOutputs(dir_ + "/b", 1000, &ids_b);
  // Templates of run 1 that occur again keep their id; templates that
  // generalised keep it too (their text may have more wildcards).
  std::map<std::string, std::string> by_text_b;
  for (const auto& [id, tx] : ids_b) by_text_b[tx] = id;
  size_t kept = 0;
  for (const auto& [id, tx] : ids_a) {
    auto it = by_text_b.find(tx);
    if (it != by_text_b.end()) {
      EXPECT_EQ(it->second, id) << tx;
      ++kept;
    }
  }
  EXPECT_GT(kept, 0u);
  // New ids continue after the old ones; a parse of all lines at once from
  // scratch gives the same ids and texts as the two runs.
  ASSERT_EQ(
      Triad("parse --log-format HDFS --out " + dir_ + "/ab " + dir_ + "/a.log " + dir_ + "/b.log",
            &out),
      0)
      << out;
  Table ab = ReadCsv(dir_ + "/ab/structured.csv");
  Table b = ReadCsv(dir_ + "/b/structured.csv");
  ASSERT_EQ(ab.size(), 2001u);
  ASSERT_EQ(b.size(), 1001u);
  for (size_t i = 1; i < b.size(); ++i) {
    EXPECT_EQ(b[i][6], ab[1000 + i][6]);
    EXPECT_EQ(b[i][7], ab[1000 + i][7]) << i;
    EXPECT_EQ(b[i][8], ab[1000 + i][8]) << i;
  }
}

TEST_F(ParseCliTest, ModelOfAnotherKindIsRefused) {
  WriteFile(dir_ + "/small.log", SmallHdfs());
  WriteFile(dir_ + "/other.json", "{\"model\": \"baseline\", \"version\": 1}\n");
  std::string out;
  EXPECT_EQ(Triad("parse --log-format HDFS --model " + dir_ + "/other.json --out " + dir_ + "/o " +
                      dir_ + "/small.log",
                  &out),
            2);
  EXPECT_NE(out.find("not a triad Drain model"), std::string::npos) << out;
  // The file was left alone.
  EXPECT_EQ(ReadAll(dir_ + "/other.json"), "{\"model\": \"baseline\", \"version\": 1}\n");
  WriteFile(dir_ + "/junk.json", "not json at all");
  EXPECT_EQ(Triad("parse --log-format HDFS --model " + dir_ + "/junk.json --out " + dir_ + "/o " +
                      dir_ + "/small.log",
                  &out),
            2);
}

TEST_F(ParseCliTest, MalformedLinesAreCountedNotFatal) {
  const std::string hdr = "081109 203615 148 INFO dfs.DataNode$PacketResponder: ";
  std::string s;
  s += hdr + "PacketResponder 1 for block blk_1 terminating\n";                // 1 ok
  s += "\n";                                                                   // 2 empty
  s += "   \r\n";                                                              // 3 empty
  s += hdr + "Received block blk_2 of size 67108864 from /10.250.19.102\r\n";  // 4 ok (CRLF)
  s += "garbage line without header\n";                                        // 5 skipped
  s += hdr + "bad utf8 \xff\xfe\xc3 here\n";                                   // 6 ok
  s += hdr + std::string("nul \0 byte, and \"quotes\"", 24) + "\n";            // 7 ok
  s += std::string("\0\0\0", 3) + "\n";                                        // 8 skipped
  s += hdr + "big " + std::string(1 << 20, 'x') + "\n";                        // 9 ok (1 MB)
  s += std::string(1 << 20, 'y') + "\n";                                       // 10 skipped
  s += hdr + "PacketResponder 2 for block blk_3 terminating";                  // 11 ok, no final LF
  WriteFile(dir_ + "/bad.log", s);
  std::string out;
  ASSERT_EQ(Triad("parse --log-format HDFS --out " + dir_ + "/o " + dir_ + "/bad.log", &out), 0)
      << out.substr(0, 2000);
  EXPECT_NE(out.find("11 lines, 6 parsed, 3 skipped (3 not matching the format), 2 empty"),
            std::string::npos)
      << out.substr(0, 2000);
  EXPECT_NE(out.find("bad.log:5"), std::string::npos);
  EXPECT_NE(out.find("bad.log:8"), std::string::npos);
  CheckOutputs(dir_ + "/o", 6, nullptr);
  Table t = ReadCsv(dir_ + "/o/structured.csv");
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[2][6], "Received block blk_2 of size 67108864 from /10.250.19.102");  // no \r
  EXPECT_EQ(t[4][6], std::string("nul \0 byte, and \"quotes\"", 24));
  EXPECT_EQ(t[5][6].size(), 4u + (1u << 20));
  EXPECT_EQ(t[1][7], t[6][7]);

  // A line limit turns long lines into counted skips.
  ASSERT_EQ(Triad("--log-level error parse --max-line 100000 --log-format HDFS --out " + dir_ +
                      "/o2 " + dir_ + "/bad.log",
                  &out),
            0)
      << out.substr(0, 2000);
  EXPECT_NE(out.find("11 lines, 5 parsed, 4 skipped (2 not matching the format, 2 longer than"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("skipped: "), std::string::npos) << out;  // listed even with warnings off

  // No line matching at all: exit code 3.
  EXPECT_EQ(
      Triad("parse --log-format \"<Date> x <Content>\" --out " + dir_ + "/o3 " + dir_ + "/bad.log",
            &out),
      3)
      << out.substr(0, 2000);
  // Unreadable input: exit code 1.
  EXPECT_EQ(Triad("parse --log-format HDFS --out " + dir_ + "/o4 " + dir_ + "/missing.log", &out),
            1);
  // Bad format string: exit code 2.
  EXPECT_EQ(
      Triad("parse --log-format NoSuchSystem --out " + dir_ + "/o5 " + dir_ + "/bad.log", &out), 2);
}

TEST_F(ParseCliTest, LoghubHdfs2k) {
  const std::string path =
      std::string(TRIAD_SHARED_DATA_DIR) + "/logs/loghub_2k_original/HDFS/HDFS_2k.log";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not present";
  std::string out;
  ASSERT_EQ(Triad("parse --log-format HDFS --threads 2 --out " + dir_ + "/o " + path, &out), 0)
      << out;
  std::map<std::string, std::string> ids;
  CheckOutputs(dir_ + "/o", 2000, &ids);
  // loghub's ground truth has 14 HDFS templates; Drain finds about as many.
  EXPECT_GE(ids.size(), 10u);
  EXPECT_LE(ids.size(), 25u);
}

}  // namespace
}  // namespace triad
