// test_batchnorm_fast.cpp — the fast CPU batch norm (kernels/batchnorm/cpu.cpp)
// against the reference (batchnorm/ref.cpp) at awkward shapes: one value per
// channel, odd plane sizes below and above the accumulator lanes, a mean far
// from zero (cancellation), no gamma/beta, at one thread and at all threads.
// Every output is compared: y, the running statistics, the saved mean and
// invstd, dx, and dgamma / dbeta accumulated onto non-zero values. The fused
// batch norm + ReLU / leaky ReLU is checked against its reference and, bit for
// bit, against the unfused fast path.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

bool close(const char* what, const std::vector<float>& got, const std::vector<float>& ref, double rtol) {
  const kcheck::Diff d = kcheck::diff(got.data(), ref.data(), got.size());
  return kcheck::report(what, d, rtol * (1 + d.max_ref));
}

}  // namespace

TEST_CASE("fast batch norm matches the reference") {
  struct Case { int N, C, HW; float offset; bool affine; };
  const Case cases[] = {{1, 3, 1, 0, true},  {3, 5, 7, 0, true},   {2, 4, 65, 100, true},
                        {8, 16, 1024, 0, true}, {1, 2, 9, -3, false}, {5, 3, 17, 1000, true}};
  const int saved = omp_get_max_threads();
  for (int threads : {1, std::max(2, saved)}) {
    omp_set_num_threads(threads);
    for (const Case& c : cases) {
      char what[80];
      std::snprintf(what, sizeof what, "N%d C%d HW%d offset %g%s, %d threads", c.N, c.C, c.HW, c.offset,
                    c.affine ? "" : " no affine", threads);
      CAPTURE(what);
      std::printf("  %s\n", what);
      const size_t n = size_t(c.N) * c.C * c.HW;
      std::vector<float> x = kcheck::random_vec(n, 1, -2.f, 2.f), dy = kcheck::random_vec(n, 2);
      for (auto& v : x) v += c.offset;
      const std::vector<float> gamma = kcheck::random_vec(c.C, 3, 0.5f, 1.5f), beta = kcheck::random_vec(c.C, 4);
      const float* g = c.affine ? gamma.data() : nullptr;
      const float* b = c.affine ? beta.data() : nullptr;
      const std::vector<float> rm0 = kcheck::random_vec(c.C, 5), rv0 = kcheck::random_vec(c.C, 6, 0.5f, 2.f);
      // Training forward.
      std::vector<float> y_ref(n), y(n), rm_ref = rm0, rv_ref = rv0, rm = rm0, rv = rv0;
      std::vector<float> sm_ref(c.C), si_ref(c.C), sm(c.C), si(c.C);
      cpu::batchnorm_fwd_train_ref(c.N, c.C, c.HW, x.data(), g, b, 1e-5f, 0.1f, rm_ref.data(), rv_ref.data(),
                                   y_ref.data(), sm_ref.data(), si_ref.data());
      cpu::batchnorm_fwd_train(c.N, c.C, c.HW, x.data(), g, b, 1e-5f, 0.1f, rm.data(), rv.data(), y.data(),
                               sm.data(), si.data());
      CHECK(close("  train y", y, y_ref, 1e-5));
      CHECK(close("  running mean", rm, rm_ref, 1e-6));
      CHECK(close("  running var", rv, rv_ref, 1e-6));
      CHECK(close("  saved mean", sm, sm_ref, 1e-6));
      CHECK(close("  saved invstd", si, si_ref, 1e-6));
      // Training backward, from the reference's saved statistics.
      std::vector<float> dx_ref(n), dx(n, 7.f), dg_ref(c.C, 0.5f), db_ref(c.C, -0.5f), dg = dg_ref, db = db_ref;
      cpu::batchnorm_bwd_train_ref(c.N, c.C, c.HW, x.data(), dy.data(), g, sm_ref.data(), si_ref.data(),
                                   dx_ref.data(), dg_ref.data(), db_ref.data());
      cpu::batchnorm_bwd_train(c.N, c.C, c.HW, x.data(), dy.data(), g, sm_ref.data(), si_ref.data(), dx.data(),
                               dg.data(), db.data());
      CHECK(close("  train dx", dx, dx_ref, 1e-4));
      CHECK(close("  dgamma", dg, dg_ref, 1e-5));
      CHECK(close("  dbeta", db, db_ref, 1e-5));
      // Eval forward.
      std::vector<float> ye_ref(n), ye(n);
      cpu::batchnorm_fwd_eval_ref(c.N, c.C, c.HW, x.data(), g, b, rm0.data(), rv0.data(), 1e-5f, ye_ref.data());
      cpu::batchnorm_fwd_eval(c.N, c.C, c.HW, x.data(), g, b, rm0.data(), rv0.data(), 1e-5f, ye.data());
      CHECK(close("  eval y", ye, ye_ref, 1e-5));
    }
  }
  omp_set_num_threads(saved);
}

