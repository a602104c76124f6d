// test_gemm.cpp — the fast sgemm (kernels/gemm/cpu.cpp) against sgemm_ref,
// on every CPU kernel set this processor runs (avx512, avx2, generic: at
// least avx2 and generic on any x86-64 CI machine).
//
// Every transpose combination at sizes that are not multiples of any register
// tile (6x16, 14x32), sizes that cross every set's KC / MC / NC cache blocks,
// padded leading dimensions (the padding must stay untouched), beta == 0 on a
// C full of NaN (C must not be read), each way of splitting a product over
// threads, and thread-count independence.
#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

// Per sqrt(K), relative to 1 + max|C|. Observed errors are below 1e-7 on this
// scale, so a single wrong or missing product term is far above it.
constexpr double kRtol = 2e-6;
constexpr float kSentinel = 12345.0f;

struct GemmCase {
  bool ta, tb;
  int M, N, K;
  int pad;  // extra columns in every leading dimension
  float alpha, beta;
};

// Runs one case through sgemm and sgemm_ref and compares the M x N results.
// Returns true when within tolerance and the padding of C is untouched.
bool run_case(const GemmCase& c, uint32_t seed) {
  const int a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  const auto A = kcheck::random_vec((size_t)a_rows * lda, seed);
  const auto B = kcheck::random_vec((size_t)b_rows * ldb, seed + 1);

  // C: the M x N part is random (beta != 0) or NaN (beta == 0: must not be read);
  // the padding columns hold a sentinel that must survive.
  auto C0 = kcheck::random_vec((size_t)c.M * ldc, seed + 2);
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < ldc; ++j) {
      float& v = C0[(size_t)i * ldc + j];
      if (j >= c.N) v = kSentinel;
      else if (c.beta == 0.0f) v = std::numeric_limits<float>::quiet_NaN();
    }
  std::vector<float> C_ref = C0, C_fast = C0;
  cpu::sgemm_ref(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
                 C_ref.data(), ldc);
  cpu::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
             C_fast.data(), ldc);

  std::vector<float> got, ref;
  bool padding_ok = true;
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < ldc; ++j) {
      const size_t at = (size_t)i * ldc + j;
      if (j < c.N) {
        got.push_back(C_fast[at]);
        ref.push_back(C_ref[at]);
      } else if (C_fast[at] != kSentinel) {
        padding_ok = false;
      }
    }
  const auto d = kcheck::diff(got.data(), ref.data(), got.size());
  char name[160];
  std::snprintf(name, sizeof name, "%c%c M=%d N=%d K=%d pad=%d a=%g b=%g", c.ta ? 'T' : 'N',
                c.tb ? 'T' : 'N', c.M, c.N, c.K, c.pad, c.alpha, c.beta);
  const bool ok = kcheck::report(name, d, kcheck::tolerance(kRtol, c.K, d));
  if (!padding_ok) std::printf("  %s: the padding of C was written\n", name);
  return ok && padding_ok;
}


}  // namespace

