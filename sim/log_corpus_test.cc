#include "sim/log_corpus.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "parse/drain.h"

namespace triad {
namespace {

TEST(LogCorpusTest, AppendAndViews) {
  LogCorpus c;
  c.Append("a b");
  c.Append("");
  c.Append("ccc");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c.bytes(), 6u);
  EXPECT_EQ(c.line(0), "a b");
  EXPECT_EQ(c.line(1), "");
  EXPECT_EQ(c.line(2), "ccc");
  auto v = c.Views();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[2], "ccc");
}

TEST(LogCorpusTest, HdfsLikeDeterministicPerSeed) {
  LogCorpus a, b, c;
  GenerateHdfsLike(2000, {.seed = 7}, &a);
  GenerateHdfsLike(2000, {.seed = 7}, &b);
  GenerateHdfsLike(2000, {.seed = 8}, &c);
  ASSERT_EQ(a.size(), 2000u);
  ASSERT_EQ(a.size(), b.size());
  size_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.line(i), b.line(i));
    diff += a.line(i) != c.line(i);
  }
  EXPECT_GT(diff, 1000u);
}

// Drain with masking recovers the HDFS event types: at most a few templates
// per event type, and every event type's fixed words appear.
TEST(LogCorpusTest, HdfsLikeHasHdfsShapes) {
  LogCorpus c;
  GenerateHdfsLike(20000, {.seed = 3}, &c);
  DrainParser p;
  std::set<std::string> starts;
  for (size_t i = 0; i < c.size(); ++i) {
    std::string_view l = c.line(i);
    EXPECT_EQ(l.find('\n'), std::string_view::npos);
    EXPECT_NE(l.find("blk_"), std::string_view::npos) << l;
    p.Add(l);
  }
  EXPECT_GE(p.num_templates(), static_cast<size_t>(kHdfsLikeEventTypes) - 2);
  EXPECT_LE(p.num_templates(), static_cast<size_t>(2 * kHdfsLikeEventTypes));
  bool responder = false, stored = false, receiving = false;
  for (uint32_t id = 1; id <= p.num_templates(); ++id) {
    const std::string& t = p.TemplateText(id);
    responder |= t == "PacketResponder <*> for block <*> terminating";
    stored |= t.find("NameSystem.addStoredBlock: blockMap updated:") != std::string::npos;
    // (How "/10.251.30.6:33145" is masked is up to parse/masking.)
    receiving |= t.rfind("Receiving block <*> src: ", 0) == 0 && t.find(" dest: ") != std::string::npos;
  }
  EXPECT_TRUE(responder);
  EXPECT_TRUE(stored);
  EXPECT_TRUE(receiving);
}

TEST(LogCorpusTest, HdfsLikeHeader) {
  LogCorpus c;
  GenerateHdfsLike(100, {.seed = 1, .header = true}, &c);
  for (size_t i = 0; i < c.size(); ++i) {
    std::string_view l = c.line(i);
    EXPECT_EQ(l.substr(0, 4), "0811") << l;
    EXPECT_TRUE(l.find(" INFO dfs.") != std::string_view::npos ||
                l.find(" WARN dfs.") != std::string_view::npos)
        << l;
  }
}

TEST(LogCorpusTest, ManyTemplatesNewOnesEarly) {
  LogCorpus c;
  const size_t n = 20000;
  GenerateManyTemplates(n, 400, 5, &c);
  ASSERT_EQ(c.size(), n);
  DrainParser p;
  size_t new_first_half = 0, new_second_half = 0, changed = 0;
  for (size_t i = 0; i < n; ++i) {
    DrainMatch m = p.Add(c.line(i));
    if (m.is_new) (i < n / 10 ? new_first_half : new_second_half)++;
    changed += m.changed;
  }
  EXPECT_GT(new_first_half, 150u);
  EXPECT_GT(new_first_half, 2 * new_second_half);
  EXPECT_GT(changed, 50u);  // word variables make templates generalise
  LogCorpus again;
  GenerateManyTemplates(n, 400, 5, &again);
  for (size_t i = 0; i < n; i += 97) EXPECT_EQ(c.line(i), again.line(i));
}

}  // namespace
}  // namespace triad