namespace {

// Bitwise equality, printing how many differ, the worst and where.
bool same_bits(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  size_t bad = 0, where = 0;
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      const double d = std::fabs(double(got[i]) - want[i]);
      if (bad++ == 0 || d > worst || std::isnan(d)) worst = d, where = i;
    }
  std::printf("  %-44s n=%-8zu differing %zu, worst %.3g at %zu\n", what, want.size(), bad, worst, where);
  return bad == 0;
}

}  // namespace

// The fused batch norm + ReLU / leaky ReLU of the CPU's training step
// (batchnorm_act_*): against its reference (to the fast batch norm's float
// rounding), and bit for bit against the unfused fast path it replaces
// (batchnorm_fwd_train then act_fwd; act_bwd then batchnorm_bwd_train).
TEST_CASE("fused batch norm + activation matches the reference and the unfused fast path") {
  struct Case { int N, C, HW; float offset; bool affine; };
  const Case cases[] = {{1, 3, 1, 0, true},     {3, 5, 7, 0, true},  {2, 4, 65, 100, true}, {7, 3, 33, 0, true},
                        {8, 16, 1024, 0, true}, {1, 2, 9, -3, false}, {5, 1, 17, 1000, true}};
  const int saved = omp_get_max_threads();
  for (int threads : {1, std::max(2, saved)}) {
    omp_set_num_threads(threads);
    for (const Case& c : cases)
      for (Act act : {Act::Relu, Act::LeakyRelu}) {
        const float slope = act == Act::Relu ? 0.f : 0.2f;
        char what[96];
        std::snprintf(what, sizeof what, "%s N%d C%d HW%d offset %g%s, %d threads",
                      act == Act::Relu ? "relu" : "leaky 0.2", c.N, c.C, c.HW, c.offset,
                      c.affine ? "" : " no affine", threads);
        CAPTURE(what);
        std::printf("  %s\n", what);
        const size_t n = size_t(c.N) * c.C * c.HW;
        std::vector<float> x = kcheck::random_vec(n, 11, -2.f, 2.f), dy = kcheck::random_vec(n, 12);
        for (auto& v : x) v += c.offset;
        // beta shifts some channels so that a good share of z is negative.
        const std::vector<float> gamma = kcheck::random_vec(c.C, 13, 0.5f, 1.5f), beta = kcheck::random_vec(c.C, 14);
        const float* g = c.affine ? gamma.data() : nullptr;
        const float* b = c.affine ? beta.data() : nullptr;
        const std::vector<float> rm0 = kcheck::random_vec(c.C, 15), rv0 = kcheck::random_vec(c.C, 16, 0.5f, 2.f);

        // Forward: reference, fused fast, unfused fast.
        std::vector<float> y_ref(n), y(n), z(n), y_unf(n), rm_ref = rm0, rv_ref = rv0, rm = rm0, rv = rv0;
        std::vector<float> rm_u = rm0, rv_u = rv0, sm_ref(c.C), si_ref(c.C), sm(c.C), si(c.C), sm_u(c.C),
                           si_u(c.C);
        cpu::batchnorm_act_fwd_train_ref(act, slope, c.N, c.C, c.HW, x.data(), g, b, 1e-5f, 0.1f, rm_ref.data(),
                                         rv_ref.data(), y_ref.data(), sm_ref.data(), si_ref.data());
        cpu::batchnorm_act_fwd_train(act, slope, c.N, c.C, c.HW, x.data(), g, b, 1e-5f, 0.1f, rm.data(), rv.data(),
                                     y.data(), sm.data(), si.data());
        cpu::batchnorm_fwd_train(c.N, c.C, c.HW, x.data(), g, b, 1e-5f, 0.1f, rm_u.data(), rv_u.data(), z.data(),
                                 sm_u.data(), si_u.data());
        cpu::act_fwd(act, slope, n, z.data(), y_unf.data());
        CHECK(close("  fused y vs ref", y, y_ref, 1e-5));
        CHECK(close("  running mean vs ref", rm, rm_ref, 1e-6));
        CHECK(close("  running var vs ref", rv, rv_ref, 1e-6));
        CHECK(close("  saved mean vs ref", sm, sm_ref, 1e-6));
        CHECK(close("  saved invstd vs ref", si, si_ref, 1e-6));
        CHECK(same_bits("  fused y == unfused fast", y, y_unf));
        CHECK(same_bits("  saved invstd == unfused fast", si, si_u));

        // Backward against the reference, both from the reference's y and statistics.
        std::vector<float> dx_ref(n), dx(n, 7.f), dg_ref(c.C, 0.5f), db_ref(c.C, -0.5f), dg = dg_ref, db = db_ref;
        cpu::batchnorm_act_bwd_train_ref(act, slope, c.N, c.C, c.HW, x.data(), y_ref.data(), dy.data(), g,
                                         sm_ref.data(), si_ref.data(), dx_ref.data(), dg_ref.data(), db_ref.data());
        cpu::batchnorm_act_bwd_train(act, slope, c.N, c.C, c.HW, x.data(), y_ref.data(), dy.data(), g,
                                     sm_ref.data(), si_ref.data(), dx.data(), dg.data(), db.data());
        CHECK(close("  fused dx vs ref", dx, dx_ref, 1e-4));
        CHECK(close("  dgamma vs ref", dg, dg_ref, 1e-5));
        CHECK(close("  dbeta vs ref", db, db_ref, 1e-5));

        // Backward against the unfused fast path, from the fast forward.
        std::vector<float> dz(n), dx_u(n), dg_f(c.C, 0.5f), db_f(c.C, -0.5f), dg_u = dg_f, db_u = db_f;
        cpu::batchnorm_act_bwd_train(act, slope, c.N, c.C, c.HW, x.data(), y.data(), dy.data(), g, sm.data(),
                                     si.data(), dx.data(), dg_f.data(), db_f.data());
        cpu::act_bwd(act, slope, n, z.data(), y_unf.data(), dy.data(), dz.data());
        cpu::batchnorm_bwd_train(c.N, c.C, c.HW, x.data(), dz.data(), g, sm.data(), si.data(), dx_u.data(),
                                 dg_u.data(), db_u.data());
        CHECK(same_bits("  fused dx == unfused fast", dx, dx_u));
        CHECK(same_bits("  fused dgamma == unfused fast", dg_f, dg_u));
        CHECK(same_bits("  fused dbeta == unfused fast", db_f, db_u));
      }
  }
  omp_set_num_threads(saved);
}

