// test_gpu_tensorcore.cpp — the tensor-core GEMMs (kernels/tensorcore/,
// variants 1 tf32 and 2 bf16) against their CPU references (ref.cpp) at the
// same precision: every transpose case, odd sizes, sizes that are not
// multiples of the 128x128 tile or of the K slice, 1 and 313 columns, K = 1,
// 3, 9 and 9*64, leading dimensions that are and are not multiples of 16
// bytes (the cp.async path and the synchronous one), alpha / beta, C = NaN
// with beta == 0 (C must not be read), and C's padding (never written).
// On a GPU also 512x512x4608 and the conv-shaped 512x1024x4608 once each.
//
// Tolerance, per output (tests/tensorcore_check.h): the reference and the
// kernel multiply the same rounded inputs exactly and accumulate in fp32 in
// different orders. Each is within (K + 2) u (|alpha| S + |beta c|) of the
// exact result (u = 2^-24, S = sum_k |a_k b_k|); the tensor core may round
// toward zero inside its sums (u -> 2u), so the kernel is held to
//   |kernel - ref| <= 3 (K + 2) u (|alpha| S + |beta c|).
// A wrong fragment element is an error of O(|a b|) ~ S / K, far above it.
// Under the CPU emulator (tools/cuda_emu) the accumulation order is the
// reference's, so the results are bit-exact there; the line says how many.
//
// Run: ctest -L gpu, or on the CPU: tools/cuda_emu/build.sh /tmp/emu_tc '-tc=*tensorcore*'
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "gpu/gpu_skip.h"
#include "kernels/cuda.h"
#include "kernels/tensorcore/tensorcore.h"
#include "kernels/tensorcore/tensorcore_cuda.h"
#include "tensorcore_check.h"

using namespace tinct;

namespace {

bool on_emulator() {
  cudaDeviceProp p;
  TINCT_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  return std::string(p.name) == "CPU emulator";
}

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  TINCT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&d), h.size() * sizeof(T)));
  TINCT_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

struct Case {
  bool ta, tb;
  int M, N, K;
  bool aligned;  // leading dimensions multiples of 16 bytes (else odd: the synchronous loads)
  float alpha, beta;
};

int leading_dim(int cols, int elem_bytes, bool aligned) {
  const int v = 16 / elem_bytes;
  return aligned ? (cols + v - 1) / v * v : ((cols + v - 1) / v * v) + 1;
}

// One precision on one case: T is the stored input type, to_t converts the
// random fp32 data to it, widen gives the value the product uses.
template <class T, class ToT, class Widen, class Kernel, class Ref>
void check_case(const char* name, const Case& c, ToT to_t, Widen widen, Kernel kernel, Ref ref) {
  const int E = sizeof(T);
  const int lda = leading_dim(c.ta ? c.M : c.K, E, c.aligned), ldb = leading_dim(c.tb ? c.K : c.N, E, c.aligned);
  const int ldc = c.N + 3;  // 3 padding columns that must stay untouched
  const size_t na = (size_t)(c.ta ? c.K : c.M) * lda, nb = (size_t)(c.tb ? c.N : c.K) * ldb;
  std::mt19937 gen(uint32_t(c.M * 7919 + c.N * 131 + c.K * 17 + c.ta * 2 + c.tb));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<T> A(na), B(nb);
  std::vector<double> Ar(na), Br(nb);
  for (size_t i = 0; i < na; ++i) A[i] = to_t(u(gen)), Ar[i] = widen(A[i]);
  for (size_t i = 0; i < nb; ++i) B[i] = to_t(u(gen)), Br[i] = widen(B[i]);
  const float kPadValue = 12345.0f;
  std::vector<float> C0((size_t)c.M * ldc);
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < ldc; ++j)
      C0[(size_t)i * ldc + j] = j >= c.N ? kPadValue : c.beta == 0 ? std::numeric_limits<float>::quiet_NaN() : u(gen);

  std::vector<float> want = C0;
  // The reference by blocks of 16 rows in parallel (each output is computed
  // exactly as in one call): the large shapes cost seconds, not minutes.
