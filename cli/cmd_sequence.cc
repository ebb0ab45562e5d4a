// Sequence models behind `triad train` / `triad detect` (see cmd_sequence.h).
#include "cli/cmd_sequence.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "align/sessions.h"
#include "detect/output.h"
#include "detect/pca_detector.h"
#include "detect/pipeline.h"
#include "detect/sequence_detector.h"
#include "detect/stide_detector.h"
#include "eval/metrics.h"
#include "ingest/line_reader.h"
#include "ingest/loghub_reader.h"
#include "ingest/read_stats.h"
#include "ingest/session_file.h"
#ifdef TRIAD_WITH_TORCH
#include "models/deeplog.h"
#endif

namespace triad::cli {

namespace {

double Secs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Template texts of a model (PCA/STIDE keep them), else empty.
std::map<uint32_t, std::string> ModelVocabulary(const SequenceDetector& d) {
  if (auto* p = dynamic_cast<const PcaDetector*>(&d)) return p->vocabulary();
  if (auto* s = dynamic_cast<const StideDetector*>(&d)) return s->vocabulary();
  return {};
}

double ModelThreshold(const SequenceDetector& d) {
  if (auto* p = dynamic_cast<const PcaDetector*>(&d)) return p->threshold();
  if (auto* s = dynamic_cast<const StideDetector*>(&d)) return s->threshold();
#ifdef TRIAD_WITH_TORCH
  if (const DeepLogStats* st = GetDeepLogStats(d)) return st->g;  // anomaly iff score > g
#endif
  return NAN;
}

Status ReadVocabulary(const std::string& path, SessionVocabulary* vocab) {
  std::vector<Session> ignored;
  ReadStats st;
  TRIAD_RETURN_IF_ERROR(ReadSessionFile(path, &ignored, vocab, &st));
  if (vocab->empty())
    return Status::InvalidArgument(path + ": holds no template texts (expected a .jsonl "
                                          "session file with a \"templates\" field)");
  return Status::OK();
}

std::string KeyList(const std::vector<uint32_t>& keys, size_t max) {
  std::string o;
  for (size_t i = 0; i < keys.size() && i < max; ++i)
    o += (o.empty() ? "" : " ") + (keys[i] == 0 ? std::string("$") : fmt::format("E{}", keys[i]));
  if (keys.size() > max) o += " ...";
  return o;
}

// Reads raw log lines of `in` (loghub format) into parsed lines keyed by
// `matcher`. Unmatched messages get key 0 and are counted in *unknown.
Status ReadRawLines(const InputArgs& in, const TemplateMatcher& matcher,
                    std::vector<ParsedLine>* out, ReadStats* stats, uint64_t* unknown) {
  std::string fmt_text = in.log_format;
  if (fmt_text.find('<') == std::string::npos) fmt_text = LoghubFormatFor(in.log_format);
  if (fmt_text.empty())
    return Status::InvalidArgument(fmt::format(
        "unknown --log-format '{}' (a loghub system name such as HDFS, or a format string)",
        in.log_format));
  LoghubLineParser parser(fmt_text, in.service);
  if (!parser.ok()) return parser.status();
  for (const std::string& path : in.inputs) {
    std::unique_ptr<LineReader> r;
    TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &r));
    std::string_view line;
    LogRecord rec;
    std::string err;
    while (r->Next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      ++stats->lines;
      if (!parser.Parse(line, &rec, &err)) {
        stats->Skip(r->name(), r->line_number(), err.empty() ? "does not match --log-format" : err);
        continue;
      }
      ParsedLine p;
      p.key = matcher.Match(rec.body);
      if (p.key == 0) ++*unknown;
      p.time = rec.time;
      p.service = rec.service;
      p.content = std::move(rec.body);
      p.line = r->line_number();
      out->push_back(std::move(p));
      ++stats->records;
    }
    if (!r->status().ok()) return r->status();
  }
  return Status::OK();
}

