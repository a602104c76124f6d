// layout.h — the memory order of the activations inside a network (issue 12):
// one process-wide setting, as the precision (engine/precision.h).
//
//   nchw  a plane per channel (the default; every op and device)
//   nhwc  channels-last, [N][H][W][C]: a network's input is made channels-last
//         on the GPU (ops::layout_in) and every op keeps its input's layout
//         (tensor.h), so the convolutions run as CUDA conv variant 6, whose
//         gathers move a pixel's channels 16 bytes at a time; the output goes
//         back to NCHW (ops::layout_out). Batch norm, bias and concat run their
//         NCHW kernels on [N*H*W][C][1][1] (the same memory); max pooling has a
//         channels-last kernel. The convolutions' arithmetic is unchanged
//         (variant 6 gives variants 4 / 5's bits), so only the order of batch
//         norm's sums differs. Needs --precision tf32 or bf16 (variant 6 has no
//         fp32 form) and changes nothing on the CPU.
#pragma once

#include <string>

#include "engine/tensor.h"
#include "kernels/kernels.h"  // Precision

namespace tinct {

enum class Layout { nchw, nhwc };

Layout layout();
void set_layout(Layout l);
// "nchw" | "nhwc"; anything else: std::invalid_argument naming `option`.
Layout parse_layout(const std::string& name, const std::string& option = "--layout");
const char* layout_name(Layout l);
// Throws std::invalid_argument (a command's exit 2) when layout l cannot run
// at precision p: nhwc needs tf32 or bf16.
void check_layout(Layout l, Precision p);

// True when a network's input on device d is made channels-last: the
// setting is nhwc and d is the GPU.
bool channels_last_on(Device d);

// Sets the layout for a scope and restores the previous one (tests).
class LayoutScope {
 public:
  explicit LayoutScope(Layout l) : saved_(layout()) { set_layout(l); }
  ~LayoutScope() { set_layout(saved_); }
  LayoutScope(const LayoutScope&) = delete;
  LayoutScope& operator=(const LayoutScope&) = delete;

 private:
  Layout saved_;
};

}  // namespace tinct
