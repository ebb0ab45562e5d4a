#include "parse/parallel_drain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ingest/csv.h"
#include "ingest/line_reader.h"
#include "sim/log_corpus.h"
#include "sim/rng.h"

namespace triad {
namespace {

// Everything observable about a parse of `lines`.
struct Result {
  std::vector<DrainMatch> matches;
  std::vector<std::vector<std::string>> params;
  std::vector<std::string> templates;
  std::vector<uint64_t> occurrences;
  size_t relookups = 0;
};

void Finish(const DrainParser& p, Result* r) {
  for (uint32_t id = 1; id <= p.num_templates(); ++id) {
    r->templates.push_back(p.TemplateText(id));
    r->occurrences.push_back(p.Occurrences(id));
  }
}

Result Serial(const std::vector<std::string_view>& lines, const DrainConfig& cfg) {
  DrainParser p(cfg);
  Result r;
  r.params.resize(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) r.matches.push_back(p.Add(lines[i], &r.params[i]));
  Finish(p, &r);
  return r;
}

// Feeds `lines` in batches of `batch` (0: random sizes in [0, 3000]).
Result Parallel(const std::vector<std::string_view>& lines, const DrainConfig& cfg, int threads,
                size_t batch) {
  DrainParser p(cfg);
  ParallelDrain pd(&p, threads);
  Result r;
  Rng rng(99);
  std::vector<DrainMatch> out;
  std::vector<std::vector<std::string>> params;
  size_t i = 0;
  while (i < lines.size()) {
    size_t b = batch ? batch : rng.Below(3001);
    size_t e = std::min(lines.size(), i + b);
    std::vector<std::string_view> chunk(lines.begin() + i, lines.begin() + e);
    pd.AddBatch(chunk, &out, &params);
    EXPECT_EQ(out.size(), chunk.size());
    EXPECT_EQ(params.size(), chunk.size());
    r.matches.insert(r.matches.end(), out.begin(), out.end());
    for (auto& x : params) r.params.push_back(std::move(x));
    i = e;
  }
  Finish(p, &r);
  r.relookups = pd.relookups();
  return r;
}

void ExpectSame(const Result& want, const Result& got, const std::string& what) {
  ASSERT_EQ(want.matches.size(), got.matches.size()) << what;
  for (size_t i = 0; i < want.matches.size(); ++i) {
    const DrainMatch &a = want.matches[i], &b = got.matches[i];
    ASSERT_EQ(a.template_id, b.template_id) << what << " message " << i;
    ASSERT_EQ(a.is_new, b.is_new) << what << " message " << i;
    ASSERT_EQ(a.changed, b.changed) << what << " message " << i;
    ASSERT_EQ(want.params[i], got.params[i]) << what << " message " << i;
  }
  EXPECT_EQ(want.templates, got.templates) << what;
  EXPECT_EQ(want.occurrences, got.occurrences) << what;
}

// Batch sizes: 1 and 7 take the small-batch (calling thread) path, 100 leaves
// some workers idle, 20000 spans several rounds, 0 is random sizes.
const std::vector<size_t> kAllBatches = {1, 7, 100, 1000, 20000, 0};

void CheckAllConfigs(const std::vector<std::string_view>& lines, const DrainConfig& cfg,
                     const std::string& name, const std::vector<size_t>& batches = kAllBatches) {
  Result want = Serial(lines, cfg);
  for (int threads : {1, 2, 3, 8}) {
    for (size_t batch : batches) {
      Result got = Parallel(lines, cfg, threads, batch);
      ExpectSame(want, got,
                 name + " threads=" + std::to_string(threads) + " batch=" + std::to_string(batch));
      if (threads == 1 || (batch != 0 && batch < 32)) {
        EXPECT_EQ(got.relookups, 0u);
      }
    }
  }
}

TEST(ParallelDrainTest, HandMadeLines) {
  std::vector<std::string> owned = {
      "PacketResponder 1 for block blk_123 terminating",
      "PacketResponder 2 for block blk_-456 terminating",
      "user alice logged in",
      "user bob logged in",
      "user alice logged in twice",
      "",
      "   ",
      "Receiving block blk_1 src: /10.0.0.1:5000 dest: /10.0.0.2:50010",
      "Receiving block blk_2 src: /10.0.0.3:5001 dest: /10.0.0.4:50010",
      "connection from 10.1.2.3 closed",
      "connection to db-1 closed",
      "connection to db-2 closed",
      "\xff\xfe binary \x01 bytes",
      "user carol logged out",
      "user dave logged in",
  };
  std::vector<std::string_view> lines(owned.begin(), owned.end());
  // Repeat so that later copies match learned templates.
  for (int r = 0; r < 3; ++r)
    for (size_t i = 0; i < owned.size(); ++i) lines.push_back(owned[i]);
  CheckAllConfigs(lines, DrainConfig{}, "hand-made");
  DrainConfig nomask;
  nomask.mask = false;
  CheckAllConfigs(lines, nomask, "hand-made nomask");
}

TEST(ParallelDrainTest, EmptyBatch) {
  DrainParser p;
  ParallelDrain pd(&p, 3);
  std::vector<DrainMatch> out(5);
  std::vector<std::vector<std::string>> params(5);
  pd.AddBatch({}, &out, &params);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(params.empty());
  EXPECT_EQ(p.num_templates(), 0u);
  pd.AddBatch({"a b c"}, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].is_new);
}

TEST(ParallelDrainTest, EveryLineNew) {
  // Distinct token counts: every line creates a template.
  std::vector<std::string> owned;
  for (int i = 1; i <= 300; ++i) {
    std::string s;
    for (int k = 0; k < i; ++k) s += (k ? " w" : "w") + std::to_string(k % 2 ? 0 : 1) + "x";
    owned.push_back(s);
  }
  std::vector<std::string_view> lines(owned.begin(), owned.end());
  Result want = Serial(lines, DrainConfig{});
  for (const DrainMatch& m : want.matches) ASSERT_TRUE(m.is_new);
  for (int threads : {2, 8}) {
    Result got = Parallel(lines, DrainConfig{}, threads, lines.size());
    ExpectSame(want, got, "all new threads=" + std::to_string(threads));
    // Only the first message's lookup (against the empty tree) is current.
    EXPECT_EQ(got.relookups, lines.size() - 1);
  }
}

TEST(ParallelDrainTest, ThreadCount) {
  DrainParser p;
  EXPECT_EQ(ParallelDrain(&p, 1).threads(), 1);
  EXPECT_EQ(ParallelDrain(&p, 3).threads(), 3);
  EXPECT_GE(ParallelDrain(&p, 0).threads(), 1);
  EXPECT_GE(ParallelDrain(&p, -1).threads(), 1);
}

TEST(ParallelDrainTest, GeneratedManyTemplates) {
  LogCorpus c;
  GenerateManyTemplates(50000, 600, 11, &c);
  CheckAllConfigs(c.Views(), DrainConfig{}, "many-templates", {7, 1000, 20000, 0});
}

TEST(ParallelDrainTest, HdfsLikeSteadyStateReusesLookups) {
  LogCorpus c;
  GenerateHdfsLike(60000, {.seed = 4}, &c);
  std::vector<std::string_view> lines = c.Views();
  std::vector<std::string_view> train(lines.begin(), lines.begin() + 30000);
  std::vector<std::string_view> test(lines.begin() + 30000, lines.end());
  DrainParser serial;
  for (auto l : train) serial.Add(l);
  DrainParser p;
  ParallelDrain pd(&p, 4);
  std::vector<DrainMatch> out;
  pd.AddBatch(train, &out);
  size_t before = pd.relookups();
  pd.AddBatch(test, &out);
  // Once the templates are known, (almost) every parallel lookup is reused.
  EXPECT_LT(pd.relookups() - before, test.size() / 100);
  for (size_t i = 0; i < test.size(); ++i) {
    DrainMatch m = serial.Add(test[i]);
    ASSERT_EQ(m.template_id, out[i].template_id) << i;
    ASSERT_EQ(m.changed, out[i].changed) << i;
  }
}

// The loghub 2k sample of 8 systems, one after the other (many new templates).
TEST(ParallelDrainTest, Loghub2k) {
  namespace fs = std::filesystem;
  const std::string dir = std::string(TRIAD_SHARED_DATA_DIR) + "/logs/loghub_2k_original";
  const char* systems[] = {"HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Linux", "Apache"};
  std::vector<std::string> owned;
  for (const char* s : systems) {
    std::string path = dir + "/" + s + "/" + s + "_2k.log_structured.csv";
    if (!fs::exists(path)) GTEST_SKIP() << "loghub 2k data absent: " << path;
    std::unique_ptr<LineReader> lr;
    ASSERT_TRUE(LineReader::Open(path, &lr).ok());
    CsvReader csv(lr.get());
    std::vector<std::string_view> f;
    std::string err;
    ASSERT_EQ(csv.Next(&f, &err), CsvReader::Result::kRecord);
    auto it = std::find(f.begin(), f.end(), "Content");
    ASSERT_NE(it, f.end()) << path;
    size_t ci = it - f.begin();
    for (;;) {
      CsvReader::Result r = csv.Next(&f, &err);
      if (r == CsvReader::Result::kEnd) break;
      if (r == CsvReader::Result::kRecord && ci < f.size()) owned.emplace_back(f[ci]);
    }
  }
  ASSERT_GT(owned.size(), 15000u);
  std::vector<std::string_view> lines(owned.begin(), owned.end());
  CheckAllConfigs(lines, DrainConfig{}, "loghub");
}

}  // namespace
}  // namespace triad