Status LoadAnySequenceModel(const std::string& path, std::unique_ptr<SequenceDetector>* out,
                            std::string* why) {
  std::vector<std::string> errs;
  Status s = LoadPcaDetector(path, out);
  if (s.ok()) return s;
  errs.push_back("pca: " + s.ToString());
  s = LoadStideDetector(path, out);
  if (s.ok()) return s;
  errs.push_back("stide: " + s.ToString());
#ifdef TRIAD_WITH_TORCH
  s = LoadDeepLog(path, out);
  if (s.ok()) return s;
  errs.push_back("deeplog: " + s.ToString());
#else
  errs.push_back("deeplog: this build has no LibTorch");
#endif
  *why = "";
  for (const auto& e : errs) *why += (why->empty() ? "" : "; ") + e;
  return Status::InvalidArgument(*why);
}

}  // namespace

bool IsSequenceModel(const std::string& model) {
  return model == "pca" || model == "stide" || model == "deeplog";
}

void AddSequenceTrainOptions(CLI::App* cmd, SequenceTrainArgs* a) {
  cmd->add_option("--sessions", a->sessions,
                  "Session file for pca/stide/deeplog (hdfs_100k .csv/.jsonl or DeepLog "
                  "format; plain or gzip); trains on sessions not labelled anomalous and "
                  "not in the test split")
      ->check(CLI::ExistingFile);
  cmd->add_option("--vocab", a->vocab,
                  "A .jsonl session file whose template texts the model keeps (to map raw "
                  "log lines at detect time)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--ngram", a->ngram, "stide: window length n (default 4)");
  cmd->add_option("--variance", a->variance, "pca: variance fraction kept (default 0.95)");
  cmd->add_flag("--tf-idf", a->tf_idf, "pca: TF-IDF weighting (loglizer's; off by default)");
  cmd->add_option("--threshold", a->threshold, "pca: q-statistic (default) or quantile");
  cmd->add_option("--epochs", a->epochs, "deeplog: training epochs");
}

void AddSequenceDetectOptions(CLI::App* cmd, SequenceDetectArgs* a) {
  cmd->add_option("--sessions", a->sessions, "Session file to score with a sequence model")
      ->check(CLI::ExistingFile);
  cmd->add_option("--vocab", a->vocab,
                  "Template texts (.jsonl session file) to map raw lines to the model's keys, "
                  "when the model holds none")
      ->check(CLI::ExistingFile);
  cmd->add_option("--session-id", a->session_id,
                  "Raw logs: session identifier pattern PREFIX[-?][CHARS]+ (default HDFS "
                  "block id blk_-?[0-9]+)");
  cmd->add_option("--session-window", a->session_window,
                  "Raw logs: group by time windows of this length instead (e.g. 5m)");
  cmd->add_option("--session-step", a->session_step, "Raw logs: sliding window step");
}

