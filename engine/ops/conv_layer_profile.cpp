// conv_layer_profile.cpp — see conv_layer_profile.h.
#include "engine/ops/conv_layer_profile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "engine/profile.h"

namespace tinct::ops {

namespace {

bool layers_on() {
  static const bool on = [] {
    const char* v = std::getenv("TINCT_PROFILE");
    return v && std::strcmp(v, "layers") == 0;
  }();
  return on && profile::enabled();
}

// The dispatchers' order in kernels/conv/cpu.cpp, at fp32, per conv2d pass.
const char* conv2d_path(const Conv2dParams& p, ConvPass pass) {
  switch (pass) {
    case ConvPass::Fwd:  // conv2d_fwd_fused
      if (cpu::conv2d_winograd_pays(p)) return "winograd";
      if (cpu::conv2d_direct_pays(p)) return "direct";
      if (cpu::conv2d_thin_pays(p, cpu::ThinPass::Fwd)) return "thin";
      if (cpu::conv2d_blocked_pays(p)) return "blocked";
      return "im2col";
    case ConvPass::BwdData:  // conv2d_bwd_data
      if (cpu::conv_transpose2d_phases_pays(p)) return "phases";
      if (cpu::conv2d_bwd_data_winograd_pays(p)) return "winograd";
      if (cpu::conv2d_thin_pays(p, cpu::ThinPass::BwdData)) return "thin";
      return "gemm+col2im";
    case ConvPass::BwdFilter:  // conv2d_bwd_filter
      if (cpu::conv2d_thin_pays(p, cpu::ThinPass::BwdFilter)) return "thin";
      if (cpu::conv2d_bwd_filter_stem_pays(p)) return "stem";
      if (cpu::conv2d_bwd_filter_winograd_pays(p)) return "winograd";
      return "gemm";
  }
  return "?";
}

}  // namespace

const char* conv_layer_range_name(const Conv2dParams& p, bool transposed, ConvPass pass) {
  if (!layers_on()) return nullptr;
  char buf[160];
  const char* pass_name = pass == ConvPass::Fwd ? "" : pass == ConvPass::BwdData ? " bwd-data" : " bwd-filter";
  // Transposed: x is [K][P][Q] in, y is [C][H][W] out (conv2d_bwd_data's
  // view): its forward is conv2d's backward-data, its backward-data conv2d's
  // forward.
  const ConvPass as_conv = !transposed || pass == ConvPass::BwdFilter ? pass
                           : pass == ConvPass::Fwd                   ? ConvPass::BwdData
                                                                     : ConvPass::Fwd;
  const char* path = transposed && pass == ConvPass::Fwd  // conv_transpose2d_fwd_fused
                         ? (cpu::conv_transpose2d_phases_pays(p) ? "phases" : "gemm+col2im")
                         : conv2d_path(p, as_conv);
  if (transposed)
    std::snprintf(buf, sizeof buf, "  deconv %d->%d %dx%d s%d @%dx%d%s %s", p.K, p.C, p.R, p.S, p.stride_h, p.P,
                  p.Q, pass_name, path);
  else
    std::snprintf(buf, sizeof buf, "  conv %d->%d %dx%d s%d d%d @%dx%d%s %s", p.C, p.K, p.R, p.S, p.stride_h,
                  p.dil_h, p.P, p.Q, pass_name, path);
  static std::mutex mu;
  static auto* names = new std::set<std::string>;  // never freed: the table is printed at exit
  std::lock_guard<std::mutex> lock(mu);
  return names->insert(buf).first->c_str();
}

}  // namespace tinct::ops
