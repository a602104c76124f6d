// bench_conv_winograd.cpp — im2col + GEMM (conv2d_fwd with TINCT_CONV_WINOGRAD
// off, i.e. the direct call below) against the Winograd F(4x4,3x3) forward
// (kernels/conv/cpu_winograd.cpp) on the models' 3x3 stride-1 layers, at 1
// and 2 threads, interleaved (A, B, A, B, ...; the median of each) so both
// see the same load. Prints ms and GFLOP/s counted as direct-conv flops
// (2 N K C 9 P Q), and Winograd's speed as % of im2col's.
//   ./bench_conv_winograd [reps=5]
// With --direct, the direct convolution (kernels/conv/cpu_direct.cpp) against
// im2col + GEMM instead, on the models' layers with few output channels:
//   ./bench_conv_winograd --direct [reps=5]
// Layer shapes: ResNet-18 stages (regression / GAN encoders: base 32 compact,
// 64 full; stage s at input/2^(s+1)), the classification model's dilated
// 3x3s (c4 = 8 base at input/8, dilation 2) and head convs (c3 at input/4).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

using namespace tinct;

namespace tinct::cpu {
void conv2d_fwd_im2col_for_bench(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
}

namespace {
struct Layer {
  const char* what;
  int C, K, HW, dil;
};

double time_ms(void (*f)(const Conv2dParams&, const float*, const float*, const float*, float*),
               const Conv2dParams& p, const std::vector<float>& x, const std::vector<float>& w,
               const std::vector<float>& b, std::vector<float>& y) {
  const auto t0 = std::chrono::steady_clock::now();
  f(p, x.data(), w.data(), b.data(), y.data());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
void direct_with_bias(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  cpu::Epilogue e;
  e.shift = b;
  cpu::conv2d_fwd_direct(p, x, w, e, y);
}
}  // namespace

int main(int argc, char** argv) {
  const bool direct = argc > 1 && std::string(argv[1]) == "--direct";
  if (direct) --argc, ++argv;
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  auto variant = direct ? direct_with_bias : cpu::conv2d_fwd_winograd;
  std::vector<Layer> layers;
  if (direct) {
    if (!cpu::conv2d_direct_supported([] {
          Conv2dParams p;
          p.finalize();
          return p;
        }())) {
      std::printf("the direct convolution needs the avx512 or avx2 kernel set (this run: %s)\n",
                  cpu::cpu_kernels_name(cpu::cpu_kernels()));
      return 0;
    }
    layers = {{"reg. decoder", 16, 16, 256, 1}, {"reg. output", 8, 2, 512, 1},  {"gan output", 16, 2, 512, 1},
              {"class. conv1_1", 1, 16, 512, 1}, {"16 -> 16 @512", 16, 16, 512, 1}, {"dilated", 16, 4, 128, 2},
              {"reg. full dec.", 32, 16, 512, 1}};
  } else
  for (int in : {256, 512})
    for (int base : {32, 64}) {
      for (int s = 1; s <= 4; ++s) layers.push_back({"resnet stage", base << (s - 1), base << (s - 1), in >> (s + 1), 1});
      layers.push_back({"class. dilated", 8 * base, 8 * base, in / 8, 2});
      layers.push_back({"class. head", 4 * base, 4 * base, in / 4, 1});
    }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("%-15s %4s %4s %4s %3s %3s | %9s %8s | %9s %8s | %6s\n", "layer", "C", "K", "HW", "dil", "thr",
              "im2col ms", "GFLOP/s", direct ? "direct ms" : "wino ms", "GFLOP/s", "speed");
  for (const Layer& L : layers) {
    Conv2dParams p;
    p.N = 1, p.C = L.C, p.H = p.W = L.HW, p.K = L.K, p.R = p.S = 3;
    p.pad_h = p.pad_w = p.dil_h = p.dil_w = L.dil;
    p.finalize();
    std::vector<float> x((size_t)p.C * p.H * p.W), w((size_t)p.K * p.C * 9), b(p.K), y((size_t)p.K * p.P * p.Q);
    for (auto& v : x) v = u(rng);
    for (auto& v : w) v = u(rng);
    for (auto& v : b) v = u(rng);
    const double gflop = 2.0 * p.K * p.C * 9 * p.P * p.Q * 1e-9;
    for (int thr : {1, 2}) {
      omp_set_num_threads(thr);
      time_ms(cpu::conv2d_fwd_im2col_for_bench, p, x, w, b, y);  // warm the workspaces
      time_ms(variant, p, x, w, b, y);
      std::vector<double> ta, tb;
      for (int r = 0; r < reps; ++r) {
        ta.push_back(time_ms(cpu::conv2d_fwd_im2col_for_bench, p, x, w, b, y));
        tb.push_back(time_ms(variant, p, x, w, b, y));
      }
      std::sort(ta.begin(), ta.end());
      std::sort(tb.begin(), tb.end());
      const double a = ta[reps / 2], c = tb[reps / 2];
      std::printf("%-15s %4d %4d %4d %3d %3d | %9.3f %8.1f | %9.3f %8.1f | %5.0f%%\n", L.what, p.C, p.K, L.HW, L.dil,
                  thr, a, gflop / a * 1e3, c, gflop / c * 1e3, 100.0 * a / c);
    }
  }
}
