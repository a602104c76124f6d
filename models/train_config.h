// train_config.h — a run's config.json: every option of `tinct train`, so
// that a run can be reproduced from its folder alone.
//
// Written at the start of a run (atomically) and again at each resume;
// `tinct train --resume` takes the recipe from it, and
// `tinct train --config RUN/config.json --out NEW` starts a new run with it.
// The keys are the options' names without the dashes ("weight_decay" for
// --weight-decay); "lr" is the rate the run used (the model's default made
// explicit). Not kept: --out (the folder is the run), --resume, --quiet and
// --time-budget (about one process, not the run).
#pragma once

#include <string>

#include "engine/json.h"
#include "models/train.h"

namespace tinct::models {

json::Value config_json(const TrainOptions& o);
// Strict: an unknown key or a value of the wrong type is an error naming the
// file and the key. Keys that are absent keep the defaults. out is left empty.
TrainOptions config_from_json(const json::Value& v, const std::string& file);

void write_config(const std::string& path, const TrainOptions& o);
TrainOptions read_config(const std::string& path);

// A resumed run's options against the recipe its folder's config.json
// holds. The length of the run, the device and the activations' layout
// (engine/layout.h), the loader threads, the
// evaluation and checkpoint settings and the pack's path (the pack's
// content is checked by its fingerprint) may change; the learning rate may
// change too, with a note returned ("" when none). Any other difference (the
// precision too) is refused (std::invalid_argument naming the option and
// both values).
std::string check_resume_recipe(const TrainOptions& saved, const TrainOptions& now);

}  // namespace tinct::models
