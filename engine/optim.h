// optim.h — SGD with momentum, Adam and AdamW (PyTorch semantics).
//
// step() updates every parameter that has a gradient; parameters without one
// (unused this step) are left alone, as in PyTorch. On the GPU, Adam updates
// all parameters in one fused launch (cuda::adam_step_multi). The state (moments, step
// count) is exposed by name so checkpoints can save and restore it exactly.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace tinct::optim {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t steps() const { return step_; }
  const std::vector<Tensor>& params() const { return params_; }
  // "state.<i>.<slot>" for every parameter index i, plus "step".
  virtual std::map<std::string, Tensor> state_dict() const = 0;
  virtual void load_state_dict(const std::map<std::string, Tensor>& sd) = 0;

 protected:
  std::vector<Tensor> params_;
  float lr_ = 1e-3f;
  int64_t step_ = 0;
};

struct SGDOptions {
  float lr = 0.01f, momentum = 0.f, weight_decay = 0.f;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions o);
  void step() override;
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& sd) override;

 private:
  SGDOptions o_;
  std::vector<Tensor> momentum_;
  std::vector<bool> started_;  // per parameter: has its momentum buffer been set
};

struct AdamOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
  bool decoupled = false;  // true = AdamW
  // false: no weight decay on parameters of fewer than 2 dimensions (biases,
  // batch-norm scales and shifts), the usual AdamW recipe.
  bool decay_vectors = true;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions o);
  void step() override;
  // Decoupled (AdamW) weight decay `wd` from the next step on, on weights of
  // 2+ dimensions only (conv and linear kernels); wd = 0 turns it off.
  void set_decoupled_weight_decay(float wd);
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& sd) override;

 private:
  AdamOptions o_;
  std::vector<Tensor> m_, v_;
  std::vector<int64_t> param_steps_;  // per parameter, as PyTorch keeps them
  struct FusedTable;                  // the GPU's parameter table (optim.cpp)
  std::shared_ptr<FusedTable> fused_;
};

// torch.nn.utils.clip_grad_norm_: the global L2 norm of the gradients of
// `params` (those that have one), returned as it was before clipping; when it
// exceeds max_norm > 0, every gradient is scaled by max_norm / (norm + 1e-6).
// Engine ops only, so it runs on either device.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

inline AdamOptions adam(float lr) {
  AdamOptions o;
  o.lr = lr;
  return o;
}

inline AdamOptions adamw(float lr, float weight_decay = 1e-2f) {
  AdamOptions o;
  o.lr = lr;
  o.weight_decay = weight_decay;
  o.decoupled = true;
  return o;
}

}  // namespace tinct::optim
