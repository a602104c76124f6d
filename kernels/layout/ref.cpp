// layout/ref.cpp — the specification of the layout family: a tensor's two
// memory orders. NCHW holds [N][C][HW] (a plane per channel), NHWC or
// channels-last [N][HW][C] (a pixel's channels side by side). The logical
// shape [N, C, H, W] is the same; only the addresses differ.
#include "kernels/kernels.h"

namespace tinct::cpu {

void nchw_to_nhwc(const float* in, float* out, int N, int C, int HW) {
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) out[(size_t(n) * HW + i) * C + c] = in[(size_t(n) * C + c) * HW + i];
}

void nhwc_to_nchw(const float* in, float* out, int N, int C, int HW) {
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) out[(size_t(n) * C + c) * HW + i] = in[(size_t(n) * HW + i) * C + c];
}

}  // namespace tinct::cpu
