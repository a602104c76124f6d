// bench_conv_winograd.cpp — im2col + GEMM (conv2d_fwd with TINCT_CONV_WINOGRAD
// off, i.e. the direct call below), the blocked direct convolution
// (kernels/conv/cpu_blocked.cpp, where it supports the shape) and the Winograd
// F(4x4,3x3) forward (kernels/conv/cpu_winograd.cpp) on the models' 3x3
// stride-1 layers, at 1 and 2 threads, interleaved (A, B, C, A, B, C, ...;
// the median of each) so all see the same load. Prints ms and GFLOP/s
// counted as direct-conv flops (2 N K C R S P Q), and Winograd's speed as % of
// im2col's and of the blocked conv's.
//   ./bench_conv_winograd [reps=5] [substring of the layer names to run] [threads: 1 or 2 only]
// With --direct, the direct convolution (kernels/conv/cpu_direct.cpp) against
// im2col + GEMM instead, on the models' layers with few output channels:
//   ./bench_conv_winograd --direct [reps=5]
// With --bwd, conv2d_bwd_data: col2im + GEMM (Winograd off) against the
// Winograd forward of dy with the flipped filter (conv2d_bwd_data_winograd):
//   ./bench_conv_winograd --bwd [reps=5] [layers] [threads]
// With --wgrad, conv2d_bwd_filter (dw only): im2col + GEMM (Winograd off)
// against the Winograd backward-filter (kernels/conv/cpu_winograd_wgrad.cpp),
// at the training step's shapes: batch 8, the layers at 128x128 model input
// (a quarter of the sizes below; WGRAD_BATCH=n for another batch):
//   ./bench_conv_winograd --wgrad [reps=5] [layers] [threads]
// With --train before --bwd or nothing, the forward or backward-data at those
// training shapes too (the Winograd rule's training-step threshold):
//   ./bench_conv_winograd --train [--bwd] [reps=5] [layers] [threads]
// With --f43 after --train / --bwd / --wgrad (e.g. --train --bwd --f43, --wgrad --f43),
// the 4x4 stride-1 pad-1 layers on Winograd F(3x3, 4x4) instead: the
// PatchGAN's 128 -> 256 at the training step's 16 x 16 (128 x 128 model input)
// and at 32 x 32 / 64 x 64, and smaller maps for the rule's threshold:
//   ./bench_conv_winograd --train --f43 [reps=5] [layers] [threads]
// The HW column is the layer's actual input size.
// Layer shapes, batch 1, 512x512 model input: the compact presets' 3x3
// stride-1 convs (regression / GAN ResNet-18 encoder base 32: stage s has
// 32 << (s-1) channels at 512 / 2^(s+1); the GAN decoder's fuse convs
// (out + skip -> out); the regression decoder's; the classification model
// base 16: blocks 2-7, dilation 2 in blocks 5-6, head convs at 128), then the
// full presets' (base 64) ResNet stages, dilated and head convs.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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
  // BENCH_CPU_TIME=1: the process's CPU time instead of wall time (less
  // sensitive to other processes on a loaded machine; at 2 threads run with
  // OMP_WAIT_POLICY=passive so that spinning threads do not count)
  static const bool cpu_time = std::getenv("BENCH_CPU_TIME") && std::atoi(std::getenv("BENCH_CPU_TIME")) != 0;
  if (cpu_time) {
    timespec a, z;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    f(p, x.data(), w.data(), b.data(), y.data());
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &z);
    return (z.tv_sec - a.tv_sec) * 1e3 + (z.tv_nsec - a.tv_nsec) * 1e-6;
  }
  const auto t0 = std::chrono::steady_clock::now();
  f(p, x.data(), w.data(), b.data(), y.data());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
