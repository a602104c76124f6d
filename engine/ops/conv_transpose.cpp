// conv_transpose.cpp — conv_transpose2d as the backward-data of a conv2d.
//
// A transposed convolution x[N,Cin,H,W] * w[Cin,Cout,R,S] is exactly the
// gradient of the conv2d that maps [N,Cout,Ho,Wo] to [N,Cin,H,W] with the same
// weight read as [K=Cin, C=Cout, R, S]. So forward = conv2d backward-data,
// backward-data = conv2d forward, backward-filter = conv2d backward-filter
// with the roles of input and output-gradient swapped. All at the engine's
// precision (engine/precision.h; the backward passes use the forward's).
#include "engine/ops.h"
#include "engine/ops/conv_geometry.h"
#include "engine/ops/conv_layer_profile.h"
#include "engine/ops/conv_precision.h"

namespace tinct::ops {

Tensor conv_transpose2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b, int stride, int padding,
                        int output_padding, int dilation) {
  const char* op = "conv_transpose2d";
  ProfileRange range(op);
  const Device dev = same_device({&x_in, &w_in, &b}, op);
  const Conv2dParams p = conv_transpose2d_geometry(x_in, w_in, b, stride, padding, output_padding, dilation, op);
  const Precision prec = precision();
  const Tensor x = conv_operand(x_in, prec), w = to_nchw(w_in);  // the kernels read w as [Cin][Cout][R][S]
  Tensor y = Tensor::empty_like_shape(x, {p.N, p.C, p.H, p.W});
  const ChannelDims yd = channel_dims(y);  // the bias kernels' view of y
  if (dev == Device::CPU) {  // the bias added as each image's epilogue
    ConvLayerRange layer(dev, prec, p, true, ConvPass::Fwd);  // TINCT_PROFILE=layers
    cpu::Epilogue e;
    e.shift = b.defined() ? b.data() : nullptr;
    cpu_conv_transpose2d_fwd_fused_at(prec, p, x, w, e, y.data());
  } else {
    conv2d_bwd_data_at(prec, dev, p, x, w, y.data());
    if (b.defined()) TINCT_DISPATCH(dev, cuda::bias_add(yd.N, yd.C, yd.HW, b.data(), y.data()), (void)0);
  }
  if (needs_grad({&x, &w, &b})) {
    Tensor xs = x.detach(), ws = w.detach();
    record(y, op, {x, w, b}, [=](const Tensor& gy) {
      if (x.requires_grad()) {
        ProfileRange pass("conv_transpose2d backward-data");  // the passes timed apart (TINCT_PROFILE)
        ConvLayerRange layer(dev, prec, p, true, ConvPass::BwdData);
        Tensor gx = Tensor::empty_like(x);
        conv2d_fwd_at(prec, dev, p, gy, ws, nullptr, gx.data());
        accumulate_grad(x, gx);
      }
      if (w.requires_grad()) {
        ProfileRange pass("conv_transpose2d backward-filter");
        ConvLayerRange layer(dev, prec, p, true, ConvPass::BwdFilter);
        Tensor gw = Tensor::zeros(w.shape(), dev);
        conv2d_bwd_filter_at(prec, dev, p, gy, xs, gw.data(), nullptr);
        accumulate_grad(w, gw);
      }
      if (b.defined() && b.requires_grad()) {
        Tensor gb = Tensor::zeros(b.shape(), dev);
        TINCT_DISPATCH(dev, cuda::bias_grad(yd.N, yd.C, yd.HW, gy.data(), gb.data()),
                       cpu::bias_grad(yd.N, yd.C, yd.HW, gy.data(), gb.data()));
        accumulate_grad(b, gb);
      }
    });
  }
  return y;
}

}  // namespace tinct::ops
