// checkpoint.cpp — Tensor maps <-> safetensors files.
#include "engine/checkpoint.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace tinct {

void save_checkpoint(const std::string& path, const std::map<std::string, Tensor>& tensors,
                     const std::map<std::string, std::string>& metadata, DType store_as) {
  std::vector<NamedArray> arrays;
  arrays.reserve(tensors.size());
  for (const auto& [name, t] : tensors) arrays.push_back({name, t.shape(), t.to_vector()});
  save_safetensors(path, arrays, metadata, store_as);
}

int64_t first_non_finite(const float* data, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return int64_t(i);
  return -1;
}

Checkpoint load_checkpoint(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  Checkpoint c;
  c.metadata = std::move(f.metadata);
  for (NamedArray& a : f.tensors) {
    const int64_t bad = first_non_finite(a.data.data(), a.data.size());
    if (bad >= 0)
      throw std::runtime_error(path + ": tensor \"" + a.name + "\" holds " + std::to_string(a.data[size_t(bad)]) +
                               " at element " + std::to_string(bad) +
                               "; weights must be finite (the file is damaged, or was saved from a diverged run)");
    c.tensors[a.name] = Tensor::from_vector(a.shape, a.data);
  }
  return c;
}

std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors) out[prefix + name] = t;
  return out;
}

std::map<std::string, Tensor> strip_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors)
    if (name.compare(0, prefix.size(), prefix) == 0) out[name.substr(prefix.size())] = t;
  return out;
}

}  // namespace tinct
