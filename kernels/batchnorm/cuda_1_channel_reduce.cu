// batchnorm/cuda_1_channel_reduce.cu — 2-D batch normalisation (and the fused batch norm + ReLU).
//
// What it computes (kernels/batchnorm/ref.cpp, the formulas there):
//   train forward   batch mean / biased variance per channel, y = gamma*xhat +
//                   beta, running stats updated with the unbiased variance;
//   eval forward    y from the running statistics;
//   train backward  dx = gamma*invstd/M * (M*dy - sum dy - xhat*sum dy*xhat),
//                   dgamma += sum dy*xhat, dbeta += sum dy;
//   eval backward   dx = dy*gamma*invstd, the same dgamma, dbeta.
// Variants:
//   plain            batchnorm_{fwd,bwd}_{train,eval}
//   fused with ReLU  batchnorm_relu_fwd_{train,eval}: y = relu(bn(x)) in the
//                    normalising pass; batchnorm_relu_bwd_train recomputes
//                    the mask z > 0 from x and the saved statistics, so the
//                    backward of conv-bn-relu never reads the pre-activation.
//
// Passes (M = N*HW values per channel; each pass reads the tensors once):
//   forward train:  1. per-channel sums of (x - x0) and (x - x0)^2 in double,
//                      x0 = the channel's first value (a shift: the variance
//                      does not cancel when |mean| >> std; in double the
//                      one-pass formula then loses nothing at float
//                      precision, and x is read once instead of twice);
//                   2. finalize per channel (mean, invstd, running stats);
//                   3. y = normalise(x).                  2 reads + 1 write
//   backward train: 1. per-channel sum dy, sum dy*xhat; 2. finalize
//                   (dgamma, dbeta, coefficients); 3. dx.  4 reads + 1 write
// The per-channel sums are deterministic (channel_reduce.cuh: fixed slices,
// fixed trees, no atomics). Per-element math is in double, as the
// reference, so the outputs match it to float rounding; in the fused kernels
// the statistics are first rounded to float (the saved values) so that the
// forward and the backward form the very same z and agree on the ReLU mask
// bit for bit (explicit __d*_rn intrinsics: no FMA contraction differences).
// Temporaries (partial sums, per-channel coefficients) come from the
// stream-ordered pool.
//
// Variants: this file is variant 1 of the batchnorm family, the only one so far
// (kernels/README.md: variant 0 is the vendor library, in benchmarks).
// Benchmark: tinct-kbench batchnorm_fwd_train 1 --n 16 --c 64 --h 64 --w 64 (every batchnorm_* and batchnorm_relu_* op likewise).
// Napkin math: memory-bound. Forward train moves 12*M*C bytes, backward train
// 20*M*C; compare with the device copy bandwidth (~3 TB/s on an H100 SXM).
#include <cuda_runtime.h>

#include <initializer_list>
#include <stdexcept>

#include "kernels/cuda.h"
#include "kernels/common/channel_reduce.cuh"
#include "kernels/common/common.cuh"

