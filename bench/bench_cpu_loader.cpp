// bench_cpu_loader.cpp — how fast the training loader makes batches on the
// CPU: images/s for batches of 64 random 128x128 crops (decode JPEG, crop,
// flip, LAB, scale), with 1 and 2 worker threads. The loader must outpace the
// GPU step; the target is 5,000 images/s on 2 cores. Three paths: the set in
// memory with its decoded images cached (small sets), in memory decoding
// every sample, and streamed from disk (PackSet::Hold::stream: one pread, a
// CRC and a decode a sample, in the windowed order of a 1,000-image shuffle
// buffer). images/cpu_s is the rate per core.
//
// The pack: $TINCT_BENCH_PACK if set (e.g. the packed train256 photos:
//   tinct prepare ../shared/data/train256 -o /tmp/train256_144.tpk
//   TINCT_BENCH_PACK=/tmp/train256_144.tpk ./bench_cpu_loader),
// otherwise 256 synthetic photo-like 144x144 images packed in memory.
// Also timed on their own: one JPEG decode, and the LAB conversion of one
// crop (the loader's float tables against the double-precision reference).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/color/lab.h"
#include "models/data/image.h"
#include "models/data/loader.h"
#include "models/data/pack.h"
#include "models/data/pack_set.h"

using namespace tinct::data;

namespace {

// Smooth colour fields plus fine texture and a little noise: JPEG sizes and
// decode times close to real photos (pure noise would be far slower, flat
// colour far faster).
Image synthetic_photo(int size, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::normal_distribution<float> noise(0.0f, 4.0f);
  Image img(size, size, 3);
  float fx[3], fy[3], ph[3], tex = 0.2f + 0.8f * u(rng);
  for (int c = 0; c < 3; ++c) fx[c] = 2 + 8 * u(rng), fy[c] = 2 + 8 * u(rng), ph[c] = 6.28f * u(rng);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      for (int c = 0; c < 3; ++c) {
        const float s = float(x) / size, t = float(y) / size;
        float v = 128 + 80 * std::sin(fx[c] * s + fy[c] * t + ph[c]) +
                  20 * tex * std::sin(0.9f * x + 0.7f * y * (c + 1)) + noise(rng);
        img.at(x, y)[c] = std::uint8_t(std::min(255.0f, std::max(0.0f, v)));
      }
  return img;
}

// The pack's file: $TINCT_BENCH_PACK, or the synthetic one written to /tmp
// (removed at exit; the streaming benchmark reads it from disk).
const std::string& bench_pack_path() {
  static const std::string path = [] {
    if (const char* p = std::getenv("TINCT_BENCH_PACK")) return std::string(p);
    const std::string tmp = "/tmp/tinct_bench_loader_" + std::to_string(::getpid()) + ".tpk";
    PackWriter w(tmp, 144, 144, PackEncoding::jpeg, 95);
    std::mt19937 rng(7);
    for (int i = 0; i < 256; ++i) w.add_image(synthetic_photo(144, rng), "synthetic/" + std::to_string(i), 30.0f);
    w.finish();
    std::atexit([] { std::remove(("/tmp/tinct_bench_loader_" + std::to_string(::getpid()) + ".tpk").c_str()); });
    return tmp;
  }();
  return path;
}

std::shared_ptr<const Pack> bench_pack() {
  static std::shared_ptr<const Pack> pack = Pack::open(bench_pack_path());
  return pack;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Args: worker threads; mode 1 = in memory with the decoded-image cache (the
// default for small sets), 0 = in memory, every sample decodes its JPEG,
// 2 = streamed from the file (what training does past --cache-mb).
// Counters: images/s (wall clock), and images per CPU-second of the whole
// process, which does not depend on what else the machine is running:
// times the number of cores it is the rate an idle machine would reach.
void BM_Loader(benchmark::State& state) {
  const bool stream = state.range(1) == 2;
  std::shared_ptr<const PackSet> pack = stream ? PackSet::open(bench_pack_path(), PackSet::Hold::stream)
                                               : PackSet::of(bench_pack());
  LoaderOptions o;
  o.batch_size = 64;
  o.crop = 128;
  o.threads = int(state.range(0));
  o.prefetch = 4;
  o.cache_bytes = state.range(1) == 1 ? (std::size_t(4) << 30) : 0;
  o.shuffle_buffer = stream ? 1000 : 0;
  o.drop_last = pack->size() >= 64;
  Loader loader(pack, o);
  // Untimed: one epoch (which fills the cache when it is on), then the
  // batches already made ahead, so that only the steady rate is timed.
  const std::size_t warm = std::max<std::size_t>(loader.batches_per_epoch(), std::size_t(o.prefetch));
  for (std::size_t i = 0; i < warm; ++i) benchmark::DoNotOptimize(loader.next());
  std::size_t images = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    Batch b = loader.next();
    images += std::size_t(b.n);
    benchmark::DoNotOptimize(b.L.data());
  }
  const double cpu = process_cpu_seconds() - cpu0;
  state.SetItemsProcessed(std::int64_t(images));
  state.counters["images/s"] = benchmark::Counter(double(images), benchmark::Counter::kIsRate);
  state.counters["images/cpu_s"] = cpu > 0 ? double(images) / cpu : 0.0;
  state.SetLabel(std::string(std::getenv("TINCT_BENCH_PACK") ? "TINCT_BENCH_PACK" : "synthetic") +
                 (state.range(1) == 1 ? ", in memory, cached" : stream ? ", streamed from disk" : ", in memory, decode every sample"));
}
// mode: 0 = in memory, decode every sample; 1 = in memory, cached; 2 = streamed.
BENCHMARK(BM_Loader)
    ->ArgsProduct({{1, 2}, {0, 1, 2}})
    ->ArgNames({"threads", "mode"})
    ->UseRealTime()
    ->MinTime(2.0)
    ->Unit(benchmark::kMillisecond);

void BM_DecodeJpeg(benchmark::State& state) {
  auto pack = bench_pack();
  Image rgb;
  std::size_t i = 0;
  for (auto _ : state) {
    pack->decode(i++ % pack->size(), rgb);
    benchmark::DoNotOptimize(rgb.pixels.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()));
}
BENCHMARK(BM_DecodeJpeg)->Unit(benchmark::kMicrosecond);

void BM_LabFast(benchmark::State& state) {
  auto pack = bench_pack();
  const Image img = crop(pack->decode(0), 8, 8, 128, 128);
  std::vector<float> L(128 * 128), ab(2 * 128 * 128);
  FastLab lab;
  for (auto _ : state) {
    lab.convert(img.pixels.data(), img.pixel_count(), L.data(), ab.data());
    benchmark::DoNotOptimize(L.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()));
}
BENCHMARK(BM_LabFast)->Unit(benchmark::kMicrosecond);

void BM_LabReference(benchmark::State& state) {
  auto pack = bench_pack();
  const Image img = crop(pack->decode(0), 8, 8, 128, 128);
  std::vector<float> L(128 * 128), ab(2 * 128 * 128);
  for (auto _ : state) {
    tinct::color::srgb_to_lab_image(img.pixels.data(), img.pixel_count(), L.data(), ab.data());
    benchmark::DoNotOptimize(L.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()));
}
BENCHMARK(BM_LabReference)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
