// bench_cpu_gemm_conv.cpp — the hand-written CPU GEMM and conv2d of tinct
// against OpenBLAS on the same machine, in the same run (docs/design.md, Measuring).
//
//   (a) square sgemm 512^3 and 1024^3: tinct::cpu::sgemm vs cblas_sgemm;
//   (b) the three per-image GEMMs of the conv below (fwd NN, bwd-data TN,
//       bwd-filter NT with beta = 1);
//   (c) conv2d 64x512x16x16, 3x3, pad 1, 512 outputs: fwd, bwd-data and
//       bwd-filter of the fast path, and the same lowering with OpenBLAS doing
//       the GEMMs (tinct's im2col / col2im, same threading), which separates
//       GEMM speed from lowering cost.
//   (d) Precision::bf16 on the bf16 GEMM set in use (amx-bf16 or avx512-bf16,
//       printed first and in the context as tinct_bf16_gemm; TINCT_CPU_BF16=
//       amx|avx512 picks one), where the processor has one (rows named .../tinct-bf16): sgemm_bf16 in (a) and (b), and the
//       conv's three passes (conv2d_*_bf16), against tinct fp32 and OpenBLAS
//       fp32 above. (Debian's OpenBLAS 0.3.21 is built without BUILD_BFLOAT16:
//       it has no cblas_sbgemm to compare with.) Without the bf16 set these
//       rows are skipped with a message.
// Every benchmark runs at 1 and 2 threads (omp_set_num_threads for tinct and
// for the OpenMP batch loop of the OpenBLAS conv; openblas_set_num_threads for
// OpenBLAS's own GEMM threads). Times are wall-clock (UseRealTime) and the
// FLOP/s counter is 2*M*N*K (GEMM) or Conv2dParams::flops() per iteration.
//
// Before timing, main() checks every timed routine against the references on
// small shapes and exits non-zero on a mismatch.
//
// Usage:
//   ./bench_cpu_gemm_conv                         # everything, about a minute
//   ./bench_cpu_gemm_conv --benchmark_filter=sgemm
//   TINCT_BENCH_BATCH=16 ./bench_cpu_gemm_conv    # smaller conv batch (default 64)
//   TINCT_CPU_KERNELS=avx2 ./bench_cpu_gemm_conv  # another kernel set than the best
//   ./bench_cpu_gemm_conv --benchmark_filter='bf16|sgemm/|conv_'   # bf16 vs fp32
//   TINCT_CPU_BF16=avx512 ./bench_cpu_gemm_conv --benchmark_filter=bf16  # the other bf16 set
// The kernel set in use is printed first and in the context (tinct_cpu_kernels),
// and so is the core OpenBLAS picked (openblas_core). OpenBLAS 0.3.21 (Debian
// 12) does not know processors newer than it (an Intel Xeon of model 207, AMD
// Zen 4) and falls back to its SSE3 "Prescott" kernels, 5-7x slower than its
// AVX-512 ones: then the benchmark re-runs itself with OPENBLAS_CORETYPE set
// to the widest core this processor runs (Cooperlake for AVX-512 with BF16,
// SkylakeX for AVX-512, Haswell for AVX2), and says so. Set OPENBLAS_CORETYPE
// yourself to choose another.
// On a machine shared with other work, interleave tinct and OpenBLAS and
// repeat, so both see the same disturbance (what bench/RESULTS.md used):
//   ./bench_cpu_gemm_conv --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_format=json
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#if TINCT_HAVE_OPENBLAS
#include <unistd.h>
#endif

#include "kernels/kernels.h"

#if TINCT_HAVE_OPENBLAS
#include <cblas.h>
#endif

using tinct::Conv2dParams;
namespace cpu = tinct::cpu;

