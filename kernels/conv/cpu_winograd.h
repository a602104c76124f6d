// conv/cpu_winograd.h — internal to the kernels library: the input and output
// transforms of the CPU Winograd F(4x4, 3x3) and F(3x3, 4x4) forwards
// (conv/cpu_winograd.cpp drives them and holds the portable versions;
// conv/cpu_winograd_avx512.cpp holds the AVX-512 ones, compiled with its own
// -m flags).
//
// Both work on a "group" (conv/winograd_tiles.h): n <= 16 tiles in up to 8
// segments, segment s being cnt consecutive tiles of one tile row of one
// phase of one image at lanes [lane, lane + cnt) (tile l of the segment reads
// input columns c0 + dw (m l + j), j < 6, and rows r0 + dh i, i < 6; it writes
// output columns c0 + dw (m l + j), rows r0 + dh i, i, j < m; m = 4 for
// F(4x4, 3x3), 3 for F(3x3, 4x4)). The group's tiles, in segment order, are
// columns col .. col + n - 1 of its block. Transforms with segments == false
// take one segment at lane 0 only.
#pragma once

#include <cstddef>

#include <vector>

#include "kernels/conv/winograd_tiles.h"
#include "kernels/kernels.h"

namespace tinct::cpu::detail {

struct WinoSeg {
  size_t off;  // image n's channel 0 in x (input) or y and the residual (output), in floats
  int r0, c0, lane, cnt;
};
struct WinoIn {
  const float* x;  // the batch
  size_t plane;    // H * W
  int H, W, dh, dw, n, C;
  int m;  // the tile step (4; F(3x3, 4x4): 3)
  int nseg;
  WinoSeg seg[8];
};
// V[t][c][col + l] = (B^T d_l B)[t] for channels c < C, written in the packed-B
// panel layout of a GEMM with panel width nr: element (t, c, j) at
//   V + t * tstride + (j / nr) * nr * C + c * nr + j % nr.
using WinoInputFn = void (*)(const WinoIn& in, float* V, size_t tstride, int col, int nr);

struct WinoOut {
  float* y;                // the batch's output, channel k0
  const float* residual;   // the epilogue's residual, at the same offsets, or null
  int P, Q, dh, dw, n, K;
  int d2_stores;  // dilation 2 (AVX-512): masked stores of the even floats, not scatters
  int nseg;
  WinoSeg seg[8];
};
// The epilogue's per-channel constants and activation, already resolved:
// v = psc[k] * act(sc[k] * v + sh[k] + res) + psh[k], act none / ReLU / leaky.
struct WinoEpi {
  const float *sc, *sh, *psc, *psh;  // never null (the caller fills 1s and 0s)
  int act;                           // 0 none, 1 ReLU, 2 leaky ReLU
  float slope;
};
// y = epilogue(A^T M_l A) for the group's tiles, where M holds, for output
// channel k and tile column j, M[(k * 36 + t) * ldm + j]; outputs past P, Q dropped.
using WinoOutputFn = void (*)(const WinoOut& out, const WinoEpi& e, const float* M, int ldm, int col);

// U[t * upack + m] = (G g_m G^T)[t] for the filters g_m = g + m * kstride (3 x 3
// each, 4 x 4 for F(3x3, 4x4)), m < rows; zeros for rows <= m < mr (the packed
// panel's padding rows).
using WinoFilterFn = void (*)(const float* g, size_t kstride, int rows, int mr, float* U, size_t upack);

struct WinoTransforms {
  WinoInputFn input;
  WinoOutputFn output;
  WinoFilterFn filter;  // null: the portable loops of conv/cpu_winograd.cpp
  bool segments;        // input and output take groups of several segments
};
// nullptr where the file was built without the instruction set.
const WinoTransforms* winograd_transforms_avx512();
const WinoTransforms* winograd43_transforms_avx512();  // F(3x3, 4x4); dilation 1 only
// The transforms of the active kernel set (AVX-512 or the portable loops of
// conv/cpu_winograd.cpp); the backward-filter (conv/cpu_winograd_wgrad.cpp)
// reuses the input transform.
const WinoTransforms& winograd_active_transforms();
const WinoTransforms& winograd43_active_transforms();  // F(3x3, 4x4)

// The groups of a call for the transforms tf, in blocks of nb tiles
// (winograd::tile_blocks): packed segments where they take them and the
// tile rows are at most max_tw tiles (winograd::tile_groups_packed;
// TINCT_WINOGRAD_SEGMENTS=0 turns that off), one segment a group otherwise.
std::vector<winograd::Group> winograd_groups(const Conv2dParams& p, const winograd::Tiles& T,
                                             const WinoTransforms& tf, int nb, int max_tw);
// Tests only: 1 / 0 force the packed groups on / off whatever
// TINCT_WINOGRAD_SEGMENTS says, -1 back to it; returns the previous setting.
// Not thread-safe: set it while no convolution runs.
int winograd_segments_for_test(int on);
// The input transform's arguments for group G of x (the batch).
WinoIn winograd_in(const winograd::Group& G, const winograd::Tiles& T, const Conv2dParams& p, const float* x);
// The output transform's segment of S (its outputs at r0, c0 of image n).
WinoSeg winograd_out_seg(const winograd::Segment& S, const winograd::Tiles& T, const Conv2dParams& p);

}  // namespace tinct::cpu::detail
