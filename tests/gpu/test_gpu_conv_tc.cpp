// test_gpu_conv_tc.cpp — the tensor-core convolutions (kernels/conv/
// cuda_4_igemm_tf32.cu, cuda_5_igemm_bf16.cu; core kernels/tensorcore/
// conv_core.cuh) against their precision-aware reference
// (kernels/tensorcore/ref_conv.cpp): forward, backward-data and
// backward-filter (+ bias gradient), at awkward shapes: 1, 3 and 313
// channels, odd spatial sizes, sizes that are not multiples of the 128x128
// tile or of the K slice, stride 2, dilation 2 and 4, padding, 4x4 stride-2
// (the deconvolutions' backward-data), 1x1, several images, split-K;
// backward-data's output phases at stride 2 and 3, with dilation (phases
// without taps) and past the phase split's tap table (9x9). TF32 runs with
// each of its two gathers (cp.async, registers; cuda::set_tc_gather), and a
// second case checks that the two give the same bits. Variant 6 (cuda_6_
// igemm_nhwc.cu, channels-last) runs the same shapes against the NHWC
// reference, on its 16-byte chunk loaders where the channels allow (C, K
// multiples of 4 / 8) and element by element elsewhere, and a third case
// checks that it gives variants 4 / 5's bits, transposed.
//
// Tolerance, per output: kernel and reference multiply the same rounded
// operands exactly and accumulate in fp32 in different orders (tiles,
// k-steps, split-K partial sums), so (tests/tensorcore_check.h)
//   |kernel - ref| <= 3 (Kred + 2) u S,  S = sum |a b| (+ |bias| or |dw0|),
// Kred the reduction length (C*R*S, K*R*S or N*P*Q), u = 2^-24. A wrong
// gather (tap, pixel, channel) is an error of O(|a b|), far above it. The
// worst err/tol and its place are printed for every case.
//
// Run: ctest -L gpu -R conv_tc, or on the CPU:
//   tools/cuda_emu/build.sh /tmp/emu_tc '-tc=*conv tc*'   (EMU_SCHED=ahead too)
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "gpu/gpu_skip.h"
#include "kernels/cuda.h"
#include "kernels/tensorcore/tensorcore.h"
#include "tensorcore_check.h"

using namespace tinct;

namespace {

bool on_emulator() {
  cudaDeviceProp p;
  TINCT_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  return std::string(p.name) == "CPU emulator";
}

struct Shape {
  int N, C, H, W, K, R, S, stride, pad, dil;
};

Conv2dParams params(const Shape& s) {
  Conv2dParams p;
  p.N = s.N, p.C = s.C, p.H = s.H, p.W = s.W, p.K = s.K, p.R = s.R, p.S = s.S;
  p.stride_h = p.stride_w = s.stride;
  p.pad_h = p.pad_w = s.pad;
  p.dil_h = p.dil_w = s.dil;
  REQUIRE(p.finalize());
  return p;
}

std::vector<float> random_vec(size_t n, std::mt19937& gen) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(gen);
  return v;
}

std::vector<float> absolute(Precision prec, const std::vector<float>& v) {
  std::vector<float> r(v.size());
  cpu::round_operands(prec, v.data(), r.data(), v.size());
  for (float& x : r) x = std::fabs(x);
  return r;
}

float* to_device(const std::vector<float>& h) {
  float* d = nullptr;
  TINCT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&d), h.size() * sizeof(float) + 16));
  TINCT_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}

std::vector<float> to_host(const float* d, size_t n) {
  std::vector<float> h(n);
  TINCT_CUDA_CHECK(cudaDeviceSynchronize());
  TINCT_CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}

