// avx512_intrinsics.h — <immintrin.h> for the AVX-512 files, without GCC's
// false warnings on it.
//
// GCC 12's conversions, casts, rounding, masked loads and permutes pass an
// _mm512_undefined_*() as the unused source, and -W(maybe-)uninitialized
// reports that in every file that inlines them (once a function, at the
// intrinsic's line in avx512fintrin.h). The pragmas hold for the rest of the
// including file, which is what such a file wants; include this one last.
#pragma once

#include <immintrin.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
