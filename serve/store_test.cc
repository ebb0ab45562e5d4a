#include "serve/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace triad {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("triad_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

AnomalyRow Anomaly(const std::string& svc, TimeNs start, double score) {
  AnomalyRow a;
  a.service = svc;
  a.start = start;
  a.end = start + 30 * kNsPerSec;
  a.score = score;
  a.threshold = 4;
  a.model = "baseline.json";
  a.summary = "trace:p95_ms 900 vs 100";
  a.evidence_json = R"({"spans":[]})";
  a.detected = 123;
  return a;
}

TEST_F(StoreTest, AnomaliesPersistAndFilterByServiceAndTime) {
  {
    std::unique_ptr<Store> s;
    ASSERT_TRUE(Store::Open(path_, &s).ok());
    for (int i = 0; i < 6; ++i) {
      AnomalyRow a = Anomaly(i % 2 ? "cart" : "db", 1000 * kNsPerSec + i * 30 * kNsPerSec, i);
      ASSERT_TRUE(s->AddAnomaly(&a).ok());
      EXPECT_EQ(a.id, i + 1);
    }
  }
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal") || std::filesystem::exists(path_));
  std::unique_ptr<Store> s;
  ASSERT_TRUE(Store::Open(path_, &s).ok());  // reopen: data survived
  std::vector<AnomalyRow> rows;
  ASSERT_TRUE(s->QueryAnomalies({}, &rows).ok());
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].start, 1000 * kNsPerSec + 5 * 30 * kNsPerSec);  // newest first
  TimeQuery q;
  q.service = "cart";
  q.from = 1000 * kNsPerSec + 30 * kNsPerSec;
  q.to = 1000 * kNsPerSec + 4 * 30 * kNsPerSec;
  ASSERT_TRUE(s->QueryAnomalies(q, &rows).ok());
  ASSERT_EQ(rows.size(), 2u);  // i = 1, 3
  EXPECT_EQ(rows[0].service, "cart");
  EXPECT_DOUBLE_EQ(rows[0].score, 3);
  EXPECT_EQ(rows[0].evidence_json, R"({"spans":[]})");
  AnomalyRow one;
  ASSERT_TRUE(s->GetAnomaly(rows[1].id, &one).ok());
  EXPECT_DOUBLE_EQ(one.score, 1);
  EXPECT_EQ(s->GetAnomaly(999, &one).code(), Status::Code::kNotFound);
  q = TimeQuery();
  q.limit = 2;
  ASSERT_TRUE(s->QueryAnomalies(q, &rows).ok());
  EXPECT_EQ(rows.size(), 2u);
}

TEST_F(StoreTest, ScoresUpdateServicesAndRetentionDeletesOldRows) {
  std::unique_ptr<Store> s;
  ASSERT_TRUE(Store::Open(path_, &s).ok());
  const TimeNs w = 30 * kNsPerSec;
  ASSERT_TRUE(s->InTransaction([&] {
                 for (int i = 0; i < 4; ++i)
                   TRIAD_RETURN_IF_ERROR(s->AddScore({"cart", i * w, (i + 1) * w, 1.0 + i, i == 2}, 5));
                 return Status::OK();
               }).ok());
  // A late, older window does not replace the latest score.
  ASSERT_TRUE(s->AddScore({"cart", -w, 0, 9, true}, 5).ok());
  std::vector<ServiceRow> svcs;
  ASSERT_TRUE(s->ListServices(&svcs).ok());
  ASSERT_EQ(svcs.size(), 1u);
  EXPECT_EQ(svcs[0].windows, 5u);
  EXPECT_EQ(svcs[0].anomalies, 2u);
  EXPECT_EQ(svcs[0].last_window, 3 * w);
  EXPECT_DOUBLE_EQ(svcs[0].last_score, 4);
  EXPECT_FALSE(svcs[0].last_anomaly);
  EXPECT_EQ(svcs[0].first_seen, -w);
  std::vector<StoredScore> scores;
  ASSERT_TRUE(s->QueryScores({}, &scores).ok());
  ASSERT_EQ(scores.size(), 5u);
  EXPECT_EQ(scores[0].start, -w);  // oldest first

  AnomalyRow old = Anomaly("cart", 0, 7), recent = Anomaly("cart", 3 * w, 8);
  ASSERT_TRUE(s->AddAnomaly(&old).ok());
  ASSERT_TRUE(s->AddAnomaly(&recent).ok());
  uint64_t deleted = 0;
  ASSERT_TRUE(s->DeleteOlderThan(2 * w, &deleted).ok());
  EXPECT_EQ(deleted, 1u + 3u);  // one anomaly, scores at -w, 0, w
  std::vector<AnomalyRow> rows;
  ASSERT_TRUE(s->QueryAnomalies({}, &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].start, 3 * w);
}

TEST_F(StoreTest, FailedTransactionRollsBack) {
  std::unique_ptr<Store> s;
  ASSERT_TRUE(Store::Open(path_, &s).ok());
  Status st = s->InTransaction([&] {
    AnomalyRow a = Anomaly("x", 0, 1);
    TRIAD_RETURN_IF_ERROR(s->AddAnomaly(&a));
    return Status::IOError("boom");
  });
  EXPECT_FALSE(st.ok());
  std::vector<AnomalyRow> rows;
  ASSERT_TRUE(s->QueryAnomalies({}, &rows).ok());
  EXPECT_TRUE(rows.empty());
}

TEST_F(StoreTest, EdgesTemplatesModels) {
  std::unique_ptr<Store> s;
  ASSERT_TRUE(Store::Open(path_, &s).ok());
  ASSERT_TRUE(s->AddEdge("gw", "cart", 10, 100).ok());
  ASSERT_TRUE(s->AddEdge("gw", "cart", 5, 50).ok());
  ASSERT_TRUE(s->AddEdge("cart", "db", 1, 70).ok());
  std::vector<EdgeRow> edges;
  ASSERT_TRUE(s->ListEdges(&edges).ok());
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[1].caller, "gw");
  EXPECT_EQ(edges[1].calls, 15u);
  EXPECT_EQ(edges[1].last_seen, 100);

  ASSERT_TRUE(s->UpsertTemplate({1, "user <*> logged in", 5, 10, 20}).ok());
  ASSERT_TRUE(s->UpsertTemplate({2, "disk full", 9, 11, 12}).ok());
  ASSERT_TRUE(s->UpsertTemplate({1, "user <*> logged <*>", 7, 10, 30}).ok());
  std::vector<TemplateRow> t;
  ASSERT_TRUE(s->ListTemplates(10, &t).ok());
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].text, "disk full");  // most frequent first
  EXPECT_EQ(t[1].text, "user <*> logged <*>");
  EXPECT_EQ(t[1].count, 7u);

  ModelRow m{0, "baseline.json", "baseline", "/m/baseline.json", 1, 4.5, R"({"window_s":30})", 1};
  ASSERT_TRUE(s->AddModel(&m).ok());
  ModelRow m2 = m;
  m2.name = "new.json";
  ASSERT_TRUE(s->AddModel(&m2).ok());
  std::vector<ModelRow> models;
  ASSERT_TRUE(s->ListModels(&models).ok());
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].name, "new.json");
  EXPECT_DOUBLE_EQ(models[1].threshold, 4.5);
}

TEST_F(StoreTest, UnopenablePathIsAnError) {
  std::unique_ptr<Store> s;
  Status st = Store::Open((dir_ / "no/such/dir/x.db").string(), &s);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(s, nullptr);
}

}  // namespace
}  // namespace triad
