// conv/winograd_tiles.h — the tile geometry of the F(4x4, 3x3) Winograd
// convolutions, shared by the readable reference (conv/ref_winograd.cpp) and
// the fast CPU path (conv/cpu_winograd.cpp).
#pragma once

#include "kernels/kernels.h"

namespace tinct::cpu::winograd {

// The 4x4 output tiles of one image: dil_h * dil_w phases of TH x TW tiles.
// Tile (a, b, th, tw) covers the outputs (a + dh (4 th + i), b + dw (4 tw + j)),
// i, j < 4, and reads the inputs (a + dh (4 th - ph + i), b + dw (4 tw - pw + j)),
// i, j < 6 (ph = pad_h / dil_h); outputs outside the image are dropped, inputs
// outside it are zero.
struct Tiles {
  int dh, dw, ph, pw, TH, TW;
  explicit Tiles(const Conv2dParams& p)
      : dh(p.dil_h), dw(p.dil_w), ph(p.pad_h / p.dil_h), pw(p.pad_w / p.dil_w),
        TH(((p.P + p.dil_h - 1) / p.dil_h + 3) / 4), TW(((p.Q + p.dil_w - 1) / p.dil_w + 3) / 4) {}
  int per_image() const { return dh * dw * TH * TW; }
  // tile number u of an image -> phase (a, b) and tile (th, tw)
  void decode(int u, int& a, int& b, int& th, int& tw) const {
    const int phase = u / (TH * TW), r = u % (TH * TW);
    a = phase / dw, b = phase % dw, th = r / TW, tw = r % TW;
  }
};

}  // namespace tinct::cpu::winograd