// Compares got with want (tensor [d0][d1][d2][d3]) under tol = per_s * S;
// prints the worst err/tol and its index. Returns it (<= 1 passes).
double compare(const std::string& what, const std::vector<float>& got, const std::vector<float>& want,
               const std::vector<float>& s, const int (&dims)[4], double per_s) {
  double worst = 0, worst_err = 0, worst_tol = 0;
  size_t wi = 0, exact = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::isfinite(got[i]) ? std::fabs(double(got[i]) - want[i]) : INFINITY;
    const double tol = per_s * s[i];
    const double r = err == 0 ? 0 : err / tol;
    exact += got[i] == want[i];
    if (r > worst || (r == worst && err > worst_err)) worst = r, worst_err = err, worst_tol = tol, wi = i;
  }
  const int d3 = dims[3], d2 = dims[2], d1 = dims[1];
  std::printf("  %-58s worst |err| %.3g at [%zu,%zu,%zu,%zu], tol %.3g, err/tol %.3g, %zu/%zu bit-exact %s\n",
              what.c_str(), worst_err, wi / d3 / d2 / d1, wi / d3 / d2 % d1, wi / d3 % d2, wi % d3, worst_tol, worst,
              exact, got.size(), worst <= 1 ? "ok" : "FAIL");
  std::fflush(stdout);
  return worst;
}

// How many elements of a and b (same size) differ in their bits; *first: the first.
size_t differing(const std::vector<float>& a, const std::vector<float>& b, size_t* first) {
  size_t n = 0;
  *first = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], 4) != 0 && n++ == 0) *first = i;
  return n;
}

// Variant 6 at one precision, in the signatures of variants 4 / 5.
template <Precision P>
void fwd_nhwc(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y, cudaStream_t s) {
  cuda::conv2d_fwd_nhwc(P, p, x, w, b, y, s);
}
template <Precision P>
void bwd_data_nhwc(const Conv2dParams& p, const float* dy, const float* w, float* dx, cudaStream_t s) {
  cuda::conv2d_bwd_data_nhwc(P, p, dy, w, dx, s);
}
template <Precision P>
void bwd_filter_nhwc(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db, cudaStream_t s) {
  cuda::conv2d_bwd_filter_nhwc(P, p, x, dy, dw, db, s);
}

struct Variant {
  const char* name;
  cuda::TcGather gather;  // tf32: how the gathered operand reaches shared memory (bf16: always registers)
  Precision prec;
  void (*fwd)(const Conv2dParams&, const float*, const float*, const float*, float*, cudaStream_t);
  void (*bwd_data)(const Conv2dParams&, const float*, const float*, float*, cudaStream_t);
  void (*bwd_filter)(const Conv2dParams&, const float*, const float*, float*, float*, cudaStream_t);
  bool nhwc = false;  // activations channels-last (variant 6)
};

const Variant kVariants[] = {
    {"tf32", cuda::TcGather::async, Precision::tf32, cuda::conv2d_fwd_tf32, cuda::conv2d_bwd_data_tf32,
     cuda::conv2d_bwd_filter_tf32},
    {"tf32 regs", cuda::TcGather::registers, Precision::tf32, cuda::conv2d_fwd_tf32, cuda::conv2d_bwd_data_tf32,
     cuda::conv2d_bwd_filter_tf32},
    {"bf16", cuda::TcGather::registers, Precision::bf16, cuda::conv2d_fwd_bf16, cuda::conv2d_bwd_data_bf16,
     cuda::conv2d_bwd_filter_bf16},
    {"tf32 nhwc", cuda::TcGather::async, Precision::tf32, fwd_nhwc<Precision::tf32>,
     bwd_data_nhwc<Precision::tf32>, bwd_filter_nhwc<Precision::tf32>, true},
    {"bf16 nhwc", cuda::TcGather::async, Precision::bf16, fwd_nhwc<Precision::bf16>,
     bwd_data_nhwc<Precision::bf16>, bwd_filter_nhwc<Precision::bf16>, true},
};

// An NCHW tensor [N][C][HW] as the variant lays it out.
std::vector<float> laid_out(const Variant& v, const std::vector<float>& t, int N, int C, int HW) {
  if (!v.nhwc) return t;
  std::vector<float> r(t.size());
  cpu::nchw_to_nhwc(t.data(), r.data(), N, C, HW);
  return r;
}

// Sets the tf32 gather for a scope and restores the previous one, also when
// a failed REQUIRE leaves the scope early (the next test case must not
// inherit it).
struct GatherScope {
  cuda::TcGather saved = cuda::tc_gather();
  ~GatherScope() { cuda::set_tc_gather(saved); }
};

