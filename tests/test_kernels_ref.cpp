// test_kernels_ref.cpp — the CPU reference kernels (kernels/<family>/ref.cpp)
// against values computed by hand (or known from PyTorch), plus adjoint checks
// of the linear backward kernels: for y = A x, backward must be dx = A^T dy,
// i.e. <A x, dy> == <x, A^T dy> for any x, dy. Finite-difference gradient
// checks of every op live at the engine level; here only batch norm and
// soft-target cross-entropy, whose backward formulas are the easiest to get
// subtly wrong, get one.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernels/kernels.h"

using namespace tinct;
using Vec = std::vector<float>;

namespace {

// Deterministic uniform numbers in [lo, hi) (a 64-bit LCG: the same on every
// platform, unlike std::uniform_real_distribution).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  float uniform(float lo = -1.0f, float hi = 1.0f) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = double(s >> 11) * (1.0 / 9007199254740992.0);  // [0,1)
    return float(lo + (hi - lo) * u);
  }
  Vec vec(size_t n, float lo = -1.0f, float hi = 1.0f) {
    Vec v(n);
    for (auto& x : v) x = uniform(lo, hi);
    return v;
  }
};

double dot(const Vec& a, const Vec& b) {
  REQUIRE(a.size() == b.size());
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// Checks got ~= want elementwise with error |got - want| / max(1, |want|) <= tol,
// and on failure reports the worst element.
void expect_close(const std::string& what, const Vec& got, const std::vector<double>& want,
                  double tol = 1e-6) {
  REQUIRE_MESSAGE(got.size() == want.size(), what << ": size " << got.size() << " vs " << want.size());
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - want[i]) / std::fmax(1.0, std::fabs(want[i]));
    if (!(err <= worst)) {  // also catches NaN
      worst = err;
      at = i;
      if (std::isnan(err)) break;
    }
  }
  CHECK_MESSAGE(worst <= tol, what << ": worst error " << worst << " at [" << at << "]: got "
                                   << got[at] << ", want " << want[at] << " (tol " << tol << ")");
}

void expect_close(const std::string& what, const Vec& got, const Vec& want, double tol = 1e-6) {
  expect_close(what, got, std::vector<double>(want.begin(), want.end()), tol);
}

// <A x, dy> against <x, A^T dy>, relative to the size of the terms.
void expect_adjoint(const std::string& what, double lhs, double rhs, double scale) {
  const double err = std::fabs(lhs - rhs) / std::fmax(1e-30, scale);
  CHECK_MESSAGE(err <= 1e-5, what << ": <Ax,y> = " << lhs << ", <x,A^T y> = " << rhs
                                  << ", relative error " << err);
}

// sum |a_i * b_i|: the scale against which a dot product's rounding is judged.
double abs_dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += std::fabs(double(a[i]) * b[i]);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
TEST_CASE("bias_add_ref and bias_grad_ref") {
  const int N = 2, C = 3, HW = 2;
  Vec y(N * C * HW, 0.5f);
  const Vec b = {1, 2, 3};
  cpu::bias_add_ref(N, C, HW, b.data(), y.data());
  std::vector<double> want;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) want.push_back(0.5 + b[c]);
  expect_close("bias_add", y, want);

  // dy[n,c,i] = 10c + i + n  ->  db[c] = sum over n,i = 4*10c + (0+1)*2 + (0+1)*2 = 40c + 4,
  // accumulated onto the 100 already there.
  Vec dy(N * C * HW);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) dy[(n * C + c) * HW + i] = float(10 * c + i + n);
  Vec db(C, 100.0f);
  cpu::bias_grad_ref(N, C, HW, dy.data(), db.data());
  expect_close("bias_grad accumulates", db, Vec{104, 144, 184});
}

// ---------------------------------------------------------------------------
TEST_CASE("elementwise refs") {
  const Vec a = {1, -2, 3.5f}, b = {4, 5, -0.5f};
  Vec y(3);
  cpu::add_ref(3, a.data(), b.data(), y.data());
  expect_close("add", y, Vec{5, 3, 3});
  cpu::mul_ref(3, a.data(), b.data(), y.data());
  expect_close("mul", y, Vec{4, -10, -1.75f});
  cpu::scale_ref(3, -2.0f, a.data(), y.data());
  expect_close("scale", y, Vec{-2, 4, -7});
  y = {1, 1, 1};
  cpu::axpy_ref(3, 0.5f, a.data(), y.data());
  expect_close("axpy accumulates", y, Vec{1.5f, 0, 2.75f});
  cpu::fill_ref(3, 7.0f, y.data());
  expect_close("fill", y, Vec{7, 7, 7});
  // In place: y aliases an input.
  Vec z = a;
  cpu::add_ref(3, z.data(), b.data(), z.data());
  expect_close("add in place", z, Vec{5, 3, 3});
}

