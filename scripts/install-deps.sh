#!/usr/bin/env bash
# Installs everything Triad needs to build, test and run on Debian 12 (bookworm).
# Idempotent: skips apt when every package is already present. Run as root (or with sudo).
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-pthread
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  zlib1g-dev libsqlite3-dev
  protobuf-compiler libprotobuf-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "[install-deps] installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[install-deps] all packages present"
fi

# libtorch uses whatever libblas.so.3 the system selects; make it OpenBLAS (pthread build).
# Triad pins OpenBLAS to one thread at start-up (core/runtime) so it does not fight libtorch's pool.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) echo "[install-deps] BLAS: $blas" ;;
  *)
    cand=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -1 || true)
    if [ -n "$cand" ]; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$cand"
      echo "[install-deps] BLAS switched to $cand"
    else
      echo "[install-deps] WARNING: OpenBLAS not found; libtorch will use the slow reference BLAS" >&2
    fi ;;
esac
