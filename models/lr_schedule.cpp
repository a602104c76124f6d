// lr_schedule.cpp — warm-up and decay as functions of the step number.
#include "models/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace tinct::models {

void check_schedule(const LrSchedule& s) {
  if (s.kind != "constant" && s.kind != "cosine" && s.kind != "step")
    throw std::invalid_argument("--schedule must be constant, cosine or step, got '" + s.kind + "'");
  if (s.warmup < 0) throw std::invalid_argument("--warmup must be 0 or more steps");
  if (!(s.lr_min >= 0) || !std::isfinite(s.lr_min)) throw std::invalid_argument("--lr-min must be 0 or more");
  if (!(s.gamma > 0 && s.gamma <= 1)) throw std::invalid_argument("--lr-gamma must be in (0, 1]");
  for (size_t i = 0; i < s.steps.size(); ++i)
    if (s.steps[i] <= 0 || (i > 0 && s.steps[i] <= s.steps[i - 1]))
      throw std::invalid_argument("--lr-steps must be positive steps in increasing order");
  if (s.kind == "step" && s.steps.empty()) throw std::invalid_argument("--schedule step needs --lr-steps a,b,...");
  if (s.kind != "step" && !s.steps.empty()) throw std::invalid_argument("--lr-steps is for --schedule step");
}

double lr_at(const LrSchedule& s, int64_t step, int64_t total, double base) {
  if (s.warmup > 0 && step < s.warmup) return base * double(step) / double(s.warmup);
  if (s.kind == "cosine") {
    const int64_t span = total - s.warmup;
    const double p = span > 0 ? std::clamp(double(step - s.warmup) / double(span), 0.0, 1.0) : 1.0;
    return s.lr_min + (base - s.lr_min) * 0.5 * (1.0 + std::cos(M_PI * p));
  }
  if (s.kind == "step") {
    const auto drops = std::upper_bound(s.steps.begin(), s.steps.end(), step) - s.steps.begin();
    return base * std::pow(s.gamma, double(drops));
  }
  return base;
}

std::vector<int64_t> parse_lr_steps(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size())
      throw std::invalid_argument("--lr-steps must be step numbers separated by commas (\"4000,8000\"), got '" + text + "'");
    out.push_back(v);
  }
  if (out.empty()) throw std::invalid_argument("--lr-steps needs at least one step");
  LrSchedule s;
  s.kind = "step";
  s.steps = out;
  check_schedule(s);
  return out;
}

}  // namespace tinct::models
