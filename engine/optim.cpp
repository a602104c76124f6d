// optim.cpp — the optimizers; the arithmetic lives in the kernels
// (cpu::sgd_step_ref, cpu::adam_step_ref), one call per parameter.
#include "engine/optim.h"

#include <stdexcept>

#include "kernels/kernels.h"

namespace tinct::optim {

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

static Tensor state_tensor(const std::map<std::string, Tensor>& sd, const std::string& key, const Tensor& like) {
  auto it = sd.find(key);
  if (it == sd.end()) throw std::runtime_error("optimizer state: missing " + key);
  if (it->second.shape() != like.shape())
    throw std::runtime_error("optimizer state: " + key + " has shape " + shape_str(it->second.shape()) +
                             ", the parameter has " + shape_str(like.shape()));
  return it->second.clone();
}

static int64_t state_count(const std::map<std::string, Tensor>& sd, const std::string& key) {
  auto it = sd.find(key);
  if (it == sd.end() || it->second.numel() != 1) throw std::runtime_error("optimizer state: missing " + key);
  return int64_t(it->second.item());  // exact up to 2^24 steps
}

SGD::SGD(std::vector<Tensor> params, SGDOptions o)
    : Optimizer(std::move(params)), o_(o), momentum_(params_.size()), started_(params_.size(), false) {
  lr_ = o.lr;
}

void SGD::step() {
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (o_.momentum != 0.f && !momentum_[i].defined()) momentum_[i] = Tensor::zeros(p.shape());
    cpu::sgd_step_ref(size_t(p.numel()), p.data(), g.data(),
                      momentum_[i].defined() ? momentum_[i].data() : nullptr, lr_, o_.momentum, o_.weight_decay,
                      o_.nesterov, !started_[i]);
    started_[i] = true;
  }
}

std::map<std::string, Tensor> SGD::state_dict() const {
  std::map<std::string, Tensor> sd;
  sd["step"] = Tensor::scalar(float(step_));
  for (size_t i = 0; i < params_.size(); ++i)
    if (momentum_[i].defined()) sd["state." + std::to_string(i) + ".momentum_buffer"] = momentum_[i];
  return sd;
}

void SGD::load_state_dict(const std::map<std::string, Tensor>& sd) {
  step_ = state_count(sd, "step");
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string key = "state." + std::to_string(i) + ".momentum_buffer";
    started_[i] = sd.count(key) > 0;
    momentum_[i] = started_[i] ? state_tensor(sd, key, params_[i]) : Tensor();
  }
}

Adam::Adam(std::vector<Tensor> params, AdamOptions o)
    : Optimizer(std::move(params)), o_(o), m_(params_.size()), v_(params_.size()), param_steps_(params_.size(), 0) {
  lr_ = o.lr;
}

void Adam::step() {
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (!m_[i].defined()) {
      m_[i] = Tensor::zeros(p.shape());
      v_[i] = Tensor::zeros(p.shape());
    }
    cpu::adam_step_ref(size_t(p.numel()), p.data(), g.data(), m_[i].data(), v_[i].data(), lr_, o_.beta1,
                       o_.beta2, o_.eps, o_.weight_decay, o_.decoupled, ++param_steps_[i]);
  }
}

std::map<std::string, Tensor> Adam::state_dict() const {
  std::map<std::string, Tensor> sd;
  sd["step"] = Tensor::scalar(float(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!m_[i].defined()) continue;
    const std::string k = "state." + std::to_string(i) + ".";
    sd[k + "exp_avg"] = m_[i];
    sd[k + "exp_avg_sq"] = v_[i];
    sd[k + "step"] = Tensor::scalar(float(param_steps_[i]));
  }
  return sd;
}

void Adam::load_state_dict(const std::map<std::string, Tensor>& sd) {
  step_ = state_count(sd, "step");
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string k = "state." + std::to_string(i) + ".";
    if (!sd.count(k + "exp_avg")) {
      m_[i] = v_[i] = Tensor();
      param_steps_[i] = 0;
      continue;
    }
    m_[i] = state_tensor(sd, k + "exp_avg", params_[i]);
    v_[i] = state_tensor(sd, k + "exp_avg_sq", params_[i]);
    param_steps_[i] = state_count(sd, k + "step");
  }
}

}  // namespace tinct::optim
