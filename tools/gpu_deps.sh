#!/usr/bin/env bash
# gpu_deps.sh — fetches, on a machine with apt, what tools/gpu_check.sh needs
# on a GPU machine that has no package registry: Google Benchmark (the
# kernel benchmark's harness) as .deb files in .gpudeps/ (ignored by git),
# and NVIDIA's compute-sanitizer (from PyPI's nvidia-cuda-sanitizer-api
# wheel, without its docs: .gpudeps/compute-sanitizer.tgz, about 12 MB).
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
  # -> DIR/compute-sanitizer/compute-sanitizer
  [ -f "$root/.gpudeps/compute-sanitizer.tgz" ] && tar -xzf "$root/.gpudeps/compute-sanitizer.tgz" -C "$dir"
  exit 0
fi
mkdir -p "$root/.gpudeps"
cd "$root/.gpudeps"
rm -f ./*.deb
lib=$(apt-cache depends libbenchmark-dev | awk '/Depends: libbenchmark[0-9]/ {print $2; exit}')
apt-get download libbenchmark-dev "${lib:-libbenchmark1debian}"
# compute-sanitizer: the wheel for the CUDA major version of this toolkit.
major=$(nvcc --version 2>/dev/null | grep -o 'release [0-9]*' | grep -o '[0-9]*$' || echo 13)
wheel=nvidia-cuda-sanitizer-api; [ "$major" = 12 ] && wheel=nvidia-cuda-sanitizer-api-cu12
tmp=$(mktemp -d)
if pip download --no-deps -q -d "$tmp" "$wheel"; then
  python3 -m zipfile -e "$tmp"/*.whl "$tmp/x"
  san=$(dirname "$(find "$tmp/x" -type f -path '*compute-sanitizer/compute-sanitizer' | head -1)")
  rm -rf "$san/docs" "$san/include"
  chmod +x "$san/compute-sanitizer" "$san"/TreeLauncher*  # zipfile keeps no modes
  tar -czf compute-sanitizer.tgz -C "$(dirname "$san")" compute-sanitizer
else
  echo "gpu_deps.sh: could not fetch $wheel; gpu_check.sh will skip compute-sanitizer" >&2
fi
rm -rf "$tmp"
ls -l "$root/.gpudeps"
