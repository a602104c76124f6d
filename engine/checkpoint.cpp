// checkpoint.cpp — Tensor maps <-> safetensors files.
#include "engine/checkpoint.h"

#include <cstring>

namespace tinct {

void save_checkpoint(const std::string& path, const std::map<std::string, Tensor>& tensors,
                     const std::map<std::string, std::string>& metadata, DType store_as) {
  std::vector<NamedArray> arrays;
  arrays.reserve(tensors.size());
  for (const auto& [name, t] : tensors) arrays.push_back({name, t.shape(), t.to_vector()});
  save_safetensors(path, arrays, metadata, store_as);
}

Checkpoint load_checkpoint(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  Checkpoint c;
  c.metadata = std::move(f.metadata);
  for (NamedArray& a : f.tensors) c.tensors[a.name] = Tensor::from_vector(a.shape, a.data);
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
