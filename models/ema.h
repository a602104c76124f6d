// ema.h — an exponential moving average of a colorizer's weights
// (`tinct train --ema DECAY`).
//
// After every step each weight tensor ("model.*") moves its average:
//   ema = decay * ema + (1 - decay) * w,
// starting from the weights the run starts with. Batch-norm running
// statistics are not averaged: the averaged model uses the live ones (the
// statistics of the current weights are the best estimate there is). The
// averages live in checkpoints as "ema.model.*", so a resumed run continues
// them bit for bit, and `tinct export --ema` ships them.
#pragma once

#include <map>
#include <string>

#include "engine/tensor.h"
#include "models/colorizer.h"

namespace tinct::models {

// Whether the checkpoint tensor `name` is one the average keeps.
bool is_averaged(const std::string& name);

class WeightAverage {
 public:
  // decay in (0, 1) (the caller checks); the average starts at the model's weights.
  WeightAverage(const Colorizer& model, double decay);
  void update(const Colorizer& model);
  // "ema.<name>" for every averaged tensor.
  std::map<std::string, Tensor> state() const;
  // From a checkpoint's tensors; throws std::runtime_error when one is missing.
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
