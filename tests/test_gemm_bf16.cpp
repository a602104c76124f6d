// test_gemm_bf16.cpp — the bf16 GEMM sets (kernels/gemm/cpu_avx512bf16.cpp,
// AVX-512 BF16; kernels/gemm/cpu_amx.cpp, AMX-BF16; each test runs on every set
// the processor has) and the bf16 convolutions on them (conv/cpu.cpp: *_bf16) against the
// reference arithmetic: the operands rounded to bf16 by cpu::round_operands
// (round to nearest even, tensorcore/ref.cpp), then sgemm_ref / conv ref, fp32
// accumulation. A set the processor lacks is skipped (with a message).
//
// Tolerance, from the order of the additions: with exact products (bf16 x
// bf16 fits in fp32) each result is a sum of K terms, so reference and kernel
// each differ from the exact sum of the rounded products by at most about
// K u S, S = sum |a||b| of the rounded operands, u = 2^-24 (a few more
// roundings: alpha, beta * C, one store and reload per KC slice). So
//   |got - want| <= 2 (K + 4) u (|alpha| S + |beta| |C0|) + 1e-30
// (the 1e-30: the hardware flushes subnormal products to zero). A wrong
// rounding of the operands costs about 2^-9 S / sqrt(K): far above it, and a
// test below shows that truncation instead of RNE is caught.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/gemm/microkernels.h"
#include "kernels/kernels.h"
#include "kernels/tensorcore/tensorcore.h"

using namespace tinct;

namespace {

constexpr double kU = 1.0 / (1 << 24);

// Runs body once with each bf16 GEMM set this processor has (forced in turn),
// saying which; a set it lacks (AMX on most CI machines) is skipped with a
// message. Restores the set in use afterwards.
struct Bf16Restore {
  cpu::CpuBf16 saved = cpu::cpu_bf16();
  ~Bf16Restore() { cpu::set_cpu_bf16(saved); }
};
template <class F>
void for_each_bf16_set(F body) {
  Bf16Restore restore;
  for (cpu::CpuBf16 s : {cpu::CpuBf16::avx512, cpu::CpuBf16::amx}) {
    if (!cpu::cpu_bf16_supported(s)) {
      MESSAGE(cpu::cpu_bf16_name(s) << " is not on this processor (or build): its bf16 GEMM tests skipped");
      continue;
    }
    cpu::set_cpu_bf16(s);
    std::printf(" [bf16 set %s]\n", cpu::cpu_bf16_name(s));
    body();
  }
}

std::vector<float> rounded(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  cpu::round_operands(Precision::bf16, v.data(), r.data(), v.size());
  return r;
}
// Truncation (round toward zero): the deliberately wrong rounding.
std::vector<float> truncated(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    u &= 0xffff0000u;
    std::memcpy(&r[i], &u, 4);
  }
  return r;
}
std::vector<float> abs_of(std::vector<float> v) {
  for (float& x : v) x = std::fabs(x);
  return v;
}

struct Case {
  bool ta, tb;
  int M, N, K;
  float alpha, beta;
};

struct Worst {
  double ratio = 0;  // worst |got - want| / tol
  int i = 0, j = 0;
};

template <class Round>
Worst compare(const Case& c, const std::vector<float>& A, int lda, const std::vector<float>& B, int ldb,
              const std::vector<float>& C0, const std::vector<float>& got, int ldc, Round round);

// C from sgemm_bf16 against sgemm_ref on operands rounded by `round` (RNE:
// the specification; truncation: a wrong one). Returns the worst error / tol.
template <class Round>
Worst run_case(const Case& c, uint32_t seed, Round round) {
  const int a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int lda = a_cols + 1, ldb = b_cols + 3, ldc = c.N + 2;  // padded leading dimensions
  const auto A = kcheck::random_vec((size_t)a_rows * lda, seed);
  const auto B = kcheck::random_vec((size_t)b_rows * ldb, seed + 1);
  auto C0 = kcheck::random_vec((size_t)c.M * ldc, seed + 2);
  if (c.beta == 0.0f)
    for (float& v : C0) v = std::numeric_limits<float>::quiet_NaN();  // must not be read
  std::vector<float> got = C0;
  cpu::sgemm_bf16(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, got.data(), ldc);
  return compare(c, A, lda, B, ldb, C0, got, ldc, round);
}