TEST_CASE("the CPU kernel set: generic always, avx2 on any x86-64 with AVX2, switchable") {
  CHECK(cpu::cpu_kernels_supported(cpu::CpuKernels::Generic));
  CHECK(cpu::cpu_kernels_supported(cpu::cpu_kernels()));
#if defined(__x86_64__)
  __builtin_cpu_init();
  CHECK(cpu::cpu_kernels_supported(cpu::CpuKernels::Avx2) ==
        (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")));
  CHECK(cpu::cpu_kernels_supported(cpu::CpuKernels::Avx512) == (bool)__builtin_cpu_supports("avx512f"));
#endif
  std::printf("in use: %s\n", cpu::cpu_kernels_name(cpu::cpu_kernels()));
  const cpu::CpuKernels saved = cpu::cpu_kernels();
  cpu::set_cpu_kernels(cpu::CpuKernels::Generic);
  CHECK(cpu::cpu_kernels() == cpu::CpuKernels::Generic);
  cpu::set_cpu_kernels(saved);
  for (auto k : {cpu::CpuKernels::Avx512, cpu::CpuKernels::Avx2})
    if (!cpu::cpu_kernels_supported(k)) CHECK_THROWS_AS(cpu::set_cpu_kernels(k), std::invalid_argument);
}

TEST_CASE("TINCT_CPU_KERNELS forces a set; a bad name is refused at start-up") {
  const char* bin = std::getenv("TINCT_BIN");  // set by ctest (tests/CMakeLists.txt)
  if (!bin || !*bin || access(bin, X_OK) != 0) {
    MESSAGE("TINCT_BIN not set or not built: the start-up check of TINCT_CPU_KERNELS is not run");
    return;
  }
  auto run = [&](const std::string& env, std::string* out) {
    const std::string cmd = "TINCT_CPU_KERNELS=" + env + " '" + bin + "' --version 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    REQUIRE(f);
    char buf[512];
    out->clear();
    while (std::fgets(buf, sizeof buf, f)) *out += buf;
    const int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string out;
  CHECK(run("generic", &out) == 0);
  CHECK(out.find("cpu kernels: generic") != std::string::npos);
  CHECK(run("bogus", &out) == 2);
  CHECK(out.find("not a kernel set") != std::string::npos);
  if (!cpu::cpu_kernels_supported(cpu::CpuKernels::Avx512)) {
    CHECK(run("avx512", &out) == 2);  // refused, not run into SIGILL
  } else {
    CHECK(run("avx512", &out) == 0);
    CHECK(out.find("cpu kernels: avx512") != std::string::npos);
  }
}

TEST_CASE("sgemm matches sgemm_ref: every transpose, awkward sizes, alpha and beta") {
  struct Size { int M, N, K, pad; };
  const Size sizes[] = {{1, 1, 1, 0}, {7, 13, 5, 0}, {7, 13, 5, 3}, {65, 33, 129, 0},
                        {127, 255, 63, 5}, {1, 37, 300, 1}, {37, 1, 300, 2},
                        {15, 31, 17, 0}, {29, 47, 193, 1}, {14, 32, 1, 0}};
  const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 0.5f}, {-2.0f, 0.0f}, {-2.0f, 1.0f}};
  for_each_kernel_set([&] {
    uint32_t seed = 1;
    for (int t = 0; t < 4; ++t)
      for (const auto& s : sizes)
        for (const auto& albe : ab) {
          const GemmCase c{(t & 1) != 0, (t & 2) != 0, s.M, s.N, s.K, s.pad, albe[0], albe[1]};
          CHECK(run_case(c, seed += 7));
        }
  });
}

TEST_CASE("sgemm: every row count of an edge tile (M = 1 .. 29 covers 14-row and 6-row tiles twice)") {
  // The micro-kernels compute only an edge tile's own rows (tile<M>), so
  // each M mod MR is a kernel of its own.
  for_each_kernel_set([&] {
    uint32_t seed = 500;
    for (int M = 1; M <= 29; ++M)
      for (int t = 0; t < 4; ++t) {
        const GemmCase c{(t & 1) != 0, (t & 2) != 0, M, 37 + M % 3, 19, t % 2, 1.0f, t >= 2 ? 0.5f : 0.0f};
        CHECK(run_case(c, seed += 7));
      }
  });
}

TEST_CASE("sgemm crosses the KC, MC and NC cache blocks") {
  // avx2 / generic: KC = 256, MC = 144, NC = 4080; avx512: KC = 384,
  // MC = 336, NC = 4096 (gemm_*.cpp): these sizes straddle each.
  const GemmCase cases[] = {
      {false, false, 13, 4100, 300, 0, 1.0f, 0.0f},  // two NC blocks, two KC slices
      {true, true, 13, 4100, 300, 2, 0.5f, 1.0f},
      {false, true, 300, 40, 520, 1, 1.0f, 0.5f},    // three MC blocks (avx2), three KC slices
      {true, false, 289, 70, 257, 0, -1.0f, 0.0f},
      {false, true, 350, 45, 800, 3, 1.0f, 1.0f},    // two MC blocks, three KC slices (avx512)
      {true, false, 677, 33, 385, 0, 2.0f, 0.0f},    // three MC blocks, two KC slices (avx512)
      {true, true, 20, 4097, 390, 1, 1.0f, 0.5f},    // two NC blocks, two KC slices (avx512)
  };
  for_each_kernel_set([&] {
    uint32_t seed = 1000;
    for (const auto& c : cases) CHECK(run_case(c, seed += 7));
  });
}

TEST_CASE("sgemm gives the same bits at every thread count") {
  const int M = 200, N = 300, K = 400;
  const auto A = kcheck::random_vec((size_t)M * K, 5), B = kcheck::random_vec((size_t)K * N, 6);
  const int saved = omp_get_max_threads();
  for_each_kernel_set([&] {
    std::vector<float> C1(M * N), C2(M * N), C3(M * N);
    omp_set_num_threads(1);
    cpu::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C1.data(), N);
    omp_set_num_threads(std::max(2, saved));
    cpu::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C2.data(), N);
    cpu::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C3.data(), N);
    omp_set_num_threads(saved);
    CHECK(std::memcmp(C1.data(), C2.data(), C1.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(C2.data(), C3.data(), C2.size() * sizeof(float)) == 0);
  });
}

