// test_batchnorm_fast.cpp — the fast CPU batch norm (kernels/batchnorm/cpu.cpp)
// against the reference (batchnorm/ref.cpp) at awkward shapes: one value per
// channel, odd plane sizes below and above the accumulator lanes, a mean far
// from zero (cancellation), no gamma/beta, at one thread and at all threads.
// Every output is compared: y, the running statistics, the saved mean and
// invstd, dx, and dgamma / dbeta accumulated onto non-zero values.
#include <omp.h>

#include <cstdio>
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
