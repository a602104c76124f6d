// gpu_bench_util.h — what the plain-CUDA benchmarks share (bench_gpu_tensorcore,
// bench_gpu_conv_tc): an environment integer, device allocation, and the
// timing protocol: CUDA events around one call, L2 flushed before each (a
// memset of the flush buffer, not timed), 3 warm-up calls, the median.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <vector>

#include "kernels/cuda.h"

namespace benchutil {

inline int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

template <class T>
T* dev_alloc(size_t n) {
  T* p = nullptr;
  TINCT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), std::max<size_t>(n, 1) * sizeof(T)));
  return p;
}

// Median ms of `iters` calls, each after an untimed L2 flush.
inline double time_ms(const std::function<void()>& f, int iters, void* flush, size_t flush_bytes) {
  cudaEvent_t a, b;
  TINCT_CUDA_CHECK(cudaEventCreate(&a));
  TINCT_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    TINCT_CUDA_CHECK(cudaMemsetAsync(flush, i & 0xff, flush_bytes));
    TINCT_CUDA_CHECK(cudaEventRecord(a));
    f();
    TINCT_CUDA_CHECK(cudaEventRecord(b));
    TINCT_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    TINCT_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace benchutil
