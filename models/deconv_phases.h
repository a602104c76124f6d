// deconv_phases.h — phase-equalized transposed convolutions, the inference
// fix for the lattice artifact (docs/quality.md).
//
// A 4x4 stride-2 transposed convolution is four 2x2 convolutions, one per
// output phase (row, column parity). Where their kernels' sums differ, a flat
// input comes out as a period-2 pattern at that layer's resolution (Odena et
// al., "Deconvolution and checkerboard artifacts", 2016); a decoder of k such
// layers paints periods 2 .. 2^k of its output. Briefly trained weights have
// very unequal phases (the shipped GAN's and regression's differ by more than
// their mean), so their outputs carry a colour lattice.
#pragma once

#include <memory>
#include <vector>

#include "engine/nn.h"

namespace tinct::models {

// The weights [in, out, 4, 4] of a transposed convolution with stride 2 and
// padding 1, projected so that its four output phases' 2x2 sub-kernels have
// the same sum for every (in, out): each phase's taps shifted by a quarter of
// (mean of the four sums - its sum). The nearest change (least squares) that
// makes the layer answer a constant input with a constant output. Throws
// std::invalid_argument for another shape.
Tensor equalize_deconv_phases(const Tensor& weight);

// A network's transposed convolutions, switched together: while on, each
// layer's forward uses its phase-equalized weights (computed when switched on,
// from the weights then); the trained weights themselves (the registered
// parameters: state_dict, the optimizer's) are never changed. Off restores
// them.
class DeconvPhases {
 public:
  void add(std::shared_ptr<nn::ConvTranspose2d> layer);  // throws for a null layer
  void set_equalized(bool on);
  bool equalized() const { return !trained_.empty(); }

  // Training with equalized phases (`tinct train --phases equalized`): the
  // projection is linear, idempotent and symmetric (an orthogonal
  // projection), so keeping the weights on its subspace and projecting each
  // gradient onto it trains exactly the function inference runs, which then
  // changes nothing. project_parameters: every layer's weight values become
  // their equalized form (in place: the registered parameter, the same
  // tensor the optimizer holds); project_gradients: every layer's
  // accumulated weight gradient likewise (layers without one are skipped).
  void project_parameters();
  void project_gradients();

 private:
  // Layer i's equalized weights for `trained`: on the CPU the cached ones
  // while `trained` holds the values they were made from, else made anew; on
  // the GPU always made anew, on the device.
  Tensor cached_equalized(size_t i, const Tensor& trained);

  struct Cached {
    std::vector<float> source;  // the trained values `equalized` came from
    Tensor equalized;
  };
  std::vector<std::shared_ptr<nn::ConvTranspose2d>> layers_;
  std::vector<Tensor> trained_;  // their weights while equalized
  std::vector<Cached> cache_;
};

// Whether inference equalizes: yes, unless TINCT_PHASE_EQUALIZE=0 is in
// the environment (to compare with the trained phases; read once).
bool equalize_deconv_phases_at_inference();

// For one prediction: `net` (any network with set_phase_equalized) runs
// equalized when inference asks for it, and its trained phases are back
// when the scope ends, an exception included.
template <class Net>
class EqualizedForInference {
 public:
  explicit EqualizedForInference(Net& net) : net_(net) { net_.set_phase_equalized(equalize_deconv_phases_at_inference()); }
  ~EqualizedForInference() { net_.set_phase_equalized(false); }
  EqualizedForInference(const EqualizedForInference&) = delete;
  EqualizedForInference& operator=(const EqualizedForInference&) = delete;

 private:
  Net& net_;
};

}  // namespace tinct::models
