#!/usr/bin/env bash
# gpu_check.sh — the one-shot GPU check of tinct (docs/design.md, "The GPU
# check"): on a machine with a GPU, from the repository root,
#
#   tools/gpu_check.sh OUT_DIR
#
#   1. prints and records the GPU, driver, nvcc, cuDNN, PyTorch, cmake and g++
#      versions;
#   2. configures and builds build-gpu/ (Release, TINCT_CUDA=ON, -j16) — only
#      the targets the check needs (the gpu tests, the benchmarks, tinct);
#   3. runs the gpu-labelled tests (ctest -L gpu: kernels vs CPU references,
#      the engine and each colorizer's training step vs the CPU engine,
#      colour kernels), every comparison line logged;
#   3b. runs test_gpu_kernels on small shapes under compute-sanitizer memcheck
#      and racecheck (sanitizer.log; skipped where it is not found);
#   4. runs the kernel benchmark (cuDNN / cuBLAS vs tinct), modest repetitions;
#   4b. the tensor-core convolutions (issue 12) against cuDNN at TF32 / BF16,
#      all three passes, 512->512 16x16 and 256->256 32x32 at batch 64
#      (bench_gpu_conv_tc; bench_gpu_tensorcore: the GEMMs against cuBLAS);
#   5. times a training step of each model (full presets, batch 64, 128x128)
#      and the 512x512 forward: tinct (bench_train_step at --precision fp32,
#      tf32 and bf16, the last two also with --layout nhwc; fp32 again with
#      TINCT_CONV_WINOGRAD=0) and PyTorch
#      (bench/torch_ref/torch_ref.py --time: FP32 as before, and its strongest
#      settings, --precision tf32 / bf16 --channels-last, TORCH_COMPILE=1 adds
#      --compile) in the same run;
#   6. checks PyTorch against tinct on one training step of each model
#      (bench_model_dump + torch_ref.py --check, on the GPU);
#   7. colorizes the demo photos with all three models on the GPU;
#   8. prints a short table last: tests, kernels vs cuDNN, images/s of tinct
#      and PyTorch and their ratio, parity, colorize time.
# Full logs go to OUT_DIR (env.txt, configure.log, build.log, gpu_tests.log,
# bench_gpu_kernels.log/.json, bench_gpu_tensorcore.log, bench_gpu_conv_tc.log, train_tinct.log,
# train_tinct_tf32.log, train_tinct_bf16.log, train_tinct_{tf32,bf16}_nhwc.log, train_tinct_igemm.log, train_tinct_phases.log, train_torch.log, train_torch_tf32.log,
# train_torch_bf16.log, parity.log,
# colorize.log, sanitizer.log, summary.txt).
# Through the device tool (which returns at most 8 files from $OUT):
#   tools/gpu_check.sh /tmp/gc; tar -czf $OUT/gpu_check.tgz -C /tmp gc
# with carry [".gpudeps"] (tools/gpu_deps.sh makes it; add "build-gpu/bin.tgz"
# for SKIP_BUILD=1 below).
# Budget: under 6 minutes on an H100 (build ~2 min, tests ~1 min, kernel bench
# ~1 min, train steps ~1 min); with SKIP_BUILD=1 it took 122-128 s (2026-11-28,
# bench/RESULTS.md GPU runs 1 and 3). Each step has a timeout so the script always
# reaches the summary. PyTorch missing: steps 5-6 say so and go on.
# Environment: CHECK_BUDGET (s, default 540), JOBS (default 16), BUILD_TIMEOUT (s, default 300), TINCT_BENCH_ITERS (default 15),
# TINCT_BENCH_BATCH (default 64), BENCH_FILTER (Google Benchmark filter).
# Prebuilt mode (saves the build minutes of a scarce GPU session): build the
# targets on any machine with nvcc and cuDNN (tools/gpu_prebuild.sh), carry the
# seven binaries it packs (build-gpu/bin.tgz) and .gpudeps, and run with SKIP_BUILD=1: the test
# binaries are then run directly (rc 0 pass, 77 skipped) instead of through
# ctest, whose files hold absolute paths. If the prebuilt tinct does not run
# there (a missing library), the script builds after all.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build-gpu"
JOBS=${JOBS:-16}
export TINCT_BENCH_ITERS=${TINCT_BENCH_ITERS:-15}
export PATH="$PATH:/usr/local/cuda/bin"
T0=$(date +%s)
stamp() { echo "[gpu_check +$(( $(date +%s) - T0 ))s] $*"; }
# CHECK_BUDGET (s, default 540): the whole check; each step's timeout is cut to
# what is left of it (less 10 s for the summary), so the table is always printed
# and a scarce GPU session can plan its calls.
DEADLINE=$(( T0 + ${CHECK_BUDGET:-540} - 10 ))
tmo() { local t=$1 left=$(( DEADLINE - $(date +%s) )); [ "$left" -lt "$t" ] && t=$left; [ "$t" -lt 1 ] && t=1; echo "$t"; }

