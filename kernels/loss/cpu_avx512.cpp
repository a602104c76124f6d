// loss/cpu_avx512.cpp — the soft-target cross-entropy of one image
// (loss/soft_ce_image.h) compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt), so its
// loops run in AVX512 vectors; loss/cpu.cpp calls it when the avx512 kernel
// set is active. Same contract as soft_ce_image_ref (loss/ref.cpp).
// Benchmark: the classification training step's soft_cross_entropy row:
//   printf "train classification compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build/bench/bench_peer_forward
#include "kernels/loss/soft_ce_image.h"

namespace tinct::cpu::detail {

#if defined(__AVX512F__)
namespace {
double image_avx512(int Q, int HW, const float* z, const float* t, const float* w, float gscale, double count,
                  float* dz) {
  return soft_ce_image_impl(Q, HW, z, t, w, gscale, count, dz);
}
}  // namespace
SoftCeImageFn soft_ce_image_avx512() { return image_avx512; }
#else  // built without AVX512 (not x86-64)
SoftCeImageFn soft_ce_image_avx512() { return nullptr; }
#endif

}  // namespace tinct::cpu::detail
