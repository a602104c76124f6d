// conv/winograd_tiles.h — the tile geometry of the F(4x4, 3x3) and F(3x3, 4x4)
// Winograd convolutions, shared by the readable reference (conv/ref_winograd.cpp)
// and the fast CPU path (conv/cpu_winograd.cpp).
#pragma once

#include <algorithm>
#include <vector>

#include "kernels/kernels.h"

namespace tinct::cpu::winograd {

// The filter transform's G (6 x R) of both algorithms, as [6][4] tables:
// F(4x4, 3x3) (R = 3; the fourth column 0) and F(3x3, 4x4) (R = 4), row t
// s_t (1, p_t, p_t^2 [, p_t^3]) for the points 0, 1, -1, 2, -2 and infinity
// (conv/ref_winograd.cpp derives them). The reference, the fast forward's
// filter transform and the backward-filter's G^T dU G all read these.
inline constexpr float kG3[6][4] = {{0.25f, 0, 0, 0},
                                    {-1.0f / 6, -1.0f / 6, -1.0f / 6, 0},
                                    {-1.0f / 6, 1.0f / 6, -1.0f / 6, 0},
                                    {1.0f / 24, 1.0f / 12, 1.0f / 6, 0},
                                    {1.0f / 24, -1.0f / 12, 1.0f / 6, 0},
                                    {0, 0, 1, 0}};
inline constexpr float kG4[6][4] = {{0.25f, 0, 0, 0},
                                    {-1.0f / 6, -1.0f / 6, -1.0f / 6, -1.0f / 6},
                                    {-1.0f / 6, 1.0f / 6, -1.0f / 6, 1.0f / 6},
                                    {1.0f / 24, 1.0f / 12, 1.0f / 6, 1.0f / 3},
                                    {1.0f / 24, -1.0f / 12, 1.0f / 6, -1.0f / 3},
                                    {0, 0, 0, 1}};
// G of a filter of R rows (3 or 4).
inline const float (*filter_g(int R))[4] { return R == 4 ? kG4 : kG3; }

// The m x m output tiles of one image: dil_h * dil_w phases of TH x TW tiles.
// Both algorithms read 6x6 input tiles (alpha = m + r - 1 = 6), so the tile
// step is m = 4 for the 3x3 filters and m = 3 for the 4x4 ones.
// Tile (a, b, th, tw) covers the outputs (a + dh (m th + i), b + dw (m tw + j)),
// i, j < m, and reads the inputs (a + dh (m th - ph + i), b + dw (m tw - pw + j)),
// i, j < 6 (ph = pad_h / dil_h); outputs outside the image are dropped, inputs
// outside it are zero.
struct Tiles {
  int m, dh, dw, ph, pw, TH, TW;
  explicit Tiles(const Conv2dParams& p)
      : m(7 - p.R), dh(p.dil_h), dw(p.dil_w), ph(p.pad_h / p.dil_h), pw(p.pad_w / p.dil_w),
        TH(((p.P + p.dil_h - 1) / p.dil_h + m - 1) / m), TW(((p.Q + p.dil_w - 1) / p.dil_w + m - 1) / m) {}
  int per_image() const { return dh * dw * TH * TW; }
  // tile number u of an image -> phase (a, b) and tile (th, tw)
  void decode(int u, int& a, int& b, int& th, int& tw) const {
    const int phase = u / (TH * TW), r = u % (TH * TW);
    a = phase / dw, b = phase % dw, th = r / TW, tw = r % TW;
  }
};

// The fast paths' unit of work: a group of <= 16 tiles in the 16 lanes of a
// transform, as up to 8 segments: runs of consecutive tiles of one tile row
// (image n, phase (a, b), row th, tiles tw0 .. tw0 + cnt - 1) at lanes
// [lane, lane + cnt). Segments of one group are one idle lane apart (the
// AVX-512 input transform stages tile l's input columns at m l .. m l + 5 of a
// buffer: the next segment's must not overlap them). cnt is the group's tile
// count (the sum of its segments'); its tiles are dense columns of the GEMM.
struct Segment {
  int n, a, b, th, tw0, cnt, lane;
};
struct Group {
  static constexpr int kMaxSeg = 8;
  int cnt = 0, nseg = 0;
  Segment seg[kMaxSeg];
};
// One segment a group: <= 16 consecutive tiles of one tile row, over every
// image, phase and row of a batch (the form every transform takes).
inline std::vector<Group> tile_groups(const Conv2dParams& p, const Tiles& T) {
  std::vector<Group> groups;
  for (int n = 0; n < p.N; ++n)
    for (int a = 0; a < T.dh; ++a)
      for (int b = 0; b < T.dw; ++b)
        for (int th = 0; th < T.TH; ++th)
          for (int tw = 0; tw < T.TW; tw += 16) {
            Group g;
            g.cnt = std::min(16, T.TW - tw), g.nseg = 1;
            g.seg[0] = {n, a, b, th, tw, g.cnt, 0};
            groups.push_back(g);
          }
  return groups;
}
// Segments packed into the 16 lanes (the transforms that take several
// segments: WinoTransforms::segments): the tile rows in the order (n, a, th,
// b) (both column phases of a row next to each other, so that they land in
// the same block and two threads do not write interleaved columns of the
// same output rows), each row's tiles filling the lanes left in the current
// group (a row longer than that is split), one idle lane after each segment.
// A group is also closed where the tiles so far reach a multiple of nb, so
// that tile_blocks(groups, nb) cuts blocks of exactly nb tiles (whole GEMM
// panels) but the last.
inline std::vector<Group> tile_groups_packed(const Conv2dParams& p, const Tiles& T, int nb) {
  std::vector<Group> groups;
  Group g;
  int lane = 0, in_block = 0;
  for (int n = 0; n < p.N; ++n)
    for (int a = 0; a < T.dh; ++a)
      for (int th = 0; th < T.TH; ++th)
        for (int b = 0; b < T.dw; ++b)
          for (int tw = 0; tw < T.TW;) {
            if (lane >= 16 || g.nseg == Group::kMaxSeg || in_block == nb) {
              groups.push_back(g), g = Group(), lane = 0;
              if (in_block == nb) in_block = 0;
            }
            const int cnt = std::min(std::min(16 - lane, T.TW - tw), nb - in_block);
            g.seg[g.nseg++] = {n, a, b, th, tw, cnt, lane};
            g.cnt += cnt, tw += cnt, lane += cnt + 1, in_block += cnt;
          }
  if (g.nseg) groups.push_back(g);
  return groups;
}

// Consecutive groups [g0, g1) of at most nb tiles (a group is never split).
struct Block {
  int g0, g1, tiles;
};
inline std::vector<Block> tile_blocks(const std::vector<Group>& groups, int nb) {
  std::vector<Block> blocks;
  for (int i = 0; i < (int)groups.size(); ++i) {
    if (blocks.empty() || blocks.back().tiles + groups[i].cnt > nb) blocks.push_back({i, i, 0});
    blocks.back().g1 = i + 1, blocks.back().tiles += groups[i].cnt;
  }
  return blocks;
}

}  // namespace tinct::cpu::winograd