TEST_CASE("sgemm on several threads: rows and columns of C split, against the reference and 1 thread") {
  // gemm/cpu.cpp's gemm_driver cuts C into one sub-product per thread: bands
  // of rows (whole MR tiles) when M >= N, of columns (whole NR panels)
  // otherwise. Each must match the reference and give the 1-thread bits,
  // including splits that leave a thread an edge tile or several MC / NC blocks.
  const GemmCase cases[] = {
      {false, false, 300, 500, 800, 0, 1.0f, 0.0f},   // columns, three KC slices (avx512)
      {true, true, 97, 61, 450, 3, -1.0f, 0.5f},      // rows, odd sizes, transposes
      {false, true, 700, 45, 400, 1, 1.0f, 1.0f},     // rows, two MC blocks a thread; the bwd-filter transpose
      {true, false, 57, 8300, 300, 0, 1.0f, 0.5f},    // columns, two NC blocks a thread
      {false, true, 20, 3000, 300, 2, 1.0f, 1.0f},    // columns, one edge row tile
      {true, false, 30, 29, 2500, 0, 2.0f, 0.0f},     // rows, a thread ending on an edge tile
  };
  const int saved = omp_get_max_threads();
  const int threads = std::max(2, saved);
  for_each_kernel_set([&] {
    uint32_t seed = 3000;
    for (const auto& c : cases) {
      omp_set_num_threads(threads);
      CHECK(run_case(c, seed += 7));
      // The same product at 1 thread and at `threads`: bit for bit.
      const int lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
      const auto A = kcheck::random_vec((size_t)c.M * c.K, seed), B = kcheck::random_vec((size_t)c.K * c.N, seed + 1);
      const auto C0 = kcheck::random_vec((size_t)c.M * c.N, seed + 2);
      std::vector<float> C1 = C0, Cn = C0;
      omp_set_num_threads(1);
      cpu::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C1.data(), c.N);
      omp_set_num_threads(threads);
      cpu::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, Cn.data(), c.N);
      size_t differ = 0;
      for (size_t i = 0; i < C1.size(); ++i) differ += C1[i] != Cn[i];
      if (differ) std::printf("  %zu of %zu elements differ between 1 and %d threads\n", differ, C1.size(), threads);
      CHECK(differ == 0);
    }
  });
  omp_set_num_threads(saved);
}

TEST_CASE("sgemm with K == 0 or alpha == 0 only scales C by beta") {
  std::vector<float> C = {1, 2, 3, 4, 5, 6};
  const float dummy = std::numeric_limits<float>::quiet_NaN();  // A and B must not be read
  cpu::sgemm(false, false, 2, 3, 0, 1.0f, &dummy, 1, &dummy, 3, 0.5f, C.data(), 3);
  CHECK(C == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
  cpu::sgemm(false, false, 2, 3, 1, 0.0f, &dummy, 1, &dummy, 3, 2.0f, C.data(), 3);
  CHECK(C == std::vector<float>{1, 2, 3, 4, 5, 6});
  std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());
  cpu::sgemm(false, false, 2, 3, 0, 1.0f, &dummy, 1, &dummy, 3, 0.0f, C.data(), 3);
  CHECK(C == std::vector<float>(6, 0.0f));
}
