// `triad serve` as a process: prints where it listens, ingests, and on
// SIGTERM processes what it accepted and exits 0.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "cli/cli_test_util.h"
#include "ingest/otlp_json.h"
#include "serve/serve_test_util.h"
#include "serve/store.h"

namespace triad {
namespace {

TEST(CmdServeTest, ListensIngestsAndStopsCleanlyOnSigterm) {
  const char* bin = std::getenv("TRIAD_BIN");
  if (bin == nullptr || !std::filesystem::exists(bin)) GTEST_SKIP() << "TRIAD_BIN not set";
  const auto dir = std::filesystem::temp_directory_path() /
                   ("triad_cmd_serve_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "out.txt").string();
  const std::string db = (dir / "t.db").string();
  testutil::ServeProcess serve(bin, {"--db", db, "--token", "tok"}, out);
  const int port = serve.port();
  ASSERT_GT(port, 0) << serve.output();
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  LogRecord l;
  l.time = 1700000000LL * kNsPerSec;
  l.service = "cart";
  l.body = "user 42 logged in";
  r = cli.Post("/v1/logs", WriteOtlpLogs({l, l}), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  cli.set_bearer_token_auth("tok");
  r = cli.Post("/v1/logs", WriteOtlpLogs({l, l}), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(serve.Stop(), 0);
  // The accepted logs were processed: their template is in the store.
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(db, &store).ok());
  std::vector<TemplateRow> t;
  ASSERT_TRUE(store->ListTemplates(10, &t).ok());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].count, 2u);
  EXPECT_TRUE(std::filesystem::exists(db + ".drain.json"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace triad