int RunSequenceTrain(const std::string& model, const std::string& out,
                     const SequenceTrainArgs& a) {
  auto t0 = std::chrono::steady_clock::now();
  if (a.sessions.empty()) {
    spdlog::error("--model {} needs --sessions FILE", model);
    return 2;
  }
  std::vector<Session> all;
  SessionVocabulary vocab;
  ReadStats st;
  Status s = ReadSessionFile(a.sessions, &all, &vocab, &st);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (!a.vocab.empty()) {
    s = ReadVocabulary(a.vocab, &vocab);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
  }
  std::vector<Session> train;
  for (Session& x : all)
    if (IsTrainingSession(x)) train.push_back(std::move(x));
  if (train.empty()) {
    spdlog::error("{}: no training sessions (all are anomalous or in the test split)",
                  a.sessions);
    return 1;
  }
  std::unique_ptr<SequenceDetector> det;
  if (model == "pca") {
    PcaConfig cfg;
    if (a.variance > 0) cfg.variance = a.variance;
    cfg.tf_idf = a.tf_idf;
    if (!a.threshold.empty()) cfg.threshold = a.threshold;
    auto p = std::make_unique<PcaDetector>(cfg);
    p->set_vocabulary(vocab);
    det = std::move(p);
  } else if (model == "stide") {
    StideConfig cfg;
    if (a.ngram > 0) cfg.n = a.ngram;
    auto p = std::make_unique<StideDetector>(cfg);
    p->set_vocabulary(vocab);
    det = std::move(p);
  } else if (model == "deeplog") {
#ifdef TRIAD_WITH_TORCH
    DeepLogConfig cfg;
    if (a.epochs > 0) cfg.epochs = a.epochs;
    det = NewDeepLog(cfg);
    if (!vocab.empty())
      spdlog::warn("deeplog keeps no template texts: pass --vocab to `triad detect` on raw logs");
#else
    spdlog::error("--model deeplog needs a build with LibTorch (-DTRIAD_WITH_TORCH=ON)");
    return 2;
#endif
  } else {
    spdlog::error("unknown sequence model '{}'", model);
    return 2;
  }
  s = det->Fit(train);
  if (s.ok()) s = det->Save(out);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  fmt::print("trained {} on {} normal sessions of {} ({}); ", model, train.size(), a.sessions,
             st.Summary());
  if (auto* p = dynamic_cast<const PcaDetector*>(det.get()))
    fmt::print("{} events, {} components, threshold {:.4g}\n", p->events().size(),
               p->components(), p->threshold());
  else if (auto* p = dynamic_cast<const StideDetector*>(det.get()))
    fmt::print("{} distinct {}-grams, threshold {:.4g}\n", p->ngrams(), p->config().n,
               p->threshold());
  else
    fmt::print("\n");
  fmt::print("model written to {} ({:.1f} s)\n", out, Secs(t0));
  return 0;
}

