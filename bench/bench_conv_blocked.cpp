// bench_conv_blocked.cpp — im2col + GEMM against the blocked direct
// convolution (kernels/conv/cpu_blocked.cpp) on the models' 512x512-forward
// layers of 16-128 channels, at 1 and 2 threads, interleaved (A, B, A, B,
// ...; the median of each) so both see the same load. Prints ms and GFLOP/s
// (2 N K C R S P Q) and the blocked path's speed as % of im2col's.
//   ./bench_conv_blocked [reps=5] [filter]
// filter: only the layers whose name contains it. The shapes come from a
// per-layer profile of each model's 512x512 forward (bench/RESULTS.md,
// 2026-12-05 "blocked direct convolution").
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"

using namespace tinct;

namespace tinct::cpu {
void conv2d_fwd_im2col_for_bench(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
}

namespace {
struct Layer {
  const char* what;
  int C, K, H, stride, dil;
  int R = 3;  // kernel R x R, padding dil (R - 1) / 2
};

using ConvFn = void (*)(const Conv2dParams&, const float*, const float*, const float*, float*);
double time_ms(ConvFn f, const Conv2dParams& p, const std::vector<float>& x, const std::vector<float>& w,
               const std::vector<float>& b, std::vector<float>& y) {
  const auto t0 = std::chrono::steady_clock::now();
  f(p, x.data(), w.data(), b.data(), y.data());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
void blocked_with_bias(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  cpu::Epilogue e;
  e.shift = b;
  cpu::conv2d_fwd_blocked(p, x, w, e, y);
}
}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const char* filter = argc > 2 ? argv[2] : "";
  Conv2dParams probe;
  probe.finalize();
  if (!cpu::conv2d_blocked_supported(probe)) {
    std::printf("the blocked convolution needs the avx512 kernel set (this run: %s)\n",
                cpu::cpu_kernels_name(cpu::cpu_kernels()));
    return 0;
  }
  // name, C, K, input H=W, stride, dilation[, R] (3x3 unless said, padding = dilation (R - 1) / 2).
  const std::vector<Layer> layers = {
      {"stem-c 1->32 7x7 s2@512", 1, 32, 512, 2, 1, 7}, {"stem-f 1->64 7x7 s2@512", 1, 64, 512, 2, 1, 7},
      {"cls-c 32 s2@256", 32, 32, 256, 2, 1},  {"cls-c 64 s2@128", 64, 64, 128, 2, 1},
      {"gan-c 64->128 s2", 64, 128, 64, 2, 1}, {"gan-c 128->256 s2", 128, 256, 32, 2, 1},
      {"reg-c 32@128", 32, 32, 128, 1, 1},     {"reg-c 64@64", 64, 64, 64, 1, 1},
      {"reg-c 32->64 s2", 32, 64, 128, 2, 1},  {"reg-f 32@256", 32, 32, 256, 1, 1},
      {"reg-f 64@128", 64, 64, 128, 1, 1},     {"reg-f 128@64", 128, 128, 64, 1, 1},
      {"reg-f 64->128 s2", 64, 128, 128, 2, 1}, {"cls-c 16->32@256", 16, 32, 256, 1, 1},
      {"cls-c 16 s2@512", 16, 16, 512, 2, 1},  {"cls-c 32->64@128", 32, 64, 128, 1, 1},
      {"cls-c 128@64", 128, 128, 64, 1, 1},    {"cls-c 128@64 d2", 128, 128, 64, 1, 2},
      {"cls-c 64->128@64", 64, 128, 64, 1, 1}, {"cls-f 64->128@256", 64, 128, 256, 1, 1},
      {"cls-f 64 s2@512", 64, 64, 512, 2, 1},  {"cls-f 128 s2@256", 128, 128, 256, 2, 1},
      {"gan-c 64->32@256", 64, 32, 256, 1, 1}, {"gan-c 64->32@128", 64, 32, 128, 1, 1},
      {"gan-c 128->64@64", 128, 64, 64, 1, 1}, {"gan-c 128@32", 128, 128, 32, 1, 1},
      {"gan-f 128->64@256", 128, 64, 256, 1, 1}, {"gan-f 128->64@128", 128, 64, 128, 1, 1},
      // The PatchGAN discriminator's 4x4 stride-2 layers (training, 128x128 crops).
      {"D 3->32 4x4 s2@128", 3, 32, 128, 2, 1, 4}, {"D 32->64 4x4 s2@64", 32, 64, 64, 2, 1, 4},
      {"D 64->128 4x4 s2@32", 64, 128, 32, 2, 1, 4},
      {"D2x2 128->64@33", 128, 64, 33, 1, 1, 2}, {"D2x2 256->128@17", 256, 128, 17, 1, 1, 2},
  };
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("%-24s %4s %4s %4s %2s %3s %3s | %9s %8s | %9s %8s | %6s\n", "layer", "C", "K", "H", "s", "dil",
              "thr", "im2col ms", "GFLOP/s", "blocked ms", "GFLOP/s", "speed");
  for (const Layer& L : layers) {
    if (!std::strstr(L.what, filter)) continue;
    Conv2dParams p;
    p.N = 1, p.C = L.C, p.H = p.W = L.H, p.K = L.K, p.R = p.S = L.R;
    p.stride_h = p.stride_w = L.stride;
    p.dil_h = p.dil_w = L.dil;
    p.pad_h = p.pad_w = L.dil * (L.R - 1) / 2;
    p.finalize();
    std::vector<float> x((size_t)p.C * p.H * p.W), w((size_t)p.K * p.C * p.R * p.S), b(p.K), y((size_t)p.K * p.P * p.Q);
    for (auto& v : x) v = u(rng);
    for (auto& v : w) v = u(rng);
    for (auto& v : b) v = u(rng);
    const double gflop = 2.0 * p.K * p.C * p.R * p.S * p.P * p.Q * 1e-9;
    for (int thr : {1, 2}) {
      omp_set_num_threads(thr);
      time_ms(cpu::conv2d_fwd_im2col_for_bench, p, x, w, b, y);  // warm the workspaces
      time_ms(blocked_with_bias, p, x, w, b, y);
      std::vector<double> ta, tb;
      for (int r = 0; r < reps; ++r) {
        ta.push_back(time_ms(cpu::conv2d_fwd_im2col_for_bench, p, x, w, b, y));
        tb.push_back(time_ms(blocked_with_bias, p, x, w, b, y));
      }
      std::sort(ta.begin(), ta.end());
      std::sort(tb.begin(), tb.end());
      const double a = ta[reps / 2], c = tb[reps / 2];
      std::printf("%-24s %4d %4d %4d %2d %3d %3d | %9.3f %8.1f | %9.3f %8.1f | %5.0f%%\n", L.what, p.C, p.K, L.H,
                  L.stride, L.dil, thr, a, gflop / a * 1e3, c, gflop / c * 1e3, 100.0 * a / c);
      std::fflush(stdout);
    }
  }
}
