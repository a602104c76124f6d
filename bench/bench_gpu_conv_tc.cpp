// bench_gpu_conv_tc.cpp — the tensor-core convolutions (kernels/conv/
// cuda_4_igemm_tf32.cu, cuda_5_igemm_bf16.cu) against cuDNN at the same
// precision, all three passes, on the same GPU in the same run (issue 12's
// yardstick: 70% of cuDNN or more).
//
//   variant 0  cuDNN, the fastest algorithm cudnnFind*AlgorithmEx returns:
//              TF32 = fp32 NCHW tensors, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
//              (TF32 tensor cores allowed); BF16 = bf16 NCHW tensors
//              (CUDNN_DATA_BFLOAT16), fp32 compute, CUDNN_TENSOR_OP_MATH:
//              the vendor's best at that precision, reading half the bytes
//              tinct reads (tinct keeps fp32 tensors and converts on the way)
//   variant 4  cuda::conv2d_*_tf32 (gathers by cp.async, the default; "4 regs":
//              register-staged, cuda::set_tc_gather)
//   variant 5  cuda::conv2d_*_bf16
//   "0 nhwc"   cuDNN on channels-last tensors (CUDNN_TENSOR_NHWC activations
//              and filter), as PyTorch runs with channels_last; its own
//              fastest algorithms
//   variant 6  cuda::conv2d_*_nhwc at the row's precision (channels-last
//              activations, [K][C][R][S] weights); pct_of_cudnn against
//              "0 nhwc", rel_vs_cudnn against its output
//   fp32       cuda::conv2d_* (the FP32 dispatcher, variants 2 / 3), for scale
// Shapes: 3x3 pad 1 stride 1, 512->512 at 16x16 and 256->256 at 32x32, and
// 4x4 stride 2 pad 1, 128->256 from 32x32 (its backward-data: the GAN
// decoder's transposed conv), batch 64 (TINCT_BENCH_BATCH). Before timing, each tinct variant's
// max|out - out_cudnn| / max|out_cudnn| is printed (~1e-3 tf32, ~1e-2 bf16
// expected from the input rounding; a wrong kernel is O(1)).
// Timing: CUDA events around one call, L2 flushed before each (untimed), 3
// warm-up calls, median of TINCT_BENCH_ITERS (15). One line per (precision,
// shape, pass, variant) between "=== SUMMARY BEGIN ===" and "=== SUMMARY END
// ===": ms, TFLOP/s (2 N K C R S P Q), pct_of_cudnn = cuDNN ms / variant ms.
//
// Usage: ./build/bench/bench_gpu_conv_tc   (TINCT_BENCH_NHWC=0 skips the channels-last rows)
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cudnn_conv.h"
#include "gpu_bench_util.h"
#include "kernels/cuda.h"
#include "kernels/tensorcore/tensorcore.h"

namespace gpu = tinct::cuda;
using tinct::Conv2dParams;

namespace {

using benchutil::dev_alloc;
using benchutil::env_int;
using benchutil::time_ms;

std::vector<float> host(const float* d, size_t n) {
  std::vector<float> h(n);
  TINCT_CUDA_CHECK(cudaDeviceSynchronize());
  TINCT_CUDA_CHECK(cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost));
  return h;
}

// cuDNN's output is fp32 or bf16 (bf16 runs): widen it for the comparison.
double max_rel_diff(const std::vector<float>& got, const std::vector<float>& ref) {
  double m = 0, e = 0;
  for (size_t i = 0; i < got.size(); ++i)
    m = std::max(m, double(std::fabs(ref[i]))), e = std::max(e, double(std::fabs(got[i] - ref[i])));
  return m > 0 ? e / m : e;
}

std::vector<float> host_bf16(const uint16_t* d, size_t n) {
  std::vector<uint16_t> h(n);
  TINCT_CUDA_CHECK(cudaDeviceSynchronize());
  TINCT_CUDA_CHECK(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost));
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = tinct::cpu::bf16_to_float(h[i]);
  return f;
}

struct Row {
  std::string prec, shape, pass, variant;
  double ms, tflops, pct, rel;
};

