// loss/soft_ce_image.h — internal to the kernels library: one image of the
// soft-target cross-entropy (soft_ce_image_ref's contract, loss/ref.cpp),
// written for the compiler to vectorise. Included by loss/cpu.cpp (the
// baseline instruction set) and by loss/cpu_avx2.cpp, loss/cpu_avx512.cpp
// (compiled with their -m flags, CMakeLists.txt), so each kernel set gets the
// same loops in its own vector width; loss/cpu.cpp picks one per call.
//
// HOW, per block of kSoftCeBlock pixels (each class a contiguous run of the
// block's logits, so every inner loop runs over pixels):
//   1. m = the max logit of each pixel;
//   2. one pass over the classes: e = exp(z - m) (float exp_fast), written to
//      dz when the gradient is wanted, and the sums s = sum e, st = sum t and
//      stz = sum t (z - m) (<= 0); the loss is st log(s) - stz, a sum of two
//      non-negative terms (the reference's sum of -t (z - lse), regrouped
//      around m, where nothing cancels);
//   3. dz = (k st / s) e - k t, with k = gscale w / count (the reference's
//      k (softmax st - t)): no second exp, the softmax is the stored e scaled.
// The sums run in float over chunks of kSoftCeChunk classes, each chunk's sum
// added to a double: float speed, and the rounding of at most 16 float
// additions at a time (the loss agrees with the reference to ~1e-8 relative
// where tests/test_loss_fast.cpp allows 1e-6). Before: four passes, sums and
// loss terms in double, a second exp per logit for the gradient, 64-pixel
// blocks, the baseline's SSE only (bench/RESULTS.md: 18 -> 3.1 ms a step).
// Benchmark: build/tinct-kbench soft_ce cpu --n 8 --q 313 --h 32 --w 32
// (TINCT_CPU_KERNELS=avx2|generic for the other copies).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/common/select.h"

