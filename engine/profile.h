// profile.h — NVTX ranges: each op of the engine, forward and backward, shows
// by name in an Nsight Systems timeline (nsys profile ...) and can be picked
// by name in Nsight Compute (ncu --nvtx --nvtx-include "conv2d/").
//
// The header-only NVTX 3 of the CUDA toolkit costs a branch per range when
// no profiler is attached. Without the CUDA backend a range is nothing.
#pragma once

#ifdef TINCT_HAS_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace tinct {

class ProfileRange {
 public:
#ifdef TINCT_HAS_CUDA
  explicit ProfileRange(const char* name) { nvtxRangePushA(name); }
  ~ProfileRange() { nvtxRangePop(); }
#else
  explicit ProfileRange(const char*) {}
#endif
  ProfileRange(const ProfileRange&) = delete;
  ProfileRange& operator=(const ProfileRange&) = delete;
};

}  // namespace tinct