namespace {

// x rounded to bf16, to nearest even (cpu::bf16_from_float; no NaN here).
float bf16_round(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

std::vector<float> random_vec(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

void set_threads(int n) {
  omp_set_num_threads(n);
#if TINCT_HAVE_OPENBLAS
  openblas_set_num_threads(n);
#endif
}

benchmark::Counter flop_rate(double flops) {
  return benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                            benchmark::Counter::kIs1000);
}

// The conv of (c): batch from TINCT_BENCH_BATCH, default 64.
Conv2dParams bench_conv() {
  Conv2dParams p;
  const char* env = std::getenv("TINCT_BENCH_BATCH");
  p.N = env ? std::max(1, std::atoi(env)) : 64;
  p.C = 512, p.H = 16, p.W = 16, p.K = 512, p.R = 3, p.S = 3, p.pad_h = 1, p.pad_w = 1;
  p.finalize();
  return p;
}

// ---------------------------------------------------------------------------
// GEMM signature shared by tinct and OpenBLAS, so one benchmark body serves both.
using GemmFn = void (*)(bool, bool, int, int, int, float, const float*, int, const float*, int,
                        float, float*, int);

#if TINCT_HAVE_OPENBLAS
void openblas_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
              N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

// ---------------------------------------------------------------------------
// The conv lowered exactly as conv/cpu.cpp does (batch split over OpenMP threads,
// private dW per thread), with a pluggable GEMM: with cpu::sgemm this is the
// fast path re-implemented; with OpenBLAS (single-threaded inside each OpenMP
// thread) it is the "same conv, vendor GEMM" yardstick.
struct LoweredConv {
  Conv2dParams p;
  GemmFn gemm;
  std::vector<std::vector<float>> cols, parts;  // one of each per thread

  int crs() const { return p.C * p.R * p.S; }
  int pq() const { return p.P * p.Q; }
  size_t x_img() const { return (size_t)p.C * p.H * p.W; }
  size_t y_img() const { return (size_t)p.K * pq(); }

  // Sizes the per-thread buffers; called outside the parallel regions.
  void prepare() {
    const int nt = omp_get_max_threads();
    cols.resize(nt);
    parts.resize(nt);
    for (auto& v : cols) v.resize((size_t)crs() * pq());
    for (auto& v : parts) v.resize((size_t)p.K * crs());
  }
  float* col(int t) { return cols[t].data(); }

  void fwd(const float* x, const float* w, float* y) {
    prepare();
#pragma omp parallel for schedule(static)
    for (int n = 0; n < p.N; ++n) {
      float* c = col(omp_get_thread_num());
      cpu::im2col(p, x + n * x_img(), c);
      gemm(false, false, p.K, pq(), crs(), 1.0f, w, crs(), c, pq(), 0.0f, y + n * y_img(), pq());
    }
  }
  void bwd_data(const float* dy, const float* w, float* dx) {
    prepare();
#pragma omp parallel for schedule(static)
    for (int n = 0; n < p.N; ++n) {
      float* c = col(omp_get_thread_num());
      gemm(true, false, crs(), pq(), p.K, 1.0f, w, crs(), dy + n * y_img(), pq(), 0.0f, c, pq());
      float* dxn = dx + n * x_img();
      std::fill(dxn, dxn + x_img(), 0.0f);
      cpu::col2im(p, c, dxn);
    }
  }
  void bwd_filter(const float* x, const float* dy, float* dw) {
    const size_t wsize = (size_t)p.K * crs();
    prepare();
    const int nt = omp_get_max_threads();
#pragma omp parallel
    {
      const int t = omp_get_thread_num();
      bool first = true;
#pragma omp for schedule(static)
      for (int n = 0; n < p.N; ++n) {
        float* c = col(t);
        cpu::im2col(p, x + n * x_img(), c);
        gemm(false, true, p.K, crs(), pq(), 1.0f, dy + n * y_img(), pq(), c, pq(),
             first ? 0.0f : 1.0f, parts[t].data(), crs());
        first = false;
      }
      if (first) std::fill(parts[t].begin(), parts[t].end(), 0.0f);
#pragma omp barrier
#pragma omp for schedule(static)
      for (size_t i = 0; i < wsize; ++i) {
        float s = 0.0f;
        for (int u = 0; u < nt; ++u) s += parts[u][i];
        dw[i] += s;
      }
    }
  }
};

// ---------------------------------------------------------------------------
// Validation on small shapes, before anything is timed.

bool close(const char* what, const std::vector<float>& got, const std::vector<float>& ref, double k) {
  double max_ref = 0.0, max_err = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, (double)std::fabs(ref[i]));
    const double e = std::fabs((double)got[i] - ref[i]);
    max_err = std::isfinite(e) ? std::max(max_err, e) : INFINITY;
  }
  const double tol = 2e-6 * std::sqrt(k) * (1.0 + max_ref);
  std::printf("validate %-28s max|err| %.3g  (tol %.3g) %s\n", what, max_err, tol,
              max_err <= tol ? "ok" : "MISMATCH");
  return max_err <= tol;
}

bool validate() {
  bool ok = true;
  for (int t = 0; t < 4; ++t) {  // every transpose combination, odd sizes
    const bool ta = t & 1, tb = t & 2;
    const int M = 67, N = 45, K = 300;
    const auto A = random_vec((size_t)M * K, 1), B = random_vec((size_t)K * N, 2);
    std::vector<float> ref((size_t)M * N), got((size_t)M * N);
    const int lda = ta ? M : K, ldb = tb ? K : N;
    cpu::sgemm_ref(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, ref.data(), N);
    const char* names[] = {"sgemm NN", "sgemm TN", "sgemm NT", "sgemm TT"};
    cpu::sgemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, got.data(), N);
    ok &= close(names[t], got, ref, K);
#if TINCT_HAVE_OPENBLAS
    openblas_gemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, got.data(), N);
    ok &= close("  (openblas)", got, ref, K);
