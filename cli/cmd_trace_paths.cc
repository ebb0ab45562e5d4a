// Trace model commands (Nedelkoski et al., multimodal LSTM over trace spans):
//   triad trace-train --out M [--kind multimodal] INPUT...   fit on normal traces, save
//   triad trace-score --model M [--out F] INPUT...           flag anomalous traces
//   triad trace-paths --model M [--out F] INPUT...           concurrent / dependent events
// Output contracts (tab-separated, to stdout or --out):
//   trace-score: header "trace_id anomaly type score events findings", one row
//                per flagged trace (--all: every trace); summary on stderr.
//   trace-paths: '#' comment lines, then rows "concurrent a b p_a p_b evidence
//                next p_next prefixes" and "dependent from to p prefixes".
// A model file that is not a trace model is refused (exit 1); trace-paths
// with a model that predicts no labels exits 2.
// Built only with LibTorch.
#ifdef TRIAD_WITH_TORCH

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "align/trace_sequences.h"
#include "cli/command.h"
#include "cli/input_options.h"
#include "ingest/reader.h"
#include "models/runtime.h"
#include "models/trace_lstm.h"

namespace triad::cli {
namespace {

// Reads spans from all inputs and assembles them into traces.
bool ReadTraces(const InputArgs& in, std::vector<Trace>* traces) {
  ReadOptions ro;
  if (!ToReadOptions(in, &ro)) return false;
  CollectingSink sink;
  ReadStats stats;
  for (const auto& path : in.inputs) {
    Status s = ReadTelemetry(path, ro, sink, &stats);
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return false;
    }
  }
  TraceAssemblyStats ts;
  *traces = AssembleTraces(std::move(sink.spans), &ts);
  spdlog::info("read {}; {}", stats.Summary(), ts.Summary());
  return true;
}

std::vector<LabeledTrace> Label(const std::vector<Trace>& traces, const LabelOptions& o) {
  std::vector<LabeledTrace> out;
  out.reserve(traces.size());
  for (const auto& t : traces) out.push_back(LabelTrace(t, o));
  return out;
}

struct TrainArgs {
  InputArgs in;
  std::string out;
  std::string kind = "multimodal";
  std::string label_host = "service";
  int epochs = 40, hidden = 64, top_k = 3, batch = 512, threads = 0;
  size_t min_length = 4, max_length = 20, max_per_length = 0, top_m = 0;
  double lr = 1e-3;
  bool truncate = false;
};

int RunTrain(const TrainArgs& a) {
  TraceModelConfig c;
  if (!ParseTraceModelKind(a.kind, &c.kind)) {
    spdlog::error("unknown --kind '{}' (sad, rtad, multimodal, dense-sad, dense-rtad, "
                  "dense-multimodal)", a.kind);
    return 2;
  }
  if (a.label_host == "host") c.label_options.host = LabelHost::kHost;
  else if (a.label_host == "service") c.label_options.host = LabelHost::kService;
  else if (a.label_host == "none") c.label_options.host = LabelHost::kNone;
  else {
    spdlog::error("unknown --label-host '{}' (host, service, none)", a.label_host);
    return 2;
  }
  c.epochs = a.epochs;
  c.hidden = c.joint_hidden = a.hidden;
  c.top_k = a.top_k;
  c.batch = a.batch;
  c.lr = a.lr;
  c.threads = a.threads;
  c.top_m = a.top_m;
  c.length_filter.min_length = a.min_length;
  c.length_filter.max_length = a.max_length;
  c.length_filter.max_per_length = a.max_per_length;
  c.length_filter.truncate = a.truncate;
  ConfigureTorchRuntime(a.threads);
  std::vector<Trace> traces;
  if (!ReadTraces(a.in, &traces)) return 1;
  TraceModel m(c);
  Status s = m.Fit(Label(traces, c.label_options), {});
  if (s.ok()) s = m.Save(a.out);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  fmt::print("trained trace model {} on {} traces ({} labels) in {:.1f} s; loss {:.4f}; "
             "{:.2f} % of validation traces flagged\nmodel written to {}\n",
             TraceModelKindName(c.kind), m.stats().train_traces, m.vocabulary().size(),
             m.stats().train_seconds, m.stats().final_loss, 100 * m.stats().validation_flag_rate,
             a.out);
  return 0;
}

// Opens `path` for the result table ("" or "-": stdout). Returns null on error.
FILE* OpenOut(const std::string& path) {
  if (path.empty() || path == "-") return stdout;
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) spdlog::error("cannot write {}", path);
  return f;
}

