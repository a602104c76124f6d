// upsample/cpu.cpp — resizing, the fast CPU path: the reference
// (upsample/ref.cpp, the specification) on one contiguous range of the N*C
// planes per OpenMP thread (a plane depends on itself only; the taps are
// formed once per thread); the same result bit for bit.
#include "kernels/common/parallel.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

void upsample_fwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* x, float* y) {
  const size_t in_plane = size_t(H) * W, out_plane = size_t(Ho) * Wo;
  detail::parallel_chunks(size_t(N) * C, [&](size_t i, size_t e) {
    upsample_fwd_ref(mode, 1, int(e - i), H, W, Ho, Wo, x + i * in_plane, y + i * out_plane);
  });
}

void upsample_bwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* dy, float* dx) {
  const size_t in_plane = size_t(H) * W, out_plane = size_t(Ho) * Wo;
  detail::parallel_chunks(size_t(N) * C, [&](size_t i, size_t e) {
    upsample_bwd_ref(mode, 1, int(e - i), H, W, Ho, Wo, dy + i * out_plane, dx + i * in_plane);
  });
}

}  // namespace tinct::cpu
