#!/usr/bin/env bash
# Fuzzes one of tinct's input parsers with libFuzzer (clang, ASan + UBSan).
#
#   tools/fuzz.sh TARGET SECONDS [JOBS]   TARGET: image | safetensors | pack | cli | all
#   tools/fuzz.sh --seeds                 rewrite the committed seed corpus
#   SKIP_BUILD=1 tools/fuzz.sh ...        run what build-fuzz/ holds (a second run at once)
#   TINCT_FUZZ_BUILD=DIR tools/fuzz.sh ... another build folder (tools/sanitize.sh
#                                         passes its build-asan/ with SKIP_BUILD=1)
#
# Builds build-fuzz/ (clang, -DTINCT_FUZZ=ON, no CUDA), starts from the
# committed seeds tests/fuzz/corpus/TARGET/ and keeps what it learns in
# build-fuzz/corpus/TARGET/ (not committed). A crash leaves its input as
# build-fuzz/findings/TARGET/crash-*: copy it into tests/fuzz/corpus/TARGET/
# as a regression (ctest's fuzz_replay_TARGET runs it) once fixed. Prints
# the executions and findings of the run last; exits non-zero on a finding
# of this run (files left in findings/ by earlier runs are not counted).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
build=${TINCT_FUZZ_BUILD:-$ROOT/build-fuzz}
build=$(mkdir -p "$build" && cd "$build" && pwd)  # absolute: the targets run in folders of their own

configure() {
  if ! command -v clang++ >/dev/null; then
    echo "fuzz.sh: clang++ not found (tools/setup.sh installs clang and libclang-rt-dev)" >&2
    exit 2
  fi
  mkdir -p "$build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DTINCT_CUDA=OFF -DTINCT_FUZZ=ON -DTINCT_BUILD_BENCH=OFF -DTINCT_NATIVE=OFF > "$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; exit 1; }
}

if [ "${1:-}" = "--seeds" ]; then
  cmake -S . -B build > /dev/null && cmake --build build -j2 --target fuzz_make_seeds > /dev/null
  rm -rf tests/fuzz/corpus.new && ./build/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus.new
  # Keep regression inputs of past findings (regress_*) beside the new seeds.
  for d in tests/fuzz/corpus/*/; do
    t=$(basename "$d"); mkdir -p "tests/fuzz/corpus.new/$t"
    cp "$d"regress_* "tests/fuzz/corpus.new/$t/" 2>/dev/null || true
  done
  rm -rf tests/fuzz/corpus && mv tests/fuzz/corpus.new tests/fuzz/corpus
  exit 0
fi

target=${1:?usage: tools/fuzz.sh TARGET SECONDS [JOBS]}
seconds=${2:?usage: tools/fuzz.sh TARGET SECONDS [JOBS]}
jobs=${3:-1}
targets=$target
[ "$target" = all ] && targets="image safetensors pack cli"

# SKIP_BUILD=1: use build-fuzz as it is (two runs at once must not both build it).
if [ "${SKIP_BUILD:-0}" != 1 ]; then
configure
for t in $targets; do cmake --build "$build" -j2 --target "fuzz_$t" > "$build/build_$t.log" 2>&1 || { tail -30 "$build/build_$t.log"; exit 1; }; done
fi

status=0
summary=""
for t in $targets; do
  corpus="$build/corpus/$t" findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  if [ ! -x "$build/tests/fuzz/fuzz_$t" ]; then
    echo "fuzz.sh: $build/tests/fuzz/fuzz_$t is not built (configure with clang and -DTINCT_FUZZ=ON)" >&2
    exit 2
  fi
  stamp="$build/findings/.start_$t"
  touch "$stamp"
  # Per-input limits: 2 GB of memory, 10 s; -close_fd_mask=3 silences the
  # commands' own output for the CLI target (libFuzzer's report still shows).
  mask=0; [ "$t" = cli ] && mask=3
  log="$build/fuzz_$t.log"
  set +e
  # Each target runs in its own folder: with -jobs, libFuzzer's workers log
  # to fuzz-N.log in the working directory.
  work="$build/work_$t"
  rm -rf "$work" && mkdir -p "$work"
  parallel=(); [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  (cd "$work" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/tests/fuzz/fuzz_$t" "$corpus" "$ROOT/tests/fuzz/corpus/$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -close_fd_mask=$mask "${parallel[@]}" -artifact_prefix="$findings/" -print_final_stats=1) \
    > "$log" 2>&1
  rc=$?
  set -e
  cat "$work"/fuzz-*.log >> "$log" 2>/dev/null || true
  execs=$( (grep -h "stat::number_of_executed_units" "$log" || true) | awk '{s+=$2} END {print s+0}')
  crashes=$(find "$findings" -type f -newer "$stamp" | wc -l)
  cov=$( (grep -ho "cov: [0-9]*" "$log" || true) | tail -1 | awk '{print $2}')
  summary+=$(printf '%-12s %6ss  %10s execs  coverage %-6s  findings %s  (exit %s)' "$t" "$seconds" "$execs" "${cov:-?}" "$crashes" "$rc")$'\n'
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then status=1; tail -40 "$log"; fi
done
echo "fuzz summary ($(date -u +%F), clang $(clang++ --version | head -1 | grep -o '[0-9][0-9.]*' | head -1)):"
printf '%s' "$summary"
exit $status
