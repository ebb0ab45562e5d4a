#include "eval/parsing_metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace triad {
namespace {

using V = std::vector<std::string>;

TEST(ParsingMetrics, NormalizeTemplate) {
  EXPECT_EQ(NormalizeTemplate("  a\t<*>  <*>{} b  "), "a <*> b");  // run of 3 wildcards
  EXPECT_EQ(NormalizeTemplate("a * b"), "a <*> b");
  EXPECT_EQ(NormalizeTemplate("blk_{}"), "blk_<*>");
  EXPECT_EQ(NormalizeTemplate("x*y"), "x<*>y");
  EXPECT_EQ(NormalizeTemplate("<*>:<*>"), "<*>:<*>");  // punctuation breaks a run
  EXPECT_EQ(NormalizeTemplate("Close"), "Close");
  EXPECT_NE(NormalizeTemplate("Close"), NormalizeTemplate("close"));  // case kept
  EXPECT_EQ(NormalizeTemplate(""), "");
  EXPECT_EQ(NormalizeTemplate("   "), "");
}

TEST(ParsingMetrics, GroupingAccuracyPerfectUnderRenaming) {
  // Group keys are opaque: a renamed but identical partition is perfect.
  V truth = {"E1", "E1", "E2", "E3", "E2"};
  V pred = {"7", "7", "x", "y", "x"};
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, pred), 1.0);
  TemplateLevel f = FGA(truth, pred);
  EXPECT_EQ(f.correct, 3u);
  EXPECT_DOUBLE_EQ(f.f1, 1.0);
}

TEST(ParsingMetrics, GroupingAccuracyOverMerge) {
  // True groups A={0,1}, B={2,3}, C={4}; predicted x={0,1}, y={2,3,4}.
  // A == x: its 2 lines are correct. B and C are merged into y: wrong.
  // GA = 2/5 = 0.4.
  V truth = {"A", "A", "B", "B", "C"};
  V pred = {"x", "x", "y", "y", "y"};
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, pred), 0.4);
  // FGA: 1 correct group of 2 predicted and 3 true: P = 1/2, R = 1/3,
  // F1 = 2 * (1/2)(1/3) / (1/2 + 1/3) = (1/3) / (5/6) = 0.4.
  TemplateLevel f = FGA(truth, pred);
  EXPECT_EQ(f.correct, 1u);
  EXPECT_EQ(f.pred_count, 2u);
  EXPECT_EQ(f.truth_count, 3u);
  EXPECT_DOUBLE_EQ(f.precision, 0.5);
  EXPECT_DOUBLE_EQ(f.recall, 1.0 / 3);
  EXPECT_NEAR(f.f1, 0.4, 1e-12);
}

TEST(ParsingMetrics, GroupingAccuracyOverSplit) {
  // A={0,1,2} is split into x={0,1} and y={2}: wrong. B={3} == z: right.
  // GA = 1/4. FGA: P = 1/3, R = 1/2, F1 = 2(1/6)/(5/6) = 0.4.
  V truth = {"A", "A", "A", "B"};
  V pred = {"x", "x", "y", "z"};
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, pred), 0.25);
  TemplateLevel f = FGA(truth, pred);
  EXPECT_DOUBLE_EQ(f.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(f.recall, 0.5);
  EXPECT_NEAR(f.f1, 0.4, 1e-12);
}

TEST(ParsingMetrics, ParsingAccuracy) {
  // Lines 0..2 match after normalisation ('*' / '{}' are '<*>', whitespace
  // collapses); line 3 differs. PA = 3/4.
  V truth = {"a <*> b", "x  y", "p <*>", "q"};
  V pred = {"a * b", "x y", "p {}", "r"};
  EXPECT_DOUBLE_EQ(ParsingAccuracy(truth, pred), 0.75);
  // A parser that splits one variable into two tokens is not penalised...
  EXPECT_DOUBLE_EQ(ParsingAccuracy({"took <*> ms"}, {"took <*> <*> ms"}), 1.0);
  // ...but one that leaves a variable in place, or abstracts a constant, is.
  EXPECT_DOUBLE_EQ(ParsingAccuracy({"took <*> ms"}, {"took 12 ms"}), 0.0);
  EXPECT_DOUBLE_EQ(ParsingAccuracy({"took <*> ms"}, {"<*> <*> ms"}), 0.0);
}

