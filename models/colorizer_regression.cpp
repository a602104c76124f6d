// colorizer_regression.cpp — the regression colorizer: MSE on ab/110, Adam.
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/optim.h"
#include "models/color/lab.h"
#include "models/colorizer.h"
#include "models/regression.h"

namespace tinct::models {

namespace {

class RegressionColorizer : public Colorizer {
 public:
  explicit RegressionColorizer(const ColorizerOptions& o)
      : Colorizer(o), rng_(o.seed), net_(RegressionConfig::preset(o.preset), rng_),
        opt_adam_(net_.parameters(), optim::adam(o.lr > 0 ? o.lr : default_lr("regression"))) {
    net_.to(o.device);
  }

  Losses train_step(const data::Batch& b) override {
    net_.train();
    opt_adam_.zero_grad();
    Tensor loss = ops::mse_loss(net_(batch_L(b, dev())), batch_ab(b, dev()));
    backward_and_step(loss, opt_adam_, "grad_norm");
    return {{"mse", loss.item()}};
  }

  Losses eval_losses(const data::Batch& b) override {
    NoGrad ng;
    net_.eval();
    return {{"mse", ops::mse_loss(net_(batch_L(b, dev())), batch_ab(b, dev())).item()}};
  }

  // Phase-equalized transposed convolutions at inference, as the GAN's
  // (models/deconv_phases.h, docs/quality.md): they remove the decoder's
  // lattice; training and validation see the trained weights.
  Tensor predict_ab(const Tensor& L) override {
    NoGrad ng;
    net_.eval();
    EqualizedForInference<RegressionNet> equalized(net_);
    return ops::mul(net_(L.to(dev())), color::kAbScale).to(Device::CPU);
  }

  std::vector<std::string> loss_names() const override { return {"mse"}; }
  int size_multiple() const override { return 8; }
  int64_t num_parameters() const override { return net_.num_parameters(); }

  std::map<std::string, Tensor> state(bool with_optimizer) const override {
    auto s = with_prefix(net_.state_dict(), "model.");
    if (with_optimizer)
      for (auto& [k, v] : with_prefix(opt_adam_.state_dict(), "optim.")) s[k] = v;
    return s;
  }

  void load_state(const std::map<std::string, Tensor>& t, bool with_optimizer) override {
    net_.load_state_dict(strip_prefix(t, "model."));
    if (with_optimizer) opt_adam_.load_state_dict(strip_prefix(t, "optim."));
  }

 private:
  Rng rng_;
  RegressionNet net_;
  optim::Adam opt_adam_;
};

}  // namespace

std::unique_ptr<Colorizer> make_regression_colorizer(const ColorizerOptions& o) {
  return std::make_unique<RegressionColorizer>(o);
}

}  // namespace tinct::models
