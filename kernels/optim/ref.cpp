// optim/ref.cpp — optimizer steps, the reference (torch.optim semantics; the
// specification: plain single-threaded loops; optim/cpu.cpp threads them).
//
// SGD with momentum (torch.optim.SGD, dampening 0), per element:
//   g' = g + wd * w                               (L2 weight decay)
//   m  = g'                     on the first step
//   m  = momentum * m + g'      afterwards        (skipped when momentum == 0)
//   d  = nesterov ? g' + momentum * m : m         (d = g' when momentum == 0)
//   w -= lr * d
//
// Adam / AdamW (torch.optim.Adam, torch.optim.AdamW), step t counts from 1:
//   Adam:  g' = g + wd * w                        (L2 penalty through the moments)
//   AdamW: w *= 1 - lr * wd;  g' = g             (decoupled weight decay)
//   m  = beta1 * m + (1 - beta1) * g'
//   v  = beta2 * v + (1 - beta2) * g'^2
//   w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// The bias corrections bc = 1 - beta^t undo the zero start of m and v; they
// are formed with pow in double (beta2^t for beta2 = 0.999 is 1 - t*1e-3 +
// ..., where float loses digits). On step 1, m/(1-beta1) = g and v/(1-beta2)
// = g^2, so each weight moves by lr * g / (|g| + eps), about lr * sign(g).
// The update of each element is computed in double and stored as float, in
// PyTorch's arrangement of it: with step = lr / bc1 and rs2 = 1 / sqrt(bc2)
// once per tensor, w -= step * m / (sqrt(v) * rs2 + eps): one square root and
// one division an element, where the form above takes three divisions (in
// AVX-512 doubles those dominated the step: optim/cpu_avx512.cpp).
// Every element is independent.
#include <cmath>

#include "kernels/kernels.h"

// No fused multiply-adds here, whatever the target (-march=native, x86-64-v3):
// the reference's bits must not depend on the build, and the fast path
// (optim/cpu_avx512.cpp) rounds every product and sum on its own.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace tinct::cpu {

void sgd_step_ref(size_t n, float* w, const float* g, float* m, float lr, float momentum,
                  float weight_decay, bool nesterov, bool first_step) {
  for (size_t i = 0; i < n; ++i) {
    const double grad = double(g[i]) + double(weight_decay) * w[i];
    double d = grad;
    if (momentum != 0.0f) {
      const double buf = first_step ? grad : double(momentum) * m[i] + grad;
      m[i] = float(buf);
      d = nesterov ? grad + double(momentum) * buf : buf;
    }
    w[i] = float(w[i] - double(lr) * d);
  }
}

void adam_step_ref(size_t n, float* w, const float* g, float* m, float* v, float lr, float beta1,
                   float beta2, float eps, float weight_decay, bool decoupled, int64_t step) {
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  const double step_size = double(lr) / bc1, rs2 = 1.0 / std::sqrt(bc2);
  for (size_t i = 0; i < n; ++i) {
    double wi = w[i];
    double grad = g[i];
    if (decoupled)
      wi *= 1.0 - double(lr) * weight_decay;
    else
      grad += double(weight_decay) * wi;
    const double mi = double(beta1) * m[i] + (1.0 - beta1) * grad;
    const double vi = double(beta2) * v[i] + (1.0 - beta2) * grad * grad;
    m[i] = float(mi);
    v[i] = float(vi);
    wi -= step_size * mi / (std::sqrt(vi) * rs2 + eps);
    w[i] = float(wi);
  }
}

}  // namespace tinct::cpu
