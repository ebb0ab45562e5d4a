#!/usr/bin/env bash
# Set-up and first run on a fresh Debian 12 machine: installs dependencies, builds,
# and runs `triad demo` on the built-in simulator (report in demo-out/report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh triad
./build/triad demo --out demo-out "$@"
