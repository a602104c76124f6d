// test_gpu_kernels.cpp — every CUDA kernel of kernels/cuda.h against its CPU
// reference (kernels/<family>/ref.cpp) on fresh random inputs at awkward shapes:
// odd sizes, sizes that are not multiples of the tiles, batch 1, stride 2 and
// 3, dilation 2 and 4, 1- and 3-channel inputs, 313-channel outputs, the
// 4x4 stride-2 transposed convolution, and the models' real layer shapes with
// a small batch. Then a stack of two ResNet basic blocks, forward and
// backward, compared on the final gradients.
//
// Every comparison prints one line: the op, the shape, max|ref|, the worst
// absolute error and where (as an NCHW index), the worst relative error
// (|got - ref| / max(|ref|, 1e-3 max|ref|)) and where, the tolerance, and
// ok / FAIL. Tolerances are absolute, derived from the size of the answer:
//   conv, GEMM  1e-5 * sqrt(reduction length) * max(max|ref|, 1)  (float sums
//               in a different order; the inputs are O(1), so 1 is the scale of
//               the terms when the sum cancels; an indexing bug is O(max|ref|))
//   pointwise   1e-6 * max|ref|  (most are bit-exact; transcendental ones
//               differ by a few ulp between libm and CUDA)
//   batch norm  1e-5 * max|ref|  (the reference works in double throughout)
//   losses      1e-6 relative on the value, gradients 1e-6 (1e-5 soft-CE)
//   ResNet stack 1e-4 * max|ref| (two batch norms per block amplify rounding)
// Outputs that kernels must OVERWRITE are first filled with NaN on the GPU,
// and accumulating outputs start from random values, so both contracts are
// checked.
//
// Skipping: tests/doctest_main.cpp (shared by all test programs) defines main()
// through DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN, so this file cannot have a main
// of its own. Instead a namespace-scope initializer below runs before main:
// without a usable CUDA device it prints "SKIPPED: no CUDA device (<why>)"
// and exits with 77, which ctest reports as skipped (SKIP_RETURN_CODE 77 in
// tests/CMakeLists.txt).
//
// Run: ctest -L gpu --output-on-failure, or ./test_gpu_kernels -s for doctest's
// own successes too. The CPU references of the large shapes use the fast CPU
// path (cpu::conv2d_*, itself tested against the reference by the CPU tests).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "gpu/gpu_skip.h"
#include "kernel_check.h"
#include "kernels/cuda.h"
#include "kernels/kernels.h"

using namespace tinct;
namespace gpu = tinct::cuda;
using Vec = std::vector<float>;

namespace {

// ---- device buffers ----------------------------------------------------------
template <class T = float>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) {
    if (n_) TINCT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)));
  }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) { put(h); }
  ~Dev() {
    if (p_) cudaFree(p_);
  }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* p() const { return p_; }
  size_t size() const { return n_; }
  void put(const std::vector<T>& h) {
    REQUIRE(h.size() == n_);
    if (n_) TINCT_CUDA_CHECK(cudaMemcpy(p_, h.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> get() const {
    // Surface any fault of the kernels that wrote this buffer here.
    TINCT_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> h(n_);
    if (n_) TINCT_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  void poison() {  // all bits set: NaN for floats, -1 for integers
    if (n_) TINCT_CUDA_CHECK(cudaMemset(p_, 0xFF, n_ * sizeof(T)));
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

uint32_t g_seed = 12345;
Vec rnd(size_t n, float lo = -1.0f, float hi = 1.0f) { return kcheck::random_vec(n, g_seed++, lo, hi); }

double max_abs(const Vec& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

std::string index_str(size_t flat, const std::vector<int>& dims) {
  std::vector<long long> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = (long long)(flat % size_t(dims[d]));
    flat /= size_t(dims[d]);
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? "," : "") + std::to_string(idx[d]);
  return s + "]";
}

std::string dims_str(const std::vector<int>& dims) {
  std::string s;
  for (size_t d = 0; d < dims.size(); ++d) s += (d ? "x" : "") + std::to_string(dims[d]);
  return s;
}

// Compares and prints one line; `tol` is absolute.
bool check_close(const std::string& what, const std::vector<int>& dims, const Vec& got, const Vec& ref,
                 double tol) {
  REQUIRE_MESSAGE(got.size() == ref.size(), what);
  const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), got.size());
  const bool ok = d.max_abs <= tol;
  std::printf("  %-62s %-14s max|ref| %-9.3g abs %-9.3g at %-17s rel %-9.3g at %-17s tol %-8.2g %s\n",
              what.c_str(), dims_str(dims).c_str(), d.max_ref, d.max_abs,
              index_str(d.at_abs, dims).c_str(), d.max_rel, index_str(d.at_rel, dims).c_str(), tol,
              ok ? "ok" : "FAIL");
  if (!ok && !got.empty())
    std::printf("      worst: got %.9g ref %.9g\n", double(got[d.at_abs]), double(ref[d.at_abs]));
  std::fflush(stdout);
  CHECK_MESSAGE(ok, what);
  return ok;
}

bool check_rel(const std::string& what, const std::vector<int>& dims, const Vec& got, const Vec& ref,
               double rel) {
  return check_close(what, dims, got, ref, rel * std::max(max_abs(ref), 1e-30));
}

bool check_scalar(const std::string& what, double got, double ref, double rel) {
  const double err = std::fabs(got - ref);
  const double tol = rel * std::max(std::fabs(ref), 1e-30);
  const bool ok = err <= tol;  // NaN fails
  std::printf("  %-62s got %.12g ref %.12g abs %.3g tol %.3g %s\n", what.c_str(), got, ref, err, tol,
              ok ? "ok" : "FAIL");
  std::fflush(stdout);
  CHECK_MESSAGE(ok, what);
  return ok;
}

double dev_scalar(const Dev<double>& d) { return d.get()[0]; }

// Tolerance of a sum of `len` O(1) terms: 1e-5 sqrt(len) max(max|ref|, 1).
double sum_tol(double len, const Vec& ref) {
  return 1e-5 * std::sqrt(std::max(len, 1.0)) * std::max(max_abs(ref), 1.0);
}

// =============================================================================
// Convolutions
// =============================================================================

struct ConvCase {
  const char* name;
  int N, C, H, W, K, R, S, sh, sw, ph, pw, dh, dw;
  bool bias;
  size_t chunk_bytes = 0;  // Winograd chunk budget for this case (0: the default)
};

Conv2dParams params_of(const ConvCase& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
  p.stride_h = c.sh, p.stride_w = c.sw, p.pad_h = c.ph, p.pad_w = c.pw, p.dil_h = c.dh, p.dil_w = c.dw;
  REQUIRE_MESSAGE(p.finalize(), c.name);
  return p;
}

std::string conv_label(const ConvCase& c, const Conv2dParams& p) {
  char b[200];
  std::snprintf(b, sizeof b, "%s: N%d C%d %dx%d -> K%d %dx%d, %dx%d s%d,%d p%d,%d d%d,%d", c.name, p.N,
                p.C, p.H, p.W, p.K, p.P, p.Q, p.R, p.S, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
                p.dil_h, p.dil_w);
  return b;
}

// A case's Winograd chunk budget for one scope (0: the default stays), so
// that its batch is split into chunks of images.
struct WinogradChunk {
  size_t old = 0;
  bool set;
  explicit WinogradChunk(size_t bytes) : set(bytes != 0) {
    if (set) old = gpu::set_winograd_chunk_bytes(bytes);
  }
  ~WinogradChunk() {
    if (set) gpu::set_winograd_chunk_bytes(old);
  }
};

// Above this many multiply-adds the CPU side uses the fast path (im2col +
// blocked GEMM, OpenMP) instead of the reference loops.
constexpr double kRefMacs = 3e7;

void run_conv_case(const ConvCase& cc) {
  const Conv2dParams p = params_of(cc);
  const std::string label = conv_label(cc, p);
  const double macs = p.flops() / 2;
  const bool use_ref = macs <= kRefMacs;
  std::printf("%s  [%s, %.3g MMAC]\n    plan: %s\n", label.c_str(), use_ref ? "cpu ref" : "cpu fast path",
              macs / 1e6, gpu::conv2d_plan(p).c_str());
  const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
               ny = size_t(p.N) * p.K * p.P * p.Q;
  const std::vector<int> xd{p.N, p.C, p.H, p.W}, wd{p.K, p.C, p.R, p.S}, yd{p.N, p.K, p.P, p.Q};
  const Vec x = rnd(nx), w = rnd(nw), b = rnd(p.K), dy = rnd(ny);
  const Vec dw0 = rnd(nw), db0 = rnd(p.K);  // accumulation starts from these

  Vec y_ref(ny), dx_ref(nx), dw_ref = dw0, db_ref = db0;
  const float* bp = cc.bias ? b.data() : nullptr;
  if (use_ref) {
    cpu::conv2d_fwd_ref(p, x.data(), w.data(), bp, y_ref.data());
    cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dx_ref.data());
    cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), dw_ref.data(), db_ref.data());
  } else {
    cpu::conv2d_fwd(p, x.data(), w.data(), bp, y_ref.data());
    cpu::conv2d_bwd_data(p, dy.data(), w.data(), dx_ref.data());
    cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw_ref.data(), db_ref.data());
  }

  Dev<> dx_(x), dw_(w), db_(b), ddy(dy), y(ny), dx(nx), dwg(nw), dbg(size_t(p.K));
  const double crs = double(p.C) * p.R * p.S, krs = double(p.K) * p.R * p.S,
               npq = double(p.N) * p.P * p.Q;

  // variant 0: implicit GEMM
  y.poison();
  gpu::conv2d_fwd_igemm(p, dx_.p(), dw_.p(), cc.bias ? db_.p() : nullptr, y.p());
  check_close("conv fwd  (igemm)", yd, y.get(), y_ref, sum_tol(crs, y_ref));
  dx.poison();
  gpu::conv2d_bwd_data_igemm(p, ddy.p(), dw_.p(), dx.p());
  check_close("conv bwd-data (igemm)", xd, dx.get(), dx_ref, sum_tol(krs, dx_ref));
  // variant 2: Winograd F(4x4,3x3) wherever it applies (the dispatcher uses it
  // only from 32 channels up; here at any channel count). Its transforms
  // round ~5x more than a direct sum: still well inside sum_tol.
  if (cpu::conv2d_winograd_supported(p)) {
    const WinogradChunk chunk(cc.chunk_bytes);
    y.poison();
    gpu::conv2d_fwd_winograd(p, dx_.p(), dw_.p(), cc.bias ? db_.p() : nullptr, y.p());
    check_close("conv fwd  (winograd F4x3)", yd, y.get(), y_ref, sum_tol(crs, y_ref));
    dx.poison();
    gpu::conv2d_bwd_data_winograd(p, ddy.p(), dw_.p(), dx.p());
    check_close("conv bwd-data (winograd F4x3)", xd, dx.get(), dx_ref, sum_tol(krs, dx_ref));
  }
  // the dispatcher (what the engine calls)
  y.poison();
  gpu::conv2d_fwd(p, dx_.p(), dw_.p(), cc.bias ? db_.p() : nullptr, y.p());
  check_close("conv fwd  (dispatch)", yd, y.get(), y_ref, sum_tol(crs, y_ref));
  // backward-filter: accumulates into dw and db, deterministic (a second run
  // is bit-identical), for variant 0 and, where it applies, variant 2
  auto check_wgrad = [&](const char* name, auto wgrad, size_t bytes) {
    Dev<char> ws(std::max<size_t>(bytes, 1));
    dwg.put(dw0);
    dbg.put(db0);
    wgrad(ws.p(), bytes, dbg.p());
    const Vec dw_got = dwg.get();
    check_close(std::string("conv bwd-filter dw += (") + name + ")", wd, dw_got, dw_ref, sum_tol(npq, dw_ref));
    check_close(std::string("conv bwd-filter db += (") + name + ")", {p.K}, dbg.get(), db_ref,
                sum_tol(npq, db_ref));
    dwg.put(dw0);
    wgrad(ws.p(), bytes, nullptr);
    const Vec again = dwg.get();
    const bool same = std::memcmp(again.data(), dw_got.data(), again.size() * sizeof(float)) == 0;
    std::printf("  %-62s workspace %zu B: %s\n", (std::string("conv bwd-filter deterministic (") + name + ")").c_str(),
                bytes, same ? "ok" : "FAIL");
    CHECK_MESSAGE(same, label << ": bwd-filter (" << name << ") not deterministic");
  };
  check_wgrad(
      "igemm, split-K",
      [&](void* ws, size_t bytes, float* db) {
        gpu::conv2d_bwd_filter_igemm(p, dx_.p(), ddy.p(), dwg.p(), db, ws, bytes);
      },
      gpu::conv2d_bwd_filter_igemm_workspace_bytes(p));
  if (cpu::conv2d_winograd_supported(p)) {
    const WinogradChunk chunk(cc.chunk_bytes);
    check_wgrad(
        "winograd F4x3",
        [&](void* ws, size_t bytes, float* db) {
          gpu::conv2d_bwd_filter_winograd(p, dx_.p(), ddy.p(), dwg.p(), db, ws, bytes);
        },
        gpu::conv2d_bwd_filter_winograd_workspace_bytes(p));
  }
  dwg.put(dw0);
  gpu::conv2d_bwd_filter(p, dx_.p(), ddy.p(), dwg.p(), nullptr);  // the dispatcher, pool workspace
  check_close("conv bwd-filter dw += (dispatch)", wd, dwg.get(), dw_ref, sum_tol(npq, dw_ref));

  // variant 1: naive (small shapes only: it is slow by design)
  if (use_ref) {
    y.poison();
    gpu::conv2d_fwd_naive(p, dx_.p(), dw_.p(), cc.bias ? db_.p() : nullptr, y.p());
    check_close("conv fwd  (naive)", yd, y.get(), y_ref, sum_tol(crs, y_ref));
    dx.poison();
    gpu::conv2d_bwd_data_naive(p, ddy.p(), dw_.p(), dx.p());
    check_close("conv bwd-data (naive)", xd, dx.get(), dx_ref, sum_tol(krs, dx_ref));
    dwg.put(dw0);
    dbg.put(db0);
    gpu::conv2d_bwd_filter_naive(p, dx_.p(), ddy.p(), dwg.p(), dbg.p());
    check_close("conv bwd-filter dw += (naive)", wd, dwg.get(), dw_ref,
                sum_tol(npq, dw_ref));
  }
}