// Closes a file from OpenOut. Returns false iff writing failed.
bool CloseOut(FILE* f, const std::string& path) {
  if (f == stdout) return std::fflush(f) == 0;
  const bool ok = std::ferror(f) == 0;
  if (std::fclose(f) != 0 || !ok) {
    spdlog::error("write failed: {}", path);
    return false;
  }
  return true;
}

struct ScoreArgs {
  InputArgs in;
  std::string model;
  std::string out;
  int top_k = 0;
  double rt_z = -1;
  bool all = false;
};

std::string LabelOf(const TraceModel& m, uint32_t l) {
  return l < m.vocabulary().size() ? m.vocabulary().Label(l) : "?";
}

int RunScore(const ScoreArgs& a) {
  TraceModel m;
  Status s = m.Load(a.model);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (a.top_k > 0) m.mutable_config()->top_k = a.top_k;
  if (a.rt_z >= 0) m.mutable_config()->rt_z = a.rt_z;
  std::vector<Trace> traces;
  if (!ReadTraces(a.in, &traces)) return 1;
  std::vector<LabeledTrace> lt = Label(traces, m.config().label_options);
  std::vector<TraceVerdict> v;
  auto t0 = std::chrono::steady_clock::now();
  m.ScoreBatch(lt, &v);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t by_type[4] = {0, 0, 0, 0};
  FILE* out = OpenOut(a.out);
  if (out == nullptr) return 1;
  fmt::print(out, "trace_id\tanomaly\ttype\tscore\tevents\tfindings\n");
  for (size_t i = 0; i < v.size(); ++i) {
    ++by_type[static_cast<int>(v[i].type)];
    if (!v[i].anomaly && !a.all) continue;
    std::string f;
    for (const auto& x : v[i].findings) {
      if (!f.empty()) f += "; ";
      f += fmt::format("#{} {}", x.position,
                       x.position < lt[i].labels.size() ? lt[i].labels[x.position] : "<end>");
      if (x.structural) {
        f += fmt::format(" rank {} p={:.3g}, expected", x.rank, x.probability);
        for (auto [l, p] : x.expected) f += fmt::format(" {}({:.2f})", LabelOf(m, l), p);
      }
      if (x.response_time)
        f += fmt::format(" rt {:.3f} ms, expected {:.3f}-{:.3f} ms", x.observed_rt / 1e6,
                         x.expected_rt_lo / 1e6, x.expected_rt_hi / 1e6);
    }
    fmt::print(out, "{}\t{}\t{}\t{:.4g}\t{}\t{}\n", lt[i].trace_id, v[i].anomaly ? 1 : 0,
               TraceAnomalyTypeName(v[i].type), v[i].score, lt[i].labels.size(), f);
  }
  fmt::print(stderr,
             "{} traces scored in {:.3f} s ({:.0f}/s): {} normal, {} structural, {} response "
             "time, {} both\n",
             v.size(), secs, secs > 0 ? v.size() / secs : 0.0, by_type[0], by_type[1], by_type[2],
             by_type[3]);
  return CloseOut(out, a.out) ? 0 : 1;
}

struct PathArgs {
  InputArgs in;
  std::string model;
  std::string out;
  PathOptions opts;
};

