// conv.cpp — conv2d: forward, backward-data, backward-filter (the CPU fast path,
// or the CUDA implicit-GEMM kernels), at the engine's precision
// (engine/precision.h; the backward passes use the forward's).
#include "engine/ops.h"
#include "engine/ops/conv_geometry.h"
#include "engine/ops/conv_layer_profile.h"
#include "engine/ops/conv_precision.h"

namespace tinct::ops {

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding, int dilation) {
  const char* op = "conv2d";
  ProfileRange range(op);
  const Device dev = same_device({&x, &w, &b}, op);
  const Conv2dParams p = conv2d_geometry(x, w, b, stride, padding, dilation, op);
  Tensor y = Tensor::empty({p.N, p.K, p.P, p.Q}, dev);
  const float* bp = b.defined() ? b.data() : nullptr;
  const Precision prec = precision();
  const bool training = needs_grad({&x, &w, &b});
  {
    const cpu::WinogradTrainingScope batch(training);  // the batch amortises Winograd's filter transform
    ConvLayerRange layer(dev, prec, p, false, ConvPass::Fwd);  // TINCT_PROFILE=layers
    conv2d_fwd_at(prec, dev, p, x, w, bp, y.data());
  }
  if (training) {
    Tensor xs = x.detach(), ws = w.detach();
    record(y, op, {x, w, b}, [=](const Tensor& gy) {
      if (x.requires_grad()) {
        ProfileRange pass("conv2d backward-data");  // the two passes timed apart (TINCT_PROFILE)
        const cpu::WinogradTrainingScope batch(true);
        ConvLayerRange layer(dev, prec, p, false, ConvPass::BwdData);
        Tensor gx = Tensor::empty(x.shape(), dev);
        conv2d_bwd_data_at(prec, dev, p, gy, ws, gx.data());
        accumulate_grad(x, gx);
      }
      if (w.requires_grad() || (b.defined() && b.requires_grad())) {
        ProfileRange pass("conv2d backward-filter");
        ConvLayerRange layer(dev, prec, p, false, ConvPass::BwdFilter);
        Tensor gw = Tensor::zeros(w.shape(), dev);
        Tensor gb = b.defined() ? Tensor::zeros(b.shape(), dev) : Tensor();
        float* gbp = gb.defined() ? gb.data() : nullptr;
        conv2d_bwd_filter_at(prec, dev, p, xs, gy, gw.data(), gbp);
        accumulate_grad(w, gw);
        if (b.defined()) accumulate_grad(b, gb);
      }
    });
  }
  return y;
}

}  // namespace tinct::ops
