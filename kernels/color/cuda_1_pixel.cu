// color/cuda_1_pixel.cu — colour conversions and soft-encoding on the GPU.
//
// What it computes (the specification is kernels/color/ref.cpp: the per-pixel
// chain and srgb8_to_lab_ref, lab_to_srgb8_ref, soft_encode_dense_ref; the
// image functions of models/color/ are built on the same chain):
//   srgb8_to_lab       interleaved uint8 sRGB [n*3] -> planar L [n], ab [2, n]
//                      (= color::srgb_to_lab_image on uint8): v/255, the sRGB
//                      curve, the RGB->XYZ matrix (D65), CIE LAB.
//   lab_to_srgb8       planar L, ab -> interleaved uint8 sRGB, every channel
//                      clamped to [0, 1] and rounded to the nearest of 0..255
//                      (= color::lab_to_srgb_image to uint8, without the
//                      out-of-gamut count / mask).
//   soft_encode_dense  planar ab [2, n] -> dense [Q, n] (= color::soft_encode_dense):
//                      each pixel's 5 nearest bin centres by squared distance
//                      (ties: lower index first), weights exp(-d^2 / 2 sigma^2)
//                      normalised over the 5, zeros for the other Q - 5 bins.
//
// Variants: one of each, one thread per pixel, grid-stride loop.
//   * The conversions run in FLOAT (the reference is double). The matrices
//     are the CPU's own (derived in double from the primaries and the ASTM
//     E308 white in lab.cpp, printed to 17 digits below and rounded once to
//     float here). Errors against the double reference: about 1e-5 on L and
//     1e-4 on a, b (a = 500 (fx - fy) amplifies the float rounding of f, ~6e-8,
//     by 500 and a cancellation); uint8 output equal to the reference except
//     where a channel falls within ~1e-5 of a rounding boundary (k + 0.5)/255,
//     where it may be off by 1 (a small fraction of a percent of random
//     LAB inputs; tests/gpu/test_gpu_color.cpp counts them).
//   * soft_encode_dense: brute force over all Q centres per pixel (no lookup
//     table). For Q = 262 that is 262 distance evaluations per pixel, a few
//     hundred FLOPs: far below the cost of writing the Q floats of the dense
//     output (1 KB per pixel), so the kernel is bound by the output writes,
//     coalesced (row q of the output is written by consecutive threads at
//     consecutive pixels). The distances are computed with explicit rounding
//     (__fsub_rn / __fmul_rn / __fadd_rn, no FMA contraction) exactly as the
//     CPU's dist2 (a - ca)^2 + (b - cb)^2 in float, so the chosen bins and the
//     tie order are bit-identical to AbGamut::nearest5; the weights differ
//     only by the few ulp of expf between CUDA and libm (< 1e-6).
//
// Variants: this file is variant 1 of the color family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench srgb8_to_lab 1 --n 2097152 (lab_to_srgb8, soft_encode_dense likewise).
// Napkin math: srgb8_to_lab moves 15 bytes per pixel, lab_to_srgb8
// 15, soft_encode_dense 8 + 4Q bytes; time with cudaEvents over a 256x256 x
// batch 32 image set and compare with the bytes moved at the device's memory
// bandwidth.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "kernels/cuda.h"

