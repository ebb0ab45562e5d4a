#include "serve/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace triad {
namespace {

namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("triad_journal_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    opts_.dir = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::pair<uint64_t, std::string>> ReadAll(const Journal& j, uint64_t from = 0) {
    std::vector<std::pair<uint64_t, std::string>> out;
    EXPECT_TRUE(j.Replay(from, [&](uint64_t seq, std::string_view p) {
                   out.emplace_back(seq, std::string(p));
                 }).ok());
    return out;
  }
  std::vector<fs::path> Segments() {
    std::vector<fs::path> v;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().extension() == ".seg") v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
  }
  static std::string Payload(int i) { return "batch-" + std::to_string(i) + std::string(i % 7, 'x'); }

  fs::path dir_;
  JournalOptions opts_;
};

TEST_F(JournalTest, RoundTripAcrossReopen) {
  std::vector<uint64_t> seqs;
  {
    std::unique_ptr<Journal> j;
    ASSERT_TRUE(Journal::Open(opts_, &j, nullptr).ok());
    for (int i = 0; i < 50; ++i) {
      uint64_t seq = 0;
      ASSERT_EQ(j->Append(Payload(i), &seq), Journal::Result::kOk);
      seqs.push_back(seq);
    }
    ASSERT_TRUE(j->Sync(seqs.back()).ok());
    auto got = ReadAll(*j, seqs[10]);
    ASSERT_EQ(got.size(), 40u);
    EXPECT_EQ(got[0].first, seqs[10]);
    EXPECT_EQ(got[0].second, Payload(10));
  }
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
  ReadStats stats;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(opts_, &j, &stats).ok());
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_EQ(j->records(), 50u);
  EXPECT_EQ(j->next_seq(), seqs.back() + 1);
  auto got = ReadAll(*j);
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(got[i].first, seqs[i]);
    EXPECT_EQ(got[i].second, Payload(i));
  }
  // Appends continue the sequence.
  uint64_t seq = 0;
  ASSERT_EQ(j->Append("more", &seq), Journal::Result::kOk);
  EXPECT_EQ(seq, seqs.back() + 1);
}

TEST_F(JournalTest, SecondOpenIsLockedOut) {
  std::unique_ptr<Journal> a, b;
  ASSERT_TRUE(Journal::Open(opts_, &a, nullptr).ok());
  Status s = Journal::Open(opts_, &b, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("in use"), std::string::npos) << s.ToString();
  a.reset();  // the lock goes with the journal (and with a dead process)
  EXPECT_TRUE(Journal::Open(opts_, &b, nullptr).ok());
}

TEST_F(JournalTest, TornTailIsTruncatedAndCounted) {
  {
    std::unique_ptr<Journal> j;
    ASSERT_TRUE(Journal::Open(opts_, &j, nullptr).ok());
    uint64_t seq;
    for (int i = 0; i < 10; ++i) ASSERT_EQ(j->Append(Payload(i), &seq), Journal::Result::kOk);
  }
  auto segs = Segments();
  ASSERT_EQ(segs.size(), 1u);
  const auto full = fs::file_size(segs[0]);
  // A record cut short, as a crash in the middle of a write leaves it.
  fs::resize_file(segs[0], full - 3);
  ReadStats stats;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(opts_, &j, &stats).ok());
  EXPECT_EQ(stats.skipped, 1u);
  ASSERT_FALSE(stats.errors.empty());
  EXPECT_NE(stats.errors[0].find("torn"), std::string::npos) << stats.errors[0];
  auto got = ReadAll(*j);
  ASSERT_EQ(got.size(), 9u);
  EXPECT_EQ(got.back().second, Payload(8));
  EXPECT_LT(fs::file_size(segs[0]), full - 3);  // truncated to the valid prefix
  // The next record takes the torn one's place; a reopen sees no damage.
  uint64_t seq = 0;
  ASSERT_EQ(j->Append("after", &seq), Journal::Result::kOk);
  EXPECT_EQ(seq, got.back().first + 1);
  j.reset();
  ReadStats again;
  ASSERT_TRUE(Journal::Open(opts_, &j, &again).ok());
  EXPECT_EQ(again.skipped, 0u);
  got = ReadAll(*j);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got.back().second, "after");
}

TEST_F(JournalTest, BitFlipIsACountedSkip) {
  {
    std::unique_ptr<Journal> j;
    ASSERT_TRUE(Journal::Open(opts_, &j, nullptr).ok());
    uint64_t seq;
    for (int i = 0; i < 5; ++i)
      ASSERT_EQ(j->Append(std::string(100, static_cast<char>('a' + i)), &seq),
                Journal::Result::kOk);
  }
  auto segs = Segments();
  ASSERT_EQ(segs.size(), 1u);
  {
    // Flip one bit in the payload of the third record (16-byte header + 100).
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    const std::streamoff off = 2 * 116 + 16 + 50;
    f.seekg(off);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(off);
    f.write(&c, 1);
  }
  ReadStats stats;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(opts_, &j, &stats).ok());
  EXPECT_EQ(stats.skipped, 1u);
  ASSERT_FALSE(stats.errors.empty());
  EXPECT_NE(stats.errors[0].find("CRC"), std::string::npos) << stats.errors[0];
  auto got = ReadAll(*j);
  ASSERT_EQ(got.size(), 4u);  // the damaged one skipped, the others intact
  EXPECT_EQ(got[1].second, std::string(100, 'b'));
  EXPECT_EQ(got[2].second, std::string(100, 'd'));
  EXPECT_EQ(got[2].first, got[1].first + 2);
}

