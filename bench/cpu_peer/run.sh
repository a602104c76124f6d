#!/usr/bin/env bash
# run.sh — the CPU peer comparison of issue 13 item 4 in one interleaved run:
# tinct against PyTorch (CPU) and ONNX Runtime, 512x512 forward of each model
# and preset at 1 and 2 threads, one training step, tinct's peak RSS.
# Makes the venv first (setup_venv.sh, idempotent) and builds the two tinct
# targets it needs in the given build dir.
#
# usage: bench/cpu_peer/run.sh [build dir, default build] [--quick (default, ~3 min idle) | --full] [run.py options]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
"$root/bench/cpu_peer/setup_venv.sh" >/dev/null
if [ ! -f "$build/CMakeCache.txt" ]; then cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null; fi
cmake --build "$build" -j"$(nproc)" --target bench_peer_forward tinct >/dev/null
args=()
for a in "$@"; do [ "$a" = "--quick" ] || args+=("$a"); done
exec "$root/bench/.venv-cpu/bin/python" "$root/bench/cpu_peer/run.py" "$build" "${args[@]+"${args[@]}"}"
