// common/aligned_scratch.h — a 64-byte aligned float buffer that only grows.
// The CPU kernels keep thread_local instances of it for packed panels and
// transformed tiles, so the steady state does no allocation; 64-byte rows are
// what the micro-kernels' aligned loads of B panels need. Out of memory is
// std::bad_alloc (the engine reports it), never an abort.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace tinct::cpu::detail {

class AlignedScratch {
 public:
  AlignedScratch() = default;
  AlignedScratch(const AlignedScratch&) = delete;
  AlignedScratch& operator=(const AlignedScratch&) = delete;
  ~AlignedScratch() { std::free(data_); }

  // At least n floats; the contents are not kept when it grows.
  float* get(size_t n) {
    if (n > capacity_) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) throw std::bad_alloc();
      capacity_ = bytes / sizeof(float);
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace tinct::cpu::detail
