// deconv_phases/cuda_1_per_kernel.cu — the phase projection of a stride-2,
// padding-1, 4x4 transposed convolution's weights (or their gradient), in
// place on the device: each 4x4 kernel's four output phases (kernel rows and
// columns of the same parity of (k + 1)) get the same tap sum, each phase's
// taps shifted by a quarter of (mean of the four sums - its sum).
//
// What it computes: kernels/deconv_phases/ref.cpp, bit for bit (the same
// double sums in the same order, then the same float rounding). `tinct train
// --phases equalized` runs it twice a step per transposed convolution (on the
// weight gradient, then on the weights after the optimizer), so a GPU run
// keeps its weights on the device instead of a round trip through the host.
// Variants: this file is variant 1 of the family, the only one: one thread
// per 4x4 kernel (64 contiguous bytes; a warp reads 2 KiB in one run).
// Napkin math: memory-bound, 128 bytes moved per kernel; the compact GAN's
// largest transposed convolution (256 x 128 kernels) is 2 MiB, its five
// 2.7 MiB: a few microseconds on an H100 at 3 TB/s, about a launch's cost;
// the host round trip it replaces moved each byte over PCIe twice and
// synchronised the stream.
// Benchmark: tinct-kbench deconv_phase_equalize 1 --n 32768
#include <cuda_runtime.h>

#include "kernels/common/common.cuh"
#include "kernels/cuda.h"

namespace tinct::cuda {
namespace {

__global__ void phase_equalize_kernel(size_t n_kernels, float* __restrict__ w) {
  const size_t k = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= n_kernels) return;
  float* t = w + k * 16;
  float v[16];
#pragma unroll
  for (int i = 0; i < 16; ++i) v[i] = t[i];
  double sum[2][2] = {{0, 0}, {0, 0}};
#pragma unroll
  for (int ky = 0; ky < 4; ++ky)
#pragma unroll
    for (int kx = 0; kx < 4; ++kx) sum[(ky + 1) % 2][(kx + 1) % 2] += v[ky * 4 + kx];
  const double mean = (sum[0][0] + sum[0][1] + sum[1][0] + sum[1][1]) / 4;
#pragma unroll
  for (int ky = 0; ky < 4; ++ky)
#pragma unroll
    for (int kx = 0; kx < 4; ++kx)
      t[ky * 4 + kx] = v[ky * 4 + kx] + float((mean - sum[(ky + 1) % 2][(kx + 1) % 2]) / 4);
}

}  // namespace

void deconv_phase_equalize(size_t n_kernels, float* w, cudaStream_t stream) {
  if (n_kernels == 0) return;
  const int threads = 256;
  const unsigned blocks = unsigned((n_kernels + threads - 1) / threads);
  phase_equalize_kernel<<<blocks, threads, 0, stream>>>(n_kernels, w);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace tinct::cuda
