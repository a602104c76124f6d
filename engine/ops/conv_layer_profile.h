// conv_layer_profile.h — per-layer rows in the op table (engine/profile.h):
// with TINCT_PROFILE=layers every CPU convolution of the fused inference
// path also opens a range named by its shape and the kernel path the
// dispatcher takes, e.g. "  conv 32->32 3x3 s1 d1 @128x128 winograd", so a
// forward's time can be set beside PyTorch's layer by layer
// (bench/cpu_peer/profile_torch.py). Off (any other value), no cost.
#pragma once

#include "kernels/kernels.h"

namespace tinct::ops {

// The range name for this convolution (interned: lives to the end of the
// process), or nullptr when per-layer rows are off.
const char* conv_layer_range_name(const Conv2dParams& p, bool transposed);

}  // namespace tinct::ops
