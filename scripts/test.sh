#!/usr/bin/env bash
# Set-up and the whole test suite on a fresh Debian 12 machine: installs dependencies,
# builds, runs the unit/integration tests (CTest), then rebuilds the torch-free
# library with clang + ASan/UBSan and runs the same tests plus every libFuzzer target.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh

echo "== build (Release, gcc) =="
bash scripts/build.sh
echo "== tests =="
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600

echo "== sanitised build + fuzzers (clang-14, ASan/UBSan, libFuzzer) =="
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  CXX=clang++-14 cmake -S . -B build-fuzz "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAD_FUZZ=ON
fi
cmake --build build-fuzz -j"$(nproc)"
ctest --test-dir build-fuzz --output-on-failure -j"$(nproc)" --timeout 600
