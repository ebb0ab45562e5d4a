// Log-parsing accuracy metrics, as defined by the loghub benchmark (Zhu et al.,
// "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP'19) and
// Loghub-2.0 (Jiang et al., "A Large-scale Evaluation for Log Parsing
// Techniques: How Far are We?", ISSTA'24).
//
// All functions take one entry per log line, in the same order for the ground
// truth and the prediction: a group key (ground-truth EventId or template,
// predicted template id) or a template text. Keys are compared as opaque
// strings; template TEXTS are compared after NormalizeTemplate.
//
//  GA  (grouping accuracy, line level): a line is correct iff the set of lines
//      in its predicted group equals the set of lines in its true group.
//      GA = correct lines / lines.
//  PA  (parsing accuracy, line level): a line is correct iff its predicted
//      template text equals its true template text (normalised).
//  FGA (template level grouping): a predicted group is correct iff its line
//      set equals some true group's line set. Precision = correct / #predicted
//      groups, recall = correct / #true groups, F1 their harmonic mean.
//  FTA (template level, Loghub-2.0 / Khan et al. ICSE'22): a predicted
//      template is correct iff (1) its line set equals a true group's line set
//      AND (2) its text equals that group's true template text (normalised).
//      Precision = correct / #predicted templates, recall = correct / #true
//      templates. Without explicit group keys, both sides are grouped by
//      their normalised template text, exactly as Loghub-2.0 groups by the
//      EventTemplate column.
//
// Every ratio is 0 when its denominator is 0 (empty input scores 0, not 1).
#ifndef TRIAD_EVAL_PARSING_METRICS_H_
#define TRIAD_EVAL_PARSING_METRICS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

// Canonical form of a template text, used by PA and FTA:
//  - "<*>", "{}" and '*' are all wildcards, written "<*>";
//  - a run of wildcards separated by nothing or by whitespace only is ONE
//    wildcard ("<*> <*>", "<*><*>", "* {}" -> "<*>"), as in Loghub-2.0's
//    template correction, so a parser that splits one variable into several
//    tokens is not penalised for the spelling;
//  - whitespace runs become one ' ', leading/trailing whitespace is dropped.
// Everything else (punctuation, case) is kept as is.
std::string NormalizeTemplate(std::string_view t);

// REQUIRES: truth.size() == pred.size().
double GroupingAccuracy(const std::vector<std::string>& truth,
                        const std::vector<std::string>& pred);

// REQUIRES: truth_templates.size() == pred_templates.size().
double ParsingAccuracy(const std::vector<std::string>& truth_templates,
                       const std::vector<std::string>& pred_templates);

struct TemplateLevel {
  double precision = 0, recall = 0, f1 = 0;
  size_t correct = 0;      // correct predicted groups / templates
  size_t truth_count = 0;  // distinct true groups / templates
  size_t pred_count = 0;   // distinct predicted groups / templates
};

// REQUIRES: truth_groups.size() == pred_groups.size().
TemplateLevel FGA(const std::vector<std::string>& truth_groups,
                  const std::vector<std::string>& pred_groups);

// Group keys default to the normalised template texts when null.
// REQUIRES: all given vectors have the same size.
// A predicted group whose lines carry different (normalised) predicted texts,
// or whose true group's lines carry different true texts, is not correct.
TemplateLevel FTA(const std::vector<std::string>& truth_templates,
                  const std::vector<std::string>& pred_templates,
                  const std::vector<std::string>* truth_groups = nullptr,
                  const std::vector<std::string>* pred_groups = nullptr);

}  // namespace triad

#endif  // TRIAD_EVAL_PARSING_METRICS_H_
