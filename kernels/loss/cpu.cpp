// loss/cpu.cpp — the soft-target cross-entropy, the fast CPU path.
//
// WHAT: soft_ce_ref's contract (loss/ref.cpp, the specification) to float
// rounding: the loss agrees to ~1e-6 relative and the gradient to ~1e-6 of
// its largest entry. Like the reference, the value is a sum of per-image
// partial sums combined in order of n, so it does not depend on the thread
// count. And mse, l1, mse_const (below).
//
// HOW: the reference walks one pixel at a time across its Q classes, which
// sit HW floats apart, and calls the double exp twice per logit (313 classes
// x 1024 pixels x 8 images: 120 ms of a classification training step). Here
// a block of kBlock pixels goes through the classes together, so each class
// is a contiguous run of kBlock logits and the loops vectorise: the max, the
// sum of exp(z - max) (float exp_fast, accumulated in double), the target
// sums and the loss terms; then the gradient softmax * T - t per logit.
// Threads: OpenMP over images (as loss/cpu.cpp always did).
//
// mse, l1, mse_const: the reference forms each gradient entry in double,
// with a division, in one serial loop (2 ms for the 262K outputs of a batch
// of 8 at 128x128). Here the gradient is the reference's expression per
// element (bit for bit), on chunks per thread; the value is summed in
// blocks of kSumBlock elements (kLanes double accumulators each), the block
// sums added in order, so it does not depend on the thread count; it agrees
// with the reference's serial double sum to ~1e-13 relative (measured, 262K terms).
//
// Benchmark: the classification training step's soft_cross_entropy row:
//   printf "train classification compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build-cpu/bench/bench_peer_forward
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/common/select.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

constexpr int kBlock = 64;  // pixels per block: 64 doubles x 3 accumulators stay in L1

// exp(x) in float, for x <= 0 (every argument here is z - max or z - lse),
// written so that the compiler vectorises it: x = n ln2 + r with |r| <=
// ln2/2, exp(r) by the Cephes polynomial, times 2^n built in the exponent
// bits; relative error < 1e-7 on [-87, 0] (measured against the double exp
// in steps of 1e-4). Below -87.3 the result is 0 (exp would be denormal or
// 0), -inf gives 0, NaN stays NaN.
inline float exp_fast(float x) {
  const float xc = detail::select(x > -87.3f, x, -87.3f);  // NaN -> -87.3 here, restored below
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
  const float e = detail::select(x > -87.3f, p * scale, 0.0f);
  return detail::select(x != x, x, e);
}

// soft_ce_image_ref of one image: its summed pixel losses, and dz.
double soft_ce_image(int Q, int HW, const float* z, const float* t, const float* w, float gscale, double count,
                     float* dz) {
  double image_loss = 0.0;
  float m[kBlock];
  double sum_exp[kBlock], sum_t[kBlock], loss[kBlock], lse[kBlock];
  for (int i0 = 0; i0 < HW; i0 += kBlock) {
    const int B = HW - i0 < kBlock ? HW - i0 : kBlock;
    const float* zb = z + i0;
    const float* tb = t + i0;
    for (int i = 0; i < B; ++i) m[i] = zb[i];
    for (int q = 1; q < Q; ++q) {
      const float* zq = zb + size_t(q) * HW;
      for (int i = 0; i < B; ++i) m[i] = detail::select(zq[i] > m[i], zq[i], m[i]);  // fmax but for NaN
    }
    for (int i = 0; i < B; ++i) sum_exp[i] = 0.0, sum_t[i] = 0.0, loss[i] = 0.0;
    for (int q = 0; q < Q; ++q) {
      const float *zq = zb + size_t(q) * HW, *tq = tb + size_t(q) * HW;
      for (int i = 0; i < B; ++i) {
        sum_exp[i] += double(exp_fast(zq[i] - m[i]));
        sum_t[i] += double(tq[i]);
      }
    }
    for (int i = 0; i < B; ++i) lse[i] = double(m[i]) + std::log(sum_exp[i]);
    for (int q = 0; q < Q; ++q) {
      const float *zq = zb + size_t(q) * HW, *tq = tb + size_t(q) * HW;
      // A zero target adds nothing, even against a logit of -inf (0 * -inf
      // would be NaN): the reference skips it, here it selects 0.
      for (int i = 0; i < B; ++i) {
        const double term = -double(tq[i]) * (double(zq[i]) - lse[i]);
        loss[i] += detail::select(tq[i] == 0.0f, 0.0, term);
      }
    }
    for (int i = 0; i < B; ++i) image_loss += (w ? double(w[i0 + i]) : 1.0) * loss[i];
    if (!dz) continue;
    float k[kBlock], kt[kBlock], lsef[kBlock], lse_lo[kBlock];
    for (int i = 0; i < B; ++i) {
      const double ki = gscale * (w ? double(w[i0 + i]) : 1.0) / count;
      k[i] = float(ki);
      kt[i] = float(ki * sum_t[i]);
      lsef[i] = float(lse[i]);
      lse_lo[i] = float(lse[i] - double(lsef[i]));  // z - lse in float to double accuracy (Sterbenz)
    }
    for (int q = 0; q < Q; ++q) {
      const float *zq = zb + size_t(q) * HW, *tq = tb + size_t(q) * HW;
      float* dq = dz + i0 + size_t(q) * HW;
      for (int i = 0; i < B; ++i) dq[i] = kt[i] * exp_fast((zq[i] - lsef[i]) - lse_lo[i]) - k[i] * tq[i];
    }
  }
  return image_loss;
}

