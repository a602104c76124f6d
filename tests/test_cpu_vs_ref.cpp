// test_cpu_vs_ref.cpp — the fast CPU paths that thread a reference's loops
// (kernels/<family>/cpu.cpp of activation, bias, concat, elementwise,
// upsample, optim, pool (backward), batchnorm (eval backward)) against that
// reference (ref.cpp) at awkward shapes, at one and at several threads. They
// compute the same operations per element, so they must be BIT-identical:
// each case prints its worst difference and where, and fails on any. (GEMM,
// convolution, batch-norm training, pooling forward and the soft-target
// cross-entropy, whose fast paths are different algorithms, have their own
// tests: test_gemm, test_conv_*, test_batchnorm_fast, test_conv_fused,
// test_loss_fast.)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;
using Vec = std::vector<float>;

namespace {

Vec rand_vec(size_t n, uint64_t seed, float lo = -2.0f, float hi = 2.0f) {
  Vec v(n);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = float(lo + (hi - lo) * (double(s >> 11) * (1.0 / 9007199254740992.0)));
  }
  return v;
}

// Bitwise equality, printing the worst difference and where.
void check_same(const char* what, const Vec& fast, const Vec& ref) {
  REQUIRE(fast.size() == ref.size());
  size_t bad = 0, where = 0;
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); ++i)
    if (std::memcmp(&fast[i], &ref[i], sizeof(float)) != 0) {
      const double d = std::fabs(double(fast[i]) - ref[i]);
      if (bad++ == 0 || d > worst || std::isnan(d)) worst = d, where = i;
    }
  std::printf("  %-28s n=%-8zu differing %zu, worst %.3g at %zu\n", what, ref.size(), bad, worst, where);
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " values differ, worst " << worst << " at " << where);
}

}  // namespace

TEST_CASE("elementwise and activations: cpu == ref") {
  at_thread_counts([](int) {
    for (size_t n : {size_t(1), size_t(7), size_t(1000003)}) {
      const Vec a = rand_vec(n, 1), b = rand_vec(n, 2);
      Vec y1(n), y2(n);
      cpu::add(n, a.data(), b.data(), y1.data());
      cpu::add_ref(n, a.data(), b.data(), y2.data());
      check_same("add", y1, y2);
      cpu::mul(n, a.data(), b.data(), y1.data());
      cpu::mul_ref(n, a.data(), b.data(), y2.data());
      check_same("mul", y1, y2);
      cpu::scale(n, 0.37f, a.data(), y1.data());
      cpu::scale_ref(n, 0.37f, a.data(), y2.data());
      check_same("scale", y1, y2);
      y1 = b, y2 = b;
      cpu::axpy(n, -1.3f, a.data(), y1.data());
      cpu::axpy_ref(n, -1.3f, a.data(), y2.data());
      check_same("axpy", y1, y2);
      cpu::fill(n, 2.5f, y1.data());
      cpu::fill_ref(n, 2.5f, y2.data());
      check_same("fill", y1, y2);
      for (Act act : {Act::Relu, Act::LeakyRelu, Act::Tanh, Act::Sigmoid}) {
        const std::string name = "act " + std::to_string(int(act));
        cpu::act_fwd(act, 0.2f, n, a.data(), y1.data());
        cpu::act_fwd_ref(act, 0.2f, n, a.data(), y2.data());
        check_same((name + " fwd").c_str(), y1, y2);
        Vec d1(n), d2(n);
        cpu::act_bwd(act, 0.2f, n, a.data(), y2.data(), b.data(), d1.data());
        cpu::act_bwd_ref(act, 0.2f, n, a.data(), y2.data(), b.data(), d2.data());
        check_same((name + " bwd").c_str(), d1, d2);
      }
    }
  });
}

