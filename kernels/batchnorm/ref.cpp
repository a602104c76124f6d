// batchnorm/ref.cpp — 2-D batch normalisation, the reference (the
// specification: plain single-threaded loops; batchnorm/cpu.cpp is the fast path).
//
// Per channel c, over the M = N*HW values x[n,c,i]:
//   training forward (batch statistics):
//     mean   = (1/M) sum x
//     var    = (1/M) sum (x - mean)^2                    biased: normalises
//     invstd = 1 / sqrt(var + eps)
//     xhat   = (x - mean) * invstd
//     y      = gamma * xhat + beta
//     running_mean = (1 - momentum) * running_mean + momentum * mean
//     running_var  = (1 - momentum) * running_var  + momentum * var * M/(M-1)
//                                                   unbiased: estimates the
//                                                   population variance
//   eval forward (running statistics):
//     y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
//   training backward (mean and invstd depend on x, so every x sees every dy):
//     dbeta  += sum dy
//     dgamma += sum dy * xhat
//     dx      = gamma * invstd / M * (M * dy - sum dy - xhat * sum(dy * xhat))
//   eval backward (the statistics are constants):
//     dx = dy * gamma / sqrt(running_var + eps);  dgamma, dbeta as above with
//     xhat formed from the running statistics.
// dx is overwritten; dgamma and dbeta accumulate (they are parameter grads).
// These match torch.nn.BatchNorm2d (momentum 0.1 there by default).
// Nullable: gamma (means 1), beta (0) for affine=False; running_mean and
// running_var in training (not tracked); save_mean, save_invstd; dgamma,
// dbeta (not wanted). When M == 1 the unbiased variance is undefined (PyTorch
// refuses to train on it); the running variance then takes the biased one, 0.
// Channel statistics are summed in double, serially per channel: the results
// do not depend on the thread count.
#include <cmath>
#include <vector>

#include "kernels/batchnorm/stats.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

// x[n,c,i] for fixed c lives at x + (n*C + c)*HW + i.
inline const float* channel_plane(const float* t, int n, int C, int c, int HW) {
  return t + (size_t(n) * C + c) * HW;
}
inline float* channel_plane(float* t, int n, int C, int c, int HW) {
  return t + (size_t(n) * C + c) * HW;
}

}  // namespace

void batchnorm_fwd_train_ref(int N, int C, int HW, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* running_mean,
                             float* running_var, float* y, float* save_mean, float* save_invstd) {
  const double M = double(N) * HW;
  for (int c = 0; c < C; ++c) {
    // Two passes (mean, then squared deviations): the one-pass E[x^2] - E[x]^2
    // cancels catastrophically when |mean| >> std.
    double sum = 0.0;
    for (int n = 0; n < N; ++n) {
      const float* xp = channel_plane(x, n, C, c, HW);
      for (int i = 0; i < HW; ++i) sum += xp[i];
    }
    const double mean = sum / M;
    double sq = 0.0;
    for (int n = 0; n < N; ++n) {
      const float* xp = channel_plane(x, n, C, c, HW);
      for (int i = 0; i < HW; ++i) sq += (xp[i] - mean) * (xp[i] - mean);
    }
    const double var = sq / M;  // biased
    const double invstd = 1.0 / std::sqrt(var + eps);

    const double g = gamma ? gamma[c] : 1.0;
    const double b = beta ? beta[c] : 0.0;
    for (int n = 0; n < N; ++n) {
      const float* xp = channel_plane(x, n, C, c, HW);
      float* yp = channel_plane(y, n, C, c, HW);
      for (int i = 0; i < HW; ++i) yp[i] = float(g * (xp[i] - mean) * invstd + b);
    }

    detail::store_channel_stats(c, M, mean, var, invstd, momentum, running_mean, running_var, save_mean,
                                save_invstd);
  }
}

void batchnorm_fwd_eval_ref(int N, int C, int HW, const float* x, const float* gamma,
                            const float* beta, const float* running_mean, const float* running_var,
                            float eps, float* y) {
  for (int c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(double(running_var[c]) + eps);
    const double g = gamma ? gamma[c] : 1.0;
    const double b = beta ? beta[c] : 0.0;
    const double mean = running_mean[c];
    for (int n = 0; n < N; ++n) {
      const float* xp = channel_plane(x, n, C, c, HW);
      float* yp = channel_plane(y, n, C, c, HW);
      for (int i = 0; i < HW; ++i) yp[i] = float(g * (xp[i] - mean) * invstd + b);
    }
  }
}

