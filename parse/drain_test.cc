#include "parse/drain.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ingest/line_reader.h"
#include "ingest/loghub_reader.h"

namespace triad {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("triad_drain_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(DrainTest, SameTemplateMerged) {
  DrainParser p;
  auto a = p.Add("PacketResponder 1 for block blk_123 terminating");
  auto b = p.Add("PacketResponder 2 for block blk_-456 terminating");
  EXPECT_TRUE(a.is_new);
  EXPECT_FALSE(b.is_new);
  EXPECT_EQ(a.template_id, 1u);
  EXPECT_EQ(a.template_id, b.template_id);
  EXPECT_EQ(p.num_templates(), 1u);
  EXPECT_EQ(p.TemplateText(1), "PacketResponder <*> for block <*> terminating");
  EXPECT_EQ(p.Occurrences(1), 2u);
}

TEST(DrainTest, DifferentLengthsSeparate) {
  DrainParser p;
  auto a = p.Add("user alice logged in");
  auto b = p.Add("user alice logged in twice");
  auto c = p.Add("user bob logged in");
  EXPECT_NE(a.template_id, b.template_id);
  EXPECT_EQ(a.template_id, c.template_id);
  EXPECT_EQ(p.num_templates(), 2u);
  EXPECT_EQ(p.TemplateText(b.template_id), "user alice logged in twice");
}

TEST(DrainTest, DissimilarSameLengthSeparate) {
  DrainParser p;
  auto a = p.Add("open file alpha ok");
  auto b = p.Add("open socket beta failed now");
  auto c = p.Add("open disk gamma bad now");  // 2/5 equal to b: below 0.5
  EXPECT_NE(a.template_id, b.template_id);
  EXPECT_NE(b.template_id, c.template_id);
  EXPECT_EQ(p.num_templates(), 3u);
}

TEST(DrainTest, GeneralisationKeepsIdAndSetsChanged) {
  DrainParser p;
  auto a = p.Add("connection from alice closed by peer");
  EXPECT_FALSE(a.changed);
  auto b = p.Add("connection from bob closed by peer");
  EXPECT_EQ(b.template_id, a.template_id);
  EXPECT_TRUE(b.changed);
  EXPECT_FALSE(b.is_new);
  EXPECT_EQ(p.TemplateText(a.template_id), "connection from <*> closed by peer");
  auto c = p.Add("connection from carol closed by peer");
  EXPECT_FALSE(c.changed);
  EXPECT_EQ(p.Occurrences(a.template_id), 3u);
}

TEST(DrainTest, ParamsExtractedWithOriginalText) {
  DrainParser p;
  std::vector<std::string> params;
  p.Add("Received block blk_1 of size 67 from /10.0.0.1", &params);
  EXPECT_EQ(params.size(), 3u);  // masked positions are wildcards at once
  p.Add("Received block blk_-22 of size 99 from /10.0.0.2:5000", &params);
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0], "blk_-22");
  EXPECT_EQ(params[1], "99");
  EXPECT_EQ(params[2], "/10.0.0.2:5000");  // the whole original token
}

TEST(DrainTest, DifferentPlainWordsSplitShortMessages) {
  // A mismatch of two digit-free words weighs 3: short messages that differ
  // in one plain word are different events ...
  DrainParser p;
  uint32_t err = p.Add("Link error").template_id;
  uint32_t ok = p.Add("Link ok").template_id;
  EXPECT_NE(err, ok);
  uint32_t up = p.Add("cupsd startup succeeded").template_id;
  EXPECT_NE(p.Add("cupsd shutdown succeeded").template_id, up);
  // ... while a longer message still takes a varying word as a variable.
  uint32_t s1 = p.Add("session closed for user root").template_id;
  EXPECT_EQ(p.Add("session closed for user news").template_id, s1);
  EXPECT_EQ(p.TemplateText(s1), "session closed for user <*>");
  // A token with digits is a weak mismatch, as in Drain.
  uint32_t a = p.Add("fan A7 speed low").template_id;
  EXPECT_EQ(p.Add("fan B9 speed low").template_id, a);
}

TEST(DrainTest, StructureMismatchNeverJoins) {
  DrainParser p;
  // A different key, or an empty vs a set value, of a key=value token.
  uint32_t a = p.Add("session opened for user root by (uid=0)").template_id;
  uint32_t b = p.Add("session opened for user root by LOGIN(uid=0)").template_id;
  EXPECT_NE(a, b);
  uint32_t c = p.Add("auth failure; uid=0 tty=ssh rhost=10.0.0.1").template_id;
  uint32_t d = p.Add("auth failure; uid=0 tty=ssh rhost=").template_id;
  EXPECT_NE(c, d);
  // A token without letters or digits is format, not a value.
  uint32_t e = p.Add("Fan speeds ( 3552 3534 **** 3515 )").template_id;
  uint32_t f = p.Add("Fan speeds ( 3552 3534 3375 3515 )").template_id;
  EXPECT_NE(e, f);
  // An empty bracket pair is an empty value, not format.
  uint32_t g = p.Add("connection from 10.0.0.1 (host.example.com) at noon").template_id;
  EXPECT_EQ(p.Add("connection from 10.0.0.2 () at noon").template_id, g);
  EXPECT_EQ(p.TemplateText(g), "connection from <*> (<*>) at noon");
  EXPECT_EQ(p.Match("connection from 10.0.0.3 () at noon"), g);
}

