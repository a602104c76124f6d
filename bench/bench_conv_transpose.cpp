// bench_conv_transpose.cpp — the transposed convolution 4x4 stride 2 pad 1 as
// GEMM + col2im (conv/cpu.cpp's backward-data) against the phase-wise path
// (kernels/conv/cpu_transpose_phases.cpp) on the models' 512x512-forward
// deconv layers (with their folded batch norm + ReLU as the epilogue) and on
// the PatchGAN discriminator's stride-2 backward-data (batch 4, 256x256
// crops, no epilogue), at 1 and 2 threads, interleaved (A, B, A, B, ...; the
// median of each) so both see the same load. Prints ms, GFLOP/s (2 Cin Cout
// 16 Hin Win N) and the phase path's speed as % of the GEMM's.
//   ./bench_conv_transpose [reps=5] [filter]
// filter: only the layers whose name contains it.
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
void conv_transpose2d_fwd_gemm_for_bench(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                         float* y);
}

namespace {
struct Layer {
  const char* what;
  int N, cin, cout, hin;  // ConvTranspose2d(cin -> cout, 4, 2, 1) on [N, cin, hin, hin]
  bool epilogue;          // the decoders' batch norm + ReLU (the discriminator's backward-data has none)
};

using Fn = void (*)(const Conv2dParams&, const float*, const float*, const cpu::Epilogue&, float*);
double time_ms(Fn f, const Conv2dParams& p, const std::vector<float>& x, const std::vector<float>& w,
               const cpu::Epilogue& e, std::vector<float>& y) {
  const auto t0 = std::chrono::steady_clock::now();
  f(p, x.data(), w.data(), e, y.data());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const char* filter = argc > 2 ? argv[2] : "";
  Conv2dParams probe;
  probe.finalize();
  if (!cpu::conv_transpose2d_phases_supported(probe)) {
    std::printf("the phase-wise transposed convolution needs the avx512 kernel set (this run: %s)\n",
                cpu::cpu_kernels_name(cpu::cpu_kernels()));
    return 0;
  }
  // The deconvs of each model's 512x512 forward (models/*.cpp); "disc" is the
  // PatchGAN's stride-2 4x4 convs' backward-data (C = the conv's input channels).
  const std::vector<Layer> layers = {
      {"reg-c 64->32@64", 1, 64, 32, 64, true},     {"reg-c 32->16@128", 1, 32, 16, 128, true},
      {"reg-c 16->8@256", 1, 16, 8, 256, true},     {"reg-f 128->64@64", 1, 128, 64, 64, true},
      {"reg-f 64->32@128", 1, 64, 32, 128, true},   {"reg-f 32->16@256", 1, 32, 16, 256, true},
      {"gan-c 256->128@16", 1, 256, 128, 16, true}, {"gan-c 128->64@32", 1, 128, 64, 32, true},
      {"gan-c 64->32@64", 1, 64, 32, 64, true},     {"gan-c 32->32@128", 1, 32, 32, 128, true},
      {"gan-c 32->16@256", 1, 32, 16, 256, true},   {"gan-f 512->256@16", 1, 512, 256, 16, true},
      {"gan-f 256->128@32", 1, 256, 128, 32, true}, {"gan-f 64->64@128", 1, 64, 64, 128, true},
      {"gan-f 64->32@256", 1, 64, 32, 256, true},   {"cls-c 128->64@64", 1, 128, 64, 64, true},
      {"cls-f 512->256@64", 1, 512, 256, 64, true}, {"disc-c 32->3@128", 4, 32, 3, 128, false},
      {"disc-c 64->32@64", 4, 64, 32, 64, false},   {"disc-c 128->64@32", 4, 128, 64, 32, false},
  };
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("%-20s %3s | %9s %8s | %9s %8s | %6s\n", "layer", "thr", "gemm ms", "GFLOP/s", "phases ms", "GFLOP/s",
              "speed");
  for (const Layer& L : layers) {
    if (!std::strstr(L.what, filter)) continue;
    Conv2dParams p;  // the conv2d whose backward-data this is
    p.N = L.N, p.C = L.cout, p.K = L.cin, p.H = p.W = 2 * L.hin, p.R = p.S = 4;
    p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1;
    p.finalize();
    std::vector<float> x((size_t)p.N * p.K * p.P * p.Q), w((size_t)p.K * p.C * 16), scale(p.C), shift(p.C),
        y((size_t)p.N * p.C * p.H * p.W);
    for (auto& v : x) v = u(rng);
    for (auto& v : w) v = u(rng);
    for (auto& v : scale) v = u(rng);
    for (auto& v : shift) v = u(rng);
    cpu::Epilogue e;
    if (L.epilogue) e.scale = scale.data(), e.shift = shift.data(), e.has_act = true, e.act = Act::Relu;
    const double gflop = p.flops() * 1e-9;
    for (int thr : {1, 2}) {
      omp_set_num_threads(thr);
      time_ms(cpu::conv_transpose2d_fwd_gemm_for_bench, p, x, w, e, y);  // warm the workspaces
      time_ms(cpu::conv_transpose2d_fwd_phases, p, x, w, e, y);
      std::vector<double> ta, tb;
      for (int r = 0; r < reps; ++r) {
        ta.push_back(time_ms(cpu::conv_transpose2d_fwd_gemm_for_bench, p, x, w, e, y));
        tb.push_back(time_ms(cpu::conv_transpose2d_fwd_phases, p, x, w, e, y));
      }
      std::sort(ta.begin(), ta.end());
      std::sort(tb.begin(), tb.end());
      const double a = ta[reps / 2], c = tb[reps / 2];
      std::printf("%-20s %3d | %9.3f %8.1f | %9.3f %8.1f | %5.0f%%\n", L.what, thr, a, gflop / a * 1e3, c,
                  gflop / c * 1e3, 100.0 * a / c);
      std::fflush(stdout);
    }
  }
}
