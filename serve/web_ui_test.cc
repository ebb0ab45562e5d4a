// The web UI: embedded assets served without the file system, and a
// headless-Chromium check that `triad serve`, fed a short simulator run,
// renders the swimlanes, the score timeline and one anomaly's evidence
// (DOM dump), and that its screenshot is the right size and not blank.
// The Chromium test also checks the Alertmanager webhook end to end: every
// anomaly the server stored was POSTed to an in-process receiver.
#include "serve/web_ui.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "detect/baseline.h"
#include "detect/pipeline.h"
#include "serve/ingest_server.h"
#include "serve/serve_test_util.h"
#include "sim/simulator.h"

namespace triad {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr char kChromium[] = "/usr/bin/chromium";

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

TEST(WebUiTest, AssetsAreEmbeddedAndServedWithoutTheFileSystem) {
  ASSERT_FALSE(WebAssets().empty());
  EXPECT_EQ(WebAssets()[0].path, "/");
  EXPECT_EQ(FindWebAsset("/ui/../etc/passwd"), nullptr);
  const WebAsset* page = FindWebAsset("/");
  ASSERT_NE(page, nullptr);
  // Every script and style sheet the page names is embedded; nothing external.
  for (const char* ref : {"/ui/app.js", "/ui/app.css"}) {
    EXPECT_NE(page->body.find(ref), std::string_view::npos) << ref;
    EXPECT_NE(FindWebAsset(ref), nullptr) << ref;
  }
  for (const WebAsset& a : WebAssets()) {
    std::string body(a.body);  // the SVG namespace is a name, not a fetch
    for (size_t p; (p = body.find("http://www.w3.org/2000/svg")) != std::string::npos;)
      body.erase(p, 26);
    EXPECT_EQ(body.find("http://"), std::string::npos) << a.path;
    EXPECT_EQ(a.body.find("https://"), std::string_view::npos) << a.path;
    EXPECT_EQ(a.body.find("innerHTML"), std::string_view::npos) << a.path;  // text nodes only
  }

  const fs::path dir = fs::temp_directory_path() / ("triad_web_ui_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  PromRegistry metrics;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open((dir / "ui.db").string(), &store).ok());
  OnlinePipeline pipeline(PipelineOptions(), store.get(), nullptr, &metrics);
  ASSERT_TRUE(pipeline.Start().ok());
  ServerOptions so;
  so.port = 0;
  so.token = "tok";
  IngestServer server(so, &pipeline, store.get(), &metrics);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client cli("127.0.0.1", server.port());
  auto r = cli.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);  // the page itself needs no token ...
  EXPECT_EQ(r->body, std::string(page->body));
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  r = cli.Get("/ui/app.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/javascript", 0), 0u);
  r = cli.Get("/api/v1/services");  // ... the data does
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  cli.set_bearer_token_auth("tok");
  for (const char* path : {"/ui/", "/ui/missing.js", "/ui/../../etc/passwd", "/index.html"}) {
    r = cli.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << path;
  }
  server.Stop();
  pipeline.Shutdown();
  fs::remove_all(dir);
}

// A decoded 8-bit RGB(A) PNG.
struct Png {
  uint32_t width = 0, height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels
};

