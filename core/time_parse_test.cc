#include "core/time_parse.h"

#include <gtest/gtest.h>

namespace triad {
namespace {

constexpr TimeNs S = kNsPerSec;

TimeNs P(std::string_view s) {
  TimeNs t = -1;
  EXPECT_TRUE(ParseTimestamp(s, &t)) << s;
  return t;
}

bool Fails(std::string_view s) {
  TimeNs t = 12345;
  bool ok = ParseTimestamp(s, &t);
  EXPECT_EQ(t, 12345) << "output touched on failure: " << s;
  return !ok;
}

// Epoch values below were computed independently with `date -u -d ... +%s`.
TEST(TimeParseTest, LoghubFormats) {
  EXPECT_EQ(P("081109 203615"), 1226262975 * S);                          // HDFS
  EXPECT_EQ(P("2005-06-03-15.42.50.675872"), 1117813370 * S + 675872000);  // BGL
  EXPECT_EQ(P("17/06/09 20:10:40"), 1497039040 * S);                      // Spark
  EXPECT_EQ(P("2015-10-18 18:01:47,978"), 1445191307 * S + 978 * kNsPerMs);  // Hadoop
  EXPECT_EQ(P("2015-07-29 17:41:44,747"), 1438191704 * S + 747 * kNsPerMs);  // Zookeeper
  EXPECT_EQ(P("[Sun Dec 04 04:47:44 2005]"), 1133671664 * S);             // Apache
  EXPECT_EQ(P("Sun Dec 04 04:47:44 2005"), 1133671664 * S);
  EXPECT_EQ(P("Jun 14 15:16:01"), 960995761 * S);  // Linux: default year 2000
  EXPECT_EQ(P("Jun 14 2000 15:16:01"), 960995761 * S);
  EXPECT_EQ(P("14 Jun 2000 15:16:01"), 960995761 * S);
  EXPECT_EQ(P("1117838570"), 1117838570 * S);  // BGL/HPC unix column
}

TEST(TimeParseTest, SyslogYearOption) {
  TimeParseOptions o;
  o.default_year = 2005;
  TimeNs t;
  ASSERT_TRUE(ParseTimestamp("Jun  3 22:42:50", &t, o));
  EXPECT_EQ(t, 1117838570 * S);
  ASSERT_TRUE(ParseTimestamp("Feb 29 00:00:00", &t));  // 2000 is a leap year
  EXPECT_EQ(t, 951782400 * S);
  EXPECT_FALSE(ParseTimestamp("Feb 29 00:00:00", &t, o));  // 2005 is not
}

TEST(TimeParseTest, Iso8601) {
  EXPECT_EQ(P("2023-01-29T08:42:22.383150913Z"), 1674981742 * S + 383150913);
  EXPECT_EQ(P("2023-01-29T08:42:22.38259894Z"), 1674981742 * S + 382598940);
  EXPECT_EQ(P("2015-07-29T17:41:44+08:00"), 1438162904 * S);
  EXPECT_EQ(P("2015-07-29T17:41:44+0800"), 1438162904 * S);
  EXPECT_EQ(P("2015-07-29T17:41:44+08"), 1438162904 * S);
  EXPECT_EQ(P("2015-07-29T09:41:44-00:00"), 1438162904 * S);
  EXPECT_EQ(P("2015-07-29T04:11:44-05:30"), 1438162904 * S);
  EXPECT_EQ(P("2015-07-29t09:41:44z"), 1438162904 * S);
  EXPECT_EQ(P("2015-07-29 09:41:44 UTC"), 1438162904 * S);
  EXPECT_EQ(P("2000-02-29"), 951782400 * S);
  EXPECT_EQ(P("2000/02/29 00:00"), 951782400 * S);
  EXPECT_EQ(P("2005.06.03"), (1117813370 - 15 * 3600 - 42 * 60 - 50) * S);
  EXPECT_EQ(P("20150729T094144Z"), 1438162904 * S);
  // More than 9 fraction digits are truncated.
  EXPECT_EQ(P("2023-01-29T08:42:22.1234567899Z"), 1674981742 * S + 123456789);
  // Go's time.Time.String() (Nezha metric files).
  EXPECT_EQ(P("2023-01-29 08:41:09.043078357 +0000 UTC m=+0.119240217"), 1674981669 * S + 43078357);
  EXPECT_EQ(P("2023-01-29 16:41:09.5 +0800 CST"), 1674981669 * S + 500000000);
}

TEST(TimeParseTest, UnixUnitsByMagnitude) {
  EXPECT_EQ(P("1628342488"), 1628342488 * S);
  EXPECT_EQ(P("1628342488.5"), 1628342488 * S + 500000000);
  EXPECT_EQ(P("1628342488006"), 1628342488 * S + 6 * kNsPerMs);
  EXPECT_EQ(P("1628342488006123"), 1628342488 * S + 6123 * kNsPerUs);
  EXPECT_EQ(P("1674981742383150913"), 1674981742383150913);
  EXPECT_EQ(P("0"), 0);
  EXPECT_EQ(P("-1.5"), -1500000000);
  EXPECT_EQ(P(" 60 "), 60 * S);
}

TEST(TimeParseTest, Rejects) {
  EXPECT_TRUE(Fails(""));
  EXPECT_TRUE(Fails("   "));
  EXPECT_TRUE(Fails("-"));
  EXPECT_TRUE(Fails("."));
  EXPECT_TRUE(Fails("abc"));
  EXPECT_TRUE(Fails("2015-13-01 00:00:00"));
  EXPECT_TRUE(Fails("2015-02-30"));
  EXPECT_TRUE(Fails("2015-01-01 24:00:00"));
  EXPECT_TRUE(Fails("2015-01-01 10:60:00"));
  EXPECT_TRUE(Fails("2015-01-01 10:00:00 garbage"));
  EXPECT_TRUE(Fails("2015-01-01T10:00:00+25:00"));
  EXPECT_TRUE(Fails("Foo 14 15:16:01"));
  EXPECT_TRUE(Fails("081109 2036"));
  EXPECT_TRUE(Fails("99999999999999999999"));  // overflows int64
  EXPECT_TRUE(Fails("12e5"));
  EXPECT_TRUE(Fails("2015-07-29 17:41:44 XYZ"));  // unknown zone, no offset
  EXPECT_TRUE(Fails(std::string_view("2015-07-29\0 17:41:44", 20)));
}

TEST(TimeParseTest, Helpers) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(MonthFromName("jun"), 6);
  EXPECT_EQ(MonthFromName("September"), 9);
  EXPECT_EQ(MonthFromName("Sept"), 9);
  EXPECT_EQ(MonthFromName("Ju"), 0);
  EXPECT_EQ(MonthFromName("Junk"), 0);
}

}  // namespace
}  // namespace triad
