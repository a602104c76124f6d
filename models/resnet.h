// resnet.h — the ResNet-18 pieces the colorizers share: the basic block and
// an encoder with a 1-channel first convolution that returns the features of
// every stage (the U-Net generator needs them as skip connections).
//
// Layer names follow torchvision (conv1, bn1, layer1.0.conv1, ...,
// layer2.0.downsample.0), so torchvision weights map over by name.
#pragma once

#include <memory>
#include <vector>

#include "engine/nn.h"

namespace tinct::models {

class BasicBlock : public nn::Module {
 public:
  BasicBlock(int in, int out, int stride, Rng& rng);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<nn::Sequential> downsample_;  // 1x1 conv + BN when the shape changes
};

// conv1 7x7/2 + bn1 + relu (1/2), maxpool 3/2 (1/4), layer1 (base, 1/4),
// layer2 (2 base, 1/8), layer3 (4 base, 1/16), layer4 (8 base, 1/32).
// `stages` = how many of layer1..layer4 are built (2: the regression cut).
class ResNetEncoder : public nn::Module {
 public:
  ResNetEncoder(int base, int stages, Rng& rng);
  Tensor forward(const Tensor& x) override;  // the last stage
  // {stem (after relu, 1/2), layer1, ..., layer<stages>}
  std::vector<Tensor> features(const Tensor& x);
  int channels(int stage) const;  // stage 0 = stem

 private:
  int base_, stages_;
  std::shared_ptr<nn::Conv2d> conv1_;
  std::shared_ptr<nn::BatchNorm2d> bn1_;
  std::vector<std::shared_ptr<nn::Sequential>> layers_;
};

// conv + BN + ReLU, the decoders' unit. Children: conv, bn.
std::shared_ptr<nn::Sequential> conv_bn_relu(int in, int out, int kernel, int stride, int padding, Rng& rng,
                                             bool transposed = false);

}  // namespace tinct::models
