// Log-sequence models (issue 4) behind `triad train` and `triad detect`:
//   triad train  --model pca|stide|deeplog --sessions FILE --out MODEL
//   triad detect --model-file MODEL --sessions FILE --out scores.csv
//   triad detect --model-file MODEL --log-format HDFS raw.log --out scores.csv
// Session files: ingest/session_file.h. Raw logs: each line's message is
// mapped to the model's vocabulary of template texts (align/sessions.h
// TemplateMatcher; the texts come from the .jsonl the model was trained on or
// from --vocab) and lines are grouped into sessions by an identifier pattern
// (default the HDFS block id) or by time windows. Output: the score CSV
// contract (detect/output.h) with the columns
//   session,label,threshold,length,position,line,observed,expected,reason
// (line = the 1-based source line of the offending key, 0 if unknown).
#ifndef TRIAD_CLI_CMD_SEQUENCE_H_
#define TRIAD_CLI_CMD_SEQUENCE_H_

#include <CLI/CLI.hpp>

#include <string>

#include "cli/input_options.h"

namespace triad::cli {

// Returns true iff `model` names a sequence model ("pca", "stide", "deeplog").
bool IsSequenceModel(const std::string& model);

struct SequenceTrainArgs {
  std::string sessions;  // session file
  std::string vocab;     // .jsonl whose template texts to keep in the model
  int ngram = 0;         // stide n (0 = default)
  double variance = 0;   // pca variance fraction (0 = default)
  bool tf_idf = false;   // pca
  std::string threshold; // pca: q-statistic | quantile
  int epochs = 0;        // deeplog (0 = default)
};

struct SequenceDetectArgs {
  std::string sessions;
  std::string vocab;
  std::string session_id = "blk_-?[0-9]+";
  std::string session_window;  // e.g. 5m: time windows instead of ids
  std::string session_step;    // sliding step (default = window)
};

void AddSequenceTrainOptions(CLI::App* cmd, SequenceTrainArgs* a);
void AddSequenceDetectOptions(CLI::App* cmd, SequenceDetectArgs* a);

// `triad train` for a sequence model. Returns the exit code.
int RunSequenceTrain(const std::string& model, const std::string& out,
                     const SequenceTrainArgs& a);

// `triad detect` with a sequence model file. Returns -1 (and sets *why) iff
// no sequence-model loader accepts `model_path`; else the exit code.
int RunSequenceDetect(const std::string& model_path, const std::string& out,
                      const InputArgs& in, const SequenceDetectArgs& a, int top,
                      std::string* why);

}  // namespace triad::cli

#endif  // TRIAD_CLI_CMD_SEQUENCE_H_
