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

Module::Frozen::Frozen(std::vector<Tensor> params) : params_(std::move(params)) {
  for (Tensor& p : params_) p.requires_grad_(false);
}
Module::Frozen::~Frozen() {
  for (Tensor& p : params_) p.requires_grad_(true);
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

namespace {

// The fusion of the layers after a convolution, from layers[i] on: a batch
// norm, an activation, a batch norm (each optional, in this order). Returns
// the index after the last one taken.
size_t fusion_after(const std::vector<ModulePtr>& layers, size_t i, ops::ConvFusion& f) {
  auto bn_at = [&](size_t j) -> BatchNorm2d* {
    auto* bn = j < layers.size() ? dynamic_cast<BatchNorm2d*>(layers[j].get()) : nullptr;
    return bn && !bn->is_training() ? bn : nullptr;
  };
  if (auto* bn = bn_at(i)) f.bn = bn->eval_form(), ++i;
  if (i < layers.size()) {
    Module* m = layers[i].get();
    f.has_act = true;
    if (dynamic_cast<ReLU*>(m)) f.act = Act::Relu;
    else if (auto* l = dynamic_cast<LeakyReLU*>(m)) f.act = Act::LeakyRelu, f.slope = l->slope;
    else if (dynamic_cast<Tanh*>(m)) f.act = Act::Tanh;
    else if (dynamic_cast<Sigmoid*>(m)) f.act = Act::Sigmoid;
    else f.has_act = false;
    if (f.has_act) {
      ++i;
      if (auto* bn = bn_at(i)) f.post_bn = bn->eval_form(), ++i;
    }
  }
  return i;
}

}  // namespace

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Module* m = layers_[i].get();
    auto* conv = dynamic_cast<Conv2d*>(m);
    auto* deconv = conv ? nullptr : dynamic_cast<ConvTranspose2d*>(m);
    if (!is_training() && (conv || deconv)) {
      ops::ConvFusion f;
      const size_t next = fusion_after(layers_, i + 1, f);
      h = conv ? conv->forward_fused(h, f) : deconv->forward_fused(h, f);
      i = next - 1;
      continue;
    }
    // Training: a batch norm or a convolution and the (leaky) ReLU right after
    // it run as one op (ops::batch_norm_act, ops::conv2d_act: the same values,
    // one pass and one stored tensor less).
    auto* bn = dynamic_cast<BatchNorm2d*>(m);
    Module* next = (bn || conv) && i + 1 < layers_.size() ? layers_[i + 1].get() : nullptr;
    auto* leaky = dynamic_cast<LeakyReLU*>(next);
    if (next && dynamic_cast<ReLU*>(next)) {
      h = bn ? bn->forward_relu(h) : conv->forward_act(h, Act::Relu);
      ++i;
    } else if (leaky && (bn || leaky->slope >= 0.f)) {
      h = bn ? bn->forward_act(h, Act::LeakyRelu, leaky->slope) : conv->forward_act(h, Act::LeakyRelu, leaky->slope);
      ++i;
    } else {
      h = m->forward(h);
    }
  }
  return h;
}

}  // namespace tinct::nn
