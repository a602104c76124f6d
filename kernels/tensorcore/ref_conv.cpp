// ref_conv.cpp — the specification of the tensor-core convolutions (CUDA
// conv variants 4 tf32 and 5 bf16): kernels/conv/ref.cpp's loops on operands
// rounded as the tensor core reads them (tensorcore.h). The rounded products
// are exact in fp32 and the reference accumulates in fp32, so this is the
// tensor cores' arithmetic up to the order of the additions.
#include <vector>

#include "kernels/tensorcore/tensorcore.h"

namespace tinct::cpu {
namespace {
std::vector<float> rounded(Precision prec, const float* v, size_t n) {
  std::vector<float> r(n);
  round_operands(prec, v, r.data(), n);
  return r;
}
size_t x_size(const Conv2dParams& p) { return size_t(p.N) * p.C * p.H * p.W; }
size_t w_size(const Conv2dParams& p) { return size_t(p.K) * p.C * p.R * p.S; }
size_t y_size(const Conv2dParams& p) { return size_t(p.N) * p.K * p.P * p.Q; }
}  // namespace

void conv2d_fwd_ref(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  conv2d_fwd_ref(p, rounded(prec, x, x_size(p)).data(), rounded(prec, w, w_size(p)).data(), b, y);
}

void conv2d_bwd_data_ref(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  conv2d_bwd_data_ref(p, rounded(prec, dy, y_size(p)).data(), rounded(prec, w, w_size(p)).data(), dx);
}

void conv2d_bwd_filter_ref(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw,
                           float* db) {
  // db sums dy itself (fp32, as bias_grad on the GPU): only the products' operands are rounded.
  conv2d_bwd_filter_ref(p, rounded(prec, x, x_size(p)).data(), rounded(prec, dy, y_size(p)).data(), dw, nullptr);
  if (db) bias_grad_ref(p.N, p.K, p.P * p.Q, dy, db);
}

namespace {
std::vector<float> to_nchw(const float* v, int N, int C, int HW) {
  std::vector<float> r(size_t(N) * C * HW);
  nhwc_to_nchw(v, r.data(), N, C, HW);
  return r;
}
}  // namespace

void conv2d_fwd_nhwc_ref(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b,
                         float* y) {
  std::vector<float> yc(y_size(p));
  conv2d_fwd_ref(prec, p, to_nchw(x, p.N, p.C, p.H * p.W).data(), w, b, yc.data());
  nchw_to_nhwc(yc.data(), y, p.N, p.K, p.P * p.Q);
}

void conv2d_bwd_data_nhwc_ref(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  std::vector<float> dxc(x_size(p));
  conv2d_bwd_data_ref(prec, p, to_nchw(dy, p.N, p.K, p.P * p.Q).data(), w, dxc.data());
  nchw_to_nhwc(dxc.data(), dx, p.N, p.C, p.H * p.W);
}

void conv2d_bwd_filter_nhwc_ref(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw,
                                float* db) {
  conv2d_bwd_filter_ref(prec, p, to_nchw(x, p.N, p.C, p.H * p.W).data(), to_nchw(dy, p.N, p.K, p.P * p.Q).data(),
                        dw, db);
}

}  // namespace tinct::cpu
