// colorizer_classification.cpp — Zhang et al.'s classification colorizer.
//
// Targets are made on the loader's worker threads: the batch's ab (LAB
// units) is averaged over 4x4 cells to the logits' 1/4 resolution, each
// pixel soft-encoded over its 5 nearest bins (sigma 5), and weighted by the
// rebalancing weight of its nearest bin. The prior behind those weights is
// the training data's bin distribution: the one `tinct prepare` stored
// beside the pack (color/prior.h), whose gamut then sets the model's bins,
// or, for a pack without one, computed by prepare() over the training split
// in the default gamut. It is kept in the checkpoint ("prior.weights",
// "prior.p") so a resumed run and `tinct eval` use the same one.
//
// The bins: Zhang et al.'s 313 by default ("zhang313"), or tinct's 262-bin
// sRGB gamut ("srgb262"), named in the metadata ("gamut", "bins"). A file
// is loaded in the gamut its prior's size names (AbGamut::with_bins), so the
// 262-bin files written before the "gamut" key existed load as srgb262.
#include <memory>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/optim.h"
#include "engine/profile.h"
#include "models/classification.h"
#include "models/color/decode.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/color/prior.h"
#include "models/color/rebalance.h"
#include "models/color/soft_encode.h"
#include "models/colorizer.h"

namespace tinct::models {

namespace {

constexpr int kDown = 4;  // logits are at 1/4 of the input size

// Mean of each 4x4 cell of planar ab [2, S, S] -> [2, S/4, S/4].
void average_cells(const float* ab, int S, float* out) {
  const int s = S / kDown;
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x) {
        float sum = 0;
        for (int dy = 0; dy < kDown; ++dy)
          for (int dx = 0; dx < kDown; ++dx) sum += ab[(size_t(c) * S + y * kDown + dy) * S + x * kDown + dx];
        out[(size_t(c) * s + y) * s + x] = sum / float(kDown * kDown);
      }
}

class ClassificationColorizer : public Colorizer {
 public:
  explicit ClassificationColorizer(const ColorizerOptions& o) : Colorizer(o) {
    commit(make_parts(color::AbGamut::named(color::kDefaultGamut)));
  }

  // The prior stored beside the pack, in its gamut; or computed here over
  // the training images. Runs before batch_transform() is taken.
  void prepare(std::shared_ptr<const data::PackSet> pack, const std::vector<uint32_t>& train) override {
    bool stored = false;
    color::PackPrior prior = color::load_prior_for_pack(*pack, &stored);
    if (stored) {
      const color::AbGamut& g = color::prior_gamut(prior);
      if (&g != gamut_) commit(make_parts(g));
    } else if (!train.empty()) {
      prior = color::compute_pack_prior(*pack, *gamut_, train);
    } else {
      return;  // no images: the uniform prior stays
    }
    p_ = prior.prior.p;
    *weights_ = prior.prior.weights;
  }

  bool needs_raw_ab() const override { return true; }

  // "cells": ab (LAB units) averaged to the logits' size, [N,2,s,s];
  // "weight": each pixel's rebalancing weight, [N,1,s,s]; "target": the soft
  // targets [N,Q,s,s], made here on the CPU only: on the GPU, loss() makes
  // them there from the cells (2 planes cross the bus instead of Q).
  std::function<void(data::Batch&)> batch_transform() override {
    const color::AbGamut* gamut = gamut_;
    auto weights = weights_;  // shared: prepare() or load_state() fill it before training
    const bool dense_here = dev() == Device::CPU;
    return [gamut, weights, dense_here](data::Batch& b) {
      const int S = b.size, s = S / kDown, Q = gamut->size();
      const size_t hw = size_t(s) * s;
      auto& cells = b.extra_f["cells"];
      auto& weight = b.extra_f["weight"];
      cells.assign(size_t(b.n) * 2 * hw, 0.f);
      weight.assign(size_t(b.n) * hw, 0.f);
      float* target = nullptr;
      if (dense_here) {
        auto& t = b.extra_f["target"];
        t.assign(size_t(b.n) * Q * hw, 0.f);
        target = t.data();
      }
      for (int i = 0; i < b.n; ++i) {
        float* small = cells.data() + size_t(i) * 2 * hw;
        average_cells(b.ab_raw.data() + size_t(i) * 2 * S * S, S, small);
        if (target) color::soft_encode_dense(*gamut, small, hw, target + size_t(i) * Q * hw);
        color::pixel_weights(*gamut, *weights, small, hw, weight.data() + size_t(i) * hw);
      }
    };
  }

