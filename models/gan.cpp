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
  for (auto& up : up_) deconvs_.push_back(std::dynamic_pointer_cast<nn::ConvTranspose2d>((*up)[0]));
  deconvs_.push_back(std::dynamic_pointer_cast<nn::ConvTranspose2d>((*last_up_)[0]));
}

Tensor equalize_deconv_phases(const Tensor& weight) {
  check_arg(weight.dim() == 4 && weight.size(2) == 4 && weight.size(3) == 4, "equalize_deconv_phases",
            "expected [in, out, 4, 4] weights, got " + shape_str(weight.shape()));
  std::vector<float> w = weight.to(Device::CPU).to_vector();
  // With stride 2 and padding 1, output row 2m uses kernel rows 1 and 3,
  // output row 2m + 1 rows 0 and 2 (oy = 2 iy - 1 + ky): the phase of kernel
  // row ky is (ky + 1) % 2, and the same for columns.
  for (size_t k = 0; k + 16 <= w.size(); k += 16) {
    float* t = w.data() + k;
    double sum[2][2] = {{0, 0}, {0, 0}};
    for (int ky = 0; ky < 4; ++ky)
      for (int kx = 0; kx < 4; ++kx) sum[(ky + 1) % 2][(kx + 1) % 2] += t[ky * 4 + kx];
    const double mean = (sum[0][0] + sum[0][1] + sum[1][0] + sum[1][1]) / 4;
    for (int ky = 0; ky < 4; ++ky)
      for (int kx = 0; kx < 4; ++kx) t[ky * 4 + kx] += float((mean - sum[(ky + 1) % 2][(kx + 1) % 2]) / 4);
  }
  return Tensor::from_vector(weight.shape(), w).to(weight.device());
}

void Generator::set_phase_equalized(bool on) {
  if (on == !trained_.empty()) return;
  for (size_t i = 0; i < deconvs_.size(); ++i) {
    if (on) {
      trained_.push_back(deconvs_[i]->weight);  // the registered parameter: state_dict and Adam keep it
      deconvs_[i]->weight = equalize_deconv_phases(trained_.back());
    } else {
      deconvs_[i]->weight = trained_[i];
    }
  }
  if (!on) trained_.clear();
}

Tensor Generator::forward(const Tensor& x) {
  check_arg(x.dim() == 4 && x.size(1) == 1 && x.size(2) % 32 == 0 && x.size(3) % 32 == 0, "generator",
            "input must be [N,1,H,W] with H and W multiples of 32, got " + shape_str(x.shape()));
  std::vector<Tensor> f = encoder_->features(x);  // stem, layer1..layer4
  Tensor h = f[4];
  for (size_t i = 0; i < up_.size(); ++i) {
    h = (*up_[i])(h);
    h = (*fuse_[i])(ops::concat({h, f[3 - i]}));
  }
  return ops::tanh((*out_)((*last_up_)(h)));
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
  return (*net_)(x);
}

}  // namespace tinct::models