// name, N, C, H, W, K, R, S, stride h/w, pad h/w, dilation h/w, bias
const ConvCase kConvCases[] = {
    {"tiny 1->1", 1, 1, 7, 7, 1, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {"odd sizes", 2, 3, 13, 11, 5, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {"stride 2, K not a tile multiple", 3, 7, 17, 19, 33, 3, 3, 2, 2, 1, 1, 1, 1, false},
    {"stride 2, pad 0, uncovered edge", 2, 8, 9, 10, 12, 3, 3, 2, 2, 0, 0, 1, 1, true},
    {"dilation 2 (fast gather)", 2, 16, 15, 15, 24, 3, 3, 1, 1, 2, 2, 2, 2, true},
    {"dilation 4", 1, 8, 20, 20, 16, 3, 3, 1, 1, 4, 4, 4, 4, false},
    {"asymmetric dil/pad/stride", 1, 9, 11, 13, 130, 3, 3, 1, 2, 1, 2, 1, 2, true},
    {"1x1 stride 2 (empty phases)", 2, 16, 9, 9, 8, 1, 1, 2, 2, 0, 0, 1, 1, false},
    {"2x2 stride 3 (taps skip rows)", 1, 5, 14, 14, 6, 2, 2, 3, 3, 0, 0, 1, 1, true},
    {"stride 2 dilation 2", 2, 8, 13, 12, 10, 3, 3, 2, 2, 2, 2, 2, 2, false},
    {"K = 2 (ab output head)", 5, 4, 6, 6, 2, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {"313 outputs, 1x1", 1, 32, 9, 9, 313, 1, 1, 1, 1, 0, 0, 1, 1, true},
    {"3-channel input 4x4 s2 (PatchGAN conv1)", 2, 3, 16, 16, 8, 4, 4, 2, 2, 1, 1, 1, 1, true},
    {"batch 1, many pixels, K=64", 1, 8, 40, 40, 64, 3, 3, 1, 1, 1, 1, 1, 1, false},
    {"deconv 4x4 s2 Cin=24->Cout=16, 8x8->16x16", 2, 16, 16, 16, 24, 4, 4, 2, 2, 1, 1, 1, 1, false},
    {"deconv 3x3 s2 + output_padding 1", 1, 8, 16, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, false},
    // The models' layers, batch 1-2 (resolution as in training, 128x128 input).
    {"model: ResNet conv1 1->64 7x7 s2", 1, 1, 128, 128, 64, 7, 7, 2, 2, 3, 3, 1, 1, false},
    {"model: 1->64 3x3 at 128x128", 1, 1, 128, 128, 64, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {"model: 64->64 3x3 at 32x32", 2, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, false},
    {"model: 128->128 3x3 s2 16x16", 2, 128, 16, 16, 128, 3, 3, 2, 2, 1, 1, 1, 1, false},
    {"model: 256->256 3x3 at 32x32", 1, 256, 32, 32, 256, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {"model: 512->512 3x3 at 16x16", 1, 512, 16, 16, 512, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {"model: 512->512 3x3 dil 2 at 16x16", 1, 512, 16, 16, 512, 3, 3, 1, 1, 2, 2, 2, 2, true},
    {"model: deconv 512->256 4x4 s2 16->32", 1, 256, 32, 32, 512, 4, 4, 2, 2, 1, 1, 1, 1, false},
    {"model: 1x1 256->313 head at 32x32", 1, 256, 32, 32, 313, 1, 1, 1, 1, 0, 0, 1, 1, true},
    {"model: PatchGAN 3->64 4x4 s2 at 128", 1, 3, 128, 128, 64, 4, 4, 2, 2, 1, 1, 1, 1, true},
    {"model: PatchGAN 512->1 4x4 s1", 2, 512, 16, 16, 1, 4, 4, 1, 1, 1, 1, 1, 1, true},
    {"model: 16->2 3x3 at 128x128 (ab out)", 1, 16, 128, 128, 2, 3, 3, 1, 1, 1, 1, 1, 1, true},
    // Winograd tiling: outputs not multiples of 4, pad 0 / 2 / mixed, chunks of images.
    {"3x3 pad 0, 7x12 output", 2, 33, 9, 14, 40, 3, 3, 1, 1, 0, 0, 1, 1, true},
    {"3x3 pad 2, output grows 8x7", 1, 16, 6, 5, 17, 3, 3, 1, 1, 2, 2, 1, 1, false},
    {"3x3 pad 1,0, 1-wide output", 3, 40, 7, 3, 36, 3, 3, 1, 1, 1, 0, 1, 1, true},
    {"3x3 C,K >= 32, batch in chunks of 2", 5, 32, 10, 11, 48, 3, 3, 1, 1, 1, 1, 1, 1, true,
     size_t(36 * 4 * 9 * 48 * 2)},
    {"3x3 dil 2,1 pad 2,1 (phases along h only)", 2, 36, 11, 10, 33, 3, 3, 1, 1, 2, 1, 2, 1, true},
};

TEST_CASE("conv2d: implicit GEMM and naive vs CPU reference") {
  for (const ConvCase& c : kConvCases) {
    CAPTURE(c.name);
    run_conv_case(c);
  }
}

// =============================================================================
// GEMM
// =============================================================================

TEST_CASE("sgemm vs reference (all transposes, odd shapes, beta 0 / 1)") {
  struct G {
    int M, N, K;
  };
  for (const G g : {G{1, 1, 1}, G{7, 13, 5}, G{129, 65, 33}, G{300, 257, 100}, G{64, 640, 9}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.0f, 0.5f}) {
          const int lda = (ta ? g.M : g.K) + 3, ldb = (tb ? g.K : g.N) + 1, ldc = g.N + 2;
          const Vec A = rnd(size_t(ta ? g.K : g.M) * lda), B = rnd(size_t(tb ? g.N : g.K) * ldb);
          const Vec C0 = rnd(size_t(g.M) * ldc);
          Vec ref = C0;
          cpu::sgemm_ref(ta, tb, g.M, g.N, g.K, 1.5f, A.data(), lda, B.data(), ldb, beta, ref.data(), ldc);
          Dev<> a(A), b(B), c(C0.size());
          if (beta == 0.0f)
            c.poison();  // beta == 0: C must not be read
          else
            c.put(C0);
          gpu::sgemm(ta, tb, g.M, g.N, g.K, 1.5f, a.p(), lda, b.p(), ldb, beta, c.p(), ldc);
          Vec got = c.get();
          if (beta == 0.0f)  // only the M x N window is defined
            for (int i = 0; i < g.M; ++i)
              for (int j = g.N; j < ldc; ++j) got[size_t(i) * ldc + j] = ref[size_t(i) * ldc + j];
          char what[96];
          std::snprintf(what, sizeof what, "sgemm %s%s M%d N%d K%d beta %.1f", ta ? "T" : "N",
                        tb ? "T" : "N", g.M, g.N, g.K, beta);
          check_close(what, {g.M, ldc}, got, ref, sum_tol(g.K, ref));
        }
  }
}

// =============================================================================
// Bias, batch norm
// =============================================================================

TEST_CASE("sgemm_strided_batched: each matrix of the batch vs reference") {
  // 5 GEMMs of 37x70x19 with gaps between the matrices (strides > sizes), NN and TN.
  const int M = 37, N = 70, K = 19, batch = 5;
  for (int ta = 0; ta < 2; ++ta) {
    const int lda = ta ? M : K, ldb = N, ldc = N + 1;
    const long long sa = 1LL * (ta ? K : M) * lda + 7, sb = 1LL * K * ldb + 3, sc = 1LL * M * ldc + 5;
    const Vec A = rnd(size_t(sa) * batch), B = rnd(size_t(sb) * batch), C0 = rnd(size_t(sc) * batch);
    Vec ref = C0;
    for (int i = 0; i < batch; ++i)
      cpu::sgemm_ref(ta, false, M, N, K, 0.75f, A.data() + i * sa, lda, B.data() + i * sb, ldb, 1.0f,
                     ref.data() + i * sc, ldc);
    Dev<> a(A), b(B), c(C0);
    gpu::sgemm_strided_batched(ta, false, M, N, K, 0.75f, a.p(), lda, sa, b.p(), ldb, sb, 1.0f, c.p(), ldc, sc,
                               batch);
    // the gaps between the matrices must be untouched: compare everything
    check_close(ta ? "sgemm batched TN x5 (gaps untouched)" : "sgemm batched NN x5 (gaps untouched)",
                {batch, int(sc)}, c.get(), ref, sum_tol(K, ref));
  }
}

TEST_CASE("bias_add and bias_grad") {
  struct S {
    int N, C, HW;
  };
  // HW = 1 with many rows: the channels-last case (channel_reduce.cuh's rows kernel, several slices).
  for (const S s : {S{1, 1, 1}, S{2, 3, 35}, S{3, 17, 64}, S{64, 2, 4096}, S{4, 313, 9}, S{2999, 37, 1}}) {
    const size_t n = size_t(s.N) * s.C * s.HW;
    const std::vector<int> dims{s.N, s.C, s.HW};
    const Vec y0 = rnd(n), b = rnd(s.C), dy = rnd(n), db0 = rnd(s.C);
    Vec y_ref = y0, db_ref = db0;
    cpu::bias_add_ref(s.N, s.C, s.HW, b.data(), y_ref.data());
    cpu::bias_grad_ref(s.N, s.C, s.HW, dy.data(), db_ref.data());
    Dev<> y(y0), db_(b), ddy(dy), db(db0);
    gpu::bias_add(s.N, s.C, s.HW, db_.p(), y.p());
    check_rel("bias_add", dims, y.get(), y_ref, 1e-6);
    gpu::bias_grad(s.N, s.C, s.HW, ddy.p(), db.p());
    check_rel("bias_grad (accumulate)", {s.C}, db.get(), db_ref, 1e-6);
  }
}

struct BnCase {
  int N, C, HW;
  float offset;  // added to x: |mean| >> std stresses the variance formula
  bool affine;
};

TEST_CASE("batchnorm (train/eval, forward/backward, fused ReLU) vs reference") {
  const float eps = 1e-5f, momentum = 0.1f;
  for (const BnCase bc : {BnCase{2, 3, 35, 0.0f, true}, BnCase{1, 4, 1, 0.0f, true},
                          BnCase{4, 16, 64, 0.5f, true}, BnCase{3, 5, 17, 0.0f, false},
                          BnCase{2, 8, 100, 1000.0f, true}, BnCase{64, 2, 256, 0.0f, true},
                          BnCase{4099, 37, 1, 0.5f, true}}) {  // HW = 1: the channels-last rows
    const int N = bc.N, C = bc.C, HW = bc.HW;
    const size_t n = size_t(N) * C * HW;
    const std::vector<int> dims{N, C, HW}, cd{C};
    char tag[96];
    std::snprintf(tag, sizeof tag, "N%d C%d HW%d offset %g%s", N, C, HW, bc.offset,
                  bc.affine ? "" : " (no affine)");
    std::printf("batchnorm %s\n", tag);
    Vec x = rnd(n);
    for (float& v : x) v += bc.offset;
    const Vec gamma = rnd(C, 0.5f, 1.5f), beta = rnd(C), dy = rnd(n);
    const Vec rm0 = rnd(C), rv0 = rnd(C, 0.5f, 2.0f), dg0 = rnd(C), dbt0 = rnd(C);
    const float* g = bc.affine ? gamma.data() : nullptr;
    const float* bt = bc.affine ? beta.data() : nullptr;

    // references
    Vec y_ref(n), sm_ref(C), si_ref(C), rm_ref = rm0, rv_ref = rv0;
    cpu::batchnorm_fwd_train_ref(N, C, HW, x.data(), g, bt, eps, momentum, rm_ref.data(), rv_ref.data(),
                                 y_ref.data(), sm_ref.data(), si_ref.data());
    Vec yr_ref(n);
    cpu::act_fwd_ref(Act::Relu, 0.0f, n, y_ref.data(), yr_ref.data());
    Vec dx_ref(n), dg_ref = dg0, dbt_ref = dbt0;
    cpu::batchnorm_bwd_train_ref(N, C, HW, x.data(), dy.data(), g, sm_ref.data(), si_ref.data(),
                                 dx_ref.data(), dg_ref.data(), dbt_ref.data());
    Vec ye_ref(n);
    cpu::batchnorm_fwd_eval_ref(N, C, HW, x.data(), g, bt, rm0.data(), rv0.data(), eps, ye_ref.data());
    Vec dxe_ref(n), dge_ref = dg0, dbe_ref = dbt0;
    cpu::batchnorm_bwd_eval_ref(N, C, HW, x.data(), dy.data(), g, rm0.data(), rv0.data(), eps,
                                dxe_ref.data(), dge_ref.data(), dbe_ref.data());

    Dev<> dx_(x), dg_(gamma), dbt_(beta), ddy(dy), y(n), sm(C), si(C), rm(rm0), rv(rv0), dx(n),
        dgam(dg0), dbet(dbt0);
    float* gp = bc.affine ? dg_.p() : nullptr;
    float* bp = bc.affine ? dbt_.p() : nullptr;
    const double r = 1e-5;

    y.poison();
    gpu::batchnorm_fwd_train(N, C, HW, dx_.p(), gp, bp, eps, momentum, rm.p(), rv.p(), y.p(), sm.p(),
                             si.p());
    check_rel(std::string("bn fwd train y, ") + tag, dims, y.get(), y_ref, r);
    check_rel("bn fwd train save_mean", cd, sm.get(), sm_ref, 1e-6);
    check_rel("bn fwd train save_invstd", cd, si.get(), si_ref, 1e-6);
    check_rel("bn fwd train running_mean", cd, rm.get(), rm_ref, 1e-6);
    check_rel("bn fwd train running_var", cd, rv.get(), rv_ref, 1e-6);

    dx.poison();
    // backward from the GPU's own saved statistics (what the engine does)
    gpu::batchnorm_bwd_train(N, C, HW, dx_.p(), ddy.p(), gp, sm.p(), si.p(), dx.p(),
                             bc.affine ? dgam.p() : nullptr, bc.affine ? dbet.p() : nullptr);
    check_rel("bn bwd train dx", dims, dx.get(), dx_ref, r);
    if (bc.affine) {
      check_rel("bn bwd train dgamma (accumulate)", cd, dgam.get(), dg_ref, r);
      check_rel("bn bwd train dbeta (accumulate)", cd, dbet.get(), dbt_ref, r);
    }

    {
      Dev<> rm_e(rm0), rv_e(rv0);
      gpu::batchnorm_fwd_eval(N, C, HW, dx_.p(), gp, bp, rm_e.p(), rv_e.p(), eps, y.p());
      check_rel("bn fwd eval y", dims, y.get(), ye_ref, r);
      dx.poison();
      dgam.put(dg0);
      dbet.put(dbt0);
      gpu::batchnorm_bwd_eval(N, C, HW, dx_.p(), ddy.p(), gp, rm_e.p(), rv_e.p(), eps, dx.p(),
                              bc.affine ? dgam.p() : nullptr, bc.affine ? dbet.p() : nullptr);
      check_rel("bn bwd eval dx", dims, dx.get(), dxe_ref, r);
      if (bc.affine) {
        check_rel("bn bwd eval dgamma", cd, dgam.get(), dge_ref, r);
        check_rel("bn bwd eval dbeta", cd, dbet.get(), dbe_ref, r);
      }
      // fused eval: relu(bn_eval(x))
      Vec yer_ref(n);
      cpu::act_fwd_ref(Act::Relu, 0.0f, n, ye_ref.data(), yer_ref.data());
      y.poison();
      gpu::batchnorm_relu_fwd_eval(N, C, HW, dx_.p(), gp, bp, rm_e.p(), rv_e.p(), eps, y.p());
      check_rel("bn+relu fused fwd eval", dims, y.get(), yer_ref, r);
    }

    // Fused batch norm + ReLU, train. Reference: bn, relu, relu', bn'.
    // (The large-offset case is skipped here: the fused kernels normalise with
    // the float-rounded statistics, see batchnorm.cu.)
    if (bc.offset < 100.0f) {
      Dev<> rm2(rm0), rv2(rv0), sm2(C), si2(C);
      y.poison();
      gpu::batchnorm_relu_fwd_train(N, C, HW, dx_.p(), gp, bp, eps, momentum, rm2.p(), rv2.p(), y.p(),
                                    sm2.p(), si2.p());
      const Vec yr = y.get();
      check_rel("bn+relu fused fwd train", dims, yr, yr_ref, r);
      check_rel("bn+relu fused running_var", cd, rv2.get(), rv_ref, 1e-6);
      // reference backward through the relu of the reference forward
      Vec dz(n), dxr_ref(n), dgr_ref = dg0, dbr_ref = dbt0;
      cpu::act_bwd_ref(Act::Relu, 0.0f, n, y_ref.data(), yr_ref.data(), dy.data(), dz.data());
      cpu::batchnorm_bwd_train_ref(N, C, HW, x.data(), dz.data(), g, sm_ref.data(), si_ref.data(),
                                   dxr_ref.data(), dgr_ref.data(), dbr_ref.data());
      dx.poison();
      dgam.put(dg0);
      dbet.put(dbt0);
      gpu::batchnorm_relu_bwd_train(N, C, HW, dx_.p(), ddy.p(), gp, bp, sm2.p(), si2.p(), dx.p(),
                                    bc.affine ? dgam.p() : nullptr, bc.affine ? dbet.p() : nullptr);
      check_rel("bn+relu fused bwd train dx", dims, dx.get(), dxr_ref, r);
      if (bc.affine) {
        check_rel("bn+relu fused bwd dgamma", cd, dgam.get(), dgr_ref, r);
        check_rel("bn+relu fused bwd dbeta", cd, dbet.get(), dbr_ref, r);
      }
    }
  }
}

// =============================================================================
// Pointwise: activations, elementwise, concat
// =============================================================================

TEST_CASE("activations forward/backward (aligned and unaligned)") {
  for (size_t n : {size_t(1), size_t(7), size_t(1000003)}) {
    for (int offset : {0, 1}) {  // offset 1: pointers not 16-byte aligned -> scalar path
      const Vec xs = rnd(n + offset, -4.0f, 4.0f), dys = rnd(n + offset);
      for (Act a : {Act::Relu, Act::LeakyRelu, Act::Tanh, Act::Sigmoid}) {
        const char* an = a == Act::Relu ? "relu" : a == Act::LeakyRelu ? "leaky_relu" : a == Act::Tanh ? "tanh" : "sigmoid";
        const float slope = 0.2f;
        Vec y_ref(n), dx_ref(n);
        cpu::act_fwd_ref(a, slope, n, xs.data() + offset, y_ref.data());
        cpu::act_bwd_ref(a, slope, n, xs.data() + offset, y_ref.data(), dys.data() + offset,
                         dx_ref.data());
        Dev<> x(xs), dy(dys), y(n + offset), dx(n + offset);
        y.poison();
        dx.poison();
        gpu::act_fwd(a, slope, n, x.p() + offset, y.p() + offset);
        Vec yg = y.get();
        yg.erase(yg.begin(), yg.begin() + offset);
        char what[96];
        std::snprintf(what, sizeof what, "%s fwd (n=%zu, offset %d)", an, n, offset);
        check_close(what, {int(n)}, yg, y_ref, 1e-6 * std::max(1.0, max_abs(y_ref)));
        // backward from the reference y, so that only the backward is tested
        Dev<> yr(y_ref);
        gpu::act_bwd(a, slope, n, x.p() + offset, yr.p(), dy.p() + offset, dx.p() + offset);
        Vec dg = dx.get();
        dg.erase(dg.begin(), dg.begin() + offset);
        std::snprintf(what, sizeof what, "%s bwd (n=%zu, offset %d)", an, n, offset);
        check_close(what, {int(n)}, dg, dx_ref, 1e-6 * std::max(1.0, max_abs(dx_ref)));
      }
    }
  }
}

TEST_CASE("elementwise add/mul/scale/axpy/fill, incl. aliasing") {
  for (size_t n : {size_t(1), size_t(5), size_t(4096), size_t(100003)}) {
    const Vec a = rnd(n), b = rnd(n), y0 = rnd(n);
    const std::vector<int> d{int(n)};
    Vec r(n);
    Dev<> da(a), db(b), dy(n);
    cpu::add_ref(n, a.data(), b.data(), r.data());
    dy.poison();
    gpu::add(n, da.p(), db.p(), dy.p());
    check_rel("add", d, dy.get(), r, 1e-6);
    cpu::mul_ref(n, a.data(), b.data(), r.data());
    gpu::mul(n, da.p(), db.p(), dy.p());
    check_rel("mul", d, dy.get(), r, 1e-6);
    cpu::scale_ref(n, -2.5f, a.data(), r.data());
    gpu::scale(n, -2.5f, da.p(), dy.p());
    check_rel("scale", d, dy.get(), r, 1e-6);
    r = y0;
    cpu::axpy_ref(n, 0.75f, a.data(), r.data());
    dy.put(y0);
    gpu::axpy(n, 0.75f, da.p(), dy.p());
    check_rel("axpy (accumulate)", d, dy.get(), r, 1e-6);
    cpu::fill_ref(n, 3.25f, r.data());
    gpu::fill(n, 3.25f, dy.p());
    check_rel("fill", d, dy.get(), r, 0.0);
    // aliasing: a = a + b in place
    cpu::add_ref(n, a.data(), b.data(), r.data());
    gpu::add(n, da.p(), db.p(), da.p());
    check_rel("add in place (y aliases a)", d, da.get(), r, 1e-6);
  }
}

TEST_CASE("channel concat (copy) and its adjoint (slice add)") {
  struct S {
    int N, HW, C1, C2;
  };
  for (const S s : {S{1, 1, 1, 1}, S{2, 35, 3, 5}, S{3, 64, 16, 48}, S{2, 7, 64, 1}}) {
    const int Cd = s.C1 + s.C2;
    const Vec a = rnd(size_t(s.N) * s.C1 * s.HW), b = rnd(size_t(s.N) * s.C2 * s.HW);
    Vec cat_ref(size_t(s.N) * Cd * s.HW);
    cpu::channel_copy_ref(s.N, s.HW, s.C1, a.data(), Cd, 0, cat_ref.data());
    cpu::channel_copy_ref(s.N, s.HW, s.C2, b.data(), Cd, s.C1, cat_ref.data());
    Dev<> da(a), db(b), cat(cat_ref.size());
    cat.poison();
    gpu::channel_copy(s.N, s.HW, s.C1, da.p(), Cd, 0, cat.p());
    gpu::channel_copy(s.N, s.HW, s.C2, db.p(), Cd, s.C1, cat.p());
    check_rel("channel_copy x2 (concat)", {s.N, Cd, s.HW}, cat.get(), cat_ref, 0.0);
    // adjoint: the gradient of b is the slice [C1, C1+C2) of the concat's gradient, added
    const Vec g = rnd(cat_ref.size()), gb0 = rnd(b.size());
    Vec gb_ref = gb0;
    cpu::channel_slice_add_ref(s.N, s.HW, Cd, g.data(), s.C1, s.C2, gb_ref.data());
    Dev<> dg(g), dgb(gb0);
    gpu::channel_slice_add(s.N, s.HW, Cd, dg.p(), s.C1, s.C2, dgb.p());
    check_rel("channel_slice_add (accumulate)", {s.N, s.C2, s.HW}, dgb.get(), gb_ref, 1e-6);
  }
}

// =============================================================================
// Pooling, upsampling
// =============================================================================

TEST_CASE("maxpool2d forward/backward (incl. ties and negative windows)") {
  struct S {
    int N, C, H, W, k, s, pad;
    bool ties;
  };
  for (const S s : {S{2, 3, 32, 32, 3, 2, 1, false}, S{1, 2, 7, 9, 2, 2, 0, false},
                    S{2, 4, 11, 13, 3, 2, 1, true}, S{1, 1, 5, 5, 3, 1, 1, true},
                    S{2, 3, 8, 8, 2, 3, 0, false}}) {
    Pool2dParams p;
    p.N = s.N, p.C = s.C, p.H = s.H, p.W = s.W, p.kh = p.kw = s.k, p.stride_h = p.stride_w = s.s;
    p.pad_h = p.pad_w = s.pad;
    REQUIRE(p.finalize());
    const size_t nx = size_t(p.N) * p.C * p.H * p.W, ny = size_t(p.N) * p.C * p.P * p.Q;
    Vec x = rnd(nx, -3.0f, -0.5f);  // all negative: padding must not win with 0
    if (s.ties)
      for (float& v : x) v = std::round(v * 2.0f) / 2.0f;  // few distinct values
    const Vec dy = rnd(ny);
    Vec y_ref(ny), dx_ref(nx);
    std::vector<int32_t> am_ref(ny);
    cpu::maxpool2d_fwd_ref(p, x.data(), y_ref.data(), am_ref.data());
    cpu::maxpool2d_bwd_ref(p, dy.data(), am_ref.data(), dx_ref.data());
    Dev<> dx_(x), ddy(dy), y(ny), dx(nx);
    Dev<int32_t> am(ny);
    y.poison();
    am.poison();
    dx.poison();
    gpu::maxpool2d_fwd(p, dx_.p(), y.p(), am.p());
    char what[96];
    std::snprintf(what, sizeof what, "maxpool fwd %dx%d s%d p%d%s", s.k, s.k, s.s, s.pad, s.ties ? " ties" : "");
    check_rel(what, {p.N, p.C, p.P, p.Q}, y.get(), y_ref, 0.0);
    const std::vector<int32_t> am_got = am.get();
    const bool am_ok = am_got == am_ref;
    std::printf("  %-62s %s\n", "maxpool argmax identical", am_ok ? "ok" : "FAIL");
    CHECK(am_ok);
    gpu::maxpool2d_bwd(p, ddy.p(), am.p(), dx.p());
    check_rel("maxpool bwd (gather)", {p.N, p.C, p.H, p.W}, dx.get(), dx_ref, 1e-6);
  }
}

TEST_CASE("upsample nearest/bilinear forward/backward") {
  struct S {
    int N, C, H, W, Ho, Wo;
  };
  for (Upsample mode : {Upsample::Nearest, Upsample::Bilinear}) {
    for (const S s : {S{1, 1, 1, 1, 5, 5}, S{2, 3, 8, 8, 16, 16}, S{1, 2, 7, 5, 12, 19},
                      S{2, 2, 12, 9, 7, 4}, S{1, 3, 32, 32, 128, 128}, S{1, 1, 6, 6, 6, 6}}) {
      const size_t nx = size_t(s.N) * s.C * s.H * s.W, ny = size_t(s.N) * s.C * s.Ho * s.Wo;
      const Vec x = rnd(nx), dy = rnd(ny);
      Vec y_ref(ny), dx_ref(nx);
      cpu::upsample_fwd_ref(mode, s.N, s.C, s.H, s.W, s.Ho, s.Wo, x.data(), y_ref.data());
      cpu::upsample_bwd_ref(mode, s.N, s.C, s.H, s.W, s.Ho, s.Wo, dy.data(), dx_ref.data());
      Dev<> dx_(x), ddy(dy), y(ny), dx(nx);
      y.poison();
      dx.poison();
      gpu::upsample_fwd(mode, s.N, s.C, s.H, s.W, s.Ho, s.Wo, dx_.p(), y.p());
      gpu::upsample_bwd(mode, s.N, s.C, s.H, s.W, s.Ho, s.Wo, ddy.p(), dx.p());
      char what[96];
      const char* m = mode == Upsample::Nearest ? "nearest" : "bilinear";
      std::snprintf(what, sizeof what, "upsample %s fwd %dx%d -> %dx%d", m, s.H, s.W, s.Ho, s.Wo);
      check_rel(what, {s.N, s.C, s.Ho, s.Wo}, y.get(), y_ref, 1e-6);
      std::snprintf(what, sizeof what, "upsample %s bwd (gather) %dx%d <- %dx%d", m, s.H, s.W, s.Ho, s.Wo);
      check_rel(what, {s.N, s.C, s.H, s.W}, dx.get(), dx_ref, 1e-6);
    }
  }
}

TEST_CASE("deconv_phase_equalize (in place, bit for bit)") {
  // Counts of 4x4 kernels around the block size (256) and the models' layers
  // (313 channels); the last case starts one float past an aligned address.
  // Values spread over six decades, so the double sums' order shows.
  for (const size_t n : {size_t(1), size_t(3), size_t(255), size_t(257), size_t(313 * 7), size_t(65537)}) {
    for (const size_t offset : {size_t(0), size_t(1)}) {
      if (offset && n != 257) continue;
      Vec w = rnd(n * 16 + offset);
      for (size_t i = 0; i < w.size(); ++i) w[i] *= std::pow(10.0f, float(int(i % 7) - 3));
      Vec ref = w;
      cpu::deconv_phase_equalize_ref(n, ref.data() + offset);
      Dev<> d(w);
      gpu::deconv_phase_equalize(n, d.p() + offset);
      char what[96];
      std::snprintf(what, sizeof what, "deconv_phase_equalize %zu kernels%s", n, offset ? " (offset 1 float)" : "");
      check_rel(what, {int(n * 16 + offset)}, d.get(), ref, 0.0);
    }
  }
  // The untouched neighbours: n kernels change nothing past n * 16 floats.
  Vec w = rnd(40);
  Dev<> d(w);
  gpu::deconv_phase_equalize(2, d.p());
  const Vec got = d.get();
  CHECK(std::equal(got.begin() + 32, got.end(), w.begin() + 32));
  gpu::deconv_phase_equalize(0, d.p());  // nothing to do, no launch
}

// =============================================================================
// Reductions, losses
// =============================================================================

TEST_CASE("scale_by_scalar (device scalar) and store_scalar") {
  // The reference: scale_ref with the scalar read on the host.
  for (size_t n : {size_t(1), size_t(7), size_t(4096), size_t(100003)}) {
    const Vec x = rnd(n);
    const std::vector<int> d{int(n)};
    const float s = -1.75f, alpha = 0.125f;
    Vec r(n);
    Dev<> dx_(x), ds(Vec{s}), dy(n);
    cpu::scale_ref(n, alpha * s, x.data(), r.data());
    dy.poison();
    gpu::scale_by_scalar(n, ds.p(), alpha, dx_.p(), dy.p());
    check_rel("scale_by_scalar y = alpha s x", d, dy.get(), r, 1e-6);
    cpu::fill_ref(n, alpha * s, r.data());
    dy.poison();
    gpu::scale_by_scalar(n, ds.p(), alpha, nullptr, dy.p());
    check_rel("scale_by_scalar y = alpha s (x null)", d, dy.get(), r, 0.0);
    if (n > 1) {  // unaligned, in place
      cpu::scale_ref(n - 1, alpha * s, x.data() + 1, r.data());
      dx_.put(x);
      gpu::scale_by_scalar(n - 1, ds.p(), alpha, dx_.p() + 1, dx_.p() + 1);
      const Vec got = dx_.get();
      check_rel("scale_by_scalar unaligned, in place", {int(n - 1)}, Vec(got.begin() + 1, got.end()),
                Vec(r.begin(), r.begin() + long(n - 1)), 1e-6);
    }
  }
  Dev<double> src(std::vector<double>{3.0000000001});
  Dev<> dst(1);
  dst.poison();
  gpu::store_scalar(src.p(), 0.5, dst.p());
  CHECK(dst.get()[0] == float(3.0000000001 * 0.5));
}

TEST_CASE("sum (device double scalar)") {
  for (size_t n : {size_t(0), size_t(1), size_t(3), size_t(1000), size_t(1 << 20), size_t(5000011)}) {
    const Vec x = rnd(n, -1.0f, 3.0f);
    const double ref = cpu::sum_ref(n, x.data());
    Dev<> dx_(x);
    Dev<double> out(1);
    gpu::sum(n, dx_.p(), out.p());
    char what[64];
    std::snprintf(what, sizeof what, "sum n=%zu", n);
    check_scalar(what, dev_scalar(out), ref, 1e-10);
    // unaligned start
    if (n > 1) {
      const double ref1 = cpu::sum_ref(n - 1, x.data() + 1);
      gpu::sum(n - 1, dx_.p() + 1, out.p());
      std::snprintf(what, sizeof what, "sum n=%zu (unaligned)", n - 1);
      check_scalar(what, dev_scalar(out), ref1, 1e-10);
    }
  }
}

TEST_CASE("losses: mse, l1, mse_const, soft-target cross-entropy") {
  for (size_t n : {size_t(1), size_t(13), size_t(65536 + 3)}) {
    Vec pred = rnd(n), target = rnd(n);
    for (size_t i = 0; i < n; i += 7) target[i] = pred[i];  // exact zeros for l1's sign
    const float gscale = 0.7f;
    Dev<> dp(pred), dt(target), grad(n);
    Dev<double> loss(1);
    char what[80];
    {
      Vec g_ref(n);
      const double ref = cpu::mse_ref(n, pred.data(), target.data(), gscale, g_ref.data());
      grad.poison();
      gpu::mse(n, dp.p(), dt.p(), gscale, grad.p(), loss.p());
      std::snprintf(what, sizeof what, "mse value n=%zu", n);
      check_scalar(what, dev_scalar(loss), ref, 1e-6);
      check_rel("mse grad", {int(n)}, grad.get(), g_ref, 1e-6);
    }
    {
      Vec g_ref(n);
      const double ref = cpu::l1_ref(n, pred.data(), target.data(), gscale, g_ref.data());
      grad.poison();
      gpu::l1(n, dp.p(), dt.p(), gscale, grad.p(), loss.p());
      std::snprintf(what, sizeof what, "l1 value n=%zu", n);
      check_scalar(what, dev_scalar(loss), ref, 1e-6);
      check_rel("l1 grad (0 where pred == target)", {int(n)}, grad.get(), g_ref, 1e-6);
    }
    for (float c : {0.0f, 1.0f}) {
      Vec g_ref(n);
      const double ref = cpu::mse_const_ref(n, pred.data(), c, gscale, g_ref.data());
      grad.poison();
      gpu::mse_const(n, dp.p(), c, gscale, grad.p(), loss.p());
      std::snprintf(what, sizeof what, "mse_const c=%g value n=%zu", c, n);
      check_scalar(what, dev_scalar(loss), ref, 1e-6);
      check_rel("mse_const grad", {int(n)}, grad.get(), g_ref, 1e-6);
    }
    // value only (grad null)
    gpu::mse(n, dp.p(), dt.p(), gscale, nullptr, loss.p());
    check_scalar("mse value without grad", dev_scalar(loss),
                 cpu::mse_ref(n, pred.data(), target.data(), gscale, nullptr), 1e-6);
  }

  struct S {
    int N, Q, HW;
    bool weighted;
  };
  for (const S s : {S{1, 1, 1, false}, S{2, 313, 35, true}, S{3, 313, 64, false}, S{2, 17, 257, true}}) {
    const size_t n = size_t(s.N) * s.Q * s.HW;
    Vec z = rnd(n, -3.0f, 3.0f);
    Vec t(n, 0.0f);
    std::mt19937 gen(g_seed++);
    for (int b = 0; b < s.N; ++b)
      for (int i = 0; i < s.HW; ++i) {
        if (i % 11 == 5) continue;  // an all-zero target pixel
        // soft-encoding-like: up to 5 bins with positive weights summing to 1
        double tot = 0;
        std::vector<std::pair<int, float>> bins;
        for (int k = 0; k < std::min(5, s.Q); ++k) {
          const int q = int(gen() % unsigned(s.Q));
          const float v = 0.1f + float(gen() % 1000) / 1000.0f;
          bins.push_back({q, v});
          tot += v;
        }
        for (auto& bq : bins) t[(size_t(b) * s.Q + bq.first) * s.HW + i] += float(bq.second / tot);
      }
    if (s.Q > 3) {  // a masked class: logit -inf with target 0
      for (int q = 0; q < s.Q; ++q)
        if (t[size_t(q) * s.HW + 0] == 0.0f) {
          z[size_t(q) * s.HW + 0] = -std::numeric_limits<float>::infinity();
          break;
        }
    }
    const Vec w = s.weighted ? rnd(size_t(s.N) * s.HW, 0.5f, 2.0f) : Vec();
    Vec g_ref(n);
    const float gscale = 1.3f;
    const double ref = cpu::soft_ce_ref(s.N, s.Q, s.HW, z.data(), t.data(),
                                        s.weighted ? w.data() : nullptr, gscale, g_ref.data());
    Dev<> dz(z), dt(t), dw(s.weighted ? w : Vec(1)), grad(n);
    Dev<double> loss(1);
    grad.poison();
    gpu::soft_ce(s.N, s.Q, s.HW, dz.p(), dt.p(), s.weighted ? dw.p() : nullptr, gscale, grad.p(), loss.p());
    char what[96];
    std::snprintf(what, sizeof what, "soft_ce value N%d Q%d HW%d%s", s.N, s.Q, s.HW, s.weighted ? " weighted" : "");
    check_scalar(what, dev_scalar(loss), ref, 1e-5);
    check_rel("soft_ce grad", {s.N, s.Q, s.HW}, grad.get(), g_ref, 1e-5);
  }
}

// =============================================================================
// Optimizers
// =============================================================================

TEST_CASE("optimizers: sgd / adam, single tensor and multi-tensor (one launch)") {
  const size_t n = 10007;
  // single tensor, 3 steps each
  for (int variant = 0; variant < 4; ++variant) {
    const bool nesterov = variant & 1, wd = variant & 2;
    Vec w = rnd(n), m(n, 0.0f);
    Dev<> dw(w), dm(n);
    for (int step = 1; step <= 3; ++step) {
      const Vec g = rnd(n);
      Dev<> dg(g);
      cpu::sgd_step_ref(n, w.data(), g.data(), m.data(), 0.1f, 0.9f, wd ? 1e-2f : 0.0f, nesterov, step == 1);
      gpu::sgd_step(n, dw.p(), dg.p(), dm.p(), 0.1f, 0.9f, wd ? 1e-2f : 0.0f, nesterov, step == 1);
    }
    char what[80];
    std::snprintf(what, sizeof what, "sgd 3 steps w (nesterov %d, wd %d)", int(nesterov), int(wd));
    check_rel(what, {int(n)}, dw.get(), w, 1e-6);
    check_rel("sgd momentum buffer", {int(n)}, dm.get(), m, 1e-6);
  }
  for (int decoupled = 0; decoupled < 2; ++decoupled) {
    Vec w = rnd(n), m(n, 0.0f), v(n, 0.0f);
    Dev<> dw(w), dm(m), dv(v);
    for (int step = 1; step <= 3; ++step) {
      const Vec g = rnd(n);
      Dev<> dg(g);
      cpu::adam_step_ref(n, w.data(), g.data(), m.data(), v.data(), 1e-3f, 0.5f, 0.999f, 1e-8f, 1e-2f,
                         decoupled, step);
      gpu::adam_step(n, dw.p(), dg.p(), dm.p(), dv.p(), 1e-3f, 0.5f, 0.999f, 1e-8f, 1e-2f, decoupled, step);
    }
    check_rel(decoupled ? "adamw 3 steps w" : "adam 3 steps w", {int(n)}, dw.get(), w, 1e-6);
    check_rel("adam m", {int(n)}, dm.get(), m, 1e-6);
    check_rel("adam v", {int(n)}, dv.get(), v, 1e-6);
  }

  // multi-tensor: chunks of awkward sizes, one deliberately unaligned
  const std::vector<size_t> sizes{1, 5, 4096, 4097, 10000, 3};
  for (int adam = 0; adam < 2; ++adam) {
    std::vector<Vec> w, g, m, v;
    std::vector<std::unique_ptr<Dev<>>> dw, dg, dm, dv;
    std::vector<gpu::ParamChunk> chunks;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const size_t extra = i == 3 ? 1 : 0;  // chunk 3 starts 4 bytes into its buffer
      w.push_back(rnd(sizes[i]));
      m.push_back(Vec(sizes[i], 0.0f));
      v.push_back(Vec(sizes[i], 0.0f));
      Vec wpad(extra, 0.0f);
      wpad.insert(wpad.end(), w.back().begin(), w.back().end());
      dw.push_back(std::make_unique<Dev<>>(wpad));
      dg.push_back(std::make_unique<Dev<>>(sizes[i] + extra));
      dm.push_back(std::make_unique<Dev<>>(Vec(sizes[i] + extra, 0.0f)));
      dv.push_back(std::make_unique<Dev<>>(Vec(sizes[i] + extra, 0.0f)));
      gpu::ParamChunk c;
      c.w = dw.back()->p() + extra;
      c.g = dg.back()->p() + extra;
      c.m = dm.back()->p() + extra;
      c.v = adam ? dv.back()->p() + extra : nullptr;
      c.n = int64_t(sizes[i]);
      chunks.push_back(c);
    }
    // The table in device memory, as the engine's Adam uploads it (engine/optim.cpp).
    const int64_t tiles = gpu::plan_param_tiles(chunks.data(), int(chunks.size()));
    Dev<gpu::ParamChunk> table(chunks);
    for (int step = 1; step <= 3; ++step) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        const size_t extra = i == 3 ? 1 : 0;
        Vec gi = rnd(sizes[i]);
        Vec gpad(extra, 0.0f);
        gpad.insert(gpad.end(), gi.begin(), gi.end());
        dg[i]->put(gpad);
        if (adam)
          cpu::adam_step_ref(sizes[i], w[i].data(), gi.data(), m[i].data(), v[i].data(), 2e-4f, 0.5f,
                             0.999f, 1e-8f, 0.0f, false, step);
        else
          cpu::sgd_step_ref(sizes[i], w[i].data(), gi.data(), m[i].data(), 0.05f, 0.9f, 1e-4f, true,
                            step == 1);
      }
      if (adam)
        gpu::adam_step_multi(table.p(), int(chunks.size()), tiles, 2e-4f, 0.5f, 0.999f, 1e-8f, 0.0f, false, step);
      else
        gpu::sgd_step_multi(table.p(), int(chunks.size()), tiles, 0.05f, 0.9f, 1e-4f, true, step == 1);
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      const size_t extra = i == 3 ? 1 : 0;
      Vec got = dw[i]->get();
      got.erase(got.begin(), got.begin() + extra);
      char what[96];
      std::snprintf(what, sizeof what, "%s_step_multi chunk %zu (n=%zu%s), 3 steps", adam ? "adam" : "sgd",
                    i, sizes[i], extra ? ", unaligned" : "");
      check_rel(what, {int(sizes[i])}, got, w[i], 1e-6);
    }
  }
}

// =============================================================================
// Caching allocator
// =============================================================================

TEST_CASE("caching allocator: size classes, reuse, stats, out-of-memory message") {
  CHECK(gpu::CachingAllocator::round_size(1) == 512);
  CHECK(gpu::CachingAllocator::round_size(1000) == 1024);
  CHECK(gpu::CachingAllocator::round_size(size_t(1) << 20) == (size_t(1) << 20));
  CHECK(gpu::CachingAllocator::round_size((size_t(1) << 20) + 1) == (size_t(5) << 18));  // 1.25 MiB
  CHECK(gpu::CachingAllocator::round_size(size_t(3) << 20) == (size_t(3) << 20));        // 1.5 * 2 MiB
  gpu::CachingAllocator alloc;
  void* a = alloc.allocate(1000);
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(a) % 256 == 0);
  alloc.deallocate(a);
  void* b = alloc.allocate(900);  // same class: served from the cache
  CHECK(b == a);
  auto st = alloc.stats();
  CHECK(st.cache_hits == 1);
  CHECK(st.device_mallocs == 1);
  CHECK(st.in_use == 1024);
  void* big = alloc.allocate(size_t(5) << 20);
  alloc.deallocate(big);
  alloc.deallocate(b);
  st = alloc.stats();
  CHECK(st.in_use == 0);
  CHECK(st.cached == 1024 + (size_t(5) << 20));
  alloc.empty_cache();
  CHECK(alloc.stats().cached == 0);
  bool threw = false;
  try {
    alloc.allocate(size_t(1) << 50);  // 1 PiB
  } catch (const gpu::OutOfMemory& e) {
    threw = true;
    const std::string msg = e.what();
    std::printf("  out-of-memory message: %s\n", msg.c_str());
    CHECK(msg.find("asked for 1125899906842624 bytes") != std::string::npos);
    CHECK(msg.find("free") != std::string::npos);
    CHECK(e.requested == (size_t(1) << 50));
  }
  CHECK(threw);
  CHECK(cudaGetLastError() == cudaSuccess);  // the failed cudaMalloc left no error behind
}

// =============================================================================
// A stack of two ResNet basic blocks, forward and backward, GPU vs CPU
// =============================================================================
//
// block(x) = relu(bn2(conv2(relu(bn1(conv1(x))))) + x), 3x3 convs, pad 1, no
// bias; training-mode batch norm. The loss is sum(out * R), so d out = R.
// The GPU runs block 1 with the fused batch norm + ReLU kernels and block 2
// with the separate ones; the CPU runs the references. Compared: d input,
// every dw, dgamma, dbeta, and the output.

struct Block {
  Vec w1, w2, g1, b1, g2, b2;
};

struct BlockAct {  // saved activations of one block (host or device)
  Vec y1, a1, y2, z2_plus_x, out, m1, i1, m2, i2;
};

TEST_CASE("ResNet basic-block stack: forward + backward chain, GPU vs CPU") {
  const int N = 2, C = 16, H = 10, W = 9, HW = H * W;
  const size_t n = size_t(N) * C * HW, nw = size_t(C) * C * 9;
  Conv2dParams p;
  p.N = N, p.C = C, p.H = H, p.W = W, p.K = C, p.R = p.S = 3, p.pad_h = p.pad_w = 1;
  REQUIRE(p.finalize());
  const float eps = 1e-5f, mom = 0.1f;
  std::vector<Block> blocks(2);
  for (Block& b : blocks) {
    b.w1 = rnd(nw, -0.3f, 0.3f), b.w2 = rnd(nw, -0.3f, 0.3f);
    b.g1 = rnd(C, 0.5f, 1.5f), b.b1 = rnd(C, -0.2f, 0.2f), b.g2 = rnd(C, 0.5f, 1.5f), b.b2 = rnd(C, -0.2f, 0.2f);
  }
  const Vec x0 = rnd(n), R = rnd(n);

  // ---- CPU reference ----
  std::vector<BlockAct> act(2);
  std::vector<Vec> inputs{x0};
  for (int k = 0; k < 2; ++k) {
    const Block& b = blocks[k];
    BlockAct& s = act[k];
    const Vec& x = inputs[k];
    s.y1.resize(n), s.a1.resize(n), s.y2.resize(n), s.z2_plus_x.resize(n), s.out.resize(n);
    s.m1.resize(C), s.i1.resize(C), s.m2.resize(C), s.i2.resize(C);
    Vec z1(n), z2(n);
    cpu::conv2d_fwd_ref(p, x.data(), b.w1.data(), nullptr, s.y1.data());
    cpu::batchnorm_fwd_train_ref(N, C, HW, s.y1.data(), b.g1.data(), b.b1.data(), eps, mom, nullptr, nullptr,
                                 z1.data(), s.m1.data(), s.i1.data());
    cpu::act_fwd_ref(Act::Relu, 0, n, z1.data(), s.a1.data());
    cpu::conv2d_fwd_ref(p, s.a1.data(), b.w2.data(), nullptr, s.y2.data());
    cpu::batchnorm_fwd_train_ref(N, C, HW, s.y2.data(), b.g2.data(), b.b2.data(), eps, mom, nullptr, nullptr,
                                 z2.data(), s.m2.data(), s.i2.data());
    cpu::add_ref(n, z2.data(), x.data(), s.z2_plus_x.data());
    cpu::act_fwd_ref(Act::Relu, 0, n, s.z2_plus_x.data(), s.out.data());
    inputs.push_back(s.out);
  }
  std::vector<Vec> dw1(2, Vec(nw, 0.f)), dw2(2, Vec(nw, 0.f)), dg1(2, Vec(C, 0.f)), db1(2, Vec(C, 0.f)),
      dg2(2, Vec(C, 0.f)), db2(2, Vec(C, 0.f));
  Vec grad = R;  // d out of the last block
  for (int k = 1; k >= 0; --k) {
    const Block& b = blocks[k];
    const BlockAct& s = act[k];
    const Vec& x = inputs[k];
    Vec ds(n), dy2(n), da1(n), dz1(n), dy1(n), dx(n);
    cpu::act_bwd_ref(Act::Relu, 0, n, s.z2_plus_x.data(), s.out.data(), grad.data(), ds.data());
    cpu::batchnorm_bwd_train_ref(N, C, HW, s.y2.data(), ds.data(), b.g2.data(), s.m2.data(), s.i2.data(),
                                 dy2.data(), dg2[k].data(), db2[k].data());
    cpu::conv2d_bwd_data_ref(p, dy2.data(), b.w2.data(), da1.data());
    cpu::conv2d_bwd_filter_ref(p, s.a1.data(), dy2.data(), dw2[k].data(), nullptr);
    // relu'(z1) = [z1 > 0] = [a1 > 0] since a1 = relu(z1): a1 stands in for z1.
    cpu::act_bwd_ref(Act::Relu, 0, n, s.a1.data(), s.a1.data(), da1.data(), dz1.data());
    cpu::batchnorm_bwd_train_ref(N, C, HW, s.y1.data(), dz1.data(), b.g1.data(), s.m1.data(), s.i1.data(),
                                 dy1.data(), dg1[k].data(), db1[k].data());
    cpu::conv2d_bwd_data_ref(p, dy1.data(), b.w1.data(), dx.data());
    cpu::conv2d_bwd_filter_ref(p, x.data(), dy1.data(), dw1[k].data(), nullptr);
    cpu::add_ref(n, dx.data(), ds.data(), dx.data());  // + the skip path
    grad = dx;
  }
  const Vec dx_ref = grad;

  // ---- GPU ----
  struct DevBlock {
    Dev<> w1, w2, g1, b1, g2, b2, dw1, dw2, dg1, db1, dg2, db2;
    Dev<> y1, a1, y2, s, out, m1, i1, m2, i2;
  };
  std::vector<std::unique_ptr<DevBlock>> db;
  for (const Block& b : blocks) {
    const Vec zw(nw, 0.f), zc(C, 0.f);
    db.push_back(std::unique_ptr<DevBlock>(new DevBlock{
        Dev<>(b.w1), Dev<>(b.w2), Dev<>(b.g1), Dev<>(b.b1), Dev<>(b.g2), Dev<>(b.b2), Dev<>(zw), Dev<>(zw),
        Dev<>(zc), Dev<>(zc), Dev<>(zc), Dev<>(zc), Dev<>(n), Dev<>(n), Dev<>(n), Dev<>(n), Dev<>(n),
        Dev<>(size_t(C)), Dev<>(size_t(C)), Dev<>(size_t(C)), Dev<>(size_t(C))}));
  }
  Dev<> gx(x0), z(n);
  const float* in = gx.p();
  std::vector<const float*> gin;
  for (int k = 0; k < 2; ++k) {
    DevBlock& b = *db[k];
    gin.push_back(in);
    gpu::conv2d_fwd(p, in, b.w1.p(), nullptr, b.y1.p());
    if (k == 0) {  // fused bn + relu
      gpu::batchnorm_relu_fwd_train(N, C, HW, b.y1.p(), b.g1.p(), b.b1.p(), eps, mom, nullptr, nullptr,
                                    b.a1.p(), b.m1.p(), b.i1.p());
    } else {
      gpu::batchnorm_fwd_train(N, C, HW, b.y1.p(), b.g1.p(), b.b1.p(), eps, mom, nullptr, nullptr, z.p(),
                               b.m1.p(), b.i1.p());
      gpu::act_fwd(Act::Relu, 0, n, z.p(), b.a1.p());
    }
    gpu::conv2d_fwd(p, b.a1.p(), b.w2.p(), nullptr, b.y2.p());
    gpu::batchnorm_fwd_train(N, C, HW, b.y2.p(), b.g2.p(), b.b2.p(), eps, mom, nullptr, nullptr, z.p(),
                             b.m2.p(), b.i2.p());
    gpu::add(n, z.p(), in, b.s.p());
    gpu::act_fwd(Act::Relu, 0, n, b.s.p(), b.out.p());
    in = b.out.p();
  }
  check_rel("resnet stack forward output", {N, C, H, W}, db[1]->out.get(), act[1].out, 1e-4);
  Dev<> g(R), ds(n), dy2(n), da1(n), dz1(n), dy1(n), dx(n);
  for (int k = 1; k >= 0; --k) {
    DevBlock& b = *db[k];
    gpu::act_bwd(Act::Relu, 0, n, b.s.p(), b.out.p(), g.p(), ds.p());
    gpu::batchnorm_bwd_train(N, C, HW, b.y2.p(), ds.p(), b.g2.p(), b.m2.p(), b.i2.p(), dy2.p(), b.dg2.p(),
                             b.db2.p());
    gpu::conv2d_bwd_data(p, dy2.p(), b.w2.p(), da1.p());
    gpu::conv2d_bwd_filter(p, b.a1.p(), dy2.p(), b.dw2.p(), nullptr);
    if (k == 0) {
      gpu::batchnorm_relu_bwd_train(N, C, HW, b.y1.p(), da1.p(), b.g1.p(), b.b1.p(), b.m1.p(), b.i1.p(),
                                    dy1.p(), b.dg1.p(), b.db1.p());
    } else {
      gpu::act_bwd(Act::Relu, 0, n, b.a1.p(), b.a1.p(), da1.p(), dz1.p());
      gpu::batchnorm_bwd_train(N, C, HW, b.y1.p(), dz1.p(), b.g1.p(), b.m1.p(), b.i1.p(), dy1.p(), b.dg1.p(),
                               b.db1.p());
    }
    gpu::conv2d_bwd_data(p, dy1.p(), b.w1.p(), dx.p());
    gpu::conv2d_bwd_filter(p, gin[k], dy1.p(), b.dw1.p(), nullptr);
    gpu::add(n, dx.p(), ds.p(), dx.p());
    TINCT_CUDA_CHECK(cudaMemcpy(g.p(), dx.p(), n * sizeof(float), cudaMemcpyDeviceToDevice));
  }
  const double rt = 1e-4;
  check_rel("resnet stack d input", {N, C, H, W}, g.get(), dx_ref, rt);
  for (int k = 0; k < 2; ++k) {
    const std::string t = "resnet block " + std::to_string(k + 1) + (k == 0 ? " (fused bn+relu) " : " ");
    check_rel(t + "dw conv1", {C, C, 3, 3}, db[k]->dw1.get(), dw1[k], rt);
    check_rel(t + "dw conv2", {C, C, 3, 3}, db[k]->dw2.get(), dw2[k], rt);
    check_rel(t + "dgamma bn1", {C}, db[k]->dg1.get(), dg1[k], rt);
    check_rel(t + "dbeta bn1", {C}, db[k]->db1.get(), db1[k], rt);
    check_rel(t + "dgamma bn2", {C}, db[k]->dg2.get(), dg2[k], rt);
    check_rel(t + "dbeta bn2", {C}, db[k]->db2.get(), db2[k], rt);
  }
}

}  // namespace