int RunPaths(const PathArgs& a) {
  TraceModel m;
  Status s = m.Load(a.model);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (!m.structural()) {
    spdlog::error("{}: a {} model predicts no labels; trace-paths needs sad, multimodal or a "
                  "dense label model", a.model, TraceModelKindName(m.config().kind));
    return 2;
  }
  std::vector<Trace> traces;
  if (!ReadTraces(a.in, &traces)) return 1;
  std::vector<EventSequence> seqs;
  for (const auto& t : traces) seqs.push_back(m.ToSequence(LabelTrace(t, m.config().label_options)));
  PathReport r = FindExecutionPaths(m, seqs, a.opts);
  FILE* out = OpenOut(a.out);
  if (out == nullptr) return 1;
  fmt::print(out, "# {} distinct prefixes of {} traces examined\n", r.prefixes, seqs.size());
  fmt::print(out, "# concurrent pairs: label_a\tlabel_b\tp_a\tp_b\tevidence\tnext\tp_next\tprefixes\n");
  for (const auto& c : r.concurrent)
    fmt::print(out, "concurrent\t{}\t{}\t{:.3f}\t{:.3f}\t{}\t{}\t{:.3f}\t{}\n", LabelOf(m, c.a),
               LabelOf(m, c.b), c.pa, c.pb, c.evidence, LabelOf(m, c.next), c.p_next, c.prefixes);
  fmt::print(out, "# dependent pairs: from\tto\tp\tprefixes\n");
  for (const auto& d : r.dependent)
    fmt::print(out, "dependent\t{}\t{}\t{:.3f}\t{}\n", LabelOf(m, d.from), LabelOf(m, d.to), d.p,
               d.prefixes);
  return CloseOut(out, a.out) ? 0 : 1;
}

void Setup(CLI::App& app) {
  {
    auto a = std::make_shared<TrainArgs>();
    auto* cmd = app.add_subcommand("trace-train",
                                   "Fit a trace model (multimodal LSTM, Nedelkoski et al.) on "
                                   "spans of normal operation");
    cmd->add_option("--out", a->out, "Model file to write")->required();
    cmd->add_option("--kind", a->kind,
                    "sad, rtad, multimodal, dense-sad, dense-rtad, dense-multimodal");
    cmd->add_option("--label-host", a->label_host, "Host part of labels: host, service, none");
    cmd->add_option("--epochs", a->epochs, "Training epochs");
    cmd->add_option("--hidden", a->hidden, "LSTM units per layer");
    cmd->add_option("--top-k", a->top_k, "Structural detection: observed label in the top-k");
    cmd->add_option("--batch", a->batch, "Batch size");
    cmd->add_option("--lr", a->lr, "Adam learning rate");
    cmd->add_option("--threads", a->threads, "Torch threads (0 = all cores)");
    cmd->add_option("--top-m", a->top_m, "Dictionary: the top-M labels (0 = all)");
    cmd->add_option("--min-length", a->min_length, "Shortest training trace");
    cmd->add_option("--max-length", a->max_length, "Longest training trace");
    cmd->add_option("--max-per-length", a->max_per_length, "Training traces per length (0 = all)");
    cmd->add_flag("--truncate", a->truncate, "Cut longer training traces instead of skipping");
    AddInputOptions(cmd, &a->in);
    cmd->callback([a] { SetExitCode(RunTrain(*a)); });
  }
  {
    auto a = std::make_shared<ScoreArgs>();
    auto* cmd = app.add_subcommand("trace-score", "Flag anomalous traces with a trace model");
    cmd->add_option("--model", a->model, "Model written by trace-train")->required();
    cmd->add_option("--top-k", a->top_k, "Override the model's top-k");
    cmd->add_option("--rt-z", a->rt_z, "Override the response-time bound (z of the Gaussian)");
    cmd->add_flag("--all", a->all, "Print normal traces too");
    cmd->add_option("--out", a->out, "Write the table to this file instead of stdout");
    AddInputOptions(cmd, &a->in);
    cmd->callback([a] { SetExitCode(RunScore(*a)); });
  }
  {
    auto a = std::make_shared<PathArgs>();
    auto* cmd = app.add_subcommand(
        "trace-paths", "Concurrent and dependent events learned by a trace model (paper III-D)");
    cmd->add_option("--model", a->model, "Model written by trace-train")->required();
    cmd->add_option("--candidate-p", a->opts.candidate_p,
                    "Next labels with at least this probability are branch candidates");
    cmd->add_option("--dependent-p", a->opts.dependent_p,
                    "A successor with at least this probability is dependent");
    cmd->add_option("--out", a->out, "Write the pairs to this file instead of stdout");
    AddInputOptions(cmd, &a->in);
    cmd->callback([a] { SetExitCode(RunPaths(*a)); });
  }
}

CommandRegistration reg(60, Setup);

}  // namespace
}  // namespace triad::cli

#endif  // TRIAD_WITH_TORCH
