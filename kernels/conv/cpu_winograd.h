// conv/cpu_winograd.h — internal to the kernels library: the input and output
// transforms of the CPU Winograd F(4x4, 3x3) and F(3x3, 4x4) forwards
// (conv/cpu_winograd.cpp drives them and holds the portable versions;
// conv/cpu_winograd_avx512.cpp holds the AVX-512 ones, compiled with its own
// -m flags).
//
// Both work on a "group": n <= 16 consecutive tiles of one tile row of one
// phase of one image (tile l reads input columns w0 + dw (m l + j), j < 6, and
// rows h0 + dh i, i < 6; it writes output columns q0 + dw (m l + j), rows
// p0 + dh i, i, j < m; m = 4 for F(4x4, 3x3), 3 for F(3x3, 4x4)). A group is
// column `col` .. col + n - 1 of its block.
#pragma once

#include <cstddef>

#include "kernels/kernels.h"

namespace tinct::cpu::detail {

struct WinoIn {
  const float* x;  // image n, channel 0
  size_t plane;    // H * W
  int H, W, h0, w0, dh, dw, n, C;
  int m = 4;  // the tile step (F(3x3, 4x4): 3)
};
// V[t][c][col + l] = (B^T d_l B)[t] for channels c < C, written in the packed-B
// panel layout of a GEMM with panel width nr: element (t, c, j) at
//   V + t * tstride + (j / nr) * nr * C + c * nr + j % nr.
using WinoInputFn = void (*)(const WinoIn& in, float* V, size_t tstride, int col, int nr);

struct WinoOut {
  float* y;                // image n, channel 0
  const float* residual;   // image n, channel 0 of the epilogue's residual, or null
  int P, Q, p0, q0, dh, dw, n, K;
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
};
// nullptr where the file was built without the instruction set.
const WinoTransforms* winograd_transforms_avx512();
const WinoTransforms* winograd43_transforms_avx512();  // F(3x3, 4x4); dilation 1 only
// The transforms of the active kernel set (AVX-512 or the portable loops of
// conv/cpu_winograd.cpp); the backward-filter (conv/cpu_winograd_wgrad.cpp)
// reuses the input transform.
const WinoTransforms& winograd_active_transforms();
const WinoTransforms& winograd43_active_transforms();  // F(3x3, 4x4)

}  // namespace tinct::cpu::detail