namespace tinct::cuda {
namespace {

constexpr int kThreads = 256;

// The linear sRGB -> XYZ matrix of models/color/lab.cpp
// (linear_rgb_to_xyz_matrix(), printed with %.17g), and its inverse
// (xyz_to_linear_rgb_matrix()).
constexpr float kM00 = 0.41245643908969221f, kM01 = 0.35757607764390897f,
                kM02 = 0.18043748326639894f;
constexpr float kM10 = 0.21267285140562253f, kM11 = 0.71515215528781795f,
                kM12 = 0.072174993306559576f;
constexpr float kM20 = 0.0193338955823293f, kM21 = 0.11919202588130297f,
                kM22 = 0.95030407853636789f;
constexpr float kI00 = 3.2404541621141045f, kI01 = -1.5371385127977166f,
                kI02 = -0.49853140955601599f;
constexpr float kI10 = -0.96926603050518678f, kI11 = 1.8760108454466942f,
                kI12 = 0.041556017530349834f;
constexpr float kI20 = 0.055643430959114726f, kI21 = -0.20402591351675381f,
                kI22 = 1.0572251882231791f;

// The D65 white (color::kWhiteX/Y/Z) and the LAB break point 6/29.
constexpr double kWhiteXd = 0.95047, kWhiteZd = 1.08883;
constexpr float kInvWhiteX = float(1.0 / kWhiteXd), kInvWhiteZ = float(1.0 / kWhiteZd);
constexpr float kWhiteX = float(kWhiteXd), kWhiteZ = float(kWhiteZd);
constexpr double kDelta = 6.0 / 29.0;
constexpr float kDeltaF = float(kDelta);
constexpr float kDelta3 = float(kDelta * kDelta * kDelta);
constexpr float kInv3Delta2 = float(1.0 / (3.0 * kDelta * kDelta));
constexpr float k3Delta2 = float(3.0 * kDelta * kDelta);
constexpr float k4over29 = float(4.0 / 29.0);

__device__ __forceinline__ float srgb_to_linear(float c) {
  return c <= 0.04045f ? c * (1.0f / 12.92f) : powf((c + 0.055f) * (1.0f / 1.055f), 2.4f);
}
__device__ __forceinline__ float linear_to_srgb(float l) {
  return l <= 0.0031308f ? 12.92f * l : 1.055f * powf(l, 1.0f / 2.4f) - 0.055f;
}
__device__ __forceinline__ float lab_f(float t) {
  return t > kDelta3 ? cbrtf(t) : t * kInv3Delta2 + k4over29;
}
__device__ __forceinline__ float lab_f_inverse(float u) {
  return u > kDeltaF ? u * u * u : k3Delta2 * (u - k4over29);
}
__device__ __forceinline__ uint8_t to_byte(float c) {
  c = fminf(fmaxf(c, 0.0f), 1.0f);  // NaN -> 0 (fmaxf drops the NaN)
  return static_cast<uint8_t>(static_cast<int>(c * 255.0f + 0.5f));  // c >= 0: lround
}

__global__ void srgb8_to_lab_kernel(size_t n, const uint8_t* __restrict__ rgb,
                                    float* __restrict__ L, float* __restrict__ ab) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float r = srgb_to_linear(rgb[3 * i + 0] * (1.0f / 255.0f));
    const float g = srgb_to_linear(rgb[3 * i + 1] * (1.0f / 255.0f));
    const float b = srgb_to_linear(rgb[3 * i + 2] * (1.0f / 255.0f));
    const float X = kM00 * r + kM01 * g + kM02 * b;
    const float Y = kM10 * r + kM11 * g + kM12 * b;
    const float Z = kM20 * r + kM21 * g + kM22 * b;
    const float fx = lab_f(X * kInvWhiteX), fy = lab_f(Y), fz = lab_f(Z * kInvWhiteZ);
    L[i] = 116.0f * fy - 16.0f;
    ab[i] = 500.0f * (fx - fy);
    ab[n + i] = 200.0f * (fy - fz);
  }
}

__global__ void lab_to_srgb8_kernel(size_t n, const float* __restrict__ L,
                                    const float* __restrict__ ab, uint8_t* __restrict__ rgb) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float fy = (L[i] + 16.0f) * (1.0f / 116.0f);
    const float fx = fy + ab[i] * (1.0f / 500.0f);
    const float fz = fy - ab[n + i] * (1.0f / 200.0f);
    const float X = kWhiteX * lab_f_inverse(fx), Y = lab_f_inverse(fy),
                Z = kWhiteZ * lab_f_inverse(fz);
    const float r = kI00 * X + kI01 * Y + kI02 * Z;
    const float g = kI10 * X + kI11 * Y + kI12 * Z;
    const float b = kI20 * X + kI21 * Y + kI22 * Z;
    rgb[3 * i + 0] = to_byte(linear_to_srgb(r));
    rgb[3 * i + 1] = to_byte(linear_to_srgb(g));
    rgb[3 * i + 2] = to_byte(linear_to_srgb(b));
  }
}