TEST_CASE("bias, concat, upsample, pooling backward: cpu == ref") {
  at_thread_counts([](int) {
    const int N = 3, C = 5, H = 7, W = 9, HW = H * W;
    const Vec x = rand_vec(size_t(N) * C * HW, 3), b = rand_vec(C, 4);
    Vec y1 = x, y2 = x;
    cpu::bias_add(N, C, HW, b.data(), y1.data());
    cpu::bias_add_ref(N, C, HW, b.data(), y2.data());
    check_same("bias_add", y1, y2);
    Vec db1 = b, db2 = b;
    cpu::bias_grad(N, C, HW, x.data(), db1.data());
    cpu::bias_grad_ref(N, C, HW, x.data(), db2.data());
    check_same("bias_grad", db1, db2);

    const int Cdst = 11, c0 = 4;
    Vec d1 = rand_vec(size_t(N) * Cdst * HW, 5), d2 = d1;
    cpu::channel_copy(N, HW, C, x.data(), Cdst, c0, d1.data());
    cpu::channel_copy_ref(N, HW, C, x.data(), Cdst, c0, d2.data());
    check_same("channel_copy", d1, d2);
    Vec s1 = x, s2 = x;
    cpu::channel_slice_add(N, HW, Cdst, d1.data(), 3, C, s1.data());
    cpu::channel_slice_add_ref(N, HW, Cdst, d1.data(), 3, C, s2.data());
    check_same("channel_slice_add", s1, s2);

    for (Upsample mode : {Upsample::Nearest, Upsample::Bilinear})
      for (int Ho : {5, 14, 17}) {
        const int Wo = Ho + 4;
        const std::string name = std::string(mode == Upsample::Nearest ? "nearest " : "bilinear ") +
                                 std::to_string(Ho) + "x" + std::to_string(Wo);
        Vec u1(size_t(N) * C * Ho * Wo), u2(u1.size());
        cpu::upsample_fwd(mode, N, C, H, W, Ho, Wo, x.data(), u1.data());
        cpu::upsample_fwd_ref(mode, N, C, H, W, Ho, Wo, x.data(), u2.data());
        check_same(("upsample fwd " + name).c_str(), u1, u2);
        Vec g1(x.size()), g2(x.size());
        cpu::upsample_bwd(mode, N, C, H, W, Ho, Wo, u2.data(), g1.data());
        cpu::upsample_bwd_ref(mode, N, C, H, W, Ho, Wo, u2.data(), g2.data());
        check_same(("upsample bwd " + name).c_str(), g1, g2);
      }

    Pool2dParams p;
    p.N = N, p.C = C, p.H = H, p.W = W, p.kh = p.kw = 3, p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1;
    REQUIRE(p.finalize());
    Vec py(size_t(N) * C * p.P * p.Q);
    std::vector<int32_t> arg(py.size());
    cpu::maxpool2d_fwd_ref(p, x.data(), py.data(), arg.data());
    const Vec dy = rand_vec(py.size(), 6);
    Vec g1(x.size()), g2(x.size());
    cpu::maxpool2d_bwd(p, dy.data(), arg.data(), g1.data());
    cpu::maxpool2d_bwd_ref(p, dy.data(), arg.data(), g2.data());
    check_same("maxpool2d_bwd 3x3/2 pad 1", g1, g2);
  });
}

