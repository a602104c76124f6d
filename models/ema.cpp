// ema.cpp — the moving average of the weights, with engine ops (either device).
#include "models/ema.h"

#include <stdexcept>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/state_names.h"

namespace tinct::models {

bool is_averaged(const std::string& name) { return name.rfind("model.", 0) == 0; }

bool is_bn_statistic(const std::string& name) {
  return ends_with(name, "running_mean") || ends_with(name, "running_var");
}

WeightAverage::WeightAverage(const Colorizer& model, double decay) : decay_(float(decay)) {
  for (auto& [name, w] : model.state(false))
    if (is_averaged(name)) avg_[name] = w.clone();
}

void WeightAverage::update(const Colorizer& model) {
  NoGrad ng;
  for (auto& [name, w] : model.state(false)) {
    auto it = avg_.find(name);
    if (it != avg_.end()) it->second = ops::add(ops::mul(it->second, decay_), ops::mul(w, 1.f - decay_));
  }
}

std::map<std::string, Tensor> WeightAverage::state() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : avg_) out["ema." + name] = t;
  return out;
}

void WeightAverage::load(const std::map<std::string, Tensor>& ckpt, const std::string& file) {
  for (auto& [name, t] : avg_) {
    auto it = ckpt.find("ema." + name);
    if (it == ckpt.end() && is_bn_statistic(name)) it = ckpt.find(name);  // written before they were averaged
    if (it == ckpt.end())
      throw std::runtime_error(file + " holds no moving average of the weights (ema." + name +
                               "): it was not trained with --ema");
    if (it->second.shape() != t.shape()) throw std::runtime_error(file + ": ema." + name + " has another shape");
    t.copy_from(it->second);
  }
}

WeightAverage::Swap::Swap(Colorizer& model, const WeightAverage& avg) : model_(model) {
  for (auto& [name, w] : model_.state(false)) {
    auto it = avg.avg_.find(name);
    if (it == avg.avg_.end()) continue;
    saved_[name] = w.clone();
    Tensor live = w;
    live.copy_from(it->second);
  }
}

WeightAverage::Swap::~Swap() {
  for (auto& [name, w] : model_.state(false)) {
    auto it = saved_.find(name);
    if (it == saved_.end()) continue;
    Tensor live = w;
    live.copy_from(it->second);
  }
}

bool has_ema(const std::map<std::string, Tensor>& tensors) {
  for (auto& kv : tensors)
    if (kv.first.rfind("ema.", 0) == 0) return true;
  return false;
}

std::map<std::string, Tensor> with_ema_weights(const std::map<std::string, Tensor>& tensors) {
  if (!has_ema(tensors))
    throw std::runtime_error("it holds no moving average of the weights (no ema.* tensors): train with --ema, "
                             "and export a checkpoint (ckpt-*.safetensors) or best.safetensors of that run");
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : tensors) {
    if (name.rfind("ema.", 0) == 0) continue;
    auto e = tensors.find("ema." + name);
    out[name] = e != tensors.end() ? e->second : t;
  }
  return out;
}

}  // namespace tinct::models
