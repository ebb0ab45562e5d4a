// The input options every command that reads telemetry shares:
// --format, --log-format, --service and the positional INPUT files.
#ifndef TRIAD_CLI_INPUT_OPTIONS_H_
#define TRIAD_CLI_INPUT_OPTIONS_H_

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "ingest/reader.h"

namespace triad::cli {

struct InputArgs {
  std::string format = "auto";
  std::string log_format;
  std::string service;
  std::vector<std::string> inputs;
};

// Adds the options to `cmd`, bound to *a (which must outlive parsing).
void AddInputOptions(CLI::App* cmd, InputArgs* a);

// Returns true and fills *ro iff a.format names a known format; logs the error otherwise.
bool ToReadOptions(const InputArgs& a, ReadOptions* ro);

// Reads every file of `paths` (with a's format options) into `sink`, adding
// the counts to *stats. Returns InvalidArgument for an unknown --format, or
// the first fatal read error.
Status ReadInputsInto(const InputArgs& a, const std::vector<std::string>& paths,
                      TelemetrySink& sink, ReadStats* stats);

}  // namespace triad::cli

#endif  // TRIAD_CLI_INPUT_OPTIONS_H_
