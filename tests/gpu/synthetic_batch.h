// synthetic_batch.h — a small training batch for the GPU tests of whole
// models (test_gpu_engine.cpp, test_gpu_layout.cpp).
#pragma once

#include <cmath>
#include <cstddef>

#include "models/data/loader.h"

// A small synthetic batch: smooth L and ab fields, ab_raw in LAB units.
inline tinct::data::Batch synthetic_batch(int n, int size) {
  tinct::data::Batch b;
  b.n = n;
  b.size = size;
  const size_t hw = size_t(size) * size;
  b.L.resize(size_t(n) * hw);
  b.ab.resize(size_t(n) * 2 * hw);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const size_t p = size_t(y) * size + x;
        b.L[size_t(i) * hw + p] = std::sin(0.3f * x + 0.2f * y + float(i)) * 0.8f;
        b.ab[(size_t(i) * 2 + 0) * hw + p] = 0.4f * std::cos(0.17f * x - 0.11f * y + float(i));
        b.ab[(size_t(i) * 2 + 1) * hw + p] = 0.35f * std::sin(0.07f * x * y / float(size) + 0.5f * float(i));
      }
  b.ab_raw.resize(b.ab.size());
  for (size_t k = 0; k < b.ab.size(); ++k) b.ab_raw[k] = b.ab[k] * 110.f;
  b.index.assign(size_t(n), 0);
  return b;
}