// ---------------------------------------------------------------------------
TEST_CASE("sum_ref accumulates in double") {
  Vec x(1000);
  for (int i = 0; i < 1000; ++i) x[i] = float(i + 1);
  CHECK(cpu::sum_ref(x.size(), x.data()) == 500500.0);
  // A million copies of 0.1f: a float accumulator stalls far from the answer
  // (it ends near 100958); the double one is exact to ~1e-10 relative.
  Vec tenths(1000000, 0.1f);
  const double want = 1e6 * double(0.1f);
  const double got = cpu::sum_ref(tenths.size(), tenths.data());
  CHECK_MESSAGE(std::fabs(got - want) <= 1e-9 * want, "sum " << got << " want " << want);
  CHECK(cpu::sum_ref(0, nullptr) == 0.0);
}

// ---------------------------------------------------------------------------
TEST_CASE("channel_copy_ref / channel_slice_add_ref") {
  // Concatenate a[N=2,C=1,HW=2] and b[2,2,2] into y[2,3,2].
  const int N = 2, HW = 2;
  const Vec a = {1, 2, /*n1*/ 3, 4};
  const Vec b = {10, 11, 12, 13, /*n1*/ 14, 15, 16, 17};
  Vec y(N * 3 * HW, -1.0f);
  cpu::channel_copy_ref(N, HW, 1, a.data(), 3, 0, y.data());
  cpu::channel_copy_ref(N, HW, 2, b.data(), 3, 1, y.data());
  expect_close("concat", y, Vec{1, 2, 10, 11, 12, 13, /*n1*/ 3, 4, 14, 15, 16, 17});

  // Split the gradient back: db += channels 1..2 of dy (accumulating).
  Vec db(N * 2 * HW, 1.0f);
  cpu::channel_slice_add_ref(N, HW, 3, y.data(), 1, 2, db.data());
  expect_close("slice_add accumulates", db, Vec{11, 12, 13, 14, 15, 16, 17, 18});

  // Adjoint at odd sizes: copy src[N,3,HW] into channels 4..6 of dst[N,8,HW].
  const int n2 = 3, hw = 7, cs = 3, cd = 8, c0 = 4;
  Rng rng(1);
  const Vec src = rng.vec(n2 * cs * hw);
  const Vec dy = rng.vec(n2 * cd * hw);
  Vec Ax(n2 * cd * hw, 0.0f);  // channels outside the slice stay 0
  cpu::channel_copy_ref(n2, hw, cs, src.data(), cd, c0, Ax.data());
  Vec ATy(n2 * cs * hw, 0.0f);
  cpu::channel_slice_add_ref(n2, hw, cd, dy.data(), c0, cs, ATy.data());
  expect_adjoint("concat adjoint", dot(Ax, dy), dot(src, ATy), abs_dot(Ax, dy));
}

// ---------------------------------------------------------------------------
TEST_CASE("activation refs") {
  const Vec x = {-1, 0, 2};
  const Vec dy = {10, 20, 30};
  Vec y(3), dx(3);

  cpu::act_fwd_ref(Act::Relu, 0, 3, x.data(), y.data());
  expect_close("relu", y, Vec{0, 0, 2});
  cpu::act_bwd_ref(Act::Relu, 0, 3, x.data(), y.data(), dy.data(), dx.data());
  expect_close("relu grad (0 at x<=0)", dx, Vec{0, 0, 30});

  cpu::act_fwd_ref(Act::LeakyRelu, 0.1f, 3, x.data(), y.data());
  expect_close("leaky relu", y, Vec{-0.1f, 0, 2});
  cpu::act_bwd_ref(Act::LeakyRelu, 0.1f, 3, x.data(), y.data(), dy.data(), dx.data());
  expect_close("leaky relu grad (slope at x<=0)", dx, Vec{1, 2, 30});

  const Vec xt = {-0.5f, 0, 0.5f, 20};
  const Vec dyt = {1, 2, 3, 4};
  Vec yt(4), dxt(4);
  cpu::act_fwd_ref(Act::Tanh, 0, 4, xt.data(), yt.data());
  const double t5 = 0.46211715726000974;  // tanh(0.5)
  expect_close("tanh", yt, std::vector<double>{-t5, 0, t5, 1});
  cpu::act_bwd_ref(Act::Tanh, 0, 4, xt.data(), yt.data(), dyt.data(), dxt.data());
  expect_close("tanh grad = dy (1 - y^2)", dxt,
               std::vector<double>{1 - t5 * t5, 2, 3 * (1 - t5 * t5), 0});

  // Sigmoid, including |x| so large that the naive 1/(1+exp(-x)) forms inf.
  const Vec xs = {-1000, -30, -1, 0, 1, 30, 1000};
  Vec ys(xs.size()), dxs(xs.size());
  cpu::act_fwd_ref(Act::Sigmoid, 0, xs.size(), xs.data(), ys.data());
  std::vector<double> want;
  for (float v : xs) want.push_back(1.0 / (1.0 + std::exp(-double(v))));
  expect_close("sigmoid", ys, want);
  // At x = -30 the answer is 9.36e-14: check it to relative, not absolute, precision.
  CHECK(std::fabs(ys[1] / want[1] - 1.0) < 1e-6);
  CHECK(ys[0] == 0.0f);
  CHECK(ys[6] == 1.0f);
  const Vec ones(xs.size(), 1.0f);
  cpu::act_bwd_ref(Act::Sigmoid, 0, xs.size(), xs.data(), ys.data(), ones.data(), dxs.data());
  want.clear();
  for (float v : ys) want.push_back(double(v) * (1.0 - v));
  expect_close("sigmoid grad = dy y (1 - y)", dxs, want);
  CHECK(dxs[3] == doctest::Approx(0.25));

  // NaN propagates through the forward of relu, as in PyTorch.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float yn = 0;
  cpu::act_fwd_ref(Act::Relu, 0, 1, &nan, &yn);
  CHECK(std::isnan(yn));
}

