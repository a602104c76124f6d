// vendor_cudnn.cpp — cuDNN as variant 0 of the convolution passes in
// tinct-kbench (built only where CMake finds cuDNN; never required). FP32 with
// CUDNN_FMA_MATH (no TF32), the algorithm cuDNN's heuristics rank first
// (cudnnGet*Algorithm_v7; bench/bench_gpu_kernels.cpp searches them by timing
// instead), its workspace from gpu_scratch. The bias (forward) and db (weight
// gradient) by cudnnAddTensor / cudnnConvolutionBackwardBias. cuDNN 9 marks
// this legacy API deprecated: the warnings are silenced for this file.
#include <cudnn.h>

#include <stdexcept>
#include <string>

#include "kernels/cuda.h"
#include "tools/kbench/kbench.h"

namespace tinct::kbench {

namespace {

void check(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(s));
}

cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t x;
    check(cudnnCreate(&x), "cudnnCreate");
    return x;
  }();
  return h;
}

// The descriptors of one convolution shape: x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q], bias [1,K,1,1].
struct Desc {
  cudnnTensorDescriptor_t x, y, b;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t c;
  explicit Desc(const Conv2dParams& p) {
    check(cudnnCreateTensorDescriptor(&x), "descriptor");
    check(cudnnCreateTensorDescriptor(&y), "descriptor");
    check(cudnnCreateTensorDescriptor(&b), "descriptor");
    check(cudnnCreateFilterDescriptor(&w), "descriptor");
    check(cudnnCreateConvolutionDescriptor(&c), "descriptor");
    check(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.N, p.C, p.H, p.W), "x");
    check(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.N, p.K, p.P, p.Q), "y");
    check(cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, p.K, 1, 1), "bias");
    check(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p.K, p.C, p.R, p.S), "w");
    check(cudnnSetConvolution2dDescriptor(c, p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.dil_h, p.dil_w,
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
          "convolution");
    check(cudnnSetConvolutionMathType(c, CUDNN_FMA_MATH), "math type");
  }
  ~Desc() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(b);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(c);
  }
};

const float kOne = 1.0f, kZero = 0.0f;

void fwd(const Shape& s, const Ptrs& p) {
  const Desc d(conv_params(s));
  cudnnConvolutionFwdAlgoPerf_t perf[8];
  int n = 0;
  check(cudnnGetConvolutionForwardAlgorithm_v7(handle(), d.x, d.w, d.c, d.y, 8, &n, perf), "forward algorithm");
  if (n < 1) throw std::runtime_error("cuDNN has no forward algorithm for this shape");
  size_t ws = 0;
  check(cudnnGetConvolutionForwardWorkspaceSize(handle(), d.x, d.w, d.c, d.y, perf[0].algo, &ws), "workspace");
  check(cudnnConvolutionForward(handle(), &kOne, d.x, p[0], d.w, p[1], d.c, perf[0].algo, gpu_scratch(ws), ws, &kZero,
                                d.y, p[3]),
        "cudnnConvolutionForward");
  check(cudnnAddTensor(handle(), &kOne, d.b, p[2], &kOne, d.y, p[3]), "cudnnAddTensor");
}

void bwd_data(const Shape& s, const Ptrs& p) {
  const Desc d(conv_params(s));
  cudnnConvolutionBwdDataAlgoPerf_t perf[8];
  int n = 0;
  check(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle(), d.w, d.y, d.c, d.x, 8, &n, perf), "backward-data algorithm");
  if (n < 1) throw std::runtime_error("cuDNN has no backward-data algorithm for this shape");
  size_t ws = 0;
  check(cudnnGetConvolutionBackwardDataWorkspaceSize(handle(), d.w, d.y, d.c, d.x, perf[0].algo, &ws), "workspace");
  check(cudnnConvolutionBackwardData(handle(), &kOne, d.w, p[1], d.y, p[0], d.c, perf[0].algo, gpu_scratch(ws), ws,
                                     &kZero, d.x, p[2]),
        "cudnnConvolutionBackwardData");
}

void bwd_filter(const Shape& s, const Ptrs& p) {
  const Desc d(conv_params(s));
  cudnnConvolutionBwdFilterAlgoPerf_t perf[8];
  int n = 0;
  check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle(), d.x, d.y, d.c, d.w, 8, &n, perf),
        "backward-filter algorithm");
  if (n < 1) throw std::runtime_error("cuDNN has no backward-filter algorithm for this shape");
  size_t ws = 0;
  check(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle(), d.x, d.y, d.c, d.w, perf[0].algo, &ws), "workspace");
  // beta = 1: dw and db accumulate, as tinct's contract says.
  check(cudnnConvolutionBackwardFilter(handle(), &kOne, d.x, p[0], d.y, p[1], d.c, perf[0].algo, gpu_scratch(ws), ws,
                                       &kOne, d.w, p[2]),
        "cudnnConvolutionBackwardFilter");
  check(cudnnConvolutionBackwardBias(handle(), &kOne, d.y, p[1], &kOne, d.b, p[3]), "cudnnConvolutionBackwardBias");
}

}  // namespace

void register_cudnn() {
  for (Op& op : registry()) {
    std::function<void(const Shape&, const Ptrs&)> run;
    if (op.name == "conv2d_fwd") run = fwd;
    if (op.name == "conv2d_bwd_data") run = bwd_data;
    if (op.name == "conv2d_bwd_filter") run = bwd_filter;
    if (run) op.variants.push_back({"0", "cuDNN (FP32 FMA, heuristic algorithm)", true, run});
  }
}

}  // namespace tinct::kbench
