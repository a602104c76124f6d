// bench_gpu_kernels.cpp — tinct's CUDA kernels against cuDNN / cuBLAS on the
// same GPU, in the same run (docs/design.md, Measuring; docs/anchors.md).
//
//   conv      the anchor shapes at batch 64 (TINCT_BENCH_BATCH), forward,
//             backward-data and backward-filter. Variant numbers as everywhere
//             (kernels/README.md): 0 = cuDNN (FP32, CUDNN_FMA_MATH: no TF32,
//             the fastest FMA algorithm found by cudnnFind*AlgorithmEx);
//             "dispatch" = tinct's kernels/conv/dispatch.cu (Winograd
//             F(4x4,3x3), variant 3, or the implicit GEMM, variant 2; the
//             summary names it); 2 = tinct's implicit GEMM by name where the
//             dispatcher picks Winograd (the summary's "igemm ms": the
//             dispatcher's threshold). Every other variant of every family:
//             tinct-kbench (tools/kbench/).
//             The transposed 4x4 stride-2 convolution is listed as its
//             underlying conv: its forward is that conv's backward-data.
//   batchnorm training forward / backward, 0 = cuDNN (SPATIAL) vs 1 = tinct
//             (kernels/batchnorm/cuda_1_channel_reduce.cu).
//   sgemm     8192^3 FP32: 0 = cuBLAS (default math: no TF32) vs 1 = tinct
//             (kernels/gemm/cuda_1_tiled.cu), the ceiling of the shared GEMM core.
//   copy      device-to-device memcpy, the memory-bandwidth ceiling.
// Before timing a shape, each pass runs once on both sides and the max
// relative difference max|tinct - cuDNN| / max|cuDNN| is recorded.
// Timing: CUDA events around one call, L2 flushed before each (a 2x-L2
// memset, not timed), 3 warm-up calls, median over the iterations
// (TINCT_BENCH_ITERS, default 15). Counters: ms (median), TFLOP/s (from
// Conv2dParams::flops()), GB/s (Conv2dParams::bytes()), pct_of_vendor =
// vendor ms / tinct ms * 100 (100 = parity, > 100 = tinct faster).
// At the end a summary table is printed between the lines
// "=== SUMMARY BEGIN ===" and "=== SUMMARY END ===" (tools/gpu_check.sh
// extracts it).
//
// Usage: ./bench_gpu_kernels [--benchmark_filter=conv/512]  (Google Benchmark flags)
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cudnn_conv.h"
#include "kernels/cuda.h"
#include "kernels/kernels.h"

using tinct::Conv2dParams;
namespace gpu = tinct::cuda;

