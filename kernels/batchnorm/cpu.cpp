// batchnorm/cpu.cpp — the fast CPU batch norm: training forward and backward,
// eval forward and backward.
//
// WHAT: the contracts of batchnorm/ref.cpp (the specification), to float
// rounding: the same two-pass statistics in double, the same running-stat
// updates and saved mean / invstd, the same gradients.
//
// HOW: the reference sums each channel in one double accumulator and forms
// every output in double, which the compiler must keep serial and scalar.
// Here
//   * the channel sums run in 8 independent double accumulators
//     (common/lane_sum.h, added together at the end in a fixed order), which
//     the compiler vectorises;
//     the result depends on neither the thread count nor the machine;
//   * each output is one float multiply-add with per-channel constants:
//     forward y = a (x - mean) + beta with a = gamma invstd; backward
//     dx = a1 dy + a2 (x - mean) + a0, the reference's expression expanded
//     (x - mean formed in float with the mean split in two: see Split).
// Threads: OpenMP over channels, as the reference.
//
// BENCHMARK: the training step, `bench_train_step --device cpu` (perf record
// shows the share of batchnorm_* in it).
#include <cmath>
#include <stdexcept>

#include "kernels/batchnorm/stats.h"
#include "kernels/common/lane_sum.h"
#include "kernels/common/select.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

const float* plane(const float* t, int n, int C, int c, int HW) { return t + (size_t(n) * C + c) * HW; }
float* plane(float* t, int n, int C, int c, int HW) { return t + (size_t(n) * C + c) * HW; }

// sum over the channel of f(i) for i < HW in each of its N rows, with f =
// row(n), in common/lane_sum.h's double lanes. The row's function sees plain
// pointers (no index arithmetic per element), so the lane loop vectorises.
template <class Row>
double channel_sum(int N, int HW, Row&& row) {
  detail::LaneSum sum;
  for (int n = 0; n < N; ++n) sum.add(HW, row(n));
  return sum.total();
}

// A double mean as two floats, hi + lo, so that x - mean is formed in float
// as accurately as the reference forms it in double: x - hi is exact when x
// is near the mean (Sterbenz), and lo corrects the rest. Without it, a mean
// far from zero (|mean| >> std) loses the low bits of every deviation.
struct Split {
  float hi, lo;
  explicit Split(double v) : hi(float(v)), lo(float(v - double(float(v)))) {}
  float centre(float x) const { return (x - hi) - lo; }
};

// The activations the fused ops apply to z = bn(x), written as act_fwd_ref
// writes them (so the fused result is the unfused one bit for bit), and the
// gradient mask read off the output y (ref.cpp: y > 0 exactly where z > 0).
struct Identity {
  float operator()(float z) const { return z; }
  float grad(float, float g) const { return g; }
};
// The selects are common/select.h's: a plain ?: with a product in it stays a
// branch, which mispredicts on data of random sign.
struct Relu {
  float operator()(float z) const { return detail::select(z < 0.0f, 0.0f, z); }
  float grad(float y, float g) const { return detail::select(y > 0.0f, g, 0.0f); }
};
struct LeakyRelu {
  float slope;
  float operator()(float z) const { return detail::select(z < 0.0f, slope * z, z); }
  float grad(float y, float g) const { return detail::select(y > 0.0f, g, slope * g); }
};

template <class A>
void fwd_train(A act, int N, int C, int HW, const float* x, const float* gamma, const float* beta, float eps,
               float momentum, float* running_mean, float* running_var, float* y, float* save_mean,
               float* save_invstd) {
  const double M = double(N) * HW;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    const double mean = channel_sum(N, HW, [&](int n) {
                          const float* xp = plane(x, n, C, c, HW);
                          return [xp](int i) { return double(xp[i]); };
                        }) / M;
    const double var = channel_sum(N, HW, [&](int n) {
                         const float* xp = plane(x, n, C, c, HW);
                         return [xp, mean](int i) {
                           const double d = xp[i] - mean;
                           return d * d;
                         };
                       }) / M;  // biased: normalises (two passes: see the reference)
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    const float a = float(g * invstd), bf = float(b);
    const Split m(mean);
    for (int n = 0; n < N; ++n) {
      const float* xp = plane(x, n, C, c, HW);
      float* yp = plane(y, n, C, c, HW);
      for (int i = 0; i < HW; ++i) yp[i] = act(a * m.centre(xp[i]) + bf);
    }
    detail::store_channel_stats(c, M, mean, var, invstd, momentum, running_mean, running_var, save_mean,
                                save_invstd);
  }
}

