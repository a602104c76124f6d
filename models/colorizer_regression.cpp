// colorizer_regression.cpp — the regression colorizer: MSE on ab/110, Adam.
//
// With set_rebalance(s) (tinct train --rebalance, --rebalance-strength s)
// each pixel's squared error is weighted by the rebalancing weight of its
// true colour's nearest bin, from the training set's prior, as the
// classification loss weighs its pixels (color/rebalance.h), raised to the
// power s: the loss's optimum moves from the conditional mean colour, which
// is desaturated where colours are uncertain, towards the rarer, more
// saturated ones, the further the larger s. The prior is the one `tinct
// prepare` stored beside the pack (or computed over the training images),
// kept in the checkpoint ("prior.*") for a resume.
#include <cmath>
#include <memory>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/json.h"
#include "engine/optim.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/color/prior.h"
#include "models/color/rebalance.h"
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

  DeconvPhases* deconvs() override { return &net_.deconv_phases(); }

  Losses train_step(const data::Batch& b) override {
    net_.train();
    opt_adam_.zero_grad();
    DeconvPhases* phases = equalized_phases();
    const Tensor pred = net_(batch_L(b, dev())), target = batch_ab(b, dev());
    Tensor loss = rebalance_ > 0 ? weighted_mse(pred, target, b) : ops::mse_loss(pred, target);
    backward_and_step(loss, opt_adam_, "grad_norm", phases);
    if (rebalance_ <= 0) return {{"mse", loss.item()}};
    NoGrad ng;
    return {{"wmse", loss.item()}, {"mse", ops::mse_loss(pred, target).item()}};
  }

  Losses eval_losses(const data::Batch& b) override {
    NoGrad ng;
    net_.eval();
    const Tensor pred = net_(batch_L(b, dev())), target = batch_ab(b, dev());
    const float mse = ops::mse_loss(pred, target).item();
    if (rebalance_ <= 0) return {{"mse", mse}};
    return {{"wmse", weighted_mse(pred, target, b).item()}, {"mse", mse}};
  }

  void set_rebalance(float strength) override { rebalance_ = strength; }
  bool needs_raw_ab() const override { return rebalance_ > 0; }

  // The prior stored beside the pack, or computed over the training images
  // in the default gamut.
  void prepare(std::shared_ptr<const data::PackSet> pack, const std::vector<uint32_t>& train) override {
    if (rebalance_ <= 0) return;
    bool stored = false;
    color::PackPrior prior = color::load_prior_for_pack(*pack, &stored);
    if (!stored) prior = color::compute_pack_prior(*pack, color::AbGamut::named(color::kDefaultGamut), train);
    gamut_ = &color::prior_gamut(prior);
    *weights_ = prior.prior.weights;
    p_ = prior.prior.p;
  }

  // "weight": each pixel's rebalancing weight to the power rebalance_,
  // [N,2,S,S] (the same for a and b), made on the loader's threads from the
  // raw ab.
  std::function<void(data::Batch&)> batch_transform() override {
    if (rebalance_ <= 0) return nullptr;
    const color::AbGamut* gamut = gamut_;
    auto weights = weights_;  // shared: prepare() or load_state() fill it
    const float strength = rebalance_;
    return [gamut, weights, strength](data::Batch& b) {
      const size_t hw = size_t(b.size) * b.size;
      auto& w = b.extra_f["weight"];
      w.assign(size_t(b.n) * 2 * hw, 0.f);
      for (int i = 0; i < b.n; ++i) {
        float* wi = w.data() + size_t(i) * 2 * hw;
        color::pixel_weights(*gamut, *weights, b.ab_raw.data() + size_t(i) * 2 * hw, hw, wi);
        if (strength != 1.f)
          for (size_t k = 0; k < hw; ++k) wi[k] = std::pow(wi[k], strength);
        std::copy_n(wi, hw, wi + hw);
      }
    };
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

  std::vector<std::string> loss_names() const override {
    return rebalance_ > 0 ? std::vector<std::string>{"wmse", "mse"} : std::vector<std::string>{"mse"};
  }
  int size_multiple() const override { return 8; }
  int64_t num_parameters() const override { return net_.num_parameters(); }

  std::map<std::string, Tensor> state(bool with_optimizer) const override {
    auto s = with_prefix(net_.state_dict(), "model.");
    if (rebalance_ > 0) color::store_prior(s, *gamut_, *weights_, p_);
    if (with_optimizer)
      for (auto& [k, v] : with_prefix(opt_adam_.state_dict(), "optim.")) s[k] = v;
    return s;
  }

  void load_state(const std::map<std::string, Tensor>& t, bool with_optimizer) override {
    // A rebalanced run's prior (colorize ignores it).
    std::optional<color::StoredPrior> prior = color::read_stored_prior(t, "regression weights");
    if (!prior && rebalance_ > 0 && with_optimizer)
      throw std::runtime_error("regression checkpoint: no rebalancing prior (prior.weights, prior.p); the run was "
                               "not trained with --rebalance");
    net_.load_state_dict(strip_prefix(t, "model."));
    if (with_optimizer) opt_adam_.load_state_dict(strip_prefix(t, "optim."));
    if (prior) {
      gamut_ = prior->gamut;
      *weights_ = std::move(prior->weights);
      p_ = std::move(prior->p);
    }
  }

  std::map<std::string, std::string> metadata() const override {
    auto m = Colorizer::metadata();
    if (rebalance_ > 0)
      m["loss"] = "mse rebalanced (" + std::string(gamut_->name()) + " prior, weights to the power " +
                  json::dump(json::Value(double(rebalance_))) + ")";
    return m;
  }

 private:
  // mean(w * (pred - target)^2), w the batch's "weight" [N,2,H,W].
  Tensor weighted_mse(const Tensor& pred, const Tensor& target, const data::Batch& b) const {
    auto w = b.extra_f.find("weight");
    if (w == b.extra_f.end())
      throw std::logic_error("regression: the batch has no rebalancing weights (the loader needs batch_transform())");
    const Tensor weight = Tensor::from_vector(pred.shape(), w->second, dev());
    const Tensor diff = ops::add(pred, ops::mul(target, -1.f));
    return ops::mean(ops::mul(weight, ops::mul(diff, diff)));
  }

  Rng rng_;
  RegressionNet net_;
  optim::Adam opt_adam_;
  float rebalance_ = 0;  // the weights' power; 0: plain MSE
  // The prior (uniform until prepare() or load_state() sets it).
  const color::AbGamut* gamut_ = &color::AbGamut::named(color::kDefaultGamut);
  std::shared_ptr<std::vector<float>> weights_ = std::make_shared<std::vector<float>>(size_t(gamut_->size()), 1.f);
  std::vector<float> p_ = std::vector<float>(size_t(gamut_->size()), 1.f / float(gamut_->size()));
};

}  // namespace

std::unique_ptr<Colorizer> make_regression_colorizer(const ColorizerOptions& o) {
  return std::make_unique<RegressionColorizer>(o);
}

}  // namespace tinct::models