namespace {

// Every output of the fast batch norm for one case, from one kernel set.
struct BnOut {
  std::vector<float> y, rm, rv, sm, si, dx, dg, db, ye;
};

// kind: 0 the plain batch norm, 1 + ReLU, 2 + leaky ReLU (slope 0.2).
BnOut run_fast(int kind, int N, int C, int HW, const std::vector<float>& x, const std::vector<float>& dy,
               const float* g, const float* b, const std::vector<float>& rm0, const std::vector<float>& rv0) {
  const size_t n = size_t(N) * C * HW;
  BnOut o{std::vector<float>(n), rm0, rv0, std::vector<float>(C), std::vector<float>(C), std::vector<float>(n, 7.f),
          std::vector<float>(C, 0.5f), std::vector<float>(C, -0.5f), std::vector<float>(n)};
  const Act act = kind == 1 ? Act::Relu : Act::LeakyRelu;
  const float slope = kind == 2 ? 0.2f : 0.f;
  if (kind == 0) {
    cpu::batchnorm_fwd_train(N, C, HW, x.data(), g, b, 1e-5f, 0.1f, o.rm.data(), o.rv.data(), o.y.data(),
                             o.sm.data(), o.si.data());
    cpu::batchnorm_bwd_train(N, C, HW, x.data(), dy.data(), g, o.sm.data(), o.si.data(), o.dx.data(), o.dg.data(),
                             o.db.data());
  } else {
    cpu::batchnorm_act_fwd_train(act, slope, N, C, HW, x.data(), g, b, 1e-5f, 0.1f, o.rm.data(), o.rv.data(),
                                 o.y.data(), o.sm.data(), o.si.data());
    cpu::batchnorm_act_bwd_train(act, slope, N, C, HW, x.data(), o.y.data(), dy.data(), g, o.sm.data(),
                                 o.si.data(), o.dx.data(), o.dg.data(), o.db.data());
  }
  cpu::batchnorm_fwd_eval(N, C, HW, x.data(), g, b, rm0.data(), rv0.data(), 1e-5f, o.ye.data());
  return o;
}

bool same_outputs(const char* what, const BnOut& a, const BnOut& b) {
  char w[256];
  bool ok = true;
  const std::pair<const char*, const std::vector<float> BnOut::*> fields[] = {
      {"y", &BnOut::y},   {"running mean", &BnOut::rm}, {"running var", &BnOut::rv}, {"saved mean", &BnOut::sm},
      {"saved invstd", &BnOut::si}, {"dx", &BnOut::dx}, {"dgamma", &BnOut::dg},   {"dbeta", &BnOut::db},
      {"eval y", &BnOut::ye}};
  for (const auto& [name, f] : fields) {
    std::snprintf(w, sizeof w, "%s %s", what, name);
    ok &= same_bits(w, a.*f, b.*f);
  }
  return ok;
}

}  // namespace

