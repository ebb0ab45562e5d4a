// main() of triad_model_tests: runs the tests with OMP_WAIT_POLICY=passive
// (models/omp_env.h) so that idle OpenMP workers do not spin.
#include <gtest/gtest.h>

#include "models/omp_env.h"

int main(int argc, char** argv) {
  triad::EnsurePassiveOmpWait(argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