// The batch-norm backward of dz = act.grad(y, dy) (Identity: dz = dy; y is not read, any non-null pointer).
template <class A>
void bwd_train(A act, int N, int C, int HW, const float* x, const float* y, const float* dy, const float* gamma,
               const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
  const double M = double(N) * HW;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    const double sum_dy = channel_sum(N, HW, [&](int n) {
      const float *yp = plane(y, n, C, c, HW), *dyp = plane(dy, n, C, c, HW);
      return [=](int i) { return double(act.grad(yp[i], dyp[i])); };
    });
    const double sum_dy_xhat = invstd * channel_sum(N, HW, [&](int n) {
                                 const float *xp = plane(x, n, C, c, HW), *yp = plane(y, n, C, c, HW),
                                             *dyp = plane(dy, n, C, c, HW);
                                 return [=](int i) { return double(act.grad(yp[i], dyp[i])) * (xp[i] - mean); };
                               });
    // dx = k (M dy - sum_dy - xhat sum_dy_xhat), xhat = (x - mean) invstd
    const double g = gamma ? gamma[c] : 1.0, k = g * invstd / M;
    const float a1 = float(k * M), a2 = float(-k * sum_dy_xhat * invstd), a0 = float(-k * sum_dy);
    const Split m(mean);
    for (int n = 0; n < N; ++n) {
      const float* xp = plane(x, n, C, c, HW);
      const float* yp = plane(y, n, C, c, HW);
      const float* dyp = plane(dy, n, C, c, HW);
      float* dxp = plane(dx, n, C, c, HW);
      for (int i = 0; i < HW; ++i) dxp[i] = a1 * act.grad(yp[i], dyp[i]) + a2 * m.centre(xp[i]) + a0;
    }
    if (dgamma) dgamma[c] += float(sum_dy_xhat);
    if (dbeta) dbeta[c] += float(sum_dy);
  }
}

}  // namespace

void batchnorm_fwd_eval(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                        const float* running_mean, const float* running_var, float eps, float* y) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(double(running_var[c]) + eps);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    const float a = float(g * invstd), bf = float(b), m = running_mean[c];
    for (int n = 0; n < N; ++n) {
      const float* xp = plane(x, n, C, c, HW);
      float* yp = plane(y, n, C, c, HW);
      for (int i = 0; i < HW; ++i) yp[i] = a * (xp[i] - m) + bf;
    }
  }
}

void batchnorm_fwd_train(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                         float eps, float momentum, float* running_mean, float* running_var, float* y,
                         float* save_mean, float* save_invstd) {
  fwd_train(Identity{}, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
            save_invstd);
}

void batchnorm_bwd_train(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta) {
  bwd_train(Identity{}, N, C, HW, x, dy, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

void batchnorm_act_fwd_train(Act a, float slope, int N, int C, int HW, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* running_mean, float* running_var,
                             float* y, float* save_mean, float* save_invstd) {
  if (a == Act::Relu)
    fwd_train(Relu{}, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean, save_invstd);
  else if (a == Act::LeakyRelu)
    fwd_train(LeakyRelu{slope}, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
              save_invstd);
  else
    throw std::invalid_argument("batchnorm_act_fwd_train: only Relu and LeakyRelu are fused");
}

void batchnorm_act_bwd_train(Act a, float slope, int N, int C, int HW, const float* x, const float* y,
                             const float* dy, const float* gamma, const float* save_mean, const float* save_invstd,
                             float* dx, float* dgamma, float* dbeta) {
  if (a == Act::Relu)
    bwd_train(Relu{}, N, C, HW, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
  else if (a == Act::LeakyRelu)
    bwd_train(LeakyRelu{slope}, N, C, HW, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
  else
    throw std::invalid_argument("batchnorm_act_bwd_train: only Relu and LeakyRelu are fused");
}

// Eval-mode backward: the reference's per-channel loop (stats.h), channels
// split over threads; the same result bit for bit.
void batchnorm_bwd_eval(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                        const float* running_mean, const float* running_var, float eps, float* dx,
                        float* dgamma, float* dbeta) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c)
    detail::bwd_eval_channel(N, C, HW, c, x, dy, gamma, running_mean, running_var, eps, dx, dgamma, dbeta);
}

}  // namespace tinct::cpu