// ---------------------------------------------------------------------------
TEST_CASE("maxpool2d refs: values, argmax, ties, padding") {
  SUBCASE("2x2 stride 2 on a 4x4 ramp") {
    Pool2dParams p;
    p.H = p.W = 4;
    REQUIRE(p.finalize());
    REQUIRE((p.P == 2 && p.Q == 2));
    Vec x(16);
    for (int i = 0; i < 16; ++i) x[i] = float(i);
    Vec y(4);
    std::vector<int32_t> am(4);
    cpu::maxpool2d_fwd_ref(p, x.data(), y.data(), am.data());
    expect_close("maxpool ramp", y, Vec{5, 7, 13, 15});
    CHECK(am == std::vector<int32_t>{5, 7, 13, 15});

    // Backward scatters dy to the argmax; everything else is zeroed.
    const Vec dy = {1, 2, 3, 4};
    Vec dx(16, 99.0f);
    cpu::maxpool2d_bwd_ref(p, dy.data(), am.data(), dx.data());
    Vec want(16, 0.0f);
    want[5] = 1;
    want[7] = 2;
    want[13] = 3;
    want[15] = 4;
    expect_close("maxpool bwd", dx, want);
  }
  SUBCASE("ties go to the first element in scan order") {
    Pool2dParams p;
    p.H = p.W = 4;
    REQUIRE(p.finalize());
    const Vec x(16, 3.0f);
    Vec y(4);
    std::vector<int32_t> am(4);
    cpu::maxpool2d_fwd_ref(p, x.data(), y.data(), am.data());
    CHECK(am == std::vector<int32_t>{0, 2, 8, 10});
  }
  SUBCASE("padding is -inf, not 0") {
    // 3x3 all-negative input, 2x2 window, stride 2, padding 1: the corner
    // window covers 3 padding cells and x[0,0] only.
    Pool2dParams p;
    p.H = p.W = 3;
    p.pad_h = p.pad_w = 1;
    REQUIRE(p.finalize());
    REQUIRE((p.P == 2 && p.Q == 2));
    const Vec x = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
    Vec y(4);
    std::vector<int32_t> am(4);
    cpu::maxpool2d_fwd_ref(p, x.data(), y.data(), am.data());
    // windows: rows {-1,0} x cols {-1,0} -> x[0,0]; rows {-1,0} x cols {1,2} -> x[0,1];
    //          rows {1,2} x cols {-1,0} -> x[1,0]; rows {1,2} x cols {1,2} -> x[1,1].
    expect_close("maxpool padded", y, Vec{-1, -2, -4, -5});
    CHECK(am == std::vector<int32_t>{0, 1, 3, 4});
  }
  SUBCASE("overlapping windows sum their gradients") {
    // 3x3 window, stride 1 on a 4x4 input whose maximum (at [1,1]) lies in
    // all four windows.
    Pool2dParams p;
    p.H = p.W = 4;
    p.kh = p.kw = 3;
    p.stride_h = p.stride_w = 1;
    REQUIRE(p.finalize());
    Vec x(16, 0.0f);
    x[1 * 4 + 1] = 5;
    Vec y(4);
    std::vector<int32_t> am(4);
    cpu::maxpool2d_fwd_ref(p, x.data(), y.data(), am.data());
    CHECK(am == std::vector<int32_t>{5, 5, 5, 5});
    const Vec dy = {1, 2, 3, 4};
    Vec dx(16);
    cpu::maxpool2d_bwd_ref(p, dy.data(), am.data(), dx.data());
    CHECK(dx[5] == 10.0f);
    CHECK(cpu::sum_ref(dx.size(), dx.data()) == 10.0);  // and 0 everywhere else
  }
}