// got (C0 updated by some bf16 GEMM entry point) against sgemm_ref on the
// operands rounded by `round`: the worst error / tol, inf if the padding of C changed.
template <class Round>
Worst compare(const Case& c, const std::vector<float>& A, int lda, const std::vector<float>& B, int ldb,
              const std::vector<float>& C0, const std::vector<float>& got, int ldc, Round round) {
  std::vector<float> want = C0, s((size_t)c.M * ldc, 0.0f);
  const auto Ar = round(A), Br = round(B);
  cpu::sgemm_ref(c.ta, c.tb, c.M, c.N, c.K, c.alpha, Ar.data(), lda, Br.data(), ldb, c.beta, want.data(), ldc);
  cpu::sgemm_ref(c.ta, c.tb, c.M, c.N, c.K, 1.0f, abs_of(Ar).data(), lda, abs_of(Br).data(), ldb, 0.0f, s.data(),
                 ldc);
  Worst w;
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < c.N; ++j) {
      const size_t at = (size_t)i * ldc + j;
      const double c0 = c.beta == 0.0f ? 0.0 : std::fabs(C0[at]);
      const double tol = 2.0 * (c.K + 4) * kU * (std::fabs(c.alpha) * s[at] + std::fabs(c.beta) * c0) + 1e-30;
      double r = std::fabs((double)got[at] - want[at]) / tol;
      if (!std::isfinite(got[at])) r = std::numeric_limits<double>::infinity();
      if (r > w.ratio) w.ratio = r, w.i = i, w.j = j;
    }
  for (int i = 0; i < c.M; ++i)  // the padding of C is untouched
    for (int j = c.N; j < ldc; ++j) {
      const size_t at = (size_t)i * ldc + j;
      if (!(std::memcmp(&got[at], &C0[at], 4) == 0)) w.ratio = std::numeric_limits<double>::infinity();
    }
  return w;
}

}  // namespace

TEST_CASE("sgemm_bf16: sgemm_ref on bf16-rounded operands, every small shape, transposes, beta 0 / 1, 1 and 2 threads") {
  for_each_bf16_set([&] {
    const int ks[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33};
    at_thread_counts([&](int threads) {
      Worst worst;
      Case worst_case{};
      int cases = 0;
      for (int M = 1; M <= 33; ++M)
        for (int N = 1; N <= 33; ++N)
          for (int K : ks) {
            const int v = M * 7 + N * 3 + K;  // every transpose / beta combination, spread over the shapes
            const Case c{(v & 1) != 0, (v & 2) != 0, M, N, K, (v & 8) ? 0.5f : 1.0f, (v & 4) ? 1.0f : 0.0f};
            const Worst w = run_case(c, 1000u + (uint32_t)v, rounded);
            ++cases;
            if (w.ratio > worst.ratio) worst = w, worst_case = c;
          }
      std::printf("  %d threads, %d cases M,N 1..33, K 1..33: worst err/tol %.3g at C[%d,%d] of M=%d N=%d K=%d ta=%d tb=%d "
                  "beta=%g\n",
                  threads, cases, worst.ratio, worst.i, worst.j, worst_case.M, worst_case.N, worst_case.K,
                  (int)worst_case.ta, (int)worst_case.tb, worst_case.beta);
      CHECK(worst.ratio <= 1.0);
    });
  });
}

