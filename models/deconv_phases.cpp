// deconv_phases.cpp — see deconv_phases.h.
#include "models/deconv_phases.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/ops.h"

namespace tinct::models {

// The projection itself is an engine op (kernels/deconv_phases/: the
// reference and a CUDA kernel), so that training with equalized phases on
// the GPU keeps its weights and gradients on the device.
Tensor equalize_deconv_phases(const Tensor& weight) {
  Tensor e = weight.defined() ? weight.clone() : weight;
  ops::equalize_deconv_phases_(e);  // checks the shape
  return e;
}

void DeconvPhases::add(std::shared_ptr<nn::ConvTranspose2d> layer) {
  if (!layer) throw std::invalid_argument("DeconvPhases: not a transposed convolution");
  if (equalized()) throw std::logic_error("DeconvPhases: add while equalized");
  layers_.push_back(std::move(layer));
}

void DeconvPhases::set_equalized(bool on) {
  if (on == equalized()) return;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (on) {
      trained_.push_back(layers_[i]->weight);  // the registered parameter: state_dict and Adam keep it
      layers_[i]->weight = cached_equalized(i, trained_.back());
    } else {
      layers_[i]->weight = trained_[i];
    }
  }
  if (!on) trained_.clear();
}

// Every prediction switches the phases on: recomputing them each time was
// 1.4 ms of serial work per GAN photo on the CPU (a twentieth of its 2-thread
// time). There the equalized weights are kept with a copy of the weights they
// came from, and reused while the trained weights hold the same values
// (training, load_state_dict and an EMA swap all change values, not always the
// tensor). On the GPU a copy and the projection kernel take microseconds,
// while comparing values would bring every weight to the host per photo: no
// cache there.
Tensor DeconvPhases::cached_equalized(size_t i, const Tensor& trained) {
  if (trained.device() != Device::CPU) return equalize_deconv_phases(trained);
  if (cache_.size() < layers_.size()) cache_.resize(layers_.size());
  Cached& c = cache_[i];
  const float* values = trained.data();
  const size_t n = size_t(trained.numel());
  if (c.equalized.defined() && c.equalized.shape() == trained.shape() && c.equalized.device() == Device::CPU &&
      c.source.size() == n && std::memcmp(c.source.data(), values, n * sizeof(float)) == 0)
    return c.equalized;
  c.source.assign(values, values + n);
  c.equalized = equalize_deconv_phases(trained);
  return c.equalized;
}

void DeconvPhases::project_parameters() {
  if (equalized()) throw std::logic_error("DeconvPhases: project_parameters while equalized for inference");
  for (auto& layer : layers_) ops::equalize_deconv_phases_(layer->weight);
}

void DeconvPhases::project_gradients() {
  for (auto& layer : layers_) {
    Tensor g = layer->weight.grad();
    if (g.defined()) ops::equalize_deconv_phases_(g);
  }
}

bool equalize_deconv_phases_at_inference() {
  static const bool on = [] {
    const char* e = std::getenv("TINCT_PHASE_EQUALIZE");
    return !(e && std::string(e) == "0");
  }();
  return on;
}

}  // namespace tinct::models
