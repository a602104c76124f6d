#!/usr/bin/env bash
# gpu_deps.sh — fetches, on a machine with apt, what tools/gpu_check.sh needs
# on a GPU machine that has no package registry: Google Benchmark (the
# kernel benchmark's harness) as .deb files in .gpudeps/ (ignored by git).
# Carry .gpudeps to the GPU machine; gpu_check.sh unpacks it under
# /tmp/tinct-deps and points CMake there.
#   usage: tools/gpu_deps.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/.gpudeps"
cd "$root/.gpudeps"
rm -f ./*.deb
lib=$(apt-cache depends libbenchmark-dev | awk '/Depends: libbenchmark[0-9]/ {print $2; exit}')
apt-get download libbenchmark-dev "${lib:-libbenchmark1debian}"
ls -l "$root/.gpudeps"
