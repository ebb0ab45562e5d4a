#include "ingest/session_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace triad {
namespace {

TEST(SessionFileTest, ParseKeySequence) {
  std::vector<uint32_t> k;
  EXPECT_TRUE(ParseKeySequence("5 22  5\t9,11 ", &k));
  EXPECT_EQ(k, (std::vector<uint32_t>{5, 22, 5, 9, 11}));
  EXPECT_TRUE(ParseKeySequence("", &k));
  EXPECT_TRUE(k.empty());
  EXPECT_FALSE(ParseKeySequence("5 0 3", &k));
  EXPECT_FALSE(ParseKeySequence("5 E3", &k));
  EXPECT_FALSE(ParseKeySequence("5x", &k));
  EXPECT_FALSE(ParseKeySequence("-5", &k));
  EXPECT_FALSE(ParseKeySequence("99999999999", &k));
}

TEST(SessionFileTest, CsvWithBadLinesCounted) {
  std::string data =
      "BlockId,Label,Split,EventSequence\n"
      "blk_1,Normal,train,22 5 5\n"
      "blk_2,Anomaly,test,22 5\n"
      "\n"
      "blk_3,Weird,train,1 2\n"
      "blk_4,Normal,train,1 x\n"
      "blk_5,Normal,train\n"
      "blk_6,0,train,\"3 4\"\n";
  auto r = LineReader::FromString(data);
  std::vector<Session> s;
  ReadStats st;
  ASSERT_TRUE(ReadSessions(*r, SessionFileFormat::kAuto, &s, nullptr, &st).ok());
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(st.skipped, 3u);
  EXPECT_EQ(st.records, 3u);
  EXPECT_EQ(s[0].id, "blk_1");
  EXPECT_EQ(s[0].label, 0);
  EXPECT_EQ(s[0].split, "train");
  EXPECT_EQ(s[0].keys, (std::vector<uint32_t>{22, 5, 5}));
  EXPECT_EQ(s[1].label, 1);
  EXPECT_EQ(s[1].split, "test");
  EXPECT_EQ(s[2].keys, (std::vector<uint32_t>{3, 4}));
  EXPECT_TRUE(IsTrainingSession(s[0]));
  EXPECT_FALSE(IsTrainingSession(s[1]));
  ASSERT_FALSE(st.errors.empty());
  EXPECT_NE(st.errors[0].find(":5:"), std::string::npos) << st.errors[0];
}

TEST(SessionFileTest, CsvHeaderMustHaveColumns) {
  auto r = LineReader::FromString("BlockId,Label\nblk_1,Normal\n");
  std::vector<Session> s;
  EXPECT_EQ(ReadSessions(*r, SessionFileFormat::kAuto, &s, nullptr, nullptr).code(),
            Status::Code::kInvalidArgument);
}

TEST(SessionFileTest, JsonlKeepsVocabulary) {
  std::string data =
      R"({"block_id": "blk_1", "label": 0, "split": "train", "event_ids": [22, 5], )"
      R"("templates": ["BLOCK* NameSystem.allocateBlock:<*>", "Receiving block <*>"]})"
      "\n"
      R"({"block_id": "blk_2", "label": 1, "split": "test", "event_ids": [5]})"
      "\n"
      "not json\n"
      R"({"block_id": "blk_3", "event_ids": [5, 0]})"
      "\n"
      R"({"block_id": "blk_4", "event_ids": [5], "templates": ["other text"]})"
      "\n";
  auto r = LineReader::FromString(data);
  std::vector<Session> s;
  SessionVocabulary v;
  ReadStats st;
  ASSERT_TRUE(ReadSessions(*r, SessionFileFormat::kAuto, &s, &v, &st).ok());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(st.skipped, 3u);  // bad JSON, key 0, conflicting template text
  EXPECT_EQ(s[1].label, 1);
  EXPECT_EQ(s[1].split, "test");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[22], "BLOCK* NameSystem.allocateBlock:<*>");
}

TEST(SessionFileTest, DeepLogFormat) {
  auto r = LineReader::FromString("5 5 22 11 \n\n22 5 9\n1 a\n");
  std::vector<Session> s;
  ReadStats st;
  ASSERT_TRUE(ReadSessions(*r, SessionFileFormat::kAuto, &s, nullptr, &st).ok());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(st.skipped, 1u);
  EXPECT_EQ(s[0].keys, (std::vector<uint32_t>{5, 5, 22, 11}));
  EXPECT_EQ(s[1].id, "line3");
  EXPECT_EQ(s[1].label, -1);
  EXPECT_TRUE(IsTrainingSession(s[1]));
}

TEST(SessionFileTest, RealHdfsFiles) {
  namespace fs = std::filesystem;
  std::string dir = std::string(TRIAD_SHARED_DATA_DIR) + "/logs/hdfs";
  if (!fs::exists(dir + "/hdfs_100k_sessions.csv.gz")) GTEST_SKIP() << "no HDFS data";
  std::vector<Session> csv, jsonl, dl;
  ReadStats a, b, c;
  SessionVocabulary v;
  ASSERT_TRUE(ReadSessionFile(dir + "/hdfs_100k_sessions.csv.gz", &csv, nullptr, &a).ok());
  ASSERT_TRUE(ReadSessionFile(dir + "/hdfs_100k_sessions.jsonl.gz", &jsonl, &v, &b).ok());
  ASSERT_TRUE(ReadSessionFile(dir + "/deeplog_hdfs_train", &dl, nullptr, &c).ok());
  EXPECT_EQ(a.skipped + b.skipped + c.skipped, 0u);
  ASSERT_EQ(csv.size(), 7940u);
  ASSERT_EQ(jsonl.size(), csv.size());
  EXPECT_EQ(dl.size(), 4855u);
  size_t train_normal = 0, train_anom = 0, test_normal = 0, test_anom = 0;
  for (size_t i = 0; i < csv.size(); ++i) {
    EXPECT_EQ(csv[i].keys, jsonl[i].keys);
    EXPECT_EQ(csv[i].label, jsonl[i].label);
    bool test = csv[i].split == "test";
    (test ? (csv[i].label ? test_anom : test_normal) : (csv[i].label ? train_anom : train_normal))++;
  }
  EXPECT_EQ(train_normal, 6096u);
  EXPECT_EQ(train_anom, 256u);
  EXPECT_EQ(test_normal, 1531u);
  EXPECT_EQ(test_anom, 57u);
  EXPECT_GE(v.size(), 15u);
}

}  // namespace
}  // namespace triad
