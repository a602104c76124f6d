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
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "kernels/batchnorm/cpu_rows.h"
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

// The portable per-channel loops (the contracts of batchnorm/cpu_rows.h), the
// activation a template parameter. The backward's two sums take a pass each.
template <class A>
struct PortableRows {
  A act;
  double sum(const detail::BnRows& r, const float* x) const {
    return channel_sum(r.N, r.HW, [&](int n) {
      const float* xp = x + size_t(n) * r.stride;
      return [xp](int i) { return double(xp[i]); };
    });
  }
  double sum_sq_dev(const detail::BnRows& r, const float* x, double mean) const {
    return channel_sum(r.N, r.HW, [&](int n) {
      const float* xp = x + size_t(n) * r.stride;
      return [xp, mean](int i) {
        const double d = xp[i] - mean;
        return d * d;
      };
    });
  }
  void normalise(const detail::BnRows& r, const float* x, float a, const Split& m, float bf, float* y) const {
    for (int n = 0; n < r.N; ++n) {
      const float* xp = x + size_t(n) * r.stride;
      float* yp = y + size_t(n) * r.stride;
      for (int i = 0; i < r.HW; ++i) yp[i] = act(a * m.centre(xp[i]) + bf);
    }
  }
  void bwd_sums(const detail::BnRows& r, const float* x, const float* y, const float* dy, double mean,
                double* sum_g, double* sum_gx) const {
    const A ac = act;
    *sum_g = channel_sum(r.N, r.HW, [&](int n) {
      const float *yp = y + size_t(n) * r.stride, *dyp = dy + size_t(n) * r.stride;
      return [=](int i) { return double(ac.grad(yp[i], dyp[i])); };
    });
    *sum_gx = channel_sum(r.N, r.HW, [&](int n) {
      const size_t off = size_t(n) * r.stride;
      const float *xp = x + off, *yp = y + off, *dyp = dy + off;
      return [=](int i) { return double(ac.grad(yp[i], dyp[i])) * (xp[i] - mean); };
    });
  }
  void bwd_dx(const detail::BnRows& r, const float* x, const float* y, const float* dy, float a1, float a2,
              const Split& m, float a0, float* dx) const {
    for (int n = 0; n < r.N; ++n) {
      const size_t off = size_t(n) * r.stride;
      const float *xp = x + off, *yp = y + off, *dyp = dy + off;
      float* dxp = dx + off;
      for (int i = 0; i < r.HW; ++i) dxp[i] = a1 * act.grad(yp[i], dyp[i]) + a2 * m.centre(xp[i]) + a0;
    }
  }
};

// The same through a kernel set's table (batchnorm/cpu_rows.h: cpu_avx512.cpp).
struct TableRows {
  const detail::BnRowOps* o;
  detail::BnAct act;
  float slope;
  double sum(const detail::BnRows& r, const float* x) const { return o->sum(r, x); }
  double sum_sq_dev(const detail::BnRows& r, const float* x, double mean) const {
    return o->sum_sq_dev(r, x, mean);
  }
  void normalise(const detail::BnRows& r, const float* x, float a, const Split& m, float bf, float* y) const {
    o->normalise(act, slope, r, x, a, m.hi, m.lo, bf, y);
  }
  void bwd_sums(const detail::BnRows& r, const float* x, const float* y, const float* dy, double mean,
                double* sum_g, double* sum_gx) const {
    o->bwd_sums(act, slope, r, x, y, dy, mean, sum_g, sum_gx);
  }
  void bwd_dx(const detail::BnRows& r, const float* x, const float* y, const float* dy, float a1, float a2,
              const Split& m, float a0, float* dx) const {
    o->bwd_dx(act, slope, r, x, y, dy, a1, a2, m.hi, m.lo, a0, dx);
  }
};

// The AVX-512 loops where that kernel set is active, unless TINCT_BN_AVX512=0.
const detail::BnRowOps* fast_rows() {
  if (cpu_kernels() != CpuKernels::Avx512) return nullptr;
  static const bool on = [] {
    const char* e = std::getenv("TINCT_BN_AVX512");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on ? detail::bn_row_ops_avx512() : nullptr;
}

template <class Rows>
void fwd_train(const Rows& rows, int N, int C, int HW, const float* x, const float* gamma, const float* beta,
               float eps, float momentum, float* running_mean, float* running_var, float* y, float* save_mean,
               float* save_invstd) {
  const double M = double(N) * HW;
  const detail::BnRows r{N, HW, size_t(C) * HW};
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    const float* xc = x + size_t(c) * HW;
    const double mean = rows.sum(r, xc) / M;
    const double var = rows.sum_sq_dev(r, xc, mean) / M;  // biased: normalises (two passes: see the reference)
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    const float a = float(g * invstd), bf = float(b);
    rows.normalise(r, xc, a, Split(mean), bf, y + size_t(c) * HW);
    detail::store_channel_stats(c, M, mean, var, invstd, momentum, running_mean, running_var, save_mean,
                                save_invstd);
  }
}