void check_shape(const Variant& v, const Shape& sh) {
  const Conv2dParams p = params(sh);
  char name[160];
  std::snprintf(name, sizeof name, "%s %dx%dx%dx%d -> %d, %dx%d s%d p%d d%d", v.name, p.N, p.C, p.H, p.W, p.K, p.R,
                p.S, sh.stride, sh.pad, sh.dil);
  std::mt19937 gen(uint32_t(p.N * 1000003 + p.C * 7919 + p.K * 131 + p.H * 17 + p.R * 3 + sh.stride + sh.dil));
  const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
               ny = size_t(p.N) * p.K * p.P * p.Q;
  const std::vector<float> w = random_vec(nw, gen), b = random_vec(p.K, gen);
  const std::vector<float> x = laid_out(v, random_vec(nx, gen), p.N, p.C, p.H * p.W), dw0 = random_vec(nw, gen),
                           db0 = random_vec(p.K, gen), dy = laid_out(v, random_vec(ny, gen), p.N, p.K, p.P * p.Q);
  const std::vector<float> ax = absolute(v.prec, x), aw = absolute(v.prec, w), ady = absolute(v.prec, dy);
  // the reference of the variant's layout; at Precision::fp32 on |operands|: S of the tolerance
  auto ref_fwd = [&](Precision pr, const float* x_, const float* w_, const float* b_, float* y_) {
    v.nhwc ? cpu::conv2d_fwd_nhwc_ref(pr, p, x_, w_, b_, y_) : cpu::conv2d_fwd_ref(pr, p, x_, w_, b_, y_);
  };
  auto ref_bwd_data = [&](Precision pr, const float* dy_, const float* w_, float* dx_) {
    v.nhwc ? cpu::conv2d_bwd_data_nhwc_ref(pr, p, dy_, w_, dx_) : cpu::conv2d_bwd_data_ref(pr, p, dy_, w_, dx_);
  };
  auto ref_bwd_filter = [&](Precision pr, const float* x_, const float* dy_, float* dw_, float* db_) {
    v.nhwc ? cpu::conv2d_bwd_filter_nhwc_ref(pr, p, x_, dy_, dw_, db_)
           : cpu::conv2d_bwd_filter_ref(pr, p, x_, dy_, dw_, db_);
  };
  std::vector<float> ab(p.K), adw0(nw);
  for (int k = 0; k < p.K; ++k) ab[k] = std::fabs(b[k]);
  for (size_t i = 0; i < nw; ++i) adw0[i] = std::fabs(dw0[i]);

  float *dx_ = to_device(x), *dw_ = to_device(w), *db_ = to_device(b), *ddy = to_device(dy);
  int ydims[4] = {p.N, p.K, p.P, p.Q}, xdims[4] = {p.N, p.C, p.H, p.W};
  const int wdims[4] = {p.K, p.C, p.R, p.S};
  if (v.nhwc) {  // printed indices in the variant's order
    const int yn[4] = {p.N, p.P, p.Q, p.K}, xn[4] = {p.N, p.H, p.W, p.C};
    std::copy(yn, yn + 4, ydims), std::copy(xn, xn + 4, xdims);
  }

  {  // forward, with bias
    std::vector<float> want(ny), s(ny);
    ref_fwd(v.prec, x.data(), w.data(), b.data(), want.data());
    ref_fwd(Precision::fp32, ax.data(), aw.data(), ab.data(), s.data());
    float* dy_out = to_device(std::vector<float>(ny, NAN));
    v.fwd(p, dx_, dw_, db_, dy_out, 0);
    const double r = compare(std::string(name) + " fwd", to_host(dy_out, ny), want, s, ydims,
                             3.0 * (p.C * p.R * p.S + 2) * tccheck::kU);
    CHECK_MESSAGE(r <= 1.0, name << " fwd");
    cudaFree(dy_out);
  }
  {  // backward-data (overwrites dx: starts as NaN)
    std::vector<float> want(nx), s(nx);
    ref_bwd_data(v.prec, dy.data(), w.data(), want.data());
    ref_bwd_data(Precision::fp32, ady.data(), aw.data(), s.data());
    float* dgx = to_device(std::vector<float>(nx, NAN));
    v.bwd_data(p, ddy, dw_, dgx, 0);
    const double r = compare(std::string(name) + " bwd-data", to_host(dgx, nx), want, s, xdims,
                             3.0 * (p.K * p.R * p.S + 2) * tccheck::kU);
    CHECK_MESSAGE(r <= 1.0, name << " bwd-data");
    cudaFree(dgx);
  }
  {  // backward-filter: accumulates into dw0 and db0
    std::vector<float> want = dw0, s = adw0, want_b = db0, s_b = db0;
    ref_bwd_filter(v.prec, x.data(), dy.data(), want.data(), want_b.data());
    for (int k = 0; k < p.K; ++k) s_b[k] = std::fabs(db0[k]);
    ref_bwd_filter(Precision::fp32, ax.data(), ady.data(), s.data(), s_b.data());
    float *dgw = to_device(dw0), *dgb = to_device(db0);
    v.bwd_filter(p, dx_, ddy, dgw, dgb, 0);
    const int splits_tol = 64;  // split-K adds at most this many partial sums more
    const double r = compare(std::string(name) + " bwd-filter", to_host(dgw, nw), want, s, wdims,
                             3.0 * (double(p.N) * p.P * p.Q + 2 + splits_tol) * tccheck::kU);
    CHECK_MESSAGE(r <= 1.0, name << " bwd-filter");
    const int bdims[4] = {1, 1, 1, p.K};
    const double rb = compare(std::string(name) + " bias grad", to_host(dgb, p.K), want_b, s_b, bdims,
                              3.0 * (double(p.N) * p.P * p.Q + 2) * tccheck::kU);
    CHECK_MESSAGE(rb <= 1.0, name << " bias grad");
    cudaFree(dgw);
    cudaFree(dgb);
  }
  cudaFree(dx_);
  cudaFree(dw_);
  cudaFree(db_);
  cudaFree(ddy);
}

