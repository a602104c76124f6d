// conv.cpp — conv2d: forward, backward-data, backward-filter (the CPU fast path,
// or the CUDA implicit-GEMM kernels), at the engine's precision
// (engine/precision.h; the backward passes use the forward's). And
// conv2d_act: conv2d with a ReLU (or leaky ReLU) after it, one op in training.
#include <string>

#include "engine/ops.h"
#include "engine/ops/conv_geometry.h"
#include "engine/ops/conv_layer_profile.h"
#include "engine/ops/conv_precision.h"

namespace tinct::ops {

namespace {

// The forward at the engine's precision with epilogue e (bias, activation).
// The scope lets Winograd run inside a training step (the batch amortises its
// filter transform).
void conv2d_forward(Device dev, Precision prec, const Conv2dParams& p, const Tensor& x, const Tensor& w,
                    const cpu::Epilogue& e, bool training, float* y) {
  const cpu::WinogradTrainingScope batch(training);
  ConvLayerRange layer(dev, prec, p, false, ConvPass::Fwd);  // TINCT_PROFILE=layers
  if (e.has_act)
    cpu_conv2d_fwd_fused_at(prec, p, x, w, e, y);  // CPU only (conv2d_act composes on the GPU)
  else
    conv2d_fwd_at(prec, dev, p, x, w, e.shift, y);
}

// conv2d's backward for the output gradient gy: backward-data into x's
// gradient, backward-filter into w's and b's (xs, ws: x and w detached).
void conv2d_backward(Device dev, Precision prec, const Conv2dParams& p, const Tensor& gy, const Tensor& x,
                     const Tensor& xs, const Tensor& w, const Tensor& ws, const Tensor& b) {
  if (x.requires_grad()) {
    ProfileRange pass("conv2d backward-data");  // the two passes timed apart (TINCT_PROFILE)
    const cpu::WinogradTrainingScope batch(true);
    ConvLayerRange layer(dev, prec, p, false, ConvPass::BwdData);
    Tensor gx = Tensor::empty_like(x);
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
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b, int stride, int padding, int dilation) {
  const char* op = "conv2d";
  ProfileRange range(op);
  const Device dev = same_device({&x_in, &w_in, &b}, op);
  const Conv2dParams p = conv2d_geometry(x_in, w_in, b, stride, padding, dilation, op);
  const Precision prec = precision();
  const Tensor x = conv_operand(x_in, prec), w = to_nchw(w_in);  // the kernels read w as [K][C][R][S]
  Tensor y = Tensor::empty_like_shape(x, {p.N, p.K, p.P, p.Q});
  cpu::Epilogue e;
  e.shift = b.defined() ? b.data() : nullptr;
  const bool training = needs_grad({&x, &w, &b});
  conv2d_forward(dev, prec, p, x, w, e, training, y.data());
  if (training) {
    Tensor xs = x.detach(), ws = w.detach();
    record(y, op, {x, w, b}, [=](const Tensor& gy) { conv2d_backward(dev, prec, p, gy, x, xs, w, ws, b); });
  }
  return y;
}

Tensor conv2d_act(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding, int dilation, Act act,
                  float slope) {
  const char* op = "conv2d_act";
  const Device dev = same_device({&x, &w, &b}, op);
  check_arg(act == Act::Relu || act == Act::LeakyRelu, op, "the activation must be ReLU or leaky ReLU");
  check_arg(act == Act::Relu || slope >= 0.f, op,
            "leaky ReLU needs slope >= 0 (its gradient is read off the output's sign), got " + std::to_string(slope));
  if (dev != Device::CPU || !fusion_enabled()) {  // the two ops: the GPU path as it was; TINCT_FUSE=0 to compare
    const Tensor y = conv2d(x, w, b, stride, padding, dilation);
    return act == Act::Relu ? relu(y) : leaky_relu(y, slope);
  }
  ProfileRange range(op);
  const Conv2dParams p = conv2d_geometry(x, w, b, stride, padding, dilation, op);
  Tensor y = Tensor::empty({p.N, p.K, p.P, p.Q}, dev);
  cpu::Epilogue e;
  e.shift = b.defined() ? b.data() : nullptr;
  e.has_act = true;
  e.act = act;
  e.slope = slope;
  const Precision prec = precision();
  const bool training = needs_grad({&x, &w, &b});
  conv2d_forward(dev, prec, p, x, w, e, training, y.data());
  if (training) {
    // Saved: x and w for the convolution's backward, y for the mask (y > 0
    // exactly where the pre-activation is > 0, as slope >= 0); the
    // pre-activation itself is never stored.
    Tensor xs = x.detach(), ws = w.detach(), ys = y.detach();
    record(y, op, {x, w, b}, [=](const Tensor& gy) {
      // Masked in place when nothing but this backward holds gy's buffer
      // (run_backward hands each node its output's gradient and drops it
      // after): no new buffer to fill, one stream less.
      const bool own = gy.impl()->storage.use_count() == 1 && gy.impl()->offset == 0;
      Tensor gz = own ? gy : Tensor::empty_like(ys);
      {
        ProfileRange pass("conv2d_act backward-mask");
        cpu::act_bwd(act, slope, size_t(ys.numel()), ys.data(), nullptr, gy.data(), gz.data());
      }
      conv2d_backward(dev, prec, p, gz, x, xs, w, ws, b);
    });
  }
  return y;
}

Tensor conv2d_relu(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding, int dilation) {
  return conv2d_act(x, w, b, stride, padding, dilation, Act::Relu, 0.f);
}

}  // namespace tinct::ops
