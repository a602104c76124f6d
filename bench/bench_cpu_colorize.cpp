// bench_cpu_colorize.cpp — seconds to colorize one 512x512 photo with each
// compact colorizer on the CPU (the model sees it at 256x256, the default of
// `tinct colorize`), at 1 and 2 threads. The weights do not change the work,
// so freshly initialised models are timed; the image is a smooth colour
// gradient made here.
//
//   ./build/bench/bench_cpu_colorize      (TINCT_CPU_KERNELS picks a kernel set)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>

#include "kernels/kernels.h"
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

int main(int argc, char** argv) {
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
