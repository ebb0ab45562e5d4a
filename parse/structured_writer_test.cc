#include "parse/structured_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace triad {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(StructuredWriter, CsvField) {
  std::string out;
  AppendCsvField("plain text", &out);
  EXPECT_EQ(out, "plain text");
  out.clear();
  AppendCsvField("a,b \"c\"", &out);
  EXPECT_EQ(out, "\"a,b \"\"c\"\"\"");
  out.clear();
  AppendCsvField("cr\rhere", &out);
  EXPECT_EQ(out, "\"cr\rhere\"");
  out.clear();
  AppendCsvField(std::string_view("nul\0x", 5), &out);
  EXPECT_EQ(out, std::string("nul\0x", 5));
}

TEST(StructuredWriter, ParameterList) {
  EXPECT_EQ(LoghubParameterList("PacketResponder 1 for block blk_9 terminating",
                                "PacketResponder <*> for block <*> terminating"),
            "['1', 'blk_9']");
  // Partly masked tokens count; quotes and backslashes are escaped.
  EXPECT_EQ(LoghubParameterList("from /10.0.0.1:50010 it's a\\b", "from /<*> <*> <*>"),
            "['/10.0.0.1:50010', 'it\\'s', 'a\\\\b']");
  EXPECT_EQ(LoghubParameterList("no wildcards here", "no wildcards here"), "[]");
  // Template longer than the content: positions past the content are ignored.
  EXPECT_EQ(LoghubParameterList("a b", "a <*> <*>"), "['b']");
  EXPECT_EQ(EventId(12), "E12");
}

class StructuredWriterFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("triad_sw_test_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(StructuredWriterFile, FinalTemplateTextAndSpillRemoved) {
  std::string out = dir_ + "/structured.csv", spill = dir_ + "/spill";
  std::unique_ptr<StructuredCsvWriter> w;
  ASSERT_TRUE(StructuredCsvWriter::Open(out, spill, {"Date", "Level"}, &w).ok());
  EXPECT_TRUE(fs::exists(spill));
  ASSERT_TRUE(w->Add(1, {"081109", "INFO"}, "user alice logged in", 1).ok());
  ASSERT_TRUE(w->Add(2, {"081110", "WARN,X"}, "disk 3 is \"full\"", 2).ok());
  ASSERT_TRUE(w->Add(3, {"081111", "INFO"}, "user bob logged in", 1).ok());
  EXPECT_EQ(w->rows(), 3u);
  int calls = 0;
  Status s = w->Finish([&](uint32_t id) -> std::string_view {
    ++calls;
    return id == 1 ? "user <*> logged in" : "disk <*> is <*>";
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 2);  // once per id
  EXPECT_FALSE(fs::exists(spill));
  EXPECT_EQ(Slurp(out),
            "LineId,Date,Level,Content,EventId,EventTemplate,ParameterList\n"
            "1,081109,INFO,user alice logged in,E1,user <*> logged in,['alice']\n"
            "2,081110,\"WARN,X\",\"disk 3 is \"\"full\"\"\",E2,disk <*> is <*>,"
            "\"['3', '\"\"full\"\"']\"\n"
            "3,081111,INFO,user bob logged in,E1,user <*> logged in,['bob']\n");
}

TEST_F(StructuredWriterFile, SpillRemovedWithoutFinish) {
  std::string spill = dir_ + "/spill";
  {
    std::unique_ptr<StructuredCsvWriter> w;
    ASSERT_TRUE(StructuredCsvWriter::Open(dir_ + "/s.csv", spill, {}, &w).ok());
    ASSERT_TRUE(w->Add(1, {}, "x", 1).ok());
  }
  EXPECT_FALSE(fs::exists(spill));
  EXPECT_FALSE(fs::exists(dir_ + "/s.csv"));
}

TEST_F(StructuredWriterFile, OpenFailsInMissingDir) {
  std::unique_ptr<StructuredCsvWriter> w;
  Status s = StructuredCsvWriter::Open(dir_ + "/no/s.csv", dir_ + "/no/spill", {}, &w);
  EXPECT_FALSE(s.ok());
}

TEST_F(StructuredWriterFile, TemplatesCsvSkipsUnused) {
  std::string path = dir_ + "/templates.csv";
  std::vector<std::string> texts = {"a <*>", "b, c", "d"};
  std::vector<uint64_t> counts = {3, 1, 0};
  ASSERT_TRUE(WriteTemplatesCsv(
                  path, 3, [&](uint32_t id) -> std::string_view { return texts[id - 1]; },
                  [&](uint32_t id) { return counts[id - 1]; })
                  .ok());
  EXPECT_EQ(Slurp(path), "EventId,EventTemplate,Occurrences\nE1,a <*>,3\nE2,\"b, c\",1\n");
}

}  // namespace
}  // namespace triad
