// classification.h — the classification colorizer of Zhang et al. (ECCV 2016):
// L in, a distribution over Q quantised ab bins out, at 1/4 resolution.
//
// conv1..conv4: blocks of 2-3 conv3x3 + ReLU ending in batch norm, each of
// conv1..conv3 halving the size with its last conv (stride 2): 1/8 after
// conv3. conv5, conv6: three dilated (2) conv3x3 + ReLU + BN; conv7: three
// conv3x3 + ReLU + BN; conv8: deconv 4x4/2 + ReLU, two conv3x3 + ReLU, and a
// 1x1 conv to Q logits (1/4 resolution). Trained with the soft-encoded,
// class-rebalanced cross-entropy (ops::soft_cross_entropy), decoded by the
// annealed mean (color/decode.h).
//
// `tie_repeated_convs`: the PyTorch reference of docs/anchors.md applies ONE
// conv three times in each of conv5, conv6 and conv7 (its parameter count,
// 18,076,537, counts one conv per block while its 20.9 GFLOP count runs
// three). The `full` preset ties them so that timings and parameter counts
// compare like with like; `compact` has three distinct convs, as in Zhang et al.
#pragma once

#include <string>

#include "models/deconv_phases.h"
#include "engine/nn.h"

namespace tinct::models {

struct ClassificationConfig {
  int base = 64;       // conv1 width; the blocks are base, 2, 4, 8 x base
  int num_bins = 313;  // Q: the gamut's size, 313 for Zhang et al.'s bins (the default), 262 for srgb262
  bool tie_repeated_convs = true;
  static ClassificationConfig preset(const std::string& name, int num_bins);
};

class ClassificationNet : public nn::Module {
 public:
  ClassificationNet(ClassificationConfig cfg, Rng& rng);
  // x: L scaled to [-1, 1], [N,1,H,W] with H, W multiples of 8.
  // Returns logits [N,Q,H/4,W/4].
  Tensor forward(const Tensor& x) override;
  ClassificationConfig config;
  // The head's transposed convolution with its output phases equalized
  // (models/deconv_phases.h: the inference fix for the lattice, as in the
  // regression and GAN decoders).
  void set_phase_equalized(bool on) { deconvs_.set_equalized(on); }
  DeconvPhases& deconv_phases() { return deconvs_; }  // training them equalized
  // Training the head alone (tinct train --trainable head): the trunk,
  // conv1..conv7, keeps its weights (its parameters leave the tape, so the
  // backward pass stops at conv8) and its batch-norm statistics (it runs in
  // eval mode while the net trains); conv8 learns over the features the
  // trunk was trained to give. For a new head over a trained trunk: another
  // gamut's bins, another prior.
  void set_trunk_frozen(bool on);
  // train(on), with a frozen trunk kept in eval mode.
  void set_training(bool on);

 private:
  std::vector<std::shared_ptr<nn::Sequential>> blocks_;
  DeconvPhases deconvs_;
  bool trunk_frozen_ = false;
};

}  // namespace tinct::models
