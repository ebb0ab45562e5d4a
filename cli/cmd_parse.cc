// `triad parse`: mines log templates (Drain) from raw loghub-style logs and
// writes loghub's structured.csv and templates.csv, streaming: memory is
// bounded by the number of templates (and one batch of lines), not by the
// number of lines.
//
// Exit codes: 0 success (lines that do not match the header format are
// skipped, counted and reported, and do not change the exit code); 1 an input
// could not be read or an output could not be written; 2 bad usage (bad
// --log-format, a --model file that is not a Drain model); 3 no non-empty
// input line matched the header format (most likely a wrong --log-format).
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "ingest/csv.h"
#include "ingest/line_reader.h"
#include "ingest/loghub_reader.h"
#include "ingest/read_stats.h"
#include "parse/drain.h"
#include "parse/masking.h"
#include "parse/parallel_drain.h"
#include "parse/structured_writer.h"

namespace triad::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string log_format;
  std::string out_dir;
  double st = 0.5;
  int depth = 4;
  int max_children = 100;
  std::string model;
  std::string events;
  int threads = 1;
  size_t batch = 8192;
  size_t max_line = LineReader::kDefaultMaxLine;
  bool progress = false;
  bool drain_opts_given = false;  // --st/--depth/--max-children on the command line
  std::vector<std::string> inputs;
};

// One matched line waiting in a batch: a copy of the line and its fields
// (views into `line`).
struct Slot {
  std::string line;
  std::vector<std::string_view> fields;
  uint64_t line_id = 0;
};

class ParseRun {
 public:
  explicit ParseRun(const Args& a) : a_(a) {}
  int Run();

 private:
  // Loads or creates the Drain parser. Returns an exit code (0 = go on).
  int SetUpParser();
  // Parses the slots [0, n_) and writes their rows and events.
  Status FlushBatch();
  Status WriteEvent(uint64_t line_id, const DrainMatch& m, std::string_view text);
  void MaybeProgress(bool force);

  const Args& a_;
  LoghubLineParser* lp_ = nullptr;
  std::unique_ptr<DrainParser> drain_;
  std::unique_ptr<ParallelDrain> pd_;
  std::unique_ptr<StructuredCsvWriter> writer_;
  std::FILE* events_ = nullptr;
  std::string events_path_;

  std::vector<Slot> slots_;
  size_t n_ = 0;
  std::vector<std::string_view> contents_, header_;
  std::vector<DrainMatch> matches_;
  std::vector<uint64_t> run_counts_;     // by template id - 1: lines of this run
  uint32_t templates_at_start_ = 0;
  uint64_t events_written_ = 0;

  ReadStats stats_;
  uint64_t empty_ = 0, mismatched_ = 0, oversized_ = 0;
  Clock::time_point start_, last_progress_;
  bool progress_ = false, tty_ = false;
};

int ParseRun::SetUpParser() {
  DrainConfig cfg;
  cfg.sim_threshold = a_.st;
  cfg.depth = a_.depth;
  cfg.max_children = a_.max_children;
  if (!a_.model.empty() && fs::exists(a_.model)) {
    Status s = DrainParser::Load(a_.model, &drain_);
    if (!s.ok()) {
      fmt::print(stderr,
                 "triad parse: --model {}: {} (expected a file written by triad parse --model)\n",
                 a_.model, s.ToString());
      return 2;
    }
    const DrainConfig& mc = drain_->config();
    if (a_.drain_opts_given && (mc.sim_threshold != cfg.sim_threshold || mc.depth != cfg.depth ||
                                mc.max_children != cfg.max_children)) {
      fmt::print(stderr,
                 "triad parse: note: --st/--depth/--max-children ignored; the model's settings "
                 "are used (st {}, depth {}, max-children {})\n",
                 mc.sim_threshold, mc.depth, mc.max_children);
    }
    fmt::print(stderr, "triad parse: loaded {} templates from {}\n", drain_->num_templates(),
               a_.model);
  } else {
    drain_ = std::make_unique<DrainParser>(cfg);
  }
  templates_at_start_ = static_cast<uint32_t>(drain_->num_templates());
  if (a_.threads != 1) pd_ = std::make_unique<ParallelDrain>(drain_.get(), a_.threads);
  return 0;
}