void blocked_with_bias(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  cpu::Epilogue e;
  e.shift = b;
  cpu::conv2d_fwd_blocked(p, x, w, e, y);
}
void bwd_im2col(const Conv2dParams& p, const float* dy, const float* w, const float*, float* dx) {
  const cpu::WinogradOffScope off(true);
  cpu::conv2d_bwd_data(p, dy, w, dx);
}
void bwd_wino(const Conv2dParams& p, const float* dy, const float* w, const float*, float* dx) {
  cpu::conv2d_bwd_data_winograd(p, dy, w, dx);
}
std::vector<float> g_dw;  // --wgrad: x is x, y is dy, dw here
void wgrad_im2col(const Conv2dParams& p, const float* x, const float*, const float*, float* dy) {
  const cpu::WinogradOffScope off(true);
  cpu::conv2d_bwd_filter(p, x, dy, g_dw.data(), nullptr);
}
void wgrad_wino(const Conv2dParams& p, const float* x, const float*, const float*, float* dy) {
  cpu::conv2d_bwd_filter_winograd(p, x, dy, g_dw.data());
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
  bool train = argc > 1 && std::string(argv[1]) == "--train";
  if (train) --argc, ++argv;
  const bool bwd = argc > 1 && std::string(argv[1]) == "--bwd";
  if (bwd) --argc, ++argv;
  const bool wgrad = argc > 1 && std::string(argv[1]) == "--wgrad";
  if (wgrad) --argc, ++argv;
  const bool f43 = argc > 1 && std::string(argv[1]) == "--f43";
  if (f43) --argc, ++argv;
  const int R = f43 ? 4 : 3;
  train = train || wgrad;
  auto base = wgrad ? wgrad_im2col : bwd ? bwd_im2col : cpu::conv2d_fwd_im2col_for_bench;
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::string only = argc > 2 ? argv[2] : "";
  const int threads_only = argc > 3 ? std::atoi(argv[3]) : 0;  // 1 or 2: that thread count only
  auto variant = direct ? direct_with_bias : wgrad ? wgrad_wino : bwd ? bwd_wino : cpu::conv2d_fwd_winograd;
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
    layers = std::vector<Layer>{{"reg. decoder", 16, 16, 256, 1}, {"reg. output", 8, 2, 512, 1},  {"gan output", 16, 2, 512, 1},
              {"class. conv1_1", 1, 16, 512, 1}, {"16 -> 16 @512", 16, 16, 512, 1}, {"dilated", 16, 4, 128, 2},
              {"reg. full dec.", 32, 16, 512, 1}};
  } else if (f43) {  // HW at 512 x 512 model input (--train: a quarter)
    layers = std::vector<Layer>{{"patchgan 4x4", 128, 256, 64, 1},   {"patchgan 4x4 2x", 128, 256, 128, 1},
              {"patchgan 4x4 4x", 128, 256, 256, 1}, {"4x4 @8", 128, 256, 32, 1},
              {"4x4 @5", 128, 256, 20, 1},           {"4x4 64->128", 64, 128, 64, 1},
              {"4x4 32->32", 32, 32, 64, 1}};
  } else {
    layers = std::vector<Layer>{{"resnet l1 (c)", 32, 32, 128, 1},   {"resnet l2 (c)", 64, 64, 64, 1},
              {"resnet l3 (c)", 128, 128, 32, 1},  {"resnet l4 (c)", 256, 256, 16, 1},
              {"gan fuse1 (c)", 256, 128, 32, 1},  {"gan fuse2 (c)", 128, 64, 64, 1},
              {"gan fuse3 (c)", 64, 32, 128, 1},   {"gan fuse4 (c)", 64, 32, 256, 1},
              {"reg. dec3 (c)", 16, 16, 256, 1},   {"class b2 (c)", 16, 32, 256, 1},
              {"class b3 (c)", 32, 64, 128, 1},    {"class b3' (c)", 64, 64, 128, 1},
              {"class b4 (c)", 64, 128, 64, 1},    {"class b4' (c)", 128, 128, 64, 1},
              {"class dil (c)", 128, 128, 64, 2},  {"resnet l1 (f)", 64, 64, 128, 1},
              {"resnet l2 (f)", 128, 128, 64, 1},  {"resnet l3 (f)", 256, 256, 32, 1},
              {"resnet l4 (f)", 512, 512, 16, 1},  {"class dil (f)", 512, 512, 64, 2},
              {"class head (f)", 256, 256, 128, 1}};
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("%-15s %4s %4s %4s %3s %3s | %9s %7s | %9s %7s | %9s %7s | %6s %6s\n", "layer", "C", "K", "HW", "dil",
              "thr", "im2col ms", "GFLOP/s", "blocked", "GFLOP/s", direct ? "direct ms" : "wino ms", "GFLOP/s",
              "%im2c", "%blk");
  for (const Layer& L : layers) {
    if (std::string(L.what).find(only) == std::string::npos) continue;
    Conv2dParams p;
    p.N = train ? (std::getenv("WGRAD_BATCH") ? std::atoi(std::getenv("WGRAD_BATCH")) : 8) : 1, p.C = L.C;
    p.H = p.W = train ? L.HW / 4 : L.HW, p.K = L.K, p.R = p.S = R;
    p.pad_h = p.pad_w = p.dil_h = p.dil_w = L.dil;  // f43: pad 1, dilation 1
    p.finalize();
    const bool blocked = !bwd && !wgrad && cpu::conv2d_blocked_supported(p);
    // bwd: dy in x, dx in y; wgrad: x in x, dy in y
    const size_t xs = (size_t)p.N * p.C * p.H * p.W, ys = (size_t)p.N * p.K * p.P * p.Q;
    g_dw.assign((size_t)p.K * p.C * R * R, 0.0f);
    std::vector<float> x(std::max(xs, ys)), w((size_t)p.K * p.C * R * R), b(p.K), y(std::max(xs, ys));
    for (auto& v : x) v = u(rng);
    for (auto& v : y) v = u(rng);
    for (auto& v : w) v = u(rng);
    for (auto& v : b) v = u(rng);
    const double gflop = 2.0 * p.N * p.K * p.C * R * R * p.P * p.Q * 1e-9;
    for (int thr : {1, 2}) {
      if (threads_only > 0 && thr != threads_only) continue;
      omp_set_num_threads(thr);
      time_ms(base, p, x, w, b, y);  // warm the workspaces
      if (blocked) time_ms(blocked_with_bias, p, x, w, b, y);
      time_ms(variant, p, x, w, b, y);
      std::vector<double> ta, tk, tb;
      for (int r = 0; r < reps; ++r) {
        ta.push_back(time_ms(base, p, x, w, b, y));
        if (blocked) tk.push_back(time_ms(blocked_with_bias, p, x, w, b, y));
        tb.push_back(time_ms(variant, p, x, w, b, y));
      }
      std::sort(ta.begin(), ta.end());
      std::sort(tk.begin(), tk.end());
      std::sort(tb.begin(), tb.end());
      const double a = ta[reps / 2], k = blocked ? tk[reps / 2] : 0.0, c = tb[reps / 2];
      char kb[64] = "        -       - |", kp[16] = "     -";
      if (blocked) {
        std::snprintf(kb, sizeof kb, " %9.3f %7.1f |", k, gflop / k * 1e3);
        std::snprintf(kp, sizeof kp, " %5.0f%%", 100.0 * k / c);
      }
      std::printf("%-15s %4d %4d %4d %3d %3d | %9.3f %7.1f |%s %9.3f %7.1f | %5.0f%%%s\n", L.what, p.C, p.K, p.H,
                  L.dil, thr, a, gflop / a * 1e3, kb, c, gflop / c * 1e3, 100.0 * a / c, kp);
      std::fflush(stdout);
    }
  }
}
