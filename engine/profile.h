// profile.h — where the time goes, per op: each op of the engine, forward
// and backward, opens a ProfileRange with its name.
//
// Two consumers:
// - NVTX (CUDA builds): the range shows by name in an Nsight Systems
//   timeline (nsys profile ...) and can be picked in Nsight Compute
//   (ncu --nvtx --nvtx-include "conv2d/"). A branch per range when no
//   profiler is attached.
// - The built-in op table: with TINCT_PROFILE=1 in the environment (or
//   profile::enable()), every range's wall time is summed per name — calls,
//   total, self (total less the ranges opened inside it) — and the table is
//   printed to stderr when the process exits, largest self time first.
//   CUDA ops return before their kernels finish, so on a GPU the table
//   shows launch times unless TINCT_PROFILE=sync, which synchronises the
//   device at the end of each range (slower, but each op's own time).
//   Off, a range costs one load and branch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#ifdef TINCT_HAS_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace tinct {

namespace profile {

struct Row {
  std::string name;
  std::int64_t calls = 0;
  double total_ms = 0;  // wall time inside the range
  double self_ms = 0;   // less the ranges opened inside it (on the same thread)
  // CPU time in the range less the ranges inside it: of the thread that
  // opened it, and of the whole process (its OpenMP team included). On a
  // machine shared with other work, where wall time says little, the larger
  // of the opening thread's and the other threads' CPU time is what the
  // range takes on idle cores, less the waits (bench_cpu_colorize --profile).
  double self_thread_cpu_ms = 0;
  double self_process_cpu_ms = 0;
};

// Whether ranges are timed (TINCT_PROFILE set, read once at start-up, or enable()).
extern bool g_enabled;
inline bool enabled() { return g_enabled; }
// sync: synchronise the device at the end of each range (see the top).
void enable(bool sync = false);
void disable();
void reset();
// The table so far, largest self time first.
std::vector<Row> table();
// The table as text (name, calls, total ms, self ms, share of all self time).
std::string format(const std::vector<Row>& rows);

// The timing half of a ProfileRange (out of line: only runs when enabled).
std::int64_t begin(const char* name);
void end(std::int64_t token);

}  // namespace profile

class ProfileRange {
 public:
  explicit ProfileRange(const char* name) {
#ifdef TINCT_HAS_CUDA
    nvtxRangePushA(name);
#endif
    if (profile::enabled()) token_ = profile::begin(name);
  }
  ~ProfileRange() {
    if (token_ >= 0) profile::end(token_);
#ifdef TINCT_HAS_CUDA
    nvtxRangePop();
#endif
  }
  ProfileRange(const ProfileRange&) = delete;
  ProfileRange& operator=(const ProfileRange&) = delete;

 private:
  std::int64_t token_ = -1;
};

}  // namespace tinct
