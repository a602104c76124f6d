#!/usr/bin/env bash
# gpu_deps.sh — fetches, on a machine with apt, what tools/gpu_check.sh needs
# on a GPU machine that has no package registry: Google Benchmark (the
# kernel benchmark's harness) as .deb files in .gpudeps/ (ignored by git).
# Carry .gpudeps to the GPU machine; gpu_check.sh unpacks it under
# /tmp/tinct-deps (--unpack) and points CMake there.
#   usage: tools/gpu_deps.sh              fetch the .deb files
#          tools/gpu_deps.sh --unpack DIR  unpack them into DIR (dpkg -x, or
#                                          ar + tar where the image has no dpkg)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--unpack" ]; then
  dir=${2:?usage: tools/gpu_deps.sh --unpack DIR}
  mkdir -p "$dir"
  for f in "$root"/.gpudeps/*.deb; do
    dpkg -x "$f" "$dir" 2>/dev/null ||
      (cd "$dir" && ar p "$f" "$(ar t "$f" | grep '^data.tar')" | tar -x -J 2>/dev/null ||
         ar p "$f" "$(ar t "$f" | grep '^data.tar')" | tar -x --zstd)
  done
  exit 0
fi
mkdir -p "$root/.gpudeps"
cd "$root/.gpudeps"
rm -f ./*.deb
lib=$(apt-cache depends libbenchmark-dev | awk '/Depends: libbenchmark[0-9]/ {print $2; exit}')
apt-get download libbenchmark-dev "${lib:-libbenchmark1debian}"
ls -l "$root/.gpudeps"