template <class A>
void fwd_train(A act, detail::BnAct kind, float slope, int N, int C, int HW, const float* x, const float* gamma,
               const float* beta, float eps, float momentum, float* running_mean, float* running_var, float* y,
               float* save_mean, float* save_invstd) {
  if (const detail::BnRowOps* o = fast_rows())
    fwd_train(TableRows{o, kind, slope}, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y,
              save_mean, save_invstd);
  else
    fwd_train(PortableRows<A>{act}, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y,
              save_mean, save_invstd);
}

// The batch-norm backward of dz = act.grad(y, dy) (Identity: dz = dy; y is not read, any non-null pointer).
template <class Rows>
void bwd_train(const Rows& rows, int N, int C, int HW, const float* x, const float* y, const float* dy,
               const float* gamma, const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
               float* dbeta) {
  const double M = double(N) * HW;
  const detail::BnRows r{N, HW, size_t(C) * HW};
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    const size_t off = size_t(c) * HW;
    const double mean = save_mean[c], invstd = save_invstd[c];
    double sum_dy, sum_dy_xc;
    rows.bwd_sums(r, x + off, y + off, dy + off, mean, &sum_dy, &sum_dy_xc);
    const double sum_dy_xhat = invstd * sum_dy_xc;
    // dx = k (M dy - sum_dy - xhat sum_dy_xhat), xhat = (x - mean) invstd
    const double g = gamma ? gamma[c] : 1.0, k = g * invstd / M;
    const float a1 = float(k * M), a2 = float(-k * sum_dy_xhat * invstd), a0 = float(-k * sum_dy);
    rows.bwd_dx(r, x + off, y + off, dy + off, a1, a2, Split(mean), a0, dx + off);
    if (dgamma) dgamma[c] += float(sum_dy_xhat);
    if (dbeta) dbeta[c] += float(sum_dy);
  }
}

template <class A>
void bwd_train(A act, detail::BnAct kind, float slope, int N, int C, int HW, const float* x, const float* y,
               const float* dy, const float* gamma, const float* save_mean, const float* save_invstd, float* dx,
               float* dgamma, float* dbeta) {
  if (const detail::BnRowOps* o = fast_rows())
    bwd_train(TableRows{o, kind, slope}, N, C, HW, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
  else
    bwd_train(PortableRows<A>{act}, N, C, HW, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

}  // namespace

void batchnorm_fwd_eval(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                        const float* running_mean, const float* running_var, float eps, float* y) {
  const detail::BnRowOps* o = fast_rows();
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(double(running_var[c]) + eps);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    const float a = float(g * invstd), bf = float(b), m = running_mean[c];
    if (o) {
      o->eval(detail::BnRows{N, HW, size_t(C) * HW}, x + size_t(c) * HW, a, m, bf, y + size_t(c) * HW);
      continue;
    }
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
  fwd_train(Identity{}, detail::BnAct::None, 0.0f, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
            save_invstd);
}

void batchnorm_bwd_train(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta) {
  bwd_train(Identity{}, detail::BnAct::None, 0.0f, N, C, HW, x, dy, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

void batchnorm_act_fwd_train(Act a, float slope, int N, int C, int HW, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* running_mean, float* running_var,
                             float* y, float* save_mean, float* save_invstd) {
  if (a == Act::Relu)
    fwd_train(Relu{}, detail::BnAct::Relu, 0.0f, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean, save_invstd);
  else if (a == Act::LeakyRelu)
    fwd_train(LeakyRelu{slope}, detail::BnAct::Leaky, slope, N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
              save_invstd);
  else
    throw std::invalid_argument("batchnorm_act_fwd_train: only Relu and LeakyRelu are fused");
}

void batchnorm_act_bwd_train(Act a, float slope, int N, int C, int HW, const float* x, const float* y,
                             const float* dy, const float* gamma, const float* save_mean, const float* save_invstd,
                             float* dx, float* dgamma, float* dbeta) {
  if (a == Act::Relu)
    bwd_train(Relu{}, detail::BnAct::Relu, 0.0f, N, C, HW, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
  else if (a == Act::LeakyRelu)
    bwd_train(LeakyRelu{slope}, detail::BnAct::Leaky, slope, N, C, HW, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
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