Status ParseRun::WriteEvent(uint64_t line_id, const DrainMatch& m, std::string_view text) {
  std::string row =
      std::to_string(line_id) + "," + EventId(m.template_id) + (m.is_new ? ",new," : ",changed,");
  AppendCsvField(text, &row);
  row.push_back('\n');
  if (std::fwrite(row.data(), 1, row.size(), events_) != row.size())
    return Status::IOError("write failed: " + events_path_);
  ++events_written_;
  return Status::OK();
}

Status ParseRun::FlushBatch() {
  if (n_ == 0) return Status::OK();
  const int ci = lp_->content_index();
  contents_.resize(n_);
  for (size_t i = 0; i < n_; ++i) contents_[i] = slots_[i].fields[ci];
  std::vector<std::string> texts;  // parallel path with --events
  if (pd_ != nullptr) {
    pd_->AddBatch(contents_, &matches_, nullptr, events_ != nullptr ? &texts : nullptr);
    if (events_ != nullptr) {
      for (size_t i = 0; i < n_; ++i)
        if (matches_[i].is_new || matches_[i].changed)
          TRIAD_RETURN_IF_ERROR(WriteEvent(slots_[i].line_id, matches_[i], texts[i]));
    }
  } else {
    matches_.resize(n_);
    for (size_t i = 0; i < n_; ++i) {
      matches_[i] = drain_->Add(contents_[i]);
      if (events_ != nullptr && (matches_[i].is_new || matches_[i].changed))
        TRIAD_RETURN_IF_ERROR(WriteEvent(slots_[i].line_id, matches_[i],
                                         drain_->TemplateText(matches_[i].template_id)));
    }
  }
  run_counts_.resize(drain_->num_templates());
  for (size_t i = 0; i < n_; ++i) {
    Slot& sl = slots_[i];
    header_.clear();
    for (size_t f = 0; f < sl.fields.size(); ++f)
      if (static_cast<int>(f) != ci) header_.push_back(sl.fields[f]);
    const uint32_t id = matches_[i].template_id;
    ++run_counts_[id - 1];
    TRIAD_RETURN_IF_ERROR(writer_->Add(sl.line_id, header_, sl.fields[ci], id));
    // Keep memory bounded by the batch: do not hold on to one huge line's buffer.
    if (sl.line.capacity() > (1u << 16)) std::string().swap(sl.line);
  }
  n_ = 0;
  return Status::OK();
}

void ParseRun::MaybeProgress(bool force) {
  if (!progress_) return;
  auto now = Clock::now();
  if (!force && now - last_progress_ < std::chrono::seconds(2)) return;
  last_progress_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  fmt::print(stderr, "{}parse: {} lines, {:.0f} lines/s, {} templates{}", tty_ ? "\r" : "",
             stats_.lines, secs > 0 ? stats_.lines / secs : 0.0, drain_->num_templates(),
             tty_ ? "\x1b[K" : "\n");
  std::fflush(stderr);
}

