#include "ingest/loghub_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/time_parse.h"
#include "ingest/csv.h"

namespace triad {
namespace {

constexpr TimeNs S = kNsPerSec;

std::vector<std::string> MatchFields(const LoghubLineParser& p, std::string_view line) {
  std::vector<std::string_view> f;
  if (!p.Match(line, &f)) return {};
  return std::vector<std::string>(f.begin(), f.end());
}

using V = std::vector<std::string>;

TEST(LoghubReaderTest, CompilesFormat) {
  LoghubLineParser p(LoghubFormatFor("HDFS"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p.field_names(), (V{"Date", "Time", "Pid", "Level", "Component", "Content"}));
  EXPECT_EQ(p.content_index(), 5);
  EXPECT_FALSE(LoghubLineParser("<Date").ok());
  EXPECT_FALSE(LoghubLineParser("<>").ok());
  EXPECT_FALSE(LoghubLineParser("no fields").ok());
  EXPECT_FALSE(LoghubLineParser("<A> <A>").ok());
  EXPECT_FALSE(LoghubLineParser("(<A>").ok());
  EXPECT_FALSE(LoghubLineParser("<A>)?").ok());
  EXPECT_FALSE(LoghubLineParser("((<A>)?)?").ok());
  EXPECT_FALSE(LoghubLineParser("<A>\\").ok());
  EXPECT_EQ(LoghubFormatFor("nope"), "");
  EXPECT_EQ(LoghubFormatFor("hdfs"), LoghubFormatFor("HDFS"));
}

TEST(LoghubReaderTest, MatchesLikeLogparser) {
  LoghubLineParser hdfs(LoghubFormatFor("HDFS"));
  EXPECT_EQ(MatchFields(hdfs, "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating"),
            (V{"081109", "203615", "148", "INFO", "dfs.DataNode$PacketResponder", "PacketResponder 1 terminating"}));
  // Whitespace runs, surrounding whitespace stripped.
  EXPECT_EQ(MatchFields(hdfs, "  081109   203615 148\tINFO a.B: x:  y  \r"),
            (V{"081109", "203615", "148", "INFO", "a.B", "x:  y"}));
  EXPECT_TRUE(MatchFields(hdfs, "081109 203615 148 INFO no colon here").empty());
  EXPECT_TRUE(MatchFields(hdfs, "").empty());

  // Non-greedy fields split at the first literal that lets the rest match.
  LoghubLineParser zk(LoghubFormatFor("Zookeeper"));
  EXPECT_EQ(MatchFields(zk, "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200"),
            (V{"2015-07-29", "17:41:44,747", "INFO", "QuorumPeer[myid=1]/0", "0:0:0:0:0:0:0:2181:FastLeaderElection",
               "774", "Notification time out: 3200"}));

  // Optional group present / absent.
  LoghubLineParser linux_p(LoghubFormatFor("Linux"));
  EXPECT_EQ(MatchFields(linux_p, "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure;"),
            (V{"Jun", "14", "15:16:01", "combo", "sshd(pam_unix)", "19939", "authentication failure;"}));
  EXPECT_EQ(MatchFields(linux_p, "Jun  9 06:06:20 combo syslogd 1.4.1: restart."),
            (V{"Jun", "9", "06:06:20", "combo", "syslogd 1.4.1", "", "restart."}));

  // Escaped brackets.
  LoghubLineParser apache(LoghubFormatFor("Apache"));
  EXPECT_EQ(MatchFields(apache, "[Sun Dec 04 04:47:44 2005] [error] mod_jk child in error state 6"),
            (V{"Sun Dec 04 04:47:44 2005", "error", "mod_jk child in error state 6"}));
  EXPECT_TRUE(MatchFields(apache, "Sun Dec 04 04:47:44 2005 [error] x").empty());

  // As in logparser, the whitespace before Content is required (the line is stripped first).
  LoghubLineParser spark(LoghubFormatFor("Spark"));
  EXPECT_TRUE(MatchFields(spark, "17/06/09 20:10:40 INFO a.B: ").empty());
  // A last field may be empty.
  LoghubLineParser bar("<A>|<B>");
  EXPECT_EQ(MatchFields(bar, "x|"), (V{"x", ""}));
  EXPECT_EQ(MatchFields(bar, "x|y|z"), (V{"x", "y|z"}));
}

TEST(LoghubReaderTest, PathologicalBacktrackingIsBounded) {
  LoghubLineParser p("<A> <B> <C> <D> <E> <F>: <G>;");
  ASSERT_TRUE(p.ok());
  std::string line;
  for (int i = 0; i < 5000; ++i) line += "x ";
  std::vector<std::string_view> f;
  EXPECT_FALSE(p.Match(line, &f));  // no ';' at the end: must give up, not hang
  // The required literals are present but the line still cannot match: the
  // memoized search gives a definite answer.
  line = "a b c d e f: g";
  for (int i = 0; i < 200; ++i) line += " x";
  line += ";z";
  EXPECT_FALSE(p.Match(line, &f));
  // And a hard line that does match is found.
  std::string ok = "a b c d e";
  for (int i = 0; i < 200; ++i) ok += " x";
  ok += ": g;";
  ASSERT_TRUE(p.Match(ok, &f));
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[4], "e");  // shortest fields first, as `.*?`
  EXPECT_EQ(f[5].size(), 2u * 200 - 1u);  // F takes "x x ... x"
  EXPECT_EQ(f[6], "g");
}

TEST(LoghubReaderTest, ParseMapsToLogRecord) {
  LoghubLineParser p(LoghubFormatFor("HDFS"));
  LogRecord rec;
  std::string err;
  ASSERT_TRUE(p.Parse("081109 203615 148 WARN dfs.DataNode: Got exception", &rec, &err));
  EXPECT_EQ(rec.body, "Got exception");
  EXPECT_EQ(rec.severity_number, 13);
  EXPECT_EQ(rec.severity_text, "WARN");
  EXPECT_EQ(rec.service, "dfs.DataNode");
  EXPECT_EQ(rec.time, 1226262975 * S);
  ASSERT_NE(FindAttribute(rec.attributes, "Pid"), nullptr);
  EXPECT_EQ(*FindAttribute(rec.attributes, "Pid"), "148");
  EXPECT_EQ(*FindAttribute(rec.attributes, "Date"), "081109");
  EXPECT_EQ(FindAttribute(rec.attributes, "Content"), nullptr);
  EXPECT_FALSE(p.Parse("garbage", &rec, &err));
  EXPECT_FALSE(err.empty());

  LoghubLineParser with_service(LoghubFormatFor("HDFS"), "hdfs");
  ASSERT_TRUE(with_service.Parse("081109 203615 148 INFO dfs.DataNode: x", &rec, nullptr));
  EXPECT_EQ(rec.service, "hdfs");
}

TEST(LoghubReaderTest, TimesPerSystem) {
  struct Case {
    const char* system;
    const char* line;
    TimeNs want;
  } cases[] = {
      {"Hadoop", "2015-10-18 18:01:47,978 INFO [main] org.A: x", 1445191307 * S + 978 * kNsPerMs},
      {"Spark", "17/06/09 20:10:40 INFO executor.B: y", 1497039040 * S},
      {"Zookeeper", "2015-07-29 17:41:44,747 - INFO  [N:C@1] - z", 1438191704 * S + 747 * kNsPerMs},
      // BGL: the unix column, refined by the fraction of the (local-time) Time field.
      {"BGL", "- 1117838570 2005.06.03 R02-M1-N0 2005-06-03-15.42.50.675872 R02-M1-N0 RAS KERNEL INFO cache",
       1117838570 * S + 675872000},
      {"HPC", "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State", 1077804742 * S},
      {"Linux", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: auth", 960995761 * S},
      {"Apache", "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", 1133671664 * S},
  };
  for (const auto& c : cases) {
    LoghubLineParser p(LoghubFormatFor(c.system));
    LogRecord rec;
    ASSERT_TRUE(p.Parse(c.line, &rec, nullptr)) << c.system;
    EXPECT_EQ(rec.time, c.want) << c.system;
  }
  // Unparseable time: record kept with time 0.
  LoghubLineParser p(LoghubFormatFor("Spark"));
  LogRecord rec;
  ASSERT_TRUE(p.Parse("xx/yy/zz 20:10:40 INFO a.B: y", &rec, nullptr));
  EXPECT_EQ(rec.time, 0);
}

TEST(LoghubReaderTest, ReaderCountsSkips) {
  std::string text =
      "081109 203615 148 INFO dfs.A: one\n"
      "\n"
      "not a log line\n"
      "081109 203616 149 ERROR dfs.B: two\r\n" +
      std::string("081109 203617 150 INFO dfs.C: ") + std::string(1 << 20, 'x') + "\n" +
      std::string("\0\xff\xfe", 3) + "\n" + "081109 203618 151 INFO dfs.D: \xc3\x28 bad utf8";
  auto r = LineReader::FromString(text);
  CollectingSink sink;
  ReadStats st;
  LoghubOptions o{LoghubFormatFor("HDFS"), ""};
  ASSERT_TRUE(ReadLoghub(*r, o, sink, &st).ok());
  ASSERT_EQ(sink.logs.size(), 4u);
  EXPECT_EQ(sink.logs[1].severity_number, 17);
  EXPECT_EQ(sink.logs[1].body, "two");
  EXPECT_EQ(sink.logs[2].body.size(), 1u << 20);
  EXPECT_EQ(sink.logs[3].body, "\xc3\x28 bad utf8");
  EXPECT_EQ(st.lines, 7u);
  EXPECT_EQ(st.records, 4u);
  EXPECT_EQ(st.skipped, 2u);

  // Oversized lines are counted too.
  auto r2 = LineReader::FromString(text, /*max_line=*/1000);
  ReadStats st2;
  CollectingSink sink2;
  ASSERT_TRUE(ReadLoghub(*r2, o, sink2, &st2).ok());
  EXPECT_EQ(sink2.logs.size(), 3u);
  EXPECT_EQ(st2.skipped, 3u);

  // Empty input, bad format.
  auto r3 = LineReader::FromString("");
  ReadStats st3;
  EXPECT_TRUE(ReadLoghub(*r3, o, sink, &st3).ok());
  EXPECT_EQ(st3.lines, 0u);
  LoghubOptions bad{"<Date", ""};
  auto r4 = LineReader::FromString("x\n");
  EXPECT_EQ(ReadLoghub(*r4, bad, sink, nullptr).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ReadLoghubFile("/nonexistent/file.log", o, sink, nullptr).code(), Status::Code::kIOError);
  EXPECT_EQ(ReadLoghubFile("/nonexistent/file.log", bad, sink, nullptr).code(),
            Status::Code::kInvalidArgument);
}

// Real data: every loghub_2k system parses with header fields equal to the
// structured CSV's columns.
TEST(LoghubReaderTest, RealLoghub2kMatchesStructuredCsv) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(TRIAD_SHARED_DATA_DIR) / "logs" / "loghub_2k_original";
  if (!fs::exists(root)) GTEST_SKIP() << "no " << root;
  int systems = 0;
  for (const char* sys : {"HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Linux", "Apache"}) {
    fs::path log = root / sys / (std::string(sys) + "_2k.log");
    fs::path structured = root / sys / (std::string(sys) + "_2k.log_structured.csv");
    if (!fs::exists(log) || !fs::exists(structured)) continue;
    ++systems;
    LoghubLineParser parser(LoghubFormatFor(sys));
    ASSERT_TRUE(parser.ok());
    std::unique_ptr<LineReader> lr, sr;
    ASSERT_TRUE(LineReader::Open(log.string(), &lr).ok());
    ASSERT_TRUE(LineReader::Open(structured.string(), &sr).ok());
    CsvReader csv(sr.get());
    std::vector<std::string_view> row;
    std::string err;
    ASSERT_EQ(csv.Next(&row, &err), CsvReader::Result::kRecord);
    std::vector<std::string> header(row.begin(), row.end());
    // LineId, <fields...>, EventId, EventTemplate
    ASSERT_EQ(header.size(), parser.field_names().size() + 3) << sys;
    for (size_t k = 0; k < parser.field_names().size(); ++k) EXPECT_EQ(header[k + 1], parser.field_names()[k]);
    std::string_view line;
    std::vector<std::string_view> fields;
    int lines = 0, matched = 0, equal = 0, timed = 0;
    LogRecord rec;
    while (lr->Next(&line)) {
      ++lines;
      std::string owned(line);
      if (!parser.Match(owned, &fields)) continue;
      ++matched;
      if (parser.Parse(owned, &rec, nullptr) && rec.time != 0) ++timed;
      if (csv.Next(&row, &err) != CsvReader::Result::kRecord) break;
      bool same = true;
      for (size_t k = 0; k < fields.size(); ++k)
        if (fields[k] != row[k + 1]) {
          same = false;
          if (equal + 5 > matched)  // print a few of the first mismatches
            ADD_FAILURE() << sys << " line " << lines << " field " << header[k + 1] << ": got '"
                          << fields[k] << "' want '" << row[k + 1] << "'";
        }
      equal += same;
    }
    std::cout << "[ loghub ] " << sys << ": " << lines << " lines, " << matched << " matched, "
              << equal << " equal to structured CSV, " << timed << " with a time\n";
    EXPECT_GE(equal, lines * 99 / 100) << sys;
    EXPECT_EQ(timed, matched) << sys;
  }
  if (systems == 0) GTEST_SKIP() << "no loghub systems under " << root;
}

}  // namespace
}  // namespace triad
