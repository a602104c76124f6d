#!/usr/bin/env bash
# gpu_prebuild.sh — builds, on this (GPU-less) machine, the binaries that
# tools/gpu_check.sh runs, so that a GPU session spends no minutes compiling.
# Portable CPU code (x86-64-v3: AVX2/FMA, no -march=native), sm_90 machine code
# only, stripped, copied into build-gpu/bin/. Also fetches .gpudeps
# (tools/gpu_deps.sh). Then, through the device tool:
#   carry   [".gpudeps", "build-gpu/bin.tgz"]   (+ "data-local" for gpu_train.sh)
#   command SKIP_BUILD=1 tools/gpu_check.sh /tmp/gc; tar -czf $OUT/gpu_check.tgz -C /tmp gc
# gpu_check.sh unpacks build-gpu/bin.tgz, links build-gpu/bin into the layout it expects, and builds after
# all if the prebuilt tinct does not run there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/gpu_deps.sh > /dev/null
rm -rf /tmp/tinct-deps && tools/gpu_deps.sh --unpack /tmp/tinct-deps
targets="test_gpu_kernels test_gpu_engine test_gpu_color test_gpu_tensorcore test_gpu_conv_tc test_gpu_layout test_nccl bench_gpu_kernels
         bench_gpu_tensorcore bench_gpu_conv_tc bench_train_step bench_model_dump tinct"
# links left by an older gpu_check dry run would stand in for the binaries
find build-gpu -type l -delete 2>/dev/null || true
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DTINCT_CUDA=ON -DTINCT_NATIVE=OFF \
  -DCMAKE_CXX_FLAGS="-march=x86-64-v3" -DCMAKE_CUDA_ARCHITECTURES=90-real \
  -DTINCT_CUDART_STATIC=ON -DCMAKE_CUDA_RUNTIME_LIBRARY=Static \
  -DCMAKE_PREFIX_PATH=/tmp/tinct-deps/usr > /dev/null
cmake --build build-gpu -j"$(nproc)" --target $targets
rm -rf build-gpu/bin && mkdir -p build-gpu/bin
for t in $targets; do
  f=$(find build-gpu -type f -name "$t" -perm -u+x | head -1)
  cp "$f" build-gpu/bin/ && strip --strip-debug "build-gpu/bin/$t"
done
# one compressed file to carry (the device tool moves 64 MiB in all)
tar -czf build-gpu/bin.tgz -C build-gpu bin
ls -l build-gpu/bin build-gpu/bin.tgz
