#!/usr/bin/env bash
# Installs what tinct needs to build, test and benchmark, with apt (Debian or
# Ubuntu). Idempotent: packages already present are not touched, and apt is
# only called when something is missing. The CUDA toolkit is optional (found
# at /usr/local/cuda or on PATH); without it the CPU backend alone is built.
set -euo pipefail

# clang + libclang-rt-dev (Debian 12: clang 14, libclang-rt-14-dev with
# libFuzzer and the sanitizer runtimes): tools/sanitize.sh's build and fuzz
# smoke. nlohmann-json3-dev: the JSON reader (header-only, engine/json.cpp).
# openmpi-bin + libopenmpi-dev: `mpirun -np N tinct train` (engine/dist_mpi.cpp)
# and its 2-rank tests. zlib1g-dev: PNG's deflate (models/data/stb_impl.cpp).
packages=(cmake g++ make libbenchmark-dev libopenblas-dev chromium clang libclang-rt-dev nlohmann-json3-dev
          openmpi-bin libopenmpi-dev zlib1g-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present (${packages[*]})"
fi

if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: CUDA toolkit found; the CUDA kernels will be compiled"
else
  echo "setup: no CUDA toolkit; building the CPU backend only"
fi
