#include "models/omp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace triad {

void EnsurePassiveOmpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed: go on with the default policy (slower, still correct).
}

}  // namespace triad
