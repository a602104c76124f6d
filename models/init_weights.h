// init_weights.h — `tinct train --init FILE`: a new run starts from another
// run's weights instead of the seed's random ones (fine-tuning).
//
// Every weight of the new model whose name and shape the file has is copied;
// the rest keep their fresh initialisation. One exception is mapped instead:
// a classification model trained in another gamut (262 bins) starting one in
// Zhang's 313, whose last layer has a row per bin. Each new bin takes the row
// (weights and bias) of the old gamut's bin nearest its centre, the bias
// lowered by log(copies of that row), so the copies share the old bin's
// probability and the head starts out predicting the old one's distribution.
// The rebalancing prior is the new run's own (from its pack), never the file's.
#pragma once

#include <string>

#include "models/colorizer.h"

namespace tinct::models {

// Loads `path` (a checkpoint or exported weights; checked as load_checkpoint
// checks) into `model`. Refuses a file of another kind or preset, and one of
// which no weight fits. Returns one line for the run's log: how many
// tensors were copied, mapped and left fresh.
std::string init_weights_from(Colorizer& model, const std::string& path);

}  // namespace tinct::models