#endif
  }

  Conv2dParams p = bench_conv();  // the bench conv, shrunk
  p.N = 3, p.C = 24, p.K = 20, p.H = 11, p.W = 9;
  p.finalize();
  const size_t xs = (size_t)p.N * p.C * p.H * p.W, ws = (size_t)p.K * p.C * p.R * p.S;
  const size_t ys = (size_t)p.N * p.K * p.P * p.Q;
  const auto x = random_vec(xs, 3), w = random_vec(ws, 4), dy = random_vec(ys, 5);
  std::vector<float> y_ref(ys), dx_ref(xs), dw_ref(ws, 0.0f);
  cpu::conv2d_fwd_ref(p, x.data(), w.data(), nullptr, y_ref.data());
  cpu::conv2d_bwd_data_ref(p, dy.data(), w.data(), dx_ref.data());
  cpu::conv2d_bwd_filter_ref(p, x.data(), dy.data(), dw_ref.data(), nullptr);

  std::vector<float> y(ys), dx(xs), dw(ws, 0.0f);
  cpu::conv2d_fwd(p, x.data(), w.data(), nullptr, y.data());
  cpu::conv2d_bwd_data(p, dy.data(), w.data(), dx.data());
  cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw.data(), nullptr);
  ok &= close("conv2d_fwd", y, y_ref, p.C * 9);
  ok &= close("conv2d_bwd_data", dx, dx_ref, p.K * 9);
  ok &= close("conv2d_bwd_filter", dw, dw_ref, p.N * p.P * p.Q);
#if TINCT_HAVE_OPENBLAS
  LoweredConv lc{p, openblas_gemm, {}, {}};
  std::fill(dw.begin(), dw.end(), 0.0f);
  lc.fwd(x.data(), w.data(), y.data());
  lc.bwd_data(dy.data(), w.data(), dx.data());
  lc.bwd_filter(x.data(), dy.data(), dw.data());
  ok &= close("im2col+openblas fwd", y, y_ref, p.C * 9);
  ok &= close("im2col+openblas bwd_data", dx, dx_ref, p.K * 9);
  ok &= close("im2col+openblas bwd_filter", dw, dw_ref, p.N * p.P * p.Q);
#endif
  if (cpu::cpu_bf16_gemm()) {
    // The bf16 GEMM against sgemm_ref on bf16-rounded operands (RNE as
    // cpu::round_operands; tests/test_gemm_bf16.cpp for the full check).
    const int M = 67, N = 45, K = 301;
    auto A = random_vec((size_t)M * K, 6), B = random_vec((size_t)K * N, 7);
    std::vector<float> got((size_t)M * N), ref((size_t)M * N);
    cpu::sgemm_bf16(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, got.data(), N);
    for (auto* v : {&A, &B})
      for (float& a : *v) a = bf16_round(a);
    cpu::sgemm_ref(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, ref.data(), N);
    ok &= close("sgemm_bf16 NT", got, ref, K);
    std::vector<float> y_bf(ys), y_r(ys), xr = x, wr = w;
    for (auto* v : {&xr, &wr})
      for (float& a : *v) a = bf16_round(a);
    cpu::conv2d_fwd_fused_bf16(p, x.data(), w.data(), cpu::Epilogue{}, y_bf.data());
    cpu::conv2d_fwd_ref(p, xr.data(), wr.data(), nullptr, y_r.data());
    ok &= close("conv2d_fwd_fused_bf16", y_bf, y_r, p.C * 9);
  }
  return ok;
}

// ---------------------------------------------------------------------------
// (a), (b): one GEMM. Args: M, N, K, transposes (bit 0: A, bit 1: B), beta*1, threads.

