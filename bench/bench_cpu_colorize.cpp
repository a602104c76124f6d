// bench_cpu_colorize.cpp — seconds to colorize one 512x512 photo with each
// compact colorizer on the CPU (the model sees it at 256x256, the default of
// `tinct colorize`), at 1 and 2 threads. The weights do not change the work,
// so freshly initialised models are timed; the image is a smooth colour
// gradient made here.
//
//   ./build/bench/bench_cpu_colorize      (TINCT_CPU_KERNELS picks a kernel set)
//   ./build/bench/bench_cpu_colorize --profile [runs [model]]   per stage and op, ms at
//       1 and 2 threads (engine/profile.h), instead of the benchmarks
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <chrono>

#include "kernels/kernels.h"
#include "engine/profile.h"
#include "models/inference.h"

using namespace tinct;

static data::Image test_photo() {
  data::Image img(512, 512, 3);
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x) {
      uint8_t* p = img.at(x, y);
      p[0] = uint8_t(x / 2);
      p[1] = uint8_t(y / 2);
      p[2] = uint8_t((x + y) / 4);
    }
  return img;
}

static void BM_Colorize(benchmark::State& state, const char* kind) {
  omp_set_num_threads(int(state.range(0)));
  models::ColorizerOptions o;
  o.kind = kind;
  o.preset = "compact";
  auto model = models::make_colorizer(o);
  const data::Image photo = test_photo();
  models::colorize_image(*model, photo);  // warm-up: workspaces, gamut tables
  for (auto _ : state) benchmark::DoNotOptimize(models::colorize_image(*model, photo).pixels.data());
  state.counters["threads"] = double(state.range(0));
}

BENCHMARK_CAPTURE(BM_Colorize, regression, "regression")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Colorize, classification, "classification")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Colorize, gan, "gan")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// Each model's time per range (exclusive of the ranges inside it) at 1 and 2
// threads, side by side: where the second thread pays and where it does not.
static double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static int profile_main(int runs, const char* only) {
  const data::Image photo = test_photo();
  for (const char* kind : {"regression", "classification", "gan"}) {
    if (only && std::strcmp(only, kind) != 0) continue;
    models::ColorizerOptions o;
    o.kind = kind;
    o.preset = "compact";
    auto model = models::make_colorizer(o);
    std::vector<profile::Row> per_threads[2];
    double wall[2] = {0, 0};
    for (int t = 1; t <= 2; ++t) {
      omp_set_num_threads(t);
      models::colorize_image(*model, photo);  // warm-up
      profile::reset();
      profile::enable();
      const double t0 = now_s();
      for (int r = 0; r < runs; ++r) models::colorize_image(*model, photo);
      wall[t - 1] = (now_s() - t0) / runs;
      profile::disable();
      per_threads[t - 1] = profile::table();
      profile::reset();
    }
    // est 2t: the larger of the calling thread's and the other thread's
    // CPU time at 2 threads, what the range takes on two idle cores less
    // the waits (wake-ups, imbalance); cpu 1t / est 2t is the scaling the
    // work allows.
    std::printf("\n%s: wall %.2f ms at 1 thread, %.2f at 2 (%.2fx), mean of %d runs\n", kind, 1e3 * wall[0],
                1e3 * wall[1], wall[0] / wall[1], runs);
    std::printf("%-34s %8s %8s %8s %8s %8s %7s %7s\n", "range (self ms)", "wall 1t", "cpu 1t", "wall 2t", "main 2t",
                "other 2t", "est 2t", "scaling");
    profile::Row sum[2];
    auto add = [](profile::Row& a, const profile::Row& b) {
      a.self_ms += b.self_ms, a.self_thread_cpu_ms += b.self_thread_cpu_ms,
          a.self_process_cpu_ms += b.self_process_cpu_ms;
    };
    double est_sum = 0;
    auto row = [&](const std::string& name, const profile::Row& a, const profile::Row& b, double est) {
      std::printf("%-34s %8.3f %8.3f %8.3f %8.3f %8.3f %7.3f %7.2f\n", name.c_str(), a.self_ms / runs,
                  a.self_process_cpu_ms / runs, b.self_ms / runs, b.self_thread_cpu_ms / runs,
                  (b.self_process_cpu_ms - b.self_thread_cpu_ms) / runs, est / runs,
                  est > 0 ? a.self_process_cpu_ms / est : 0.0);
    };
    for (auto& e1 : per_threads[0]) {
      profile::Row e2;
      for (auto& e : per_threads[1])
        if (e.name == e1.name) e2 = e;
      const double est = std::max(e2.self_thread_cpu_ms, e2.self_process_cpu_ms - e2.self_thread_cpu_ms);
      est_sum += est;
      add(sum[0], e1);
      add(sum[1], e2);
      row(e1.name, e1, e2, est);
    }
    row("total", sum[0], sum[1], est_sum);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--profile") == 0) return profile_main(argc >= 3 ? std::atoi(argv[2]) : 20, argc >= 4 ? argv[3] : nullptr);
  // The GEMM / conv kernel set (TINCT_CPU_KERNELS=avx512|avx2|generic forces one).
  const char* isa = cpu::cpu_kernels_name(cpu::cpu_kernels());
  std::printf("tinct cpu kernels: %s\n", isa);
  benchmark::AddCustomContext("tinct_cpu_kernels", isa);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
