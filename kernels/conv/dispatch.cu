// conv/dispatch.cu — the CUDA convolution the engine calls: picks a variant
// per shape and runs it.
//
// What it computes: conv2d_fwd, conv2d_bwd_data (also conv_transpose2d's
// forward), conv2d_bwd_filter, with the contracts of kernels/conv/ref.cpp.
// Variants (the numbers mean the same in tinct-kbench, bench_gpu_kernels
// and kernels/README.md):
//   0 cuDNN (benchmarks only), 1 naive (cuda_1_naive.cu, never picked here),
//   2 implicit GEMM with split-K weight gradients (cuda_2_igemm.cu, the
//     default), 3 Winograd F(4x4, 3x3) (cuda_3_winograd.cu) for 3x3 stride-1
//     layers with >= 32 channels in and out (use_winograd below);
//   TINCT_CONV_WINOGRAD=0 keeps every shape on variant 2;
//   4 / 5 tensor-core implicit GEMMs at TF32 / BF16 (cuda_4_igemm_tf32.cu,
//     cuda_5_igemm_bf16.cu): every shape, when the overloads taking a
//     Precision (engine/precision.h) are asked for tf32 / bf16.
// Benchmark: tinct-kbench conv2d_fwd dispatch (or 2, 3) --n 8 --c 64 --h 64
// --w 64 --k 64; build/bench/bench_gpu_kernels --benchmark_filter=conv
// (cuDNN beside it).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>

#include "kernels/common/common.cuh"
#include "kernels/conv/cuda_check.cuh"
#include "kernels/cuda.h"
#include "kernels/kernels.h"

namespace tinct::cuda {

using detail::check_conv;

namespace {

// The dispatcher's rule for Winograd F(4x4, 3x3) (cuda_3_winograd.cu): 3x3,
// stride 1, padding a multiple of the dilation, and enough channels on both
// sides that the GEMMs, not the transforms' memory traffic, dominate; one
// image's transformed tiles under 1 GiB. TINCT_CONV_WINOGRAD=0 turns it off
// (read once). Measured on an H100 (bench/RESULTS.md, GPU run 3): at 256 and
// 512 channels every pass gains 1.7-3.1x; at 64 channels the forward gains
// and both backward passes lose ~15-55%, a threshold still to tune.
bool use_winograd(const Conv2dParams& p) {
  static const bool enabled = [] {
    const char* e = std::getenv("TINCT_CONV_WINOGRAD");
    return !(e && std::string(e) == "0");
  }();
  if (!enabled || !cpu::conv2d_winograd_supported(p) || p.C < 32 || p.K < 32) return false;
  const double tiles = double((p.P + 3) / 4) * ((p.Q + 3) / 4) + double((p.H + 3) / 4) * ((p.W + 3) / 4);
  return 36.0 * 4.0 * tiles * std::max(p.C, p.K) <= double(1 << 30);
}

}  // namespace

void conv2d_fwd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                cudaStream_t stream) {
  check_conv(p);
  if (use_winograd(p))
    conv2d_fwd_winograd(p, x, w, b, y, stream);
  else
    conv2d_fwd_igemm(p, x, w, b, y, stream);
}

void conv2d_bwd_data(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                     cudaStream_t stream) {
  check_conv(p);
  if (use_winograd(p))
    conv2d_bwd_data_winograd(p, dy, w, dx, stream);
  else
    conv2d_bwd_data_igemm(p, dy, w, dx, stream);
}

size_t conv2d_bwd_filter_workspace_bytes(const Conv2dParams& p) {
  check_conv(p);
  return use_winograd(p) ? conv2d_bwd_filter_winograd_workspace_bytes(p)
                         : conv2d_bwd_filter_igemm_workspace_bytes(p);
}

void conv2d_bwd_filter(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                       void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  check_conv(p);
  if (use_winograd(p))
    conv2d_bwd_filter_winograd(p, x, dy, dw, db, workspace, workspace_bytes, stream);
  else
    conv2d_bwd_filter_igemm(p, x, dy, dw, db, workspace, workspace_bytes, stream);
}

void conv2d_bwd_filter(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                       cudaStream_t stream) {
  const size_t bytes = conv2d_bwd_filter_workspace_bytes(p);
  detail::Scratch ws(bytes, stream);
  conv2d_bwd_filter(p, x, dy, dw, db, ws.get(), bytes, stream);
}

void conv2d_fwd(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                cudaStream_t stream) {
  if (prec == Precision::tf32)
    conv2d_fwd_tf32(p, x, w, b, y, stream);
  else if (prec == Precision::bf16)
    conv2d_fwd_bf16(p, x, w, b, y, stream);
  else
    conv2d_fwd(p, x, w, b, y, stream);
}

void conv2d_bwd_data(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx,
                     cudaStream_t stream) {
  if (prec == Precision::tf32)
    conv2d_bwd_data_tf32(p, dy, w, dx, stream);
  else if (prec == Precision::bf16)
    conv2d_bwd_data_bf16(p, dy, w, dx, stream);
  else
    conv2d_bwd_data(p, dy, w, dx, stream);
}

void conv2d_bwd_filter(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                       cudaStream_t stream) {
  if (prec == Precision::tf32)
    conv2d_bwd_filter_tf32(p, x, dy, dw, db, stream);
  else if (prec == Precision::bf16)
    conv2d_bwd_filter_bf16(p, x, dy, dw, db, stream);
  else
    conv2d_bwd_filter(p, x, dy, dw, db, stream);
}

std::string conv2d_plan(const Conv2dParams& p) {
  check_conv(p);
  if (!use_winograd(p)) return conv2d_igemm_plan(p);
  std::ostringstream s;
  s << "winograd F(4x4,3x3): fwd 36 batched GEMMs of " << p.K << "x" << p.C << " . " << p.C << "x"
    << 1LL * p.N * ((p.P + 3) / 4) * ((p.Q + 3) / 4) << " tiles, bwd-data likewise, bwd-filter workspace "
    << conv2d_bwd_filter_winograd_workspace_bytes(p) << " B";
  return s.str();
}

}  // namespace tinct::cuda
