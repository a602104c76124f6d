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

// The dispatcher's order in kernels/conv/cpu.cpp (conv2d_fwd_fused,
// conv_transpose2d_fwd_fused), at fp32.
const char* path_of(const Conv2dParams& p, bool transposed) {
  if (transposed) return cpu::conv_transpose2d_phases_pays(p) ? "phases" : "gemm+col2im";
  if (cpu::conv2d_winograd_pays(p)) return "winograd";
  if (cpu::conv2d_direct_pays(p)) return "direct";
  if (cpu::conv2d_blocked_pays(p)) return "blocked";
  return "im2col";
}

}  // namespace

const char* conv_layer_range_name(const Conv2dParams& p, bool transposed) {
  if (!layers_on()) return nullptr;
  char buf[160];
  // Transposed: x is [K][P][Q] in, y is [C][H][W] out (conv2d_bwd_data's view).
  if (transposed)
    std::snprintf(buf, sizeof buf, "  deconv %d->%d %dx%d s%d @%dx%d %s", p.K, p.C, p.R, p.S, p.stride_h, p.P, p.Q,
                  path_of(p, true));
  else
    std::snprintf(buf, sizeof buf, "  conv %d->%d %dx%d s%d d%d @%dx%d %s", p.C, p.K, p.R, p.S, p.stride_h, p.dil_h,
                  p.P, p.Q, path_of(p, false));
  static std::mutex mu;
  static auto* names = new std::set<std::string>;  // never freed: the table is printed at exit
  std::lock_guard<std::mutex> lock(mu);
  return names->insert(buf).first->c_str();
}

}  // namespace tinct::ops
