// profile.h — where the time goes, two ways:
//
//  * NVTX ranges: each op of the engine, forward and backward, shows by name
//    in an Nsight Systems timeline (nsys profile ...) and can be picked by
//    name in Nsight Compute (ncu --nvtx --nvtx-include "conv2d/"). The
//    header-only NVTX 3 of the CUDA toolkit costs a branch per range when no
//    profiler is attached; without the CUDA backend it is nothing.
//  * A wall-clock table on the CPU (`tinct colorize --profile`,
//    `bench_cpu_colorize --profile`, or TINCT_PROFILE=1 in the environment):
//    each range's time, exclusive of the ranges opened inside it, summed per
//    name over the calls on the thread that opened it (the ops are called
//    from one thread; their OpenMP teams run inside the range), and beside
//    it the CPU time of that thread and of the whole process in the range:
//    on a machine shared with other work, where wall time says little, the
//    larger of the opening thread's CPU time and the other threads' is what
//    the range would take on idle cores, less the waits. Off, a range costs
//    one relaxed load.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#ifdef TINCT_HAS_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace tinct {

namespace profile {

struct Entry {
  std::string name;
  double seconds = 0;      // wall, exclusive of nested ranges
  double thread_cpu = 0;   // CPU time of the thread that opened the range, exclusive
  double process_cpu = 0;  // CPU time of the whole process, exclusive
  long calls = 0;
};

extern std::atomic<bool> g_enabled;
inline bool enabled() { return g_enabled.load(std::memory_order_relaxed); }
// On or off (TINCT_PROFILE=1 turns it on at start-up).
void enable(bool on);
// The entries gathered since the last take(), largest first; clears them.
std::vector<Entry> take();
// The entries as a text table: name, ms per `runs`, calls per run, share.
std::string table(const std::vector<Entry>& entries, int runs = 1);

// Used by ProfileRange.
double now_seconds();
void push(const char* name);
void pop();

}  // namespace profile

class ProfileRange {
 public:
  explicit ProfileRange(const char* name) : on_(profile::enabled()) {
#ifdef TINCT_HAS_CUDA
    nvtxRangePushA(name);
#endif
    if (on_) profile::push(name);
  }
  ~ProfileRange() {
    if (on_) profile::pop();
#ifdef TINCT_HAS_CUDA
    nvtxRangePop();
#endif
  }
  ProfileRange(const ProfileRange&) = delete;
  ProfileRange& operator=(const ProfileRange&) = delete;

 private:
  bool on_;
};

}  // namespace tinct
