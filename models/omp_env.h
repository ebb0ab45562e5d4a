// OpenMP wait policy for LibTorch processes. Torch-free header.
//
// libgomp reads OMP_WAIT_POLICY once, when it is loaded; by default idle
// workers spin. On a small, shared machine that spinning steals the cores the
// other threads need: measured here, DeepLog training took 151.5 CPU s with
// the default policy and 21.7 CPU s with "passive", with identical results.
// So every process that runs torch work sets the policy before libgomp
// starts, by re-executing itself once with it set.
#ifndef TRIAD_MODELS_OMP_ENV_H_
#define TRIAD_MODELS_OMP_ENV_H_

namespace triad {

// If OMP_WAIT_POLICY is unset, sets it to "passive" and re-executes the
// running program (/proc/self/exe) with the same argv; returns only if the
// variable was already set (a user's choice is kept) or exec failed. Call
// first thing in main(), before any thread starts.
void EnsurePassiveOmpWait(char** argv);

}  // namespace triad

#endif  // TRIAD_MODELS_OMP_ENV_H_