TEST_CASE("sgemm_bf16: shapes that cross the KC / MC / NC blocks and the thread splits") {
  for_each_bf16_set([&] {
    // avx512-bf16: KC = 768 (a second, odd slice), MC = 336, NC = 4096; amx-bf16:
    // KC = 1024, MC = 256, NC = 4096 (K = 2081: a third slice of one part chunk); tall and wide C.
    const Case cases[] = {{false, false, 350, 45, 1601, 1.0f, 0.0f}, {true, true, 29, 4100, 9, 1.0f, 1.0f},
                          {false, true, 97, 130, 769, 2.0f, 1.0f},   {true, false, 700, 33, 70, 1.0f, 0.0f},
                          {false, false, 15, 600, 1537, 1.0f, 1.0f}, {true, true, 47, 65, 2081, 0.5f, 1.0f}};
    at_thread_counts([&](int threads) {
      for (const Case& c : cases) {
        const Worst w = run_case(c, 77u + (uint32_t)c.K, rounded);
        std::printf("  %d threads M=%d N=%d K=%d ta=%d tb=%d beta=%g: worst err/tol %.3g at C[%d,%d]\n", threads, c.M,
                    c.N, c.K, (int)c.ta, (int)c.tb, c.beta, w.ratio, w.i, w.j);
        CHECK(w.ratio <= 1.0);
      }
    });
  });
}

// op(B) handed out panel by panel, as conv backward-filter does: B stored as
// its transpose [N x K] (row stride ld), each panel transposed on request.
class TransposedPanels final : public cpu::detail::BPanelSource {
 public:
  TransposedPanels(const cpu::detail::GemmKernel& g, const float* bt, int ld) : g_(g), bt_(bt), ld_(ld) {}
  void pack(int p0, int kc, int j0, int nr, float* dst) const override {
    cpu::detail::pack_b_panel_transposed(g_, bt_ + (size_t)j0 * ld_ + p0, ld_, kc, nr, dst);
  }

 private:
  const cpu::detail::GemmKernel& g_;
  const float* bt_;
  int ld_;
};

TEST_CASE("bf16 sets: the packed-A (conv weights) and B-panel (conv backward-filter) entry points") {
  // K = 1, 33 (a part chunk of 32), 2049 (past the KC slices of both sets), M and N odd or below a tile.
  const Case cases[] = {{false, false, 37, 45, 1100, 1.0f, 0.0f}, {true, false, 5, 70, 33, 0.5f, 1.0f},
                        {false, false, 70, 3, 1, 1.0f, 1.0f},     {true, false, 33, 97, 2049, 1.0f, 0.0f},
                        {false, false, 300, 17, 515, 2.0f, 1.0f}};
  for_each_bf16_set([&] {
    const cpu::detail::GemmKernel& g = *cpu::detail::active_bf16_gemm_kernel();
    at_thread_counts([&](int threads) {
      for (const Case& c : cases) {
        const int a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K, lda = a_cols + 1, ldc = c.N + 2;
        const auto A = kcheck::random_vec((size_t)a_rows * lda, 31u + c.K);
        const auto C0 = kcheck::random_vec((size_t)c.M * ldc, 33u + c.K);
        // Packed A against a plain [K x N] B.
        const int ldb = c.N + 3;
        const auto B = kcheck::random_vec((size_t)c.K * ldb, 32u + c.K);
        std::vector<float> packed(cpu::detail::packed_a_size(g, c.M, c.K), 1e30f), got = C0;
        cpu::detail::pack_a_all(g, c.ta, c.M, c.K, A.data(), lda, packed.data());
        cpu::detail::sgemm_packed_a(g, c.M, c.N, c.K, c.alpha, packed.data(), false, B.data(), ldb, c.beta,
                                    got.data(), ldc);
        const Worst wa = compare(c, A, lda, B, ldb, C0, got, ldc, rounded);
        // B panels from a producer; the reference reads the same values through trans_b.
        const int ldt = c.K + 5;
        const auto Bt = kcheck::random_vec((size_t)c.N * ldt, 34u + c.K);
        got = C0;
        cpu::detail::sgemm_b_panels(g, c.ta, c.M, c.N, c.K, c.alpha, A.data(), lda, TransposedPanels(g, Bt.data(), ldt),
                                    c.beta, got.data(), ldc);
        Case ct = c;
        ct.tb = true;
        const Worst wb = compare(ct, A, lda, Bt, ldt, C0, got, ldc, rounded);
        std::printf("  %d threads M=%d N=%d K=%d ta=%d alpha=%g beta=%g: packed A worst err/tol %.3g at C[%d,%d]; "
                    "B panels %.3g at C[%d,%d]\n",
                    threads, c.M, c.N, c.K, (int)c.ta, c.alpha, c.beta, wa.ratio, wa.i, wa.j, wb.ratio, wb.i, wb.j);
        CHECK(wa.ratio <= 1.0);
        CHECK(wb.ratio <= 1.0);
      }
    });
  });
}