# ---- 1. environment ---------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(hostname)"
  echo "git: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo 'no commit') $(cd "$ROOT" && git status --porcelain 2>/dev/null | wc -l) changed file(s)"
  echo "--- nvidia-smi"
  nvidia-smi 2>&1 || echo "nvidia-smi not available"
  echo "--- gpu / driver"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 || true
  echo "--- nvcc"
  nvcc --version 2>&1 | tail -2 || echo "nvcc not found"
  echo "--- cuDNN (header)"
  for h in /usr/local/cuda/include/cudnn_version.h /usr/include/cudnn_version.h /usr/include/x86_64-linux-gnu/cudnn_version.h; do
    if [ -f "$h" ]; then
      grep -E "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) " "$h" | awk '{printf "%s.", $3} END {print ""}' | sed 's/\.$//'
      break
    fi
  done
  echo "--- PyTorch"
  python3 -c "import torch; print(torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" 2>&1 | tail -1
  echo "--- cmake / g++"
  cmake --version | head -1
  g++ --version | head -1
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# ---- 1b. what the GPU image lacks: Google Benchmark (carried as .deb files in
# .gpudeps/, made by tools/gpu_deps.sh) and where pip put cuDNN ----------------
CMAKE_EXTRA=()
if ls "$ROOT"/.gpudeps/*.deb "$ROOT"/.gpudeps/*.tgz > /dev/null 2>&1; then
  "$ROOT/tools/gpu_deps.sh" --unpack /tmp/tinct-deps
  CMAKE_EXTRA+=("-DCMAKE_PREFIX_PATH=/tmp/tinct-deps/usr")
  export LD_LIBRARY_PATH="/tmp/tinct-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
CUDNN_ROOT=$(python3 -c "import nvidia.cudnn as m; print(list(m.__path__)[0])" 2>/dev/null || true)
if [ -n "$CUDNN_ROOT" ] && [ -d "$CUDNN_ROOT/include" ]; then
  CMAKE_EXTRA+=("-DTINCT_CUDNN_ROOT=$CUDNN_ROOT")
fi
# every library folder pip's nvidia-* wheels hold (cuDNN, cuBLAS, ...), for the
# benchmark's yardsticks when the CUDA toolkit here lacks them
NV_LIBS=$(python3 -c "
import glob, os, nvidia
print(':'.join(sorted({os.path.dirname(p) for d in nvidia.__path__
                       for p in glob.glob(d + '/**/lib*.so*', recursive=True)})))" 2>/dev/null || true)
[ -n "$NV_LIBS" ] && export LD_LIBRARY_PATH="$NV_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# the toolkit's libraries, wherever this image keeps them: the CUDA runtime of
# binaries built here, cuBLAS / cuDNN where pip has none (gpu_prebuild.sh's
# binaries carry a static CUDA runtime)
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
echo "extra cmake options: ${CMAKE_EXTRA[*]:-none}; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" | tee -a "$OUT/env.txt"

