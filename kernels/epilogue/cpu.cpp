// epilogue/cpu.cpp — the fused epilogue on one strip of a convolution's output.
//
// WHAT: epilogue_ref (epilogue/ref.cpp, the specification) on columns
// [j0, j0 + nj) of every row of one image, called by the fast convolutions
// right after the GEMM wrote the strip, so the batch norm, bias, residual and
// activation of an eval-mode layer cost no pass over memory of their own.
//
// HOW: one row (channel) at a time, the per-channel constants hoisted, and
// the activation and the residual chosen outside the loop, so each case is
// one plain loop the compiler vectorises: a single pass over the strip.
// A missing scale or shift is applied as *1 or +0, which changes nothing but
// the sign of a zero (-0 + 0 = +0); sigmoid calls the reference's libm
// functions, so the values are the reference's up to that and to the
// rounding of a fused multiply-add where the compiler forms one. Tanh is
// common/fast_tanh.h's (a few float ulps from the exact value, where libm is
// within one; a loop the compiler vectorises, 6-7x libm's scalar calls):
// the GAN's output layer applies it to every ab value of a photo.
//
// BENCHMARK: inside the convolutions; bench_peer_forward (bench/cpu_peer)
// times the models with (default) and without (TINCT_FUSE=0) fusion.
#include <cmath>

#include "kernels/common/fast_tanh.h"
#include "kernels/common/select.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

template <bool kResidual, class F>
void rows(const Epilogue& e, int n, int K, int HW, int k0, int k1, int j0, int nj, float* y_img, F&& act) {
  for (int k = k0; k < k1; ++k) {
    float* v = y_img + size_t(k) * HW + j0;
    const float* res = kResidual ? e.residual + (size_t(n) * K + k) * HW + j0 : nullptr;
    const float sc = e.scale ? e.scale[k] : 1.0f, sh = e.shift ? e.shift[k] : 0.0f;
    const float psc = e.post_scale ? e.post_scale[k] : 1.0f, psh = e.post_shift ? e.post_shift[k] : 0.0f;
    for (int i = 0; i < nj; ++i) {
      float t = v[i] * sc + sh;
      if (kResidual) t += res[i];
      v[i] = act(t) * psc + psh;
    }
  }
}

template <class F>
void rows_any(const Epilogue& e, int n, int K, int HW, int k0, int k1, int j0, int nj, float* y_img, F&& act) {
  if (e.residual) rows<true>(e, n, K, HW, k0, k1, j0, nj, y_img, act);
  else rows<false>(e, n, K, HW, k0, k1, j0, nj, y_img, act);
}

}  // namespace

void epilogue_strip(const Epilogue& e, int n, int K, int HW, int k0, int k1, int j0, int nj, float* y_img) {
  if (e.identity()) return;
  const float slope = e.slope;
  auto go = [&](auto act) { rows_any(e, n, K, HW, k0, k1, j0, nj, y_img, act); };
  if (!e.has_act) return go([](float t) { return t; });
  switch (e.act) {
    case Act::Relu: return go([](float t) { return t < 0.0f ? 0.0f : t; });
    // common/select.h: the reference's t < 0 ? slope * t : t, the same bits,
    // but a loop the compiler vectorises; the plain select stayed a scalar
    // branch, mispredicted on every other pixel of a conv's output (the
    // PatchGAN's first layer: 4x the convolution's own time).
    case Act::LeakyRelu: return go([slope](float t) { return detail::select(t < 0.0f, slope * t, t); });
    case Act::Tanh: return go([](float t) { return detail::fast_tanh(t); });
    case Act::Sigmoid:
      return go([](float t) { return t >= 0.0f ? 1.0f / (1.0f + std::exp(-t)) : std::exp(t) / (1.0f + std::exp(t)); });
  }
}

}  // namespace tinct::cpu
