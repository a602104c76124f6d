// epilogue/ref.cpp — the fused epilogue, the reference.
//
//   y[n,k,i] = post_scale[k] * act(scale[k] * y[n,k,i] + shift[k] + residual[n,k,i])
//              + post_shift[k]
// with every missing term the identity (kernels.h, struct Epilogue). The
// activation is the one act_fwd_ref computes (a NaN stays NaN). Each element
// is independent.
#include <cmath>

#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

float activate(Act a, float slope, float v) {
  switch (a) {
    case Act::Relu: return v < 0.0f ? 0.0f : v;
    case Act::LeakyRelu: return v < 0.0f ? slope * v : v;
    case Act::Tanh: return std::tanh(v);
    case Act::Sigmoid: return v >= 0.0f ? 1.0f / (1.0f + std::exp(-v)) : std::exp(v) / (1.0f + std::exp(v));
  }
  return v;
}

}  // namespace

void epilogue_ref(const Epilogue& e, int N, int K, int HW, float* y) {
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k)
      for (int i = 0; i < HW; ++i) {
        const size_t at = (size_t(n) * K + k) * HW + i;
        float v = y[at];
        if (e.scale) v *= e.scale[k];
        if (e.shift) v += e.shift[k];
        if (e.residual) v += e.residual[at];
        if (e.has_act) v = activate(e.act, e.slope, v);
        if (e.post_scale) v *= e.post_scale[k];
        if (e.post_shift) v += e.post_shift[k];
        y[at] = v;
      }
}

}  // namespace tinct::cpu