uint32_t Be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// Returns an empty string on success, else what is wrong with `file`.
std::string DecodePng(const std::string& file, Png* png) {
  const std::string s = testutil::ReadAll(file);
  if (s.size() < 33 || s.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return "not a PNG";
  std::string idat;
  int depth = 0, type = 0, interlace = 0;
  for (size_t p = 8; p + 12 <= s.size();) {
    const uint32_t len = Be32(s, p);
    const std::string kind = s.substr(p + 4, 4);
    if (p + 12 + len > s.size()) return "truncated chunk";
    if (kind == "IHDR") {
      png->width = Be32(s, p + 8);
      png->height = Be32(s, p + 12);
      depth = uint8_t(s[p + 16]);
      type = uint8_t(s[p + 17]);
      interlace = uint8_t(s[p + 20]);
    } else if (kind == "IDAT") {
      idat.append(s, p + 8, len);
    }
    p += 12 + len;
  }
  if (depth != 8 || (type != 2 && type != 6) || interlace != 0)
    return "unsupported PNG (depth " + std::to_string(depth) + ", type " + std::to_string(type) + ")";
  png->channels = type == 6 ? 4 : 3;
  const size_t stride = size_t(png->width) * png->channels;
  std::vector<uint8_t> raw((stride + 1) * png->height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      raw_len != raw.size())
    return "bad IDAT";
  // Undo the per-row filters (PNG spec, section 9).
  png->pixels.assign(stride * png->height, 0);
  const int bpp = png->channels;
  for (size_t y = 0; y < png->height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &png->pixels[y * stride];
    const uint8_t* up = y > 0 ? out - stride : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= size_t(bpp) ? out[x - bpp] : 0, b = up ? up[x] : 0,
                c = up && x >= size_t(bpp) ? up[x - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: return "bad filter";
      }
      out[x] = uint8_t(in[x] + pred);
    }
  }
  return "";
}

std::string ChromiumCommand(const fs::path& profile, const std::string& what,
                            const std::string& url) {
  return std::string("timeout 120 ") + kChromium +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --user-data-dir=" + profile.string() + " " + what +
         " --window-size=1280,900 --virtual-time-budget=5000 '" + url + "'";
}