TEST_CASE("maxpool2d adjoint: bwd scatters exactly what fwd gathered") {
  // With the argmax fixed, forward is the linear gather y = x[argmax] and
  // backward must be its transpose, whatever the overlap of the windows.
  struct Shape { int H, W, k, s, pad; };
  for (Shape sh : {Shape{9, 7, 3, 2, 1}, Shape{5, 7, 2, 1, 0}, Shape{8, 5, 3, 3, 1},
                   Shape{11, 3, 2, 2, 1}}) {
    Pool2dParams p;
    p.N = 2;
    p.C = 3;
    p.H = sh.H;
    p.W = sh.W;
    p.kh = p.kw = sh.k;
    p.stride_h = p.stride_w = sh.s;
    p.pad_h = p.pad_w = sh.pad;
    REQUIRE(p.finalize());
    Rng rng(uint64_t(sh.H * 100 + sh.W * 10 + sh.k));
    const Vec x = rng.vec(size_t(p.N) * p.C * p.H * p.W);
    const Vec dy = rng.vec(size_t(p.N) * p.C * p.P * p.Q);
    Vec y(dy.size()), dx(x.size());
    std::vector<int32_t> am(dy.size());
    cpu::maxpool2d_fwd_ref(p, x.data(), y.data(), am.data());
    cpu::maxpool2d_bwd_ref(p, dy.data(), am.data(), dx.data());
    // Every output is an input value at its recorded argmax.
    const size_t plane_in = size_t(p.H) * p.W, plane_out = size_t(p.P) * p.Q;
    bool gathered = true;
    for (size_t o = 0; o < y.size(); ++o)
      gathered &= am[o] >= 0 && y[o] == x[(o / plane_out) * plane_in + am[o]];
    CHECK_MESSAGE(gathered, "y != x[argmax] for " << sh.H << "x" << sh.W << " k" << sh.k);
    expect_adjoint("maxpool adjoint " + std::to_string(sh.H) + "x" + std::to_string(sh.W),
                   dot(y, dy), dot(x, dx), abs_dot(y, dy));
  }
}

// ---------------------------------------------------------------------------
TEST_CASE("upsample refs: known values") {
  SUBCASE("bilinear 2x2 -> 4x4 (PyTorch align_corners=False)") {
    const Vec x = {1, 2, 3, 4};
    Vec y(16);
    cpu::upsample_fwd_ref(Upsample::Bilinear, 1, 1, 2, 2, 4, 4, x.data(), y.data());
    // torch.nn.functional.interpolate(x, size=(4,4), mode='bilinear')
    expect_close("bilinear 2x2->4x4", y,
                 Vec{1.0f, 1.25f, 1.75f, 2.0f,  //
                     1.5f, 1.75f, 2.25f, 2.5f,  //
                     2.5f, 2.75f, 3.25f, 3.5f,  //
                     3.0f, 3.25f, 3.75f, 4.0f});
  }
  SUBCASE("bilinear 1x3 -> 1x5: clamping at both ends") {
    // src = (d + 0.5) * 3/5 - 0.5 = -0.2 (clamped to 0), 0.4, 1.0, 1.6, 2.2
    // (i0 = i1 = 2 at the far end).
    const Vec x = {0, 1, 2};
    Vec y(5);
    cpu::upsample_fwd_ref(Upsample::Bilinear, 1, 1, 1, 3, 1, 5, x.data(), y.data());
    expect_close("bilinear 1x3->1x5", y, Vec{0, 0.4f, 1.0f, 1.6f, 2.0f});
  }
  SUBCASE("bilinear downsampling 1x4 -> 1x2 averages pairs") {
    // src = (d + 0.5) * 2 - 0.5 = 0.5, 2.5
    const Vec x = {1, 2, 3, 4};
    Vec y(2);
    cpu::upsample_fwd_ref(Upsample::Bilinear, 1, 1, 1, 4, 1, 2, x.data(), y.data());
    expect_close("bilinear 1x4->1x2", y, Vec{1.5f, 3.5f});
  }
  SUBCASE("nearest 2x2 -> 4x4 repeats, 1x5 -> 1x3 picks floor(d*5/3)") {
    const Vec x = {1, 2, 3, 4};
    Vec y(16);
    cpu::upsample_fwd_ref(Upsample::Nearest, 1, 1, 2, 2, 4, 4, x.data(), y.data());
    expect_close("nearest 2x2->4x4", y,
                 Vec{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    const Vec x5 = {10, 11, 12, 13, 14};
    Vec y3(3);
    cpu::upsample_fwd_ref(Upsample::Nearest, 1, 1, 1, 5, 1, 3, x5.data(), y3.data());
    expect_close("nearest 1x5->1x3", y3, Vec{10, 11, 13});  // src 0, 1, 3
    // Non-integer ratios both ways: 7 -> 10 reads floor(d*7/10), 10 -> 7 reads floor(d*10/7).
    Vec x10(10), y10(10), y7(7);
    for (int i = 0; i < 10; ++i) x10[i] = float(i);
    cpu::upsample_fwd_ref(Upsample::Nearest, 1, 1, 1, 7, 1, 10, x10.data(), y10.data());
    expect_close("nearest 1x7->1x10", y10, Vec{0, 0, 1, 2, 2, 3, 4, 4, 5, 6});
    cpu::upsample_fwd_ref(Upsample::Nearest, 1, 1, 10, 1, 7, 1, x10.data(), y7.data());
    expect_close("nearest 10x1->7x1", y7, Vec{0, 1, 2, 4, 5, 7, 8});
    // Backward of nearest 2x2 -> 4x4: each input gets the sum of its 2x2 block.
    Vec dy(16);
    for (int i = 0; i < 16; ++i) dy[i] = float(i);
    Vec dx(4, 99.0f);
    cpu::upsample_bwd_ref(Upsample::Nearest, 1, 1, 2, 2, 4, 4, dy.data(), dx.data());
    expect_close("nearest bwd 4x4->2x2", dx, Vec{0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13,
                                                 10 + 11 + 14 + 15});
  }
  SUBCASE("bilinear with an inf input stays finite away from it; nearest copies it") {
    const float inf = std::numeric_limits<float>::infinity();
    const Vec x = {inf, 1, 2, 3};
    Vec y(16);
    cpu::upsample_fwd_ref(Upsample::Nearest, 1, 1, 2, 2, 4, 4, x.data(), y.data());
    CHECK(y[0] == inf);
    CHECK(y[3] == 1.0f);  // no 0 * inf = NaN from an unused tap
  }
}

TEST_CASE("upsample adjoint at odd sizes, up and down, both modes") {
  struct Shape { int H, W, Ho, Wo; };
  for (Upsample mode : {Upsample::Nearest, Upsample::Bilinear})
    for (Shape s : {Shape{5, 7, 11, 3}, Shape{3, 3, 8, 8}, Shape{8, 8, 3, 3}, Shape{4, 6, 8, 12},
                    Shape{1, 1, 5, 2}, Shape{7, 2, 7, 2}}) {
      const int N = 2, C = 3;
      Rng rng(uint64_t(s.H * 1000 + s.W * 100 + s.Ho * 10 + s.Wo));
      const Vec x = rng.vec(size_t(N) * C * s.H * s.W);
      const Vec dy = rng.vec(size_t(N) * C * s.Ho * s.Wo);
      Vec y(dy.size()), dx(x.size());
      cpu::upsample_fwd_ref(mode, N, C, s.H, s.W, s.Ho, s.Wo, x.data(), y.data());
      cpu::upsample_bwd_ref(mode, N, C, s.H, s.W, s.Ho, s.Wo, dy.data(), dx.data());
      const std::string what = std::string(mode == Upsample::Nearest ? "nearest " : "bilinear ") +
                               std::to_string(s.H) + "x" + std::to_string(s.W) + "->" +
                               std::to_string(s.Ho) + "x" + std::to_string(s.Wo);
      expect_adjoint(what, dot(y, dy), dot(x, dx), abs_dot(y, dy) + abs_dot(x, dx));
      // Each output row of A sums to 1 (interpolation preserves constants):
      // A^T applied to ones sums to the number of outputs.
      const Vec ones(dy.size(), 1.0f);
      cpu::upsample_bwd_ref(mode, N, C, s.H, s.W, s.Ho, s.Wo, ones.data(), dx.data());
      CHECK_MESSAGE(std::fabs(cpu::sum_ref(dx.size(), dx.data()) - double(dy.size())) < 1e-3,
                    what << ": weights do not sum to 1");
    }
}

// ---------------------------------------------------------------------------
namespace {

// Batch-norm training forward in double, for finite differences:
// returns sum(dy * y).
double bn_train_objective(int N, int C, int HW, const std::vector<double>& x,
                          const std::vector<double>& gamma, const std::vector<double>& beta,
                          double eps, const Vec& dy) {
  double obj = 0.0;
  const double M = double(N) * HW;
  for (int c = 0; c < C; ++c) {
    double mean = 0.0, var = 0.0;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) mean += x[(size_t(n) * C + c) * HW + i];
    mean /= M;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) {
        const double d = x[(size_t(n) * C + c) * HW + i] - mean;
        var += d * d;
      }
    var /= M;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < HW; ++i) {
        const size_t j = (size_t(n) * C + c) * HW + i;
        obj += dy[j] * (gamma[c] * (x[j] - mean) / std::sqrt(var + eps) + beta[c]);
      }
  }
  return obj;
}

}  // namespace

