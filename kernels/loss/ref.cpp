// loss/ref.cpp — scalar losses, the reference (the specification: plain
// single-threaded loops; loss/cpu.cpp threads soft_ce over images).
//
// Each returns the loss value (in double) and, when grad is not null, writes
// grad = gscale * d loss / d pred (gscale: the upstream gradient of the loss).
//   mse:       L = (1/n) sum (pred - target)^2     dL/dp = 2 (pred - target) / n
//   l1:        L = (1/n) sum |pred - target|       dL/dp = sign(pred - target) / n,
//                                                  0 where pred == target
//   mse_const: L = (1/n) sum (pred - c)^2          the LSGAN loss against a
//                                                  constant label (1 real, 0 fake)
//   soft_ce:   over logits z[N,Q,HW] (Q classes per pixel), with per-pixel
//              weights w[n,i] (null: all 1) and soft targets t[n,q,i]:
//     L = (1 / (N*HW)) sum_{n,i} w[n,i] * sum_q -t[n,q,i] * log softmax(z[n,:,i])_q
//     dL/dz[n,q,i] = w[n,i] * (softmax_q * T - t[n,q,i]) / (N*HW),
//                    T = sum_q' t[n,q',i]  (1 for a proper distribution)
//     log softmax_q = z_q - logsumexp(z), and logsumexp(z) = m + log sum exp(z - m)
//     with m = max z: every exponent is <= 0, so nothing overflows.
// An empty input (n == 0) has loss 0 and writes nothing.
// The per-element terms are summed in double in a fixed order (per-image
// partial sums, then combined serially), so the value does not depend on the
// thread count.
#include <cmath>
#include <vector>

#include "kernels/kernels.h"

namespace tinct::cpu {

double mse_ref(size_t n, const float* pred, const float* target, float gscale, float* grad) {
  if (n == 0) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = double(pred[i]) - target[i];
    sum += d * d;
    if (grad) grad[i] = float(gscale * 2.0 * d / double(n));
  }
  return sum / double(n);
}

double l1_ref(size_t n, const float* pred, const float* target, float gscale, float* grad) {
  if (n == 0) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = double(pred[i]) - target[i];
    sum += std::fabs(d);
    const double sign = d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
    if (grad) grad[i] = float(gscale * sign / double(n));
  }
  return sum / double(n);
}

double mse_const_ref(size_t n, const float* pred, float c, float gscale, float* grad) {
  if (n == 0) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = double(pred[i]) - c;
    sum += d * d;
    if (grad) grad[i] = float(gscale * 2.0 * d / double(n));
  }
  return sum / double(n);
}

double soft_ce_image_ref(int Q, int HW, const float* z, const float* t, const float* w, float gscale,
                         double count, float* dz) {
  // Class q of pixel i sits at [q*HW + i].
  double image_loss = 0.0;
  for (int i = 0; i < HW; ++i) {
    double m = z[i];
    for (int q = 1; q < Q; ++q) m = std::fmax(m, double(z[size_t(q) * HW + i]));
    double sum_exp = 0.0;
    for (int q = 0; q < Q; ++q) sum_exp += std::exp(z[size_t(q) * HW + i] - m);
    const double lse = m + std::log(sum_exp);

    const double wi = w ? w[i] : 1.0;
    double pixel_loss = 0.0, sum_t = 0.0;
    for (int q = 0; q < Q; ++q) {
      const double tq = t[size_t(q) * HW + i];
      sum_t += tq;
      // A zero target contributes nothing, even for a logit of -inf (a
      // masked class: 0 * -inf would be NaN). Soft-encoded colour targets
      // are mostly zeros (5 of 313 bins are set), so this also saves work.
      if (tq == 0.0) continue;
      pixel_loss += -tq * (z[size_t(q) * HW + i] - lse);  // -t * log softmax
    }
    image_loss += wi * pixel_loss;

    if (dz) {
      const double k = gscale * wi / count;
      for (int q = 0; q < Q; ++q) {
        const size_t j = size_t(q) * HW + i;
        const double softmax = std::exp(z[j] - lse);
        dz[j] = float(k * (softmax * sum_t - t[j]));
      }
    }
  }
  return image_loss;
}

double soft_ce_ref(int N, int Q, int HW, const float* logits, const float* target,
                   const float* weight, float gscale, float* grad) {
  const double count = double(N) * HW;
  if (count == 0) return 0.0;
  // One partial sum per image n, then combined in order of n (loss/cpu.cpp
  // threads the images and gets the same total).
  double total = 0.0;
  for (int n = 0; n < N; ++n)
    total += soft_ce_image_ref(Q, HW, logits + size_t(n) * Q * HW, target + size_t(n) * Q * HW,
                               weight ? weight + size_t(n) * HW : nullptr, gscale, count,
                               grad ? grad + size_t(n) * Q * HW : nullptr);
  return total / count;
}

}  // namespace tinct::cpu
