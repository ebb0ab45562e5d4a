#include "ingest/csv.h"

#include <gtest/gtest.h>

#include "ingest/read_stats.h"

namespace triad {
namespace {

std::vector<std::string> Split(std::string_view s, char delim = ',') {
  std::vector<std::string> out;
  EXPECT_TRUE(SplitCsvLine(s, &out, delim)) << s;
  return out;
}

using V = std::vector<std::string>;

TEST(CsvTest, SplitPlain) {
  EXPECT_EQ(Split("a,b,c"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split(""), (V{""}));
  EXPECT_EQ(Split(","), (V{"", ""}));
  EXPECT_EQ(Split("a,,"), (V{"a", "", ""}));
  EXPECT_EQ(Split("a;b", ';'), (V{"a", "b"}));
  EXPECT_EQ(Split(" a , b "), (V{" a ", " b "}));  // no trimming
}

TEST(CsvTest, SplitQuoted) {
  EXPECT_EQ(Split("\"a,b\",c"), (V{"a,b", "c"}));
  EXPECT_EQ(Split("\"he said \"\"hi\"\"\",x"), (V{"he said \"hi\"", "x"}));
  EXPECT_EQ(Split("\"\""), (V{""}));
  EXPECT_EQ(Split("\"\","), (V{"", ""}));
  EXPECT_EQ(Split("a,\"\""), (V{"a", ""}));
  EXPECT_EQ(Split("\"multi\nline\",2"), (V{"multi\nline", "2"}));
  EXPECT_EQ(Split("x,\"a\"\"\""), (V{"x", "a\""}));
  // Lenient: a quote inside an unquoted field and text after a closing quote are literal.
  EXPECT_EQ(Split("ab\"c,d"), (V{"ab\"c", "d"}));
  EXPECT_EQ(Split("\"ab\"c,d"), (V{"abc", "d"}));
  // Nezha's JSON log cells.
  EXPECT_EQ(Split("1,\"{\"\"log\"\":\"\"x, y\"\"}\""), (V{"1", "{\"log\":\"x, y\"}"}));
}

TEST(CsvTest, SplitIncomplete) {
  std::string storage;
  std::vector<std::string_view> f;
  EXPECT_EQ(SplitCsvRecord("\"abc", ',', &storage, &f), CsvSplit::kIncomplete);
  EXPECT_EQ(SplitCsvRecord("a,\"b\"\"", ',', &storage, &f), CsvSplit::kIncomplete);
  std::vector<std::string> owned;
  EXPECT_FALSE(SplitCsvLine("x,\"open", &owned));
}

struct Rec {
  CsvReader::Result res;
  std::vector<std::string> fields;
  uint64_t line;
};

std::vector<Rec> ReadAll(std::string_view text, size_t max_lines = 10000) {
  auto r = LineReader::FromString(text);
  CsvReader csv(r.get(), ',', max_lines);
  std::vector<Rec> out;
  std::vector<std::string_view> f;
  std::string err;
  for (;;) {
    auto res = csv.Next(&f, &err);
    if (res == CsvReader::Result::kEnd) break;
    Rec rec{res, {}, csv.line_number()};
    if (res == CsvReader::Result::kRecord) rec.fields.assign(f.begin(), f.end());
    else EXPECT_FALSE(err.empty());
    out.push_back(std::move(rec));
  }
  return out;
}

TEST(CsvTest, ReaderJoinsEmbeddedNewlines) {
  auto recs = ReadAll("h1,h2\n1,\"a\nb\nc\"\n2,x\r\n3,\"q\"\"\"\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1].fields, (V{"1", "a\nb\nc"}));
  EXPECT_EQ(recs[1].line, 2u);
  EXPECT_EQ(recs[2].fields, (V{"2", "x"}));
  EXPECT_EQ(recs[2].line, 5u);
  EXPECT_EQ(recs[3].fields, (V{"3", "q\""}));
}

TEST(CsvTest, UnterminatedQuoteCostsOneLine) {
  // The stray quote on line 2 never closes: line 2 is malformed, lines 3-4 are read again.
  auto recs = ReadAll("a,b\n1,\"oops\n2,x\n3,y\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1].res, CsvReader::Result::kMalformed);
  EXPECT_EQ(recs[1].line, 2u);
  EXPECT_EQ(recs[2].fields, (V{"2", "x"}));
  EXPECT_EQ(recs[2].line, 3u);
  EXPECT_EQ(recs[3].fields, (V{"3", "y"}));
}

TEST(CsvTest, RecordLineLimit) {
  // A quote that closes only after more than max lines: first line malformed, rest replayed.
  auto recs = ReadAll("\"a\nb\nc\nd\"\n", /*max_lines=*/3);
  ASSERT_GE(recs.size(), 2u);
  EXPECT_EQ(recs[0].res, CsvReader::Result::kMalformed);
  EXPECT_EQ(recs[1].fields, (V{"b"}));
  EXPECT_EQ(recs[1].line, 2u);
  // Within the limit it is one record.
  auto ok = ReadAll("\"a\nb\nc\nd\"\n", 10);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].fields, (V{"a\nb\nc\nd"}));
}

TEST(CsvTest, NulBytesAndInvalidUtf8AreData) {
  std::string text("a\0b,\xff\xfe\n", 7);
  auto recs = ReadAll(text);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].fields[0], std::string("a\0b", 3));
  EXPECT_EQ(recs[0].fields[1], "\xff\xfe");
}

TEST(CsvTest, FinishLineReaderCountsOversized) {
  std::string text = "short\n" + std::string(100, 'x') + "\nok\n";
  auto r = LineReader::FromString(text, /*max_line=*/50);
  std::string_view line;
  int n = 0;
  while (r->Next(&line)) ++n;
  EXPECT_EQ(n, 2);
  ReadStats st;
  EXPECT_TRUE(FinishLineReader(*r, &st).ok());
  EXPECT_EQ(st.skipped, 1u);
  EXPECT_TRUE(FinishLineReader(*r, nullptr).ok());
}

}  // namespace
}  // namespace triad