std::vector<Shape> shapes() {
  std::vector<Shape> v = {
      // N  C   H   W   K  R  S  str pad dil
      {2, 1, 9, 11, 5, 3, 3, 1, 1, 1},      // 1 input channel (the L channel), odd sizes
      {1, 3, 7, 5, 313, 1, 1, 1, 0, 1},     // 313 outputs (the classification head), 1x1, 3 tiles of M
      {1, 313, 5, 6, 3, 1, 1, 1, 0, 1},     // 313 reduction channels: K slices not a multiple of BK
      {2, 5, 11, 13, 7, 3, 3, 2, 1, 1},     // stride 2
      {1, 8, 13, 12, 16, 3, 3, 1, 2, 2},    // dilation 2
      {1, 16, 17, 15, 9, 3, 3, 1, 4, 4},    // dilation 4
      {2, 6, 10, 9, 10, 4, 4, 2, 1, 1},     // 4x4 stride 2: the deconvolutions' backward-data
      {4, 8, 16, 16, 8, 3, 3, 1, 1, 1},     // N*P*Q = 1024: split-K in backward-filter
      {1, 40, 12, 11, 130, 3, 3, 1, 1, 1},  // 2 tiles of M, 2 of pixels, C*R*S = 360
      // backward-data's output phases (one GEMM per h mod stride, w mod stride):
      {1, 4, 9, 7, 6, 3, 3, 2, 2, 2},       // stride 2 dilation 2: the odd phases get no tap (zeros)
      {2, 3, 10, 11, 5, 5, 5, 3, 2, 1},     // stride 3, 5x5: 9 phases, sizes not multiples of 3
      {1, 5, 1, 9, 4, 3, 3, 2, 1, 1},       // one row: only the phases of h = 0
      {1, 2, 12, 11, 3, 9, 9, 2, 4, 1},     // 81 taps > kMaxTaps: one phase of all taps
  };
  if (!on_emulator()) {
    v.push_back({2, 512, 16, 16, 512, 3, 3, 1, 1, 1});  // the benchmark shapes, batch 2
    v.push_back({1, 256, 32, 32, 256, 3, 3, 1, 1, 1});
    v.push_back({3, 64, 37, 41, 313, 3, 3, 2, 2, 2});
  }
  return v;
}

}  // namespace

TEST_CASE("conv tc: tensor-core convolutions (variants 4 tf32, 5 bf16, 6 nhwc) match the precision-aware reference") {
  const GatherScope scope;
  for (const Variant& v : kVariants) {
    cuda::set_tc_gather(v.gather);
    for (const Shape& s : shapes()) check_shape(v, s);
  }
}

