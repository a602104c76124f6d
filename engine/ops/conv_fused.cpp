// conv_fused.cpp — conv2d and conv_transpose2d with the eval-mode layers
// after them fused in (ops.h, ConvFusion).
//
// The fused path is inference only: it records no backward, so it is taken
// only when nothing needs a gradient; on the GPU, or with autograd, the ops
// are composed exactly as the modules would call them one by one.
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/conv_geometry.h"
#include "engine/ops/conv_layer_profile.h"
#include "engine/ops/conv_precision.h"

namespace tinct::ops {

bool fusion_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("TINCT_FUSE");
    return !(e && std::string(e) == "0");
  }();
  return on;
}

namespace {

void check_bn(const EvalBatchNorm& bn, int64_t channels, const char* op, const char* which) {
  if (!bn.defined()) return;
  for (const Tensor* t : {&bn.gamma, &bn.beta, &bn.mean, &bn.var})
    check_arg(t->defined() && t->numel() == channels, op,
              std::string(which) + " batch norm must hold " + std::to_string(channels) + " values per tensor");
}

// The ops one by one: what the modules compute without fusion.
Tensor compose(Tensor y, const ConvFusion& f) {
  auto bn = [](const Tensor& v, const EvalBatchNorm& b) {
    Tensor mean = b.mean, var = b.var;  // handles: batch_norm takes them by reference
    return batch_norm(v, b.gamma, b.beta, mean, var, false, 0.1f, b.eps);
  };
  if (f.bn.defined()) y = bn(y, f.bn);
  if (f.residual.defined()) y = add(y, f.residual);
  if (f.has_act) {
    switch (f.act) {
      case Act::Relu: y = relu(y); break;
      case Act::LeakyRelu: y = leaky_relu(y, f.slope); break;
      case Act::Tanh: y = tanh(y); break;
      case Act::Sigmoid: y = sigmoid(y); break;
    }
  }
  if (f.post_bn.defined()) y = bn(y, f.post_bn);
  return y;
}

bool fusable(const Tensor& x, const Tensor& w, const Tensor& b, const ConvFusion& f) {
  if (!fusion_enabled() || x.device() != Device::CPU) return false;
  return !needs_grad({&x, &w, &b, &f.residual, &f.bn.gamma, &f.bn.beta, &f.post_bn.gamma, &f.post_bn.beta});
}

// The kernels' Epilogue for bias b and fusion f over K channels; the folded
// constants live in `store` (scale, shift, post_scale, post_shift: K each).
cpu::Epilogue epilogue_of(const Tensor& b, const ConvFusion& f, int K, std::vector<float>& store) {
  store.assign(size_t(4) * K, 0.0f);
  float *scale = store.data(), *shift = scale + K, *post_scale = shift + K, *post_shift = post_scale + K;
  cpu::Epilogue e;
  const float* bias = b.defined() ? b.data() : nullptr;
  if (f.bn.defined()) {
    // bn(v + b) = gamma * (v + b - mean) / sqrt(var + eps) + beta = scale * v + shift
    for (int k = 0; k < K; ++k) {
      const double s = double(f.bn.gamma.data()[k]) / std::sqrt(double(f.bn.var.data()[k]) + f.bn.eps);
      scale[k] = float(s);
      shift[k] = float(f.bn.beta.data()[k] + ((bias ? bias[k] : 0.0) - f.bn.mean.data()[k]) * s);
    }
    e.scale = scale;
    e.shift = shift;
  } else {
    e.shift = bias;
  }
  e.residual = f.residual.defined() ? f.residual.data() : nullptr;
  e.has_act = f.has_act;
  e.act = f.act;
  e.slope = f.slope;
  if (f.post_bn.defined()) {
    for (int k = 0; k < K; ++k) {
      const double s = double(f.post_bn.gamma.data()[k]) / std::sqrt(double(f.post_bn.var.data()[k]) + f.post_bn.eps);
      post_scale[k] = float(s);
      post_shift[k] = float(f.post_bn.beta.data()[k] - f.post_bn.mean.data()[k] * s);
    }
    e.post_scale = post_scale;
    e.post_shift = post_shift;
  }
  return e;
}

void check_fusion(const Tensor& y, const ConvFusion& f, const char* op) {
  const int64_t K = y.size(1);
  check_bn(f.bn, K, op, "the");
  check_bn(f.post_bn, K, op, "the post-activation");
  if (f.residual.defined())
    check_arg(f.residual.shape() == y.shape(), op,
              "residual " + shape_str(f.residual.shape()) + " must have the output's shape " + shape_str(y.shape()));
}

// The fused path's output of `shape` (channels in dim 1): checks the fusion
// against it, folds the epilogue, and lets `kernel(epilogue, y)` fill it.
template <class Kernel>
Tensor run_fused(const Shape& shape, const Tensor& b, const ConvFusion& f, const char* op, Kernel&& kernel) {
  Tensor y = Tensor::empty(shape, Device::CPU);
  check_fusion(y, f, op);
  std::vector<float> store;
  kernel(epilogue_of(b, f, i32(shape[1]), store), y.data());
  return y;
}

}  // namespace

Tensor conv2d_fused(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding, int dilation,
                    const ConvFusion& f) {
  const char* op = "conv2d_fused";
  if (!fusable(x, w, b, f)) {
    Tensor y = conv2d(x, w, b, stride, padding, dilation);
    check_fusion(y, f, op);
    return compose(y, f);
  }
  ProfileRange range(op);
  const Conv2dParams p = conv2d_geometry(x, w, b, stride, padding, dilation, op);
  ConvLayerRange layer(Device::CPU, precision(), p, false, ConvPass::Fwd);  // TINCT_PROFILE=layers
  return run_fused({p.N, p.K, p.P, p.Q}, b, f, op, [&](const cpu::Epilogue& e, float* y) {
    cpu_conv2d_fwd_fused_at(precision(), p, x, w, e, y);  // at the engine's precision (conv_precision.h)
  });
}

Tensor conv_transpose2d_fused(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding,
                              int output_padding, int dilation, const ConvFusion& f) {
  const char* op = "conv_transpose2d_fused";
  if (!fusable(x, w, b, f)) {
    Tensor y = conv_transpose2d(x, w, b, stride, padding, output_padding, dilation);
    check_fusion(y, f, op);
    return compose(y, f);
  }
  ProfileRange range(op);
  const Conv2dParams p = conv_transpose2d_geometry(x, w, b, stride, padding, output_padding, dilation, op);
  ConvLayerRange layer(Device::CPU, precision(), p, true, ConvPass::Fwd);
  return run_fused({p.N, p.C, p.H, p.W}, b, f, op, [&](const cpu::Epilogue& e, float* y) {
    cpu_conv_transpose2d_fwd_fused_at(precision(), p, x, w, e, y);
  });
}

}  // namespace tinct::ops
