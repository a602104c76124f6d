// layers.cpp — Conv2d, ConvTranspose2d, BatchNorm2d.
#include <cmath>

#include "engine/nn.h"

namespace tinct::nn {

Conv2d::Conv2d(int in, int out, int kernel, int stride, int padding, int dilation, bool with_bias, Rng& rng)
    : stride(stride), padding(padding), dilation(dilation) {
  const float bound = 1.f / std::sqrt(float(in * kernel * kernel));
  weight = register_parameter("weight", rand_uniform({out, in, kernel, kernel}, rng, -bound, bound));
  if (with_bias) bias = register_parameter("bias", rand_uniform({out}, rng, -bound, bound));
}

Tensor Conv2d::forward(const Tensor& x) { return ops::conv2d(x, weight, bias, stride, padding, dilation); }

Tensor Conv2d::forward_fused(const Tensor& x, const ops::ConvFusion& f) {
  return ops::conv2d_fused(x, weight, bias, stride, padding, dilation, f);
}

Tensor Conv2d::forward_act(const Tensor& x, Act act, float slope) {
  return ops::conv2d_act(x, weight, bias, stride, padding, dilation, act, slope);
}

ConvTranspose2d::ConvTranspose2d(int in, int out, int kernel, int stride, int padding, int output_padding,
                                 int dilation, bool with_bias, Rng& rng)
    : stride(stride), padding(padding), output_padding(output_padding), dilation(dilation) {
  // PyTorch computes fan_in of a transposed conv from weight dim 1 (= out).
  const float bound = 1.f / std::sqrt(float(out * kernel * kernel));
  weight = register_parameter("weight", rand_uniform({in, out, kernel, kernel}, rng, -bound, bound));
  if (with_bias) bias = register_parameter("bias", rand_uniform({out}, rng, -bound, bound));
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return ops::conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation);
}

Tensor ConvTranspose2d::forward_fused(const Tensor& x, const ops::ConvFusion& f) {
  return ops::conv_transpose2d_fused(x, weight, bias, stride, padding, output_padding, dilation, f);
}

BatchNorm2d::BatchNorm2d(int channels, float eps, float momentum) : eps(eps), momentum(momentum) {
  weight = register_parameter("weight", Tensor::full({channels}, 1.f));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::full({channels}, 1.f));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return ops::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}

Tensor BatchNorm2d::forward_relu(const Tensor& x) { return forward_act(x, Act::Relu); }

Tensor BatchNorm2d::forward_act(const Tensor& x, Act act, float slope) {
  return ops::batch_norm_act(x, weight, bias, running_mean, running_var, is_training(), act, slope, momentum, eps);
}

}  // namespace tinct::nn
