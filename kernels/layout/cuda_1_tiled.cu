// layout/cuda_1_tiled.cu — a tensor's memory order changed: NCHW <-> NHWC.
//
// What it computes (kernels/layout/ref.cpp):
//   nchw_to_nhwc: out[n][i][c] = in[n][c][i]   (i = h*W + w, a pixel)
//   nhwc_to_nchw: out[n][c][i] = in[n][i][c]
// Both are a batch of matrix transposes, [R][S] -> [S][R] per image (R = C,
// S = HW, or the reverse), done the classic way: a block moves a 32x32 tile
// through shared memory (one column of padding, so the column reads do not
// hit one bank), reading rows of the input and writing rows of the output,
// both coalesced. Edge tiles are masked; any R, S >= 1.
// Variants: this file is variant 1 of the layout family, the only one so far
// (kernels/README.md: variant 0 would be cuDNN's cudnnTransformTensor).
// Benchmark: tinct-kbench nchw_to_nhwc 1 --n 16 --c 64 --h 64 --w 64 (nhwc_to_nchw likewise).
// Napkin math: memory-bound, 8 bytes moved per element; compare GB/s with a
// device-to-device cudaMemcpy.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"

namespace tinct::cuda {
namespace {

constexpr int kTile = 32, kRows = 8;  // a 32x8 block moves a 32x32 tile

// r_on_x: the R tiles on gridDim.x (up to 2^31 - 1 of them) and the S tiles on
// gridDim.y (up to 65535), else the reverse: the pixel axis, whichever it
// is, gets x, so a tensor of any image size fits the grid.
__global__ void __launch_bounds__(kTile* kRows)
    transpose_kernel(int B, int R, int S, bool r_on_x, const float* __restrict__ in, float* __restrict__ out) {
  __shared__ float tile[kTile][kTile + 1];
  const int s0 = (r_on_x ? blockIdx.y : blockIdx.x) * kTile, r0 = (r_on_x ? blockIdx.x : blockIdx.y) * kTile;
  for (int b = blockIdx.z; b < B; b += gridDim.z) {
    const float* src = in + size_t(b) * R * S;
    float* dst = out + size_t(b) * R * S;
    // Read rows r0.. of [R][S]: consecutive threads, consecutive s.
    for (int j = threadIdx.y; j < kTile; j += kRows) {
      const int r = r0 + j, s = s0 + threadIdx.x;
      if (r < R && s < S) tile[j][threadIdx.x] = __ldg(src + size_t(r) * S + s);
    }
    __syncthreads();
    // Write rows s0.. of [S][R]: consecutive threads, consecutive r.
    for (int j = threadIdx.y; j < kTile; j += kRows) {
      const int s = s0 + j, r = r0 + threadIdx.x;
      if (r < R && s < S) dst[size_t(s) * R + r] = tile[threadIdx.x][j];
    }
    __syncthreads();  // the tile is reused by the next image
  }
}

void transpose(const char* op, int B, int R, int S, const float* in, float* out, cudaStream_t stream) {
  if (B < 0 || R < 0 || S < 0) throw std::invalid_argument(std::string(op) + ": negative size");
  if (B == 0 || R == 0 || S == 0) return;
  if (in == out) throw std::invalid_argument(std::string(op) + ": in place is not supported");
  const unsigned tiles_r = unsigned((R + kTile - 1) / kTile), tiles_s = unsigned((S + kTile - 1) / kTile);
  const bool r_on_x = tiles_r > tiles_s;
  const unsigned gx = r_on_x ? tiles_r : tiles_s, gy = r_on_x ? tiles_s : tiles_r;
  if (gy > 65535u) throw std::invalid_argument(std::string(op) + ": both sides above 2^21");
  const unsigned gz = unsigned(std::min(B, 65535));
  transpose_kernel<<<dim3(gx, gy, gz), dim3(kTile, kRows), 0, stream>>>(B, R, S, r_on_x, in, out);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void nchw_to_nhwc(const float* in, float* out, int N, int C, int HW, cudaStream_t stream) {
  transpose("nchw_to_nhwc", N, C, HW, in, out, stream);
}

void nhwc_to_nchw(const float* in, float* out, int N, int C, int HW, cudaStream_t stream) {
  transpose("nhwc_to_nchw", N, HW, C, in, out, stream);
}

}  // namespace tinct::cuda
