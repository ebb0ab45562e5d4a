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
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FILE* f = std::freopen(out.c_str(), "w", stdout);
    (void)f;
    execl(bin, bin, "serve", "--listen", "127.0.0.1:0", "--db", db.c_str(), "--token", "tok",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int port = 0;
  std::regex re("listening on http://127\\.0\\.0\\.1:(\\d+)");
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::smatch m;
    std::string text = testutil::ReadAll(out);
    if (std::regex_search(text, m, re)) port = std::stoi(m[1]);
    else std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(port, 0) << testutil::ReadAll(out);
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
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
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