  Tensor loss(const data::Batch& b) {
    const int s = b.size / kDown;
    auto c = b.extra_f.find("cells"), t = b.extra_f.find("target"), w = b.extra_f.find("weight");
    if (c == b.extra_f.end() || w == b.extra_f.end())
      throw std::logic_error("classification: the batch has no soft targets (the loader needs batch_transform())");
    Tensor target;
    if (t != b.extra_f.end()) {
      target = Tensor::from_vector({b.n, gamut_->size(), s, s}, t->second, dev());
    } else {
      if (!centres_.defined()) centres_ = color::gamut_centres_tensor(*gamut_, dev());
      target = color::soft_encode_device(Tensor::from_vector({b.n, 2, s, s}, c->second, dev()), centres_);
    }
    Tensor weight = Tensor::from_vector({b.n, 1, s, s}, w->second, dev());
    return ops::soft_cross_entropy((*net_)(batch_L(b, dev())), target, weight);
  }

  DeconvPhases* deconvs() override { return &net_->deconv_phases(); }

  Losses train_step(const data::Batch& b) override {
    net_->set_training(true);
    opt_adam_->zero_grad();
    DeconvPhases* phases = equalized_phases();
    Tensor l = loss(b);
    backward_and_step(l, *opt_adam_, "grad_norm", phases);
    return {{"ce", l.item()}};
  }

  Losses eval_losses(const data::Batch& b) override {
    NoGrad ng;
    net_->eval();
    return {{"ce", loss(b).item()}};
  }

  // Annealed mean of the bin distribution at 1/4 size, upsampled bilinearly.
  // The head's transposed convolution runs phase-equalized, as the other
  // models' decoders do (models/deconv_phases.h, docs/quality.md).
  Tensor predict_ab(const Tensor& L) override {
    NoGrad ng;
    net_->eval();
    Tensor logits;
    {
      EqualizedForInference<ClassificationNet> equalized(*net_);
      logits = (*net_)(L.to(dev())).to(Device::CPU);  // decoded on the CPU
    }
    const int N = int(logits.size(0)), Q = int(logits.size(1)), h = int(logits.size(2)), w = int(logits.size(3));
    const size_t hw = size_t(h) * w;
    Tensor ab = Tensor::empty({N, 2, h, w});
    const std::vector<float> offset = color::prior_correction_offsets(*weights_, decoding_.prior_correction);
    ProfileRange range("colorize: decode bins");
    for (int n = 0; n < N; ++n)
      color::decode_logits(*gamut_, logits.data() + size_t(n) * Q * hw, hw, ab.data() + size_t(n) * 2 * hw,
                           decoding_.temperature, offset.data());
    return ops::upsample(ab, int(L.size(2)), int(L.size(3)), Upsample::Bilinear);
  }

  void set_decoding(const Decoding& d) override {
    check_decoding(d);
    decoding_ = d;
  }
  Decoding decoding() const override { return decoding_; }

  std::vector<std::string> loss_names() const override { return {"ce"}; }
  int size_multiple() const override { return 8; }
  int64_t num_parameters() const override { return net_->num_parameters(); }

  void set_trainable(const std::string& part) override {
    if (part != "head") return Colorizer::set_trainable(part);
    head_only_ = true;
    net_->set_trunk_frozen(true);
  }
  int64_t num_trainable_parameters() const override {
    int64_t n = 0;
    for (const Tensor& p : net_->parameters()) n += p.requires_grad() ? p.numel() : 0;
    return n;
  }

