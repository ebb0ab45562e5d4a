#include "parse/masking.h"

#include <gtest/gtest.h>

namespace triad {
namespace {

std::string M(std::string_view s, MaskOptions o = {}) {
  std::string out;
  MaskMessage(s, o, &out);
  return out;
}

TEST(MaskingTest, Numbers) {
  EXPECT_EQ(M("took 42 ms"), "took <*> ms");
  EXPECT_EQ(M("value=-3.5, next"), "value=<*>, next");
  EXPECT_EQ(M("size 1e5"), "size <*>");
  // Digits inside a word are left alone.
  EXPECT_EQ(M("node7 x86 ab12cd"), "node7 x86 ab12cd");
  EXPECT_EQ(M("a-12"), "a-<*>");
}

TEST(MaskingTest, HexAndUuid) {
  EXPECT_EQ(M("ptr 0x7fff1a2b done"), "ptr <*> done");
  EXPECT_EQ(M("hash deadbeef12345678"), "hash <*>");
  EXPECT_EQ(M("word deadbeef"), "word deadbeef");  // no digit: a word
  EXPECT_EQ(M("id 123e4567-e89b-12d3-a456-426614174000."), "id <*>.");
}

TEST(MaskingTest, Ipv4AndPort) {
  // Changed: a leading '/' now belongs to the address ("/ip:port" -> "<*>").
  EXPECT_EQ(M("from /10.251.73.220:50010 to 10.0.0.1"), "from <*> to <*>");
  EXPECT_EQ(M("peer=/10.0.0.1, x"), "peer=<*>, x");
  EXPECT_EQ(M("a/10.0.0.1"), "a/<*>");  // after a word: not a leading slash
  EXPECT_EQ(M("version 1.2.3"), "version <*>");  // a dotted number
  EXPECT_EQ(M("1.2.3.4.5"), "<*>");
}

TEST(MaskingTest, BlockIdsUrlsTimes) {
  EXPECT_EQ(M("block blk_-6952295868487656571 terminating"), "block <*> terminating");
  EXPECT_EQ(M("block blk_38865049064139660"), "block <*>");
  EXPECT_EQ(M("GET https://example.com/a?b=1 ok"), "GET <*> ok");
  EXPECT_EQ(M("at 2015-10-18 18:01:47,978 done"), "at <*> <*> done");
  EXPECT_EQ(M("ts=2020-01-02T03:04:05.123Z"), "ts=<*>");
}

TEST(MaskingTest, PathsAreConfigurable) {
  // Changed: paths are masked by default now.
  EXPECT_EQ(M("open /var/log/app.log failed"), "open <*> failed");
  MaskOptions o;
  o.paths = false;
  EXPECT_EQ(M("open /var/log/app.log failed", o), "open /var/log/app.log failed");
  MaskOptions none{false, false, false, false, false, false, false, false};
  EXPECT_EQ(M("x 42 blk_1 10.0.0.1", none), "x 42 blk_1 10.0.0.1");
}

TEST(MaskingTest, PathBoundaries) {
  // One '/' is enough; trailing sentence punctuation and closers stay outside.
  EXPECT_EQ(M("Resolved host to /default-rack"), "Resolved host to <*>");
  EXPECT_EQ(M("loading /home/x/a.rts: failed"), "loading <*>: failed");
  EXPECT_EQ(M("chdir(/p/gb1/x) failed"), "chdir(<*>) failed");
  EXPECT_EQ(M("dir='/tmp/a', ok"), "dir='<*>', ok");
  EXPECT_EQ(M("jar:file:/D:/x.jar!/y"), "jar:file:<*>");
  // Not a path: inside a word, a lone '/', a ratio.
  EXPECT_EQ(M("TCP/IP and / or"), "TCP/IP and / or");
  EXPECT_EQ(M("read/write"), "read/write");
}

TEST(MaskingTest, UnderscoreIds) {
  EXPECT_EQ(M("job job_1445144423722_0020 done"), "job <*> done");
  EXPECT_EQ(M("attempt_1445144423722_0020_m_000001_0 TaskAttempt"), "<*> TaskAttempt");
  EXPECT_EQ(M("block rdd_2_3 stored"), "block <*> stored");
  EXPECT_EQ(M("job_1445144423722_0020Job ended"), "<*> ended");
  // No all-digit part: a constant name.
  EXPECT_EQ(M("state FAIL_TASK_CLEANUP x_y2"), "state FAIL_TASK_CLEANUP x_y2");
}

TEST(MaskingTest, DigitLedWords) {
  EXPECT_EQ(M("took 65020ms (threshold=30000ms)"), "took <*> (threshold=<*>)");
  EXPECT_EQ(M("Temperature (41C) at 80x25, v 1.16ac"), "Temperature (<*>) at <*>, v <*>");
  EXPECT_EQ(M("CPU: L2 cache: 256K"), "CPU: L2 cache: <*>");
}

TEST(MaskingTest, UrlStopsAtClosersAndPunctuation) {
  EXPECT_EQ(M("Default file system [hdfs://host:8020]"), "Default file system [<*>]");
  EXPECT_EQ(M("see http://a.b/c."), "see <*>.");
  EXPECT_EQ(M("'spark://x:1' (akka.tcp://y)"), "'<*>' (<*>)");
}

TEST(MaskingTest, KeepsTokenCount) {
  std::string in =
      "a  1\t2.3.4.5:6 \x01\xff 0x \n http:// blk_ 12:34:56 2020-1-1 /a /1.2.3.4:5 a_1_ 9z. [x://]";
  std::vector<std::string_view> a, b;
  std::string out = M(in);
  SplitWhitespace(in, &a);
  SplitWhitespace(out, &b);
  EXPECT_EQ(a.size(), b.size());
}

TEST(MaskingTest, SplitWhitespace) {
  std::vector<std::string_view> t;
  SplitWhitespace("  a b\t\tc  ", &t);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], "a");
  EXPECT_EQ(t[2], "c");
  SplitWhitespace("   ", &t);
  EXPECT_TRUE(t.empty());
}

}  // namespace
}  // namespace triad
