// ema.h — an exponential moving average of a colorizer's weights
// (`tinct train --ema DECAY`).
//
// After every step each of the model's tensors ("model.*") moves its average:
//   ema = decay * ema + (1 - decay) * w,
// starting from the tensors the run starts with. Batch-norm running
// statistics are averaged the same way (as timm's ModelEmaV2 does): the
// live ones describe the activations of the live weights, not of the
// average, and with them a normalised channel whose mean moved is divided
// by a variance that no longer fits (a 313-bin classification run at a
// constant rate 3e-4: the average's validation cross-entropy went from 4.5
// to 179 in 400 steps while the live model's stayed at 4.4; bench/RESULTS.md,
// 2026-12-07 third session). The averages live in checkpoints as
// "ema.model.*", so a resumed run continues them bit for bit, and `tinct
// export --ema` ships them. A checkpoint written before the statistics were
// averaged has no "ema.*running_*": its average starts them from the live ones.
#pragma once

#include <map>
#include <string>

#include "engine/tensor.h"
#include "models/colorizer.h"

namespace tinct::models {

// Whether the checkpoint tensor `name` is one the average keeps: every "model.*".
bool is_averaged(const std::string& name);
// Whether it is a batch-norm running statistic (running_mean, running_var).
bool is_bn_statistic(const std::string& name);

class WeightAverage {
 public:
  // decay in (0, 1) (the caller checks); the average starts at the model's weights.
  WeightAverage(const Colorizer& model, double decay);
  void update(const Colorizer& model);
  // "ema.<name>" for every averaged tensor.
  std::map<std::string, Tensor> state() const;
  // From a checkpoint's tensors; throws std::runtime_error when a weight's
  // average is missing (a statistic's: from the checkpoint's live one).
  void load(const std::map<std::string, Tensor>& ckpt, const std::string& file);

  // While alive, the model holds the averaged weights; its own come back after.
  class Swap {
   public:
    Swap(Colorizer& model, const WeightAverage& avg);
    ~Swap();
    Swap(const Swap&) = delete;
    Swap& operator=(const Swap&) = delete;

   private:
    Colorizer& model_;
    std::map<std::string, Tensor> saved_;
  };

 private:
  float decay_;
  std::map<std::string, Tensor> avg_;  // by the model's tensor name
};

// Whether a checkpoint's tensors hold an average.
bool has_ema(const std::map<std::string, Tensor>& tensors);
// The tensors with every "model.X" replaced by "ema.model.X" and the "ema.*"
// entries dropped: a weights file of the averaged model. Throws
// std::runtime_error when there is no average.
std::map<std::string, Tensor> with_ema_weights(const std::map<std::string, Tensor>& tensors);

}  // namespace tinct::models
