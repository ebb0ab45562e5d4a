#include "ingest/json_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace triad {
namespace {

using nlohmann::json;

TEST(JsonUtilTest, NormalizeTraceId) {
  EXPECT_EQ(NormalizeTraceId("0AF7651916CD43DD8448EB211C80319C"), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(NormalizeTraceId(" abc "), "abc");
  EXPECT_EQ(NormalizeTraceId("CvdlGRbNQ92ESOshHIAxnA=="), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(NormalizeTraceId("t61rcWkgMzE="), "b7ad6b7169203331");
  EXPECT_EQ(NormalizeTraceId("t61rcWkgMzE_"), "t61rcWkgMzE_");  // no padding: kept
  EXPECT_EQ(NormalizeTraceId("span-0001"), "span-0001");
  EXPECT_EQ(NormalizeTraceId("t61rcWkg!zE="), "t61rcWkg!zE=");
  EXPECT_EQ(NormalizeTraceId(""), "");
  EXPECT_TRUE(IsAllZeroId("0000"));
  EXPECT_FALSE(IsAllZeroId(""));
  EXPECT_FALSE(IsAllZeroId("0001"));
}

TEST(JsonUtilTest, Integers) {
  int64_t i = 0;
  uint64_t u = 0;
  EXPECT_TRUE(JsonToInt64(json("1700000000000000001"), &i));
  EXPECT_EQ(i, 1700000000000000001);
  EXPECT_TRUE(JsonToInt64(json(1700000000000000001LL), &i));
  EXPECT_EQ(i, 1700000000000000001);
  EXPECT_TRUE(JsonToInt64(json("-5"), &i));
  EXPECT_EQ(i, -5);
  EXPECT_TRUE(JsonToInt64(json(2.0), &i));
  EXPECT_FALSE(JsonToInt64(json(2.5), &i));
  EXPECT_FALSE(JsonToInt64(json("12x"), &i));
  EXPECT_FALSE(JsonToInt64(json("99999999999999999999"), &i));
  EXPECT_FALSE(JsonToInt64(json(true), &i));
  EXPECT_FALSE(JsonToInt64(json(""), &i));
  EXPECT_TRUE(JsonToUint64(json("18446744073709551615"), &u));
  EXPECT_EQ(u, 18446744073709551615ull);
  EXPECT_FALSE(JsonToUint64(json(-1), &u));
  EXPECT_FALSE(JsonToUint64(json("-1"), &u));
}

TEST(JsonUtilTest, DoublesAndText) {
  double d = 0;
  EXPECT_TRUE(JsonToDouble(json("NaN"), &d));
  EXPECT_TRUE(std::isnan(d));
  EXPECT_TRUE(JsonToDouble(json("-Infinity"), &d));
  EXPECT_TRUE(std::isinf(d) && d < 0);
  EXPECT_TRUE(JsonToDouble(json("2.5e3"), &d));
  EXPECT_EQ(d, 2500);
  EXPECT_FALSE(JsonToDouble(json("abc"), &d));
  EXPECT_EQ(FormatDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatDouble(3), "3");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::infinity()), "Inf");
  EXPECT_EQ(JsonValueToText(json::parse(R"({"b":[1,"x",true,null],"a":1.5})")),
            R"({"a":1.5,"b":[1,"x",true,null]})");
  EXPECT_EQ(JsonValueToText(json(nullptr)), "");
  EXPECT_EQ(JsonValueToText(json(-3)), "-3");
}

TEST(JsonUtilTest, ParseJsonTextReportsTruncation) {
  json j;
  std::string err;
  bool truncated = false;
  EXPECT_TRUE(ParseJsonText(R"({"a":1})", &j, &err, &truncated));
  EXPECT_FALSE(ParseJsonText("{", &j, &err, &truncated));
  EXPECT_TRUE(truncated);
  EXPECT_FALSE(ParseJsonText("{\"resourceSpans\": [  ", &j, &err, &truncated));
  EXPECT_TRUE(truncated);
  EXPECT_FALSE(ParseJsonText("{broken", &j, &err, &truncated));
  EXPECT_FALSE(truncated);
  EXPECT_FALSE(err.empty());
  EXPECT_FALSE(ParseJsonText("1e99999", &j, &err, &truncated));
  EXPECT_FALSE(truncated);
}

TEST(JsonUtilTest, SemanticConventions) {
  Span s;
  s.kind = SpanKind::kClient;
  s.attributes = {{"http.method", "GET"},
                  {"http.target", "/t"},
                  {"url.full", "http://x/t"},
                  {"http.status_code", "abc"},
                  {"http.response.status_code", "404"},
                  {"server.address", "backend"},
                  {"host.name", "h"}};
  FillSpanFromSemanticConventions(&s);
  EXPECT_EQ(s.http_method, "GET");
  EXPECT_EQ(s.http_url, "http://x/t");  // full URL preferred
  EXPECT_EQ(s.http_status_code, 404);
  EXPECT_EQ(s.peer, "backend");
  EXPECT_EQ(s.host, "h");
  Span server;
  server.kind = SpanKind::kServer;
  server.attributes = {{"server.address", "me"}, {"http.status_code", "1000"}};
  FillSpanFromSemanticConventions(&server);
  EXPECT_EQ(server.peer, "");
  EXPECT_EQ(server.http_status_code, 0);
}

}  // namespace
}  // namespace triad