// cuDNN at one precision and layout: descriptors, the fastest algorithm of
// each pass (cudnnFind*AlgorithmEx on these buffers), run(pass) one call.
// The buffers are fp32 (tf32) or bf16 (bf16), laid out as `format` says
// (NHWC: the filter [K][R][S][C] too).
struct Vendor {
  cudnnHandle_t h;
  CudnnConvDesc d;
  cudnnConvolutionFwdAlgo_t fa;
  cudnnConvolutionBwdDataAlgo_t da;
  cudnnConvolutionBwdFilterAlgo_t wa;
  void *x, *w, *dy, *y, *dx, *dw, *ws;
  size_t ws_bytes;
  Vendor(cudnnHandle_t h_, const Conv2dParams& p, bool bf16, cudnnTensorFormat_t format, void* x_, void* w_,
         void* dy_, void* y_, void* dx_, void* dw_, void* ws_, size_t ws_bytes_)
      : h(h_),
        d(p, format, bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT,
          bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
        x(x_), w(w_), dy(dy_), y(y_), dx(dx_), dw(dw_), ws(ws_), ws_bytes(ws_bytes_) {
    cudnnConvolutionFwdAlgoPerf_t fp[16];
    cudnnConvolutionBwdDataAlgoPerf_t dp[16];
    cudnnConvolutionBwdFilterAlgoPerf_t wp[16];
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, x, d.w, w, d.conv, d.y, y, 16, &n, fp, ws, ws_bytes));
    CUDNN_CHECK(
        cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, w, d.y, dy, d.conv, d.x, dx, 16, &n, dp, ws, ws_bytes));
    CUDNN_CHECK(
        cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x, x, d.y, dy, d.conv, d.w, dw, 16, &n, wp, ws, ws_bytes));
    fa = fp[0].algo, da = dp[0].algo, wa = wp[0].algo;
  }
  Vendor(const Vendor&) = delete;
  Vendor& operator=(const Vendor&) = delete;
  void run(int pass) const {
    const float one = 1.0f, zero = 0.0f;
    if (pass == 0)
      CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.conv, fa, ws, ws_bytes, &zero, d.y, y));
    else if (pass == 1)
      CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv, da, ws, ws_bytes, &zero, d.x, dx));
    else
      CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv, wa, ws, ws_bytes, &zero, d.w, dw));
  }
};

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = tinct::cpu::bf16_from_float(v[i]);
  return r;
}

template <class T>
T* upload(const std::vector<T>& h) {
  T* d = dev_alloc<T>(h.size());
  TINCT_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

}  // namespace