int ParseRun::Run() {
  std::string format = a_.log_format;
  if (format.find('<') == std::string::npos) {
    format = LoghubFormatFor(a_.log_format);
    if (format.empty()) {
      fmt::print(stderr, "triad parse: unknown loghub system '{}' (give a format string)\n",
                 a_.log_format);
      return 2;
    }
  }
  LoghubLineParser lp(format);
  if (!lp.ok()) {
    fmt::print(stderr, "triad parse: bad --log-format: {}\n", lp.status().ToString());
    return 2;
  }
  if (lp.content_index() < 0) {
    fmt::print(stderr, "triad parse: --log-format has no fields\n");
    return 2;
  }
  lp_ = &lp;
  if (a_.batch == 0) {
    fmt::print(stderr, "triad parse: --batch must be at least 1\n");
    return 2;
  }
  if (int rc = SetUpParser(); rc != 0) return rc;

  std::error_code ec;
  fs::create_directories(a_.out_dir, ec);
  if (ec) {
    fmt::print(stderr, "triad parse: cannot create {}: {}\n", a_.out_dir, ec.message());
    return 1;
  }
  const std::string spath = (fs::path(a_.out_dir) / "structured.csv").string();
  const std::string tpath = (fs::path(a_.out_dir) / "templates.csv").string();
  const std::string spill =
      (fs::path(a_.out_dir) / (".structured.csv.spill." + std::to_string(::getpid()))).string();
  std::vector<std::string> header_names;
  for (size_t i = 0; i < lp.field_names().size(); ++i)
    if (static_cast<int>(i) != lp.content_index()) header_names.push_back(lp.field_names()[i]);
  Status s = StructuredCsvWriter::Open(spath, spill, header_names, &writer_);
  if (!s.ok()) {
    fmt::print(stderr, "triad parse: {}\n", s.ToString());
    return 1;
  }
  struct FileCloser {
    std::FILE** f;
    ~FileCloser() {
      if (*f != nullptr) std::fclose(*f);
    }
  } events_closer{&events_};
  if (!a_.events.empty()) {
    events_path_ = a_.events;
    events_ = std::fopen(a_.events.c_str(), "wb");
    if (events_ == nullptr) {
      fmt::print(stderr, "triad parse: cannot write {}\n", a_.events);
      return 1;
    }
    std::fputs("LineId,EventId,kind,EventTemplate\n", events_);
  }

  tty_ = ::isatty(STDERR_FILENO) != 0;
  progress_ = a_.progress || tty_;
  start_ = last_progress_ = Clock::now();
  slots_.resize(a_.batch);
  uint64_t line_id = 0;
  bool read_error = false;
  std::vector<std::string_view> fields;
  for (const std::string& in : a_.inputs) {
    std::unique_ptr<LineReader> r;
    s = LineReader::Open(in, &r, a_.max_line);
    if (!s.ok()) {
      fmt::print(stderr, "triad parse: {}\n", s.ToString());
      read_error = true;
      continue;
    }
    std::string_view line;
    while (r->Next(&line)) {
      ++stats_.lines;
      if ((stats_.lines & 4095) == 0) MaybeProgress(false);
      if (line.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos) {
        ++empty_;
        continue;
      }
      if (!lp.Match(line, &fields)) {
        ++mismatched_;
        stats_.Skip(r->name(), r->line_number(), "line does not match the log format");
        continue;
      }
      ++stats_.records;
      Slot& sl = slots_[n_++];
      sl.line.assign(line);
      sl.line_id = ++line_id;
      sl.fields.resize(fields.size());
      for (size_t i = 0; i < fields.size(); ++i) {
        sl.fields[i] = fields[i].empty()
                           ? std::string_view()
                           : std::string_view(sl.line.data() + (fields[i].data() - line.data()),
                                              fields[i].size());
      }
      if (n_ == slots_.size()) {
        s = FlushBatch();
        if (!s.ok()) {
          fmt::print(stderr, "triad parse: {}\n", s.ToString());
          return 1;
        }
      }
    }
    oversized_ += r->oversized();
    stats_.lines += r->oversized();  // lines = parsed + skipped + empty
    s = FinishLineReader(*r, &stats_);
    if (!s.ok()) {
      fmt::print(stderr, "triad parse: {}: {}\n", in, s.ToString());
      read_error = true;
    }
  }
  s = FlushBatch();
  MaybeProgress(true);
  if (progress_)
    fmt::print(stderr, "{}parse: writing structured.csv{}", tty_ ? "\r" : "",
               tty_ ? "\x1b[K" : "\n");
  if (s.ok())
    s = writer_->Finish(
        [this](uint32_t id) -> std::string_view { return drain_->TemplateText(id); });
  if (s.ok()) {
    const uint32_t nt = static_cast<uint32_t>(drain_->num_templates());
    run_counts_.resize(nt);
    s = WriteTemplatesCsv(
        tpath, nt, [this](uint32_t id) -> std::string_view { return drain_->TemplateText(id); },
        [this](uint32_t id) { return run_counts_[id - 1]; });
  }
  if (s.ok() && events_ != nullptr) {
    bool bad = std::ferror(events_) != 0;
    if (std::fclose(events_) != 0 || bad) s = Status::IOError("write failed: " + a_.events);
    events_ = nullptr;
  }
  if (!s.ok()) {
    fmt::print(stderr, "triad parse: {}\n", s.ToString());
    return 1;
  }
  if (!a_.model.empty() && !read_error) {
    std::string tmp = a_.model + ".tmp";
    s = drain_->Save(tmp);
    if (s.ok()) {
      fs::rename(tmp, a_.model, ec);
      if (ec) s = Status::IOError("cannot rename " + tmp + ": " + ec.message());
    }
    if (!s.ok()) {
      fmt::print(stderr, "triad parse: saving the model: {}\n", s.ToString());
      return 1;
    }
  } else if (!a_.model.empty()) {
    fmt::print(stderr, "triad parse: model {} not saved (an input could not be read)\n", a_.model);
  }

  if (progress_ && tty_) fmt::print(stderr, "\n");
  double secs = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string reasons;
  if (mismatched_ > 0) reasons += fmt::format("{} not matching the format", mismatched_);
  if (oversized_ > 0)
    reasons += fmt::format("{}{} longer than {} bytes", reasons.empty() ? "" : ", ", oversized_,
                           a_.max_line);
  const uint32_t nt = static_cast<uint32_t>(drain_->num_templates());
  uint32_t used = 0;
  for (uint64_t c : run_counts_) used += c > 0;
  fmt::print(
      "{} lines, {} parsed, {} skipped{}, {} empty; {} templates ({} new, {} used); "
      "{:.0f} lines/s -> {}\n",
      stats_.lines, stats_.records, stats_.skipped, reasons.empty() ? "" : " (" + reasons + ")",
      empty_, nt, nt - templates_at_start_, used, secs > 0 ? stats_.lines / secs : 0.0, a_.out_dir);
  if (!a_.events.empty()) fmt::print("{} template events -> {}\n", events_written_, a_.events);
  if (!a_.model.empty() && !read_error) fmt::print("model -> {}\n", a_.model);
  // ReadStats::Skip already logged the first ones (file:line) unless warnings are off.
  if (stats_.skipped > 0 && !spdlog::should_log(spdlog::level::warn)) {
    constexpr size_t kShow = 5;
    for (size_t i = 0; i < stats_.errors.size() && i < kShow; ++i)
      fmt::print(stderr, "  skipped: {}\n", stats_.errors[i]);
    if (stats_.skipped > kShow)
      fmt::print(stderr, "  ... {} more skipped\n", stats_.skipped - kShow);
  }
  if (read_error) return 1;
  if (stats_.records == 0 && mismatched_ > 0) {
    fmt::print(stderr, "triad parse: no line matched the log format '{}'\n", format);
    return 3;
  }
  return 0;
}