TEST_CASE("batchnorm refs: forward by hand") {
  // N=2, C=2, HW=1: channel 0 holds {1, 3}, channel 1 holds {5, 5}.
  const int N = 2, C = 2, HW = 1;
  const Vec x = {1, 5, /*n1*/ 3, 5};
  const Vec gamma = {2, 3}, beta = {0.5f, -1};
  const float eps = 1e-5f, momentum = 0.1f;
  Vec rm = {0, 10}, rv = {1, 1};
  Vec y(4), save_mean(2), save_invstd(2);
  cpu::batchnorm_fwd_train_ref(N, C, HW, x.data(), gamma.data(), beta.data(), eps, momentum,
                               rm.data(), rv.data(), y.data(), save_mean.data(),
                               save_invstd.data());
  // channel 0: mean 2, biased var 1 -> xhat = -+1/sqrt(1 + eps);
  // channel 1: var 0 -> xhat = 0, y = beta.
  const double s = 1.0 / std::sqrt(1.0 + double(eps));
  expect_close("bn train y", y, std::vector<double>{0.5 - 2 * s, -1, 0.5 + 2 * s, -1});
  expect_close("bn save_mean", save_mean, Vec{2, 5});
  expect_close("bn save_invstd", save_invstd,
               std::vector<double>{s, 1.0 / std::sqrt(double(eps))}, 1e-6);
  // running_mean = 0.9 * old + 0.1 * batch; running_var uses the unbiased
  // variance M/(M-1) * 1 = 2 for channel 0.
  expect_close("bn running_mean", rm, std::vector<double>{0.9 * 0 + 0.1 * 2, 0.9 * 10 + 0.1 * 5});
  expect_close("bn running_var", rv, std::vector<double>{0.9 * 1 + 0.1 * 2, 0.9 * 1 + 0.1 * 0});

  // Eval forward uses the running statistics.
  Vec ye(4);
  const Vec erm = {1, 2}, erv = {4, 0.25f};
  cpu::batchnorm_fwd_eval_ref(N, C, HW, x.data(), gamma.data(), beta.data(), erm.data(),
                              erv.data(), 0.0f, ye.data());
  // c0: 2 * (x - 1)/2 + 0.5;  c1: 3 * (5 - 2)/0.5 - 1 = 17
  expect_close("bn eval y", ye, Vec{0.5f, 17, 2.5f, 17});

  // Null gamma/beta/running stats (affine=False, not tracked) work too.
  Vec y2(4);
  cpu::batchnorm_fwd_train_ref(N, C, HW, x.data(), nullptr, nullptr, eps, momentum, nullptr,
                               nullptr, y2.data(), nullptr, nullptr);
  expect_close("bn no affine", y2, std::vector<double>{-s, 0, s, 0});
}

