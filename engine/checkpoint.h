// checkpoint.h — named tensors to and from safetensors files.
//
// A thin bridge between Module::state_dict() / Optimizer::state_dict() and
// the file format in safetensors.h. Writes are atomic (temp file + rename).
#pragma once

#include <map>
#include <string>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace tinct {

// Atomic (temp file + rename). The metadata gains "data_crc32", the CRC-32 of
// the data area (the file stays plain safetensors: PyTorch opens it and
// ignores the key); the file is read back and checked against it before
// this returns.
void save_checkpoint(const std::string& path, const std::map<std::string, Tensor>& tensors,
                     const std::map<std::string, std::string>& metadata = {}, DType store_as = DType::F32);

struct Checkpoint {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};
// Refuses (std::runtime_error naming the file and what is wrong) a file
// whose data does not match its "data_crc32", and one holding a NaN or an
// infinity (naming the tensor and the element): no weights or optimizer state of a
// usable model has one, and such a file would colorize to black.
Checkpoint load_checkpoint(const std::string& path);

// The index of the first NaN or infinity in data[0, n), or -1.
int64_t first_non_finite(const float* data, size_t n);

// The entries whose names start with `prefix`, with the prefix removed; used
// to keep a model and its optimizer ("model." / "optim.") in one file.
std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix);
std::map<std::string, Tensor> strip_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix);

}  // namespace tinct