TEST_CASE("sgemm_bf16: the result does not depend on the thread count") {
  for_each_bf16_set([&] {
    const int M = 200, N = 300, K = 1000;
    const auto A = kcheck::random_vec((size_t)M * K, 5), B = kcheck::random_vec((size_t)K * N, 6);
    std::vector<float> c1((size_t)M * N), c2((size_t)M * N);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    cpu::sgemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, c1.data(), N);
    omp_set_num_threads(std::max(2, saved));
    cpu::sgemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, c2.data(), N);
    omp_set_num_threads(saved);
    CHECK(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
  });
}

TEST_CASE("sgemm_bf16 rounds as bf16_from_float: ties to even, overflow to inf, inf and NaN kept (quiet)") {
  for_each_bf16_set([&] {
    const float tie_down = 1.0f + std::ldexp(1.0f, -8);                          // halfway, even below: 1
    const float tie_up = 1.0f + 3 * std::ldexp(1.0f, -8);                        // halfway, even above
    const float above = 1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20);     // just past halfway
    const float inf = std::numeric_limits<float>::infinity();
    const float big = std::numeric_limits<float>::max();  // past the last bf16 below inf: rounds to inf
    // A NaN whose payload lies in the dropped bits: rounding its bits alone would give inf.
    const uint32_t low_nan_bits = 0x7f800001u, neg_low_nan_bits = 0xff800001u;
    float low_nan, neg_low_nan;
    std::memcpy(&low_nan, &low_nan_bits, 4);
    std::memcpy(&neg_low_nan, &neg_low_nan_bits, 4);
    const std::vector<float> vals = {tie_down, tie_up, -tie_up, above, -above,  big,
                                     -big,     inf,    -inf,    1.0f,  -1.5f,   std::numeric_limits<float>::quiet_NaN(),
                                     low_nan,  neg_low_nan};
    const int n = (int)vals.size(), K = 8;
    // Output i sums K products of which one is vals[i] * 1 and the others 0 * 1,
    // so it is the rounded value itself. vals[i] sits at k = 3i mod 8, in A
    // (output row i; A stored as is, then transposed) or in B (output column i;
    // likewise): every packing path, 8 k so the four-at-a-time code runs too.
    for (int variant = 0; variant < 4; ++variant) {
      const bool in_a = variant < 2, trans = variant % 2 == 1;
      std::vector<float> sel((size_t)n * K, 0.0f), ones(K, 1.0f), c((size_t)n, 0.0f);
      for (int i = 0; i < n; ++i) {
        const int k = 3 * i % K;
        // op(X)[i, k] of an [n x K] operand (A), or op(X)[k, i] of a [K x n] one (B).
        const bool rows_are_i = in_a != trans;
        sel[rows_are_i ? (size_t)i * K + k : (size_t)k * n + i] = vals[i];
      }
      const int ld = (in_a != trans) ? K : n;
      if (in_a) cpu::sgemm_bf16(trans, false, n, 1, K, 1.0f, sel.data(), ld, ones.data(), 1, 0.0f, c.data(), 1);
      else cpu::sgemm_bf16(false, trans, 1, n, K, 1.0f, ones.data(), K, sel.data(), ld, 0.0f, c.data(), n);
      for (int i = 0; i < n; ++i) {
        const float want = cpu::round_bf16(vals[i]);
        CAPTURE(variant);
        CAPTURE(i);
        if (std::isnan(want)) CHECK(std::isnan(c[i]));
        else CHECK(std::memcmp(&c[i], &want, 4) == 0);
      }
    }
    CHECK(cpu::round_bf16(tie_up) == 1.0f + std::ldexp(1.0f, -6));  // the values above test what they claim
    CHECK(cpu::round_bf16(tie_down) == 1.0f);
    CHECK(std::isinf(cpu::round_bf16(big)));
  });
}