TEST_CASE("batchnorm refs: backward") {
  const int N = 3, C = 2, HW = 5;
  const size_t n = size_t(N) * C * HW;
  Rng rng(7);
  const Vec x = rng.vec(n, -2, 3);
  const Vec dy = rng.vec(n);
  const Vec gamma = {1.5f, -0.7f}, beta = {0.2f, 0.3f};
  const float eps = 1e-3f;

  Vec y(n), sm(C), si(C);
  cpu::batchnorm_fwd_train_ref(N, C, HW, x.data(), gamma.data(), beta.data(), eps, 0.1f, nullptr,
                               nullptr, y.data(), sm.data(), si.data());
  Vec dx(n, 123.0f), dgamma = {10, 20}, dbeta = {-1, -2};
  cpu::batchnorm_bwd_train_ref(N, C, HW, x.data(), dy.data(), gamma.data(), sm.data(), si.data(),
                               dx.data(), dgamma.data(), dbeta.data());

  // Central differences of sum(dy * y) in double.
  std::vector<double> xd(x.begin(), x.end()), gd(gamma.begin(), gamma.end()),
      bd(beta.begin(), beta.end());
  const double h = 1e-5;
  auto fd = [&](std::vector<double>& v, size_t i) {
    const double old = v[i];
    v[i] = old + h;
    const double up = bn_train_objective(N, C, HW, xd, gd, bd, eps, dy);
    v[i] = old - h;
    const double down = bn_train_objective(N, C, HW, xd, gd, bd, eps, dy);
    v[i] = old;
    return (up - down) / (2 * h);
  };
  std::vector<double> want_dx(n), want_dg(C), want_db(C);
  for (size_t i = 0; i < n; ++i) want_dx[i] = fd(xd, i);
  for (int c = 0; c < C; ++c) {
    want_dg[c] = (c == 0 ? 10 : 20) + fd(gd, c);
    want_db[c] = (c == 0 ? -1 : -2) + fd(bd, c);
  }
  expect_close("bn bwd_train dx vs finite differences", dx, want_dx, 1e-5);
  expect_close("bn bwd_train dgamma (accumulated)", dgamma, want_dg, 1e-5);
  expect_close("bn bwd_train dbeta (accumulated)", dbeta, want_db, 1e-5);

  // Eval backward: the statistics are constants, dx = dy * gamma / sqrt(rv + eps).
  const Vec rm = {0.5f, -1}, rv = {2, 0.5f};
  Vec dxe(n), dge(C, 0.0f), dbe(C, 0.0f);
  cpu::batchnorm_bwd_eval_ref(N, C, HW, x.data(), dy.data(), gamma.data(), rm.data(), rv.data(),
                              eps, dxe.data(), dge.data(), dbe.data());
  std::vector<double> want(n), wg(C, 0.0), wb(C, 0.0);
  for (int b = 0; b < N; ++b)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) {
        const size_t j = (size_t(b) * C + c) * HW + i;
        const double inv = 1.0 / std::sqrt(double(rv[c]) + eps);
        want[j] = dy[j] * gamma[c] * inv;
        wg[c] += dy[j] * (x[j] - rm[c]) * inv;
        wb[c] += dy[j];
      }
  expect_close("bn bwd_eval dx", dxe, want);
  expect_close("bn bwd_eval dgamma", dge, wg);
  expect_close("bn bwd_eval dbeta", dbe, wb);
}

// ---------------------------------------------------------------------------
TEST_CASE("loss refs: mse, l1, mse_const") {
  const Vec p = {1, 2, 3}, t = {0, 2, 5};  // d = {1, 0, -2}
  Vec g(3);
  CHECK(cpu::mse_ref(3, p.data(), t.data(), 2.0f, g.data()) == doctest::Approx(5.0 / 3));
  expect_close("mse grad = gscale * 2d/n", g, std::vector<double>{4.0 / 3, 0, -8.0 / 3});
  CHECK(cpu::l1_ref(3, p.data(), t.data(), 3.0f, g.data()) == doctest::Approx(1.0));
  expect_close("l1 grad = gscale * sign(d)/n (0 at d=0)", g, Vec{1, 0, -1});
  const Vec q = {0.5f, 1};
  Vec gq(2);
  CHECK(cpu::mse_const_ref(2, q.data(), 1.0f, 1.0f, gq.data()) == doctest::Approx(0.125));
  expect_close("mse_const grad", gq, Vec{-0.5f, 0});
  CHECK(cpu::mse_ref(3, p.data(), t.data(), 1.0f, nullptr) == doctest::Approx(5.0 / 3));
}

