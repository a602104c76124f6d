// deconv_phases.cpp — see deconv_phases.h.
#include "models/deconv_phases.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/device.h"

namespace tinct::models {

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
// 1.4 ms of serial work per GAN photo (a twentieth of its 2-thread time).
// The equalized weights are kept with a copy of the weights they came from,
// and reused while the trained weights hold the same values (training,
// load_state_dict and an EMA swap all change values, not always the tensor).
Tensor DeconvPhases::cached_equalized(size_t i, const Tensor& trained) {
  if (cache_.size() < layers_.size()) cache_.resize(layers_.size());
  Cached& c = cache_[i];
  const bool on_cpu = trained.device() == Device::CPU;
  std::vector<float> host;
  if (!on_cpu) host = trained.to_vector();
  const float* values = on_cpu ? trained.data() : host.data();
  const size_t n = size_t(trained.numel());
  if (c.equalized.defined() && c.equalized.shape() == trained.shape() && c.equalized.device() == trained.device() &&
      c.source.size() == n && std::memcmp(c.source.data(), values, n * sizeof(float)) == 0)
    return c.equalized;
  c.source.assign(values, values + n);
  c.equalized = equalize_deconv_phases(trained);
  return c.equalized;
}

namespace {

// t's values := equalize_deconv_phases(t)'s, in place on its device.
void equalize_in_place(Tensor& t) {
  const Tensor e = equalize_deconv_phases(t);
  device::copy(t.data(), t.device(), e.data(), e.device(), size_t(t.numel()) * sizeof(float));
}

}  // namespace

void DeconvPhases::project_parameters() {
  if (equalized()) throw std::logic_error("DeconvPhases: project_parameters while equalized for inference");
  for (auto& layer : layers_) equalize_in_place(layer->weight);
}

void DeconvPhases::project_gradients() {
  for (auto& layer : layers_) {
    Tensor g = layer->weight.grad();
    if (g.defined()) equalize_in_place(g);
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
