// gpu.cpp — tinct-kbench's GPU ceilings (peak.h) and the scratch memory of
// the CUDA variants. FP32 peak = SMs x FP32 lanes per SM x 2 (an FMA) x the
// boost clock, from the device's attributes; bandwidth = a 256 MiB
// device-to-device copy (read + write), the best of 5.
#include "tools/kbench/kbench.h"
#include "tools/kbench/peak.h"

#ifdef TINCT_HAS_CUDA
#include <cuda_runtime_api.h>

#include <algorithm>
#include <sstream>

#include "kernels/cuda.h"
#endif

namespace tinct::kbench {

#if defined(TINCT_HAS_CUDA) && !defined(TINCT_CUDA_EMU)
Peak gpu_peak() {
  Peak pk;
  int dev = 0, sms = 0, khz = 0, major = 0, minor = 0;
  TINCT_CUDA_CHECK(cudaGetDevice(&dev));
  TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev));
  TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  // FP32 lanes per SM: 64 on sm_60/70/80, 128 on sm_61, sm_75 (64), sm_86+ and sm_90+.
  const int lanes = (major == 7 || (major == 8 && minor == 0) || (major == 6 && minor == 0)) ? 64 : 128;
  pk.flops = 2.0 * sms * lanes * khz * 1e3;
  const size_t bytes = size_t(256) << 20;
  void *a = nullptr, *b = nullptr;
  TINCT_CUDA_CHECK(cudaMalloc(&a, bytes));
  TINCT_CUDA_CHECK(cudaMalloc(&b, bytes));
  TINCT_CUDA_CHECK(cudaMemset(a, 1, bytes));
  cudaEvent_t e0, e1;
  TINCT_CUDA_CHECK(cudaEventCreate(&e0));
  TINCT_CUDA_CHECK(cudaEventCreate(&e1));
  for (int rep = 0; rep < 6; ++rep) {
    TINCT_CUDA_CHECK(cudaEventRecord(e0));
    TINCT_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice));
    TINCT_CUDA_CHECK(cudaEventRecord(e1));
    TINCT_CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    TINCT_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    if (rep > 0) pk.bw = std::max(pk.bw, 2.0 * bytes / (ms * 1e-3));
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(a);
  cudaFree(b);
  std::ostringstream how;
  how << "GPU " << cuda::device_description() << ": FP32 peak " << pk.flops / 1e12 << " TFLOP/s (" << sms
      << " SMs x " << lanes << " lanes x 2 x " << khz / 1e3 << " MHz), 256 MiB copy " << pk.bw / 1e9
      << " GB/s (read + write)";
  pk.how = how.str();
  return pk;
}

#else
Peak gpu_peak() { return Peak{0, 0, "no GPU timing in this build"}; }
#endif

#ifdef TINCT_HAS_CUDA
void* gpu_scratch(size_t bytes) {
  static void* p = nullptr;
  static size_t have = 0;
  if (bytes > have) {
    if (p) TINCT_CUDA_CHECK(cudaFree(p));
    TINCT_CUDA_CHECK(cudaMalloc(&p, bytes));
    have = bytes;
  }
  return p;
}
#endif

}  // namespace tinct::kbench
