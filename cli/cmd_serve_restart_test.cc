// `triad serve` reliability as a process (issue 9): what was acknowledged is
// processed or persisted across a graceful shutdown (SIGTERM) and a restart,
// and across kill -9; the stored scores and anomalies then equal those of one
// uninterrupted run on the same data. Runs the real binary ($TRIAD_BIN).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "detect/baseline.h"
#include "detect/pipeline.h"
#include "serve/serve_test_util.h"
#include "serve/store.h"
#include "sim/simulator.h"

namespace triad {
namespace {

namespace fs = std::filesystem;

// Sum over all label sets of `name` in Prometheus text.
double MetricSum(const std::string& text, const std::string& name) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
  }
  return sum;
}

struct Counts {
  double ingested = 0, processed = 0, replayed = 0;
};

Counts GetCounts(httplib::Client* cli) {
  Counts c;
  auto r = cli->Get("/metrics");
  if (!r || r->status != 200) return c;
  c.ingested = MetricSum(r->body, "triad_ingested_records_total");
  c.processed = MetricSum(r->body, "triad_processed_records_total");
  c.replayed = MetricSum(r->body, "triad_journal_replayed_records_total");
  return c;
}

// Waits until the worker processed every record it accepted or replayed.
Counts WaitProcessed(httplib::Client* cli) {
  Counts c;
  for (int i = 0; i < 3000; ++i) {
    c = GetCounts(cli);
    if (c.ingested > 0 && c.processed == c.ingested + c.replayed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return c;
}

struct Stored {
  std::map<std::pair<std::string, TimeNs>, std::pair<double, bool>> scores;
  std::map<std::pair<std::string, TimeNs>, double> anomalies;
  size_t anomaly_rows = 0;
  std::map<int64_t, std::pair<std::string, uint64_t>> templates;  // id -> text, count
};

void ReadStore(const std::string& db, Stored* out) {
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(db, &store).ok()) << db;
  std::vector<StoredScore> scores;
  TimeQuery q;
  q.limit = 0;
  ASSERT_TRUE(store->QueryScores(q, &scores).ok());
  for (const auto& s : scores) out->scores[{s.service, s.start}] = {s.score, s.anomaly};
  std::vector<AnomalyRow> an;
  ASSERT_TRUE(store->QueryAnomalies(q, &an).ok());
  out->anomaly_rows = an.size();
  for (const auto& a : an) out->anomalies[{a.service, a.start}] = a.score;
  std::vector<TemplateRow> tpl;
  ASSERT_TRUE(store->ListTemplates(0, &tpl).ok());
  for (const auto& t : tpl) out->templates[t.id] = {t.text, t.count};
}

void ExpectSameVerdicts(const Stored& want, const Stored& got) {
  EXPECT_EQ(got.scores.size(), want.scores.size());
  size_t matched = 0;
  for (const auto& [key, v] : want.scores) {
    auto it = got.scores.find(key);
    if (it == got.scores.end()) {
      ADD_FAILURE() << "missing score " << key.first << " @" << key.second;
      continue;
    }
    EXPECT_NEAR(it->second.first, v.first, 1e-9 * std::max(1.0, std::abs(v.first)))
        << key.first << " @" << key.second;
    EXPECT_EQ(it->second.second, v.second) << key.first << " @" << key.second;
    ++matched;
  }
  EXPECT_EQ(matched, want.scores.size());
  // Each anomaly once (no slot written twice), the same ones.
  EXPECT_EQ(got.anomaly_rows, want.anomaly_rows);
  EXPECT_EQ(got.anomalies.size(), want.anomalies.size());
  for (const auto& [key, score] : want.anomalies)
    EXPECT_TRUE(got.anomalies.count(key)) << "missing anomaly " << key.first << " @" << key.second;
  // The log parser's state and counts: every log line learned exactly once.
  EXPECT_EQ(got.templates, want.templates);
}

class ServeRestartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* bin = std::getenv("TRIAD_BIN");
    if (bin == nullptr || !fs::exists(bin)) return;
    bin_ = bin;
    dir_ = (fs::temp_directory_path() / ("triad_serve_restart_" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
    SimConfig cfg;
    cfg.services = 5;
    cfg.minutes = 12;
    cfg.train_minutes = 6;
    cfg.faults = 2;
    cfg.rps = 5;
    GroundTruth truth;
    ASSERT_TRUE(SimulateToDir(cfg, dir_, false, &truth).ok());
    const std::vector<std::string> files = {dir_ + "/traces.jsonl", dir_ + "/logs.jsonl",
                                            dir_ + "/metrics.jsonl"};
    BaselineDetector det;
    std::vector<WindowFeatures> windows, train;
    ASSERT_TRUE(ReadWindows(files, ReadOptions(), det.config().window, &windows, nullptr).ok());
    for (const auto& w : windows)
      if (w.end <= truth.train_end) train.push_back(w);
    ASSERT_TRUE(det.Fit(train).ok());
    ASSERT_TRUE(det.Save(dir_ + "/model.json").ok());
    requests_ = new std::vector<testutil::ReplayRequest>;
    ASSERT_NO_FATAL_FAILURE(testutil::LoadOtlpReplay(files, requests_));
    ASSERT_GT(requests_->size(), 100u);

    // The reference: one uninterrupted run.
    reference_ = new Stored;
    const std::string db = dir_ + "/ref.db";
    testutil::ServeProcess serve(bin_, Args(db), dir_ + "/ref.out");
    ASSERT_GT(serve.port(), 0) << serve.output();
    httplib::Client cli("127.0.0.1", serve.port());
    cli.set_read_timeout(30, 0);
    ASSERT_NO_FATAL_FAILURE(testutil::PostOtlpReplay(*requests_, 0, requests_->size(), &cli));
    ref_counts_ = WaitProcessed(&cli);
    ASSERT_EQ(serve.Stop(), 0) << serve.output();
    ASSERT_NO_FATAL_FAILURE(ReadStore(db, reference_));
    ASSERT_GT(reference_->scores.size(), 20u);
    ASSERT_GT(reference_->anomalies.size(), 0u);
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
    delete requests_;
    delete reference_;
  }
  void SetUp() override {
    if (bin_.empty()) GTEST_SKIP() << "TRIAD_BIN not set";
    ASSERT_NE(reference_, nullptr);
  }
  // No wall-clock window close: the runs must not depend on timing.
  static std::vector<std::string> Args(const std::string& db) {
    return {"--db", db, "--model", dir_ + "/model.json", "--idle-close", "0"};
  }
  static size_t Half() { return requests_->size() / 2; }

  static std::string bin_, dir_;
  static std::vector<testutil::ReplayRequest>* requests_;
  static Stored* reference_;
  static Counts ref_counts_;
};

std::string ServeRestartTest::bin_, ServeRestartTest::dir_;
std::vector<testutil::ReplayRequest>* ServeRestartTest::requests_ = nullptr;
Stored* ServeRestartTest::reference_ = nullptr;
Counts ServeRestartTest::ref_counts_;

int ReplayedAtStart(const std::string& output) {
  std::smatch m;
  std::regex re("replayed (\\d+) records");
  return std::regex_search(output, m, re) ? std::stoi(m[1]) : -1;
}

TEST_F(ServeRestartTest, SigtermAndRestartGiveTheUninterruptedVerdicts) {
  const std::string db = dir_ + "/term.db";
  {
    testutil::ServeProcess serve(bin_, Args(db), dir_ + "/term1.out");
    ASSERT_GT(serve.port(), 0) << serve.output();
    EXPECT_EQ(ReplayedAtStart(serve.output()), 0) << serve.output();
    httplib::Client cli("127.0.0.1", serve.port());
    cli.set_read_timeout(30, 0);
    ASSERT_NO_FATAL_FAILURE(testutil::PostOtlpReplay(*requests_, 0, Half(), &cli));
    ASSERT_EQ(serve.Stop(), 0) << serve.output();  // no WaitProcessed: Stop must finish the queue
  }
  {
    testutil::ServeProcess serve(bin_, Args(db), dir_ + "/term2.out");
    ASSERT_GT(serve.port(), 0) << serve.output();
    // The open windows' records came back from the journal.
    EXPECT_GT(ReplayedAtStart(serve.output()), 0) << serve.output();
    httplib::Client cli("127.0.0.1", serve.port());
    cli.set_read_timeout(30, 0);
    ASSERT_NO_FATAL_FAILURE(testutil::PostOtlpReplay(*requests_, Half(), requests_->size(), &cli));
    WaitProcessed(&cli);
    ASSERT_EQ(serve.Stop(), 0) << serve.output();
  }
  Stored got;
  ASSERT_NO_FATAL_FAILURE(ReadStore(db, &got));
  ExpectSameVerdicts(*reference_, got);
}

TEST_F(ServeRestartTest, KillNineLosesNothingAcknowledged) {
  const std::string db = dir_ + "/kill.db";
  const size_t quarter = requests_->size() / 4;
  Counts first;
  {
    testutil::ServeProcess serve(bin_, Args(db), dir_ + "/kill1.out");
    ASSERT_GT(serve.port(), 0) << serve.output();
    httplib::Client cli("127.0.0.1", serve.port());
    cli.set_read_timeout(30, 0);
    ASSERT_NO_FATAL_FAILURE(testutil::PostOtlpReplay(*requests_, 0, quarter, &cli));
    first = GetCounts(&cli);
    ASSERT_EQ(serve.Stop(), 0) << serve.output();  // a checkpoint at the first quarter
  }
  Counts before;
  {
    // No checkpoint until the kill: batches processed, slots committed and log
    // lines learned after the quarter checkpoint must not count twice.
    std::vector<std::string> args = Args(db);
    args.insert(args.end(), {"--checkpoint-interval", "1h"});
    testutil::ServeProcess serve(bin_, args, dir_ + "/kill2.out");
    ASSERT_GT(serve.port(), 0) << serve.output();
    httplib::Client cli("127.0.0.1", serve.port());
    cli.set_read_timeout(30, 0);
    ASSERT_NO_FATAL_FAILURE(testutil::PostOtlpReplay(*requests_, quarter, Half(), &cli));
    before = GetCounts(&cli);  // acknowledged so far (processing may lag)
    serve.Signal(SIGKILL);    // no shutdown at all: queue, open windows, parser state lost
  }
  ASSERT_GT(before.ingested, 0);
  Counts after;
  {
    // A clean restart: no stale lock, the database opens, the journal replays.
    testutil::ServeProcess serve(bin_, Args(db), dir_ + "/kill3.out");
    ASSERT_GT(serve.port(), 0) << serve.output();
    const int replayed = ReplayedAtStart(serve.output());
    // Everything since the quarter checkpoint's replay start came back.
    EXPECT_GE(replayed, before.ingested) << serve.output();
    httplib::Client cli("127.0.0.1", serve.port());
    cli.set_read_timeout(30, 0);
    ASSERT_NO_FATAL_FAILURE(testutil::PostOtlpReplay(*requests_, Half(), requests_->size(), &cli));
    after = WaitProcessed(&cli);
    EXPECT_EQ(after.replayed, replayed);
    // Everything this run acknowledged or replayed was processed ...
    EXPECT_EQ(after.processed, after.ingested + after.replayed);
    // ... and over the runs every record was acknowledged exactly once.
    EXPECT_EQ(first.ingested + before.ingested + after.ingested, ref_counts_.ingested);
    ASSERT_EQ(serve.Stop(), 0) << serve.output();
  }
  Stored got;
  ASSERT_NO_FATAL_FAILURE(ReadStore(db, &got));
  ExpectSameVerdicts(*reference_, got);

  // A further restart with nothing new changes nothing (replay is idempotent).
  {
    testutil::ServeProcess serve(bin_, Args(db), dir_ + "/kill4.out");
    ASSERT_GT(serve.port(), 0) << serve.output();
    EXPECT_GT(ReplayedAtStart(serve.output()), 0) << serve.output();
    ASSERT_EQ(serve.Stop(), 0) << serve.output();
  }
  Stored again;
  ASSERT_NO_FATAL_FAILURE(ReadStore(db, &again));
  ExpectSameVerdicts(*reference_, again);
}

}  // namespace
}  // namespace triad
