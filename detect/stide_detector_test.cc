#include "detect/stide_detector.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace triad {
namespace {

Session S(std::vector<uint32_t> keys) {
  Session s;
  s.keys = std::move(keys);
  return s;
}

std::vector<Session> Normal() {
  std::vector<Session> out;
  for (int i = 0; i < 50; ++i) {
    out.push_back(S({1, 2, 3, 4, 5}));
    out.push_back(S({1, 2, 2, 3, 4, 5}));
    out.push_back(S({1, 3, 2, 4, 5}));
  }
  return out;
}

TEST(StideDetectorTest, MismatchRateAndExplanation) {
  StideConfig cfg;
  cfg.n = 3;
  StideDetector det(cfg);
  ASSERT_TRUE(det.Fit(Normal()).ok());
  EXPECT_EQ(det.threshold(), 0);  // held-out normal sessions have no mismatch
  for (const Session& s : Normal()) EXPECT_FALSE(det.Score(s).anomaly);
  // 1 2 3 4 then 2: "3 4 2" is unseen.
  SequenceVerdict v = det.Score(S({1, 2, 3, 4, 2, 5}));
  EXPECT_TRUE(v.anomaly);
  EXPECT_EQ(v.position, 4);
  EXPECT_EQ(v.observed, 2u);
  EXPECT_EQ(v.expected, (std::vector<uint32_t>{5}));  // after [3 4] training saw 5
  EXPECT_NE(v.reason.find("[E3 E4]"), std::string::npos) << v.reason;
  // Padded windows: ^ 1 2 | 1 2 3 | 2 3 4 | 3 4 2 | 4 2 5 | 2 5 $ -> 3 of 6 unseen.
  EXPECT_DOUBLE_EQ(v.score, 3.0 / 6);
  // A session that ends too early: the end marker is the unseen key.
  SequenceVerdict e = det.Score(S({1, 2, 3}));
  EXPECT_TRUE(e.anomaly);
  EXPECT_EQ(e.position, 3);
  EXPECT_EQ(e.observed, 0u);
  EXPECT_EQ(e.expected, (std::vector<uint32_t>{4}));
  // Shorter than n: one window, the whole padded session.
  StideConfig c5;
  c5.n = 6;
  c5.validation_fraction = 0;  // threshold 0: any mismatch
  StideDetector d5(c5);
  ASSERT_TRUE(d5.Fit({S({1}), S({1, 2, 3, 4, 5, 6, 7})}).ok());
  EXPECT_FALSE(d5.Score(S({1})).anomaly);
  EXPECT_TRUE(d5.Score(S({2})).anomaly);
}

TEST(StideDetectorTest, ThresholdFromHeldOutNormals) {
  // The held-out fifth holds a variant never seen in the first part, so the
  // threshold rises above 0 and that variant is not flagged.
  std::vector<Session> normal;
  for (int i = 0; i < 80; ++i) normal.push_back(S({1, 2, 3, 4}));
  for (int i = 0; i < 20; ++i) normal.push_back(S({1, 2, 9, 3, 4}));
  StideConfig cfg;
  cfg.n = 2;
  StideDetector det(cfg);
  ASSERT_TRUE(det.Fit(normal).ok());
  EXPECT_GT(det.threshold(), 0);
  EXPECT_FALSE(det.Score(S({1, 2, 9, 3, 4})).anomaly);
  EXPECT_TRUE(det.Score(S({7, 8, 7, 8})).anomaly);
  StideConfig bad;
  bad.n = 1;
  EXPECT_FALSE(StideDetector(bad).Fit(normal).ok());
  bad = StideConfig{};
  bad.score = "max";
  EXPECT_FALSE(StideDetector(bad).Fit(normal).ok());
  EXPECT_FALSE(StideDetector().Fit({}).ok());
}

TEST(StideDetectorTest, SaveLoadRoundTripAndRefusals) {
  StideDetector det;
  det.set_vocabulary({{2, "two <*>"}});
  ASSERT_TRUE(det.Fit(Normal()).ok());
  std::string path = (std::filesystem::temp_directory_path() /
                      ("stide_model_" +
                       std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                       ".json"))
                         .string();
  ASSERT_TRUE(det.Save(path).ok());
  std::unique_ptr<StideDetector> back;
  ASSERT_TRUE(StideDetector::Load(path, &back).ok());
  EXPECT_EQ(back->ngrams(), det.ngrams());
  EXPECT_EQ(back->threshold(), det.threshold());
  EXPECT_EQ(back->vocabulary().at(2), "two <*>");
  for (const Session& s : {S({1, 2, 3, 4, 5}), S({1, 2, 5}), S({9})}) {
    SequenceVerdict a = det.Score(s), b = back->Score(s);
    EXPECT_EQ(a.score, b.score);
    EXPECT_EQ(a.position, b.position);
    EXPECT_EQ(a.expected, b.expected);
  }
  std::ofstream(path, std::ios::trunc) << R"({"format":"triad-model","model":"pca","version":1})";
  Status s = StideDetector::Load(path, &back);
  EXPECT_NE(s.message().find("'pca'"), std::string::npos) << s.ToString();
  std::unique_ptr<SequenceDetector> any;
  EXPECT_FALSE(LoadStideDetector(path, &any).ok());
  std::ofstream(path, std::ios::trunc)
      << R"({"format":"triad-model","model":"stide","version":1,"config":{"n":3,"pad":true,)"
      << R"("score":"rate","validation_fraction":0.2,"quantile":1,"margin":1},)"
      << R"("ngrams":[[[1,2,3,4,5],1]],"threshold":0,"train_sessions":1,"vocabulary":{}})";
  EXPECT_EQ(StideDetector::Load(path, &back).code(), Status::Code::kCorruption);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace triad
