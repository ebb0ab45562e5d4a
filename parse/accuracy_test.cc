// Real-data accuracy of the Drain parser on the loghub 2k benchmark (8
// systems, original and corrected labels), scored with eval/parsing_metrics.h.
// Skips when the shared data set is absent.
//
// Ground truth groups are the EventTemplate texts (Loghub-2.0 convention; in
// the corrected Linux set two EventIds share one template). Predicted groups
// are Drain template ids for GA/FGA; FTA groups both sides by normalised text,
// as Loghub-2.0 does. Every line's predicted template is its template's text
// AFTER all lines were added (templates generalise over time).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eval/parsing_metrics.h"
#include "ingest/csv.h"
#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "parse/drain.h"

namespace triad {
namespace {

namespace fs = std::filesystem;

struct System {
  const char* name;
  double published_ga;  // Drain GA on the original labels (Zhu et al. 2019)
};

constexpr System kSystems[] = {
    {"HDFS", 0.998}, {"Hadoop", 0.948}, {"Spark", 0.920}, {"Zookeeper", 0.967},
    {"BGL", 0.963},  {"HPC", 0.887},    {"Linux", 0.690}, {"Apache", 1.0},
};

std::string LogsDir() { return std::string(TRIAD_SHARED_DATA_DIR) + "/logs"; }

// Returns `path` or `path.gz`, whichever exists, or "".
std::string FindFile(const std::string& path) {
  if (fs::exists(path)) return path;
  if (fs::exists(path + ".gz")) return path + ".gz";
  return "";
}

struct Labeled {
  std::vector<std::string> content, event_id, event_template;
};

// Reads Content / EventId / EventTemplate of a structured loghub CSV.
Status ReadStructured(const std::string& path, Labeled* out, ReadStats* stats) {
  std::unique_ptr<LineReader> lr;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &lr));
  CsvReader csv(lr.get());
  std::vector<std::string_view> f;
  std::string err;
  if (csv.Next(&f, &err) != CsvReader::Result::kRecord) {
    return Status::Corruption(path + ": no header");
  }
  int ci = -1, ii = -1, ti = -1;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "Content") ci = static_cast<int>(i);
    if (f[i] == "EventId") ii = static_cast<int>(i);
    if (f[i] == "EventTemplate") ti = static_cast<int>(i);
  }
  if (ci < 0 || ii < 0 || ti < 0) {
    return Status::Corruption(path + ": missing Content/EventId/EventTemplate column");
  }
  const size_t ncols = f.size();
  for (;;) {
    CsvReader::Result r = csv.Next(&f, &err);
    if (r == CsvReader::Result::kEnd) break;
    ++stats->lines;
    if (r == CsvReader::Result::kMalformed) {
      stats->Skip(path, csv.line_number(), err);
      continue;
    }
    if (f.size() != ncols) {
      stats->Skip(path, csv.line_number(), "wrong number of fields");
      continue;
    }
    out->content.emplace_back(f[ci]);
    out->event_id.emplace_back(f[ii]);
    out->event_template.emplace_back(f[ti]);
    ++stats->records;
  }
  return FinishLineReader(*lr, stats);
}

struct Scores {
  double ga = 0, pa = 0, fga = 0, fta = 0;
  size_t truth_templates = 0, pred_templates = 0;
};