TEST_CASE("soft_ce_ref") {
  // N=1, Q=3, HW=2. Pixel 0: logits {1,2,3}, class 2. Pixel 1: logits {0,0,0}, class 0.
  const Vec z = {1, 0, /*q1*/ 2, 0, /*q2*/ 3, 0};
  const Vec onehot = {0, 1, /*q1*/ 0, 0, /*q2*/ 1, 0};
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double ce0 = lse0 - 3.0, ce1 = std::log(3.0);
  const double sm0[3] = {std::exp(1 - lse0), std::exp(2 - lse0), std::exp(3 - lse0)};

  SUBCASE("one-hot targets give plain cross-entropy") {
    Vec g(6);
    const double loss = cpu::soft_ce_ref(1, 3, 2, z.data(), onehot.data(), nullptr, 1.0f, g.data());
    CHECK(loss == doctest::Approx((ce0 + ce1) / 2).epsilon(1e-12));
    // dz = (softmax - onehot) / (N*HW)
    expect_close("soft_ce one-hot grad", g,
                 std::vector<double>{sm0[0] / 2, (1.0 / 3 - 1) / 2, sm0[1] / 2, 1.0 / 6,
                                     (sm0[2] - 1) / 2, 1.0 / 6});
  }
  SUBCASE("per-pixel weights and gscale scale value and gradient") {
    const Vec w = {2, 0};
    Vec g(6);
    const double loss = cpu::soft_ce_ref(1, 3, 2, z.data(), onehot.data(), w.data(), 3.0f, g.data());
    CHECK(loss == doctest::Approx(2 * ce0 / 2).epsilon(1e-12));
    expect_close("soft_ce weighted grad", g,
                 std::vector<double>{3 * 2 * sm0[0] / 2, 0, 3 * 2 * sm0[1] / 2, 0,
                                     3 * 2 * (sm0[2] - 1) / 2, 0});
  }
  SUBCASE("targets that do not sum to 1: the sum_q t factor") {
    const Vec t = {0.5f, 0, /*q1*/ 0.5f, 0, /*q2*/ 1, 1};  // pixel 0 sums to 2, pixel 1 to 1
    Vec g(6);
    const double loss = cpu::soft_ce_ref(1, 3, 2, z.data(), t.data(), nullptr, 1.0f, g.data());
    const double want = (0.5 * (lse0 - 1) + 0.5 * (lse0 - 2) + (lse0 - 3) + ce1) / 2;
    CHECK(loss == doctest::Approx(want).epsilon(1e-12));
    expect_close("soft_ce grad with sum t = 2", g,
                 std::vector<double>{(2 * sm0[0] - 0.5) / 2, (1.0 / 3) / 2, (2 * sm0[1] - 0.5) / 2,
                                     (1.0 / 3) / 2, (2 * sm0[2] - 1) / 2, (1.0 / 3 - 1) / 2});
  }
  SUBCASE("huge logits stay finite") {
    const Vec zl = {1000, 0, -1000};  // Q=3, HW=1
    const Vec t0 = {1, 0, 0}, t1 = {0, 1, 0};
    Vec g(3);
    CHECK(cpu::soft_ce_ref(1, 3, 1, zl.data(), t0.data(), nullptr, 1.0f, g.data()) ==
          doctest::Approx(0.0));
    CHECK(cpu::soft_ce_ref(1, 3, 1, zl.data(), t1.data(), nullptr, 1.0f, g.data()) ==
          doctest::Approx(1000.0));
    expect_close("soft_ce grad at huge logits", g, Vec{1, -1, 0});
  }
  SUBCASE("gradient matches finite differences on random soft targets") {
    const int N = 2, Q = 5, HW = 3;
    Rng rng(11);
    Vec zz = rng.vec(size_t(N) * Q * HW, -3, 3);
    Vec t = rng.vec(size_t(N) * Q * HW, 0, 1);
    const Vec w = rng.vec(size_t(N) * HW, 0.5f, 2);
    Vec g(zz.size());
    const float gscale = float(N * HW);  // keeps the gradient O(1)
    cpu::soft_ce_ref(N, Q, HW, zz.data(), t.data(), w.data(), gscale, g.data());
    std::vector<double> want(zz.size());
    for (size_t j = 0; j < zz.size(); ++j) {
      const float old = zz[j];
      zz[j] = old + 1e-2f;
      const double up = cpu::soft_ce_ref(N, Q, HW, zz.data(), t.data(), w.data(), 1, nullptr);
      const float zu = zz[j];
      zz[j] = old - 1e-2f;
      const double down = cpu::soft_ce_ref(N, Q, HW, zz.data(), t.data(), w.data(), 1, nullptr);
      const float zd = zz[j];
      zz[j] = old;
      want[j] = gscale * (up - down) / (double(zu) - zd);
    }
    expect_close("soft_ce grad vs finite differences", g, want, 1e-4);
  }
}