TEST(DrainTest, GeneralisationKeepsKeysAndBrackets) {
  DrainParser p;
  uint32_t a = p.Add("auth failure; rhost=host-a user=root").template_id;
  auto b = p.Add("auth failure; rhost=host-b user=guest");
  EXPECT_EQ(b.template_id, a);
  EXPECT_TRUE(b.changed);
  EXPECT_EQ(p.TemplateText(a), "auth failure; rhost=<*> user=<*>");
  uint32_t c = p.Add("Saved output of task 'attempt-a' to x").template_id;
  EXPECT_EQ(p.Add("Saved output of task 'attempt-b' to x").template_id, c);
  EXPECT_EQ(p.TemplateText(c), "Saved output of task '<*>' to x");
  // Only punctuation is kept around the wildcard, not a word prefix.
  uint32_t d = p.Add("node nodeA up now").template_id;
  EXPECT_EQ(p.Add("node nodeB up now").template_id, d);
  EXPECT_EQ(p.TemplateText(d), "node <*> up now");
  // A generalised token matches without learning; params hold whole tokens.
  std::vector<std::string> params;
  EXPECT_EQ(p.Match("auth failure; rhost=host-c user=test"), a);
  EXPECT_EQ(p.Add("auth failure; rhost=host-c user=test", &params).template_id, a);
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0], "rhost=host-c");
  EXPECT_EQ(params[1], "user=test");
  // The empty key value does not match "rhost=<*>".
  EXPECT_EQ(p.Match("auth failure; rhost= user=test"), 0u);
}

TEST(DrainTest, LookupAgreesWithAddAndVersionMoves) {
  DrainParser p;
  const std::vector<std::string> lines = {
      "login user=a from (h1) ok", "login user=b from (h2) ok", "login user=c from () ok",
      "Link error",  "Link ok", "job job_1_2 done in 12ms", "job job_3_4 done in 7ms",
      "login user=d from (h3) ok"};
  DrainScratch s;
  for (const std::string& l : lines) {
    p.Prepare(l, &s);
    uint32_t hint = p.Lookup(s);
    uint64_t v = p.version();
    DrainMatch m = p.AddPrepared(s, hint, v);
    if (hint != 0) {
      EXPECT_EQ(m.template_id, hint) << l;
    }
    EXPECT_EQ(m.is_new, hint == 0) << l;
    EXPECT_EQ(p.version() != v, m.is_new || m.changed) << l;
  }
  EXPECT_EQ(p.TemplateText(1), "login user=<*> from (<*>) ok");
}

TEST(DrainTest, NoMaskingDigitsGoToWildcardChild) {
  DrainConfig cfg;
  cfg.mask = false;
  cfg.depth = 5;
  DrainParser p(cfg);
  auto a = p.Add("job 17 started on host");
  auto b = p.Add("job 18 started on host");
  EXPECT_EQ(a.template_id, b.template_id);
  EXPECT_EQ(p.TemplateText(a.template_id), "job <*> started on host");
}

TEST(DrainTest, MaxChildrenOverflow) {
  DrainConfig cfg;
  cfg.max_children = 3;
  DrainParser p(cfg);
  // Different first tokens: two own children, then the <*> overflow child.
  uint32_t a = p.Add("alpha x y z").template_id;
  uint32_t b = p.Add("beta x y z").template_id;
  uint32_t c = p.Add("gamma x y z").template_id;
  uint32_t d = p.Add("delta x y z").template_id;
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(c, d);  // both in the overflow child, 3/4 similar
  EXPECT_EQ(p.TemplateText(c), "<*> x y z");
  EXPECT_EQ(p.Match("epsilon x y z"), c);
  EXPECT_EQ(p.Match("alpha x y z"), a);
}

TEST(DrainTest, MatchDoesNotLearn) {
  DrainParser p;
  uint32_t id = p.Add("disk sda1 is full").template_id;
  p.Add("disk sdb2 is full");
  EXPECT_EQ(p.Match("disk sdc3 is full"), id);
  EXPECT_EQ(p.Match("disk sdc3 is empty"), 0u);
  EXPECT_EQ(p.Match("something else entirely"), 0u);
  EXPECT_EQ(p.num_templates(), 1u);
  EXPECT_EQ(p.Occurrences(id), 2u);
}

