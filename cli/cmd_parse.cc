// `triad parse`: mines log templates (Drain) from raw loghub-style logs and
// writes loghub's structured.csv and templates.csv.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
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

namespace triad::cli {
namespace {

struct Args {
  std::string log_format;
  std::string out_dir;
  double st = 0.5;
  int depth = 4;
  int max_children = 100;
  std::vector<std::string> inputs;
};

// Appends `s` as one CSV field (quoted when needed).
void AppendCsv(std::string_view s, std::string* out) {
  bool quote = s.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

struct Row {
  std::string prefix;   // LineId,header fields..., as CSV
  std::string content;
  uint32_t id = 0;
};

// loghub's ParameterList: a Python list literal of the tokens of `content`
// under the template's wildcard positions.
std::string ParamList(std::string_view content, std::string_view tmpl) {
  std::vector<std::string_view> ct, tt;
  SplitWhitespace(content, &ct);
  SplitWhitespace(tmpl, &tt);
  std::string out = "[";
  bool first = true;
  for (size_t i = 0; i < tt.size() && i < ct.size(); ++i) {
    if (tt[i].find(kWildcard) == std::string_view::npos) continue;
    if (!first) out += ", ";
    first = false;
    out += '\'';
    for (char c : ct[i]) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  out += ']';
  return out;
}

int Run(const Args& a) {
  std::string format = a.log_format;
  if (format.find('<') == std::string::npos) {
    format = LoghubFormatFor(a.log_format);
    if (format.empty()) {
      fmt::print(stderr, "triad parse: unknown loghub system '{}' (give a format string)\n",
                 a.log_format);
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
  std::error_code ec;
  std::filesystem::create_directories(a.out_dir, ec);
  if (ec) {
    fmt::print(stderr, "triad parse: cannot create {}: {}\n", a.out_dir, ec.message());
    return 1;
  }
  DrainConfig cfg;
  cfg.sim_threshold = a.st;
  cfg.depth = a.depth;
  cfg.max_children = a.max_children;
  DrainParser drain(cfg);

  ReadStats stats;
  std::vector<Row> rows;
  std::vector<std::string_view> fields;
  uint64_t line_id = 0;
  bool ok = true;
  for (const std::string& in : a.inputs) {
    std::unique_ptr<LineReader> r;
    Status s = LineReader::Open(in, &r);
    if (!s.ok()) {
      fmt::print(stderr, "triad parse: {}\n", s.ToString());
      ok = false;
      continue;
    }
    std::string_view line;
    while (r->Next(&line)) {
      ++stats.lines;
      bool blank = line.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos;
      if (blank) continue;
      if (!lp.Match(line, &fields)) {
        stats.Skip(r->name(), r->line_number(), "line does not match the log format");
        continue;
      }
      ++stats.records;
      Row row;
      row.prefix = std::to_string(++line_id);
      for (size_t i = 0; i < fields.size(); ++i) {
        if (static_cast<int>(i) == lp.content_index()) continue;
        row.prefix.push_back(',');
        AppendCsv(fields[i], &row.prefix);
      }
      row.content.assign(fields[lp.content_index()]);
      row.id = drain.Add(row.content).template_id;
      rows.push_back(std::move(row));
    }
    s = FinishLineReader(*r, &stats);
    if (!s.ok()) {
      fmt::print(stderr, "triad parse: {}: {}\n", in, s.ToString());
      ok = false;
    }
  }

  std::string spath = (std::filesystem::path(a.out_dir) / "structured.csv").string();
  std::string tpath = (std::filesystem::path(a.out_dir) / "templates.csv").string();
  std::ofstream so(spath, std::ios::binary | std::ios::trunc);
  std::ofstream to(tpath, std::ios::binary | std::ios::trunc);
  if (!so || !to) {
    fmt::print(stderr, "triad parse: cannot write into {}\n", a.out_dir);
    return 1;
  }
  std::string buf = "LineId";
  for (size_t i = 0; i < lp.field_names().size(); ++i) {
    if (static_cast<int>(i) == lp.content_index()) continue;
    buf += ',';
    AppendCsv(lp.field_names()[i], &buf);
  }
  buf += ",Content,EventId,EventTemplate,ParameterList\n";
  so << buf;
  for (const Row& row : rows) {
    buf = row.prefix;
    buf += ',';
    AppendCsv(row.content, &buf);
    const std::string& tmpl = drain.TemplateText(row.id);
    buf += ",E" + std::to_string(row.id) + ',';
    AppendCsv(tmpl, &buf);
    buf += ',';
    AppendCsv(ParamList(row.content, tmpl), &buf);
    buf += '\n';
    so << buf;
  }
  to << "EventId,EventTemplate,Occurrences\n";
  for (uint32_t id = 1; id <= drain.num_templates(); ++id) {
    buf = "E" + std::to_string(id) + ',';
    AppendCsv(drain.TemplateText(id), &buf);
    buf += ',' + std::to_string(drain.Occurrences(id)) + '\n';
    to << buf;
  }
  so.close();
  to.close();
  if (!so || !to) {
    fmt::print(stderr, "triad parse: write error in {}\n", a.out_dir);
    return 1;
  }
  fmt::print("{} lines, {} parsed, {} skipped; {} templates -> {}\n", stats.lines, stats.records,
             stats.skipped, drain.num_templates(), a.out_dir);
  for (const auto& e : stats.errors) fmt::print(stderr, "  skipped: {}\n", e);
  return ok ? 0 : 1;
}

void Setup(CLI::App& app) {
  auto* cmd = app.add_subcommand("parse", "Mine log templates (Drain) from raw logs");
  auto args = std::make_shared<Args>();
  cmd->add_option("--log-format", args->log_format,
                  "Header format, e.g. \"<Date> <Time> <Level> <Component>: <Content>\", or a "
                  "loghub system name (HDFS, BGL, ...)")
      ->required();
  cmd->add_option("--out", args->out_dir, "Output directory (structured.csv, templates.csv)")
      ->required();
  cmd->add_option("--st", args->st, "Drain similarity threshold")->capture_default_str();
  cmd->add_option("--depth", args->depth, "Drain tree depth")->capture_default_str();
  cmd->add_option("--max-children", args->max_children, "Drain max children per node")
      ->capture_default_str();
  cmd->add_option("inputs", args->inputs, "Input files (plain or gzip; - for stdin)")
      ->required();
  cmd->callback([args] { SetExitCode(Run(*args)); });
}

CommandRegistration reg(25, Setup);

}  // namespace
}  // namespace triad::cli
