// gpu_skip.h — GPU test executables exit with 77 (ctest: skipped) when no CUDA
// device exists. The check runs in a static initializer, before doctest's
// main (shared by every test, in tests/doctest_main.cpp) starts: include this
// header once in each GPU test file.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/cuda.h"

namespace tinct::testing {

inline bool require_cuda_device_or_skip() {
  std::string why;
  if (!tinct::cuda::device_available(&why)) {
    std::printf("SKIPPED: no CUDA device (%s)\n", why.c_str());
    std::fflush(stdout);
    std::exit(77);
  }
  std::printf("GPU: %s\n", tinct::cuda::device_description().c_str());
  std::fflush(stdout);
  return true;
}

}  // namespace tinct::testing

namespace {
const bool g_have_device = tinct::testing::require_cuda_device_or_skip();
}  // namespace
