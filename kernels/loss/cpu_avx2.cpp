// loss/cpu_avx2.cpp — the soft-target cross-entropy of one image
// (loss/soft_ce_image.h) compiled with -mavx2 -mfma -mno-avx512f (CMakeLists.txt), so its
// loops run in AVX2 vectors; loss/cpu.cpp calls it when the avx2 kernel
// set is active. Same contract as soft_ce_image_ref (loss/ref.cpp).
// Benchmark: the classification training step's soft_cross_entropy row:
//   printf "train classification compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build/bench/bench_peer_forward
#include "kernels/loss/soft_ce_image.h"

namespace tinct::cpu::detail {

#if defined(__AVX2__)
namespace {
double image_avx2(int Q, int HW, const float* z, const float* t, const float* w, float gscale, double count,
                  float* dz) {
  return soft_ce_image_impl(Q, HW, z, t, w, gscale, count, dz);
}
}  // namespace
SoftCeImageFn soft_ce_image_avx2() { return image_avx2; }
#else  // built without AVX2 (not x86-64)
SoftCeImageFn soft_ce_image_avx2() { return nullptr; }
#endif

}  // namespace tinct::cpu::detail