template <GemmFn Fn>
void BM_gemm(benchmark::State& state) {
  if (Fn == cpu::sgemm_bf16 && !cpu::cpu_bf16_gemm()) {
    state.SkipWithError("no bf16 GEMM (AMX or AVX-512 BF16) here (or TINCT_CPU_BF16=off)");
    return;
  }
  const int M = state.range(0), N = state.range(1), K = state.range(2);
  const bool ta = state.range(3) & 1, tb = state.range(3) & 2;
  const float beta = (float)state.range(4);
  set_threads(state.range(5));
  const auto A = random_vec((size_t)M * K, 11), B = random_vec((size_t)K * N, 12);
  auto C = random_vec((size_t)M * N, 13);
  for (auto _ : state) {
    Fn(ta, tb, M, N, K, 1.0f, A.data(), ta ? M : K, B.data(), tb ? K : N, beta, C.data(), N);
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = flop_rate(2.0 * M * N * K);
}

void gemm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "trans", "beta", "threads"});
  for (int threads : {1, 2}) {
    for (int n : {512, 1024}) b->Args({n, n, n, 0, 0, threads});
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

// The per-image GEMMs of the bench conv (K=512, CRS=4608, PQ=256).
void conv_gemm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "trans", "beta", "threads"});
  for (int threads : {1, 2}) {
    b->Args({512, 256, 4608, 0, 0, threads});   // fwd:      Y = W * col
    b->Args({4608, 256, 512, 1, 0, threads});   // bwd-data: dcol = W^T * dY
    b->Args({512, 4608, 256, 2, 1, threads});   // bwd-filt: dW += dY * col^T
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_TEMPLATE(BM_gemm, cpu::sgemm)->Name("sgemm/tinct")->Apply(gemm_args);
#if TINCT_HAVE_OPENBLAS
BENCHMARK_TEMPLATE(BM_gemm, openblas_gemm)->Name("sgemm/openblas")->Apply(gemm_args);
#endif
BENCHMARK_TEMPLATE(BM_gemm, cpu::sgemm_bf16)->Name("sgemm/tinct-bf16")->Apply(gemm_args);
BENCHMARK_TEMPLATE(BM_gemm, cpu::sgemm)->Name("convgemm/tinct")->Apply(conv_gemm_args);
BENCHMARK_TEMPLATE(BM_gemm, cpu::sgemm_bf16)->Name("convgemm/tinct-bf16")->Apply(conv_gemm_args);
#if TINCT_HAVE_OPENBLAS
BENCHMARK_TEMPLATE(BM_gemm, openblas_gemm)->Name("convgemm/openblas")->Apply(conv_gemm_args);
#endif

// ---------------------------------------------------------------------------
// (c): the conv. Arg: threads.

struct ConvData {
  Conv2dParams p = bench_conv();
  std::vector<float> x, w, y, dy, dx, dw;
  ConvData() {
    const size_t xs = (size_t)p.N * p.C * p.H * p.W, ws = (size_t)p.K * p.C * p.R * p.S;
    const size_t ys = (size_t)p.N * p.K * p.P * p.Q;
    x = random_vec(xs, 21), w = random_vec(ws, 22), dy = random_vec(ys, 23);
    y.resize(ys), dx.resize(xs), dw.assign(ws, 0.0f);
  }
};
ConvData& conv_data() {
  static ConvData d;  // built on first use, shared by all conv benchmarks
  return d;
}

enum Pass { kFwd, kBwdData, kBwdFilter };

template <Pass P>
void BM_conv_tinct_bf16(benchmark::State& state) {
  if (!cpu::cpu_bf16_gemm()) {
    state.SkipWithError("no bf16 GEMM (AMX or AVX-512 BF16) here (or TINCT_CPU_BF16=off)");
    return;
  }
  set_threads(state.range(0));
  auto& d = conv_data();
  for (auto _ : state) {
    if (P == kFwd) cpu::conv2d_fwd_fused_bf16(d.p, d.x.data(), d.w.data(), cpu::Epilogue{}, d.y.data());
    if (P == kBwdData) cpu::conv2d_bwd_data_bf16(d.p, d.dy.data(), d.w.data(), d.dx.data());
    if (P == kBwdFilter) cpu::conv2d_bwd_filter_bf16(d.p, d.x.data(), d.dy.data(), d.dw.data(), nullptr);
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = flop_rate(d.p.flops());
  state.SetLabel("N=" + std::to_string(d.p.N));
}

template <Pass P>
void BM_conv_tinct(benchmark::State& state) {
  set_threads(state.range(0));
  auto& d = conv_data();
  for (auto _ : state) {
    if (P == kFwd) cpu::conv2d_fwd(d.p, d.x.data(), d.w.data(), nullptr, d.y.data());
    if (P == kBwdData) cpu::conv2d_bwd_data(d.p, d.dy.data(), d.w.data(), d.dx.data());
    if (P == kBwdFilter) cpu::conv2d_bwd_filter(d.p, d.x.data(), d.dy.data(), d.dw.data(), nullptr);
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = flop_rate(d.p.flops());
  state.SetLabel("N=" + std::to_string(d.p.N));
}

#if TINCT_HAVE_OPENBLAS
template <Pass P>
void BM_conv_openblas(benchmark::State& state) {
  omp_set_num_threads(state.range(0));  // the batch loop; OpenBLAS itself single-threaded inside it
  openblas_set_num_threads(1);
  auto& d = conv_data();
  LoweredConv lc{d.p, openblas_gemm, {}, {}};
  for (auto _ : state) {
    if (P == kFwd) lc.fwd(d.x.data(), d.w.data(), d.y.data());
    if (P == kBwdData) lc.bwd_data(d.dy.data(), d.w.data(), d.dx.data());
    if (P == kBwdFilter) lc.bwd_filter(d.x.data(), d.dy.data(), d.dw.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = flop_rate(d.p.flops());
  state.SetLabel("N=" + std::to_string(d.p.N));
}
#endif

void conv_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads"})->Arg(1)->Arg(2);
  // One pass is 2*64*512*256*4608 = 77 GFLOP, about a second: one iteration
  // per run; use --benchmark_repetitions for more samples.
  b->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);
}

BENCHMARK_TEMPLATE(BM_conv_tinct, kFwd)->Name("conv_fwd/tinct")->Apply(conv_args);
BENCHMARK_TEMPLATE(BM_conv_tinct_bf16, kFwd)->Name("conv_fwd/tinct-bf16")->Apply(conv_args);
#if TINCT_HAVE_OPENBLAS
BENCHMARK_TEMPLATE(BM_conv_openblas, kFwd)->Name("conv_fwd/im2col+openblas")->Apply(conv_args);
#endif
BENCHMARK_TEMPLATE(BM_conv_tinct, kBwdData)->Name("conv_bwd_data/tinct")->Apply(conv_args);
BENCHMARK_TEMPLATE(BM_conv_tinct_bf16, kBwdData)->Name("conv_bwd_data/tinct-bf16")->Apply(conv_args);
#if TINCT_HAVE_OPENBLAS
BENCHMARK_TEMPLATE(BM_conv_openblas, kBwdData)->Name("conv_bwd_data/openblas+col2im")->Apply(conv_args);
#endif
BENCHMARK_TEMPLATE(BM_conv_tinct, kBwdFilter)->Name("conv_bwd_filter/tinct")->Apply(conv_args);
BENCHMARK_TEMPLATE(BM_conv_tinct_bf16, kBwdFilter)->Name("conv_bwd_filter/tinct-bf16")->Apply(conv_args);
#if TINCT_HAVE_OPENBLAS
BENCHMARK_TEMPLATE(BM_conv_openblas, kBwdFilter)->Name("conv_bwd_filter/im2col+openblas")->Apply(conv_args);
#endif

#if TINCT_HAVE_OPENBLAS
// OpenBLAS reads OPENBLAS_CORETYPE when it is loaded, before main: to change
// its core the process has to start again. Returns only when no restart is
// needed (or it failed).
void use_a_fitting_openblas_core(char** argv) {
  const std::string core = openblas_get_corename();
  if (core != "Prescott" || std::getenv("OPENBLAS_CORETYPE")) return;
  const char* fit = nullptr;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (cpu::cpu_kernels_supported(cpu::CpuKernels::Avx512))
    fit = __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
  else if (cpu::cpu_kernels_supported(cpu::CpuKernels::Avx2))
    fit = "Haswell";
#endif
  if (!fit) return;
  std::printf("OpenBLAS chose its Prescott (SSE3) kernels for this processor; "
              "re-running with OPENBLAS_CORETYPE=%s\n", fit);
  std::fflush(stdout);
  setenv("OPENBLAS_CORETYPE", fit, 1);
  execv("/proc/self/exe", argv);
  std::perror("execv /proc/self/exe: going on with Prescott");
}
#endif

}  // namespace

int main(int argc, char** argv) {
#if TINCT_HAVE_OPENBLAS
  use_a_fitting_openblas_core(argv);
  std::printf("openblas core: %s\n", openblas_get_corename());
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
#endif
  // The kernel set tinct runs (TINCT_CPU_KERNELS=avx512|avx2|generic forces one).
  const char* isa = cpu::cpu_kernels_name(cpu::cpu_kernels());
  std::printf("tinct cpu kernels: %s (bf16: %s)\n", isa, cpu::cpu_bf16_gemm_name());
  benchmark::AddCustomContext("tinct_cpu_kernels", isa);
  benchmark::AddCustomContext("tinct_bf16_gemm", cpu::cpu_bf16_gemm_name());
  if (!validate()) {
    std::fprintf(stderr, "validation failed: not timing wrong code\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