constexpr int kK = 5;  // color::kNeighbours

// (d2, q) ordered as color's Ranked: by distance, then by index.
__device__ __forceinline__ bool ranked_less(float d2, int q, float e2, int p) {
  return d2 < e2 || (d2 == e2 && q < p);
}

__global__ void soft_encode_dense_kernel(size_t n, const float* __restrict__ ab,
                                         const float* __restrict__ centres, int Q,
                                         float inv_two_sigma2, float* __restrict__ out) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float a = ab[i], b = ab[n + i];
    float d2[kK] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    int idx[kK] = {0, 0, 0, 0, 0};
    int count = 0;
    // Keep the 5 smallest in sorted order (keep_smallest of gamut.cpp).
    for (int q = 0; q < Q; ++q) {
      const float da = __fsub_rn(a, centres[2 * q]), db = __fsub_rn(b, centres[2 * q + 1]);
      const float d = __fadd_rn(__fmul_rn(da, da), __fmul_rn(db, db));
      if (count == kK && !ranked_less(d, q, d2[kK - 1], idx[kK - 1])) continue;
      int pos = count < kK ? count++ : kK - 1;
#pragma unroll
      for (int s = kK - 1; s > 0; --s) {  // insertion, unrolled so d2/idx stay in registers
        if (s == pos && ranked_less(d, q, d2[s - 1], idx[s - 1])) {
          d2[s] = d2[s - 1];
          idx[s] = idx[s - 1];
          --pos;
        }
      }
#pragma unroll
      for (int s = 0; s < kK; ++s)
        if (s == pos) d2[s] = d, idx[s] = q;
    }
    // Weights relative to the nearest bin (soft_encode_pixel): same float
    // operations, expf instead of libm's exp.
    float w[kK];
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kK; ++k) {
      w[k] = expf(__fmul_rn(-__fsub_rn(d2[k], d2[0]), inv_two_sigma2));
      sum = __fadd_rn(sum, w[k]);
    }
#pragma unroll
    for (int k = 0; k < kK; ++k) w[k] = __fdiv_rn(w[k], sum);
    for (int q = 0; q < Q; ++q) {
      float v = 0.0f;
#pragma unroll
      for (int k = 0; k < kK; ++k)
        if (idx[k] == q) v = w[k];
      out[size_t(q) * n + i] = v;
    }
  }
}

int blocks_for(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return int(std::min<size_t>(std::max<size_t>(b, 1), 65535));
}

}  // namespace

void srgb8_to_lab(size_t n, const uint8_t* rgb, float* L, float* ab, cudaStream_t stream) {
  if (n == 0) return;
  srgb8_to_lab_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, rgb, L, ab);
  TINCT_CUDA_LAUNCH_CHECK();
}

void lab_to_srgb8(size_t n, const float* L, const float* ab, uint8_t* rgb, cudaStream_t stream) {
  if (n == 0) return;
  lab_to_srgb8_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, L, ab, rgb);
  TINCT_CUDA_LAUNCH_CHECK();
}

void soft_encode_dense(size_t n, const float* ab, const float* centres, int Q, float* out,
                       float sigma, cudaStream_t stream) {
  if (Q < kK) throw std::invalid_argument("soft_encode_dense: needs at least 5 bins");
  if (n == 0) return;
  const float inv_two_sigma2 = 1.0f / (2.0f * sigma * sigma);  // as soft_encode_pixel
  soft_encode_dense_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, ab, centres, Q,
                                                                    inv_two_sigma2, out);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace tinct::cuda