TEST(DrainTest, SaveLoadIdentity) {
  DrainConfig cfg;
  cfg.sim_threshold = 0.4;
  cfg.max_children = 4;
  DrainParser p(cfg);
  std::vector<std::string> lines = {
      "a b c d", "a b c e", "x y z", "q 1 2 3", "w e r t y", "w e r t u", "k1 k2",
      "m n o p", "n o p q", "o p q r", "p q r s", std::string("bin \xff\xfe tok\0x", 12), ""};
  for (const auto& l : lines) p.Add(l);
  std::string path = TempPath("model.json");
  ASSERT_TRUE(p.Save(path).ok());
  std::unique_ptr<DrainParser> q;
  Status st = DrainParser::Load(path, &q);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(q->num_templates(), p.num_templates());
  EXPECT_EQ(q->config().sim_threshold, 0.4);
  EXPECT_EQ(q->config().max_children, 4);
  for (uint32_t id = 1; id <= p.num_templates(); ++id) {
    EXPECT_EQ(q->TemplateText(id), p.TemplateText(id));
    EXPECT_EQ(q->Occurrences(id), p.Occurrences(id));
  }
  std::vector<std::string> probes = lines;
  probes.insert(probes.end(), {"a b c f", "v o p q", "x y", "w e r t z", "zz zz zz zz"});
  for (const auto& l : probes) EXPECT_EQ(q->Match(l), p.Match(l)) << l;
  // Learning continues identically.
  for (const auto& l : probes) {
    auto m1 = p.Add(l), m2 = q->Add(l);
    EXPECT_EQ(m1.template_id, m2.template_id) << l;
    EXPECT_EQ(m1.changed, m2.changed) << l;
  }
  std::remove(path.c_str());
}

TEST(DrainTest, LoadRefusesOtherFormatsAndVersions) {
  std::string path = TempPath("bad.json");
  std::unique_ptr<DrainParser> q;
  auto write = [&](const std::string& s) { std::ofstream(path) << s; };
  write("{\"format\":\"other\",\"version\":1}");
  EXPECT_FALSE(DrainParser::Load(path, &q).ok());
  write("{\"format\":\"triad-drain\",\"version\":99}");
  EXPECT_FALSE(DrainParser::Load(path, &q).ok());
  write("not json at all");
  EXPECT_FALSE(DrainParser::Load(path, &q).ok());
  write("{\"format\":\"triad-drain\",\"version\":1,\"config\":{\"depth\":4,\"sim_threshold\":0.5,"
        "\"max_children\":100,\"mask\":true},\"templates\":[{\"id\":2,\"tokens\":[],\"count\":1,"
        "\"path\":[]}]}");
  EXPECT_FALSE(DrainParser::Load(path, &q).ok());
  write("{\"format\":\"triad-drain\",\"version\":1,\"config\":{\"depth\":4,\"sim_threshold\":0.5,"
        "\"max_children\":100,\"mask\":true},\"templates\":[{\"id\":1,\"tokens\":[\"a\",\"b\"],"
        "\"count\":1,\"path\":[\"a\",\"b\",\"c\"]}]}");
  EXPECT_FALSE(DrainParser::Load(path, &q).ok());
  EXPECT_EQ(q, nullptr);
  EXPECT_FALSE(DrainParser::Load(TempPath("missing.json"), &q).ok());
  std::remove(path.c_str());
}

TEST(DrainTest, BadInputDoesNotCrash) {
  DrainParser p;
  std::vector<std::string> params;
  auto e = p.Add("", &params);
  EXPECT_EQ(p.TemplateText(e.template_id), "");
  EXPECT_EQ(p.Add("   \t ").template_id, e.template_id);
  std::string big(1 << 20, 'a');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = ' ';
  auto b = p.Add(big, &params);
  EXPECT_GT(b.template_id, 0u);
  std::string nul("a\0b c\0\0 d", 9);
  EXPECT_GT(p.Add(nul).template_id, 0u);
  EXPECT_EQ(p.Match(nul), p.Add(nul).template_id);
  std::string bad = "caf\xc3 \xff\xfe\xfd 12\x80 \xe2\x82";
  auto m = p.Add(bad, &params);
  EXPECT_EQ(p.Match(bad), m.template_id);
  std::string path = TempPath("bad_input.json");
  ASSERT_TRUE(p.Save(path).ok());
  std::unique_ptr<DrainParser> q;
  ASSERT_TRUE(DrainParser::Load(path, &q).ok());
  EXPECT_EQ(q->TemplateText(m.template_id), p.TemplateText(m.template_id));
  std::remove(path.c_str());
}

TEST(DrainTest, HdfsSampleTemplateCount) {
  std::string file = std::string(TRIAD_SHARED_DATA_DIR) + "/logs/loghub_2k_original/HDFS/HDFS_2k.log";
  if (!IsReadable(file)) GTEST_SKIP() << "no " << file;
  std::unique_ptr<LineReader> r;
  ASSERT_TRUE(LineReader::Open(file, &r).ok());
  LoghubLineParser lp(LoghubFormatFor("HDFS"));
  ASSERT_TRUE(lp.ok());
  DrainParser p;
  std::vector<std::string_view> fields;
  std::string_view line;
  int n = 0;
  while (r->Next(&line)) {
    if (!lp.Match(line, &fields)) continue;
    p.Add(fields[lp.content_index()]);
    ++n;
  }
  EXPECT_GT(n, 1900);
  // Loghub's ground truth has 14 HDFS templates; allow a small margin.
  EXPECT_GE(p.num_templates(), 10u);
  EXPECT_LE(p.num_templates(), 20u);
}

}  // namespace
}  // namespace triad
