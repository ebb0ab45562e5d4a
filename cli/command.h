// Sub-command registry: each cli/cmd_*.cc registers itself with a static
// CommandRegistration, so adding a command touches one file.
#ifndef TRIAD_CLI_COMMAND_H_
#define TRIAD_CLI_COMMAND_H_

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace triad::cli {

// Adds one sub-command (with its options and callback) to `app`.
using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandRegistration {
  // `order` sorts commands in --help (lower first).
  CommandRegistration(int order, CommandSetup setup);
};

// All registered commands, sorted by order.
std::vector<CommandSetup> RegisteredCommands();

// Exit code a command callback sets for main() (0 = success).
void SetExitCode(int code);
int ExitCode();

}  // namespace triad::cli

#endif  // TRIAD_CLI_COMMAND_H_
