// colorizer.cpp — the factory, the batch-to-tensor helpers, metadata.
#include "models/colorizer.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "engine/autograd.h"
#include "engine/dist.h"
#include "engine/optim.h"
#include "models/deconv_phases.h"

namespace tinct::models {

std::unique_ptr<Colorizer> make_regression_colorizer(const ColorizerOptions& o);
std::unique_ptr<Colorizer> make_classification_colorizer(const ColorizerOptions& o);
std::unique_ptr<Colorizer> make_gan_colorizer(const ColorizerOptions& o);

std::unique_ptr<Colorizer> make_colorizer(const ColorizerOptions& o) {
  if (o.preset != "full" && o.preset != "compact")
    throw std::invalid_argument("unknown preset '" + o.preset + "' (full, compact)");
  if (o.kind == "regression") return make_regression_colorizer(o);
  if (o.kind == "classification") return make_classification_colorizer(o);
  if (o.kind == "gan") return make_gan_colorizer(o);
  throw std::invalid_argument("unknown model '" + o.kind + "' (regression, classification, gan)");
}

float default_lr(const std::string& kind) {
  if (kind == "classification") return 3e-4f;
  if (kind == "gan") return 2e-4f;
  return 1e-3f;
}

void Colorizer::backward_and_step(const Tensor& loss, optim::Adam& opt, const std::string& norm_name,
                                  DeconvPhases* phases) {
  if (comm_ && dist::overlap_enabled()) {
    dist::GradAverager average(*comm_, opt.params(), dist::overlap_bucket_floats());
    {
      OnLeafGrad hook([&](TensorImpl* t) { average.ready(t); });
      loss.backward();
    }
    average.finish();
  } else {
    loss.backward();
    if (comm_) dist::allreduce_mean_grads(*comm_, opt.params());
  }
  if (phases) phases->project_gradients();  // after the average: both are linear, either order is exact
  if (recipe_.clip_grad > 0.f) {
    const float norm = optim::clip_grad_norm(opt.params(), recipe_.clip_grad);
    auto it = std::find_if(grad_norms_.begin(), grad_norms_.end(), [&](auto& kv) { return kv.first == norm_name; });
    if (it == grad_norms_.end()) grad_norms_.push_back({norm_name, norm});
    else it->second = norm;
  }
  if (recipe_.lr > 0.f) opt.set_lr(recipe_.lr);
  if (recipe_.weight_decay > 0.f) opt.set_decoupled_weight_decay(recipe_.weight_decay);
  opt.step();
  // Adam scales each weight's step by its own moments, which leaves the
  // subspace: back onto it.
  if (phases) phases->project_parameters();
}

DeconvPhases* Colorizer::equalized_phases() {
  if (!phases_equalized_) return nullptr;
  DeconvPhases* d = deconvs();
  d->project_parameters();
  return d;
}

void Colorizer::set_phases(const std::string& mode) {
  if (mode != "free" && mode != "equalized")
    throw std::invalid_argument("--phases must be free or equalized, got '" + mode + "'");
  phases_equalized_ = mode == "equalized";
  equalized_phases();
}

std::map<std::string, std::string> Colorizer::metadata() const {
  return {{"format", "tinct-colorizer-1"}, {"kind", opt_.kind}, {"preset", opt_.preset},
          {"parameters", std::to_string(num_parameters())}};
}

void Colorizer::set_trainable(const std::string& part) {
  if (part == "all") return;
  if (part == "head")
    throw std::invalid_argument("--trainable head: only the classification model trains a head alone (conv8 over its "
                                "frozen trunk); the " + opt_.kind + " model trains all its weights");
  throw std::invalid_argument("set_trainable: no part '" + part + "' (all, head)");
}

void Colorizer::set_rebalance(float strength) {
  if (strength > 0)
    throw std::invalid_argument("--rebalance is the regression model's (the classification loss is always rebalanced, "
                                "the gan's is not), not the " + opt_.kind + " model's");
}

void check_decoding(const Decoding& d) {
  if (!(d.temperature > 0.0f && d.temperature <= 10.0f))
    throw std::invalid_argument("decoding temperature " + std::to_string(d.temperature) +
                                " is outside (0, 10] (Zhang et al. use 0.38)");
  if (!(d.prior_correction >= 0.0f && d.prior_correction <= 1.0f))
    throw std::invalid_argument("prior correction " + std::to_string(d.prior_correction) +
                                " is outside [0, 1] (0: Zhang et al.'s decoding, 1: the rebalancing divided out)");
}

Decoding Decoding::named(const std::string& name) {
  if (name == "plausible") return Decoding{};
  if (name == "zhang") return Decoding{0.38f, 0.0f};
  throw std::invalid_argument("unknown decoding '" + name + "' (zhang: T 0.38 as Zhang et al.; plausible: the default)");
}

std::string decoding_text(const Decoding& d) {
  char buf[96];
  if (d.prior_correction == 0.0f)
    std::snprintf(buf, sizeof buf, "annealed mean, T = %g", double(d.temperature));
  else
    std::snprintf(buf, sizeof buf, "annealed mean, T = %g, prior correction %g", double(d.temperature),
                  double(d.prior_correction));
  return buf;
}

void Colorizer::set_decoding(const Decoding&) {
  throw std::invalid_argument("the " + opt_.kind +
                              " model predicts colours directly: it has no bin distribution to decode "
                              "(--temperature and --prior-correction are for the classification model)");
}

Decoding Colorizer::decoding() const {
  throw std::invalid_argument("the " + opt_.kind + " model has no decoding");
}

Tensor batch_L(const data::Batch& b, Device d) { return Tensor::from_vector({b.n, 1, b.size, b.size}, b.L, d); }
Tensor batch_ab(const data::Batch& b, Device d) { return Tensor::from_vector({b.n, 2, b.size, b.size}, b.ab, d); }

}  // namespace tinct::models
