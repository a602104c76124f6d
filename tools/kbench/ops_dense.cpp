// ops_dense.cpp — tinct-kbench's GEMM, convolution and fused-epilogue families
// (kernels/gemm/, kernels/conv/, kernels/epilogue/).
#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "tools/kbench/kbench.h"

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif
#ifdef TINCT_KBENCH_CUBLAS
#include <cublas_v2.h>
#endif

namespace tinct::kbench {

namespace {

struct Gemm {
  bool ta, tb;
  int M, N, K;
  int lda() const { return ta ? M : K; }
  int ldb() const { return tb ? K : N; }
};
Gemm gemm_of(const Shape& s) {
  Gemm g{s.i("ta", 0) != 0, s.i("tb", 0) != 0, s.i("m", 37), s.i("n", 29), s.i("k", 53)};
  if (g.M < 1 || g.N < 1 || g.K < 1) throw std::invalid_argument("sgemm wants --m, --n, --k >= 1");
  return g;
}
constexpr float kAlpha = 1.3f, kBeta = 0.7f;

// The error allowed a sum of `len` products: float rounding grows with the
// length of the sum (about 3e-7 len measured at K = 512: 1.7e-4), so the
// tolerance is max(base, 1e-6 len).
double reduction_tol(double base, double len) { return std::max(base, 1e-6 * len); }

void sgemm_cpu_set(cpu::CpuKernels set, const Shape& s, const Ptrs& p) {
  const Gemm g = gemm_of(s);
  const cpu::CpuKernels saved = cpu::cpu_kernels();
  cpu::set_cpu_kernels(set);
  cpu::sgemm(g.ta, g.tb, g.M, g.N, g.K, kAlpha, at<float>(p, 0), g.lda(), at<float>(p, 1), g.ldb(), kBeta,
             at<float>(p, 2), g.N);
  cpu::set_cpu_kernels(saved);
}

Variant cpu_set_variant(cpu::CpuKernels set) {
  Variant v;
  v.name = std::string("cpu_") + cpu::cpu_kernels_name(set);
  v.where = std::string("kernels/gemm/cpu.cpp + cpu_") + cpu::cpu_kernels_name(set) + ".cpp";
  v.run = [set](const Shape& s, const Ptrs& p) { sgemm_cpu_set(set, s, p); };
  v.unsupported = [set](const Shape&) {
    return cpu::cpu_kernels_supported(set) ? std::string() : std::string("this processor lacks the instructions");
  };
  return v;
}

#ifdef TINCT_KBENCH_CUBLAS
cublasHandle_t cublas() {
  static cublasHandle_t h = [] {
    cublasHandle_t x;
    if (cublasCreate(&x) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
    cublasSetMathMode(x, CUBLAS_DEFAULT_MATH);  // FP32, no TF32
    return x;
  }();
  return h;
}
#endif

std::string winograd_only(const Shape& s) {
  return cpu::conv2d_winograd_supported(conv_params(s))
             ? std::string()
             : std::string("Winograd F(4x4,3x3) wants 3x3, stride 1, pad a multiple of the dilation, <= 2x it");
}

// The operands of the three convolution passes.
Problem conv_problem(const Shape& s, int pass) {
  const Conv2dParams p = conv_params(s);
  const size_t nx = size_t(p.N) * p.C * p.H * p.W, nw = size_t(p.K) * p.C * p.R * p.S,
               ny = size_t(p.N) * p.K * p.P * p.Q;
  Problem pr;
  if (pass == 0) pr.bufs = {{"x", nx}, {"w", nw}, {"b", size_t(p.K)}, {"y", ny, Buf::Out}};
  if (pass == 1) pr.bufs = {{"dy", ny}, {"w", nw}, {"dx", nx, Buf::Out}};
  if (pass == 2) pr.bufs = {{"x", nx}, {"dy", ny}, {"dw", nw, Buf::InOut}, {"db", size_t(p.K), Buf::InOut}};
  pr.flops = p.flops();
  pr.bytes = p.bytes();
  // Winograd's transforms round more than a direct sum; longer sums round more.
  const double len = pass == 0 ? double(p.C) * p.R * p.S : pass == 1 ? double(p.K) * p.R * p.S : double(p.N) * p.P * p.Q;
  pr.tol = reduction_tol(1e-3, len);
  return pr;
}

}  // namespace

void register_dense() {
  // --- gemm -------------------------------------------------------------------
  {
    Op& op = add_op(
        "gemm", "sgemm", "C[M,N] = 1.3 op(A) op(B) + 0.7 C, row-major (--m --n --k --ta --tb)",
        [](const Shape& s) {
          const Gemm g = gemm_of(s);
          Problem pr;
          pr.bufs = {{"A", size_t(g.M) * g.K}, {"B", size_t(g.K) * g.N}, {"C", size_t(g.M) * g.N, Buf::InOut}};
          pr.flops = 2.0 * g.M * g.N * g.K;
          pr.tol = reduction_tol(1e-4, g.K);
          return pr;
        },
        [](const Shape& s, const Ptrs& p) {
          const Gemm g = gemm_of(s);
          cpu::sgemm_ref(g.ta, g.tb, g.M, g.N, g.K, kAlpha, at<float>(p, 0), g.lda(), at<float>(p, 1), g.ldb(), kBeta,
                         at<float>(p, 2), g.N);
        });
    op.variants.push_back({"cpu", "kernels/gemm/cpu.cpp (the kernel set in use)", false, [](const Shape& s, const Ptrs& p) {
                             const Gemm g = gemm_of(s);
                             cpu::sgemm(g.ta, g.tb, g.M, g.N, g.K, kAlpha, at<float>(p, 0), g.lda(), at<float>(p, 1),
                                        g.ldb(), kBeta, at<float>(p, 2), g.N);
                           }});
    for (auto set : {cpu::CpuKernels::Avx512, cpu::CpuKernels::Avx2, cpu::CpuKernels::Generic})
      op.variants.push_back(cpu_set_variant(set));
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/gemm/cuda_1_tiled.cu", true, [](const Shape& s, const Ptrs& p) {
                             const Gemm g = gemm_of(s);
                             cuda::sgemm(g.ta, g.tb, g.M, g.N, g.K, kAlpha, at<float>(p, 0), g.lda(), at<float>(p, 1),
                                         g.ldb(), kBeta, at<float>(p, 2), g.N);
                           }});
#endif
#ifdef TINCT_KBENCH_CUBLAS
    op.variants.push_back({"0", "cuBLAS cublasSgemm (FP32, no TF32)", true, [](const Shape& s, const Ptrs& p) {
                             const Gemm g = gemm_of(s);
                             // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
                             if (cublasSgemm(cublas(), g.tb ? CUBLAS_OP_T : CUBLAS_OP_N, g.ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                             g.N, g.M, g.K, &kAlpha, at<float>(p, 1), g.ldb(), at<float>(p, 0), g.lda(),
                                             &kBeta, at<float>(p, 2), g.N) != CUBLAS_STATUS_SUCCESS)
                               throw std::runtime_error("cublasSgemm failed");
                           }});
#endif
  }

  // --- conv ---------------------------------------------------------------------
  const char* conv_shape = "(--n --c --h --w --k --r --s --stride --pad --dil)";
  {
    Op& op = add_op(
        "conv", "conv2d_fwd", std::string("y = conv(x, w) + b ") + conv_shape,
        [](const Shape& s) { return conv_problem(s, 0); },
        [](const Shape& s, const Ptrs& p) {
          cpu::conv2d_fwd_ref(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2), at<float>(p, 3));
        });
    op.variants.push_back({"cpu", "kernels/conv/cpu.cpp (picks direct, Winograd or im2col + GEMM)", false,
                           [](const Shape& s, const Ptrs& p) {
                             cpu::conv2d_fwd(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                             at<float>(p, 3));
                           }});
    op.variants.push_back({"cpu_direct", "kernels/conv/cpu_direct.cpp (+ _avx512, _avx2)", false,
                           [](const Shape& s, const Ptrs& p) {
                             cpu::Epilogue e;
                             e.shift = at<float>(p, 2);
                             cpu::conv2d_fwd_direct(conv_params(s), at<float>(p, 0), at<float>(p, 1), e, at<float>(p, 3));
                           },
                           [](const Shape& s) {
                             return cpu::conv2d_direct_supported(conv_params(s))
                                        ? std::string()
                                        : std::string("direct convolution wants K <= 16, stride 1 and an AVX2/AVX-512 kernel set");
                           }});
    op.variants.push_back({"cpu_winograd", "kernels/conv/cpu_winograd.cpp", false,
                           [](const Shape& s, const Ptrs& p) {
                             cpu::conv2d_fwd_winograd(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                      at<float>(p, 3));
                           },
                           winograd_only});
    op.variants.push_back({"ref_winograd", "kernels/conv/ref_winograd.cpp (the algorithm's specification)", false,
                           [](const Shape& s, const Ptrs& p) {
                             cpu::conv2d_fwd_winograd_ref(conv_params(s), at<float>(p, 0), at<float>(p, 1),
                                                          at<float>(p, 2), at<float>(p, 3));
                           },
                           winograd_only});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/conv/cuda_1_naive.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_fwd_naive(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                    at<float>(p, 3));
                           }});
    op.variants.push_back({"2", "kernels/conv/cuda_2_igemm.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_fwd_igemm(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                    at<float>(p, 3));
                           }});
    op.variants.push_back({"3", "kernels/conv/cuda_3_winograd.cu", true,
                           [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_fwd_winograd(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                       at<float>(p, 3));
                           },
                           winograd_only});
    op.variants.push_back({"dispatch", "kernels/conv/dispatch.cu (what the engine runs)", true,
                           [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_fwd(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                              at<float>(p, 3));
                           }});
