// checkpoint.cpp — Tensor maps <-> safetensors files.
#include "engine/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace tinct {

namespace {

const char* kCrcKey = "data_crc32";

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

}  // namespace

void save_checkpoint(const std::string& path, const std::map<std::string, Tensor>& tensors,
                     const std::map<std::string, std::string>& metadata, DType store_as) {
  std::vector<NamedArray> arrays;
  arrays.reserve(tensors.size());
  for (const auto& [name, t] : tensors) arrays.push_back({name, t.shape(), t.to_vector()});
  std::map<std::string, std::string> md = metadata;
  const uint32_t crc = data_area_crc32(arrays, store_as);
  md[kCrcKey] = hex32(crc);
  save_safetensors(path, arrays, md, store_as);
  // Read back what reached the file: a checkpoint that cannot be loaded is
  // found now, while the run that made it still has its weights in memory.
  const SafetensorsFile back = load_safetensors(path);
  if (back.data_crc32 != crc)
    throw std::runtime_error(path + ": read back, its data does not match what was written (CRC-32 " +
                             hex32(back.data_crc32) + ", expected " + hex32(crc) + ")");
}

int64_t first_non_finite(const float* data, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return int64_t(i);
  return -1;
}

Checkpoint load_checkpoint(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  // Files from elsewhere (PyTorch's save_file) carry no checksum: taken as they are.
  if (auto it = f.metadata.find(kCrcKey); it != f.metadata.end() && it->second != hex32(f.data_crc32))
    throw std::runtime_error(path + ": the tensor data does not match its checksum (CRC-32 " + hex32(f.data_crc32) +
                             ", the file says " + it->second + "): the file is damaged");
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
