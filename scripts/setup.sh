#!/usr/bin/env bash
# Sets up and builds clrnn on Debian 12: installs the Debian packages that
# are missing (needs root or sudo), configures with CMake and builds.
#   CLRNN_BUILD_DIR   build folder (default: build)
#   CLRNN_WERROR=ON   warnings as errors (CI)
#   CLRNN_SANITIZE=ON AddressSanitizer + UndefinedBehaviorSanitizer
#   CLRNN_SHARED=ON   a shared libclrnn (BUILD_SHARED_LIBS); default static
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake gcc make pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo oclgrind librsvg2-bin openmpi-bin libopenmpi-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${CLRNN_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCLRNN_WERROR="${CLRNN_WERROR:-OFF}" -DCLRNN_SANITIZE="${CLRNN_SANITIZE:-OFF}" \
  -DBUILD_SHARED_LIBS="${CLRNN_SHARED:-OFF}" >/dev/null
cmake --build "$build" -j "$(nproc)"