#endif
  }
  {
    Op& op = add_op(
        "conv", "conv2d_bwd_data", std::string("dx = conv2d backward-data (conv_transpose2d forward) ") + conv_shape,
        [](const Shape& s) { return conv_problem(s, 1); },
        [](const Shape& s, const Ptrs& p) {
          cpu::conv2d_bwd_data_ref(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2));
        });
    op.variants.push_back({"cpu", "kernels/conv/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                             cpu::conv2d_bwd_data(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2));
                           }});
    op.variants.push_back({"ref_winograd", "kernels/conv/ref_winograd.cpp", false,
                           [](const Shape& s, const Ptrs& p) {
                             cpu::conv2d_bwd_data_winograd_ref(conv_params(s), at<float>(p, 0), at<float>(p, 1),
                                                               at<float>(p, 2));
                           },
                           winograd_only});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/conv/cuda_1_naive.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_bwd_data_naive(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2));
                           }});
    op.variants.push_back({"2", "kernels/conv/cuda_2_igemm.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_bwd_data_igemm(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2));
                           }});
    op.variants.push_back({"3", "kernels/conv/cuda_3_winograd.cu", true,
                           [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_bwd_data_winograd(conv_params(s), at<float>(p, 0), at<float>(p, 1),
                                                            at<float>(p, 2));
                           },
                           winograd_only});
    op.variants.push_back({"dispatch", "kernels/conv/dispatch.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_bwd_data(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2));
                           }});
