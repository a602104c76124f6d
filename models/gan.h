// gan.h — the conditional GAN colorizer: a ResNet U-Net generator and a
// PatchGAN discriminator with a per-pixel (LSGAN) MSE loss.
//
// Generator: ResNet-18 encoder (1-channel conv1, layer1..layer4, 8*base
// channels at 1/32), then at each scale deconv 4x4/2 + BN + ReLU, concat the
// encoder's skip of that scale, conv3x3 + BN + ReLU (1/16 .. 1/2); a last
// deconv to full size (base/2 channels) and a conv3x3 to 2 channels + tanh.
// With base 64: 15,646,818 parameters, as the reference of docs/anchors.md.
//
// Inference runs the transposed convolutions phase-equalized (see
// models/deconv_phases.h and docs/quality.md): a 4x4 stride-2 transposed
// convolution is four 2x2 convolutions, one per output phase (row, column
// parity), and where their kernels' sums differ a flat input comes out as a
// period-2 pattern at that layer's resolution. Five such layers (1/16 .. 1/1)
// paint the shipped GAN's rainbow lattice of periods 2..32 pixels.
//
// Discriminator (pix2pix's 70x70 PatchGAN on (L, ab)): 4x4 convs
// 3 -> d -> 2d -> 4d (stride 2) -> 8d (stride 1) -> 1 (stride 1), BN on the
// middle three, LeakyReLU 0.2; every conv has a bias. d = 64: 2,766,529.
//
// Losses: D = (MSE(D(real), 1) + MSE(D(fake), 0)) / 2;
//         G = lambda * L1(fake_ab, ab) + MSE(D(fake), 1), lambda = 100.
#pragma once

#include <string>

#include "models/deconv_phases.h"
#include "models/resnet.h"

namespace tinct::models {

struct GanConfig {
  int gen_base = 64;   // generator ResNet width
  int disc_base = 64;  // discriminator width d
  float l1_lambda = 100.f;
  static GanConfig preset(const std::string& name);  // "full" | "compact"
};

class Generator : public nn::Module {
 public:
  Generator(int base, Rng& rng);
  // x: L in [-1, 1], [N,1,H,W], H and W multiples of 32. Returns ab/110 in (-1, 1).
  Tensor forward(const Tensor& x) override;
  // While on, forward uses each transposed convolution's phase-equalized
  // weights (computed when switched on, from the weights then); the trained
  // weights themselves (parameters, state_dict, the optimizer's) are never
  // changed. Off restores them. Inference switches it on around a forward.
  void set_phase_equalized(bool on);
  DeconvPhases& deconv_phases() { return deconvs_; }  // training them equalized

 private:
  std::shared_ptr<ResNetEncoder> encoder_;
  std::vector<std::shared_ptr<nn::Sequential>> up_, fuse_;
  std::shared_ptr<nn::Sequential> last_up_;
  std::shared_ptr<nn::Conv2d> out_;
  DeconvPhases deconvs_;  // up1..up5's transposed convolutions
};

class Discriminator : public nn::Module {
 public:
  Discriminator(int base, Rng& rng);
  // x: concat(L, ab) [N,3,H,W]. Returns patch scores [N,1,H/8-2,W/8-2].
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Sequential> net_;
};

}  // namespace tinct::models
