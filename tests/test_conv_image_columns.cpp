// test_conv_image_columns.cpp — the im2col + GEMM forward and backward-data
// of kernels/conv/cpu.cpp with several images' columns side by side in one
// GEMM (small output planes, P*Q < 256, batch >= 2; TINCT_CONV_IMAGE_COLUMNS /
// set_conv_image_columns):
//   * against conv/ref.cpp + epilogue/ref.cpp, with an epilogue (per-channel
//     scale and shift, a residual, ReLU) on both passes, at awkward shapes:
//     4x4 and 8x8 planes of the U-Net's bottleneck kind, odd sizes, stride 2,
//     dilation 2, channel counts off the GEMM's tiles, batches that do and do
//     not divide over 2 threads (7: the runs in turn, the threads inside
//     each), a plane just under the 256-pixel limit and one at it (per image
//     either way), batch 1 (per image);
//   * bit for bit against one GEMM per image (the switch off): each output
//     column is the same sum in the same order whatever shares its GEMM;
//   * twice at the same thread count: the same bits;
// at 1 and 2 threads, on every CPU kernel set the processor runs. The worst
// error and where are printed.
#include <cstdio>
#include <cstring>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace tinct::cpu {  // the im2col + GEMM paths alone (kernels/conv/cpu.cpp)
void conv2d_fwd_im2col_for_bench(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
void conv_transpose2d_fwd_gemm_for_bench(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                         float* y);
}  // namespace tinct::cpu

namespace {

struct Case {
  int N, C, H, W, K, R, S, stride, pad, dil;
};

Conv2dParams params_of(const Case& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
  p.stride_h = p.stride_w = c.stride, p.pad_h = p.pad_w = c.pad, p.dil_h = p.dil_w = c.dil;
  REQUIRE(p.finalize());
  return p;
}

// The operands of one case and the reference's forward (bias) and
// backward-data with an epilogue (scale, shift, residual, ReLU over dx's C
// channels).
struct Ref {
  Conv2dParams p;
  std::vector<float> x, w, b, dy, scale, shift, residual, y, dx;
  explicit Ref(const Case& c) : p(params_of(c)) {
    const size_t xs = (size_t)p.N * p.C * p.H * p.W, ws = (size_t)p.K * p.C * p.R * p.S,
                 ys = (size_t)p.N * p.K * p.P * p.Q;
    x = kcheck::random_vec(xs, 21), w = kcheck::random_vec(ws, 22), b = kcheck::random_vec(p.K, 23);
    dy = kcheck::random_vec(ys, 24), scale = kcheck::random_vec(p.C, 25), shift = kcheck::random_vec(p.C, 26);
    residual = kcheck::random_vec(xs, 27);
    y.resize(ys), dx.resize(xs);
    cpu::conv2d_fwd_ref(p, x.data(), w.data(), b.data(), y.data());
    cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dx.data());
    cpu::epilogue_ref(epilogue(), p.N, p.C, p.H * p.W, dx.data());
  }
  cpu::Epilogue epilogue() const {
    cpu::Epilogue e;
    e.scale = scale.data(), e.shift = shift.data(), e.residual = residual.data(), e.has_act = true;
    return e;
  }
};

struct Outputs {
  std::vector<float> y, dx;
};

Outputs run(const Ref& r, bool image_columns) {
  const kcheck::SwitchScope scope(cpu::conv_image_columns, cpu::set_conv_image_columns, image_columns);
  Outputs o;
  o.y.assign(r.y.size(), -7.0f), o.dx.assign(r.dx.size(), -7.0f);  // both overwritten
  cpu::conv2d_fwd_im2col_for_bench(r.p, r.x.data(), r.w.data(), r.b.data(), o.y.data());
  cpu::conv_transpose2d_fwd_gemm_for_bench(r.p, r.dy.data(), r.w.data(), r.epilogue(), o.dx.data());
  return o;
}

void check_case(const Case& c, const Ref& r, int threads) {
  const Conv2dParams& p = r.p;
  char what[200];
  std::snprintf(what, sizeof what, "N%d C%d %dx%d K%d %dx%d s%d p%d d%d -> %dx%d, %s, %d thr", c.N, c.C, c.H, c.W, c.K,
                c.R, c.S, c.stride, c.pad, c.dil, p.P, p.Q, cpu::cpu_kernels_name(cpu::cpu_kernels()), threads);
  CAPTURE(what);
  std::printf(" %s\n", what);
  const Outputs on = run(r, true), again = run(r, true), off = run(r, false);
  const double rtol = 2e-6;
  const kcheck::Diff dy = kcheck::diff(on.y.data(), r.y.data(), r.y.size());
  CHECK(kcheck::report("fwd", dy, kcheck::tolerance(rtol, (double)p.C * p.R * p.S, dy)));
  const kcheck::Diff ddx = kcheck::diff(on.dx.data(), r.dx.data(), r.dx.size());
  CHECK(kcheck::report("bwd-data + epilogue", ddx, kcheck::tolerance(rtol, (double)p.K * p.R * p.S, ddx)));
  CHECK(kcheck::same_bits(on.y, off.y));
  CHECK(kcheck::same_bits(on.dx, off.dx));
  CHECK(kcheck::same_bits(on.y, again.y));
  CHECK(kcheck::same_bits(on.dx, again.dx));
}

}  // namespace

TEST_CASE("small planes: several images in one GEMM match conv/ref.cpp and one GEMM per image, bit for bit") {
  const Case cases[] = {
      // N   C   H   W   K  R  S  s  p  d
      {8, 37, 4, 4, 33, 3, 3, 1, 1, 1},     // the U-Net's 4x4 bottleneck kind, channels off the tiles
      {2, 256, 4, 4, 17, 3, 3, 1, 1, 1},    // a deep col (2304 rows): 2 images a GEMM
      {6, 20, 8, 8, 24, 3, 3, 1, 1, 1},     // 8x8 planes, batch 6
      {7, 5, 7, 5, 7, 3, 2, 2, 1, 1},       // odd sizes, stride 2, batch 7 (not split over 2 threads)
      {3, 9, 16, 16, 13, 4, 4, 2, 1, 1},    // 4x4 stride 2 (the PatchGAN's kind) to 8x8, batch 3
      {4, 6, 9, 9, 5, 3, 3, 1, 2, 2},       // dilation 2
      {5, 3, 15, 17, 4, 1, 1, 1, 0, 1},     // pointwise: x itself is col, one GEMM per image
      {2, 4, 15, 17, 5, 3, 3, 1, 1, 1},     // 255 pixels: just under the limit
      {3, 4, 16, 16, 5, 3, 3, 1, 1, 1},     // 256 pixels: per image
      {1, 11, 5, 5, 9, 3, 3, 1, 1, 1},      // batch 1: per image
  };
  for (const Case& c : cases) {
    const Ref r(c);
    for_each_kernel_set([&] { at_thread_counts([&](int threads) { check_case(c, r, threads); }); });
  }
}

TEST_CASE("set_conv_image_columns switches the grouping and reports it") {
  const kcheck::SwitchReads r = kcheck::switch_reads(cpu::conv_image_columns, cpu::set_conv_image_columns);
  CHECK_FALSE(r.off);
  CHECK(r.on);
}
