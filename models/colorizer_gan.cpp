// colorizer_gan.cpp — the conditional GAN: one D update on real and detached
// fake, then one G update on 100 * L1 + LSGAN (D frozen: no gradients for its
// parameters), both Adam 2e-4, (0.5, 0.999).
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/optim.h"
#include "models/color/lab.h"
#include "models/colorizer.h"
#include "models/gan.h"

namespace tinct::models {

namespace {

optim::AdamOptions gan_adam(float lr) {
  optim::AdamOptions a = optim::adam(lr > 0 ? lr : default_lr("gan"));
  a.beta1 = 0.5f;
  a.beta2 = 0.999f;
  return a;
}

class GanColorizer : public Colorizer {
 public:
  explicit GanColorizer(const ColorizerOptions& o)
      : Colorizer(o), cfg_(GanConfig::preset(o.preset)), rng_(o.seed), gen_(cfg_.gen_base, rng_),
        disc_(cfg_.disc_base, rng_), opt_g_(gen_.parameters(), gan_adam(o.lr)),
        opt_d_(disc_.parameters(), gan_adam(o.lr)) {
    gen_.to(o.device);
    disc_.to(o.device);
  }

  // D loss: the mean of its losses on real (label 1) and fake (label 0).
  // Real first, in its own statement: the order of two calls inside one
  // argument list is up to the compiler, and D's batch-norm running
  // statistics see it.
  Tensor d_loss(const Tensor& L, const Tensor& ab, const Tensor& fake) {
    Tensor real_loss = ops::lsgan_loss(disc_(ops::concat({L, ab})), true);
    Tensor fake_loss = ops::lsgan_loss(disc_(ops::concat({L, fake})), false);
    return ops::mul(ops::add(real_loss, fake_loss), 0.5f);
  }

  DeconvPhases* deconvs() override { return &gen_.deconv_phases(); }

  Losses train_step(const data::Batch& b) override {
    gen_.train();
    disc_.train();
    DeconvPhases* phases = equalized_phases();
    Tensor L = batch_L(b, dev()), ab = batch_ab(b, dev());
    Tensor fake = gen_(L);
    opt_d_.zero_grad();
    Tensor ld = d_loss(L, ab, fake.detach());
    backward_and_step(ld, opt_d_, "grad_norm_d");

    opt_g_.zero_grad();
    Tensor l1 = ops::l1_loss(fake, ab);
    Tensor lg, gan;
    {
      // G's update needs the gradient through D, not D's own: D's parameters
      // leave the tape for it (as pix2pix's set_requires_grad(netD, False)),
      // which skips D's backward-filter passes, a third of all of them.
      const nn::Module::Frozen frozen = disc_.frozen();
      gan = ops::lsgan_loss(disc_(ops::concat({L, fake})), true);
      lg = ops::add(ops::mul(l1, cfg_.l1_lambda), gan);
      backward_and_step(lg, opt_g_, "grad_norm_g", phases);
    }
    return {{"g", lg.item()}, {"g_l1", l1.item()}, {"g_gan", gan.item()}, {"d", ld.item()}};
  }

  Losses eval_losses(const data::Batch& b) override {
    NoGrad ng;
    gen_.eval();
    disc_.eval();
    Tensor L = batch_L(b, dev()), ab = batch_ab(b, dev());
    Tensor fake = gen_(L);
    Tensor l1 = ops::l1_loss(fake, ab);
    Tensor gan = ops::lsgan_loss(disc_(ops::concat({L, fake})), true);
    Tensor lg = ops::add(ops::mul(l1, cfg_.l1_lambda), gan);
    return {{"g", lg.item()}, {"g_l1", l1.item()}, {"g_gan", gan.item()}, {"d", d_loss(L, ab, fake).item()}};
  }

  // Phase-equalized transposed convolutions (gan.h): the shipped GAN's
  // lattice artifact is their unequal phases; equalizing them at inference
  // removes it and scores better on Kodak24 on every measure
  // (docs/quality.md). Training and its validation see the trained weights.
  // TINCT_PHASE_EQUALIZE=0 in the environment runs the trained phases
  // instead, to compare.
  Tensor predict_ab(const Tensor& L) override {
    NoGrad ng;
    gen_.eval();
    EqualizedForInference<Generator> equalized(gen_);
    return ops::mul(gen_(L.to(dev())), color::kAbScale).to(Device::CPU);
  }

  std::vector<std::string> loss_names() const override { return {"g", "g_l1", "g_gan", "d"}; }
  std::vector<std::string> grad_norm_names() const override { return {"grad_norm_g", "grad_norm_d"}; }
  int size_multiple() const override { return 32; }
  int64_t num_parameters() const override { return gen_.num_parameters() + disc_.num_parameters(); }

  std::map<std::string, Tensor> state(bool with_optimizer) const override {
    auto s = with_prefix(gen_.state_dict(), "model.gen.");
    for (auto& [k, v] : with_prefix(disc_.state_dict(), "model.disc.")) s[k] = v;
    if (with_optimizer) {
      for (auto& [k, v] : with_prefix(opt_g_.state_dict(), "optim.gen.")) s[k] = v;
      for (auto& [k, v] : with_prefix(opt_d_.state_dict(), "optim.disc.")) s[k] = v;
    }
    return s;
  }

  // Inference files may hold the generator alone; training needs both.
  void load_state(const std::map<std::string, Tensor>& t, bool with_optimizer) override {
    auto g = strip_prefix(t, "model.gen."), d = strip_prefix(t, "model.disc.");
    const bool with_disc = with_optimizer || !d.empty();
    std::string problems = gen_.state_dict_problems(g);
    if (with_disc) problems += disc_.state_dict_problems(d);
    if (!problems.empty()) throw std::runtime_error("gan weights: nothing was loaded:" + problems);
    gen_.load_state_dict(g);
    if (with_disc) disc_.load_state_dict(d);
    if (with_optimizer) {
      opt_g_.load_state_dict(strip_prefix(t, "optim.gen."));
      opt_d_.load_state_dict(strip_prefix(t, "optim.disc."));
    }
  }

 private:
  GanConfig cfg_;
  Rng rng_;
  Generator gen_;
  Discriminator disc_;
  optim::Adam opt_g_, opt_d_;
};

}  // namespace

std::unique_ptr<Colorizer> make_gan_colorizer(const ColorizerOptions& o) { return std::make_unique<GanColorizer>(o); }

}  // namespace tinct::models
