// cudnn_conv.h — cuDNN for the GPU benchmarks (bench_gpu_kernels at FP32,
// bench_gpu_conv_tc at TF32 / BF16, NCHW or NHWC): the status check and the
// four descriptors of one convolution.
#pragma once

#include <cudnn.h>

#include <stdexcept>
#include <string>

#include "kernels/kernels.h"  // Conv2dParams

#define CUDNN_CHECK(call)                                                                              \
  do {                                                                                                 \
    const cudnnStatus_t s_ = (call);                                                                   \
    if (s_ != CUDNN_STATUS_SUCCESS)                                                                    \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + #call + \
                               ": " + cudnnGetErrorString(s_));                                        \
  } while (0)

// The descriptors of convolution p (padding, stride, dilation; cross-
// correlation, fp32 compute): x, y and the filter in `format` (NHWC: the
// filter [K][R][S][C]) with elements `dt`, and the math type `math`. Owned.
struct CudnnConvDesc {
  cudnnTensorDescriptor_t x{}, y{};
  cudnnFilterDescriptor_t w{};
  cudnnConvolutionDescriptor_t conv{};
  CudnnConvDesc(const tinct::Conv2dParams& p, cudnnTensorFormat_t format, cudnnDataType_t dt, cudnnMathType_t math) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, format, dt, p.N, p.C, p.H, p.W));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, format, dt, p.N, p.K, p.P, p.Q));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, dt, format, p.K, p.C, p.R, p.S));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.dil_h, p.dil_w,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
  }
  ~CudnnConvDesc() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  CudnnConvDesc(const CudnnConvDesc&) = delete;
  CudnnConvDesc& operator=(const CudnnConvDesc&) = delete;
};