TEST_CASE("conv tc: the tf32 gathers by cp.async and by registers give the same bits") {
  // The same products summed in the same order: only where the elements
  // travel differs, so any difference is a gather fault (a missed zero fill,
  // a copy read before its wait).
  const GatherScope scope;
  for (const Shape& sh : {Shape{2, 5, 11, 13, 7, 3, 3, 2, 1, 1}, Shape{1, 40, 12, 11, 130, 3, 3, 1, 1, 1},
                          Shape{4, 8, 16, 16, 8, 3, 3, 1, 1, 1}, Shape{1, 4, 9, 7, 6, 3, 3, 2, 2, 2}}) {
    const Conv2dParams p = params(sh);
    std::mt19937 gen(7);
    const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
                 ny = size_t(p.N) * p.K * p.P * p.Q;
    float *x = to_device(random_vec(nx, gen)), *w = to_device(random_vec(nw, gen)), *dy = to_device(random_vec(ny, gen));
    std::vector<float> got[2][3];
    for (int mode = 0; mode < 2; ++mode) {
      cuda::set_tc_gather(mode ? cuda::TcGather::registers : cuda::TcGather::async);
      float *y = to_device(std::vector<float>(ny, NAN)), *dx = to_device(std::vector<float>(nx, NAN)),
            *dw = to_device(std::vector<float>(nw, 0.0f));
      cuda::conv2d_fwd_tf32(p, x, w, nullptr, y, 0);
      cuda::conv2d_bwd_data_tf32(p, dy, w, dx, 0);
      cuda::conv2d_bwd_filter_tf32(p, x, dy, dw, nullptr, 0);
      got[mode][0] = to_host(y, ny), got[mode][1] = to_host(dx, nx), got[mode][2] = to_host(dw, nw);
      cudaFree(y), cudaFree(dx), cudaFree(dw);
    }
    for (int pass = 0; pass < 3; ++pass) {
      size_t first;
      const size_t differ = differing(got[0][pass], got[1][pass], &first);
      std::printf("  tf32 async vs registers, N%d C%d %dx%d K%d s%d d%d, pass %d: %zu of %zu differ%s\n", p.N, p.C, p.H,
                  p.W, p.K, sh.stride, sh.dil, pass, differ, got[0][pass].size(), differ ? " FAIL" : "");
      CHECK_MESSAGE(differ == 0, "pass " << pass << ": first at " << first << ", " << got[0][pass][first] << " vs "
                                          << got[1][pass][first]);
    }
    cudaFree(x), cudaFree(w), cudaFree(dy);
  }
}

