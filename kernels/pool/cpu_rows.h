// pool/cpu_rows.h — internal to the kernels library: one output row of the
// fast max pooling (pool/cpu.cpp), as a function a kernel set can supply
// (pool/cpu_avx512.cpp).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace tinct::cpu::detail {

// Output row oh of the plane whose input starts at xp: yr[q] and, where ar is
// not null, ar[q] for q < p.Q, exactly as pool/ref.cpp (ties to the first tap
// in r-then-s order, the first NaN wins, padding never wins). Only for
// stride_w 1 or 2; pool/cpu.cpp runs the others.
using PoolRow = void (*)(const Pool2dParams& p, const float* xp, int oh, float* yr, int32_t* ar);

PoolRow pool_row_avx512();  // nullptr where built without AVX-512

}  // namespace tinct::cpu::detail
