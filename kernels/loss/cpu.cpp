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
// (loss/soft_ce_image.h) a block of pixels goes through the classes together,
// so each class is a contiguous run of logits and the loops vectorise: the
// max; one pass that stores exp(z - max) and sums it, the targets and the
// loss terms (float within chunks of 16 classes, double across them); the
// gradient from the stored exps. That code is compiled once per kernel set
// (this file at the baseline, loss/cpu_avx2.cpp, loss/cpu_avx512.cpp), and
// the active set's copy runs (TINCT_CPU_KERNELS forces one).
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
#include "kernels/loss/soft_ce_image.h"

namespace tinct::cpu {

namespace {

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
  detail::SoftCeImageFn image = nullptr;
  if (cpu_kernels() == CpuKernels::Avx512) image = detail::soft_ce_image_avx512();
  if (cpu_kernels() == CpuKernels::Avx2) image = detail::soft_ce_image_avx2();
  if (!image) image = detail::soft_ce_image_impl;  // this file's copy, at the baseline instruction set
  std::vector<double> partial(N, 0.0);
#pragma omp parallel for
  for (int n = 0; n < N; ++n)
    partial[n] = image(Q, HW, logits + size_t(n) * Q * HW, target + size_t(n) * Q * HW,
                       weight ? weight + size_t(n) * HW : nullptr, gscale, count,
                       grad ? grad + size_t(n) * Q * HW : nullptr);
  double total = 0.0;
  for (int n = 0; n < N; ++n) total += partial[n];
  return total / count;
}

}  // namespace tinct::cpu
