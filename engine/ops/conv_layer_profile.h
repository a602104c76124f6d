// conv_layer_profile.h — per-layer rows in the op table (engine/profile.h):
// with TINCT_PROFILE=layers every CPU convolution pass (the fused inference
// forward, and the training forward, backward-data and backward-filter) also
// opens a range named by its shape, the pass and the kernel path the
// dispatcher takes, e.g. "  conv 32->32 3x3 s1 d1 @128x128 winograd" or
// "  conv 128->256 4x4 s1 d1 @15x15 bwd-filter gemm", so a forward's or a
// training step's time can be set beside PyTorch's layer by layer
// (bench/cpu_peer/profile_torch.py). Off (any other value), no cost.
#pragma once

#include <optional>

#include "engine/profile.h"
#include "engine/tensor.h"
#include "kernels/kernels.h"

namespace tinct::ops {

// The pass of a convolution layer; for a transposed layer, its own passes
// (its forward is conv2d's backward-data on p, and so on).
enum class ConvPass { Fwd, BwdData, BwdFilter };

// The range name for this convolution pass (interned: lives to the end of the
// process), or nullptr when per-layer rows are off. Only CPU passes at fp32
// are named (the path names are the fp32 dispatcher's).
const char* conv_layer_range_name(const Conv2dParams& p, bool transposed, ConvPass pass = ConvPass::Fwd);

// The per-layer row of one training pass, open for the pass's scope: named
// on the CPU at fp32 with TINCT_PROFILE=layers, nothing otherwise.
class ConvLayerRange {
 public:
  ConvLayerRange(Device dev, Precision prec, const Conv2dParams& p, bool transposed, ConvPass pass) {
    if (dev != Device::CPU || prec != Precision::fp32) return;
    if (const char* name = conv_layer_range_name(p, transposed, pass)) range_.emplace(name);
  }

 private:
  std::optional<ProfileRange> range_;
};

}  // namespace tinct::ops