#define CUBLAS_CHECK(call)                                                                       \
  do {                                                                                           \
    const cublasStatus_t s_ = (call);                                                            \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                             \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " +  \
                               #call + " failed: " + std::to_string(int(s_)));                   \
  } while (0)

namespace {

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v ? std::max(1, std::atoi(v)) : def;
}
const int kBatch = env_int("TINCT_BENCH_BATCH", 64);
const int kIters = env_int("TINCT_BENCH_ITERS", 15);

// ---- device memory ------------------------------------------------------------------
struct DevMem {
  void* p = nullptr;
  size_t bytes = 0;
  explicit DevMem(size_t b = 0) : bytes(b) {
    if (b) TINCT_CUDA_CHECK(cudaMalloc(&p, b));
  }
  ~DevMem() {
    if (p) cudaFree(p);
  }
  DevMem(const DevMem&) = delete;
  DevMem& operator=(const DevMem&) = delete;
  float* f() const { return static_cast<float*>(p); }
};

// Random values in [-1, 1) (never time on zeros), filled on the host once.
std::unique_ptr<DevMem> random_dev(size_t n, unsigned seed) {
  std::vector<float> h(n);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (auto& v : h) v = d(gen);
  auto m = std::make_unique<DevMem>(n * sizeof(float));
  TINCT_CUDA_CHECK(cudaMemcpy(m->p, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  return m;
}

std::vector<float> download(const float* p, size_t n) {
  std::vector<float> h(n);
  TINCT_CUDA_CHECK(cudaDeviceSynchronize());
  TINCT_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}

double max_rel_diff(const float* got, const float* ref, size_t n) {
  const std::vector<float> g = download(got, n), r = download(ref, n);
  double mx = 0, md = 0;
  for (size_t i = 0; i < n; ++i) {
    mx = std::max(mx, double(std::fabs(r[i])));
    const double d = std::fabs(double(g[i]) - r[i]);
    md = std::isfinite(d) ? std::max(md, d) : INFINITY;
  }
  return mx > 0 ? md / mx : md;
}

// ---- shared state -----------------------------------------------------------------------
struct Globals {
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  std::unique_ptr<DevMem> flush;      // > L2: memset before each timed call
  std::unique_ptr<DevMem> workspace;  // cuDNN find + execution
  cudaEvent_t start = nullptr, stop = nullptr;
};
Globals& G() {
  static Globals g;
  return g;
}

void flush_l2() { TINCT_CUDA_CHECK(cudaMemsetAsync(G().flush->p, 0, G().flush->bytes, 0)); }

// Times `fn` (one call per iteration) with CUDA events; returns the median in ms.
template <class Fn>
double time_it(benchmark::State& st, Fn&& fn) {
  for (int i = 0; i < 3; ++i) fn();
  TINCT_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<double> ms;
  for (auto _ : st) {
    flush_l2();
    TINCT_CUDA_CHECK(cudaEventRecord(G().start, 0));
    fn();
    TINCT_CUDA_CHECK(cudaEventRecord(G().stop, 0));
    TINCT_CUDA_CHECK(cudaEventSynchronize(G().stop));
    float t = 0;
    TINCT_CUDA_CHECK(cudaEventElapsedTime(&t, G().start, G().stop));
    st.SetIterationTime(t / 1e3);
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? NAN : ms[ms.size() / 2];
}

// ---- results table --------------------------------------------------------------------------
struct Row {
  std::string group, shape, pass, vendor;
  double ms[3] = {NAN, NAN, NAN};  // [kVendor], [kDispatch] tinct as dispatched, [kIgemm]
  double flops = 0, bytes = 0, max_rel = NAN;
  std::string note, tinct_note;  // the vendor's algorithm, tinct's plan
};
std::vector<Row>& rows() {
  static std::vector<Row> r;
  return r;
}
Row& row(const std::string& group, const std::string& shape, const std::string& pass,
         const std::string& vendor) {
  for (Row& r : rows())
    if (r.group == group && r.shape == shape && r.pass == pass) return r;
  Row r;
  r.group = group, r.shape = shape, r.pass = pass, r.vendor = vendor;
  rows().push_back(r);
  return rows().back();
}

// Variant numbers of the family (kernels/README.md), and the named dispatcher;
// each is also the slot of its time in Row::ms.
constexpr int kVendor = 0, kDispatch = 1, kIgemm = 2;

void set_counters(benchmark::State& st, Row& r, int variant, double ms) {
  r.ms[variant] = ms;
  st.counters["ms"] = ms;
  if (r.flops > 0) st.counters["TFLOP/s"] = r.flops / (ms * 1e-3) / 1e12;
  if (r.bytes > 0) st.counters["GB/s"] = r.bytes / (ms * 1e-3) / 1e9;
  if (variant == kDispatch && std::isfinite(r.ms[0])) st.counters["pct_of_vendor"] = 100.0 * r.ms[0] / ms;
  if (std::isfinite(r.max_rel)) st.counters["max_rel_err"] = r.max_rel;
}

// =============================================================================================
// Convolutions
// =============================================================================================

enum Pass { kFwd = 0, kBwdData = 1, kBwdFilter = 2 };
const char* kPassName[3] = {"fwd", "bwd-data", "bwd-filter"};

struct ConvShape {
  std::string name;
  Conv2dParams p;
  bool transposed;  // listed as a conv_transpose2d (its forward = the conv's bwd-data)
};

std::vector<ConvShape> conv_shapes() {
  auto mk = [](const char* name, int C, int H, int K, int R, int stride, int pad, int dil, bool tr) {
    Conv2dParams p;
    p.N = kBatch, p.C = C, p.H = H, p.W = H, p.K = K, p.R = p.S = R;
    p.stride_h = p.stride_w = stride, p.pad_h = p.pad_w = pad, p.dil_h = p.dil_w = dil;
    if (!p.finalize()) throw std::logic_error("bad bench shape");
    return ConvShape{name, p, tr};
  };
  return {
      mk("512-512_16x16_3x3", 512, 16, 512, 3, 1, 1, 1, false),
      mk("512-512_16x16_3x3_dil2", 512, 16, 512, 3, 1, 2, 2, false),
      mk("256-256_32x32_3x3", 256, 32, 256, 3, 1, 1, 1, false),
      mk("128-128_16x16_3x3", 128, 16, 128, 3, 1, 1, 1, false),
      mk("128-128_32x32_3x3", 128, 32, 128, 3, 1, 1, 1, false),
      mk("64-64_32x32_3x3", 64, 32, 64, 3, 1, 1, 1, false),
      mk("1-64_128x128_7x7_s2", 1, 128, 64, 7, 2, 3, 1, false),
      mk("1-64_128x128_3x3", 1, 128, 64, 3, 1, 1, 1, false),
      // conv_transpose2d 512 -> 256, 16x16 -> 32x32, 4x4 stride 2 pad 1: the conv
      // 256 -> 512, 32x32 -> 16x16 whose backward-data it is.
      mk("deconv_512-256_16to32_4x4_s2", 256, 32, 512, 4, 2, 1, 1, true),
  };
}

std::string pass_label(const ConvShape& s, int pass) {
  if (!s.transposed) return kPassName[pass];
  if (pass == kBwdData) return "bwd-data(=deconv fwd)";
  if (pass == kFwd) return "fwd(=deconv bwd-data)";
  return "bwd-filter";
}

struct ConvCtx {
  ConvShape s;
  std::unique_ptr<DevMem> x, w, y, dy, dx, dw, dw_vendor, y_vendor, dx_vendor, tinct_ws, igemm_ws;
  size_t tinct_ws_bytes = 0, igemm_ws_bytes = 0;
  CudnnConvDesc d;  // FP32 FMA only, no TF32
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo{};
  size_t ws_bytes[3] = {0, 0, 0};
  std::string algo_note[3];

  explicit ConvCtx(const ConvShape& shape)
      : s(shape), d(shape.p, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH) {
    const Conv2dParams& p = s.p;
    const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
                 ny = size_t(p.N) * p.K * p.P * p.Q;
    x = random_dev(nx, 1), w = random_dev(nw, 2), dy = random_dev(ny, 3);
    y = std::make_unique<DevMem>(ny * 4), y_vendor = std::make_unique<DevMem>(ny * 4);
    dx = std::make_unique<DevMem>(nx * 4), dx_vendor = std::make_unique<DevMem>(nx * 4);
    dw = std::make_unique<DevMem>(nw * 4), dw_vendor = std::make_unique<DevMem>(nw * 4);
    tinct_ws_bytes = gpu::conv2d_bwd_filter_workspace_bytes(p);
    tinct_ws = std::make_unique<DevMem>(tinct_ws_bytes);
    igemm_ws_bytes = gpu::conv2d_bwd_filter_igemm_workspace_bytes(p);
    igemm_ws = std::make_unique<DevMem>(igemm_ws_bytes);

    find_algos();
  }

  // The fastest successful algorithm that does not use tensor cores.
  template <class Perf>
  static int pick(const Perf* perf, int n, std::string* note) {
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].mathType != CUDNN_TENSOR_OP_MATH &&
          perf[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) {
        *note = "algo " + std::to_string(int(perf[i].algo)) + " (math " +
                std::to_string(int(perf[i].mathType)) + ", find " + std::to_string(perf[i].time) + " ms)";
        return i;
      }
    throw std::runtime_error("cuDNN: no FP32 FMA algorithm for this shape");
  }

  void find_algos() {
    cudnnHandle_t h = G().cudnn;
    void* ws = G().workspace->p;
    const size_t wsb = G().workspace->bytes;
    int n = 0;
    {
      cudnnConvolutionFwdAlgoPerf_t perf[16];
      CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, x->p, d.w, w->p, d.conv, d.y, y_vendor->p, 16,
                                                         &n, perf, ws, wsb));
      const int i = pick(perf, n, &algo_note[kFwd]);
      fwd_algo = perf[i].algo;
      ws_bytes[kFwd] = perf[i].memory;
    }
    {
      cudnnConvolutionBwdDataAlgoPerf_t perf[16];
      CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, w->p, d.y, dy->p, d.conv, d.x,
                                                              dx_vendor->p, 16, &n, perf, ws, wsb));
      const int i = pick(perf, n, &algo_note[kBwdData]);
      bwd_data_algo = perf[i].algo;
      ws_bytes[kBwdData] = perf[i].memory;
    }
    {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[16];
      CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x, x->p, d.y, dy->p, d.conv, d.w,
                                                                dw_vendor->p, 16, &n, perf, ws, wsb));
      const int i = pick(perf, n, &algo_note[kBwdFilter]);
      bwd_filter_algo = perf[i].algo;
      ws_bytes[kBwdFilter] = perf[i].memory;
    }
  }

  void run_vendor(int pass) {
    const float one = 1.0f, zero = 0.0f;
    void* ws = G().workspace->p;
    cudnnHandle_t h = G().cudnn;
    switch (pass) {
      case kFwd:
        CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x->p, d.w, w->p, d.conv, fwd_algo, ws,
                                            ws_bytes[kFwd], &zero, d.y, y_vendor->p));
        break;
      case kBwdData:
        CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w->p, d.y, dy->p, d.conv, bwd_data_algo, ws,
                                                 ws_bytes[kBwdData], &zero, d.x, dx_vendor->p));
        break;
      case kBwdFilter:
        CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x->p, d.y, dy->p, d.conv, bwd_filter_algo, ws,
                                                   ws_bytes[kBwdFilter], &zero, d.w, dw_vendor->p));
        break;
    }
  }

  // tinct's implicit GEMM by name, for the shapes the dispatcher gives to
  // Winograd: the two side by side tune the dispatcher's threshold.
  void run_tinct_igemm(int pass) {
    switch (pass) {
      case kFwd: gpu::conv2d_fwd_igemm(s.p, x->f(), w->f(), nullptr, y->f()); break;
      case kBwdData: gpu::conv2d_bwd_data_igemm(s.p, dy->f(), w->f(), dx->f()); break;
      case kBwdFilter:
        gpu::conv2d_bwd_filter_igemm(s.p, x->f(), dy->f(), dw->f(), nullptr, igemm_ws->p, igemm_ws_bytes);
        break;
    }
  }

  void run_tinct(int pass) {
    switch (pass) {
      case kFwd: gpu::conv2d_fwd(s.p, x->f(), w->f(), nullptr, y->f()); break;
      case kBwdData: gpu::conv2d_bwd_data(s.p, dy->f(), w->f(), dx->f()); break;
      case kBwdFilter:  // accumulates into dw: fine for timing
        gpu::conv2d_bwd_filter(s.p, x->f(), dy->f(), dw->f(), nullptr, tinct_ws->p, tinct_ws_bytes);
        break;
    }
  }

  // One call each, compared (dw zeroed first: tinct accumulates).
  double validate(int pass) {
    const Conv2dParams& p = s.p;
    if (pass == kBwdFilter)
      TINCT_CUDA_CHECK(cudaMemset(dw->p, 0, dw->bytes));
    run_vendor(pass);
    run_tinct(pass);
    switch (pass) {
      case kFwd: return max_rel_diff(y->f(), y_vendor->f(), size_t(p.N) * p.K * p.P * p.Q);
      case kBwdData: return max_rel_diff(dx->f(), dx_vendor->f(), size_t(p.N) * p.C * p.H * p.W);
      default: return max_rel_diff(dw->f(), dw_vendor->f(), size_t(p.K) * p.C * p.R * p.S);
    }
  }
};

