// lr_schedule.h — the learning rate of each training step: a linear warm-up,
// then constant, cosine or step decay (`tinct train --warmup --schedule ...`).
//
// The rate of a step is a pure function of the step number (and the run's
// length), never of state carried from step to step, so a resumed run takes
// exactly the rates an uninterrupted one does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinct::models {

struct LrSchedule {
  std::string kind = "constant";  // constant | cosine | step
  int64_t warmup = 0;             // steps of linear warm-up from 0
  double lr_min = 0;              // cosine: the rate at the last step
  std::vector<int64_t> steps;     // step: the steps at which the rate drops, increasing
  double gamma = 0.1;             // step: the factor of each drop
};

// Refuses (std::invalid_argument naming the option) an unknown kind, a
// negative warm-up or lr_min, a gamma outside (0, 1], drop steps that are
// not positive and strictly increasing.
void check_schedule(const LrSchedule& s);

// The rate of step `step` (1 = the first) of a run of `total` steps whose
// peak rate is `base`:
//   warm-up   step < warmup: base * step / warmup
//   constant  base
//   cosine    lr_min + (base - lr_min) * (1 + cos(pi * p)) / 2, p = (step - warmup) / (total - warmup),
//             so base right after the warm-up and lr_min at the last step
//   step      base * gamma^(number of drop steps <= step)
// With the defaults (constant, no warm-up) it is base exactly.
double lr_at(const LrSchedule& s, int64_t step, int64_t total, double base);

// "4000,8000" -> {4000, 8000}; throws std::invalid_argument naming --lr-steps.
std::vector<int64_t> parse_lr_steps(const std::string& text);

}  // namespace tinct::models
