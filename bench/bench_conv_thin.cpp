// bench_conv_thin.cpp — the thin convolution (kernels/conv/cpu_thin.cpp)
// against the path the public entry point takes, on the models' layers with
// few output channels, each pass (forward, backward-data, backward-filter),
// calls alternated in one process, median of `reps` (default 9), at 1 and 2
// threads. Run it with TINCT_CONV_THIN=0 to time the thin kernel against the
// old path (im2col + GEMM, GEMM + col2im, the direct forward where it pays):
//   TINCT_CONV_THIN=0 ./build/bench/bench_conv_thin [reps]
// (without it the entry points take the thin path themselves). Needs no Google Benchmark.
// With --stem: the stems' backward-filter (kernels/conv/cpu_stem_dw.cpp, few
// input channels) against im2col + GEMM (TINCT_CONV_STEM_DW=0 is implied:
// the entry point is asked with the stem path off), on the models' first layers:
//   ./build/bench/bench_conv_thin --stem [reps]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

using namespace tinct;

namespace tinct::cpu {
// im2col + GEMM alone (kernels/conv/cpu.cpp), for this comparison.
void conv2d_bwd_filter_gemm_for_bench(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db);
}  // namespace tinct::cpu

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median ms of a and b, called alternately.
std::pair<double, double> ab(int reps, const std::function<void()>& a, const std::function<void()>& b) {
  a(), b();  // warm-up
  std::vector<double> ta, tb;
  for (int i = 0; i < reps; ++i) {
    double t0 = now_ms();
    a();
    double t1 = now_ms();
    b();
    double t2 = now_ms();
    ta.push_back(t1 - t0), tb.push_back(t2 - t1);
  }
  std::sort(ta.begin(), ta.end()), std::sort(tb.begin(), tb.end());
  return {ta[reps / 2], tb[reps / 2]};
}

}  // namespace

// The stems' backward-filter against im2col + GEMM, batch 8 at 128x128 input.
int stem_main(int reps) {
  struct Layer {
    const char* name;
    int C, H, K, R, stride, pad;
  };
  const Layer layers[] = {
      {"class conv1_1 1->16 3x3 s1 @128", 1, 128, 16, 3, 1, 1},
      {"resnet stem 1->32 7x7 s2 @128", 1, 128, 32, 7, 2, 3},
      {"gan D first 3->32 4x4 s2 @128", 3, 128, 32, 4, 2, 1},
      {"resnet-f stem 1->64 7x7 s2 @128", 1, 128, 64, 7, 2, 3},
      {"gan-f D first 3->64 4x4 s2 @128", 3, 128, 64, 4, 2, 1},
  };
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("backward-filter (dw and db), ms, median of %d alternated calls, batch 8\n", reps);
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const Layer& l : layers) {
      Conv2dParams p;
      p.N = 8, p.C = l.C, p.H = p.W = l.H, p.K = l.K, p.R = p.S = l.R;
      p.stride_h = p.stride_w = l.stride, p.pad_h = p.pad_w = l.pad;
      p.finalize();
      std::vector<float> x((size_t)p.N * p.C * p.H * p.W), dy((size_t)p.N * p.K * p.P * p.Q),
          dw((size_t)p.K * p.C * p.R * p.S), db(p.K);
      for (auto* v : {&x, &dy})
        for (float& f : *v) f = u(rng);
      const auto g = ab(reps, [&] { cpu::conv2d_bwd_filter_gemm_for_bench(p, x.data(), dy.data(), dw.data(), db.data()); },
                        [&] { cpu::conv2d_bwd_filter_stem(p, x.data(), dy.data(), dw.data(), db.data()); });
      std::printf("%-34s %d thr | im2col+GEMM %7.3f ms %6.1f GFLOP/s | stem %7.3f ms %6.1f GFLOP/s | %5.2fx\n",
                  l.name, threads, g.first, p.flops() / g.first * 1e-6, g.second, p.flops() / g.second * 1e-6,
                  g.first / g.second);
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--stem") return stem_main(argc > 2 ? std::max(1, std::atoi(argv[2])) : 9);
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  struct Layer {
    const char* name;
    int N, C, H, K, R, pad;
  };
  const Layer layers[] = {
      {"gan-c D last 256->1 4x4 @15, N 8", 8, 256, 15, 1, 4, 1},
      {"gan-f D last 512->1 4x4 @15, N 8", 8, 512, 15, 1, 4, 1},
      {"gan-c G out 16->2 3x3 @128, N 8", 8, 16, 128, 2, 3, 1},
      {"reg-c out 8->2 3x3 @128, N 8", 8, 8, 128, 2, 3, 1},
  };
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("ms, median of %d alternated calls; 'entry' = the public entry point (TINCT_CONV_THIN=%s)\n", reps,
              std::getenv("TINCT_CONV_THIN") ? std::getenv("TINCT_CONV_THIN") : "unset");
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const Layer& l : layers) {
      Conv2dParams p;
      p.N = l.N, p.C = l.C, p.H = p.W = l.H, p.K = l.K, p.R = p.S = l.R, p.pad_h = p.pad_w = l.pad;
      p.finalize();
      std::vector<float> x((size_t)p.N * p.C * p.H * p.W), w((size_t)p.K * p.C * p.R * p.S), b(p.K),
          dy((size_t)p.N * p.K * p.P * p.Q), y(dy.size()), dx(x.size()), dw(w.size()), db(p.K);
      for (auto* v : {&x, &w, &b, &dy})
        for (float& f : *v) f = u(rng);
      cpu::Epilogue e;
      e.shift = b.data();
      const auto f = ab(reps, [&] { cpu::conv2d_fwd_fused(p, x.data(), w.data(), e, y.data()); },
                        [&] { cpu::conv2d_fwd_thin(p, x.data(), w.data(), e, y.data()); });
      const auto d = ab(reps, [&] { cpu::conv2d_bwd_data(p, dy.data(), w.data(), dx.data()); },
                        [&] { cpu::conv2d_bwd_data_thin(p, dy.data(), w.data(), dx.data()); });
      const auto g = ab(reps, [&] { cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw.data(), db.data()); },
                        [&] { cpu::conv2d_bwd_filter_thin(p, x.data(), dy.data(), dw.data(), db.data()); });
      std::printf("%-34s %d thr | fwd entry %7.3f thin %7.3f (%5.2fx) | bwd-data %7.3f / %7.3f (%5.2fx) | "
                  "bwd-filter %7.3f / %7.3f (%5.2fx)\n",
                  l.name, threads, f.first, f.second, f.first / f.second, d.first, d.second, d.first / d.second,
                  g.first, g.second, g.first / g.second);
    }
  }
}