int main() {
  try {
    std::string why;
    if (!gpu::device_available(&why)) {
      std::printf("no CUDA device (%s)\n", why.c_str());
      return 1;
    }
    std::printf("GPU: %s\n", gpu::device_description().c_str());
    const int batch = env_int("TINCT_BENCH_BATCH", 64), iters = env_int("TINCT_BENCH_ITERS", 15);
    struct Shape {
      const char* name;
      int C, K, HW, R, stride, pad;
    };
    // The last: a 4x4 stride-2 conv 128 -> 256 from 32x32, whose backward-data is the GAN decoder's
    // 256 -> 128 transposed conv to 32x32 (backward-data by output phases: 4 of 16 taps a pixel).
    const Shape shapes[] = {{"conv512_16x16", 512, 512, 16, 3, 1, 1},
                            {"conv256_32x32", 256, 256, 32, 3, 1, 1},
                            {"conv4x4s2_32x32", 128, 256, 32, 4, 2, 1}};
    int l2 = 0;
    TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
    const size_t flush_bytes = size_t(std::max(l2, 1 << 20)) * 2;
    void* flush = dev_alloc<unsigned char>(flush_bytes);
    cudnnHandle_t h;
    CUDNN_CHECK(cudnnCreate(&h));
    std::vector<Row> rows;

    for (const Shape& s : shapes) {
      Conv2dParams p;
      p.N = batch, p.C = s.C, p.K = s.K, p.H = p.W = s.HW, p.R = p.S = s.R, p.pad_h = p.pad_w = s.pad;
      p.stride_h = p.stride_w = s.stride;
      p.finalize();
      const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
                   ny = size_t(p.N) * p.K * p.P * p.Q;
      const double flop = 2.0 * p.N * p.K * p.C * p.R * p.S * p.P * p.Q;
      std::mt19937 gen(1);
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      std::vector<float> hx(nx), hw(nw), hdy(ny);
      for (auto& v : hx) v = u(gen);
      for (auto& v : hw) v = u(gen) * 0.05f;
      for (auto& v : hdy) v = u(gen);
      // the same tensors channels-last: x, dy [N][HW][C]; cuDNN's NHWC filter [K][RS][C]
      std::vector<float> hx6(nx), hdy6(ny), hw6(nw);
      tinct::cpu::nchw_to_nhwc(hx.data(), hx6.data(), p.N, p.C, p.H * p.W);
      tinct::cpu::nchw_to_nhwc(hdy.data(), hdy6.data(), p.N, p.K, p.P * p.Q);
      tinct::cpu::nchw_to_nhwc(hw.data(), hw6.data(), p.K, p.C, p.R * p.S);
      float *x = upload(hx), *w = upload(hw), *dy = upload(hdy), *x6 = upload(hx6), *dy6 = upload(hdy6),
            *w6 = upload(hw6);
      float *y = dev_alloc<float>(ny), *dx = dev_alloc<float>(nx), *dw = dev_alloc<float>(nw);
      uint16_t *x16 = upload(to_bf16(hx)), *w16 = upload(to_bf16(hw)), *dy16 = upload(to_bf16(hdy)),
               *x616 = upload(to_bf16(hx6)), *w616 = upload(to_bf16(hw6)), *dy616 = upload(to_bf16(hdy6));
      // cuDNN's outputs, fp32 (tf32 runs) or bf16, per layout
      float *y0 = dev_alloc<float>(ny), *dx0 = dev_alloc<float>(nx), *dw0 = dev_alloc<float>(nw);
      uint16_t *y16 = dev_alloc<uint16_t>(ny), *dx16 = dev_alloc<uint16_t>(nx), *dw16 = dev_alloc<uint16_t>(nw);
      const size_t ws_bytes = size_t(1) << 30;
      void* ws = dev_alloc<unsigned char>(ws_bytes);
      const int nhwc = env_int("TINCT_BENCH_NHWC", 1) != 0 ? 1 : 0;

      for (int bf16 = 0; bf16 < 2; ++bf16) {
        const char* prec = bf16 ? "bf16" : "tf32";
        const tinct::Precision pr = bf16 ? tinct::Precision::bf16 : tinct::Precision::tf32;
        void *vy = bf16 ? (void*)y16 : (void*)y0, *vdx = bf16 ? (void*)dx16 : (void*)dx0,
             *vdw = bf16 ? (void*)dw16 : (void*)dw0;
        // vendor output of a pass as fp32, in the layout it was computed in
        auto vendor_out = [&](int pass, size_t n) {
          return bf16 ? host_bf16(pass == 0 ? y16 : pass == 1 ? dx16 : dw16, n) : host(pass == 0 ? y0 : pass == 1 ? dx0 : dw0, n);
        };
        // tinct on the fp32 tensors; backward-filter accumulates, so dw is cleared in the timed call (as the engine does).
        auto mine = [&](int pass, tinct::Precision at, bool cl) {
          if (pass == 0) cl ? gpu::conv2d_fwd_nhwc(at, p, x6, w, nullptr, y) : gpu::conv2d_fwd(at, p, x, w, nullptr, y);
          if (pass == 1) cl ? gpu::conv2d_bwd_data_nhwc(at, p, dy6, w, dx) : gpu::conv2d_bwd_data(at, p, dy, w, dx);
          if (pass == 2) {
            TINCT_CUDA_CHECK(cudaMemsetAsync(dw, 0, nw * 4));
            cl ? gpu::conv2d_bwd_filter_nhwc(at, p, x6, dy6, dw, nullptr) : gpu::conv2d_bwd_filter(at, p, x, dy, dw, nullptr);
          }
        };
        auto mine_out = [&](int pass, size_t n) { return host(pass == 0 ? y : pass == 1 ? dx : dw, n); };
        const char* passes[] = {"fwd", "bwd_data", "bwd_filter"};
        for (int cl = 0; cl < 1 + nhwc; ++cl) {  // NCHW: cuDNN, variant 4 / 5 (+ regs, fp32); NHWC: cuDNN, variant 6
          const Vendor v(h, p, bf16, cl ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                         cl ? (bf16 ? (void*)x616 : (void*)x6) : (bf16 ? (void*)x16 : (void*)x),
                         cl ? (bf16 ? (void*)w616 : (void*)w6) : (bf16 ? (void*)w16 : (void*)w),
                         cl ? (bf16 ? (void*)dy616 : (void*)dy6) : (bf16 ? (void*)dy16 : (void*)dy), vy, vdx, vdw, ws,
                         ws_bytes);
          for (int pass = 0; pass < 3; ++pass) {
            const size_t n_out = pass == 0 ? ny : pass == 1 ? nx : nw;
            v.run(pass);
            mine(pass, pr, cl);
            std::vector<float> ref = vendor_out(pass, n_out);
            if (cl && pass == 2) {  // cuDNN's NHWC dw [K][RS][C] -> [K][C][RS], as variant 6 writes it
              std::vector<float> t(n_out);
              tinct::cpu::nhwc_to_nchw(ref.data(), t.data(), p.K, p.C, p.R * p.S);
              ref.swap(t);
            }
            const double rel = max_rel_diff(mine_out(pass, n_out), ref);
            const double t0 = time_ms([&] { v.run(pass); }, iters, flush, flush_bytes);
            const double t1 = time_ms([&] { mine(pass, pr, cl); }, iters, flush, flush_bytes);
            rows.push_back({prec, s.name, passes[pass], cl ? "0 nhwc" : "0 cudnn", t0, flop / t0 * 1e-9, 100.0, 0.0});
            rows.push_back({prec, s.name, passes[pass], cl ? "6 nhwc" : bf16 ? "5 bf16" : "4 tf32", t1,
                            flop / t1 * 1e-9, t0 / t1 * 100.0, rel});
            if (cl) continue;
            if (!bf16) {  // the register-staged gather, beside the default cp.async one
              const gpu::TcGather was = gpu::set_tc_gather(gpu::TcGather::registers);
              mine(pass, pr, false);
              const double rel_r = max_rel_diff(mine_out(pass, n_out), ref);
              const double t3 = time_ms([&] { mine(pass, pr, false); }, iters, flush, flush_bytes);
              gpu::set_tc_gather(was);
              rows.push_back({prec, s.name, passes[pass], "4 regs", t3, flop / t3 * 1e-9, t0 / t3 * 100.0, rel_r});
            }
            const double t2 = time_ms([&] { mine(pass, tinct::Precision::fp32, false); }, iters, flush, flush_bytes);
            rows.push_back({prec, s.name, passes[pass], "fp32", t2, flop / t2 * 1e-9, t0 / t2 * 100.0, -1.0});
          }
        }
      }
      for (void* q : {(void*)x, (void*)w, (void*)dy, (void*)x6, (void*)dy6, (void*)w6, (void*)y, (void*)dx, (void*)dw,
                      (void*)y0, (void*)dx0, (void*)dw0, (void*)x16, (void*)w16, (void*)dy16, (void*)x616,
                      (void*)w616, (void*)dy616, (void*)y16, (void*)dx16, (void*)dw16, ws})
        cudaFree(q);
    }
    std::printf("=== SUMMARY BEGIN ===\n%-5s %-15s %-11s %-8s %9s %9s %13s %13s\n", "prec", "shape", "pass", "variant",
                "ms", "TFLOP/s", "pct_of_cudnn", "rel_vs_cudnn");
    for (const Row& r : rows)
      std::printf("%-5s %-15s %-11s %-8s %9.3f %9.1f %12.1f%% %13s\n", r.prec.c_str(), r.shape.c_str(), r.pass.c_str(),
                  r.variant.c_str(), r.ms, r.tflops, r.pct,
                  r.rel < 0 ? "-" : (std::to_string(r.rel).substr(0, 8)).c_str());
    std::printf("=== SUMMARY END ===\n");
    cudnnDestroy(h);
    cudaFree(flush);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu_conv_tc: %s\n", e.what());
    return 1;
  }
}