TEST_CASE("batch-norm eval backward, optimizers: cpu == ref") {
  at_thread_counts([](int) {
    const int N = 3, C = 5, HW = 37;
    const size_t n = size_t(N) * C * HW;
    const Vec x = rand_vec(n, 7), dy = rand_vec(n, 8), g = rand_vec(C, 9), rm = rand_vec(C, 10);
    const Vec rv = rand_vec(C, 11, 0.1f, 2.0f);
    Vec dx1(n), dx2(n), dg1 = g, dg2 = g, db1 = rm, db2 = rm;
    cpu::batchnorm_bwd_eval(N, C, HW, x.data(), dy.data(), g.data(), rm.data(), rv.data(), 1e-5f, dx1.data(),
                            dg1.data(), db1.data());
    cpu::batchnorm_bwd_eval_ref(N, C, HW, x.data(), dy.data(), g.data(), rm.data(), rv.data(), 1e-5f, dx2.data(),
                                dg2.data(), db2.data());
    check_same("batchnorm_bwd_eval dx", dx1, dx2);
    check_same("batchnorm_bwd_eval dgamma", dg1, dg2);
    check_same("batchnorm_bwd_eval dbeta", db1, db2);

    const size_t m = 100003;
    const Vec gr = rand_vec(m, 15);
    Vec w1 = rand_vec(m, 16), w2 = w1, m1 = rand_vec(m, 17), m2 = m1, v1 = rand_vec(m, 18, 0.0f, 1.0f), v2 = v1;
    cpu::adam_step(m, w1.data(), gr.data(), m1.data(), v1.data(), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 7);
    cpu::adam_step_ref(m, w2.data(), gr.data(), m2.data(), v2.data(), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 7);
    check_same("adam_step w", w1, w2);
    check_same("adam_step v", v1, v2);
    cpu::sgd_step(m, w1.data(), gr.data(), m1.data(), 0.1f, 0.9f, 1e-4f, true, false);
    cpu::sgd_step_ref(m, w2.data(), gr.data(), m2.data(), 0.1f, 0.9f, 1e-4f, true, false);
    check_same("sgd_step w", w1, w2);
    check_same("sgd_step momentum", m1, m2);
  });
}

// Adam over many tensors in one call (the engine's CPU step), on every kernel
// set (avx512: the AVX-512 double loop; else the reference's), against
// adam_step_ref per tensor: sizes 1, 7, 8, 17 and 100003 (SIMD bodies and
// tails, tensors split between threads), Adam and AdamW, with and without
// weight decay, step counts 1 and 7 side by side.
TEST_CASE("adam_step_many == adam_step_ref per tensor") {
  for_each_kernel_set([] {
    at_thread_counts([](int) {
      const size_t sizes[] = {1, 7, 100003, 8, 17, 3};
      for (bool decoupled : {false, true}) {
        std::vector<Vec> w(6), g(6), m(6), v(6);
        std::vector<cpu::AdamTensor> ts;
        for (size_t j = 0; j < 6; ++j) {
          const size_t n = sizes[j];
          w[j] = rand_vec(n, 40 + j), g[j] = rand_vec(n, 50 + j, -1e-2f, 1e-2f);
          m[j] = rand_vec(n, 60 + j, -1e-3f, 1e-3f), v[j] = rand_vec(n, 70 + j, 0.0f, 1e-4f);
          if (j == 3) g[j][5] = 0.0f, v[j][5] = 0.0f;  // a weight that does not move
          ts.push_back({w[j].data(), g[j].data(), m[j].data(), v[j].data(), n, j % 2 ? 0.0f : 0.05f,
                        int64_t(j % 3 ? 7 : 1)});
        }
        std::vector<Vec> w2 = w, m2 = m, v2 = v;
        cpu::adam_step_many(ts.data(), ts.size(), 2e-3f, 0.5f, 0.999f, 1e-8f, decoupled);
        for (size_t j = 0; j < 6; ++j) {
          cpu::adam_step_ref(sizes[j], w2[j].data(), g[j].data(), m2[j].data(), v2[j].data(), 2e-3f, 0.5f, 0.999f,
                             1e-8f, ts[j].weight_decay, decoupled, ts[j].step);
          const std::string name = std::string(decoupled ? "adamw" : "adam") + " n=" + std::to_string(sizes[j]);
          check_same((name + " w").c_str(), w[j], w2[j]);
          check_same((name + " m").c_str(), m[j], m2[j]);
          check_same((name + " v").c_str(), v[j], v2[j]);
        }
      }
    });
  });
}
