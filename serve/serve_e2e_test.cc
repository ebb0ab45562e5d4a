// End to end: the simulator's OTLP output replayed through HTTP (JSON and
// protobuf) into an in-process server gives the same window scores and
// anomalies as offline scoring (`triad detect`'s code path) of the same files.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "detect/baseline.h"
#include "detect/pipeline.h"
#include "ingest/line_reader.h"
#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"
#include "serve/ingest_server.h"
#include "serve/serve_test_util.h"
#include "sim/simulator.h"

namespace triad {
namespace {

using json = nlohmann::json;

TEST(ServeEndToEndTest, ReplayedSimulatorDataGivesOfflineVerdicts) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("triad_serve_e2e_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  SimConfig cfg;
  cfg.services = 6;
  cfg.minutes = 14;
  cfg.train_minutes = 7;
  cfg.faults = 2;
  cfg.rps = 6;
  GroundTruth truth;
  ASSERT_TRUE(SimulateToDir(cfg, dir.string(), false, &truth).ok());
  const std::vector<std::string> files = {(dir / "traces.jsonl").string(),
                                          (dir / "logs.jsonl").string(),
                                          (dir / "metrics.jsonl").string()};

  // Offline: what `triad train` + `triad detect` compute.
  BaselineDetector det;
  std::vector<WindowFeatures> windows;
  ASSERT_TRUE(ReadWindows(files, ReadOptions(), det.config().window, &windows, nullptr).ok());
  std::vector<WindowFeatures> train;
  for (const auto& w : windows)
    if (w.end <= truth.train_end) train.push_back(w);
  ASSERT_TRUE(det.Fit(train).ok());
  TimeNs lo = INT64_MAX, hi = INT64_MIN;
  for (const auto& w : windows) {
    lo = std::min(lo, w.start);
    hi = std::max(hi, w.end);
  }
  std::map<std::pair<std::string, TimeNs>, WindowScore> offline;
  size_t offline_anomalies = 0;
  for (auto& s : det.ScoreRange(windows, lo, hi)) {
    offline_anomalies += s.anomaly;
    offline[{s.service, s.start}] = s;
  }
  ASSERT_GT(offline_anomalies, 0u);

  // Online.
  PromRegistry metrics;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open((dir / "serve.db").string(), &store).ok());
  PipelineOptions po;
  po.drain_state_path = (dir / "serve.db.drain.json").string();
  OnlinePipeline pipeline(po, store.get(), &det, &metrics);
  ASSERT_TRUE(pipeline.Start().ok());
  ServerOptions so;
  so.port = 0;
  IngestServer server(so, &pipeline, store.get(), &metrics);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client cli("127.0.0.1", server.port());
  cli.set_read_timeout(30, 0);

  // Replay every line, merged by event time as exporters would send them;
  // every other line as protobuf.
  ASSERT_NO_FATAL_FAILURE(testutil::ReplayOtlpFiles(files, &cli));
  pipeline.Shutdown();  // what SIGTERM does: process everything, close the windows
  ASSERT_TRUE(pipeline.last_store_error().ok());

  auto scores_resp = cli.Get("/api/v1/scores?limit=1000000");
  ASSERT_TRUE(scores_resp);
  json scores = json::parse(scores_resp->body)["scores"];
  EXPECT_EQ(scores.size(), offline.size());
  size_t matched = 0;
  for (const auto& s : scores) {
    auto it = offline.find({s["service"].get<std::string>(), s["start_ns"].get<TimeNs>()});
    ASSERT_NE(it, offline.end()) << s.dump();
    const double want = it->second.score;
    EXPECT_NEAR(s["score"].get<double>(), want, 1e-6 * std::max(1.0, std::abs(want))) << s.dump();
    EXPECT_EQ(s["anomaly"].get<bool>(), it->second.anomaly) << s.dump();
    ++matched;
  }
  EXPECT_EQ(matched, offline.size());

  auto an = cli.Get("/api/v1/anomalies?evidence=1");
  ASSERT_TRUE(an);
  json anomalies = json::parse(an->body)["anomalies"];
  EXPECT_EQ(anomalies.size(), offline_anomalies);
  // Anomalies carry evidence, and some overlap an injected fault.
  size_t on_fault = 0;
  for (const auto& a : anomalies) {
    EXPECT_TRUE(a["evidence"]["contributions"].is_array());
    EXPECT_FALSE(a["evidence"]["contributions"].empty());
    for (const auto& f : truth.faults)
      if (a["start_ns"].get<TimeNs>() < f.end && a["end_ns"].get<TimeNs>() > f.start) {
        ++on_fault;
        break;
      }
  }
  EXPECT_GT(on_fault, 0u);
  // Filtering by service and time.
  std::string svc = anomalies[0]["service"];
  auto one = cli.Get(("/api/v1/anomalies?service=" + svc + "&from=" +
                      std::to_string(anomalies[0]["start_ns"].get<TimeNs>()) + "&to=" +
                      std::to_string(anomalies[0]["end_ns"].get<TimeNs>()))
                         .c_str());
  ASSERT_TRUE(one);
  json filtered = json::parse(one->body)["anomalies"];
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0]["id"], anomalies[0]["id"]);
  auto services = cli.Get("/api/v1/services");
  ASSERT_TRUE(services);
  EXPECT_EQ(json::parse(services->body)["services"].size(), truth.services.size());
  auto templates = cli.Get("/api/v1/templates");
  ASSERT_TRUE(templates);
  EXPECT_GT(json::parse(templates->body)["templates"].size(), 5u);
  server.Stop();
  EXPECT_TRUE(std::filesystem::exists(po.drain_state_path));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace triad
