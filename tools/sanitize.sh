#!/usr/bin/env bash
# tools/sanitize.sh — the CPU test suite under AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer, then a fuzz smoke: every
# libFuzzer target of tests/fuzz/ for 30 s from its committed seeds. Any
# report, failed test or fuzz finding fails the run.
#
#   tools/sanitize.sh [CTEST ARGS...]     e.g. tools/sanitize.sh -R test_data
#
# Configures build-asan/ (or $TINCT_SANITIZE_BUILD) with CUDA off and builds
# the CLI, the tests and the fuzz targets, then runs `ctest -L cpu` and
# `tools/fuzz.sh all $FUZZ_SECONDS` on that same build. The build keeps
# assertions on (no NDEBUG: -O2 -g), so tinct's and stb's checks run too.
#
# Compiler: clang with -DTINCT_FUZZ=ON (which implies -DTINCT_SANITIZE=ON):
# one build serves the tests and the fuzzers. Where clang or its libFuzzer
# runtime (Debian: clang, libclang-rt-dev; tools/setup.sh installs both)
# is missing, it falls back to gcc with -DTINCT_SANITIZE=ON and skips the
# fuzz smoke, and says so; under CI (CI set) that is an error instead.
#   TINCT_SANITIZE_GCC=1   use gcc anyway (no fuzz smoke)
#   FUZZ_SECONDS=N         seconds per fuzz target (30; 0 skips the smoke)
# Prints how long the build, the tests and the fuzz smoke took. Exit status:
# non-zero when a test fails, a sanitizer reports anything or a fuzzer finds
# an input that crashes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TINCT_SANITIZE_BUILD:-$root/build-asan}
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-30}

# halt_on_error/abort_on_error: the first report ends the process with a
# failure status; detect_leaks: LeakSanitizer at exit (on by default on
# Linux x86-64, stated here because a leak must fail the test too).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Can clang link a libFuzzer target with ASan + UBSan? (clang without
# libclang-rt-dev compiles but does not link one.)
clang_fuzzer_ok() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local tmp
  tmp=$(mktemp -d)
  printf '%s\n' 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$tmp/t.cpp"
  clang++ -fsanitize=fuzzer,address,undefined "$tmp/t.cpp" -o "$tmp/t" >/dev/null 2>&1
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

if [ "${TINCT_SANITIZE_GCC:-0}" != 1 ] && clang_fuzzer_ok; then
  compiler=(-DCMAKE_CXX_COMPILER=clang++ -DTINCT_FUZZ=ON)
  cxx=$(command -v clang++)
  fuzz=1
  echo "sanitize.sh: clang $(clang++ --version | head -1 | grep -o '[0-9][0-9.]*' | head -1), ASan + UBSan, tests then a ${fuzz_seconds} s fuzz smoke per target"
else
  if [ -n "${CI:-}" ] && [ "${TINCT_SANITIZE_GCC:-0}" != 1 ]; then
    echo "sanitize.sh: CI needs clang++ with libFuzzer for the fuzz smoke (tools/setup.sh installs clang and libclang-rt-dev)" >&2
    exit 2
  fi
  compiler=(-DCMAKE_CXX_COMPILER=g++ -DTINCT_FUZZ=OFF)
  cxx=$(command -v g++)
  fuzz=0
  echo "sanitize.sh: gcc, ASan + UBSan, tests only: NO fuzz smoke" \
       "($([ "${TINCT_SANITIZE_GCC:-0}" = 1 ] && echo "TINCT_SANITIZE_GCC=1" ||
           echo "clang++ with libFuzzer not found; tools/setup.sh installs clang and libclang-rt-dev"))"
fi

# A build folder configured with the other compiler is reconfigured from
# scratch (CMake cannot switch compilers in place).
if [ -f "$build/CMakeCache.txt" ] &&
   ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=$cxx\$" "$build/CMakeCache.txt"; then
  echo "sanitize.sh: $build was configured with another compiler; reconfiguring it"
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi

start=$SECONDS
cmake -S "$root" -B "$build" "${compiler[@]}" -DTINCT_SANITIZE=ON -DTINCT_CUDA=OFF -DTINCT_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" >/dev/null
cmake --build "$build" -j "$jobs"
built=$SECONDS

status=0
ctest --test-dir "$build" -L cpu --output-on-failure "$@" || status=$?
tested=$SECONDS

fuzz_note="no fuzz smoke"
if [ "$fuzz" = 1 ] && [ "$fuzz_seconds" -gt 0 ]; then
  # fuzz.sh on this build (SKIP_BUILD: it is built); its own sanitizer
  # options (allocator_may_return_null: a huge malloc is the target's
  # problem to refuse, not a report).
  env -u ASAN_OPTIONS -u UBSAN_OPTIONS TINCT_FUZZ_BUILD="$build" SKIP_BUILD=1 \
    "$root/tools/fuzz.sh" all "$fuzz_seconds" || status=1
  fuzz_note="fuzz smoke $((SECONDS - tested)) s"
fi
echo "sanitize.sh: build $((built - start)) s, tests $((tested - built)) s, $fuzz_note ($jobs jobs for the build)"
exit $status
