// Helpers shared by the CLI tests, which run the `triad` binary (TRIAD_BIN).
#ifndef TRIAD_CLI_CLI_TEST_UTIL_H_
#define TRIAD_CLI_CLI_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace triad::testutil {

// Returns the whole file ("" if it cannot be read).
inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `cmd` with a shell, capturing stdout+stderr into *out; returns the
// exit status (-1 if it did not exit normally).
inline int Shell(const std::string& cmd, std::string* out) {
  static std::atomic<int> n{0};
  const std::string log = (std::filesystem::temp_directory_path() /
                           ("triad_test_" + std::to_string(::getpid()) + "_" +
                            std::to_string(n++) + ".log"))
                              .string();
  const int rc = std::system((cmd + " > " + log + " 2>&1").c_str());
  *out = ReadAll(log);
  std::filesystem::remove(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Returns true iff `bin --help` lists the sub-command `name` (commands that need
// LibTorch are absent from a torch-free build; `bin name --help` would still exit 0
// there, printing the main help).
inline bool HasCommand(const std::string& bin, const std::string& name) {
  std::string out;
  if (Shell(bin + " --help", &out) != 0) return false;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(' ');
    if (b != std::string::npos && line.compare(b, name.size(), name) == 0 &&
        (line.size() == b + name.size() || line[b + name.size()] == ' '))
      return true;
  }
  return false;
}

}  // namespace triad::testutil

#endif  // TRIAD_CLI_CLI_TEST_UTIL_H_