void Setup(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "parse",
      "Mine log templates (Drain) from raw logs. Exit codes: 0 ok (unmatched lines are skipped "
      "and reported), 1 read/write error, 2 bad usage or model file, 3 no line matched the format");
  auto args = std::make_shared<Args>();
  cmd->add_option("--log-format", args->log_format,
                  "Header format, e.g. \"<Date> <Time> <Level> <Component>: <Content>\", or a "
                  "loghub system name (HDFS, BGL, ...)")
      ->required();
  cmd->add_option("--out", args->out_dir, "Output directory (structured.csv, templates.csv)")
      ->required();
  auto* st = cmd->add_option("--st", args->st, "Drain similarity threshold")->capture_default_str();
  auto* depth = cmd->add_option("--depth", args->depth, "Drain tree depth")->capture_default_str();
  auto* mc = cmd->add_option("--max-children", args->max_children, "Drain max children per node")
                 ->capture_default_str();
  cmd->add_option("--model", args->model,
                  "Drain state file: loaded first if it exists (template ids stay stable), saved "
                  "back at the end");
  cmd->add_option(
      "--events", args->events,
      "Write template events (LineId,EventId,kind=new|changed,EventTemplate) to this CSV");
  cmd->add_option("--threads", args->threads, "Parser threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", args->batch, "Lines per parallel batch")->capture_default_str();
  cmd->add_option("--max-line", args->max_line, "Longer lines (bytes) are skipped and counted")
      ->capture_default_str();
  cmd->add_flag("--progress", args->progress,
                "Print progress every ~2 s on stderr (default: only when stderr is a terminal)");
  cmd->add_option("inputs", args->inputs, "Input files (plain or gzip; - for stdin)")->required();
  cmd->callback([args, st, depth, mc] {
    args->drain_opts_given = st->count() + depth->count() + mc->count() > 0;
    SetExitCode(ParseRun(*args).Run());
  });
}

CommandRegistration reg(25, Setup);

}  // namespace
}  // namespace triad::cli
