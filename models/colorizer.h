// colorizer.h — one interface over the three colorizers, for training and
// inference: what a training step does, how ab is predicted from L, and what
// goes into a checkpoint.
//
//   regression      RegressionNet, MSE on ab/110, Adam
//   classification  ClassificationNet over Zhang et al.'s 313 ab bins (or the
//                   262-bin sRGB gamut of older files), soft-encoded (5
//                   nearest bins, sigma 5) rebalanced cross-entropy
//                   at 1/4 resolution, annealed-mean decoding (Decoding below), Adam
//   gan             Generator + Discriminator (LSGAN), G loss = 100 L1 + MSE,
//                   Adam 2e-4, betas (0.5, 0.999) for both
//
// Checkpoint layout (one safetensors file): "model.<name>" for the weights
// (gan: "model.gen.*", "model.disc.*"), "optim.<name>" for the optimizer
// state, "prior.*" for the classification model's rebalancing prior, and
// metadata "kind", "preset", "bins", ... so a file says what it holds.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "models/data/loader.h"

namespace tinct::optim {
class Adam;
}
namespace tinct::dist {
class Communicator;
}

namespace tinct::models {

class DeconvPhases;

using Losses = std::vector<std::pair<std::string, float>>;  // the first is the headline

struct ColorizerOptions {
  std::string kind = "regression";  // regression | classification | gan
  std::string preset = "compact";   // full | compact
  uint64_t seed = 1;
  float lr = 0.f;  // 0: the model's default
  // Where the weights live and the steps run. The weights are initialised on
  // the CPU from the seed, then moved: the same seed gives the same start on
  // both devices.
  Device device = Device::CPU;
};

// How the classification model turns its distribution over the bins into one
// colour per pixel (models/color/decode.h): the annealed mean at
// `temperature`, after the rebalancing's tilt is divided out with strength
// `prior_correction` (0: none, 1: all of it; color::prior_correction_offsets).
// Two named settings (docs/quality.md, "The casts"):
//   zhang      T 0.38, correction 0: Zhang et al.'s decoding, vivid, with the
//              golden cast the rebalancing's tilt gives on tinct's data;
//   plausible  T 0.6, correction 0.25: the default; a quarter of the tilt
//              divided out, a milder sharpening: lower mean-colour error and
//              higher raw AuC and PSNR on Kodak24 and held-out imagenette,
//              rebalanced AuC within 0.2 points, less vivid.
struct Decoding {
  float temperature = 0.6f;
  float prior_correction = 0.25f;
  // "zhang" or "plausible"; throws std::invalid_argument naming both.
  static Decoding named(const std::string& name);
};
// Refuses a temperature outside (0, 10] or a correction outside [0, 1].
void check_decoding(const Decoding& d);
// "annealed mean, T = 0.38" (and ", prior correction 0.5" when it is not 0).
std::string decoding_text(const Decoding& d);

// The learning rate a model trains with when ColorizerOptions::lr is 0:
// regression 1e-3, classification 3e-4, gan 2e-4 (both networks).
float default_lr(const std::string& kind);

// The training recipe's settings for the next train_step (models/train.cpp
// sets them before each step); the defaults leave the step as it always was.
struct StepRecipe {
  float lr = 0.f;            // this step's learning rate (every optimizer); 0: the model's own
  float weight_decay = 0.f;  // decoupled (AdamW) decay of conv and linear weights, not biases or batch norm
  float clip_grad = 0.f;     // the gradients' global L2 norm is clipped to this, per network; 0: no clipping
};

class Colorizer {
 public:
  virtual ~Colorizer() = default;
  const ColorizerOptions& options() const { return opt_; }