// ---------------------------------------------------------------------------
TEST_CASE("sgd_step_ref") {
  SUBCASE("momentum, two steps by hand") {
    // w = 1, g = 1, lr 0.1, momentum 0.9:
    // step 1: m = 1,   w = 1 - 0.1*1 = 0.9
    // step 2: m = 1.9, w = 0.9 - 0.1*1.9 = 0.71
    Vec w = {1}, g = {1}, m = {123};
    cpu::sgd_step_ref(1, w.data(), g.data(), m.data(), 0.1f, 0.9f, 0, false, true);
    expect_close("sgd step 1", w, Vec{0.9f});
    expect_close("sgd m 1", m, Vec{1});
    cpu::sgd_step_ref(1, w.data(), g.data(), m.data(), 0.1f, 0.9f, 0, false, false);
    expect_close("sgd step 2", w, Vec{0.71f});
    expect_close("sgd m 2", m, Vec{1.9f});
  }
  SUBCASE("nesterov") {
    // step 1: m = 1, d = 1 + 0.9*1 = 1.9, w = 0.81; step 2: m = 1.9, d = 1 + 1.71 = 2.71, w = 0.539
    Vec w = {1}, g = {1}, m = {0};
    cpu::sgd_step_ref(1, w.data(), g.data(), m.data(), 0.1f, 0.9f, 0, true, true);
    expect_close("nesterov step 1", w, Vec{0.81f});
    cpu::sgd_step_ref(1, w.data(), g.data(), m.data(), 0.1f, 0.9f, 0, true, false);
    expect_close("nesterov step 2", w, Vec{0.539f});
  }
  SUBCASE("weight decay, no momentum, no buffer") {
    // g' = 1 + 0.5*2 = 2, w = 2 - 0.1*2 = 1.8
    Vec w = {2}, g = {1};
    cpu::sgd_step_ref(1, w.data(), g.data(), nullptr, 0.1f, 0.0f, 0.5f, false, true);
    expect_close("sgd weight decay", w, Vec{1.8f});
  }
}

TEST_CASE("adam_step_ref") {
  SUBCASE("first step moves each weight by ~lr*sign(g)") {
    const float lr = 1e-3f, eps = 1e-8f;
    Vec w = {1, 1, 1, 1}, g = {0.5f, -3, 1e-3f, 0}, m(4, 0.0f), v(4, 0.0f);
    cpu::adam_step_ref(4, w.data(), g.data(), m.data(), v.data(), lr, 0.9f, 0.999f, eps, 0, false, 1);
    std::vector<double> want;
    for (float gi : g) want.push_back(1.0 - lr * gi / (std::fabs(gi) + eps));
    expect_close("adam step 1", w, want);
    CHECK(w[3] == 1.0f);  // g = 0: no move
    // m = (1 - b1) g, v = (1 - b2) g^2, with the betas as the floats passed in
    // (1 - 0.999f = 0.00099998713..., not 0.001).
    std::vector<double> want_m, want_v;
    for (float gi : g) {
      want_m.push_back((1.0 - double(0.9f)) * gi);
      want_v.push_back((1.0 - double(0.999f)) * gi * gi);
    }
    expect_close("adam m", m, want_m, 1e-9);
    expect_close("adam v", v, want_v, 1e-9);
  }
  SUBCASE("a constant gradient moves lr/(1+eps) every step (bias correction)") {
    // g = 1 always: m_t = 1 - b1^t, v_t = 1 - b2^t, so both corrected moments are 1.
    Vec w = {0}, g = {1}, m = {0}, v = {0};
    for (int t = 1; t <= 5; ++t)
      cpu::adam_step_ref(1, w.data(), g.data(), m.data(), v.data(), 0.01f, 0.9f, 0.999f, 1e-8f, 0,
                         false, t);
    expect_close("adam constant gradient", w, std::vector<double>{-5 * 0.01 / (1 + 1e-8)}, 1e-6);
  }
  SUBCASE("Adam L2 vs AdamW decoupled weight decay") {
    // g = 0, w = 2, wd = 0.5, lr = 0.1.
    // Adam:  g' = 0.5*2 = 1, first step moves lr: w = 1.9.
    // AdamW: w *= 1 - 0.1*0.5 -> 1.9, then the zero gradient moves nothing.
    Vec w = {2}, g = {0}, m = {0}, v = {0};
    cpu::adam_step_ref(1, w.data(), g.data(), m.data(), v.data(), 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f,
                       false, 1);
    expect_close("adam L2", w, Vec{1.9f}, 1e-6);
    Vec w2 = {2}, m2 = {0}, v2 = {0};
    cpu::adam_step_ref(1, w2.data(), g.data(), m2.data(), v2.data(), 0.1f, 0.9f, 0.999f, 1e-8f,
                       0.5f, true, 1);
    expect_close("adamw decoupled", w2, Vec{1.9f}, 1e-6);
    CHECK(m2[0] == 0.0f);
  }
}
