// nn.h — modules: named parameters and buffers, train/eval, state_dict, and
// the layers the colorizers are built from.
//
// Names follow PyTorch ("layer1.0.conv1.weight", "bn1.running_mean"), so that
// a state_dict saved here opens in PyTorch and PyTorch weights convert in.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace tinct::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }

  NamedTensors named_parameters() const;  // recursive, registration order
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;
  void zero_grad();
  // While the returned guard lives, the parameters leave the tape
  // (requires_grad off): a backward through the module gives its input's
  // gradient but none of its own (the GAN's G step through a frozen D).
  class Frozen {
   public:
    explicit Frozen(std::vector<Tensor> params);
    ~Frozen();
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;

   private:
    std::vector<Tensor> params_;
  };
  Frozen frozen() const { return Frozen(parameters()); }
  // Moves every parameter and buffer to device d in place (handles held
  // elsewhere, e.g. by an optimizer, follow). Returns *this.
  Module& to(Device d);

  // Parameters and buffers by name (tensors alias the module's storage).
  std::map<std::string, Tensor> state_dict() const;
  // Copies values in. Strict: a missing or unexpected name, or a shape
  // mismatch, throws std::runtime_error listing every problem.
  void load_state_dict(const std::map<std::string, Tensor>& sd, bool strict = true);
  // What load_state_dict would refuse, one problem a line ("" when none):
  // lets a caller that loads several modules check them all before any loads.
  std::string state_dict_problems(const std::map<std::string, Tensor>& sd, bool strict = true) const;

 protected:
  // Tensors are handles: the module keeps an alias of `t` and returns it.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, NamedTensors& out, bool params) const;
  bool training_ = true;
  NamedTensors params_, buffers_;  // registration order
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

using ModulePtr = std::shared_ptr<Module>;

// PyTorch's default init: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// (kaiming_uniform with a = sqrt(5) reduces to this bound for the weight).
class Conv2d : public Module {
 public:
  Conv2d(int in, int out, int kernel, int stride, int padding, int dilation, bool bias, Rng& rng);
  Tensor forward(const Tensor& x) override;
  // forward with the eval-mode layers after it fused in (ops::conv2d_fused).
  Tensor forward_fused(const Tensor& x, const ops::ConvFusion& f);
  // forward then a ReLU / leaky ReLU (slope >= 0) as one op, in training too (ops::conv2d_act).
  Tensor forward_act(const Tensor& x, Act act, float slope = 0.f);
  Tensor weight, bias;
  int stride, padding, dilation;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int in, int out, int kernel, int stride, int padding, int output_padding,
                  int dilation, bool bias, Rng& rng);
  Tensor forward(const Tensor& x) override;
  Tensor forward_fused(const Tensor& x, const ops::ConvFusion& f);  // ops::conv_transpose2d_fused
  Tensor weight, bias;
  int stride, padding, output_padding, dilation;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f);
  Tensor forward(const Tensor& x) override;
  Tensor forward_relu(const Tensor& x);  // relu(forward(x)), fused in training
  Tensor forward_act(const Tensor& x, Act act, float slope = 0.f);  // ops::batch_norm_act
  // Its eval-mode form, for a fused convolution (use only when !is_training()).
  ops::EvalBatchNorm eval_form() const { return {weight, bias, running_mean, running_var, eps}; }
  Tensor weight, bias, running_mean, running_var;
  float eps, momentum;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::relu(x); }
};
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float slope = 0.2f) : slope(slope) {}
  Tensor forward(const Tensor& x) override { return ops::leaky_relu(x, slope); }
  float slope;
};
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::tanh(x); }
};
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::sigmoid(x); }
};

// Children named "0", "1", ... as in PyTorch. A BatchNorm2d or a Conv2d
// followed by a ReLU or a LeakyReLU runs as one fused op (ops::batch_norm_act,
// ops::conv2d_act; names and results unchanged).
// In eval mode, a convolution (plain or transposed) followed by a batch
// norm, an activation and a batch norm after it (each optional, in that
// order) runs as one fused op (ops::conv2d_fused): the same values, one pass.
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential& add(ModulePtr m);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }
  ModulePtr operator[](size_t i) const { return layers_.at(i); }

 private:
  std::vector<ModulePtr> layers_;
};

}  // namespace tinct::nn