  // The names of the losses train_step and eval_losses report, in order.
  virtual std::vector<std::string> loss_names() const = 0;
  // One optimisation step on a batch (forward, backward, update).
  virtual Losses train_step(const data::Batch& b) = 0;
  // The same losses without gradients, in eval mode.
  virtual Losses eval_losses(const data::Batch& b) = 0;
  // L scaled to [-1, 1], [N,1,H,W] (H, W multiples of size_multiple()) on
  // any device -> ab in LAB units, [N,2,H,W], on the CPU. Eval mode, no
  // gradients.
  virtual Tensor predict_ab(const Tensor& L) = 0;
  virtual int size_multiple() const = 0;
  virtual int64_t num_parameters() const = 0;
  // Which weights train_step updates: "all" (the default, every model), or
  // "head": the classification model's conv8 over a frozen trunk
  // (ClassificationNet::set_trunk_frozen), to fit a new head (another
  // gamut's bins, another prior) to a trained trunk. Throws
  // std::invalid_argument for another value, or "head" for another model.
  virtual void set_trainable(const std::string& part);
  virtual int64_t num_trainable_parameters() const { return num_parameters(); }
  // The regression model's loss weighted per pixel by the training set's
  // rebalancing weights raised to the power `strength` (0: off, 1: the
  // classification loss's; models/colorizer_regression.cpp); the
  // classification loss is always rebalanced and the gan's never: a strength
  // above 0 throws std::invalid_argument for them. Set before prepare() and
  // batch_transform().
  virtual void set_rebalance(float strength);
  // How the transposed convolutions' output phases train: "free" (the
  // default: as they learn; inference then equalizes them, which moves the
  // output of a long-trained model away from what it learned), or
  // "equalized": kept equal while training (models/deconv_phases.h), so the
  // trained function is the one inference runs and no lattice can form.
  // Throws std::invalid_argument for another value. Equalized projects the
  // current weights at once (call it after loading them: a moving average
  // then starts on the subspace too).
  void set_phases(const std::string& mode);
  // The decoding predict_ab uses; only the classification model has one (the
  // others throw std::invalid_argument).
  virtual void set_decoding(const Decoding& d);
  virtual Decoding decoding() const;

  // Work done once before training on the training images (the
  // classification model's rebalancing prior); a no-op for the others.
  virtual void prepare(std::shared_ptr<const data::PackSet> pack, const std::vector<uint32_t>& train) {}
  // Runs on the loader's worker threads on each batch (soft-encoding).
  virtual std::function<void(data::Batch&)> batch_transform() { return nullptr; }
  // Whether the loader must fill Batch::ab_raw.
  virtual bool needs_raw_ab() const { return false; }

  // Weights (and, with_optimizer, the optimizer state and anything else a
  // resumed run needs).
  virtual std::map<std::string, Tensor> state(bool with_optimizer) const = 0;
  // Strict: a file of another kind, preset or size is refused with the
  // names that differ, and nothing is changed.
  virtual void load_state(const std::map<std::string, Tensor>& tensors, bool with_optimizer) = 0;
  virtual std::map<std::string, std::string> metadata() const;

  void set_step_recipe(const StepRecipe& r) { recipe_ = r; }
  // Data-parallel training (engine/dist.h): every network's gradients are
  // averaged over the ranks of `c` after its backward pass, before the
  // clip and the update. nullptr (the default): one process.
  void set_communicator(dist::Communicator* c) { comm_ = c; }
  // With clipping on: each network's gradient norm at the last step, before
  // clipping ("grad_norm"; the gan: "grad_norm_g", "grad_norm_d"). Else empty.
  const Losses& grad_norms() const { return grad_norms_; }
  virtual std::vector<std::string> grad_norm_names() const { return {"grad_norm"}; }

 protected:
  explicit Colorizer(ColorizerOptions o) : opt_(std::move(o)) {}
  Device dev() const { return opt_.device; }  // where the weights live and the steps run
  // loss.backward(), then the recipe's update of the network opt holds:
  // the gradients' average over the ranks (when data-parallel: overlapped
  // with the backward pass, dist::GradAverager, unless TINCT_DIST_OVERLAP=0),
  // the clip (its norm recorded as `norm_name`), the step's learning rate
  // and weight decay, then opt.step().
  // With `phases` (the network's transposed convolutions when they train
  // equalized): their gradients are projected before the clip and the
  // update, their weights after it.
  void backward_and_step(const Tensor& loss, optim::Adam& opt, const std::string& norm_name,
                         DeconvPhases* phases = nullptr);
  // At the start of a step: with equalized phases, the network's transposed
  // convolutions projected (a no-op after the first step; weights loaded
  // or initialised off the subspace come onto it) and returned for
  // backward_and_step; else null.
  DeconvPhases* equalized_phases();
  // The network's transposed convolutions (the GAN: its generator's).
  virtual DeconvPhases* deconvs() = 0;
  ColorizerOptions opt_;
  StepRecipe recipe_;
  Losses grad_norms_;
  dist::Communicator* comm_ = nullptr;
  bool phases_equalized_ = false;
};

std::unique_ptr<Colorizer> make_colorizer(const ColorizerOptions& o);

// Batch planes -> tensors on device d.
Tensor batch_L(const data::Batch& b, Device d = Device::CPU);
Tensor batch_ab(const data::Batch& b, Device d = Device::CPU);  // ab/110

}  // namespace tinct::models