#endif
  }
  {
    Op& op = add_op(
        "conv", "conv2d_bwd_filter", std::string("dw += dL/dw, db += sum dy ") + conv_shape,
        [](const Shape& s) { return conv_problem(s, 2); },
        [](const Shape& s, const Ptrs& p) {
          cpu::conv2d_bwd_filter_ref(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2), at<float>(p, 3));
        });
    op.variants.push_back({"cpu", "kernels/conv/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                             cpu::conv2d_bwd_filter(conv_params(s), at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                    at<float>(p, 3));
                           }});
    op.variants.push_back({"ref_winograd", "kernels/conv/ref_winograd.cpp (db by bias/ref.cpp)", false,
                           [](const Shape& s, const Ptrs& p) {
                             const Conv2dParams c = conv_params(s);
                             cpu::conv2d_bwd_filter_winograd_ref(c, at<float>(p, 0), at<float>(p, 1), at<float>(p, 2));
                             cpu::bias_grad_ref(c.N, c.K, c.P * c.Q, at<float>(p, 1), at<float>(p, 3));
                           },
                           winograd_only});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/conv/cuda_1_naive.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::conv2d_bwd_filter_naive(conv_params(s), at<float>(p, 0), at<float>(p, 1),
                                                           at<float>(p, 2), at<float>(p, 3));
                           }});
    op.variants.push_back({"2", "kernels/conv/cuda_2_igemm.cu (split-K)", true, [](const Shape& s, const Ptrs& p) {
                             const Conv2dParams c = conv_params(s);
                             const size_t ws = cuda::conv2d_bwd_filter_igemm_workspace_bytes(c);
                             cuda::conv2d_bwd_filter_igemm(c, at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                           at<float>(p, 3), gpu_scratch(ws), ws);
                           }});
    op.variants.push_back({"3", "kernels/conv/cuda_3_winograd.cu", true,
                           [](const Shape& s, const Ptrs& p) {
                             const Conv2dParams c = conv_params(s);
                             const size_t ws = cuda::conv2d_bwd_filter_winograd_workspace_bytes(c);
                             cuda::conv2d_bwd_filter_winograd(c, at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                              at<float>(p, 3), gpu_scratch(ws), ws);
                           },
                           winograd_only});
    op.variants.push_back({"dispatch", "kernels/conv/dispatch.cu", true, [](const Shape& s, const Ptrs& p) {
                             const Conv2dParams c = conv_params(s);
                             const size_t ws = cuda::conv2d_bwd_filter_workspace_bytes(c);
                             cuda::conv2d_bwd_filter(c, at<float>(p, 0), at<float>(p, 1), at<float>(p, 2),
                                                     at<float>(p, 3), gpu_scratch(ws), ws);
                           }});