void batchnorm_bwd_train_ref(int N, int C, int HW, const float* x, const float* dy,
                             const float* gamma, const float* save_mean, const float* save_invstd,
                             float* dx, float* dgamma, float* dbeta) {
  const double M = double(N) * HW;
  for (int c = 0; c < C; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    // The two channel sums that carry the dependence of mean and invstd on x.
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int n = 0; n < N; ++n) {
      const float* xp = channel_plane(x, n, C, c, HW);
      const float* dyp = channel_plane(dy, n, C, c, HW);
      for (int i = 0; i < HW; ++i) {
        const double xhat = (xp[i] - mean) * invstd;
        sum_dy += dyp[i];
        sum_dy_xhat += dyp[i] * xhat;
      }
    }
    const double g = gamma ? gamma[c] : 1.0;
    const double k = g * invstd / M;
    for (int n = 0; n < N; ++n) {
      const float* xp = channel_plane(x, n, C, c, HW);
      const float* dyp = channel_plane(dy, n, C, c, HW);
      float* dxp = channel_plane(dx, n, C, c, HW);
      for (int i = 0; i < HW; ++i) {
        const double xhat = (xp[i] - mean) * invstd;
        dxp[i] = float(k * (M * dyp[i] - sum_dy - xhat * sum_dy_xhat));
      }
    }
    if (dgamma) dgamma[c] += float(sum_dy_xhat);
    if (dbeta) dbeta[c] += float(sum_dy);
  }
}

void batchnorm_bwd_eval_ref(int N, int C, int HW, const float* x, const float* dy,
                            const float* gamma, const float* running_mean,
                            const float* running_var, float eps, float* dx, float* dgamma,
                            float* dbeta) {
  for (int c = 0; c < C; ++c)
    detail::bwd_eval_channel(N, C, HW, c, x, dy, gamma, running_mean, running_var, eps, dx, dgamma, dbeta);
}

// Fused batch norm + ReLU (what the CUDA kernels batchnorm_relu_* compute in
// one pass): y = relu(bn(x)); the backward recomputes the mask from x and the
// saved statistics, z = gamma * (x - mean) * invstd + beta (in double, rounded
// once to float), and runs the batch-norm backward of dz = z > 0 ? dy : 0.
void batchnorm_relu_fwd_train_ref(int N, int C, int HW, const float* x, const float* gamma,
                                  const float* beta, float eps, float momentum, float* running_mean,
                                  float* running_var, float* y, float* save_mean, float* save_invstd) {
  batchnorm_fwd_train_ref(N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
                          save_invstd);
  act_fwd_ref(Act::Relu, 0.0f, size_t(N) * C * HW, y, y);
}

void batchnorm_relu_fwd_eval_ref(int N, int C, int HW, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean, const float* running_var,
                                 float eps, float* y) {
  batchnorm_fwd_eval_ref(N, C, HW, x, gamma, beta, running_mean, running_var, eps, y);
  act_fwd_ref(Act::Relu, 0.0f, size_t(N) * C * HW, y, y);
}

void batchnorm_relu_bwd_train_ref(int N, int C, int HW, const float* x, const float* dy,
                                  const float* gamma, const float* beta, const float* save_mean,
                                  const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
  std::vector<float> dz(size_t(N) * C * HW);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
      const double mean = save_mean[c], invstd = save_invstd[c];
      const size_t off = (size_t(n) * C + c) * HW;
      for (int i = 0; i < HW; ++i) {
        const float z = float(g * (double(x[off + i]) - mean) * invstd + b);
        dz[off + i] = z > 0.0f ? dy[off + i] : 0.0f;
      }
    }
  batchnorm_bwd_train_ref(N, C, HW, x, dz.data(), gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

// Fused batch norm + ReLU / leaky ReLU in training (the CPU's fused op,
// batchnorm/cpu.cpp): y = act(bn(x)). The backward reads the mask off the
// output y: for a slope >= 0, y > 0 exactly where z = bn(x) > 0 (a negative
// z gives a y <= 0), so the normalised value need never be formed again.
void batchnorm_act_fwd_train_ref(Act a, float slope, int N, int C, int HW, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* running_mean,
                                 float* running_var, float* y, float* save_mean, float* save_invstd) {
  batchnorm_fwd_train_ref(N, C, HW, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
                          save_invstd);
  act_fwd_ref(a, slope, size_t(N) * C * HW, y, y);
}

void batchnorm_act_bwd_train_ref(Act a, float slope, int N, int C, int HW, const float* x, const float* y,
                                 const float* dy, const float* gamma, const float* save_mean,
                                 const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
  const size_t n = size_t(N) * C * HW;
  std::vector<float> dz(n);
  for (size_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f ? dy[i] : (a == Act::Relu ? 0.0f : slope * dy[i]);
  batchnorm_bwd_train_ref(N, C, HW, x, dz.data(), gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

}  // namespace tinct::cpu
