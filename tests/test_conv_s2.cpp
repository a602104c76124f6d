// test_conv_s2.cpp — the stride-2 forward of kernels/conv/cpu.cpp lowered from
// column phases (each strip's input rows split into even and odd columns,
// lowered straight into the GEMM's panels: ForwardPanels; TINCT_CONV_S2_PHASES
// / set_conv_s2_phases), with the backward passes (which keep the gather /
// scatter) checked beside it:
//   * against conv/ref.cpp (all three passes) at awkward shapes: odd and even
//     H and W, R and S 1..5 (non-square too), padding 0..2, stride_w 2 with
//     stride_h 1 or 2, dilation 1 and 2, batch 1, 2 and 3, channel counts off
//     the GEMM's tiles, one layer big enough that 2 threads split an image's
//     strips (forward) and its dY rows into bands (backward-data), and one
//     whose forward is one GEMM the threads split (its panels produced by both);
//   * bit for bit against the strided gather (phases off): the same col, the
//     same GEMM sums (strips narrower than 2K output pixels keep the gather:
//     the small cases);
//   * twice at the same thread count: the same bits (deterministic);
// at 1 and 2 threads, on every CPU kernel set the processor runs. The forward
// and backward-data are checked both through the public entry points (their
// rules may pick another path) and on the im2col + GEMM path itself. The
// worst error and where are printed.
#include <omp.h>

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
  int N, C, H, W, K, R, S, stride_h, pad_h, pad_w, dil;
};

Conv2dParams params_of(const Case& c) {
  Conv2dParams p;
  p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K, p.R = c.R, p.S = c.S;
  p.stride_h = c.stride_h, p.stride_w = 2, p.pad_h = c.pad_h, p.pad_w = c.pad_w;
  p.dil_h = p.dil_w = c.dil;
  p.finalize();
  return p;
}

struct Outputs {
  std::vector<float> y, y_gemm, dx, dx_gemm, dw, db;
};

// All the passes of p on x / w / b / dy; dw and db start from `acc` (bwd_filter accumulates).
Outputs run_all(const Conv2dParams& p, const std::vector<float>& x, const std::vector<float>& w,
                const std::vector<float>& b, const std::vector<float>& dy, const std::vector<float>& acc) {
  Outputs o;
  const size_t xs = (size_t)p.N * p.C * p.H * p.W, ys = (size_t)p.N * p.K * p.P * p.Q;
  o.y.assign(ys, -7.0f), o.y_gemm.assign(ys, -7.0f);
  o.dx.assign(xs, -7.0f), o.dx_gemm.assign(xs, -7.0f);  // overwritten, not accumulated
  o.dw.assign(acc.begin(), acc.begin() + w.size());
  o.db.assign(acc.begin(), acc.begin() + p.K);
  cpu::conv2d_fwd(p, x.data(), w.data(), b.data(), o.y.data());
  cpu::conv2d_fwd_im2col_for_bench(p, x.data(), w.data(), b.data(), o.y_gemm.data());
  cpu::conv2d_bwd_data(p, dy.data(), w.data(), o.dx.data());
  cpu::conv_transpose2d_fwd_gemm_for_bench(p, dy.data(), w.data(), cpu::Epilogue{}, o.dx_gemm.data());
  cpu::conv2d_bwd_filter(p, x.data(), dy.data(), o.dw.data(), o.db.data());
  return o;
}

// One case's inputs and its reference outputs (computed once, checked on
// every kernel set and thread count).
struct Ref {
  Conv2dParams p;
  std::vector<float> x, w, b, dy, acc, y, dx, dw, db;
  explicit Ref(const Case& c) : p(params_of(c)) {
    const size_t xs = (size_t)p.N * p.C * p.H * p.W, ws = (size_t)p.K * p.C * p.R * p.S,
                 ys = (size_t)p.N * p.K * p.P * p.Q;
    x = kcheck::random_vec(xs, 11), w = kcheck::random_vec(ws, 12), b = kcheck::random_vec(p.K, 13);
    dy = kcheck::random_vec(ys, 14), acc = kcheck::random_vec(ws > (size_t)p.K ? ws : p.K, 15);
    y.resize(ys), dx.resize(xs), dw.assign(acc.begin(), acc.begin() + ws), db.assign(acc.begin(), acc.begin() + p.K);
    cpu::conv2d_fwd_ref(p, x.data(), w.data(), b.data(), y.data());
    cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dx.data());
    cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), dw.data(), db.data());
  }
};

