// test_loss_fast.cpp — the fast CPU soft-target cross-entropy (loss/cpu.cpp:
// pixel blocks, a vectorised float exp) against soft_ce_ref (loss/ref.cpp)
// at awkward shapes: Q = 1, 2, 7, 13, 17 and 313 classes (below and across
// the 16-class chunks), planes of 1, 7, 64, 65, 130, 1027 and 2053 pixels
// (below and across the 1024-pixel blocks), batch 1 to 3, with and without
// weights, sparse targets (most bins 0, as the soft-encoded colours), targets that do not sum to 1, and logits of -inf
// (masked classes) under zero targets; with each CPU kernel set (one copy of
// the loops each, loss/soft_ce_image.h), at one and at several threads. It
// prints the worst error of the loss and of the gradient and where, and
// checks that the result does not depend on the thread count (bit for bit).
#include <omp.h>

#include <algorithm>
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

TEST_CASE("fast soft_ce matches the reference, with each kernel set") {
  for_each_kernel_set([] {
    struct Case { int N, Q, HW; bool weighted, sparse, masked; };
    const Case cases[] = {{1, 1, 7, false, false, false},  {3, 2, 1, true, false, false},
                          {3, 13, 65, true, false, false},  {1, 313, 1027, true, true, false},
                          {2, 313, 64, false, true, true},  {3, 7, 130, true, false, true},
                          {2, 17, 2053, true, true, true}};
    const int saved = omp_get_max_threads();
    for (const Case& c : cases) {
      const size_t n = size_t(c.N) * c.Q * c.HW;
      std::vector<float> z = kcheck::random_vec(n, 31, -6.f, 6.f), t = kcheck::random_vec(n, 32, 0.f, 1.f);
      const std::vector<float> w = kcheck::random_vec(size_t(c.N) * c.HW, 33, 0.2f, 3.f);
      if (c.sparse)  // 5 of every 313-ish bins set, the rest 0
        for (size_t i = 0; i < n; ++i) t[i] = (i * 2654435761u) % 61 < 1 ? t[i] : 0.f;
      if (c.masked)  // every 5th logit of class 1 masked, under a zero target
        for (int b = 0; b < c.N; ++b)
          for (int i = 0; i < c.HW; i += 5) {
            const size_t j = (size_t(b) * c.Q + 1 % c.Q) * c.HW + size_t(i);
            z[j] = -std::numeric_limits<float>::infinity(), t[j] = 0.f;
          }
      const float* wp = c.weighted ? w.data() : nullptr;
      std::vector<float> g_ref(n), g(n, 9.f), g1;
      const double l_ref = cpu::soft_ce_ref(c.N, c.Q, c.HW, z.data(), t.data(), wp, 0.7f, g_ref.data());
      double l1 = 0;
      for (int threads : {1, std::max(2, saved)}) {
        omp_set_num_threads(threads);
        char what[96];
        std::snprintf(what, sizeof what, "N%d Q%d HW%d%s%s%s, %d threads", c.N, c.Q, c.HW, c.weighted ? " weighted" : "",
                      c.sparse ? " sparse" : "", c.masked ? " masked" : "", threads);
        CAPTURE(what);
        std::printf("  %s\n", what);
        const double l = cpu::soft_ce(c.N, c.Q, c.HW, z.data(), t.data(), wp, 0.7f, g.data());
        const double rel = std::fabs(l - l_ref) / std::max(std::fabs(l_ref), 1e-30);
        std::printf("    loss %.10g vs ref %.10g: rel err %.3g\n", l, l_ref, rel);
        CHECK(std::isfinite(l));
        CHECK(rel <= 1e-6);
        const kcheck::Diff d = kcheck::diff(g.data(), g_ref.data(), n);
        // Relative to the gradient's scale: its largest entry, or the largest
        // k = gscale w / (N HW) where every entry is ~0 (one class).
        const double k = 0.7 * (c.weighted ? 3.0 : 1.0) / (double(c.N) * c.HW);
        CHECK(kcheck::report("    grad", d, 1e-6 * std::max(d.max_ref, k)));
        if (threads == 1)
          g1 = g, l1 = l;
        else {
          const bool same = l == l1 && std::memcmp(g.data(), g1.data(), n * sizeof(float)) == 0;
          CHECK_MESSAGE(same, "the result depends on the thread count");
        }
      }
      // No gradient wanted: the same loss.
      CHECK(cpu::soft_ce(c.N, c.Q, c.HW, z.data(), t.data(), wp, 0.7f, nullptr) == l1);
    }
    omp_set_num_threads(saved);
  });
}

// mse, l1, mse_const (loss/cpu.cpp) against their references: the gradient
// bit for bit (the same expression per element), the value to 1e-12 relative
// (summed in blocks), and independent of the thread count; sizes 1, 7, 8,
// 16385 (one past a block) and 262147, a negative upstream gradient, and
// entries where pred == target (l1's zero gradient).
TEST_CASE("fast mse, l1, mse_const match the reference") {
  const int saved = omp_get_max_threads();
  for (size_t n : {size_t(1), size_t(7), size_t(8), size_t(16385), size_t(262147)}) {
    std::vector<float> p = kcheck::random_vec(n, 41, -2.f, 2.f), t = kcheck::random_vec(n, 42, -2.f, 2.f);
    for (size_t i = 0; i < n; i += 5) t[i] = p[i];
    for (float gscale : {1.f, -0.37f})
      for (int kind = 0; kind < 3; ++kind) {
        const char* name = kind == 0 ? "mse" : kind == 1 ? "l1" : "mse_const";
        auto run = [&](bool fast, float* g) {
          if (kind == 0) return fast ? cpu::mse(n, p.data(), t.data(), gscale, g) : cpu::mse_ref(n, p.data(), t.data(), gscale, g);
          if (kind == 1) return fast ? cpu::l1(n, p.data(), t.data(), gscale, g) : cpu::l1_ref(n, p.data(), t.data(), gscale, g);
          return fast ? cpu::mse_const(n, p.data(), 0.5f, gscale, g) : cpu::mse_const_ref(n, p.data(), 0.5f, gscale, g);
        };
        std::vector<float> g_ref(n), g(n), g1;
        const double v_ref = run(false, g_ref.data());
        double v1 = 0;
        for (int threads : {1, std::max(2, saved)}) {
          omp_set_num_threads(threads);
          std::fill(g.begin(), g.end(), 9.f);
          const double v = run(true, g.data());
          size_t bad = 0, where = 0;
          for (size_t i = 0; i < n; ++i)
            if (std::memcmp(&g[i], &g_ref[i], sizeof(float)) != 0 && bad++ == 0) where = i;
          const double rel = std::fabs(v - v_ref) / std::max(std::fabs(v_ref), 1e-300);
          std::printf("  %-9s n=%-7zu gscale %5.2f, %d threads: value rel err %.3g, gradient entries differing %zu (first at %zu)\n",
                      name, n, gscale, threads, rel, bad, where);
          CHECK(rel <= 1e-12);
          CHECK(bad == 0);
          CHECK(v == run(true, nullptr));
          if (threads == 1)
            v1 = v, g1 = g;
          else
            CHECK(v == v1);
        }
      }
  }
  omp_set_num_threads(saved);
}