// The kernel sets' batch norms (batchnorm/cpu_avx512.cpp where the AVX-512 set
// runs, the portable loops otherwise) compute the same bits, at one thread and
// at two, at shapes around the 8 double lanes and the 16 float lanes (tails
// only, one element, 1000), one channel and five, a mean far from zero; and
// they match the reference (batchnorm/ref.cpp) to float rounding.
TEST_CASE("batch norm: every kernel set gives the portable path's bits") {
  const int saved = omp_get_max_threads();
  const cpu::CpuKernels saved_set = cpu::cpu_kernels();
  int checked = 0;
  for (int HW : {1, 3, 7, 17, 63, 65, 1000})
    for (int N : {1, 2, 3})
      for (int C : {1, 5})
        for (float offset : {0.f, 1000.f})
          for (int kind : {0, 1, 2}) {
            char what[96];
            std::snprintf(what, sizeof what, "%s N%d C%d HW%d offset %g",
                          kind == 0 ? "bn" : kind == 1 ? "bn+relu" : "bn+leaky", N, C, HW, offset);
            CAPTURE(what);
            const size_t n = size_t(N) * C * HW;
            std::vector<float> x = kcheck::random_vec(n, 21 + HW, -2.f, 2.f), dy = kcheck::random_vec(n, 22 + N);
            for (auto& v : x) v += offset;
            const std::vector<float> gamma = kcheck::random_vec(C, 23, 0.5f, 1.5f), beta = kcheck::random_vec(C, 24);
            const std::vector<float> rm0 = kcheck::random_vec(C, 25), rv0 = kcheck::random_vec(C, 26, 0.5f, 2.f);
            const bool affine = (HW + N) % 4 != 0;  // some cases without gamma / beta
            const float* g = affine ? gamma.data() : nullptr;
            const float* b = affine ? beta.data() : nullptr;

            cpu::set_cpu_kernels(cpu::CpuKernels::Generic);
            omp_set_num_threads(1);
            const BnOut want = run_fast(kind, N, C, HW, x, dy, g, b, rm0, rv0);
            // The portable path against the reference.
            {
              std::vector<float> y(n), rm = rm0, rv = rv0, sm(C), si(C), dx(n), dg(C, 0.5f), db(C, -0.5f);
              const Act act = kind == 1 ? Act::Relu : Act::LeakyRelu;
              const float slope = kind == 2 ? 0.2f : 0.f;
              if (kind == 0) {
                cpu::batchnorm_fwd_train_ref(N, C, HW, x.data(), g, b, 1e-5f, 0.1f, rm.data(), rv.data(), y.data(),
                                             sm.data(), si.data());
                cpu::batchnorm_bwd_train_ref(N, C, HW, x.data(), dy.data(), g, want.sm.data(), want.si.data(),
                                             dx.data(), dg.data(), db.data());
              } else {
                cpu::batchnorm_act_fwd_train_ref(act, slope, N, C, HW, x.data(), g, b, 1e-5f, 0.1f, rm.data(),
                                                 rv.data(), y.data(), sm.data(), si.data());
                cpu::batchnorm_act_bwd_train_ref(act, slope, N, C, HW, x.data(), want.y.data(), dy.data(), g,
                                                 want.sm.data(), want.si.data(), dx.data(), dg.data(), db.data());
              }
              CHECK(close("  y vs ref", want.y, y, 1e-5));
              CHECK(close("  saved mean vs ref", want.sm, sm, 1e-6));
              CHECK(close("  saved invstd vs ref", want.si, si, 1e-6));
              CHECK(close("  running var vs ref", want.rv, rv, 1e-6));
              CHECK(close("  dx vs ref", want.dx, dx, 1e-4));
              CHECK(close("  dgamma vs ref", want.dg, dg, 1e-5));
              CHECK(close("  dbeta vs ref", want.db, db, 1e-5));
            }
            for (auto set : {cpu::CpuKernels::Avx512, cpu::CpuKernels::Avx2, cpu::CpuKernels::Generic}) {
              if (!cpu::cpu_kernels_supported(set)) continue;
              cpu::set_cpu_kernels(set);
              for (int threads : {1, 2}) {
                omp_set_num_threads(threads);
                char w[200];
                std::snprintf(w, sizeof w, "  %s, %s, %d thr ==", what, cpu::cpu_kernels_name(set), threads);
                CAPTURE(w);
                CHECK(same_outputs(w, run_fast(kind, N, C, HW, x, dy, g, b, rm0, rv0), want));
                ++checked;
              }
            }
          }
  cpu::set_cpu_kernels(saved_set);
  omp_set_num_threads(saved);
  std::printf("batch norm kernel sets: %d runs compared bit for bit with the portable path at one thread\n",
              checked);
}