TEST_CASE("sgemm_bf16: a truncating rounding of the operands is detected by the tolerance") {
  for_each_bf16_set([&] {
    // The same comparison as above with the reference's operands truncated
    // instead of rounded to nearest even: it must fail, or the test above could
    // not tell a wrong rounding in the packing from the right one.
    const Case cases[] = {{false, false, 17, 19, 33, 1.0f, 0.0f}, {true, true, 14, 32, 7, 1.0f, 1.0f},
                          {false, true, 5, 40, 300, 1.0f, 0.0f}};
    for (const Case& c : cases) {
      const Worst right = run_case(c, 4242u, rounded), wrong = run_case(c, 4242u, truncated);
      std::printf("  M=%d N=%d K=%d: RNE reference err/tol %.3g; truncating reference err/tol %.3g at C[%d,%d]\n", c.M,
                  c.N, c.K, right.ratio, wrong.ratio, wrong.i, wrong.j);
      CHECK(right.ratio <= 1.0);
      CHECK(wrong.ratio > 1.0);  // detected
    }
  });
}

// --- the convolutions at bf16 ------------------------------------------------

namespace {

// The worst |got - want| / (3 (n + 2) u S + 1e-30), S the same pass on the
// absolute rounded operands, n the length of each sum (as test_precision.cpp).
double worst(const char* what, const std::vector<float>& got, const std::vector<float>& want,
             const std::vector<float>& s, double n) {
  double w = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double r = std::fabs(double(got[i]) - want[i]) / (3.0 * (n + 2) * kU * s[i] + 1e-30);
    if (!std::isfinite(got[i])) r = std::numeric_limits<double>::infinity();
    if (r > w) w = r, at = i;
  }
  std::printf("    %-12s worst err/tol %.3g at %zu of %zu\n", what, w, at, got.size());
  return w;
}

void check_conv(Conv2dParams p, const char* name) {
  REQUIRE(p.finalize());
  const int CRS = p.C * p.R * p.S;
  const size_t nx = (size_t)p.N * p.C * p.H * p.W, nw = (size_t)p.K * CRS, ny = (size_t)p.N * p.K * p.P * p.Q;
  const auto x = kcheck::random_vec(nx, 11), w = kcheck::random_vec(nw, 12), dy = kcheck::random_vec(ny, 13);
  const auto b = kcheck::random_vec(p.K, 14);
  const auto xa = abs_of(rounded(x)), wa = abs_of(rounded(w)), dya = abs_of(rounded(dy)), ba = abs_of(b);
  std::printf("  %s: N=%d C=%d %dx%d K=%d %dx%d stride %d pad %d dil %d\n", name, p.N, p.C, p.H, p.W, p.K, p.R, p.S,
              p.stride_h, p.pad_h, p.dil_h);
  at_thread_counts([&](int) {
    // Forward (bias as the epilogue's shift).
    std::vector<float> y(ny), want(ny), s(ny);
    cpu::Epilogue e;
    e.shift = b.data();
    cpu::conv2d_fwd_fused_bf16(p, x.data(), w.data(), e, y.data());
    cpu::conv2d_fwd_ref(Precision::bf16, p, x.data(), w.data(), b.data(), want.data());
    cpu::conv2d_fwd_ref(p, xa.data(), wa.data(), ba.data(), s.data());
    CHECK(worst("forward", y, want, s, CRS) <= 1.0);
    // Backward-data, and the transposed convolution's forward (the same pass).
    std::vector<float> dx(nx, 1e30f), dx_want(nx), dx_s(nx);
    cpu::conv2d_bwd_data_bf16(p, dy.data(), w.data(), dx.data());
    cpu::conv2d_bwd_data_ref(Precision::bf16, p, dy.data(), w.data(), dx_want.data());
    cpu::conv2d_bwd_data_ref(p, dya.data(), wa.data(), dx_s.data());
    CHECK(worst("bwd-data", dx, dx_want, dx_s, p.K * p.R * p.S) <= 1.0);
    std::vector<float> yt(nx, 1e30f);
    cpu::conv_transpose2d_fwd_fused_bf16(p, dy.data(), w.data(), cpu::Epilogue{}, yt.data());
    CHECK(worst("transposed", yt, dx_want, dx_s, p.K * p.R * p.S) <= 1.0);
    // Backward-filter accumulates into dw; db sums the unrounded dy.
    std::vector<float> dw(nw, 0.5f), dw_want(nw, 0.5f), dw_s(nw, 0.5f), db(p.K, 0.0f), db_want(p.K, 0.0f);
    cpu::conv2d_bwd_filter_bf16(p, x.data(), dy.data(), dw.data(), db.data());
    cpu::conv2d_bwd_filter_ref(Precision::bf16, p, x.data(), dy.data(), dw_want.data(), db_want.data());
    cpu::conv2d_bwd_filter_ref(p, xa.data(), dya.data(), dw_s.data(), nullptr);
    CHECK(worst("bwd-filter", dw, dw_want, dw_s, (double)p.N * p.P * p.Q) <= 1.0);
    for (int k = 0; k < p.K; ++k) CHECK(db[k] == doctest::Approx(db_want[k]).epsilon(1e-5));
  });
}

