#!/usr/bin/env bash
# Builds and runs the CUDA kernels' parity tests on the CPU, without a GPU:
# the real kernels/*/*.cu (every op family folder) with their launches rewritten by gen.py into
# emu::launch() calls (one OS thread per CUDA thread of a block, blocks one
# after another; emu_cuda.h, emu_runtime.cpp), linked with the CPU reference
# kernels, the engine and the models (built with TINCT_HAS_CUDA, so CUDA
# tensors live in emulated device memory) and the tests of tests/gpu/.
#
# It catches indexing, tiling, boundary, reduction and contract bugs before
# any GPU time is spent; it cannot catch races that only real warp timing
# shows, nor GPU-only math differences. It is slow (minutes: thousands of OS
# threads per block), so it is not part of ctest.
#
# usage: tools/cuda_emu/build.sh [WORKDIR] [doctest args, e.g. -tc=conv2d*]
#   then WORKDIR/emu_kbench runs tinct-kbench's GPU variants (at its small
#   default shapes; --no-time) the same way.
#   EMU_SAN="-fsanitize=address,undefined" tools/cuda_emu/build.sh /tmp/emu_asan
#   EMU_SCHED=ahead ...: each warp runs to its next __syncthreads before the
#     next warp starts (catches shared memory overwritten while still read)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-/tmp/tinct_cuda_emu}
shift || true
mkdir -p "$work/obj"
rm -rf "$work/gen" && mkdir -p "$work/gen"
python3 "$here/gen.py" "$work/gen" "$root" $(ls "$root"/kernels/*/*.cu "$root"/kernels/*/*.cuh 2>/dev/null)
# The human test page's assets as the header CMake generates (cmake/embed_assets.cmake).
mkdir -p "$work/gen/inc/tinct_assets"
assets="$root/models/eval/assets"
cmake -DOUT="$work/gen/inc/tinct_assets/human_page.h" -DNAMESPACE=tinct::eval::assets \
      -DFILES="$assets/human.html|$assets/human.css|$assets/human.js" -P "$root/cmake/embed_assets.cmake"
cuda_inc=/usr/local/cuda/include
INC="-I$here -I$work/gen/inc -I$root -I$root/third_party -I$root/tests -I$cuda_inc"
FLAGS="-std=c++20 -O1 -g -pthread -fopenmp -ffp-contract=off -w ${EMU_SAN:-}"
DEFS="-DTINCT_HAS_CUDA=1 -DTINCT_VERSION=\"emu\" -DTINCT_SOURCE_DIR=\"$root\""
# lib: the kernels, engine and models; test: the GPU tests; kbench: tinct-kbench
# (tools/kbench/, its GPU variants checked without timings: the emulator has no events).
lib="" test="" kbench=""
for f in "$work"/gen/*.cpp "$root"/kernels/*/*.cpp "$root"/engine/*.cpp "$root"/engine/ops/*.cpp \
         "$root"/engine/nn/*.cpp $(find "$root/models" -name '*.cpp') "$here/emu_runtime.cpp" \
         "$root/tests/doctest_main.cpp" "$root"/tests/gpu/test_gpu_*.cpp \
         "$root"/tools/kbench/main.cpp "$root"/tools/kbench/gpu.cpp "$root"/tools/kbench/peak.cpp \
         "$root"/tools/kbench/ops_*.cpp; do
  # One process, as a CMake build without MPI / NCCL (engine/dist.cpp's single-rank communicator).
  case "$f" in "$root"/engine/dist_mpi.cpp | "$root"/engine/dist_nccl.cpp) continue ;; esac
  o="$work/obj/$(basename "$f" .cpp)_$(echo "$f" | md5sum | cut -c1-6).o"
  if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ "$here/emu_cuda.h" -nt "$o" ]; then
    g++ $FLAGS $DEFS -DTINCT_CUDA_EMU=1 $INC -c "$f" -o "$o" &
  fi
  case "$f" in
    "$root"/tests/*) test="$test $o" ;;
    "$root"/tools/kbench/*) kbench="$kbench $o" ;;
    *) lib="$lib $o" ;;
  esac
  while [ "$(jobs -r | wc -l)" -ge "$(nproc)" ]; do sleep 0.2; done
done
wait
g++ $FLAGS $lib $test -lz -o "$work/emu_test"
g++ $FLAGS $lib $kbench -lz -o "$work/emu_kbench"
echo "built $work/emu_kbench (e.g. $work/emu_kbench --all --device gpu --no-time)"
echo "built $work/emu_test; running it"
"$work/emu_test" "$@"