TEST(ParsingMetrics, TemplateLevelByText) {
  // line: truth template      / predicted template
  //   0,1: "open <*>"         / "open *"          (same lines, same text)
  //   2,3: "close <*>"        / "close <*> now"   (same lines, wrong text)
  //   4:   "stop"             / "stop"
  //   5:   "stop"             / "halt"            ("stop" is split)
  V truth = {"open <*>", "open <*>", "close <*>", "close <*>", "stop", "stop"};
  V pred = {"open *", "open *", "close <*> now", "close <*> now", "stop", "halt"};
  // FTA: true templates 3, predicted 4, correct 1 ("open"): P = 1/4, R = 1/3,
  // F1 = 2(1/12)/(7/12) = 2/7.
  TemplateLevel fta = FTA(truth, pred);
  EXPECT_EQ(fta.correct, 1u);
  EXPECT_EQ(fta.truth_count, 3u);
  EXPECT_EQ(fta.pred_count, 4u);
  EXPECT_DOUBLE_EQ(fta.precision, 0.25);
  EXPECT_DOUBLE_EQ(fta.recall, 1.0 / 3);
  EXPECT_NEAR(fta.f1, 2.0 / 7, 1e-12);
  // Grouping ignores text: open and close are grouped right, stop is split.
  // GA = 4/6. FGA: P = 2/4, R = 2/3, F1 = 2(1/3)/(7/6) = 4/7.
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, pred), 4.0 / 6);
  TemplateLevel fga = FGA(truth, pred);
  EXPECT_NEAR(fga.f1, 4.0 / 7, 1e-12);
  // PA: lines 0, 1, 4 right; 2, 3, 5 wrong: 3/6.
  EXPECT_DOUBLE_EQ(ParsingAccuracy(truth, pred), 0.5);
}

TEST(ParsingMetrics, TemplateLevelExplicitGroups) {
  // Two predicted ids carry the same text. Grouped by text (Loghub-2.0
  // default) they are one template equal to the truth: FTA = 1. Grouped by
  // id, the true group is split: 0 correct of 2 predicted, 1 true: F1 = 0.
  V truth = {"a <*>", "a <*>", "a <*>", "a <*>"};
  V pred = {"a <*>", "a <*>", "a *", "a *"};
  V pred_ids = {"1", "1", "2", "2"};
  EXPECT_DOUBLE_EQ(FTA(truth, pred).f1, 1.0);
  TemplateLevel by_id = FTA(truth, pred, nullptr, &pred_ids);
  EXPECT_EQ(by_id.correct, 0u);
  EXPECT_EQ(by_id.pred_count, 2u);
  EXPECT_EQ(by_id.truth_count, 1u);
  EXPECT_DOUBLE_EQ(by_id.f1, 0.0);
}

TEST(ParsingMetrics, TemplateLevelInconsistentText) {
  // One group on both sides, but its lines carry two different predicted
  // texts: the template is not correct. P = 0/1, R = 0/1.
  V truth = {"a <*>", "a <*>"};
  V pred = {"a <*>", "a b"};
  V ids = {"E1", "E1"};
  V pids = {"9", "9"};
  EXPECT_EQ(FTA(truth, pred, &ids, &pids).correct, 0u);
  pred[1] = "a {}";  // now consistent after normalisation
  EXPECT_EQ(FTA(truth, pred, &ids, &pids).correct, 1u);
}

TEST(ParsingMetrics, EmptyInputScoresZero) {
  V empty;
  EXPECT_DOUBLE_EQ(GroupingAccuracy(empty, empty), 0.0);
  EXPECT_DOUBLE_EQ(ParsingAccuracy(empty, empty), 0.0);
  TemplateLevel f = FGA(empty, empty);
  EXPECT_DOUBLE_EQ(f.f1, 0.0);
  EXPECT_EQ(f.truth_count, 0u);
  EXPECT_DOUBLE_EQ(FTA(empty, empty).f1, 0.0);
}

}  // namespace
}  // namespace triad
