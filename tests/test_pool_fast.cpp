// test_pool_fast.cpp — the fast max pooling forward (pool/cpu.cpp, and its
// AVX-512 tap loop pool/cpu_avx512.cpp) against the reference (pool/ref.cpp),
// output and argmax bit for bit, on every kernel set the processor has, at one
// and two threads: kernels 1..3, strides 1..3, padding, widths around the 16
// lanes (and 32 input columns of a stride-2 load), ties (values on a coarse
// grid) and NaNs; with and without the argmax.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

template <class T>
size_t differing(const std::vector<T>& a, const std::vector<T>& b, size_t* where) {
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0 && bad++ == 0) *where = i;
  return bad;
}

}  // namespace

TEST_CASE("fast max pooling == reference on every kernel set") {
  struct Shape { int H, W, k, s, pad; };
  const Shape shapes[] = {{1, 1, 1, 1, 0},    {5, 7, 3, 2, 1},   {9, 33, 3, 2, 1},  {8, 64, 3, 2, 1},
                          {6, 65, 2, 2, 0},   {7, 31, 3, 1, 1},  {4, 17, 2, 1, 1},  {11, 50, 3, 3, 1},
                          {3, 100, 3, 2, 0},  {10, 97, 2, 2, 1}, {2, 2, 2, 2, 1},   {13, 129, 3, 2, 1}};
  int runs = 0;
  for_each_kernel_set([&] {
    at_thread_counts([&](int threads) {
      for (const Shape& sh : shapes)
        for (int nan_case = 0; nan_case < 2; ++nan_case) {
          Pool2dParams p;
          p.N = 2, p.C = 3, p.H = sh.H, p.W = sh.W, p.kh = p.kw = sh.k, p.stride_h = p.stride_w = sh.s;
          p.pad_h = p.pad_w = sh.pad;
          if (!p.finalize()) continue;
          char what[120];
          std::snprintf(what, sizeof what, "%dx%d k%d s%d pad %d%s, %s, %d threads", sh.H, sh.W, sh.k, sh.s, sh.pad,
                        nan_case ? " NaNs" : "", cpu::cpu_kernels_name(cpu::cpu_kernels()), threads);
          CAPTURE(what);
          std::vector<float> x = kcheck::random_vec(size_t(p.N) * p.C * p.H * p.W, 31 + sh.W);
          for (float& v : x) v = std::round(v * 4.f) / 4.f;  // a coarse grid: many ties
          if (nan_case)
            for (size_t i = 3; i < x.size(); i += 11) x[i] = std::numeric_limits<float>::quiet_NaN();
          const size_t out = size_t(p.N) * p.C * p.P * p.Q;
          std::vector<float> y_ref(out), y(out, 5.f), y_na(out, 5.f);
          std::vector<int32_t> a_ref(out), a(out, 7);
          cpu::maxpool2d_fwd_ref(p, x.data(), y_ref.data(), a_ref.data());
          cpu::maxpool2d_fwd(p, x.data(), y.data(), a.data());
          cpu::maxpool2d_fwd(p, x.data(), y_na.data(), nullptr);
          size_t wy = 0, wa = 0, wn = 0;
          const size_t by = differing(y, y_ref, &wy), ba = differing(a, a_ref, &wa), bn = differing(y_na, y_ref, &wn);
          std::printf("  %-56s y differing %zu (first at %zu), argmax %zu (%zu), y without argmax %zu (%zu)\n", what,
                      by, wy, ba, wa, bn, wn);
          CHECK(by == 0);
          CHECK(ba == 0);
          CHECK(bn == 0);
          ++runs;
        }
    });
  });
  std::printf("max pooling: %d runs compared with the reference\n", runs);
}