TEST_F(JournalTest, GarbageFileDoesNotCrash) {
  fs::create_directories(dir_);
  {
    std::ofstream f(dir_ / "00000000000000000001.seg", std::ios::binary);
    for (int i = 0; i < 1000; ++i) f.put(static_cast<char>((i * 7919) & 0xff));
  }
  ReadStats stats;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(opts_, &j, &stats).ok());
  EXPECT_GE(stats.skipped, 1u);
  EXPECT_TRUE(ReadAll(*j).empty());
  uint64_t seq = 0;
  ASSERT_EQ(j->Append("x", &seq), Journal::Result::kOk);
  EXPECT_EQ(ReadAll(*j).size(), 1u);
}

TEST_F(JournalTest, SegmentsRollAndAreDeletedAfterCheckpoint) {
  opts_.segment_bytes = 1000;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(opts_, &j, nullptr).ok());
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 40; ++i) {
    uint64_t seq;
    ASSERT_EQ(j->Append(std::string(100, 'p'), &seq), Journal::Result::kOk);
    seqs.push_back(seq);
  }
  // 116 bytes a record, at most 1000 a segment: 8 records each.
  EXPECT_EQ(j->segments(), 5u);
  EXPECT_EQ(Segments().size(), 5u);
  const uint64_t before = j->bytes();
  // Everything before record 20 is reflected in a checkpoint: the first two
  // segments (records 0..15) go, the one holding 16..23 stays.
  j->ReleaseBefore(seqs[20]);
  EXPECT_EQ(j->segments(), 3u);
  EXPECT_EQ(Segments().size(), 3u);
  EXPECT_EQ(j->bytes(), before - 16 * 116);
  EXPECT_EQ(j->oldest_seq(), seqs[16]);
  auto got = ReadAll(*j);
  ASSERT_EQ(got.size(), 24u);
  EXPECT_EQ(got.front().first, seqs[16]);
  // Past everything: all segments go, the active one too; appends go on.
  j->ReleaseBefore(j->next_seq());
  EXPECT_EQ(j->segments(), 0u);
  EXPECT_EQ(j->bytes(), 0u);
  uint64_t seq = 0;
  ASSERT_EQ(j->Append("next", &seq), Journal::Result::kOk);
  EXPECT_EQ(seq, seqs.back() + 1);
  j.reset();
  ASSERT_TRUE(Journal::Open(opts_, &j, nullptr).ok());
  EXPECT_EQ(j->next_seq(), seq + 1);
  EXPECT_EQ(ReadAll(*j).size(), 1u);
}

TEST_F(JournalTest, FullJournalRefusesUntilReleased) {
  opts_.segment_bytes = 600;
  opts_.max_bytes = 1200;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(opts_, &j, nullptr).ok());
  int accepted = 0;
  uint64_t seq = 0, last = 0;
  Journal::Result r;
  while ((r = j->Append(std::string(100, 'f'), &seq)) == Journal::Result::kOk) {
    last = seq;
    ASSERT_LT(++accepted, 100);
  }
  EXPECT_EQ(r, Journal::Result::kFull);
  EXPECT_EQ(accepted, 10);  // 10 x 116 <= 1200 < 11 x 116
  EXPECT_LE(j->bytes(), opts_.max_bytes);
  EXPECT_EQ(j->Append("x", &seq), Journal::Result::kOk);  // a small one still fits
  EXPECT_EQ(j->Append(std::string(100, 'f'), &seq), Journal::Result::kFull);
  j->ReleaseBefore(last);  // frees the first segment
  EXPECT_EQ(j->Append(std::string(100, 'f'), &seq), Journal::Result::kOk);
}

TEST_F(JournalTest, FsyncGroupCommitAndSeqFloor) {
  opts_.fsync = true;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(opts_, &j, nullptr).ok());
  uint64_t seq = 0;
  ASSERT_EQ(j->Append("a", &seq), Journal::Result::kOk);
  EXPECT_TRUE(j->Sync(seq).ok());
  EXPECT_TRUE(j->Sync(seq).ok());  // already synced: no syscall needed
  j->SetNextSeqAtLeast(1000);
  ASSERT_EQ(j->Append("b", &seq), Journal::Result::kOk);
  EXPECT_EQ(seq, 1000u);
  EXPECT_TRUE(j->Sync(seq).ok());
  j.reset();
  std::unique_ptr<Journal> k;
  ASSERT_TRUE(Journal::Open(opts_, &k, nullptr).ok());
  auto got = ReadAll(*k);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].first, 1000u);
  EXPECT_EQ(k->next_seq(), 1001u);
}

}  // namespace
}  // namespace triad
