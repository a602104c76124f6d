// gan.cpp — Generator (ResNet U-Net) and Discriminator (PatchGAN).
#include "models/gan.h"

#include <stdexcept>

namespace tinct::models {

GanConfig GanConfig::preset(const std::string& name) {
  GanConfig c;
  if (name == "full") {
    c.gen_base = 64;
    c.disc_base = 64;
  } else if (name == "compact") {
    c.gen_base = 32;
    c.disc_base = 32;
  } else {
    throw std::invalid_argument("gan: unknown preset '" + name + "' (full, compact)");
  }
  return c;
}

Generator::Generator(int base, Rng& rng) {
  encoder_ = register_module("encoder", std::make_shared<ResNetEncoder>(base, 4, rng));
  // Scale s = 4, 3, 2, 1: up from encoder stage s to stage s - 1, then fuse with its skip.
  int in = encoder_->channels(4);
  for (int s = 4; s >= 1; --s) {
    const int skip = encoder_->channels(s - 1);
    const int out = skip;
    up_.push_back(register_module("up" + std::to_string(5 - s), conv_bn_relu(in, out, 4, 2, 1, rng, true)));
    fuse_.push_back(register_module("fuse" + std::to_string(5 - s), conv_bn_relu(out + skip, out, 3, 1, 1, rng)));
    in = out;
  }
  last_up_ = register_module("up5", conv_bn_relu(in, base / 2, 4, 2, 1, rng, true));
  out_ = register_module("out", std::make_shared<nn::Conv2d>(base / 2, 2, 3, 1, 1, 1, true, rng));
  for (auto& up : up_) deconvs_.add(std::dynamic_pointer_cast<nn::ConvTranspose2d>((*up)[0]));
  deconvs_.add(std::dynamic_pointer_cast<nn::ConvTranspose2d>((*last_up_)[0]));
}

void Generator::set_phase_equalized(bool on) { deconvs_.set_equalized(on); }

Tensor Generator::forward(const Tensor& x) {
  check_arg(x.dim() == 4 && x.size(1) == 1 && x.size(2) % 32 == 0 && x.size(3) % 32 == 0, "generator",
            "input must be [N,1,H,W] with H and W multiples of 32, got " + shape_str(x.shape()));
  // Channels-last inside when the engine's layout asks (engine/layout.h).
  std::vector<Tensor> f = encoder_->features(ops::layout_in(x));  // stem, layer1..layer4
  Tensor h = f[4];
  for (size_t i = 0; i < up_.size(); ++i) {
    h = (*up_[i])(h);
    h = (*fuse_[i])(ops::concat({h, f[3 - i]}));
  }
  h = (*last_up_)(h);
  if (is_training()) return ops::layout_out(ops::tanh((*out_)(h)));
  ops::ConvFusion tanh;
  tanh.has_act = true;
  tanh.act = Act::Tanh;
  return ops::layout_out(out_->forward_fused(h, tanh));
}

Discriminator::Discriminator(int d, Rng& rng) {
  net_ = register_module("model", std::make_shared<nn::Sequential>());
  struct Layer { int in, out, stride; bool bn; };
  const Layer plan[] = {{3, d, 2, false}, {d, 2 * d, 2, true}, {2 * d, 4 * d, 2, true}, {4 * d, 8 * d, 1, true}};
  for (const Layer& l : plan) {
    net_->add(std::make_shared<nn::Conv2d>(l.in, l.out, 4, l.stride, 1, 1, true, rng));
    if (l.bn) net_->add(std::make_shared<nn::BatchNorm2d>(l.out));
    net_->add(std::make_shared<nn::LeakyReLU>(0.2f));
  }
  net_->add(std::make_shared<nn::Conv2d>(8 * d, 1, 4, 1, 1, 1, true, rng));
}

Tensor Discriminator::forward(const Tensor& x) {
  check_arg(x.dim() == 4 && x.size(1) == 3 && x.size(2) >= 32 && x.size(3) >= 32, "discriminator",
            "input must be concat(L, ab) [N,3,H,W] with H, W >= 32, got " + shape_str(x.shape()));
  return ops::layout_out((*net_)(ops::layout_in(x)));
}

}  // namespace tinct::models
