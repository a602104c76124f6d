// state_names.h — tests on the names of a model's state ("model.conv8.6.bias",
// "ema.model.bn1.running_mean"), shared by the code that picks tensors by name.
#pragma once

#include <string>

namespace tinct::models {

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace tinct::models