namespace tinct::cpu::detail {

// Internal linkage: each including file keeps its own copy, compiled with its
// flags (an inline function with external linkage would be merged by the
// linker into one copy, perhaps the AVX-512 one, for every caller).
namespace {

// Pixels per block: 1024, a 32x32 plane (the classification model's output
// at 128x128), so that each class row of a block is one 4 KiB run that the
// hardware prefetcher follows. Measured on the Xeon, soft_ce of 8 x 313 x
// 1024 logits with the gradient, AVX-512, L2 flushed: 64 pixels 7.1-8.0 ms,
// 128 6.2-6.4, 256 4.5-5.1, 512 4.2-4.4, 1024 3.4 ms. The per-pixel sums
// (48 KiB at 1024) stay in L1 / L2 and on the stack.
constexpr int kSoftCeBlock = 1024;
constexpr int kSoftCeChunk = 16;  // classes summed in float before a double takes the sum

// exp(x) in float, for x <= 0 (every argument here is z - max), written so
// that the compiler vectorises it: x = n ln2 + r with |r| <= ln2/2, exp(r) by
// the Cephes polynomial, times 2^n built in the exponent bits; relative error
// < 1e-7 on [-87, 0] (measured against the double exp in steps of 1e-4).
// Below -87.3 the result is 0 (exp would be denormal or 0), -inf gives 0,
// NaN stays NaN.
inline float exp_fast(float x) {
  const float xc = select(x > -87.3f, x, -87.3f);  // NaN -> -87.3 here, restored below
  // n = round(x / ln2) by the 1.5 * 2^23 trick (floor does not vectorise
  // under -ftrapping-math); any rounding keeps |r| <= ln2/2.
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float e = select(x > -87.3f, p * scale, 0.0f);
  return select(x != x, x, e);
}

// Pass 2 over classes [q0, q1) of a block of B pixels: adds each pixel's
// sums of e, t and t (z - m) into fs, ft, ftz; stores e to eb when Store.
template <bool Store>
inline void soft_ce_sums(int q0, int q1, int B, int HW, const float* zb, const float* tb, const float* m, float* eb,
                         float* fs, float* ft, float* ftz) {
  for (int q = q0; q < q1; ++q) {
    const float *zq = zb + size_t(q) * HW, *tq = tb + size_t(q) * HW;
    float* eq = Store ? eb + size_t(q) * HW : nullptr;
    for (int i = 0; i < B; ++i) {
      const float d = zq[i] - m[i], e = exp_fast(d), tv = tq[i];
      if (Store) eq[i] = e;
      fs[i] += e;
      ft[i] += tv;
      // A zero target adds nothing, even against a logit of -inf (0 * -inf
      // would be NaN): the reference skips it, here it selects 0.
      ftz[i] += select(tv == 0.0f, 0.0f, tv * d);
    }
  }
}

// soft_ce_image_ref of one image: its summed (weighted) pixel losses, and dz
// when not null.
inline double soft_ce_image_impl(int Q, int HW, const float* z, const float* t, const float* w, float gscale,
                                 double count, float* dz) {
  constexpr int kB = kSoftCeBlock;
  double image_loss = 0.0;
  float m[kB], fs[kB], ft[kB], ftz[kB];
  double s[kB], st[kB], stz[kB];
  for (int i0 = 0; i0 < HW; i0 += kB) {
    const int B = HW - i0 < kB ? HW - i0 : kB;
    const float *zb = z + i0, *tb = t + i0;
    float* db = dz ? dz + i0 : nullptr;
    for (int i = 0; i < B; ++i) m[i] = zb[i];
    for (int q = 1; q < Q; ++q) {
      const float* zq = zb + size_t(q) * HW;
      for (int i = 0; i < B; ++i) m[i] = select(zq[i] > m[i], zq[i], m[i]);  // fmax but for NaN
    }
    for (int i = 0; i < B; ++i) s[i] = 0.0, st[i] = 0.0, stz[i] = 0.0;
    for (int q0 = 0; q0 < Q; q0 += kSoftCeChunk) {
      const int q1 = Q - q0 < kSoftCeChunk ? Q : q0 + kSoftCeChunk;
      for (int i = 0; i < B; ++i) fs[i] = 0.0f, ft[i] = 0.0f, ftz[i] = 0.0f;
      if (db)
        soft_ce_sums<true>(q0, q1, B, HW, zb, tb, m, db, fs, ft, ftz);
      else
        soft_ce_sums<false>(q0, q1, B, HW, zb, tb, m, nullptr, fs, ft, ftz);
      for (int i = 0; i < B; ++i) s[i] += double(fs[i]), st[i] += double(ft[i]), stz[i] += double(ftz[i]);
    }
    for (int i = 0; i < B; ++i) image_loss += (w ? double(w[i0 + i]) : 1.0) * (st[i] * std::log(s[i]) - stz[i]);
    if (!db) continue;
    float c[kB], k[kB];
    for (int i = 0; i < B; ++i) {
      const double ki = gscale * (w ? double(w[i0 + i]) : 1.0) / count;
      k[i] = float(ki);
      c[i] = float(ki * st[i] / s[i]);  // softmax = e / s
    }
    for (int q = 0; q < Q; ++q) {
      const float* tq = tb + size_t(q) * HW;
      float* dq = db + size_t(q) * HW;
      for (int i = 0; i < B; ++i) dq[i] = c[i] * dq[i] - k[i] * tq[i];
    }
  }
  return image_loss;
}

}  // namespace

// The same function compiled for a kernel set, nullptr where this build
// lacks it (not x86-64).
using SoftCeImageFn = double (*)(int Q, int HW, const float* z, const float* t, const float* w, float gscale,
                                 double count, float* dz);
SoftCeImageFn soft_ce_image_avx2();
SoftCeImageFn soft_ce_image_avx512();

}  // namespace tinct::cpu::detail