TEST_CASE("conv tc: channels-last (variant 6) gives variants 4 / 5's bits, transposed") {
  // Every product in the same k-step of the same mma tile: only the loaders
  // differ, so a difference is a loader fault (a chunk across a tap, a
  // missed zero, a wrong pixel). Shapes for each path: 16-byte chunks (C, K
  // multiples of 8), element by element (5, 7 channels), mixed (40 -> 130:
  // vector forward, element-wise backward-data), stride-2 phases, dilation.
  const GatherScope scope;
  cuda::set_tc_gather(cuda::TcGather::async);
  for (const Shape& sh : {Shape{4, 8, 16, 16, 8, 3, 3, 1, 1, 1}, Shape{2, 5, 11, 13, 7, 3, 3, 2, 1, 1},
                          Shape{1, 40, 12, 11, 130, 3, 3, 1, 1, 1}, Shape{2, 16, 13, 11, 24, 3, 3, 2, 1, 1},
                          Shape{1, 8, 9, 7, 16, 3, 3, 2, 2, 2}, Shape{2, 16, 10, 9, 8, 4, 4, 2, 1, 1}}) {
    const Conv2dParams p = params(sh);
    std::mt19937 gen(11);
    const int HW = p.H * p.W, PQ = p.P * p.Q;
    const size_t nx = size_t(p.N) * p.C * HW, nw = size_t(p.K) * p.C * p.R * p.S, ny = size_t(p.N) * p.K * PQ;
    const std::vector<float> hx = random_vec(nx, gen), hw = random_vec(nw, gen), hdy = random_vec(ny, gen);
    std::vector<float> hx6(nx), hdy6(ny);
    cpu::nchw_to_nhwc(hx.data(), hx6.data(), p.N, p.C, HW);
    cpu::nchw_to_nhwc(hdy.data(), hdy6.data(), p.N, p.K, PQ);
    float *x = to_device(hx), *w = to_device(hw), *dy = to_device(hdy), *x6 = to_device(hx6), *dy6 = to_device(hdy6);
    for (Precision prec : {Precision::tf32, Precision::bf16}) {
      const bool tf32 = prec == Precision::tf32;
      float *y = to_device(std::vector<float>(ny, NAN)), *dx = to_device(std::vector<float>(nx, NAN)),
            *dw = to_device(std::vector<float>(nw, 0.0f)), *y6 = to_device(std::vector<float>(ny, NAN)),
            *dx6 = to_device(std::vector<float>(nx, NAN)), *dw6 = to_device(std::vector<float>(nw, 0.0f));
      (tf32 ? cuda::conv2d_fwd_tf32 : cuda::conv2d_fwd_bf16)(p, x, w, nullptr, y, 0);
      (tf32 ? cuda::conv2d_bwd_data_tf32 : cuda::conv2d_bwd_data_bf16)(p, dy, w, dx, 0);
      (tf32 ? cuda::conv2d_bwd_filter_tf32 : cuda::conv2d_bwd_filter_bf16)(p, x, dy, dw, nullptr, 0);
      cuda::conv2d_fwd_nhwc(prec, p, x6, w, nullptr, y6, 0);
      cuda::conv2d_bwd_data_nhwc(prec, p, dy6, w, dx6, 0);
      cuda::conv2d_bwd_filter_nhwc(prec, p, x6, dy6, dw6, nullptr, 0);
      std::vector<float> want[3] = {to_host(y, ny), to_host(dx, nx), to_host(dw, nw)};
      std::vector<float> got[3] = {std::vector<float>(ny), std::vector<float>(nx), to_host(dw6, nw)};
      cpu::nhwc_to_nchw(to_host(y6, ny).data(), got[0].data(), p.N, p.K, PQ);
      cpu::nhwc_to_nchw(to_host(dx6, nx).data(), got[1].data(), p.N, p.C, HW);
      for (int pass = 0; pass < 3; ++pass) {
        size_t first;
        const size_t differ = differing(want[pass], got[pass], &first);
        std::printf("  %s nhwc vs nchw, N%d C%d %dx%d K%d %dx%d s%d d%d, pass %d: %zu of %zu differ%s\n",
                    tf32 ? "tf32" : "bf16", p.N, p.C, p.H, p.W, p.K, p.R, p.S, sh.stride, sh.dil, pass, differ,
                    want[pass].size(), differ ? " FAIL" : "");
        CHECK_MESSAGE(differ == 0, "pass " << pass << ": first at " << first << ", " << got[pass][first]
                                            << " vs " << want[pass][first]);
      }
      cudaFree(y), cudaFree(dx), cudaFree(dw), cudaFree(y6), cudaFree(dx6), cudaFree(dw6);
    }
    cudaFree(x), cudaFree(w), cudaFree(dy), cudaFree(x6), cudaFree(dy6);
  }
}

TEST_CASE("conv tc: invalid geometry is refused") {
  Conv2dParams p;  // an empty batch
  p.H = p.W = 5, p.R = p.S = 3;
  REQUIRE(p.finalize());
  p.N = 0;
  CHECK_THROWS_AS(cuda::conv2d_fwd_tf32(p, nullptr, nullptr, nullptr, nullptr, 0), std::invalid_argument);
  CHECK_THROWS_AS(cuda::conv2d_bwd_data_bf16(p, nullptr, nullptr, nullptr, 0), std::invalid_argument);
  CHECK_THROWS_AS(cuda::conv2d_bwd_filter_bf16(p, nullptr, nullptr, nullptr, nullptr, 0), std::invalid_argument);
  CHECK_THROWS_AS(cuda::conv2d_fwd_nhwc(Precision::tf32, p, nullptr, nullptr, nullptr, nullptr, 0),
                  std::invalid_argument);
  p.N = 1;  // channels-last has no fp32 variant
  CHECK_THROWS_AS(cuda::conv2d_bwd_data_nhwc(Precision::fp32, p, nullptr, nullptr, nullptr, 0),
                  std::invalid_argument);
}
