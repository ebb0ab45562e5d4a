#include "ingest/line_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace triad {
namespace {

std::vector<std::string> ReadAllLines(LineReader& r) {
  std::vector<std::string> out;
  std::string_view line;
  while (r.Next(&line)) out.emplace_back(line);
  return out;
}

TEST(LineReader, SplitsLinesAndStripsCr) {
  auto r = LineReader::FromString("a\r\nbb\n\nccc");
  EXPECT_EQ(ReadAllLines(*r), (std::vector<std::string>{"a", "bb", "", "ccc"}));
  EXPECT_EQ(r->line_number(), 4u);
}

TEST(LineReader, SkipsOversizedLinesAndCountsThem) {
  std::string data = "short\n" + std::string(100, 'x') + "\nafter\n" + std::string(50, 'y');
  auto r = LineReader::FromString(data, /*max_line=*/20);
  EXPECT_EQ(ReadAllLines(*r), (std::vector<std::string>{"short", "after"}));
  EXPECT_EQ(r->oversized(), 2u);
  EXPECT_EQ(r->line_number(), 4u);
}

TEST(LineReader, ReadsGzipAndPlainFilesAlike) {
  auto dir = std::filesystem::temp_directory_path() / "triad_line_reader_test";
  std::filesystem::create_directories(dir);
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "line " + std::to_string(i) + "\n";
  auto plain = (dir / "p.txt").string();
  auto gz = (dir / "g.weird").string();  // gzip detected by content, not name
  FILE* f = fopen(plain.c_str(), "wb");
  fwrite(body.data(), 1, body.size(), f);
  fclose(f);
  gzFile g = gzopen(gz.c_str(), "wb");
  gzwrite(g, body.data(), body.size());
  gzclose(g);
  for (const auto& p : {plain, gz}) {
    std::unique_ptr<LineReader> r;
    ASSERT_TRUE(LineReader::Open(p, &r).ok());
    auto lines = ReadAllLines(*r);
    ASSERT_EQ(lines.size(), 100000u) << p;
    EXPECT_EQ(lines[99999], "line 99999");
    EXPECT_TRUE(r->status().ok());
  }
  std::filesystem::remove_all(dir);
}

TEST(LineReader, MissingFileIsAClearError) {
  std::unique_ptr<LineReader> r;
  Status s = LineReader::Open("/nonexistent/triad.log", &r);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("/nonexistent/triad.log"), std::string::npos);
}

TEST(LineReader, TruncatedGzipReportsCorruption) {
  auto path = (std::filesystem::temp_directory_path() / "triad_trunc.gz").string();
  std::string body(200000, 'a');
  for (size_t i = 0; i < body.size(); i += 37) body[i] = '\n';
  gzFile g = gzopen(path.c_str(), "wb");
  gzwrite(g, body.data(), body.size());
  gzclose(g);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  std::unique_ptr<LineReader> r;
  ASSERT_TRUE(LineReader::Open(path, &r).ok());
  ReadAllLines(*r);
  EXPECT_FALSE(r->status().ok());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace triad