namespace tinct::cuda {
namespace {

using detail::FastDiv;

// z = gamma * (x - mean) * invstd + beta, in double, rounded once to float,
// with every operation explicitly rounded (identical wherever it is used).
__device__ __forceinline__ float bn_z(float x, double mean, double invstd, double g, double b) {
  return __double2float_rn(
      __dadd_rn(__dmul_rn(__dmul_rn(g, __dsub_rn(double(x), mean)), invstd), b));
}

__device__ __forceinline__ double gamma_of(const float* __restrict__ gamma, int c) {
  return gamma ? double(__ldg(gamma + c)) : 1.0;
}
__device__ __forceinline__ double beta_of(const float* __restrict__ beta, int c) {
  return beta ? double(__ldg(beta + c)) : 0.0;
}

// ---- reductions ----------------------------------------------------------------

struct StatsOp {  // (sum (x - x0), sum (x - x0)^2), x0 = x[0, c, 0]
  const float* __restrict__ x;
  int HW;
  template <int V>
  __device__ __forceinline__ double2 apply(int c, size_t addr) const {
    const double shift = __ldg(x + size_t(c) * HW);
    float v[V];
    detail::load_v<V>(x, addr, v);
    double s1 = 0.0, s2 = 0.0;
#pragma unroll
    for (int e = 0; e < V; ++e) {
      const double d = double(v[e]) - shift;
      s1 += d;
      s2 += d * d;
    }
    return make_double2(s1, s2);
  }
};

template <bool kRelu>
struct BwdOp {  // (sum d, sum d * xhat), d = dy (masked by z > 0 when fused)
  const float* __restrict__ x;
  const float* __restrict__ dy;
  const double2* __restrict__ stat;  // (mean, invstd) per channel
  const float* __restrict__ gamma;
  const float* __restrict__ beta;
  template <int V>
  __device__ __forceinline__ double2 apply(int c, size_t addr) const {
    const double2 st = stat[c];
    float xv[V], dv[V];
    detail::load_v<V>(x, addr, xv);
    detail::load_v<V>(dy, addr, dv);
    double s1 = 0.0, s2 = 0.0;
    double g = 1.0, b = 0.0;
    if constexpr (kRelu) {
      g = gamma_of(gamma, c);
      b = beta_of(beta, c);
    }
#pragma unroll
    for (int e = 0; e < V; ++e) {
      double d = dv[e];
      if constexpr (kRelu) {
        if (!(bn_z(xv[e], st.x, st.y, g, b) > 0.0f)) d = 0.0;
      }
      const double xhat = (double(xv[e]) - st.x) * st.y;
      s1 += d;
      s2 += d * xhat;
    }
    return make_double2(s1, s2);
  }
};

// ---- per-channel finalizers --------------------------------------------------------

struct Coef {  // per channel, for the backward dx pass
  double k;    // gamma * invstd / M
  double sd;   // sum d
  double sdx;  // sum d * xhat
};

__global__ void stats_finalize_kernel(int C, int G, double M, const double2* __restrict__ partial,
                                      const float* __restrict__ x, int HW, float eps, float momentum,
                                      bool round_stats, float* __restrict__ running_mean,
                                      float* __restrict__ running_var, float* __restrict__ save_mean,
                                      float* __restrict__ save_invstd, double2* __restrict__ stat) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double s1 = 0.0, s2 = 0.0;
  for (int g = 0; g < G; ++g) {
    s1 += partial[size_t(c) * G + g].x;
    s2 += partial[size_t(c) * G + g].y;
  }
  const double shift = x[size_t(c) * HW];
  const double dm = s1 / M;
  double var = s2 / M - dm * dm;  // biased; the shift keeps this well conditioned
  if (var < 0.0) var = 0.0;
  const double mean = shift + dm;
  const double invstd = 1.0 / sqrt(var + double(eps));
  if (running_mean) running_mean[c] = float((1.0 - momentum) * running_mean[c] + momentum * mean);
  if (running_var) {
    const double unbiased = M > 1 ? var * M / (M - 1) : var;
    running_var[c] = float((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
  if (save_mean) save_mean[c] = float(mean);
  if (save_invstd) save_invstd[c] = float(invstd);
  stat[c] = round_stats ? make_double2(double(float(mean)), double(float(invstd)))
                        : make_double2(mean, invstd);
}

__global__ void stat_from_running_kernel(int C, const float* __restrict__ rm,
                                         const float* __restrict__ rv, float eps,
                                         double2* __restrict__ stat) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  stat[c] = make_double2(double(rm[c]), 1.0 / sqrt(double(rv[c]) + double(eps)));
}

__global__ void stat_from_saved_kernel(int C, const float* __restrict__ mean,
                                       const float* __restrict__ invstd, double2* __restrict__ stat) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  stat[c] = make_double2(double(mean[c]), double(invstd[c]));
}

// coef[c] = (gamma*invstd/M, sum d, sum d*xhat); dgamma, dbeta accumulated.
__global__ void bwd_finalize_kernel(int C, int G, double M, const double2* __restrict__ partial,
                                    const double2* __restrict__ stat, const float* __restrict__ gamma,
                                    float* __restrict__ dgamma, float* __restrict__ dbeta,
                                    Coef* __restrict__ coef) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double sd = 0.0, sdx = 0.0;
  for (int g = 0; g < G; ++g) {
    sd += partial[size_t(c) * G + g].x;
    sdx += partial[size_t(c) * G + g].y;
  }
  if (dgamma) dgamma[c] += float(sdx);
  if (dbeta) dbeta[c] += float(sd);
  if (coef) coef[c] = Coef{gamma_of(gamma, c) * stat[c].y / M, sd, sdx};
}

// ---- elementwise passes ---------------------------------------------------------------
// Grid-stride over units of V floats; the channel of a unit by two FastDivs.

__device__ __forceinline__ int unit_channel(long long u, FastDiv div_upp, FastDiv div_C, int C) {
  const int plane = div_upp.div(int(u));
  return plane - div_C.div(plane) * C;
}

template <int V, bool kRelu>
__global__ void apply_kernel(long long units, int C, FastDiv div_upp, FastDiv div_C,
                             const double2* __restrict__ stat, const float* __restrict__ gamma,
                             const float* __restrict__ beta, const float* __restrict__ x,
                             float* __restrict__ y) {
  for (long long u = blockIdx.x * (long long)blockDim.x + threadIdx.x; u < units;
       u += (long long)gridDim.x * blockDim.x) {
    const int c = unit_channel(u, div_upp, div_C, C);
    const double2 st = stat[c];
    const double g = gamma_of(gamma, c), b = beta_of(beta, c);
    float v[V];
    detail::load_v<V>(x, size_t(u) * V, v);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      float z = bn_z(v[e], st.x, st.y, g, b);
      if constexpr (kRelu) z = z < 0.0f ? 0.0f : z;  // NaN stays NaN, as act_fwd
      v[e] = z;
    }
    if constexpr (V == 4)
      reinterpret_cast<float4*>(y)[u] = make_float4(v[0], v[1], v[2], v[3]);
    else
      y[u] = v[0];
  }
}

