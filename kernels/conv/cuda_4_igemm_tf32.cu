// conv/cuda_4_igemm_tf32.cu — CUDA convolution variant 4: the implicit-GEMM
// convolutions on the tensor cores at TF32, all three passes.
//
// What it computes (kernels/tensorcore/ref_conv.cpp, conv2d_*_ref with
// Precision::tf32, is the specification): kernels/conv/ref.cpp's forward,
// backward-data and backward-filter with every product's two operands
// rounded to TF32 (cvt.rna.tf32.f32: 10 mantissa bits, ties away) and fp32
// accumulation; the bias and dw/db accumulation in fp32.
// How (kernels/tensorcore/conv_core.cuh says why): 128x128 block tiles,
// 8 warps of 64x32, BK = 32, 3-stage shared-memory ring; the weights packed
// once per call into a 16-byte-aligned matrix read by cp.async, the im2col /
// dy gathers walked tap-major (one bounds test per tap) and copied by 4-byte
// cp.async straight into shared memory (or register-staged:
// TINCT_TC_GATHER=registers); backward-data one GEMM per output phase at
// stride > 1; mma.sync m16n8k8 tf32 with fp32 accumulators; backward-filter
// split-K over N*P*Q with a deterministic second pass.
// Variants of the family: 0 cuDNN (benchmarks only; at TF32 its math mode
// CUDNN_TENSOR_OP_MATH with TF32 allowed), 1 naive, 2 FP32 implicit GEMM,
// 3 Winograd, 4 this file, 5 the same at BF16 (cuda_5_igemm_bf16.cu);
// dispatch.cu runs 4 for every shape when the precision is tf32.
// Test: tests/gpu/test_gpu_conv_tc.cpp (on the CPU: tools/cuda_emu/build.sh
// /tmp/emu_tc '-tc=*conv tc*'). Benchmark: build/bench/bench_gpu_kernels
// --benchmark_filter=conv (cuDNN TF32 beside it), tinct-kbench conv2d_fwd 4.
#include <cuda_runtime.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/cuda.h"
#include "kernels/tensorcore/conv_core.cuh"

namespace tinct::cuda {

namespace {
TcGather& gather_setting() {
  static TcGather g = [] {
    const char* e = std::getenv("TINCT_TC_GATHER");
    if (!e || std::string(e) == "async") return TcGather::async;
    if (std::string(e) == "registers") return TcGather::registers;
    throw std::invalid_argument(std::string("TINCT_TC_GATHER=") + e + ": expected async or registers");
  }();
  return g;
}
}  // namespace

TcGather tc_gather() { return gather_setting(); }
TcGather set_tc_gather(TcGather g) { return std::exchange(gather_setting(), g); }

void conv2d_fwd_tf32(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                     cudaStream_t stream) {
  tc::conv_fwd<tc::Tf32>(p, x, w, b, y, stream);
}

void conv2d_bwd_data_tf32(const Conv2dParams& p, const float* dy, const float* w, float* dx, cudaStream_t stream) {
  tc::conv_bwd_data<tc::Tf32>(p, dy, w, dx, stream);
}

void conv2d_bwd_filter_tf32(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                            cudaStream_t stream) {
  tc::conv_bwd_filter<tc::Tf32>(p, x, dy, dw, db, stream);
}

}  // namespace tinct::cuda