Conv2dParams conv(int N, int C, int H, int W, int K, int R, int stride, int pad, int dil) {
  Conv2dParams p;
  p.N = N, p.C = C, p.H = H, p.W = W, p.K = K, p.R = p.S = R;
  p.stride_h = p.stride_w = stride, p.pad_h = p.pad_w = pad, p.dil_h = p.dil_w = dil;
  return p;
}

}  // namespace

TEST_CASE("conv2d at bf16 on the bf16 GEMM: forward, backward-data, transposed, backward-filter vs the bf16 reference") {
  for_each_bf16_set([&] {
    check_conv(conv(2, 3, 11, 9, 5, 3, 2, 2, 2), "stride 2, dilation 2, odd sizes");
    check_conv(conv(1, 1, 13, 17, 1, 3, 1, 1, 1), "1 channel in and out");
    check_conv(conv(3, 5, 20, 21, 7, 3, 1, 4, 4), "dilation 4, chunks across images");
    check_conv(conv(2, 33, 9, 9, 17, 1, 1, 0, 1), "pointwise 1x1");
    check_conv(conv(1, 16, 40, 40, 30, 3, 1, 1, 1), "batch 1, strips shared by threads");
    check_conv(conv(4, 100, 8, 8, 40, 3, 2, 1, 1), "CRS 900 over two KC slices, stride 2");
  });
}

TEST_CASE("the bf16 GEMM can be switched off and on; sgemm_bf16 refuses to run while off") {
  if (!cpu::cpu_bf16_gemm_supported()) {
    MESSAGE("no bf16 GEMM (AMX or AVX-512 BF16) here");
    CHECK_THROWS_AS(cpu::set_cpu_bf16(cpu::CpuBf16::amx), std::invalid_argument);
    CHECK_THROWS_AS(cpu::set_cpu_bf16_gemm(true), std::invalid_argument);
    CHECK(!cpu::cpu_bf16_gemm());
    return;
  }
  Bf16Restore restore;
  cpu::set_cpu_bf16_gemm(false);
  CHECK(std::string(cpu::cpu_bf16_gemm_name()) == "none");
  float a = 1, b = 1, c = 0;
  CHECK_THROWS_AS(cpu::sgemm_bf16(false, false, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1), std::logic_error);
  cpu::set_cpu_bf16_gemm(true);  // on: the best set, AMX where the processor has it
  const bool amx = cpu::cpu_bf16_supported(cpu::CpuBf16::amx);
  CHECK(std::string(cpu::cpu_bf16_gemm_name()) == (amx ? "amx-bf16" : "avx512-bf16"));
  cpu::sgemm_bf16(false, false, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  CHECK(c == 1.0f);
  if (!amx) CHECK_THROWS_AS(cpu::set_cpu_bf16(cpu::CpuBf16::amx), std::invalid_argument);
}
