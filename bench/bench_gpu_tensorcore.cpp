// bench_gpu_tensorcore.cpp — the tensor-core GEMMs of kernels/tensorcore/
// against cuBLAS at the same precision, on the same GPU in the same run.
//
//   variant 0  cuBLAS: cublasGemmEx, TF32 = fp32 data with
//              CUBLAS_COMPUTE_32F_FAST_TF32; BF16 = CUDA_R_16BF A and B, fp32
//              C, CUBLAS_COMPUTE_32F (the vendor's best at that precision)
//   variant 1  cuda::gemm_tf32 (cuda_1_mma_tf32.cu)
//   variant 2  cuda::gemm_bf16 (cuda_2_mma_bf16.cu)
// Shapes: the models' 3x3 convolutions as implicit GEMMs at batch 64
// (TINCT_BENCH_BATCH): M = output channels, N = batch * P * Q, K = C * 9 —
// 512->512 at 16x16 and 256->256 at 32x32 — plus the square 4096^3.
// Before timing, each variant runs once and its max|C - C_cublas| / max|C_cublas|
// is printed (same precision: ~1e-6 relative expected, from summation order).
// Timing: CUDA events around one call, L2 flushed before each (a memset of
// 2x the L2, not timed), 3 warm-up calls, median of TINCT_BENCH_ITERS (15).
// Output: one line per (precision, shape, variant): ms, TFLOP/s (2MNK),
// pct_of_cublas = cuBLAS ms / variant ms * 100, between
// "=== SUMMARY BEGIN ===" and "=== SUMMARY END ===".
//
// Usage: ./build/bench/bench_gpu_tensorcore
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu_bench_util.h"
#include "kernels/cuda.h"
#include "kernels/tensorcore/tensorcore.h"
#include "kernels/tensorcore/tensorcore_cuda.h"

namespace gpu = tinct::cuda;

#define CUBLAS_CHECK(call)                                                                             \
  do {                                                                                                 \
    const cublasStatus_t s_ = (call);                                                                  \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                                   \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + #call + \
                               " failed: " + std::to_string(int(s_)));                                 \
  } while (0)

namespace {

using benchutil::dev_alloc;
using benchutil::env_int;
using benchutil::time_ms;

double max_rel_diff(const float* d_got, const float* d_ref, size_t n) {
  std::vector<float> g(n), r(n);
  TINCT_CUDA_CHECK(cudaMemcpy(g.data(), d_got, n * 4, cudaMemcpyDeviceToHost));
  TINCT_CUDA_CHECK(cudaMemcpy(r.data(), d_ref, n * 4, cudaMemcpyDeviceToHost));
  double m = 0, e = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, double(std::fabs(r[i]))), e = std::max(e, double(std::fabs(g[i] - r[i])));
  return m > 0 ? e / m : e;
}

struct Shape {
  const char* name;
  int M, N, K;
};

}  // namespace