# ---- 2. configure + build -------------------------------------------------------------
CONF_RC=0
BUILD_RC=0
if [ "${SKIP_BUILD:-0}" = "1" ] && [ ! -d "$BUILD/bin" ] && [ -f "$BUILD/bin.tgz" ]; then
  tar -xzf "$BUILD/bin.tgz" -C "$BUILD"
fi
if [ "${SKIP_BUILD:-0}" = "1" ] && [ -d "$BUILD/bin" ]; then
  # tools/gpu_prebuild.sh's binaries, linked into the layout the steps below
  # expect — in a folder of its own, so that a dry run on the machine that
  # built them never replaces the build tree's own binaries with links
  BIN="$BUILD/bin"
  BUILD="$BUILD/prebuilt"
  rm -rf "$BUILD" && mkdir -p "$BUILD/tests" "$BUILD/bench"
  for f in "$BIN"/*; do
    case $(basename "$f") in
      test_*) ln -sf "$f" "$BUILD/tests/" ;;
      bench_*) ln -sf "$f" "$BUILD/bench/" ;;
      *) ln -sf "$f" "$BUILD/" ;;
    esac
  done
fi
if [ "${SKIP_BUILD:-0}" = "1" ] && ! "$BUILD/tinct" --version > "$OUT/prebuilt.log" 2>&1; then
  stamp "SKIP_BUILD=1 but $BUILD/tinct does not run here (see prebuilt.log): building"
  cat "$OUT/prebuilt.log"
  SKIP_BUILD=0
  BUILD="$ROOT/build-gpu"
fi
if [ "${SKIP_BUILD:-0}" = "1" ]; then
  stamp "SKIP_BUILD=1: using the binaries in $BUILD ($(cat "$OUT/prebuilt.log"))"
else
stamp "configure"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTINCT_CUDA=ON "${CMAKE_EXTRA[@]}" > "$OUT/configure.log" 2>&1
CONF_RC=$?
stamp "build (-j$JOBS)"
BUILD_RC=1
if [ $CONF_RC -eq 0 ]; then
  timeout "$(tmo "${BUILD_TIMEOUT:-300}")" cmake --build "$BUILD" -j"$JOBS" --target test_gpu_kernels test_gpu_engine \
    test_gpu_color bench_gpu_kernels bench_train_step bench_model_dump tinct tinct-kbench > "$OUT/build.log" 2>&1
  BUILD_RC=$?
  # the tensor-core GEMMs and convolutions (issue 12): ctest -L gpu runs their tests too
  [ $BUILD_RC -ne 0 ] || timeout "$(tmo 200)" cmake --build "$BUILD" -j"$JOBS" --target test_gpu_tensorcore test_nccl \
    test_gpu_conv_tc test_gpu_layout bench_gpu_tensorcore >> "$OUT/build.log" 2>&1 || BUILD_RC=$?
  # needs cuDNN; a build without it has no such target (not an error)
  [ $BUILD_RC -ne 0 ] || timeout "$(tmo 100)" cmake --build "$BUILD" -j"$JOBS" --target bench_gpu_conv_tc \
    >> "$OUT/build.log" 2>&1 || echo "bench_gpu_conv_tc not built (no cuDNN?)"
fi
[ $BUILD_RC -eq 0 ] || { echo "build failed (rc $BUILD_RC), last lines of build.log:"; tail -30 "$OUT/build.log"; }
fi

# ---- 3. gpu tests -----------------------------------------------------------------------
TEST_RC=-1
if [ -x "$BUILD/tests/test_gpu_kernels" ]; then
  if [ "${SKIP_BUILD:-0}" = "1" ]; then
    stamp "gpu tests (direct)"
    worst=0
    for t in test_gpu_kernels test_gpu_engine test_gpu_color test_gpu_tensorcore test_gpu_conv_tc test_gpu_layout test_nccl; do
      [ -x "$BUILD/tests/$t" ] || { echo "=== $t: not in the prebuilt binaries"; continue; }
      echo "=== $t"
      timeout "$(tmo 200)" "$BUILD/tests/$t"
      rc=$?
      echo "=== $t rc $rc"
      [ $rc -eq 0 ] || [ $worst -ne 0 ] || worst=$rc
    done > "$OUT/gpu_tests.log" 2>&1
    (exit $worst)
  else
    stamp "ctest -L gpu"
    (cd "$BUILD" && timeout "$(tmo 300)" ctest -L gpu -V --output-on-failure) > "$OUT/gpu_tests.log" 2>&1
  fi
  TEST_RC=$?
fi

# ---- 3b. compute-sanitizer on a reduced set of the kernel tests -------------------------------
# memcheck (out-of-bounds and misaligned accesses, leaks of device memory) and
# racecheck (shared-memory hazards) slow kernels 10-100x, so they run on the
# test cases with small shapes, each under its own timeout. compute-sanitizer
# comes with the CUDA toolkit, or from .gpudeps (tools/gpu_deps.sh).
SAN_RC=-1
SAN=$(command -v compute-sanitizer || true)
[ -z "$SAN" ] && [ -x /tmp/tinct-deps/compute-sanitizer/compute-sanitizer ] && SAN=/tmp/tinct-deps/compute-sanitizer/compute-sanitizer
SAN_CASES=${SAN_CASES:-"sgemm vs*,bias_add*,batchnorm*,activations*,elementwise*,channel concat*,maxpool2d*,upsample*,scale_by_scalar*,sum*,losses*,optimizers*"}
RACE_CASES=${RACE_CASES:-"sgemm vs*,batchnorm*,sum*,losses*"}
if [ -n "$SAN" ] && [ -x "$BUILD/tests/test_gpu_kernels" ]; then
  stamp "compute-sanitizer memcheck, racecheck"
  { echo "=== memcheck"
    timeout "$(tmo 150)" "$SAN" --tool memcheck --leak-check full --print-limit 20 \
      "$BUILD/tests/test_gpu_kernels" -tc="$SAN_CASES" 2>&1 | tail -40
    echo "=== racecheck"
    timeout "$(tmo 100)" "$SAN" --tool racecheck --print-limit 20 \
      "$BUILD/tests/test_gpu_kernels" -tc="$RACE_CASES" 2>&1 | tail -40
    # the layout family's shared-memory transposes and channels-last pooling (engine/layout.h)
    if [ -x "$BUILD/tests/test_gpu_layout" ]; then
      echo "=== memcheck (layout kernels)"
      timeout "$(tmo 60)" "$SAN" --tool memcheck --print-limit 20 "$BUILD/tests/test_gpu_layout" -tc="layout kernels*" 2>&1 | tail -20
      echo "=== racecheck (layout kernels)"
      timeout "$(tmo 60)" "$SAN" --tool racecheck --print-limit 20 "$BUILD/tests/test_gpu_layout" -tc="layout kernels*" 2>&1 | tail -20
    fi
  } > "$OUT/sanitizer.log" 2>&1
  SAN_RC=$(grep -c "ERROR SUMMARY: 0 errors\|RACECHECK SUMMARY: 0 hazards" "$OUT/sanitizer.log")
fi

# ---- 4. benchmark -------------------------------------------------------------------------
BENCH_RC=-1
if [ -x "$BUILD/bench/bench_gpu_kernels" ]; then
  stamp "bench_gpu_kernels (iters $TINCT_BENCH_ITERS)"
  timeout "$(tmo 200)" "$BUILD/bench/bench_gpu_kernels" ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} \
    --benchmark_out="$OUT/bench_gpu_kernels.json" --benchmark_out_format=json \
    > "$OUT/bench_gpu_kernels.log" 2>&1
  BENCH_RC=$?
fi
if [ -x "$BUILD/bench/bench_gpu_tensorcore" ]; then
  stamp "bench_gpu_tensorcore (iters $TINCT_BENCH_ITERS)"
  timeout "$(tmo 120)" "$BUILD/bench/bench_gpu_tensorcore" > "$OUT/bench_gpu_tensorcore.log" 2>&1
fi
if [ -x "$BUILD/bench/bench_gpu_conv_tc" ]; then
  stamp "bench_gpu_conv_tc (iters $TINCT_BENCH_ITERS)"
  timeout "$(tmo 200)" "$BUILD/bench/bench_gpu_conv_tc" > "$OUT/bench_gpu_conv_tc.log" 2>&1
fi

# ---- 5. training step and 512x512 forward: tinct and PyTorch -------------------------------
TRAIN_RC=-1
TORCH_RC=-1
if [ -x "$BUILD/bench/bench_train_step" ]; then
  stamp "bench_train_step (tinct, cuda)"
  timeout "$(tmo 180)" "$BUILD/bench/bench_train_step" --device cuda > "$OUT/train_tinct.log" 2>&1
  TRAIN_RC=$?
  # the same without Winograd: what the convolution dispatcher's choice is worth per model
  stamp "bench_train_step (tinct, cuda, TINCT_CONV_WINOGRAD=0)"
  TINCT_CONV_WINOGRAD=0 timeout "$(tmo 120)" "$BUILD/bench/bench_train_step" --device cuda --steps 10 \
    > "$OUT/train_tinct_igemm.log" 2>&1
  # --phases equalized (tinct train's recipe): the transposed convolutions'
  # projection each step, on the device (kernels/deconv_phases/), and the
  # forward equalized as colorize runs it
  stamp "bench_train_step (tinct, cuda, --phases equalized)"
  timeout "$(tmo 120)" "$BUILD/bench/bench_train_step" --device cuda --phases equalized --steps 10 \
    > "$OUT/train_tinct_phases.log" 2>&1
  # the tensor-core convolutions: every conv at TF32 / BF16 (engine/precision.h)
  # and with channels-last activations (--layout nhwc: CUDA conv variant 6; engine/layout.h)
  for pr in tf32 bf16; do
    stamp "bench_train_step (tinct, cuda, --precision $pr)"
    timeout "$(tmo 120)" "$BUILD/bench/bench_train_step" --device cuda --precision $pr --steps 10 \
      > "$OUT/train_tinct_$pr.log" 2>&1
    stamp "bench_train_step (tinct, cuda, --precision $pr --layout nhwc)"
    timeout "$(tmo 120)" "$BUILD/bench/bench_train_step" --device cuda --precision $pr --layout nhwc --steps 10 \
      > "$OUT/train_tinct_${pr}_nhwc.log" 2>&1
  done
fi
if python3 -c "import torch" > /dev/null 2>&1; then
  stamp "torch_ref --time (PyTorch, cuda)"
  (cd "$ROOT" && PYTHONUNBUFFERED=1 timeout "$(tmo 180)" python3 bench/torch_ref/torch_ref.py --time --model all --device cuda) \
    > "$OUT/train_torch.log" 2>&1
  TORCH_RC=$?
  # PyTorch's strongest settings (../shared/anchors/README.md): TF32 or BF16 autocast, channels_last, fused Adam
  for pr in tf32 bf16; do
    stamp "torch_ref --time --precision $pr --channels-last${TORCH_COMPILE:+ --compile}"
    (cd "$ROOT" && PYTHONUNBUFFERED=1 timeout "$(tmo 150)" python3 bench/torch_ref/torch_ref.py --time --model all \
      --device cuda --steps 10 --precision $pr --channels-last ${TORCH_COMPILE:+--compile}) > "$OUT/train_torch_$pr.log" 2>&1
  done
else
  echo "PyTorch is not installed here" > "$OUT/train_torch.log"
fi

# ---- 6. PyTorch vs tinct on one training step of each model ----------------------------------
PARITY_RC=-1
if [ -x "$BUILD/bench/bench_model_dump" ] && python3 -c "import torch" > /dev/null 2>&1; then
  stamp "parity: bench_model_dump + torch_ref --check"
  PARITY_RC=0
  for m in regression classification gan; do
    echo "=== $m"
    timeout "$(tmo 120)" "$BUILD/bench/bench_model_dump" --model "$m" --preset compact --batch 4 --size 64 --device cuda \
      -o "$OUT/dump_$m.safetensors" &&
      (cd "$ROOT" && timeout "$(tmo 120)" python3 bench/torch_ref/torch_ref.py --check "$OUT/dump_$m.safetensors" --device cuda)
    rc=$?
    echo "rc $rc"
    [ $rc -eq 0 ] || PARITY_RC=$rc
    rm -f "$OUT/dump_$m.safetensors"
  done > "$OUT/parity.log" 2>&1
fi

# ---- 7. colorize the demo photos on the GPU ------------------------------------------------
COLOR_RC=-1
if [ -x "$BUILD/tinct" ]; then
  stamp "tinct colorize demo/ --device cuda"
  S=$(date +%s.%N)
  TINCT_WEIGHTS="$ROOT/weights" timeout "$(tmo 120)" "$BUILD/tinct" colorize "$ROOT/demo" -o "$OUT/colorized" --device cuda \
    --overwrite > "$OUT/colorize.log" 2>&1
  COLOR_RC=$?
  awk -v s="$S" -v e="$(date +%s.%N)" 'BEGIN { printf "wall %.2f s (4 photos x 3 models, including start-up and loading)\n", e - s }' >> "$OUT/colorize.log"
  rm -rf "$OUT/colorized"  # the pictures stay here; only the log travels back
fi

# ---- 8. summary (last) ----------------------------------------------------------------------
{
  echo
  echo "================ tinct GPU check: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(( $(date +%s) - T0 )) s ================"
  cat "$OUT/bench_gpu_kernels.log" "$OUT/gpu_tests.log" 2>/dev/null | grep -m1 -E "^(device|[0-9]+: GPU): " || true
  grep -E "^-- tinct:" "$OUT/configure.log" 2>/dev/null
  echo "configure rc $CONF_RC, build rc $BUILD_RC, gpu tests rc $TEST_RC, bench rc $BENCH_RC, train rc $TRAIN_RC," \
       "torch rc $TORCH_RC, parity rc $PARITY_RC, colorize rc $COLOR_RC"
  if [ -f "$OUT/gpu_tests.log" ]; then
    echo "--- gpu tests"
    grep -E "\[doctest\] (test cases|assertions)|SKIPPED|tests passed|tests failed" "$OUT/gpu_tests.log" | sed 's/^[0-9]*: //'
    NFAIL=$(grep -c " FAIL$" "$OUT/gpu_tests.log")
    NOK=$(grep -c " ok$" "$OUT/gpu_tests.log")
    echo "comparisons: $NOK ok, $NFAIL FAIL"
    if [ "$NFAIL" -gt 0 ]; then
      echo "first failures:"
      grep -E " FAIL$" "$OUT/gpu_tests.log" | head -12 | sed 's/^[0-9]*: //' | cut -c1-200
    fi
  fi
  if [ -f "$OUT/sanitizer.log" ]; then
    echo "--- compute-sanitizer (test_gpu_kernels, reduced shapes, and test_gpu_layout's kernels; $SAN_RC of 4 runs clean)"
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|doctest\] test cases" "$OUT/sanitizer.log"
  else
    echo "--- compute-sanitizer: not run (not found; tools/gpu_deps.sh carries it)"
  fi
  if [ -f "$OUT/bench_gpu_kernels.log" ]; then
    echo "--- kernels vs cuDNN / cuBLAS (% vendor = vendor ms / tinct ms; > 100% = tinct faster)"
    sed -n '/=== SUMMARY BEGIN ===/,/=== SUMMARY END ===/p' "$OUT/bench_gpu_kernels.log" | grep -v "=== SUMMARY"
    grep -iE "error|skipped" "$OUT/bench_gpu_kernels.log" | head -5
  fi
  if [ -f "$OUT/bench_gpu_conv_tc.log" ]; then
    echo "--- tensor-core convolutions vs cuDNN at the same precision (batch 64; pct_of_cudnn = cuDNN ms / tinct ms;"
    echo "    target >= 70% for variants 4 tf32 / 5 bf16; 4 regs = variant 4 with the register-staged gather"
    echo "    instead of cp.async (TINCT_TC_GATHER=registers); fp32 = the FP32 dispatcher, for scale;"
    echo "    0 nhwc / 6 nhwc = cuDNN and variant 6 on channels-last tensors, 6's pct against 0 nhwc)"
    sed -n '/=== SUMMARY BEGIN ===/,/=== SUMMARY END ===/p' "$OUT/bench_gpu_conv_tc.log" | grep -v "=== SUMMARY"
    grep -iE "error|no CUDA" "$OUT/bench_gpu_conv_tc.log" | head -3
  fi
  if [ -f "$OUT/bench_gpu_tensorcore.log" ]; then
    echo "--- tensor-core GEMM vs cuBLAS at the same precision (pct_of_cublas = cuBLAS ms / tinct ms)"
    sed -n '/=== SUMMARY BEGIN ===/,/=== SUMMARY END ===/p' "$OUT/bench_gpu_tensorcore.log" | grep -v "=== SUMMARY"
    grep -iE "error|no CUDA" "$OUT/bench_gpu_tensorcore.log" | head -3
  fi
  echo "--- training step, full presets, batch 64, 128x128, FP32 (images/s; ratio = tinct / PyTorch;"
  echo "    no-wino = tinct with TINCT_CONV_WINOGRAD=0, every conv by implicit GEMM;"
  echo "    eq-phases = tinct with --phases equalized: the transposed convolutions' projection each step"
  echo "    and the forward equalized as colorize runs it)"
  { cat "$OUT/train_tinct.log" "$OUT/train_torch.log" 2>/dev/null
    sed 's/^RESULT tinct /RESULT nowino /' "$OUT/train_tinct_igemm.log" 2>/dev/null
    sed 's/^RESULT tinct /RESULT phases /' "$OUT/train_tinct_phases.log" 2>/dev/null; } | awk '
    $1 == "RESULT" && $3 == "train" { ips[$2 "," $4] = $5 }
    $1 == "RESULT" && $3 == "infer512" { inf[$2 "," $4] = $5 }
    function v(x) { return x == "" ? "-" : x }
    END {
      printf "%-15s %12s %12s %7s   %14s %14s   %14s %14s   %15s %15s\n", "model", "tinct img/s", "torch img/s",
             "ratio", "tinct 512 ms", "torch 512 ms", "no-wino img/s", "no-wino 512 ms", "eq-phases img/s",
             "eq-phases 512 ms"
      n = split("regression classification gan", ms, " ")
      for (i = 1; i <= n; i++) {
        m = ms[i]; t = ips["tinct," m]; p = ips["torch," m]
        r = (t != "" && p != "" && p > 0) ? sprintf("%.2fx", t / p) : "-"
        printf "%-15s %12s %12s %7s   %14s %14s   %14s %14s   %15s %15s\n", m, v(t), v(p), r, v(inf["tinct," m]),
               v(inf["torch," m]), v(ips["nowino," m]), v(inf["nowino," m]), v(ips["phases," m]), v(inf["phases," m])
      }
    }'
  grep -h "GPU memory" "$OUT/train_tinct.log" 2>/dev/null | head -1
  echo "--- training step by precision (images/s; torch tf32 / bf16 = --channels-last, fused Adam$([ -n "${TORCH_COMPILE:-}" ] && echo ', compiled');"
  echo "    tinct ..cl = --layout nhwc (channels-last activations); best = the fastest of each side;"
  echo "    ratio = tinct best / torch best, issue 12's target >= 1.0x)"
  for pr in fp32 tf32 bf16; do
    f=train_tinct_$pr.log; [ $pr = fp32 ] && f=train_tinct.log
    sed "s/^RESULT tinct /RESULT tinct_$pr /" "$OUT/$f" 2>/dev/null
    [ $pr = fp32 ] || sed "s/^RESULT tinct /RESULT tinct_${pr}cl /" "$OUT/train_tinct_${pr}_nhwc.log" 2>/dev/null
    f=train_torch_$pr.log; [ $pr = fp32 ] && f=train_torch.log
    sed "s/^RESULT torch /RESULT torch_$pr /" "$OUT/$f" 2>/dev/null
  done | awk '
    $1 == "RESULT" && $3 == "train" { ips[$2 "," $4] = $5 }
    $1 == "RESULT" && $3 == "infer512" { inf[$2 "," $4] = $5 }
    function v(x) { return x == "" ? "-" : x }
    END {
      printf "%-15s %8s %8s %8s %8s %8s %8s %8s %8s %7s   %s\n", "model", "tinct32", "tcTF32", "tcBF16",
             "tcTF32cl", "tcBF16cl", "torch32", "torchTF32", "torchBF16", "ratio",
             "512 fwd ms tinct fp32/tf32/bf16/tf32cl/bf16cl | torch fp32/tf32/bf16"
      n = split("regression classification gan", ms, " ")
      for (i = 1; i <= n; i++) {
        m = ms[i]; bt = 0; bp = 0
        for (j = 1; j <= 5; j++) {
          pr = (j == 1 ? "fp32" : j == 2 ? "tf32" : j == 3 ? "bf16" : j == 4 ? "tf32cl" : "bf16cl")
          if (ips["tinct_" pr "," m] + 0 > bt) bt = ips["tinct_" pr "," m] + 0
          if (j <= 3 && ips["torch_" pr "," m] + 0 > bp) bp = ips["torch_" pr "," m] + 0
        }
        r = (bt > 0 && bp > 0) ? sprintf("%.2fx", bt / bp) : "-"
        printf "%-15s %8s %8s %8s %8s %8s %8s %8s %8s %7s   %s/%s/%s/%s/%s | %s/%s/%s\n", m, v(ips["tinct_fp32," m]),
               v(ips["tinct_tf32," m]), v(ips["tinct_bf16," m]), v(ips["tinct_tf32cl," m]), v(ips["tinct_bf16cl," m]),
               v(ips["torch_fp32," m]), v(ips["torch_tf32," m]), v(ips["torch_bf16," m]), r,
               v(inf["tinct_fp32," m]), v(inf["tinct_tf32," m]), v(inf["tinct_bf16," m]), v(inf["tinct_tf32cl," m]),
               v(inf["tinct_bf16cl," m]), v(inf["torch_fp32," m]), v(inf["torch_tf32," m]), v(inf["torch_bf16," m])
      }
    }'
  if [ -f "$OUT/parity.log" ]; then
    echo "--- PyTorch vs tinct (both on the GPU), one training step (compact, batch 4, 64x64)"
    grep -E "^=== |^rc |FAIL|PASS|worst" "$OUT/parity.log" | head -30 | cut -c1-160
  fi
  if [ -f "$OUT/colorize.log" ]; then
    echo "--- tinct colorize demo/ --device cuda"
    tail -3 "$OUT/colorize.log"
  fi
} | tee "$OUT/summary.txt"