template <int V, bool kRelu>
__global__ void bwd_dx_kernel(long long units, int C, FastDiv div_upp, FastDiv div_C, double M,
                              const double2* __restrict__ stat, const Coef* __restrict__ coef,
                              const float* __restrict__ gamma, const float* __restrict__ beta,
                              const float* __restrict__ x, const float* __restrict__ dy,
                              float* __restrict__ dx) {
  for (long long u = blockIdx.x * (long long)blockDim.x + threadIdx.x; u < units;
       u += (long long)gridDim.x * blockDim.x) {
    const int c = unit_channel(u, div_upp, div_C, C);
    const double2 st = stat[c];
    const Coef k = coef[c];
    double g = 1.0, b = 0.0;
    if constexpr (kRelu) {
      g = gamma_of(gamma, c);
      b = beta_of(beta, c);
    }
    float xv[V], dv[V];
    detail::load_v<V>(x, size_t(u) * V, xv);
    detail::load_v<V>(dy, size_t(u) * V, dv);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      double d = dv[e];
      if constexpr (kRelu) {
        if (!(bn_z(xv[e], st.x, st.y, g, b) > 0.0f)) d = 0.0;
      }
      const double xhat = (double(xv[e]) - st.x) * st.y;
      dv[e] = float(k.k * (M * d - k.sd - xhat * k.sdx));
    }
    if constexpr (V == 4)
      reinterpret_cast<float4*>(dx)[u] = make_float4(dv[0], dv[1], dv[2], dv[3]);
    else
      dx[u] = dv[0];
  }
}

template <int V>
__global__ void bwd_eval_dx_kernel(long long units, int C, FastDiv div_upp, FastDiv div_C,
                                   const double2* __restrict__ stat, const float* __restrict__ gamma,
                                   const float* __restrict__ dy, float* __restrict__ dx) {
  for (long long u = blockIdx.x * (long long)blockDim.x + threadIdx.x; u < units;
       u += (long long)gridDim.x * blockDim.x) {
    const int c = unit_channel(u, div_upp, div_C, C);
    const double g = gamma_of(gamma, c), invstd = stat[c].y;
    float dv[V];
    detail::load_v<V>(dy, size_t(u) * V, dv);
#pragma unroll
    for (int e = 0; e < V; ++e) dv[e] = float(double(dv[e]) * g * invstd);
    if constexpr (V == 4)
      reinterpret_cast<float4*>(dx)[u] = make_float4(dv[0], dv[1], dv[2], dv[3]);
    else
      dx[u] = dv[0];
  }
}

// ---- host plumbing -------------------------------------------------------------------------

struct Shape {
  int N, C, HW;
  long long total;
  bool vec;  // float4 units allowed
  long long units() const { return vec ? total / 4 : total; }
  FastDiv div_upp() const { return FastDiv(vec ? HW / 4 : HW); }
};

Shape make_shape(int N, int C, int HW, std::initializer_list<const void*> ptrs) {
  Shape s{N, C, HW, 1LL * N * C * HW, HW % 4 == 0};
  if (s.total > 0x7fffffffLL) throw std::invalid_argument("batchnorm: tensor has >= 2^31 elements");
  for (const void* p : ptrs)
    if (p && !detail::aligned16(p)) s.vec = false;
  return s;
}

