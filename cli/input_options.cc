#include "cli/input_options.h"

#include <spdlog/spdlog.h>

namespace triad::cli {

void AddInputOptions(CLI::App* cmd, InputArgs* a) {
  cmd->add_option("--format", a->format,
                  "Input format: auto, otlp, jaeger, zipkin, loghub, metric-csv, prometheus, "
                  "nezha-trace, nezha-log, deeptralog");
  cmd->add_option("--log-format", a->log_format,
                  "Raw log header format or loghub system name (HDFS, BGL, ...)");
  cmd->add_option("--service", a->service, "Service name for inputs that carry none");
  cmd->add_option("inputs", a->inputs, "Input files (plain or gzip; - for stdin)")
      ->required()
      ->check(CLI::ExistingFile | CLI::IsMember({"-"}));
}

bool ToReadOptions(const InputArgs& a, ReadOptions* ro) {
  if (!ParseInputFormat(a.format, &ro->format)) {
    spdlog::error("unknown --format '{}'", a.format);
    return false;
  }
  ro->log_format = a.log_format;
  ro->service = a.service;
  return true;
}

Status ReadInputsInto(const InputArgs& a, const std::vector<std::string>& paths,
                      TelemetrySink& sink, ReadStats* stats) {
  ReadOptions ro;
  if (!ToReadOptions(a, &ro)) return Status::InvalidArgument("unknown --format '" + a.format + "'");
  for (const auto& path : paths) TRIAD_RETURN_IF_ERROR(ReadTelemetry(path, ro, sink, stats));
  return Status::OK();
}

}  // namespace triad::cli