std::map<std::string, std::unique_ptr<ConvCtx>>& conv_ctxs() {
  static std::map<std::string, std::unique_ptr<ConvCtx>> m;
  return m;
}

ConvCtx& conv_ctx(const ConvShape& s) {
  auto& m = conv_ctxs();
  auto it = m.find(s.name);
  if (it == m.end()) {
    // One shape's buffers at a time: free the previous shapes'.
    m.clear();
    it = m.emplace(s.name, std::make_unique<ConvCtx>(s)).first;
  }
  return *it->second;
}

void BM_conv(benchmark::State& st, ConvShape s, int pass, int variant) {
  try {
    ConvCtx& c = conv_ctx(s);
    Row& r = row("conv", s.name, pass_label(s, pass), "cuDNN");
    r.flops = s.p.flops();
    r.bytes = s.p.bytes();
    if (variant == kVendor) {
      r.max_rel = c.validate(pass);
      r.note = c.algo_note[pass];
      st.SetLabel("cuDNN " + c.algo_note[pass]);
    } else {
      r.tinct_note = gpu::conv2d_plan(s.p);
      st.SetLabel(variant == kDispatch ? "tinct dispatch" : "tinct 2 implicit GEMM");
    }
    const double ms = time_it(st, [&] {
      if (variant == kVendor)
        c.run_vendor(pass);
      else if (variant == kDispatch)
        c.run_tinct(pass);
      else
        c.run_tinct_igemm(pass);
    });
    set_counters(st, r, variant, ms);
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

// =============================================================================================
// Batch norm (training), cuDNN SPATIAL vs tinct
// =============================================================================================

void BM_batchnorm(benchmark::State& st, int N, int C, int H, int W, bool backward, int variant) {
  try {
    const size_t n = size_t(N) * C * H * W;
    const std::string shape = std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(H) +
                              "x" + std::to_string(W);
    auto x = random_dev(n, 11), dy = random_dev(n, 12), gamma = random_dev(C, 13), beta = random_dev(C, 14);
    DevMem y(n * 4), yv(n * 4), dx(n * 4), dxv(n * 4), rm(C * 4), rv(C * 4), sm(C * 4), si(C * 4),
        smv(C * 4), siv(C * 4), dg(C * 4), db(C * 4);
    TINCT_CUDA_CHECK(cudaMemset(rm.p, 0, rm.bytes));
    gpu::fill(C, 1.0f, rv.f());
    cudnnTensorDescriptor_t xd, pd;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&xd));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&pd));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, C, H, W));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(pd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, C, 1, 1));
    const float one = 1.0f, zero = 0.0f;
    const double eps = 1e-5;
    auto vendor_fwd = [&] {
      CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(G().cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd,
                                                         x->p, xd, yv.p, pd, gamma->p, beta->p, 0.1, rm.p,
                                                         rv.p, eps, smv.p, siv.p));
    };
    auto vendor_bwd = [&] {
      CUDNN_CHECK(cudnnBatchNormalizationBackward(G().cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one,
                                                  &zero, xd, x->p, xd, dy->p, xd, dxv.p, pd, gamma->p, dg.p,
                                                  db.p, eps, smv.p, siv.p));
    };
    auto tinct_fwd = [&] {
      gpu::batchnorm_fwd_train(N, C, H * W, x->f(), gamma->f(), beta->f(), float(eps), 0.1f, rm.f(), rv.f(),
                               y.f(), sm.f(), si.f());
    };
    auto tinct_bwd = [&] {
      gpu::batchnorm_bwd_train(N, C, H * W, x->f(), dy->f(), gamma->f(), sm.f(), si.f(), dx.f(), dg.f(),
                               db.f());
    };
    Row& r = row("batchnorm", shape, backward ? "bwd-train" : "fwd-train", "cuDNN");
    r.bytes = backward ? 16.0 * n : 8.0 * n;  // compulsory traffic: (x, dy read, dx write) / (x read, y write)
    if (variant == 0) {
      vendor_fwd();
      tinct_fwd();
      if (backward) {
        vendor_bwd();
        tinct_bwd();
        r.max_rel = max_rel_diff(dx.f(), dxv.f(), n);
      } else {
        r.max_rel = max_rel_diff(y.f(), yv.f(), n);
      }
    } else {
      tinct_fwd();  // the saved statistics for the backward
    }
    const double ms = time_it(st, [&] {
      if (variant == 0)
        backward ? vendor_bwd() : vendor_fwd();
      else
        backward ? tinct_bwd() : tinct_fwd();
    });
    set_counters(st, r, variant, ms);
    st.SetLabel(variant == 0 ? "cuDNN" : "tinct");
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(pd);
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