#endif
  }

  // --- epilogue -----------------------------------------------------------------
  {
    // y[n,k,i] = post_scale[k] * act(scale[k] y + shift[k] + residual) + post_shift[k]
    auto epi = [](const Shape& s, const Ptrs& p) {
      cpu::Epilogue e;
      e.scale = at<float>(p, 1), e.shift = at<float>(p, 2), e.residual = at<float>(p, 3);
      e.post_scale = at<float>(p, 4), e.post_shift = at<float>(p, 5);
      e.has_act = true, e.act = act_of(s), e.slope = 0.1f;
      return e;
    };
    auto dims = [](const Shape& s) {
      const int N = s.i("n", 2), K = s.i("k", 7), HW = s.i("hw", 37);
      if (N < 1 || K < 1 || HW < 1) throw std::invalid_argument("epilogue wants --n, --k, --hw >= 1");
      return std::array<int, 3>{N, K, HW};
    };
    Op& op = add_op(
        "epilogue", "epilogue",
        "y = post_scale act(scale y + shift + residual) + post_shift per channel (--n --k --hw --act)",
        [dims](const Shape& s) {
          const auto d = dims(s);
          act_of(s);
          const size_t n = size_t(d[0]) * d[1] * d[2], k = size_t(d[1]);
          Problem pr;
          pr.bufs = {{"y", n, Buf::InOut}, {"scale", k}, {"shift", k}, {"residual", n}, {"post_scale", k}, {"post_shift", k}};
          return pr;
        },
        [epi, dims](const Shape& s, const Ptrs& p) {
          const auto d = dims(s);
          cpu::epilogue_ref(epi(s, p), d[0], d[1], d[2], at<float>(p, 0));
        });
    op.variants.push_back({"cpu", "kernels/epilogue/cpu.cpp (per image, as the convolutions call it)", false,
                           [epi, dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             const cpu::Epilogue e = epi(s, p);
                             for (int n = 0; n < d[0]; ++n)
                               cpu::epilogue_strip(e, n, d[1], d[2], 0, d[1], 0, d[2],
                                                   at<float>(p, 0) + size_t(n) * d[1] * d[2]);
                           }});
  }
}

}  // namespace tinct::kbench