#pragma omp parallel for schedule(dynamic)
  for (int i0 = 0; i0 < c.M; i0 += 16)
    ref(c.ta, c.tb, std::min(16, c.M - i0), c.N, c.K, c.alpha, A.data() + (c.ta ? i0 : (size_t)i0 * lda), lda,
        B.data(), ldb, c.beta, want.data() + (size_t)i0 * ldc, ldc);

  T* dA = to_device(A);
  T* dB = to_device(B);
  float* dC = to_device(C0);
  kernel(c.ta, c.tb, c.M, c.N, c.K, c.alpha, dA, lda, dB, ldb, c.beta, dC, ldc, cudaStream_t(0));
  TINCT_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> got(C0.size());
  TINCT_CUDA_CHECK(cudaMemcpy(got.data(), dC, got.size() * sizeof(float), cudaMemcpyDeviceToHost));
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);

  const tccheck::Exact ex = tccheck::exact_gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, Ar, lda, Br, ldb, c.beta, C0, ldc);
  std::vector<double> ref_dense((size_t)c.M * c.N);
  size_t exact = 0, pad_changed = 0;
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < ldc; ++j) {
      const float g = got[(size_t)i * ldc + j], w = want[(size_t)i * ldc + j];
      if (j >= c.N) {
        pad_changed += g != kPadValue;
        continue;
      }
      ref_dense[(size_t)i * c.N + j] = w;
      exact += std::memcmp(&g, &w, 4) == 0;
    }
  char what[200];
  std::snprintf(what, sizeof what, "%s %c%c %dx%dx%d %s a=%g b=%g, %zu/%zu bit-exact", name, c.ta ? 'T' : 'N',
                c.tb ? 'T' : 'N', c.M, c.N, c.K, c.aligned ? "ld%16" : "ld odd", c.alpha, c.beta, exact,
                (size_t)c.M * c.N);
  const double ratio =
      tccheck::worst_ratio(what, got.data(), ldc, ref_dense, ex.s, c.M, c.N, 3.0 * (c.K + 2) * tccheck::kU);
  std::fflush(stdout);
  CHECK_MESSAGE(ratio <= 1.0, what);
  CHECK_MESSAGE(pad_changed == 0, what << ": the padding columns of C were written");
}

std::vector<Case> cases() {
  std::vector<Case> v;
  const bool emu = on_emulator();
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    v.push_back({ta, tb, 1, 1, 1, true, 1.0f, 0.0f});
    v.push_back({ta, tb, 1, 313, 3, false, 1.0f, 0.0f});
    v.push_back({ta, tb, 37, 1, 9, true, 0.5f, -1.0f});
    v.push_back({ta, tb, 130, 129, 70, t % 2 == 0, 1.0f, 0.0f});  // 2x2 tiles, partial K slice
    v.push_back({ta, tb, 5, 40, 9 * 64, true, -1.5f, 0.25f});      // many K slices: the pipeline wraps
    if (!emu) {
      v.push_back({ta, tb, 313, 313, 313, false, 1.0f, 1.0f});
      if (t == 0 || t == 3) v.push_back({ta, tb, 512, 512, 4608, true, 1.0f, 0.0f});
    }
  }
  if (!emu) v.push_back({false, false, 512, 16 * 16 * 4, 512 * 9, true, 1.0f, 0.0f});  // conv 512->512 16x16, batch 4
  return v;
}

}  // namespace

TEST_CASE("tensorcore gemm_tf32 (variant 1) matches gemm_tf32_ref") {
  for (const Case& c : cases())
    check_case<float>("tf32", c, [](float x) { return x; }, [](float x) { return double(cpu::round_tf32(x)); },
                      cuda::gemm_tf32, cpu::gemm_tf32_ref);
}

TEST_CASE("tensorcore gemm_bf16 (variant 2) matches gemm_bf16_ref") {
  for (const Case& c : cases())
    check_case<uint16_t>("bf16", c, cpu::bf16_from_float, [](uint16_t b) { return double(cpu::bf16_to_float(b)); },
                         cuda::gemm_bf16, cpu::gemm_bf16_ref);
}

TEST_CASE("tensorcore gemm: bad sizes are refused, empty ones do nothing") {
  CHECK_THROWS_AS(cuda::gemm_tf32(false, false, -1, 1, 1, 1.0f, nullptr, 1, nullptr, 1, 0.0f, nullptr, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(cuda::gemm_bf16(false, false, 1, 1, -1, 1.0f, nullptr, 1, nullptr, 1, 0.0f, nullptr, 1),
                  std::invalid_argument);
  CHECK_NOTHROW(cuda::gemm_tf32(false, false, 0, 5, 5, 1.0f, nullptr, 5, nullptr, 5, 0.0f, nullptr, 5));
  // K == 0: C = beta * C.
  std::vector<float> c0 = {2.0f, -4.0f};
  float* dC = to_device(c0);
  cuda::gemm_bf16(false, false, 1, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, dC, 2);
  std::vector<float> got(2);
  TINCT_CUDA_CHECK(cudaMemcpy(got.data(), dC, 8, cudaMemcpyDeviceToHost));
  cudaFree(dC);
  CHECK(got[0] == 1.0f);
  CHECK(got[1] == -2.0f);
}