unsigned small_grid(int C) { return unsigned((C + 127) / 128); }

template <bool kRelu>
void launch_apply(const Shape& s, const double2* stat, const float* gamma, const float* beta,
                  const float* x, float* y, cudaStream_t stream) {
  const long long units = s.units();
  const unsigned grid = detail::grid_for(units);
  if (s.vec)
    apply_kernel<4, kRelu><<<grid, detail::kBlock, 0, stream>>>(units, s.C, s.div_upp(),
                                                                FastDiv(s.C), stat, gamma, beta, x, y);
  else
    apply_kernel<1, kRelu><<<grid, detail::kBlock, 0, stream>>>(units, s.C, s.div_upp(),
                                                                FastDiv(s.C), stat, gamma, beta, x, y);
  TINCT_CUDA_LAUNCH_CHECK();
}

template <bool kRelu>
void fwd_train(int N, int C, int HW, const float* x, const float* gamma, const float* beta, float eps,
               float momentum, float* running_mean, float* running_var, float* y, float* save_mean,
               float* save_invstd, cudaStream_t stream) {
  if (N <= 0 || C <= 0 || HW <= 0) return;
  const Shape s = make_shape(N, C, HW, {x, y});
  const int G = detail::channel_slices(N, C, HW);
  const size_t partial_bytes = detail::align256(sizeof(double2) * size_t(G) * C);
  detail::Scratch scratch(partial_bytes + sizeof(double2) * size_t(C), stream);
  double2* partial = scratch.as<double2>();
  double2* stat = scratch.as<double2>(partial_bytes);
  detail::launch_channel_reduce(N, C, HW, G, StatsOp{x, HW}, s.vec, partial, stream);
  stats_finalize_kernel<<<small_grid(C), 128, 0, stream>>>(
      C, G, double(N) * HW, partial, x, HW, eps, momentum, /*round_stats=*/kRelu, running_mean,
      running_var, save_mean, save_invstd, stat);
  TINCT_CUDA_LAUNCH_CHECK();
  launch_apply<kRelu>(s, stat, gamma, beta, x, y, stream);
}

template <bool kRelu>
void fwd_eval(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
              const float* running_mean, const float* running_var, float eps, float* y,
              cudaStream_t stream) {
  if (N <= 0 || C <= 0 || HW <= 0) return;
  const Shape s = make_shape(N, C, HW, {x, y});
  detail::Scratch scratch(sizeof(double2) * size_t(C), stream);
  double2* stat = scratch.as<double2>();
  stat_from_running_kernel<<<small_grid(C), 128, 0, stream>>>(C, running_mean, running_var, eps, stat);
  TINCT_CUDA_LAUNCH_CHECK();
  launch_apply<kRelu>(s, stat, gamma, beta, x, y, stream);
}