Scores RunDrain(const Labeled& d) {
  DrainParser p(DrainConfig{});
  std::vector<uint32_t> ids;
  ids.reserve(d.content.size());
  for (const std::string& c : d.content) ids.push_back(p.Add(c).template_id);
  std::vector<std::string> pred_ids, pred_text;
  for (uint32_t id : ids) {
    pred_ids.push_back(std::to_string(id));
    pred_text.push_back(p.TemplateText(id));
  }
  Scores s;
  s.ga = GroupingAccuracy(d.event_template, pred_ids);
  s.pa = ParsingAccuracy(d.event_template, pred_text);
  TemplateLevel fga = FGA(d.event_template, pred_ids);
  s.fga = fga.f1;
  s.truth_templates = fga.truth_count;
  s.pred_templates = fga.pred_count;
  s.fta = FTA(d.event_template, pred_text).f1;
  // TRIAD_ACCURACY_VERBOSE=1: show the first few distinct PA mismatches.
  if (std::getenv("TRIAD_ACCURACY_VERBOSE") != nullptr) {
    std::set<std::pair<std::string, std::string>> shown;
    for (size_t i = 0; i < pred_text.size() && shown.size() < 12; ++i) {
      std::string t = NormalizeTemplate(d.event_template[i]);
      std::string q = NormalizeTemplate(pred_text[i]);
      if (t != q && shown.emplace(t, q).second) {
        std::printf("    truth: %s\n    drain: %s\n", t.c_str(), q.c_str());
      }
    }
  }
  // TRIAD_ACCURACY_GROUPS=1: show every wrongly grouped line set (merges and splits).
  if (std::getenv("TRIAD_ACCURACY_GROUPS") != nullptr) {
    std::map<std::string, std::map<std::string, int>> by_pred, by_truth;
    for (size_t i = 0; i < pred_ids.size(); ++i) {
      by_pred[pred_ids[i]][d.event_template[i]]++;
      by_truth[d.event_template[i]][pred_ids[i]]++;
    }
    for (const auto& [pid, truths] : by_pred) {
      if (truths.size() > 1) {
        std::printf("  MERGED into [%s]:\n", p.TemplateText(std::stoul(pid)).c_str());
        for (const auto& [t, n] : truths) std::printf("      %5d  %s\n", n, t.c_str());
      }
    }
    for (const auto& [t, preds] : by_truth) {
      if (preds.size() > 1) {
        std::printf("  SPLIT [%s]:\n", t.c_str());
        for (const auto& [pid, n] : preds)
          std::printf("      %5d  %s\n", n, p.TemplateText(std::stoul(pid)).c_str());
      }
    }
  }
  return s;
}

// min_ga / min_pa: floors on the mean GA / PA over the 8 systems.
void RunBenchmark(const std::string& set, const std::string& suffix, double min_ga,
                  double min_pa) {
  const std::string root = LogsDir() + "/" + set;
  if (!fs::exists(root)) GTEST_SKIP() << root << " not present";
  std::printf("\nDrain (default DrainConfig) on %s\n", set.c_str());
  std::printf("%-10s %6s %6s %6s %6s %6s %8s %9s\n", "system", "GA", "PA", "FGA", "FTA",
              "#true", "#pred", "pub.GA");
  double sum_ga = 0, sum_pa = 0, sum_fga = 0, sum_fta = 0;
  int n = 0;
  for (const System& sys : kSystems) {
    const std::string base = root + "/" + sys.name + "/" + sys.name + "_2k.log_" + suffix;
    const std::string path = FindFile(base);
    ASSERT_FALSE(path.empty()) << base << " (or .gz) not found";
    Labeled d;
    ReadStats stats;
    Status st = ReadStructured(path, &d, &stats);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(stats.skipped, 0u) << path << ": " << stats.Summary();
    ASSERT_EQ(d.content.size(), 2000u) << path;
    Scores s = RunDrain(d);
    std::printf("%-10s %6.3f %6.3f %6.3f %6.3f %6zu %8zu %9.3f\n", sys.name, s.ga, s.pa, s.fga,
                s.fta, s.truth_templates, s.pred_templates, sys.published_ga);
    sum_ga += s.ga;
    sum_pa += s.pa;
    sum_fga += s.fga;
    sum_fta += s.fta;
    ++n;
  }
  std::printf("%-10s %6.3f %6.3f %6.3f %6.3f\n", "mean", sum_ga / n, sum_pa / n, sum_fga / n,
              sum_fta / n);
  std::fflush(stdout);
  // Floors about 0.02 below what the default configuration reaches (see
  // docs/BENCHMARKS.md): a clear accuracy regression fails. Drain's published
  // mean GA on these 8 systems is ~0.92.
  EXPECT_GT(sum_ga / n, min_ga);
  EXPECT_GT(sum_pa / n, min_pa);
  EXPECT_GT(sum_fga / n, 0.85);
}

// Reached: mean GA 0.955, PA 0.581.
TEST(ParseAccuracy, DrainLoghub2kOriginal) {
  RunBenchmark("loghub_2k_original", "structured.csv", 0.935, 0.56);
}

// Reached: mean GA 0.978, PA 0.876.
TEST(ParseAccuracy, DrainLoghub2kCorrected) {
  RunBenchmark("loghub_2k_corrected", "structured_corrected.csv", 0.958, 0.85);
}

}  // namespace
}  // namespace triad
