#include "align/sessions.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ingest/csv.h"
#include "ingest/session_file.h"

namespace triad {
namespace {

ParsedLine L(uint32_t key, TimeNs t, std::string service, std::string content, uint64_t line) {
  ParsedLine p;
  p.key = key;
  p.time = t;
  p.service = std::move(service);
  p.content = std::move(content);
  p.line = line;
  return p;
}

TEST(IdPatternTest, ParsesAndRejects) {
  IdPattern p;
  ASSERT_TRUE(ParseIdPattern("blk_-?[0-9]+", &p).ok());
  EXPECT_EQ(p.prefix, "blk_");
  EXPECT_TRUE(p.optional_minus);
  EXPECT_TRUE(p.charset['7']);
  EXPECT_FALSE(p.charset['a']);
  ASSERT_TRUE(ParseIdPattern("[0-9a-f]{32}", &p).ok());
  EXPECT_EQ(p.min_len, 32u);
  EXPECT_EQ(p.max_len, 32u);
  ASSERT_TRUE(ParseIdPattern("req\\.[A-Z0-9]{4,8}", &p).ok());
  EXPECT_EQ(p.prefix, "req.");
  EXPECT_FALSE(ParseIdPattern("blk_", &p).ok());
  EXPECT_FALSE(ParseIdPattern("blk_[0-9]", &p).ok());   // no repetition
  EXPECT_FALSE(ParseIdPattern("blk_[0-9+", &p).ok());   // unterminated
  EXPECT_FALSE(ParseIdPattern("a.b[0-9]+", &p).ok());   // unescaped '.'
  EXPECT_FALSE(ParseIdPattern("x[]+", &p).ok());
  EXPECT_FALSE(ParseIdPattern("x[0-9]{3,1}", &p).ok());
  EXPECT_FALSE(ParseIdPattern("x[0-9]+y", &p).ok());
}

TEST(IdPatternTest, FindsHdfsBlockIds) {
  std::vector<std::string> ids;
  FindIds("BLOCK* ask 10.250.14.224:50010 to replicate blk_-1608999687919862906 to "
          "datanode(s) 10.251.215.16:50010 and blk_42, again blk_-1608999687919862906.",
          HdfsBlockIdPattern(), &ids);
  EXPECT_EQ(ids, (std::vector<std::string>{"blk_-1608999687919862906", "blk_42"}));
  FindIds("no id here: blk_ blk_- xblk_12 blk_x", HdfsBlockIdPattern(), &ids);
  EXPECT_TRUE(ids.empty());
  FindIds("blk_7/blk_8", HdfsBlockIdPattern(), &ids);
  EXPECT_EQ(ids, (std::vector<std::string>{"blk_7", "blk_8"}));
}

TEST(IdPatternTest, ExactLengthTraceIds) {
  IdPattern p;
  ASSERT_TRUE(ParseIdPattern("[0-9a-f]{8}", &p).ok());
  std::vector<std::string> ids;
  FindIds("trace=0123abcd span 0123abcdef x-deadbeef deadbeef", p, &ids);
  // 10 hex chars is too long; "-deadbeef" is preceded by '-'.
  EXPECT_EQ(ids, (std::vector<std::string>{"0123abcd", "deadbeef"}));
}

TEST(SessionsTest, ById) {
  std::vector<ParsedLine> lines = {
      L(1, 100, "a", "alloc blk_1", 1),
      L(2, 50, "b", "recv blk_2", 2),
      L(3, 300, "a", "copy blk_1 to blk_2", 3),
      L(4, 0, "a", "no id", 4),
      L(5, 200, "a", "done blk_1", 5),
  };
  uint64_t unassigned = 0;
  auto s = SessionsById(lines, HdfsBlockIdPattern(), &unassigned);
  EXPECT_EQ(unassigned, 1u);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].id, "blk_1");
  EXPECT_EQ(s[0].keys, (std::vector<uint32_t>{1, 3, 5}));
  EXPECT_EQ(s[0].lines, (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(s[0].start, 100);
  EXPECT_EQ(s[0].end, 300);
  EXPECT_EQ(s[0].service, "a");
  EXPECT_EQ(s[1].id, "blk_2");
  EXPECT_EQ(s[1].keys, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(s[1].service, "b");
  EXPECT_EQ(s[1].start, 50);
}

TEST(SessionsTest, FixedAndSlidingWindows) {
  std::vector<ParsedLine> lines = {
      L(1, 10, "a", "", 1), L(2, 5, "b", "", 2), L(3, 25, "a", "", 3), L(4, 0, "a", "", 4),
      L(5, 10, "b", "", 5),
  };
  uint64_t untimed = 0;
  auto f = SessionsByTimeWindow(lines, 10, 10, false, &untimed);
  EXPECT_EQ(untimed, 1u);
  ASSERT_EQ(f.size(), 3u);  // [0,10) [10,20) [20,30)
  EXPECT_EQ(f[0].keys, (std::vector<uint32_t>{2}));
  EXPECT_EQ(f[1].keys, (std::vector<uint32_t>{1, 5}));  // stable for equal times
  EXPECT_EQ(f[1].start, 10);
  EXPECT_EQ(f[1].end, 20);
  EXPECT_EQ(f[2].keys, (std::vector<uint32_t>{3}));
  auto sl = SessionsByTimeWindow(lines, 20, 10);
  // Windows starting at -10, 0, 10, 20.
  ASSERT_EQ(sl.size(), 4u);
  EXPECT_EQ(sl[0].start, -10);
  EXPECT_EQ(sl[0].keys, (std::vector<uint32_t>{2}));
  EXPECT_EQ(sl[1].keys, (std::vector<uint32_t>{2, 1, 5}));
  EXPECT_EQ(sl[2].keys, (std::vector<uint32_t>{1, 5, 3}));
  EXPECT_EQ(sl[3].keys, (std::vector<uint32_t>{3}));
  auto ps = SessionsByTimeWindow(lines, 10, 10, /*per_service=*/true);
  ASSERT_EQ(ps.size(), 4u);  // (0,b) (10,a) (10,b) (20,a)
  EXPECT_EQ(ps[1].id, "10/a");
  EXPECT_EQ(ps[1].keys, (std::vector<uint32_t>{1}));
  EXPECT_EQ(ps[2].service, "b");
}

TEST(SessionsTest, ByService) {
  std::vector<ParsedLine> lines = {L(1, 1, "a", "", 1), L(2, 2, "b", "", 2),
                                   L(3, 3, "a", "", 3)};
  auto s = SessionsByService(lines);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].id, "a");
  EXPECT_EQ(s[0].keys, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(s[1].lines, (std::vector<uint64_t>{2}));
}

TEST(TemplateMatcherTest, WildcardsAndSpecificity) {
  TemplateMatcher m({{22, "BLOCK* NameSystem.allocateBlock:<*>"},
                     {11, "PacketResponder <*> for block <*> terminating"},
                     {10, "PacketResponder <*> <*> Exception <*>"},
                     {5, "Receiving block <*> src: /<*> dest: /<*>"},
                     {9, "<*>"}});
  EXPECT_EQ(m.Match("BLOCK* NameSystem.allocateBlock: /mnt/x/job.jar. blk_-16"), 22u);
  EXPECT_EQ(m.Match("PacketResponder 1 for block blk_3 terminating"), 11u);
  EXPECT_EQ(m.Match("PacketResponder  1   for block blk_3 terminating  "), 11u);
  EXPECT_EQ(m.Match("PacketResponder blk_3 2 Exception java.io.IOException: x"), 10u);
  EXPECT_EQ(m.Match("Receiving block blk_1 src: /10.0.0.1:1 dest: /10.0.0.2:50010"), 5u);
  EXPECT_EQ(m.Match("anything else"), 9u);  // the catch-all has the fewest literals
  TemplateMatcher strict({{1, "a <*> b"}, {2, "exact"}});
  EXPECT_EQ(strict.Match("a  x   b"), 1u);
  EXPECT_EQ(strict.Match("a b"), 0u);  // the spaces around <*> are literal
  EXPECT_EQ(strict.Match("a x b c"), 0u);
  EXPECT_EQ(strict.Match("exact"), 2u);
  EXPECT_EQ(strict.Match("exactly"), 0u);
  EXPECT_EQ(strict.Match("ab"), 0u);  // the literals "a " and " b" cannot overlap
}

// The loghub HDFS templates of hdfs_100k map the raw HDFS_2k lines
// consistently with the corrected ground truth: each ground-truth event is
// mapped to one key, and distinct events to distinct keys.
TEST(TemplateMatcherTest, HdfsRawLinesAgreeWithGroundTruth) {
  namespace fs = std::filesystem;
  std::string dir = std::string(TRIAD_SHARED_DATA_DIR) + "/logs/hdfs";
  std::string jsonl = dir + "/hdfs_100k_sessions.jsonl.gz";
  std::string structured = dir + "/hdfs_2k_labeled/HDFS_2k.log_structured_corrected.csv";
  if (!fs::exists(jsonl) || !fs::exists(structured)) GTEST_SKIP() << "no HDFS data";
  std::vector<Session> ignored;
  SessionVocabulary vocab;
  ASSERT_TRUE(ReadSessionFile(jsonl, &ignored, &vocab, nullptr).ok());
  ASSERT_GE(vocab.size(), 15u);
  TemplateMatcher m({vocab.begin(), vocab.end()});
  std::unique_ptr<LineReader> r;
  ASSERT_TRUE(LineReader::Open(structured, &r).ok());
  CsvReader csv(r.get());
  std::vector<std::string_view> f;
  std::string err;
  ASSERT_EQ(csv.Next(&f, &err), CsvReader::Result::kRecord);  // header
  ASSERT_EQ(f[6], "Content");
  std::map<std::string, std::set<uint32_t>> by_event;
  size_t rows = 0, matched = 0;
  while (csv.Next(&f, &err) == CsvReader::Result::kRecord) {
    ++rows;
    uint32_t k = m.Match(f[6]);
    if (k == 0) continue;
    ++matched;
    by_event[std::string(f[7])].insert(k);
  }
  EXPECT_EQ(rows, 2000u);
  EXPECT_GT(matched, 1600u);  // E3/E4/E8 of the 2k file do not occur in hdfs_100k
  std::set<uint32_t> used;
  for (const auto& [ev, keys] : by_event) {
    EXPECT_EQ(keys.size(), 1u) << ev;
    EXPECT_TRUE(used.insert(*keys.begin()).second) << ev << " shares key " << *keys.begin();
  }
}

}  // namespace
}  // namespace triad
