#!/usr/bin/env bash
# Configures and builds Triad into build/ (Release). Extra args go to the build tool,
# e.g. `scripts/build.sh triad` builds the binary only.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${gen[@]}" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j"$(nproc)" ${1:+--target "$@"}
