// bench_conv_s2.cpp — the models' stride-2 convolutions, each pass through the
// public entry points (cpu::conv2d_fwd / conv2d_bwd_data / conv2d_bwd_filter,
// so whichever path their rules pick), with the stride-2 column phases of
// kernels/conv/cpu.cpp off (A: the strided gather / scatter) and on (B),
// switched in one binary with set_conv_s2_phases and interleaved (A, B, A,
// B, ...; the median of each) so both see the same load. Prints ms, GFLOP/s
// (2 N K C R S P Q) and B's speed-up; the path column says which kernel the
// pass runs (only "im2col" / "gemm" / "gemm+col2im" rows use the phases).
//   ./bench_conv_s2 [reps=7] [substring of the layer names] [threads: 1 or 2 only]
// Shapes: the training step's (batch 8, 128x128 model input) by default;
// --infer: the 512x512 inference forward's (batch 1, sizes x4, forward only).
// BENCH_CPU_TIME=1: the process's CPU time instead of wall time.
// Layers: the PatchGAN discriminator's 4x4 stride-2 convs (pad 1), the
// classification model's 3x3 stride-2 convs (compact preset, base 16), the
// ResNet-18 encoders' stride-2 3x3 convs and 1x1 shortcuts (compact, base 32)
// and its 7x7 stem.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

using namespace tinct;

namespace {

struct Layer {
  const char* what;
  int C, K, R, HW, pad;  // HW: the input size at 128x128 model input
};

double now_ms() {
  static const bool cpu = std::getenv("BENCH_CPU_TIME") != nullptr;
  if (cpu) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double time_ms(const std::function<void()>& f) {
  const double t0 = now_ms();
  f();
  return now_ms() - t0;
}

const char* path_of(const Conv2dParams& p, int pass) {
  if (pass == 0)
    return cpu::conv2d_winograd_pays(p) ? "winograd"
           : cpu::conv2d_direct_pays(p) ? "direct"
           : cpu::conv2d_thin_pays(p, cpu::ThinPass::Fwd) ? "thin"
           : cpu::conv2d_blocked_pays(p) ? "blocked"
                                         : "im2col";
  if (pass == 1)
    return cpu::conv_transpose2d_phases_pays(p) ? "phases"
           : cpu::conv2d_thin_pays(p, cpu::ThinPass::BwdData) ? "thin"
                                                               : "gemm+col2im";
  return cpu::conv2d_thin_pays(p, cpu::ThinPass::BwdFilter)  ? "thin"
         : cpu::conv2d_bwd_filter_stem_pays(p)                ? "stem"
                                                               : "gemm";
}

}  // namespace

int main(int argc, char** argv) {
  const bool infer = argc > 1 && std::string(argv[1]) == "--infer";
  if (infer) --argc, ++argv;
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const std::string only = argc > 2 ? argv[2] : "";
  const int threads_only = argc > 3 ? std::atoi(argv[3]) : 0;
  const Layer layers[] = {
      {"gan D1 4x4", 3, 32, 4, 128, 1},     {"gan D2 4x4", 32, 64, 4, 64, 1},
      {"gan D3 4x4", 64, 128, 4, 32, 1},    {"class 16 3x3", 16, 16, 3, 128, 1},
      {"class 32 3x3", 32, 32, 3, 64, 1},   {"class 64 3x3", 64, 64, 3, 32, 1},
      {"resnet 32-64 3x3", 32, 64, 3, 32, 1}, {"resnet 64-128 3x3", 64, 128, 3, 16, 1},
      {"resnet 128-256 3x3", 128, 256, 3, 8, 1}, {"resnet 32-64 1x1", 32, 64, 1, 32, 0},
      {"resnet stem 7x7", 1, 32, 7, 128, 3},
  };
  const bool saved = cpu::conv_s2_phases();
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("kernel set %s, %s, %d reps\n", cpu::cpu_kernels_name(cpu::cpu_kernels()),
              infer ? "inference (batch 1, 512x512 model input)" : "training (batch 8, 128x128 model input)", reps);
  std::printf("%-19s %-10s %-12s %3s | %9s %7s | %9s %7s | %6s\n", "layer", "pass", "path", "thr", "gather ms",
              "GFLOP/s", "phases ms", "GFLOP/s", "B/A");
  for (const Layer& L : layers) {
    if (std::string(L.what).find(only) == std::string::npos) continue;
    Conv2dParams p;
    p.N = infer ? 1 : 8, p.C = L.C, p.H = p.W = infer ? 4 * L.HW : L.HW, p.K = L.K, p.R = p.S = L.R;
    p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = L.pad;
    p.finalize();
    const size_t xs = (size_t)p.N * p.C * p.H * p.W, ys = (size_t)p.N * p.K * p.P * p.Q,
                 ws = (size_t)p.K * p.C * p.R * p.S;
    std::vector<float> x(xs), dx(xs), w(ws), dw(ws), b(p.K), db(p.K), y(ys), dy(ys);
    for (auto* v : {&x, &w, &b, &dy})
      for (auto& e : *v) e = u(rng);
    const double gflop = 2.0 * p.N * p.K * p.C * p.R * p.S * p.P * p.Q * 1e-9;
    const std::function<void()> passes[3] = {
        [&] { cpu::conv2d_fwd(p, x.data(), w.data(), b.data(), y.data()); },
        [&] { cpu::conv2d_bwd_data(p, dy.data(), w.data(), dx.data()); },
        [&] { cpu::conv2d_bwd_filter(p, x.data(), dy.data(), dw.data(), db.data()); }};
    const char* names[3] = {"fwd", "bwd-data", "bwd-filter"};
    for (int pass = 0; pass < (infer ? 1 : 3); ++pass) {
      for (int thr : {1, 2}) {
        if (threads_only > 0 && thr != threads_only) continue;
        omp_set_num_threads(thr);
        for (bool on : {false, true}) cpu::set_conv_s2_phases(on), passes[pass]();  // warm the workspaces
        std::vector<double> ta, tb;
        for (int r = 0; r < reps; ++r) {
          cpu::set_conv_s2_phases(false);
          ta.push_back(time_ms(passes[pass]));
          cpu::set_conv_s2_phases(true);
          tb.push_back(time_ms(passes[pass]));
        }
        std::sort(ta.begin(), ta.end());
        std::sort(tb.begin(), tb.end());
        const double a = ta[reps / 2], c = tb[reps / 2];
        std::printf("%-19s %-10s %-12s %3d | %9.3f %7.1f | %9.3f %7.1f | %5.2fx\n", L.what, names[pass],
                    path_of(p, pass), thr, a, gflop / a * 1e3, c, gflop / c * 1e3, a / c);
      }
    }
  }
  cpu::set_conv_s2_phases(saved);
  return 0;
}
