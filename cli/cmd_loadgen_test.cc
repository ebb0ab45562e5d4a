// `triad loadgen` against a real `triad serve` process (a short version of
// scripts/load_test.sh): zero loss with detection on, and 429s without a
// crash or a loss when the queue is tiny.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_test_util.h"
#include "serve/serve_test_util.h"

namespace triad {
namespace {

using json = nlohmann::json;
using testutil::ReadAll;
using testutil::Shell;

class LoadgenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("TRIAD_BIN");
    if (bin == nullptr || !std::filesystem::exists(bin)) GTEST_SKIP() << "TRIAD_BIN not set";
    bin_ = bin;
    dir_ = (std::filesystem::temp_directory_path() /
            ("triad_loadgen_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // Runs loadgen against `port`; returns its exit status, output in *out, JSON in *j.
  int Loadgen(int port, const std::string& args, std::string* out, json* j) {
    const std::string path = dir_ + "/result.json";
    std::filesystem::remove(path);
    int rc = Shell(bin_ + " loadgen --target http://127.0.0.1:" + std::to_string(port) +
                       " --services 5 --drain-timeout 60 --json " + path + " " + args,
                   out);
    *j = json::parse(ReadAll(path), nullptr, false);
    return rc;
  }
  bool Healthy(int port) {
    httplib::Client cli("127.0.0.1", port);
    auto r = cli.Get("/healthz");
    return r && r->status == 200;
  }
  std::string bin_, dir_;
};

TEST_F(LoadgenTest, EverythingAcknowledgedIsProcessedWithDetectionOn) {
  std::string out;
  ASSERT_EQ(Shell(bin_ + " simulate --out " + dir_ + "/train --services 5 --rps 20 --minutes 4 " +
                      "--train-minutes 4 --faults 0 --seed 3",
                  &out),
            0)
      << out;
  const std::string model = dir_ + "/model.json";
  ASSERT_EQ(Shell(bin_ + " train --out " + model + " --train-end-from " + dir_ +
                      "/train/ground_truth.json " + dir_ + "/train/traces.jsonl " + dir_ +
                      "/train/logs.jsonl " + dir_ + "/train/metrics.jsonl",
                  &out),
            0)
      << out;
  testutil::ServeProcess serve(bin_, {"--db", dir_ + "/s.db", "--model", model},
                               dir_ + "/serve.txt");
  ASSERT_GT(serve.port(), 0) << serve.output();
  json j;
  // Protobuf+gzip, then JSON into the same server: loadgen compares deltas.
  int rc = Loadgen(serve.port(), "--rps 20 --minutes 3 --batch 100 --clients 3 --gzip", &out, &j);
  EXPECT_EQ(rc, 0) << out;
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_TRUE(j["zero_loss"].get<bool>()) << out;
  EXPECT_GT(j["acked"]["spans"].get<uint64_t>(), 1000u);
  EXPECT_GT(j["acked"]["logs"].get<uint64_t>(), 100u);
  EXPECT_GT(j["acked"]["metrics"].get<uint64_t>(), 10u);
  EXPECT_EQ(j["acked"], j["sent"]) << out;  // no refusals at this rate: all sent was acked
  EXPECT_EQ(j["server_ingested"].get<double>(), j["acked"]["spans"].get<double>() +
                                                    j["acked"]["logs"].get<double>() +
                                                    j["acked"]["metrics"].get<double>());
  EXPECT_GT(j["server_rss_peak_bytes"].get<double>(), 0);  // from the server's /metrics
  EXPECT_GE(j["latency_ms"]["p99"].get<double>(), j["latency_ms"]["p50"].get<double>());
  rc = Loadgen(serve.port(), "--rps 20 --minutes 1 --batch 50 --clients 2 --format json --seed 9",
               &out, &j);
  EXPECT_EQ(rc, 0) << out;
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_TRUE(j["zero_loss"].get<bool>()) << out;
  EXPECT_NE(out.find("zero loss: PASS"), std::string::npos) << out;
  // The model scored windows: the server stored scores.
  httplib::Client cli("127.0.0.1", serve.port());
  auto r = cli.Get("/api/v1/scores?limit=10");
  ASSERT_TRUE(r);
  auto scores = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(scores.is_object()) << r->body;
  EXPECT_FALSE(scores["scores"].empty()) << r->body;
  EXPECT_EQ(serve.Stop(), 0);
}

TEST_F(LoadgenTest, OverloadGets429sAndNoCrashOrLoss) {
  // One queued batch at most: concurrent clients must see 429 with Retry-After.
  testutil::ServeProcess serve(bin_,
                               {"--db", dir_ + "/s.db", "--queue-batches", "1", "--queue-records",
                                "1", "--threads", "16"},
                               dir_ + "/serve.txt");
  ASSERT_GT(serve.port(), 0) << serve.output();
  std::string out;
  json j;
  int rc = Loadgen(serve.port(),
                   "--rps 40 --minutes 2 --batch 200 --clients 16 --duration 4 --expect-refusals",
                   &out, &j);
  EXPECT_EQ(rc, 0) << out;
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_GT(j["refused_429"].get<uint64_t>(), 0u) << out;
  EXPECT_GT(j["acked_requests"].get<uint64_t>(), 0u) << out;
  EXPECT_EQ(j["errors"].get<uint64_t>(), 0u) << out;
  EXPECT_TRUE(j["zero_loss"].get<bool>()) << out;
  EXPECT_TRUE(Healthy(serve.port()));
  EXPECT_EQ(serve.Stop(), 0) << serve.output();
}

TEST_F(LoadgenTest, UnreachableServerIsAnError) {
  std::string out;
  json j;
  // Port 1 on loopback: nothing listens there.
  EXPECT_EQ(Loadgen(1, "--minutes 1", &out, &j), 2) << out;
  EXPECT_NE(out.find("cannot read"), std::string::npos) << out;
}

}  // namespace
}  // namespace triad