constexpr size_t kSumBlock = size_t(1) << 14;
constexpr int kLanes = 8;

// sum over i < n of term(i) (a double), in blocks as described above; the
// gradient, when wanted, is written by grad(i0, i1) on the same chunks.
template <class Term, class Grad>
double blocked_sum(size_t n, Term&& term, Grad&& grad) {
  const size_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> part(blocks, 0.0);
#pragma omp parallel for schedule(static) if (blocks > 1)
  for (size_t b = 0; b < blocks; ++b) {
    const size_t i0 = b * kSumBlock, i1 = i0 + kSumBlock < n ? i0 + kSumBlock : n;
    double lane[kLanes] = {}, tail = 0.0;
    size_t i = i0;
    for (; i + kLanes <= i1; i += kLanes)
      for (int l = 0; l < kLanes; ++l) lane[l] += term(i + size_t(l));
    for (; i < i1; ++i) tail += term(i);
    for (int l = 0; l < kLanes; ++l) tail += lane[l];
    part[b] = tail;
    grad(i0, i1);
  }
  double total = 0.0;
  for (double p : part) total += p;
  return total;
}

}  // namespace

double mse(size_t n, const float* pred, const float* target, float gscale, float* grad) {
  if (n == 0) return 0.0;
  const double sum = blocked_sum(
      n,
      [&](size_t i) {
        const double d = double(pred[i]) - target[i];
        return d * d;
      },
      [&](size_t i0, size_t i1) {
        if (!grad) return;
        for (size_t i = i0; i < i1; ++i) grad[i] = float(gscale * 2.0 * (double(pred[i]) - target[i]) / double(n));
      });
  return sum / double(n);
}

double mse_const(size_t n, const float* pred, float c, float gscale, float* grad) {
  if (n == 0) return 0.0;
  const double sum = blocked_sum(
      n,
      [&](size_t i) {
        const double d = double(pred[i]) - c;
        return d * d;
      },
      [&](size_t i0, size_t i1) {
        if (!grad) return;
        for (size_t i = i0; i < i1; ++i) grad[i] = float(gscale * 2.0 * (double(pred[i]) - c) / double(n));
      });
  return sum / double(n);
}

double l1(size_t n, const float* pred, const float* target, float gscale, float* grad) {
  if (n == 0) return 0.0;
  // The reference's gscale * sign / n takes three values (sign 1, -1, 0),
  // formed once and picked per element.
  const float pos = float(gscale * 1.0 / double(n)), neg = float(gscale * -1.0 / double(n)),
              zero = float(gscale * 0.0 / double(n));
  const double sum = blocked_sum(
      n, [&](size_t i) { return std::fabs(double(pred[i]) - target[i]); },
      [&](size_t i0, size_t i1) {
        if (!grad) return;
        for (size_t i = i0; i < i1; ++i) {
          const double d = double(pred[i]) - target[i];
          grad[i] = detail::select(d > 0, pos, detail::select(d < 0, neg, zero));
        }
      });
  return sum / double(n);
}

double soft_ce(int N, int Q, int HW, const float* logits, const float* target, const float* weight,
               float gscale, float* grad) {
  const double count = double(N) * HW;
  if (count == 0) return 0.0;
  std::vector<double> partial(N, 0.0);
#pragma omp parallel for
  for (int n = 0; n < N; ++n)
    partial[n] = soft_ce_image(Q, HW, logits + size_t(n) * Q * HW, target + size_t(n) * Q * HW,
                               weight ? weight + size_t(n) * HW : nullptr, gscale, count,
                               grad ? grad + size_t(n) * Q * HW : nullptr);
  double total = 0.0;
  for (int n = 0; n < N; ++n) total += partial[n];
  return total / count;
}

}  // namespace tinct::cpu
