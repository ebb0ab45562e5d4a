#include "ingest/ingest_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace triad {
namespace {

TEST(IngestLimitsTest, TruncateUtf8KeepsWholeCharacters) {
  std::string s = "ab\xC3\xA9" "cd";  // "abécd": é is 2 bytes at [2,4)
  EXPECT_FALSE(TruncateUtf8(&s, 6));
  EXPECT_EQ(s.size(), 6u);
  std::string cut = s;
  EXPECT_TRUE(TruncateUtf8(&cut, 3));  // would split é
  EXPECT_EQ(cut, "ab");
  cut = s;
  EXPECT_TRUE(TruncateUtf8(&cut, 4));
  EXPECT_EQ(cut, "ab\xC3\xA9");
  std::string euro = "\xE2\x82\xAC\xE2\x82\xAC";  // two 3-byte characters
  EXPECT_TRUE(TruncateUtf8(&euro, 5));
  EXPECT_EQ(euro, "\xE2\x82\xAC");
}

TEST(IngestLimitsTest, SpanStringsAndAttributesAreCutAndCounted) {
  IngestLimits lim;
  lim.max_string_bytes = 8;
  lim.max_attributes = 2;
  Span s;
  s.trace_id = "0123456789abcdef";
  s.span_id = "01234567";
  s.name = "a-very-long-operation";
  s.attributes = {{"k1", "short"}, {"k2", "longer than eight"}, {"k3", "x"}, {"k4", "y"}};
  ReadStats st;
  ApplyIngestLimits(lim, &s, &st);
  EXPECT_EQ(s.trace_id, "01234567");
  EXPECT_EQ(s.span_id, "01234567");
  EXPECT_EQ(s.name, "a-very-l");
  ASSERT_EQ(s.attributes.size(), 2u);
  EXPECT_EQ(s.attributes[1].second, "longer t");
  EXPECT_EQ(st.truncated, 3u);  // trace id, name, k2's value
  EXPECT_EQ(st.dropped_attributes, 2u);
  const std::string msg = IngestLimitsMessage(st, lim);
  EXPECT_NE(msg.find("3 value(s) truncated to 8 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 attribute(s) dropped"), std::string::npos) << msg;
  EXPECT_EQ(IngestLimitsMessage(ReadStats(), lim), "");
}

TEST(IngestLimitsTest, JsonNestingIsCheckedOutsideStrings) {
  IngestLimits lim;
  lim.max_depth = 3;
  EXPECT_TRUE(CheckJsonLimits(R"({"a":[{"b":1}]})", lim, "doc").ok());
  Status deep = CheckJsonLimits(R"({"a":[{"b":[1]}]})", lim, "doc");
  EXPECT_EQ(deep.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(deep.message().find("deeper than 3 levels (max_depth)"), std::string::npos);
  // Brackets inside strings (also after an escaped quote) do not count.
  EXPECT_TRUE(CheckJsonLimits(R"({"a":"[[[[\"[[[[","b":[1]})", lim, "doc").ok());
  // Closing brackets first do not buy extra depth.
  EXPECT_FALSE(CheckJsonLimits("]]]]][[[[", lim, "doc").ok());
  lim.max_bytes = 4;
  Status big = CheckJsonLimits("[1,2,3]", lim, "doc");
  EXPECT_NE(big.message().find("max_bytes"), std::string::npos);
}

}  // namespace
}  // namespace triad