template <bool kRelu>
void bwd_train(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
               const float* beta, const float* save_mean, const float* save_invstd, float* dx,
               float* dgamma, float* dbeta, cudaStream_t stream) {
  if (N <= 0 || C <= 0 || HW <= 0) return;
  if (!save_mean || !save_invstd)
    throw std::invalid_argument("batchnorm backward (train): save_mean and save_invstd are required");
  const Shape s = make_shape(N, C, HW, {x, dy, dx});
  const int G = detail::channel_slices(N, C, HW);
  const size_t partial_bytes = detail::align256(sizeof(double2) * size_t(G) * C);
  const size_t stat_bytes = detail::align256(sizeof(double2) * size_t(C));
  detail::Scratch scratch(partial_bytes + stat_bytes + sizeof(Coef) * size_t(C), stream);
  double2* partial = scratch.as<double2>();
  double2* stat = scratch.as<double2>(partial_bytes);
  Coef* coef = scratch.as<Coef>(partial_bytes + stat_bytes);
  const double M = double(N) * HW;

  stat_from_saved_kernel<<<small_grid(C), 128, 0, stream>>>(C, save_mean, save_invstd, stat);
  TINCT_CUDA_LAUNCH_CHECK();
  detail::launch_channel_reduce(N, C, HW, G, BwdOp<kRelu>{x, dy, stat, gamma, beta}, s.vec,
                                partial, stream);
  bwd_finalize_kernel<<<small_grid(C), 128, 0, stream>>>(C, G, M, partial, stat, gamma, dgamma,
                                                         dbeta, coef);
  TINCT_CUDA_LAUNCH_CHECK();
  const long long units = s.units();
  const unsigned grid = detail::grid_for(units);
  if (s.vec)
    bwd_dx_kernel<4, kRelu><<<grid, detail::kBlock, 0, stream>>>(
        units, C, s.div_upp(), FastDiv(C), M, stat, coef, gamma, beta, x, dy, dx);
  else
    bwd_dx_kernel<1, kRelu><<<grid, detail::kBlock, 0, stream>>>(
        units, C, s.div_upp(), FastDiv(C), M, stat, coef, gamma, beta, x, dy, dx);
  TINCT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void batchnorm_fwd_train(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                         float eps, float momentum, float* running_mean, float* running_var,
                         float* y, float* save_mean, float* save_invstd, cudaStream_t stream) {
  fwd_train<false>(N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
                   save_invstd, stream);
}

void batchnorm_relu_fwd_train(int N, int C, int HW, const float* x, const float* gamma,
                              const float* beta, float eps, float momentum, float* running_mean,
                              float* running_var, float* y, float* save_mean, float* save_invstd,
                              cudaStream_t stream) {
  fwd_train<true>(N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
                  save_invstd, stream);
}

void batchnorm_fwd_eval(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                        const float* running_mean, const float* running_var, float eps, float* y,
                        cudaStream_t stream) {
  fwd_eval<false>(N, C, HW, x, gamma, beta, running_mean, running_var, eps, y, stream);
}

void batchnorm_relu_fwd_eval(int N, int C, int HW, const float* x, const float* gamma,
                             const float* beta, const float* running_mean, const float* running_var,
                             float eps, float* y, cudaStream_t stream) {
  fwd_eval<true>(N, C, HW, x, gamma, beta, running_mean, running_var, eps, y, stream);
}

void batchnorm_bwd_train(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, cudaStream_t stream) {
  bwd_train<false>(N, C, HW, x, dy, gamma, nullptr, save_mean, save_invstd, dx, dgamma, dbeta,
                   stream);
}

void batchnorm_relu_bwd_train(int N, int C, int HW, const float* x, const float* dy,
                              const float* gamma, const float* beta, const float* save_mean,
                              const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                              cudaStream_t stream) {
  bwd_train<true>(N, C, HW, x, dy, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta, stream);
}

void batchnorm_bwd_eval(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                        const float* running_mean, const float* running_var, float eps, float* dx,
                        float* dgamma, float* dbeta, cudaStream_t stream) {
  if (N <= 0 || C <= 0 || HW <= 0) return;
  const Shape s = make_shape(N, C, HW, {x, dy, dx});
  const bool need_sums = dgamma || dbeta;
  const int G = need_sums ? detail::channel_slices(N, C, HW) : 0;
  const size_t stat_bytes = detail::align256(sizeof(double2) * size_t(C));
  detail::Scratch scratch(stat_bytes + sizeof(double2) * size_t(G) * C, stream);
  double2* stat = scratch.as<double2>();
  double2* partial = scratch.as<double2>(stat_bytes);
  stat_from_running_kernel<<<small_grid(C), 128, 0, stream>>>(C, running_mean, running_var, eps, stat);
  TINCT_CUDA_LAUNCH_CHECK();
  const long long units = s.units();
  const unsigned grid = detail::grid_for(units);
  if (s.vec)
    bwd_eval_dx_kernel<4><<<grid, detail::kBlock, 0, stream>>>(units, C, s.div_upp(), FastDiv(C),
                                                               stat, gamma, dy, dx);
  else
    bwd_eval_dx_kernel<1><<<grid, detail::kBlock, 0, stream>>>(units, C, s.div_upp(), FastDiv(C),
                                                               stat, gamma, dy, dx);
  TINCT_CUDA_LAUNCH_CHECK();
  if (need_sums) {
    // The statistics are constants in eval mode: the same sums as in training,
    // with xhat from the running statistics (and no ReLU mask).
    detail::launch_channel_reduce(N, C, HW, G, BwdOp<false>{x, dy, stat, gamma, nullptr}, s.vec,
                                  partial, stream);
    bwd_finalize_kernel<<<small_grid(C), 128, 0, stream>>>(C, G, double(N) * HW, partial, stat,
                                                           gamma, dgamma, dbeta, nullptr);
    TINCT_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace tinct::cuda
