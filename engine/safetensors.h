// safetensors.h — reading and writing checkpoints in the safetensors format.
//
// The format (https://github.com/huggingface/safetensors), all little-endian:
//   8 bytes   N, the header length (uint64)
//   N bytes   a JSON object: {"__metadata__": {str: str}, "name":
//             {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//             padded with spaces so that the data area starts 8-byte aligned
//   the rest  the data area; [begin, end) is relative to its start
// A PyTorch user opens our files with safetensors.torch.load_file(), and
// PyTorch weights saved with save_file() load here.
//
// This layer is independent of the Tensor class: it moves names, shapes and
// float32 values. Storage as F16/BF16 halves the file size for shipped weights;
// values are always float32 in memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tinct {

enum class DType { F32, F16, BF16 };

struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;  // empty = scalar (one element)
  std::vector<float> data;     // row-major, product(shape) elements
};

struct SafetensorsFile {
  std::vector<NamedArray> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
  uint32_t data_crc32 = 0;  // CRC-32 of the data area's bytes as stored
  // The tensor called `name`, or nullptr.
  const NamedArray* find(const std::string& name) const;
};

// Writes atomically: PATH.tmp.<pid> is written fully and fsync'd, then renamed
// over PATH; on any failure the temp file is removed and PATH is untouched.
// Tensors are laid out sorted by name, the header is compact JSON with
// "__metadata__" first (omitted when empty), exactly as the Python package
// writes it. store_as picks the on-disk dtype (F16/BF16: round to nearest
// even), per tensor as stored_dtype says: a tensor F16 cannot hold stays F32.
// Throws std::runtime_error (message starts with PATH) on invalid input
// (duplicate or empty names, "__metadata__" as a name, negative dimensions,
// data size != product(shape)) or on an I/O error.
void save_safetensors(const std::string& path, const std::vector<NamedArray>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      DType store_as = DType::F32);

// The dtype save_safetensors stores `t` as when asked for store_as: F16
// becomes F32 for a tensor with a finite value beyond binary16's range
// (|x| > 65504, which would turn into inf: batch norm's running variances of
// a long run reach 1.8e5), so that the file still loads; otherwise store_as.
DType stored_dtype(const NamedArray& t, DType store_as);

// Reads a file with F32, F16 or BF16 tensors (converted to float32). Every
// inconsistency in the file is reported as std::runtime_error whose message
// starts with PATH and says what is wrong; it never reads out of bounds. The
// tensors must tile the data area exactly (no gap, no unused bytes at the
// end), as the Python package requires.
SafetensorsFile load_safetensors(const std::string& path);

// The CRC-32 (engine/crc32.h) of the data area save_safetensors would write
// for these tensors stored as `store_as`: what a writer puts in the metadata
// so that a reader can tell damaged data from good (engine/checkpoint.h).
uint32_t data_area_crc32(const std::vector<NamedArray>& tensors, DType store_as);

// IEEE binary16 and bfloat16 conversions. float -> 16 bit rounds to nearest
// even, overflows to +-inf, keeps NaN a NaN (sign and top payload bits kept)
// and produces subnormals where binary16 has them. 16 bit -> float is exact.
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);

}  // namespace tinct
