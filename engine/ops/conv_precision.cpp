// conv_precision.cpp — the convolution passes at the engine's precision
// (conv_precision.h).
#include "engine/ops/conv_precision.h"

#include <stdexcept>

#include "engine/ops.h"
#include "kernels/tensorcore/tensorcore.h"

namespace tinct::ops {

namespace {
// bf16 on the bf16 GEMM, which rounds the operands as it packs them.
bool bf16_gemm(Precision prec) { return prec == Precision::bf16 && cpu::cpu_bf16_gemm(); }
}  // namespace

Tensor conv_operand(const Tensor& x, Precision prec) {
  return x.channels_last() && prec == Precision::fp32 ? to_nchw(x) : x;
}

const float* cpu_operand(Precision prec, const Tensor& t, std::vector<float>& store) {
  if (prec == Precision::fp32) return t.data();
  store.resize(size_t(t.numel()));
  cpu::round_operands(prec, t.data(), store.data(), store.size());
  return store.data();
}

void conv2d_fwd_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                   const float* b, float* y) {
#ifdef TINCT_HAS_CUDA
  if (dev == Device::CUDA && x.channels_last()) return cuda::conv2d_fwd_nhwc(prec, p, x.data(), w.data(), b, y);
  if (dev == Device::CUDA) return cuda::conv2d_fwd(prec, p, x.data(), w.data(), b, y);
#endif
  (void)dev;
  cpu::Epilogue e;
  e.shift = b;
  cpu_conv2d_fwd_fused_at(prec, p, x, w, e, y);
}

void conv2d_bwd_data_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& dy, const Tensor& w,
                        float* dx) {
#ifdef TINCT_HAS_CUDA
  if (dev == Device::CUDA && dy.channels_last()) return cuda::conv2d_bwd_data_nhwc(prec, p, dy.data(), w.data(), dx);
  if (dev == Device::CUDA) return cuda::conv2d_bwd_data(prec, p, dy.data(), w.data(), dx);
#endif
  (void)dev;
  if (bf16_gemm(prec)) return cpu::conv2d_bwd_data_bf16(p, dy.data(), w.data(), dx);
  std::vector<float> dyr, wr;
  const cpu::WinogradOffScope exact(prec != Precision::fp32);  // Winograd is not the rounded-operand maths
  cpu::conv2d_bwd_data(p, cpu_operand(prec, dy, dyr), cpu_operand(prec, w, wr), dx);
}

void conv2d_bwd_filter_at(Precision prec, Device dev, const Conv2dParams& p, const Tensor& x, const Tensor& dy,
                          float* dw, float* db) {
#ifdef TINCT_HAS_CUDA
  if (dev == Device::CUDA && x.channels_last() != dy.channels_last())
    throw std::logic_error("conv2d backward-filter: x and dy in different layouts");
  if (dev == Device::CUDA && x.channels_last())
    return cuda::conv2d_bwd_filter_nhwc(prec, p, x.data(), dy.data(), dw, db);
  if (dev == Device::CUDA) return cuda::conv2d_bwd_filter(prec, p, x.data(), dy.data(), dw, db);
#endif
  (void)dev;
  if (prec == Precision::fp32) return cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw, db);
  if (bf16_gemm(prec)) return cpu::conv2d_bwd_filter_bf16(p, x.data(), dy.data(), dw, db);
  std::vector<float> xr, dyr;
  const cpu::WinogradOffScope exact(true);  // Winograd is not the rounded-operand maths
  cpu::conv2d_bwd_filter(p, cpu_operand(prec, x, xr), cpu_operand(prec, dy, dyr), dw, nullptr);
  if (db) cpu::bias_grad(p.N, p.K, p.P * p.Q, dy.data(), db);
}

void cpu_conv2d_fwd_fused_at(Precision prec, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                             const cpu::Epilogue& e, float* y) {
  if (bf16_gemm(prec)) return cpu::conv2d_fwd_fused_bf16(p, x.data(), w.data(), e, y);
  std::vector<float> xr, wr;
  const cpu::WinogradOffScope exact(prec != Precision::fp32);  // Winograd is not the rounded-operand maths
  cpu::conv2d_fwd_fused(p, cpu_operand(prec, x, xr), cpu_operand(prec, w, wr), e, y);
}

void cpu_conv_transpose2d_fwd_fused_at(Precision prec, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                                       const cpu::Epilogue& e, float* y) {
  if (bf16_gemm(prec)) return cpu::conv_transpose2d_fwd_fused_bf16(p, x.data(), w.data(), e, y);
  std::vector<float> xr, wr;
  cpu::conv_transpose2d_fwd_fused(p, cpu_operand(prec, x, xr), cpu_operand(prec, w, wr), e, y);
}

}  // namespace tinct::ops