int RunSequenceDetect(const std::string& model_path, const std::string& out,
                      const InputArgs& in, const SequenceDetectArgs& a, int top,
                      std::string* why) {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<SequenceDetector> det;
  if (!LoadAnySequenceModel(model_path, &det, why).ok()) return -1;
  std::vector<Session> sessions;
  ReadStats st;
  std::string source;
  if (!a.sessions.empty()) {
    source = a.sessions;
    Status s = ReadSessionFile(a.sessions, &sessions, nullptr, &st);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
  } else {
    if (in.inputs.empty()) {
      spdlog::error("give --sessions FILE or raw log files (with --log-format) to score");
      return 2;
    }
    if (in.log_format.empty()) {
      spdlog::error("raw logs need --log-format (e.g. HDFS) for a {} model", det->name());
      return 2;
    }
    SessionVocabulary vocab = ModelVocabulary(*det);
    if (!a.vocab.empty()) {
      vocab.clear();
      Status s = ReadVocabulary(a.vocab, &vocab);
      if (!s.ok()) {
        spdlog::error("{}", s.ToString());
        return 1;
      }
    }
    if (vocab.empty()) {
      spdlog::error("the {} model holds no template texts to map raw lines to its keys: pass "
                    "--vocab FILE.jsonl (or train with a .jsonl / --vocab)",
                    det->name());
      return 2;
    }
    TemplateMatcher matcher({vocab.begin(), vocab.end()});
    std::vector<ParsedLine> lines;
    uint64_t unknown = 0;
    Status s = ReadRawLines(in, matcher, &lines, &st, &unknown);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
    source = fmt::format("{} raw file(s)", in.inputs.size());
    uint64_t left = 0;
    if (!a.session_window.empty()) {
      TimeNs size = 0, step = 0;
      if (!ParseDuration(a.session_window, &size) || size <= 0 ||
          (!a.session_step.empty() && (!ParseDuration(a.session_step, &step) || step <= 0))) {
        spdlog::error("bad --session-window/--session-step (e.g. 5m, 30s)");
        return 2;
      }
      if (step == 0) step = size;
      sessions = SessionsByTimeWindow(lines, size, step, false, &left);
      if (left > 0) spdlog::warn("{} lines without a time left out of the windows", left);
    } else {
      IdPattern pat;
      s = ParseIdPattern(a.session_id, &pat);
      if (!s.ok()) {
        spdlog::error("{}", s.ToString());
        return 2;
      }
      sessions = SessionsById(lines, pat, &left);
      if (left > 0) spdlog::info("{} lines name no session id ({})", left, a.session_id);
    }
    fmt::print(stderr, "{} lines, {} of them match none of the model's {} templates (key 0)\n",
               lines.size(), unknown, matcher.size());
  }
  std::vector<SequenceVerdict> v;
  det->ScoreAll(sessions, &v);
  double thr = ModelThreshold(*det);
  std::unique_ptr<ScoreCsvWriter> w;
  Status s = ScoreCsvWriter::Open(out,
                                  {"session", "label", "threshold", "length", "position", "line",
                                   "observed", "expected", "reason"},
                                  &w);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  std::vector<int> labels;
  std::vector<int> preds;
  std::vector<double> scores;
  bool all_labelled = !sessions.empty();
  size_t anomalous = 0;
  for (size_t i = 0; i < sessions.size() && s.ok(); ++i) {
    const Session& x = sessions[i];
    const SequenceVerdict& r = v[i];
    ScoreRow row;
    row.start = x.start;
    row.end = x.end;
    row.service = x.service;
    row.score = r.score;
    row.anomaly = r.anomaly;
    uint64_t line = 0;
    if (r.position >= 0 && static_cast<size_t>(r.position) < x.lines.size())
      line = x.lines[r.position];
    else if (r.position >= 0 && !x.lines.empty())
      line = x.lines.back();  // past the end: "ended too early" -> its last line
    row.extra = {x.id,
                 x.label < 0 ? "" : std::to_string(x.label),
                 std::isfinite(thr) ? fmt::format("{:.6g}", thr) : "",
                 std::to_string(x.keys.size()),
                 std::to_string(r.position),
                 std::to_string(line),
                 r.position < 0 ? "" : (r.observed == 0 ? "$" : fmt::format("E{}", r.observed)),
                 KeyList(r.expected, 9),
                 r.reason};
    s = w->Write(row);
    anomalous += r.anomaly;
    if (x.label < 0) all_labelled = false;
    labels.push_back(x.label == 1);
    preds.push_back(r.anomaly);
    scores.push_back(r.score);
  }
  if (s.ok()) s = w->Close();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  std::FILE* o = out == "-" ? stderr : stdout;
  fmt::print(o, "{}: scored {} sessions of {} ({}; {:.1f} s); {} anomalous; scores in {}\n",
             det->name(), sessions.size(), source, st.Summary(), Secs(t0), anomalous, out);
  if (all_labelled) {
    Confusion c = Evaluate(labels, preds);
    fmt::print(o, "labels in the file: precision {:.3f} recall {:.3f} F1 {:.3f} PR-AUC {:.3f} "
                  "(tp {} fp {} fn {})\n",
               c.precision(), c.recall(), c.f1(), PrAuc(scores, labels), c.tp, c.fp, c.fn);
  }
  int shown = 0;
  for (size_t i = 0; i < sessions.size() && shown < top; ++i) {
    if (!v[i].anomaly) continue;
    ++shown;
    fmt::print(o, "  {:<28} score {:8.4g}  {}\n", sessions[i].id, v[i].score,
               v[i].reason.substr(0, 140));
  }
  if (anomalous > static_cast<size_t>(std::max(top, 0)))
    fmt::print(o, "  ... {} more in {}\n", anomalous - top, out);
  return 0;
}

}  // namespace triad::cli
