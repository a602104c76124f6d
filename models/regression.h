// regression.h — the regression colorizer: L in, ab out, L2 loss.
//
// ResNet-18 (1-channel conv1) cut after its 6th child (conv1, bn1, relu,
// maxpool, layer1, layer2: 2*base channels at 1/8), then a decoder back to
// full size: conv3x3 + BN + ReLU, twice [deconv 4x4/2 + BN + ReLU, conv3x3 +
// BN + ReLU], once [deconv 4x4/2 + BN + ReLU], and a conv3x3 to 2 channels.
// With base 64 (the `full` preset) this has 1,043,666 parameters, the same
// as the PyTorch reference of docs/anchors.md (whose third stage has no
// conv3x3: that is what its parameter count says). Decoder convs have biases
// (PyTorch's default); the encoder's do not (torchvision's ResNet).
#pragma once

#include <string>

#include "models/deconv_phases.h"
#include "models/resnet.h"

namespace tinct::models {

struct RegressionConfig {
  int base = 64;  // ResNet width: 64 = full, 32 = compact (half width)
  static RegressionConfig preset(const std::string& name);  // "full" | "compact"
};

class RegressionNet : public nn::Module {
 public:
  RegressionNet(RegressionConfig cfg, Rng& rng);
  // x: L scaled to [-1, 1], [N,1,H,W] with H, W multiples of 8.
  // Returns ab / 110 (see color::kAbScale), [N,2,H,W].
  Tensor forward(const Tensor& x) override;
  RegressionConfig config;
  // Phase-equalized transposed convolutions while on (models/deconv_phases.h);
  // inference switches it on around a forward, the trained weights stay.
  void set_phase_equalized(bool on) { deconvs_.set_equalized(on); }
  DeconvPhases& deconv_phases() { return deconvs_; }  // training them equalized

 private:
  std::shared_ptr<ResNetEncoder> encoder_;
  std::shared_ptr<nn::Sequential> decoder_;
  DeconvPhases deconvs_;  // the decoder's three transposed convolutions
};

}  // namespace tinct::models
