// regression.cpp — RegressionNet.
#include "models/regression.h"

#include <stdexcept>

namespace tinct::models {

RegressionConfig RegressionConfig::preset(const std::string& name) {
  RegressionConfig c;
  if (name == "full") c.base = 64;
  else if (name == "compact") c.base = 32;
  else throw std::invalid_argument("regression: unknown preset '" + name + "' (full, compact)");
  return c;
}

RegressionNet::RegressionNet(RegressionConfig cfg, Rng& rng) : config(cfg) {
  const int b = cfg.base;
  encoder_ = register_module("encoder", std::make_shared<ResNetEncoder>(b, 2, rng));
  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  decoder_->add(conv_bn_relu(2 * b, 2 * b, 3, 1, 1, rng));
  decoder_->add(conv_bn_relu(2 * b, b, 4, 2, 1, rng, true));
  decoder_->add(conv_bn_relu(b, b, 3, 1, 1, rng));
  decoder_->add(conv_bn_relu(b, b / 2, 4, 2, 1, rng, true));
  decoder_->add(conv_bn_relu(b / 2, b / 2, 3, 1, 1, rng));
  decoder_->add(conv_bn_relu(b / 2, b / 4, 4, 2, 1, rng, true));
  decoder_->add(std::make_shared<nn::Conv2d>(b / 4, 2, 3, 1, 1, 1, true, rng));
  for (int i : {1, 3, 5})
    deconvs_.add(std::dynamic_pointer_cast<nn::ConvTranspose2d>((*std::dynamic_pointer_cast<nn::Sequential>((*decoder_)[i]))[0]));
}

Tensor RegressionNet::forward(const Tensor& x) {
  check_arg(x.dim() == 4 && x.size(1) == 1 && x.size(2) % 8 == 0 && x.size(3) % 8 == 0, "regression",
            "input must be [N,1,H,W] with H and W multiples of 8, got " + shape_str(x.shape()));
  // Channels-last inside when the engine's layout asks (engine/layout.h).
  return ops::layout_out((*decoder_)((*encoder_)(ops::layout_in(x))));
}

}  // namespace tinct::models