void check_case(const Case& c, const Ref& ref, int threads) {
  const Conv2dParams& p = ref.p;
  char what[200];
  std::snprintf(what, sizeof what, "N%d C%d %dx%d K%d %dx%d s%d,2 p%d,%d d%d -> %dx%d, %d thr", c.N, c.C, c.H,
                c.W, c.K, c.R, c.S, c.stride_h, c.pad_h, c.pad_w, c.dil, p.P, p.Q, threads);
  CAPTURE(what);
  std::printf(" %s\n", what);
  const std::vector<float>&x = ref.x, &w = ref.w, &b = ref.b, &dy = ref.dy, &acc = ref.acc;
  const std::vector<float>&y_ref = ref.y, &dx_ref = ref.dx, &dw_ref = ref.dw, &db_ref = ref.db;

  Outputs on, again, off;
  {
    const kcheck::SwitchScope phases(cpu::conv_s2_phases, cpu::set_conv_s2_phases, true);
    on = run_all(p, x, w, b, dy, acc), again = run_all(p, x, w, b, dy, acc);
  }
  {
    const kcheck::SwitchScope gather(cpu::conv_s2_phases, cpu::set_conv_s2_phases, false);
    off = run_all(p, x, w, b, dy, acc);
  }

  const double rtol = 2e-6;
  const double k_fwd = (double)p.C * p.R * p.S, k_bwd = (double)p.K * p.R * p.S, k_dw = (double)p.N * p.P * p.Q;
  struct Cmp {
    const char* name;
    const std::vector<float>* got;
    const std::vector<float>* ref;
    double k;
  } cmps[] = {{"fwd", &on.y, &y_ref, k_fwd},           {"fwd im2col", &on.y_gemm, &y_ref, k_fwd},
              {"bwd-data", &on.dx, &dx_ref, k_bwd},    {"bwd-data col2im", &on.dx_gemm, &dx_ref, k_bwd},
              {"bwd-filter dw", &on.dw, &dw_ref, k_dw}, {"bwd-filter db", &on.db, &db_ref, k_dw}};
  for (const Cmp& m : cmps) {
    const kcheck::Diff d = kcheck::diff(m.got->data(), m.ref->data(), m.ref->size());
    CHECK(kcheck::report(m.name, d, kcheck::tolerance(rtol, m.k, d)));
  }
  // Phases on and off: the same bits; and the same bits twice over.
  CHECK(kcheck::same_bits(on.y, off.y));
  CHECK(kcheck::same_bits(on.y_gemm, off.y_gemm));
  CHECK(kcheck::same_bits(on.dx, off.dx));
  CHECK(kcheck::same_bits(on.dx_gemm, off.dx_gemm));
  CHECK(kcheck::same_bits(on.dw, off.dw));
  CHECK(kcheck::same_bits(on.db, off.db));
  CHECK(kcheck::same_bits(on.y_gemm, again.y_gemm));
  CHECK(kcheck::same_bits(on.dx_gemm, again.dx_gemm));
  CHECK(kcheck::same_bits(on.dw, again.dw));
}

}  // namespace

TEST_CASE("stride-2 convolutions lowered from column phases match conv/ref.cpp and the strided gather") {
  const Case cases[] = {
      // N  C   H   W   K  R  S sh ph pw dil
      {1, 3, 9, 11, 5, 3, 3, 2, 1, 1, 1},    // odd H and W, the classification layers' kind
      {3, 5, 10, 13, 7, 4, 4, 2, 1, 1, 1},   // 4x4 stride 2 (the PatchGAN's), odd W, batch 3
      {2, 17, 12, 12, 19, 3, 3, 2, 1, 1, 1}, // even sizes, channels off the tiles, batch 2
      {1, 3, 11, 17, 9, 5, 5, 2, 2, 2, 1},   // 5x5 pad 2
      {3, 4, 7, 9, 6, 1, 1, 2, 0, 0, 1},     // 1x1 stride 2 (the ResNet shortcut)
      {1, 6, 8, 15, 3, 2, 5, 2, 0, 2, 1},    // non-square 2x5, pad 0 in rows, 2 in columns
      {3, 3, 9, 14, 5, 5, 2, 1, 2, 0, 1},    // stride 1 in rows, 2 in columns; 5x2 pad 2,0
      {1, 7, 13, 12, 4, 3, 4, 1, 0, 1, 1},   // stride 1 in rows, pad 0 and 1
      {2, 5, 12, 17, 6, 3, 3, 2, 2, 2, 2},   // dilation 2
      {1, 1, 15, 15, 33, 7, 7, 2, 3, 3, 1},  // 7x7 stem, one input channel
      {3, 9, 31, 31, 13, 3, 3, 2, 1, 1, 1},  // 2 threads split batch-1/3 images into strips
      {1, 128, 129, 33, 8, 4, 4, 2, 1, 1, 1}, // deep col: bwd-data bands of dY rows at 2 threads
      {1, 32, 20, 20, 40, 4, 4, 2, 1, 1, 1}   // too few pixels for strips: 2 threads share one GEMM's panels
  };
  for (const Case& c : cases) {
    const Ref ref(c);
    for_each_kernel_set([&] { at_thread_counts([&](int threads) { check_case(c, ref, threads); }); });
  }
}

TEST_CASE("set_conv_s2_phases switches the stride-2 lowering and reports it") {
  const kcheck::SwitchReads r = kcheck::switch_reads(cpu::conv_s2_phases, cpu::set_conv_s2_phases);
  CHECK_FALSE(r.off);
  CHECK(r.on);
}