int main() {
  std::string why;
  if (!gpu::device_available(&why)) {
    std::printf("no CUDA device (%s)\n", why.c_str());
    return 1;
  }
  std::printf("GPU: %s\n", gpu::device_description().c_str());
  const int batch = env_int("TINCT_BENCH_BATCH", 64), iters = env_int("TINCT_BENCH_ITERS", 15);
  const std::vector<Shape> shapes = {
      {"conv512_16x16", 512, batch * 16 * 16, 512 * 9},
      {"conv256_32x32", 256, batch * 32 * 32, 256 * 9},
      {"square4096", 4096, 4096, 4096},
  };
  int l2 = 0;
  TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
  const size_t flush_bytes = size_t(std::max(l2, 1 << 20)) * 2;
  void* flush = dev_alloc<unsigned char>(flush_bytes);
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));

  struct Row {
    std::string prec, shape;
    int variant;
    double ms, tflops, pct, rel;
  };
  std::vector<Row> rows;
  for (const Shape& s : shapes) {
    const size_t na = size_t(s.M) * s.K, nb = size_t(s.K) * s.N, nc = size_t(s.M) * s.N;
    std::mt19937 gen(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> ha(na), hb(nb);
    for (auto& x : ha) x = u(gen);
    for (auto& x : hb) x = u(gen);
    std::vector<uint16_t> ha16(na), hb16(nb);
    for (size_t i = 0; i < na; ++i) ha16[i] = tinct::cpu::bf16_from_float(ha[i]);
    for (size_t i = 0; i < nb; ++i) hb16[i] = tinct::cpu::bf16_from_float(hb[i]);
    float *a = dev_alloc<float>(na), *b = dev_alloc<float>(nb), *c0 = dev_alloc<float>(nc), *c = dev_alloc<float>(nc);
    uint16_t *a16 = dev_alloc<uint16_t>(na), *b16 = dev_alloc<uint16_t>(nb);
    TINCT_CUDA_CHECK(cudaMemcpy(a, ha.data(), na * 4, cudaMemcpyHostToDevice));
    TINCT_CUDA_CHECK(cudaMemcpy(b, hb.data(), nb * 4, cudaMemcpyHostToDevice));
    TINCT_CUDA_CHECK(cudaMemcpy(a16, ha16.data(), na * 2, cudaMemcpyHostToDevice));
    TINCT_CUDA_CHECK(cudaMemcpy(b16, hb16.data(), nb * 2, cudaMemcpyHostToDevice));
    const float one = 1.0f, zero = 0.0f;
    const double flop = 2.0 * s.M * s.N * double(s.K);
    // Row-major C = A B is column-major C^T = B^T A^T: cuBLAS gets (B, A), n x m.
    auto cublas = [&](bool bf16, float* out) {
      CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, s.N, s.M, s.K, &one, bf16 ? (void*)b16 : (void*)b,
                                bf16 ? CUDA_R_16BF : CUDA_R_32F, s.N, bf16 ? (void*)a16 : (void*)a,
                                bf16 ? CUDA_R_16BF : CUDA_R_32F, s.K, &zero, out, CUDA_R_32F, s.N,
                                bf16 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    };
    for (int bf16 = 0; bf16 < 2; ++bf16) {
      const char* prec = bf16 ? "bf16" : "tf32";
      auto mine = [&](float* out) {
        if (bf16)
          gpu::gemm_bf16(false, false, s.M, s.N, s.K, 1.0f, a16, s.K, b16, s.N, 0.0f, out, s.N);
        else
          gpu::gemm_tf32(false, false, s.M, s.N, s.K, 1.0f, a, s.K, b, s.N, 0.0f, out, s.N);
      };
      cublas(bf16, c0);
      mine(c);
      TINCT_CUDA_CHECK(cudaDeviceSynchronize());
      const double rel = max_rel_diff(c, c0, nc);
      const double t0 = time_ms([&] { cublas(bf16, c0); }, iters, flush, flush_bytes);
      const double t1 = time_ms([&] { mine(c); }, iters, flush, flush_bytes);
      rows.push_back({prec, s.name, 0, t0, flop / t0 * 1e-9, 100.0, 0.0});
      rows.push_back({prec, s.name, bf16 ? 2 : 1, t1, flop / t1 * 1e-9, t0 / t1 * 100.0, rel});
    }
    for (void* p : {(void*)a, (void*)b, (void*)c0, (void*)c, (void*)a16, (void*)b16}) cudaFree(p);
  }
  std::printf("=== SUMMARY BEGIN ===\n%-5s %-15s %-8s %9s %9s %14s %12s\n", "prec", "shape", "variant", "ms",
              "TFLOP/s", "pct_of_cublas", "rel_vs_cublas");
  for (const Row& r : rows)
    std::printf("%-5s %-15s %-8s %9.3f %9.1f %13.1f%% %12.2g\n", r.prec.c_str(), r.shape.c_str(),
                r.variant == 0 ? "0 cublas" : r.variant == 1 ? "1 tf32" : "2 bf16", r.ms, r.tflops, r.pct, r.rel);
  std::printf("=== SUMMARY END ===\n");
  cublasDestroy(h);
  cudaFree(flush);
  return 0;
}
