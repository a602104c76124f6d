// conv/cpu_direct.h — internal to the kernels library: the register tiles of the
// direct convolution (conv/cpu_direct.cpp drives them; conv/cpu_direct_avx512.cpp
// holds them, compiled with its own -m flags).
#pragma once

#include <cstddef>

namespace tinct::cpu::detail {

// y[m * ldy + i], m < mk, i < nq <= px: one row segment of mk output
// channels (see conv/cpu_direct_avx512.cpp for the exact sum).
using DirectTileFn = void (*)(const float* x, size_t plane, int ldx, const float* w, int C, int R, int S, int dh,
                              int dw, float* y, size_t ldy, int nq);
struct DirectTile {
  int mk, px;  // output channels, pixels
  DirectTileFn fn;
};

// Tiles for mk = 1, 2, 3, 4 (index mk - 1); nullptr where the file was built
// without the instruction set. A tile reads x up to px - 1 + (S - 1) dw
// floats past a row's start (px <= kDirectMaxPixels).
constexpr int kDirectMaxPixels = 128;
const DirectTile* direct_tiles_avx512();
const DirectTile* direct_tiles_avx2();

}  // namespace tinct::cpu::detail
