// conv_precision.cpp — the convolution passes at the engine's precision
// (conv_precision.h).
#include "engine/ops/conv_precision.h"

#include "kernels/tensorcore/tensorcore.h"

namespace tinct::ops {

const float* cpu_operand(Precision prec, const Tensor& t, std::vector<float>& store) {
  if (prec == Precision::fp32) return t.data();
  store.resize(size_t(t.numel()));
  cpu::round_operands(prec, t.data(), store.data(), store.size());
  return store.data();
}

void conv2d_fwd_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                   const float* b, float* y) {
#ifdef TINCT_HAS_CUDA
  if (dev == Device::CUDA) return cuda::conv2d_fwd(prec, p, x.data(), w.data(), b, y);
#endif
  (void)dev;
  std::vector<float> xr, wr;
  const cpu::WinogradOffScope exact(prec != Precision::fp32);  // Winograd is not the rounded-operand maths
  cpu::conv2d_fwd(p, cpu_operand(prec, x, xr), cpu_operand(prec, w, wr), b, y);
}

void conv2d_bwd_data_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& dy, const Tensor& w,
                        float* dx) {
#ifdef TINCT_HAS_CUDA
  if (dev == Device::CUDA) return cuda::conv2d_bwd_data(prec, p, dy.data(), w.data(), dx);
#endif
  (void)dev;
  std::vector<float> dyr, wr;
  const cpu::WinogradOffScope exact(prec != Precision::fp32);  // Winograd is not the rounded-operand maths
  cpu::conv2d_bwd_data(p, cpu_operand(prec, dy, dyr), cpu_operand(prec, w, wr), dx);
}

void conv2d_bwd_filter_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& x, const Tensor& dy,
                          float* dw, float* db) {
#ifdef TINCT_HAS_CUDA
  if (dev == Device::CUDA) return cuda::conv2d_bwd_filter(prec, p, x.data(), dy.data(), dw, db);
#endif
  (void)dev;
  if (prec == Precision::fp32) return cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw, db);
  std::vector<float> xr, dyr;
  cpu::conv2d_bwd_filter(p, cpu_operand(prec, x, xr), cpu_operand(prec, dy, dyr), dw, nullptr);
  if (db) cpu::bias_grad(p.N, p.K, p.P * p.Q, dy.data(), db);
}

}  // namespace tinct::ops
