// resnet.cpp — BasicBlock and the ResNet-18 encoder.
#include "models/resnet.h"

namespace tinct::models {

BasicBlock::BasicBlock(int in, int out, int stride, Rng& rng) {
  conv1_ = register_module("conv1", std::make_shared<nn::Conv2d>(in, out, 3, stride, 1, 1, false, rng));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out));
  conv2_ = register_module("conv2", std::make_shared<nn::Conv2d>(out, out, 3, 1, 1, 1, false, rng));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out));
  if (stride != 1 || in != out) {
    downsample_ = register_module("downsample", std::make_shared<nn::Sequential>());
    downsample_->add(std::make_shared<nn::Conv2d>(in, out, 1, stride, 0, 1, false, rng));
    downsample_->add(std::make_shared<nn::BatchNorm2d>(out));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  if (!is_training()) {  // eval: each conv with its BN, ReLU and the residual fused
    ops::ConvFusion f1;
    f1.bn = bn1_->eval_form();
    f1.has_act = true;
    ops::ConvFusion f2 = f1;
    f2.bn = bn2_->eval_form();
    f2.residual = downsample_ ? (*downsample_)(x) : x;  // the Sequential fuses conv + BN
    return conv2_->forward_fused(conv1_->forward_fused(x, f1), f2);
  }
  Tensor h = bn1_->forward_relu((*conv1_)(x));
  h = (*bn2_)((*conv2_)(h));
  return ops::relu(ops::add(h, downsample_ ? (*downsample_)(x) : x));
}

ResNetEncoder::ResNetEncoder(int base, int stages, Rng& rng) : base_(base), stages_(stages) {
  check_arg(stages >= 1 && stages <= 4, "ResNetEncoder", "stages must be 1..4");
  conv1_ = register_module("conv1", std::make_shared<nn::Conv2d>(1, base, 7, 2, 3, 1, false, rng));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(base));
  int in = base;
  for (int s = 1; s <= stages; ++s) {
    const int out = channels(s);
    auto layer = std::make_shared<nn::Sequential>();
    layer->add(std::make_shared<BasicBlock>(in, out, s == 1 ? 1 : 2, rng));
    layer->add(std::make_shared<BasicBlock>(out, out, 1, rng));
    layers_.push_back(register_module("layer" + std::to_string(s), layer));
    in = out;
  }
}

int ResNetEncoder::channels(int stage) const { return stage <= 1 ? base_ : base_ << (stage - 1); }

std::vector<Tensor> ResNetEncoder::features(const Tensor& x) {
  std::vector<Tensor> f;
  if (is_training()) {
    f.push_back(bn1_->forward_relu((*conv1_)(x)));
  } else {
    ops::ConvFusion stem;
    stem.bn = bn1_->eval_form();
    stem.has_act = true;
    f.push_back(conv1_->forward_fused(x, stem));
  }
  Tensor h = ops::max_pool2d(f.back(), 3, 2, 1);
  for (auto& layer : layers_) {
    h = (*layer)(h);
    f.push_back(h);
  }
  return f;
}

Tensor ResNetEncoder::forward(const Tensor& x) { return features(x).back(); }

std::shared_ptr<nn::Sequential> conv_bn_relu(int in, int out, int kernel, int stride, int padding, Rng& rng,
                                             bool transposed) {
  auto s = std::make_shared<nn::Sequential>();
  if (transposed)
    s->add(std::make_shared<nn::ConvTranspose2d>(in, out, kernel, stride, padding, 0, 1, true, rng));
  else
    s->add(std::make_shared<nn::Conv2d>(in, out, kernel, stride, padding, 1, true, rng));
  s->add(std::make_shared<nn::BatchNorm2d>(out));
  s->add(std::make_shared<nn::ReLU>());
  return s;
}

}  // namespace tinct::models
