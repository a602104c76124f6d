// module.cpp — the Module tree: registration, recursion, state_dict.
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "engine/nn.h"

namespace tinct::nn {

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  t.requires_grad_(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, NamedTensors& out, bool params) const {
  for (const auto& [name, t] : params ? params_ : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out, params);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", out, true);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", out, false);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) {
    Tensor p = t;
    p.zero_grad();
  }
}

Module& Module::to(Device d) {
  for (auto& [name, t] : named_parameters()) t.move_to_(d);
  for (auto& [name, t] : named_buffers()) t.move_to_(d);
  return *this;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> sd;
  for (auto& [name, t] : named_parameters()) sd[name] = t;
  for (auto& [name, t] : named_buffers()) sd[name] = t;
  return sd;
}

namespace {

// Values no trained model holds: a NaN or an infinity anywhere, a negative
// batch-norm variance (its square root would be NaN). Either turns every
// output black, so they are refused at load rather than discovered there.
std::string value_problems(const std::string& name, const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  std::ostringstream out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      out << "\n  not finite: " << name << " holds " << v[i] << " at element " << i;
      break;
    }
  }
  const std::string suffix = "running_var";
  if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] < 0.f) {
        out << "\n  negative variance: " << name << " holds " << v[i] << " at element " << i;
        break;
      }
  return out.str();
}

}  // namespace

std::string Module::state_dict_problems(const std::map<std::string, Tensor>& sd, bool strict) const {
  std::map<std::string, Tensor> own = state_dict();
  std::ostringstream problems;
  for (auto& [name, t] : own) {
    auto it = sd.find(name);
    if (it == sd.end()) {
      if (strict) problems << "\n  missing: " << name << " " << shape_str(t.shape());
    } else if (it->second.shape() != t.shape()) {
      problems << "\n  shape mismatch: " << name << " is " << shape_str(t.shape()) << " in the model, "
               << shape_str(it->second.shape()) << " in the checkpoint";
    } else {
      problems << value_problems(name, it->second);
    }
  }
  if (strict)
    for (auto& [name, t] : sd)
      if (!own.count(name)) problems << "\n  unexpected: " << name << " " << shape_str(t.shape());
  return problems.str();
}

void Module::load_state_dict(const std::map<std::string, Tensor>& sd, bool strict) {
  const std::string problems = state_dict_problems(sd, strict);
  if (!problems.empty()) throw std::runtime_error("load_state_dict: nothing was loaded:" + problems);
  for (auto& [name, t] : state_dict()) {
    auto it = sd.find(name);
    if (it != sd.end()) {
      Tensor dst = t;
      dst.copy_from(it->second);
    }
  }
}

Sequential& Sequential::add(ModulePtr m) {
  register_module(std::to_string(layers_.size()), m);
  layers_.push_back(std::move(m));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto* bn = dynamic_cast<BatchNorm2d*>(layers_[i].get());
    if (bn && i + 1 < layers_.size() && dynamic_cast<ReLU*>(layers_[i + 1].get())) {
      h = bn->forward_relu(h);
      ++i;
    } else {
      h = layers_[i]->forward(h);
    }
  }
  return h;
}

}  // namespace tinct::nn