TEST(WebUiTest, HeadlessChromiumRendersSwimlanesTimelineAndEvidence) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " not installed";
  const char* bin = std::getenv("TRIAD_BIN");
  if (bin == nullptr || !fs::exists(bin)) GTEST_SKIP() << "TRIAD_BIN not set";
  const fs::path dir = fs::temp_directory_path() / ("triad_web_ui_cr_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);

  // A short simulator run and a baseline trained on its training prefix.
  SimConfig cfg;
  cfg.services = 6;
  cfg.minutes = 10;
  cfg.train_minutes = 5;
  cfg.faults = 2;
  cfg.rps = 6;
  GroundTruth truth;
  ASSERT_TRUE(SimulateToDir(cfg, (dir / "sim").string(), false, &truth).ok());
  const std::vector<std::string> files = {(dir / "sim/traces.jsonl").string(),
                                          (dir / "sim/logs.jsonl").string(),
                                          (dir / "sim/metrics.jsonl").string()};
  BaselineDetector det;
  std::vector<WindowFeatures> windows, train;
  ASSERT_TRUE(ReadWindows(files, ReadOptions(), det.config().window, &windows, nullptr).ok());
  for (const auto& w : windows)
    if (w.end <= truth.train_end) train.push_back(w);
  ASSERT_TRUE(det.Fit(train).ok());
  const std::string model = (dir / "model.json").string();
  ASSERT_TRUE(det.Save(model).ok());

  // `triad serve` with the model and an Alertmanager receiver; replay the run.
  testutil::WebhookReceiver alerts;
  const std::string db = (dir / "serve.db").string();
  testutil::ServeProcess serve(bin, {"--db", db, "--model", model, "--alert-webhook", alerts.url()},
                               (dir / "serve.out").string());
  ASSERT_GT(serve.port(), 0) << serve.output();
  const std::string base = "http://127.0.0.1:" + std::to_string(serve.port());
  httplib::Client cli("127.0.0.1", serve.port());
  cli.set_read_timeout(30, 0);
  ASSERT_NO_FATAL_FAILURE(testutil::ReplayOtlpFiles(files, &cli));
  // Wait until the worker has caught up: the score count stops changing.
  size_t scores = 0;
  for (int stable = 0, i = 0; stable < 3 && i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto r = cli.Get("/api/v1/scores?limit=1000000");
    ASSERT_TRUE(r);
    const size_t n = json::parse(r->body)["scores"].size();
    stable = n > 0 && n == scores ? stable + 1 : 0;
    scores = n;
  }
  ASSERT_GT(scores, truth.services.size() * 5);
  auto an = cli.Get("/api/v1/anomalies?evidence=1");
  ASSERT_TRUE(an);
  const json anomalies = json::parse(an->body)["anomalies"];
  ASSERT_FALSE(anomalies.empty());
  // An anomaly whose evidence has a trace holding one of its notable spans.
  int64_t with_trace = anomalies[0]["id"];
  bool has_trace = false;
  for (const auto& a : anomalies)
    if (!a["evidence"]["traces"].empty()) {
      with_trace = a["id"];
      has_trace = true;
      break;
    }

  // The overview: one swimlane cell per scored window, the anomalous ones
  // marked, and the timeline of one service.
  std::string dom;
  ASSERT_EQ(testutil::Shell(ChromiumCommand(dir / "profile1", "--dump-dom", base + "/"), &dom), 0)
      << dom;
  EXPECT_NE(dom.find("id=\"swimlanes\""), std::string::npos) << dom.substr(0, 4000);
  EXPECT_EQ(Count(dom, "<rect class=\"cell"), scores);
  EXPECT_GT(Count(dom, "cell anomalous"), 0u);
  EXPECT_NE(dom.find("id=\"score-timeline\""), std::string::npos);
  EXPECT_NE(dom.find("<polyline"), std::string::npos);
  for (const auto& s : truth.services) EXPECT_NE(dom.find(">" + s + "<"), std::string::npos) << s;

  // Click-through: one anomaly's evidence, with the offending spans outlined.
  ASSERT_EQ(testutil::Shell(ChromiumCommand(dir / "profile2", "--dump-dom",
                                            base + "/#/anomaly/" + std::to_string(with_trace)),
                            &dom),
            0);
  EXPECT_NE(dom.find("id=\"metric-chart\""), std::string::npos) << dom.substr(0, 4000);
  EXPECT_NE(dom.find("expected vs observed"), std::string::npos);
  EXPECT_NE(dom.find("Log templates"), std::string::npos);
  if (has_trace) {
    EXPECT_GT(Count(dom, "class=\"offending\""), 0u) << dom.substr(0, 4000);
    EXPECT_NE(dom.find("class=\"trace\""), std::string::npos);
  }

  // The screenshot: the right size, and not blank (coloured swimlane cells).
  const std::string shot = (dir / "ui.png").string();
  std::string out;
  ASSERT_EQ(testutil::Shell(ChromiumCommand(dir / "profile3", "--screenshot=" + shot, base + "/"),
                            &out),
            0)
      << out;
  Png png;
  ASSERT_EQ(DecodePng(shot, &png), "");
  EXPECT_EQ(png.width, 1280u);
  EXPECT_EQ(png.height, 900u);
  size_t non_white = 0, red = 0, green = 0;
  for (size_t i = 0; i + 2 < png.pixels.size(); i += png.channels) {
    const int r = png.pixels[i], g = png.pixels[i + 1], b = png.pixels[i + 2];
    non_white += r < 240 || g < 240 || b < 240;
    red += r > 150 && g < 80 && b < 80;
    green += g > 180 && r < 200 && b < 170;
  }
  const double pixels = double(png.width) * png.height;
  EXPECT_GT(non_white / pixels, 0.05) << non_white;
  EXPECT_GT(red / pixels, 0.001) << red;      // anomalous cells and the timeline's dots
  EXPECT_GT(green / pixels, 0.005) << green;  // normal cells
  if (const char* keep = std::getenv("TRIAD_UI_SCREENSHOT_OUT"))
    fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);

  // SIGTERM: the server closes its windows, and every stored anomaly was
  // POSTed to the webhook in Alertmanager's format.
  EXPECT_EQ(serve.Stop(), 0) << serve.output();
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(db, &store).ok());
  std::vector<AnomalyRow> rows;
  TimeQuery q;
  q.limit = 100000;
  ASSERT_TRUE(store->QueryAnomalies(q, &rows).ok());
  EXPECT_GE(rows.size(), anomalies.size());
  EXPECT_EQ(alerts.alerts(), rows.size());
  for (const auto& b : alerts.bodies()) {
    EXPECT_EQ(b["version"], "4");
    EXPECT_EQ(b["status"], "firing");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace triad
