// conv/cpu_transpose_phases.h — internal to the kernels library: the AVX-512
// store of the phase-wise transposed convolution (conv/cpu_transpose_phases.cpp
// drives it; conv/cpu_transpose_phases_avx512.cpp holds it, compiled with its
// own -m flags). The register tiles it stores from are the blocked
// convolution's (conv/cpu_blocked.h).
#pragma once

namespace tinct::cpu::detail {

// The simple epilogues (the decoders' folded batch norm + ReLU) that the
// store applies itself: v = act(scale * v + shift), act none / ReLU / leaky ReLU.
struct SimpleEpilogue {
  float scale = 1.0f, shift = 0.0f;
  int act = 0;  // 0 none, 1 ReLU, 2 leaky ReLU
  float slope = 0.0f;
};

// y[2 j] = f(even[j]), y[2 j + 1] = f(odd[j]) for the n outputs 0 <= 2 j (+1) < n,
// f the epilogue e: the two column phases of one output row segment of one
// channel, interleaved into y. even and odd are read for j < (n + 1) / 2 only.
using InterleaveFn = void (*)(const float* even, const float* odd, int n, const SimpleEpilogue& e, float* y);
// nullptr where the file was built without AVX-512.
InterleaveFn interleave2_avx512();

}  // namespace tinct::cpu::detail
