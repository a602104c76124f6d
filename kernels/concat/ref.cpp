// concat/ref.cpp — channel concatenation and its adjoint, the reference (the
// specification: plain single-threaded loops; concat/cpu.cpp threads them).
//
//   channel_copy:       dst[n, c0 + c, i]  = src[n, c, i]        for c < Csrc
//   channel_slice_add:  dst[n, c, i]      += src[n, c0 + c, i]   for c < Cdst
// Concatenating tensors along C is one channel_copy per input (each at its
// own offset c0 in the Cdst-channel output). Its backward is the adjoint: each
// input's gradient gets the matching channel slice of the output gradient,
// added (so a tensor concatenated twice sums both slices).
#include "kernels/kernels.h"

namespace tinct::cpu {

void channel_copy_ref(int N, int HW, int Csrc, const float* src, int Cdst, int c0, float* dst) {
  // Each (n,c) iteration writes its own destination plane.
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < Csrc; ++c) {
      const float* s = src + (size_t(n) * Csrc + c) * HW;
      float* d = dst + (size_t(n) * Cdst + c0 + c) * HW;
      for (int i = 0; i < HW; ++i) d[i] = s[i];
    }
}

void channel_slice_add_ref(int N, int HW, int Csrc, const float* src, int c0, int Cdst, float* dst) {
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < Cdst; ++c) {
      const float* s = src + (size_t(n) * Csrc + c0 + c) * HW;
      float* d = dst + (size_t(n) * Cdst + c) * HW;
      for (int i = 0; i < HW; ++i) d[i] += s[i];
    }
}

}  // namespace tinct::cpu