  std::map<std::string, Tensor> state(bool with_optimizer) const override {
    auto s = with_prefix(net_->state_dict(), "model.");
    color::store_prior(s, *gamut_, *weights_, p_);
    if (with_optimizer)
      for (auto& [k, v] : with_prefix(opt_adam_->state_dict(), "optim.")) s[k] = v;
    return s;
  }

  // The gamut is the named one with as many bins as the prior; a file in
  // another gamut than the current one loads into a new network of its size,
  // which replaces the current one only once everything has loaded.
  void load_state(const std::map<std::string, Tensor>& t, bool with_optimizer) override {
    std::optional<color::StoredPrior> prior = color::read_stored_prior(t, "classification weights");
    if (!prior)
      throw std::runtime_error("classification weights: the rebalancing prior (prior.weights, prior.p) is missing");
    const color::AbGamut* g = prior->gamut;
    Parts fresh;
    ClassificationNet* net = net_.get();
    optim::Adam* opt = opt_adam_.get();
    if (g != gamut_) {
      fresh = make_parts(*g);
      net = fresh.net.get();
      opt = fresh.opt.get();
    }
    net->load_state_dict(strip_prefix(t, "model."));
    if (with_optimizer) opt->load_state_dict(strip_prefix(t, "optim."));
    if (fresh.net) commit(std::move(fresh));
    *weights_ = std::move(prior->weights);
    p_ = std::move(prior->p);
  }

  std::map<std::string, std::string> metadata() const override {
    auto m = Colorizer::metadata();
    m["bins"] = std::to_string(gamut_->size());
    m["gamut"] = gamut_->name();
    m["decode"] = decoding_text(decoding_);
    return m;
  }

 private:
  // A network and its optimizer over one gamut (initialised from the seed:
  // the same seed and gamut, the same start).
  struct Parts {
    const color::AbGamut* gamut = nullptr;
    std::unique_ptr<ClassificationNet> net;
    std::unique_ptr<optim::Adam> opt;
  };

  Parts make_parts(const color::AbGamut& g) const {
    Parts parts;
    parts.gamut = &g;
    Rng rng(opt_.seed);
    parts.net = std::make_unique<ClassificationNet>(ClassificationConfig::preset(opt_.preset, g.size()), rng);
    parts.opt = std::make_unique<optim::Adam>(parts.net->parameters(),
                                              optim::adam(opt_.lr > 0 ? opt_.lr : default_lr("classification")));
    parts.net->to(opt_.device);
    return parts;
  }

  // Makes `parts` the model's, with a uniform prior of its size.
  void commit(Parts parts) {
    gamut_ = parts.gamut;
    net_ = std::move(parts.net);
    net_->set_trunk_frozen(head_only_);  // a network of another gamut trains as the one it replaces
    opt_adam_ = std::move(parts.opt);
    centres_ = Tensor();
    const size_t Q = size_t(gamut_->size());
    if (!weights_) weights_ = std::make_shared<std::vector<float>>();
    weights_->assign(Q, 1.f);  // the same vector: a transform already taken sees it
    p_.assign(Q, 1.f / float(Q));
  }

  const color::AbGamut* gamut_ = nullptr;
  Tensor centres_;  // the gamut's centres on the device, for soft_encode_device
  std::unique_ptr<ClassificationNet> net_;
  std::unique_ptr<optim::Adam> opt_adam_;
  std::shared_ptr<std::vector<float>> weights_;
  std::vector<float> p_;
  Decoding decoding_;
  bool head_only_ = false;  // set_trainable("head")
};

}  // namespace

std::unique_ptr<Colorizer> make_classification_colorizer(const ColorizerOptions& o) {
  return std::make_unique<ClassificationColorizer>(o);
}

}  // namespace tinct::models