// =============================================================================================
// SGEMM ceiling, copy ceiling
// =============================================================================================

void BM_sgemm(benchmark::State& st, int n, int variant) {
  try {
    const size_t nn = size_t(n) * n;
    auto a = random_dev(nn, 21), b = random_dev(nn, 22);
    DevMem c(nn * 4), cv(nn * 4);
    const float one = 1.0f, zero = 0.0f;
    // Row-major C = A B is column-major C^T = B^T A^T.
    auto vendor = [&] {
      CUBLAS_CHECK(cublasSgemm(G().cublas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, b->f(), n, a->f(), n,
                               &zero, cv.f(), n));
    };
    auto mine = [&] { gpu::sgemm(false, false, n, n, n, 1.0f, a->f(), n, b->f(), n, 0.0f, c.f(), n); };
    Row& r = row("sgemm", std::to_string(n) + "^3", "NN", "cuBLAS");
    r.flops = 2.0 * n * double(n) * n;
    r.bytes = 12.0 * nn;
    if (variant == 0) {
      vendor();
      mine();
      r.max_rel = max_rel_diff(c.f(), cv.f(), nn);
    }
    const double ms = time_it(st, [&] { variant == 0 ? vendor() : mine(); });
    set_counters(st, r, variant, ms);
    st.SetLabel(variant == 0 ? "cuBLAS (FP32, default math: no TF32)" : "tinct");
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

void BM_copy(benchmark::State& st) {
  try {
    const size_t bytes = size_t(1) << 30;
    DevMem a(bytes), b(bytes);
    TINCT_CUDA_CHECK(cudaMemset(a.p, 1, bytes));
    Row& r = row("copy", "1 GiB", "d2d", "cudaMemcpy");
    r.bytes = 2.0 * bytes;  // read + write
    const double ms = time_it(st, [&] {
      TINCT_CUDA_CHECK(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, 0));
    });
    set_counters(st, r, 0, ms);
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

void print_summary() {
  std::printf("\n=== SUMMARY BEGIN ===\n");
  std::printf("device: %s\n", gpu::device_description().c_str());
  std::printf("cuDNN %zu, cuBLAS %d, batch %d, median of %d iterations, L2 flushed, FP32 (no TF32)\n",
              cudnnGetVersion(), CUBLAS_VERSION, kBatch, kIters);
  std::printf("%-10s | %-30s | %-22s | %10s | %10s | %9s | %8s | %8s | %9s | %10s\n", "group", "shape", "pass",
              "vendor ms", "tinct ms", "% vendor", "v TF/s", "t TF/s", "max rel", "igemm ms");
  std::printf("%s\n", std::string(153, '-').c_str());
  for (const Row& r : rows()) {
    auto tf = [&](double ms) { return r.flops > 0 && std::isfinite(ms) ? r.flops / (ms * 1e-3) / 1e12 : NAN; };
    const double pct = std::isfinite(r.ms[0]) && std::isfinite(r.ms[1]) ? 100.0 * r.ms[0] / r.ms[1] : NAN;
    std::printf("%-10s | %-30s | %-22s | %10.4f | %10.4f | %8.1f%% | %8.2f | %8.2f | %9.2e | %10.4f\n",
                r.group.c_str(), r.shape.c_str(), r.pass.c_str(), r.ms[0], r.ms[1], pct, tf(r.ms[0]), tf(r.ms[1]),
                r.max_rel, r.ms[2]);
  }
  for (const Row& r : rows())
    if (r.group == "copy" && std::isfinite(r.ms[0]))
      std::printf("copy ceiling: %.0f GB/s (read + write)\n", r.bytes / (r.ms[0] * 1e-3) / 1e9);
  for (const Row& r : rows())
    if (!r.note.empty()) std::printf("cuDNN %s %s: %s\n", r.shape.c_str(), r.pass.c_str(), r.note.c_str());
  std::string last;
  for (const Row& r : rows())
    if (!r.tinct_note.empty() && r.shape != last) {
      std::printf("tinct %s: %s\n", r.shape.c_str(), r.tinct_note.c_str());
      last = r.shape;
    }
  std::printf("=== SUMMARY END ===\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // No TF32 anywhere in this process (cuDNN and cuBLAS honour this variable).
  setenv("NVIDIA_TF32_OVERRIDE", "0", 1);
  std::string why;
  if (!gpu::device_available(&why)) {
    std::printf("SKIPPED: no CUDA device (%s)\n", why.c_str());
    return 77;
  }
  try {
    CUDNN_CHECK(cudnnCreate(&G().cudnn));
    CUBLAS_CHECK(cublasCreate(&G().cublas));
    CUBLAS_CHECK(cublasSetMathMode(G().cublas, CUBLAS_DEFAULT_MATH));
    int dev = 0, l2 = 0;
    TINCT_CUDA_CHECK(cudaGetDevice(&dev));
    TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    G().flush = std::make_unique<DevMem>(std::max<size_t>(size_t(l2) * 2, size_t(64) << 20));
    G().workspace = std::make_unique<DevMem>(size_t(2) << 30);
    TINCT_CUDA_CHECK(cudaEventCreate(&G().start));
    TINCT_CUDA_CHECK(cudaEventCreate(&G().stop));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "setup failed: %s\n", e.what());
    return 1;
  }
  std::printf("device: %s\n", gpu::device_description().c_str());

  for (const ConvShape& s : conv_shapes())
    for (int pass = 0; pass < 3; ++pass)
      for (int variant : {kVendor, kDispatch, kIgemm}) {
        // variant 2 (the implicit GEMM by name) only where the dispatcher picks Winograd
        if (variant == kIgemm && gpu::conv2d_plan(s.p).rfind("winograd", 0) != 0) continue;
        static const char* const kVariant[] = {"0-cudnn", "dispatch", "2-igemm"};
        const std::string name = "conv/" + s.name + "/" + kPassName[pass] + "/" + kVariant[variant];
        benchmark::RegisterBenchmark(name.c_str(), BM_conv, s, pass, variant)
            ->UseManualTime()
            ->Iterations(kIters)
            ->Unit(benchmark::kMillisecond);
      }
  struct Bn {
    int N, C, H, W;
  };
  for (const Bn b : {Bn{kBatch, 64, 64, 64}, Bn{kBatch, 256, 16, 16}})
    for (int bwd = 0; bwd < 2; ++bwd)
      for (int variant = 0; variant < 2; ++variant) {
        const std::string name = "batchnorm/" + std::to_string(b.C) + "x" + std::to_string(b.H) + "/" +
                                 (bwd ? "bwd" : "fwd") + "/" + (variant ? "1-channel-reduce" : "0-cudnn");
        benchmark::RegisterBenchmark(name.c_str(), BM_batchnorm, b.N, b.C, b.H, b.W, bool(bwd), variant)
            ->UseManualTime()
            ->Iterations(kIters)
            ->Unit(benchmark::kMillisecond);
      }
  for (int variant = 0; variant < 2; ++variant)
    benchmark::RegisterBenchmark(variant ? "sgemm/8192/1-tiled" : "sgemm/8192/0-cublas", BM_sgemm, 8192, variant)
        ->UseManualTime()
        ->Iterations(std::max(3, kIters / 3))
        ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("copy/1GiB", BM_copy)->UseManualTime()->Iterations(kIters)->Unit(
      benchmark::kMillisecond);

  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  print_summary();
  conv_ctxs().clear();
  benchmark::Shutdown();
  return 0;
}
