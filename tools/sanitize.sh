#!/usr/bin/env bash
# tools/sanitize.sh — the CPU test suite under AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer. Any report fails the run.
#
#   tools/sanitize.sh [CTEST ARGS...]     e.g. tools/sanitize.sh -R test_data
#
# Configures build-asan/ (or $TINCT_SANITIZE_BUILD) with -DTINCT_SANITIZE=ON,
# CUDA off, builds the CLI and the tests, then runs `ctest -L cpu`. The build
# keeps assertions on (no NDEBUG: -O2 -g), so tinct's and stb's checks run
# too. Prints how long the build and the tests took. Exit status: ctest's
# (non-zero when a test fails or a sanitizer reports anything).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TINCT_SANITIZE_BUILD:-$root/build-asan}
jobs=${JOBS:-$(nproc)}

# halt_on_error/abort_on_error: the first report ends the process with a
# failure status; detect_leaks: LeakSanitizer at exit (on by default on
# Linux x86-64, stated here because a leak must fail the test too).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

start=$SECONDS
cmake -S "$root" -B "$build" -DTINCT_SANITIZE=ON -DTINCT_CUDA=OFF -DTINCT_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" >/dev/null
cmake --build "$build" -j "$jobs"
built=$SECONDS

status=0
ctest --test-dir "$build" -L cpu --output-on-failure "$@" || status=$?
done_at=$SECONDS
echo "sanitize.sh: build $((built - start)) s, tests $((done_at - built)) s ($jobs jobs for the build)"
exit $status
