// kernels.h — the kernel API of tinct.
//
// Kernels see raw pointers and small parameter structs, never a Tensor. Every
// tensor is float32, contiguous, NCHW. Each op family has a folder
// kernels/<family>/ (kernels/README.md) holding:
//   cpu::<op>_ref   ref.cpp: the readable reference, the specification, plain
//                   single-threaded loops a student can check by hand; the
//                   oracle of every test and of tinct-kbench;
//   cpu::<op>       cpu*.cpp: the fast CPU path the engine runs (where a family
//                   has none, e.g. sum, mse, l1, the engine runs the reference);
//   cuda::<op>      cuda_<N>_<name>.cu: the hand-written CUDA kernels, variant N
//                   (declared in kernels/cuda.h); dispatch.cu where a family
//                   has several and picks one per shape.
// Backward kernels that produce a parameter gradient ACCUMULATE into it
// (dw += ...), because a parameter used twice sums its gradients; kernels that
// produce an activation gradient OVERWRITE (dx = ...) unless documented.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinct {

// ---------------------------------------------------------------------------
// Convolution geometry. A conv2d maps x[N,C,H,W] with w[K,C,R,S] (+ bias[K])
// to y[N,K,P,Q]. conv_transpose2d with weight [Cin,Cout,R,S] is described by
// the conv2d whose backward-data it is: C = Cout, K = Cin, (H,W) = its output
// size, (P,Q) = its input size (see ConvTranspose in engine/ops).
struct Conv2dParams {
  int N = 1, C = 1, H = 1, W = 1;  // input
  int K = 1, R = 1, S = 1;         // output channels, kernel height, width
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  int P = 1, Q = 1;                // output height, width (set by finalize())

  // Computes P and Q from the rest; returns false if the output is empty.
  bool finalize() {
    P = (H + 2 * pad_h - dil_h * (R - 1) - 1) / stride_h + 1;
    Q = (W + 2 * pad_w - dil_w * (S - 1) - 1) / stride_w + 1;
    return P > 0 && Q > 0 && H + 2 * pad_h - dil_h * (R - 1) - 1 >= 0 &&
           W + 2 * pad_w - dil_w * (S - 1) - 1 >= 0;
  }
  // Multiply-adds count as 2 flops; the same count for fwd, bwd-data, bwd-filter.
  double flops() const { return 2.0 * N * K * P * Q * double(C) * R * S; }
  double bytes() const {
    return 4.0 * (double(N) * C * H * W + double(K) * C * R * S + double(N) * K * P * Q);
  }
};

struct Pool2dParams {
  int N = 1, C = 1, H = 1, W = 1;
  int kh = 2, kw = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
  int P = 1, Q = 1;
  bool finalize() {
    P = (H + 2 * pad_h - kh) / stride_h + 1;
    Q = (W + 2 * pad_w - kw) / stride_w + 1;
    return P > 0 && Q > 0 && pad_h * 2 <= kh && pad_w * 2 <= kw;
  }
};

enum class Act { Relu, LeakyRelu, Tanh, Sigmoid };
enum class Upsample { Nearest, Bilinear };

// The arithmetic of the operands of convolutions and matrix products
// (engine/precision.h sets it for a run; kernels/tensorcore/tensorcore.h
// defines the roundings): fp32 as stored, or each operand rounded to TF32 /
// BF16 before an exact product, fp32 accumulation.
enum class Precision { fp32, tf32, bf16 };

namespace cpu {

// --- GEMM (kernels/gemm/: ref.cpp, cpu.cpp + cpu_{avx512,avx2,generic}.cpp) --
// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
// op(A) = A (lda >= K) or A^T (A stored [K,M], lda >= M); likewise B.
// beta == 0 means C is not read (may hold NaN).
void sgemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
               const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);
// Cache-blocked, vectorised, OpenMP-parallel. Same contract as sgemm_ref.
void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc);

// --- CPU kernel sets (kernels/common/cpu_features.cpp) ----------------------
// The GEMM micro-kernels (and so conv2d) exist per instruction set; one set is
// chosen once at start-up: the best the processor runs (cpuid), or the one
// named by TINCT_CPU_KERNELS=avx512|avx2|generic (a set the processor lacks,
// or an unknown name, is an error at start-up: exit code 2).
enum class CpuKernels { Generic, Avx2, Avx512 };
const char* cpu_kernels_name(CpuKernels k);  // "generic", "avx2", "avx512"
// Compiled into this binary and runnable on this processor.
bool cpu_kernels_supported(CpuKernels k);
// The set in use.
CpuKernels cpu_kernels();
// Switches the set in use (tests, benchmarks); throws std::invalid_argument
// if it is not supported. Not to be called while kernels run on other threads.
void set_cpu_kernels(CpuKernels k);

// --- The bf16 GEMM sets (kernels/gemm/cpu_amx.cpp, cpu_avx512bf16.cpp) ------
// The CPU arithmetic of Precision::bf16 where the processor has AMX-BF16 or
// AVX-512 BF16: operands rounded to bf16 (RNE, as bf16_from_float) while they
// are packed, products summed in fp32. Chosen at start-up by cpuid (AMX
// preferred; it also needs the OS's permission for the tile state),
// independently of the fp32 set; TINCT_CPU_BF16=off disables it (bf16 then
// rounds copies of the operands for the fp32 kernels), =amx / =avx512 force
// one set, =on the best one (exit code 2 if the forced one is missing).
enum class CpuBf16 { none, avx512, amx };
const char* cpu_bf16_name(CpuBf16 s);  // "none", "avx512-bf16", "amx-bf16"
bool cpu_bf16_supported(CpuBf16 s);    // compiled in and runnable here (none: always)
CpuBf16 cpu_bf16();                    // the set in use
// Switches sets (tests, benchmarks); throws std::invalid_argument for an
// unsupported one. Not while kernels run on other threads.
void set_cpu_bf16(CpuBf16 s);
bool cpu_bf16_gemm_supported();      // some bf16 set is compiled in and runnable here
bool cpu_bf16_gemm();                // a bf16 set is in use
const char* cpu_bf16_gemm_name();    // cpu_bf16_name(cpu_bf16())
// on: the best supported set (std::invalid_argument if none); off: none.
void set_cpu_bf16_gemm(bool on);
// sgemm's contract with op(A), op(B) rounded to bf16 and fp32 accumulation
// (gemm_bf16_ref on the rounded operands, up to the order of the additions).
// Requires cpu_bf16_gemm() (std::logic_error otherwise).
void sgemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                const float* B, int ldb, float beta, float* C, int ldc);

// --- conv2d (kernels/conv/: ref.cpp, cpu.cpp, cpu_direct*.cpp, cpu_winograd.cpp)
// y = conv(x, w) + b. b may be null.
void conv2d_fwd_ref(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
// dx = conv2d backward-data (overwrites dx).
void conv2d_bwd_data_ref(const Conv2dParams& p, const float* dy, const float* w, float* dx);
// dw += dL/dw, db += sum dy (db may be null).
void conv2d_bwd_filter_ref(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db);
// Fast path: im2col + sgemm, OpenMP over the batch. Same contracts.
void conv2d_fwd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
void conv2d_bwd_data(const Conv2dParams& p, const float* dy, const float* w, float* dx);
void conv2d_bwd_filter(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db);
// Fused inference forwards: the convolution, then an Epilogue on its output
// while it is still in cache (see below). conv2d_fwd is conv2d_fwd_fused
// with the bias as the epilogue's shift. conv_transpose2d_fwd_fused is the
// conv_transpose2d forward (the conv2d_bwd_data of p) with an epilogue on it.
struct Epilogue;
void conv2d_fwd_fused(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y);
void conv_transpose2d_fwd_fused(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                float* y);
// The same four at Precision::bf16 on the bf16 GEMM (requires cpu_bf16_gemm()):
// im2col + GEMM for every shape (no direct / blocked / Winograd path: those
// run fp32 arithmetic), the operands read as bf16, fp32 accumulation. The
// bias gradient (db) sums the unrounded dy.
void conv2d_fwd_fused_bf16(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y);
void conv2d_bwd_data_bf16(const Conv2dParams& p, const float* dy, const float* w, float* dx);
void conv2d_bwd_filter_bf16(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db);
void conv_transpose2d_fwd_fused_bf16(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                     float* y);
// Winograd F(4x4, 3x3) (kernels/conv/ref_winograd.cpp): the readable
// specification of the CUDA Winograd path; 3x3, stride 1, padding a multiple
// of the dilation, pad / dilation <= 2 (dilation d: d^2 phases of tiles).
bool conv2d_winograd_supported(const Conv2dParams& p);
// Winograd F(3x3, 4x4) (the same 6x6 tiles and B^T, 3x3 outputs a tile): 4x4,
// stride 1, dilation 1, padding <= 3. The forward, backward-data and
// backward-filter below (the refs and the fast paths) take these shapes too;
// the *_pays rules pick them only in a training step (TINCT_CONV_WINOGRAD43=0:
// never, =force: always).
bool conv2d_winograd43_supported(const Conv2dParams& p);
void conv2d_fwd_winograd_ref(const Conv2dParams& p, const float* x, const float* w, const float* b,
                             float* y);
void conv2d_bwd_data_winograd_ref(const Conv2dParams& p, const float* dy, const float* w, float* dx);  // overwrites dx
void conv2d_bwd_filter_winograd_ref(const Conv2dParams& p, const float* x, const float* dy, float* dw);  // dw +=
// Fast CPU Winograd forward (kernels/conv/cpu_winograd.cpp), same shapes and contract;
// conv2d_fwd uses it where conv2d_winograd_pays (TINCT_CONV_WINOGRAD=0: never, =force: always).
void conv2d_fwd_winograd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y);
void conv2d_fwd_winograd_fused(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                               float* y);
bool conv2d_winograd_pays(const Conv2dParams& p);
// conv2d_bwd_data of a 3x3 stride-1 conv as the Winograd forward of dy with the
// flipped, transposed filter (padding d or 2 d, or 0); conv2d_bwd_data uses it
// where conv2d_bwd_data_winograd_pays (the forward's rule on that shape).
bool conv2d_bwd_data_winograd_supported(const Conv2dParams& p);
bool conv2d_bwd_data_winograd_pays(const Conv2dParams& p);
void conv2d_bwd_data_winograd(const Conv2dParams& p, const float* dy, const float* w, float* dx);  // overwrites dx
// conv2d_bwd_filter's dw of a 3x3 stride-1 conv by Winograd (kernels/conv/
// cpu_winograd_wgrad.cpp; no bias gradient), where conv2d_bwd_filter_winograd_pays
// (the forward's rule; TINCT_CONV_WINOGRAD_DW=0 turns off only this pass).
bool conv2d_bwd_filter_winograd_pays(const Conv2dParams& p);
void conv2d_bwd_filter_winograd(const Conv2dParams& p, const float* x, const float* dy, float* dw);  // dw +=
// Winograd's transforms change the arithmetic, so it is not the "rounded
// operands, fp32 sums" that --precision tf32 / bf16 promise: the engine holds
// a WinogradOffScope(prec != fp32) around its CPU convolutions, which keeps
// conv2d_winograd_pays false on the calling thread (the thread that picks the path).
class WinogradOffScope {
 public:
  explicit WinogradOffScope(bool off);
  ~WinogradOffScope();
  WinogradOffScope(const WinogradOffScope&) = delete;
  WinogradOffScope& operator=(const WinogradOffScope&) = delete;

 private:
  bool saved_;
};
// While one lives on this thread with on = true, the CPU convolutions it
// runs are passes of a training step (engine/ops/conv.cpp opens one around
// the forward and backward-data of a conv2d that records gradients), and
// conv2d_winograd_pays takes the smaller layers whose filter transform a
// training batch amortises. The rule cannot look at the batch size itself:
// a data-parallel split changes it, and the path (so the rounding) of a layer
// must not change with it (tests/test_train_dist.cpp).
class WinogradTrainingScope {
 public:
  explicit WinogradTrainingScope(bool on);
  ~WinogradTrainingScope();
  WinogradTrainingScope(const WinogradTrainingScope&) = delete;
  WinogradTrainingScope& operator=(const WinogradTrainingScope&) = delete;

 private:
  bool saved_;
};
// Direct convolution (kernels/conv/cpu_direct.cpp), no im2col: the layers
// with few output channels (<= 16), stride 1 or 2, any padding and dilation, where
// im2col + GEMM spends its time packing C*R*S floats per output pixel for a
// handful of outputs. AVX-512 or AVX2 kernel sets; conv2d_fwd uses it where
// conv2d_direct_pays (TINCT_CONV_DIRECT=0: never, =force: every supported shape).
bool conv2d_direct_supported(const Conv2dParams& p);
bool conv2d_direct_pays(const Conv2dParams& p);
void conv2d_fwd_direct(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y);
// Blocked direct convolution (kernels/conv/cpu_blocked.cpp), no im2col: any
// K and C, column stride 1 or 2, any padding, dilation and row stride, on the
// AVX-512 kernel set; register tiles of several output channels x a row
// segment, input chunks kept in L1. conv2d_fwd uses it where
// conv2d_blocked_pays (TINCT_CONV_BLOCKED=0: never, =force: every supported shape).
bool conv2d_blocked_supported(const Conv2dParams& p);
bool conv2d_blocked_pays(const Conv2dParams& p);
void conv2d_fwd_blocked(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y);
// Thin convolution (kernels/conv/cpu_thin.cpp), no im2col: the three passes of
// a stride-1 convolution with K <= 4 output channels (the PatchGAN's last
// layer, 256 -> 1), any padding and dilation, each tap one long vector loop
// over a zero-padded plane; any kernel set. conv2d_fwd_fused (after the direct
// path), conv2d_bwd_data and conv2d_bwd_filter use it where conv2d_thin_pays
// (K = 1; TINCT_CONV_THIN=0: never, =force: every supported shape).
enum class ThinPass { Fwd, BwdData, BwdFilter };
bool conv2d_thin_supported(const Conv2dParams& p);
bool conv2d_thin_pays(const Conv2dParams& p, ThinPass pass);
void conv2d_fwd_thin(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y);
void conv2d_bwd_data_thin(const Conv2dParams& p, const float* dy, const float* w, float* dx);  // overwrites dx
void conv2d_bwd_filter_thin(const Conv2dParams& p, const float* x, const float* dy, float* dw,
                            float* db);  // dw +=, db +=
// Backward-filter of the stems (kernels/conv/cpu_stem_dw.cpp), no im2col: few
// input channels (C <= 4), any K, stride 1 or 2, any padding and dilation,
// each tap of each (k, c) one dot product over the image's phase planes (the
// thin convolution's row loops); any kernel set. conv2d_bwd_filter uses it
// where conv2d_bwd_filter_stem_pays (after the thin path; K > 4, >= 9 taps and
// C*R*S <= 32, where the GEMM's one column panel would run mostly empty;
// TINCT_CONV_STEM_DW=0: never, =force: every supported shape).
bool conv2d_bwd_filter_stem_supported(const Conv2dParams& p);
bool conv2d_bwd_filter_stem_pays(const Conv2dParams& p);
void conv2d_bwd_filter_stem(const Conv2dParams& p, const float* x, const float* dy, float* dw,
                            float* db);  // dw +=, db +=
// Transposed convolution by output phases (kernels/conv/cpu_transpose_phases.cpp),
// no column buffer: with stride s each of the s^2 output phases is a small
// stride-1 convolution of x with its own sub-kernel (2x2 for the decoders'
// 4x4 stride 2), run on the blocked convolution's register tiles. Dilation 1,
// any stride, kernel, padding and output size; the AVX-512 kernel set.
// conv_transpose2d_fwd_fused and conv2d_bwd_data use it where
// conv_transpose2d_phases_pays (TINCT_CONV_PHASES=0: never, =force: every supported shape).
bool conv_transpose2d_phases_supported(const Conv2dParams& p);
bool conv_transpose2d_phases_pays(const Conv2dParams& p);
void conv_transpose2d_fwd_phases(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                 float* y);
// Stride-2 forwards from column phases (kernels/conv/cpu.cpp): the im2col +
// GEMM forward of a stride_w == 2 layer (S >= 2, fp32 kernel sets) lowers
// from x's rows split into even and odd columns, so every tap's run of output
// pixels is contiguous, straight into the GEMM's panels; the same col, bit
// for bit. On
// by default (TINCT_CONV_S2_PHASES=0: the strided gather); set_conv_s2_phases
// switches it at run time (A/B benches, tests).
bool conv_s2_phases();
void set_conv_s2_phases(bool on);
// Small output planes (P*Q < 256, batch >= 2): the im2col + GEMM forward and
// backward-data put several images' columns side by side in one GEMM
// (kernels/conv/cpu.cpp); the same sums per column, so the same bits as one
// GEMM per image. On by default (TINCT_CONV_IMAGE_COLUMNS=0: per image);
// set_conv_image_columns switches it at run time (A/B benches, tests).
bool conv_image_columns();
void set_conv_image_columns(bool on);
// Pointwise forwards with an output image of 8 MiB or more (the
// classification head) compute each strip in cache, apply the epilogue there
// and copy it out with streaming stores: the same bits, without reading y
// from memory first. On by default (TINCT_CONV_STREAM=0: plain stores into y);
// set_conv_stream_output switches it at run time (A/B benches, tests).
bool conv_stream_output();
void set_conv_stream_output(bool on);
// im2col for one image: col[(c*R + r)*S + s][P*Q]; col2im accumulates back.
void im2col(const Conv2dParams& p, const float* x_img, float* col);
void col2im(const Conv2dParams& p, const float* col, float* dx_img);  // dx_img += ...

// --- fused epilogue (kernels/epilogue/) ------------------------------------
// What a fused inference convolution does to each output value v of channel
// k, in place, in this order (the eval-mode layers that follow a conv):
//   v = post_scale[k] * act(scale[k] * v + shift[k] + residual) + post_shift[k]
// A null pointer is the identity (scale and post_scale 1, the others 0);
// has_act false skips the activation. A conv bias b and an eval batch norm
// (gamma, beta, mean, var) before the activation fold into
//   scale = gamma / sqrt(var + eps),  shift = beta + (b - mean) * scale;
// one after it is (post_scale, post_shift). residual has y's layout [N,K,HW].
struct Epilogue {
  const float* scale = nullptr;
  const float* shift = nullptr;
  const float* residual = nullptr;
  bool has_act = false;
  Act act = Act::Relu;
  float slope = 0.0f;  // LeakyRelu
  const float* post_scale = nullptr;
  const float* post_shift = nullptr;
  bool identity() const { return !scale && !shift && !residual && !has_act && !post_scale && !post_shift; }
};
// The reference: plain loops over y[N,K,HW].
void epilogue_ref(const Epilogue& e, int N, int K, int HW, float* y);
// The fast one over rows (channels) [k0, k1) and columns [j0, j0 + nj) of
// image n (y_img is that image's [K, HW]); single-threaded: the
// convolutions call it per strip, rows split over their threads.
void epilogue_strip(const Epilogue& e, int n, int K, int HW, int k0, int k1, int j0, int nj, float* y_img);

// --- per-channel bias (kernels/bias/) --------------------------------------
// y[n,c,i] += b[c];   db[c] += sum_{n,i} dy[n,c,i]
void bias_add_ref(int N, int C, int HW, const float* b, float* y);
void bias_grad_ref(int N, int C, int HW, const float* dy, float* db);
// Fast (bias/cpu.cpp): the same, threaded; bit-identical.
void bias_add(int N, int C, int HW, const float* b, float* y);
void bias_grad(int N, int C, int HW, const float* dy, float* db);

// --- batch norm (kernels/batchnorm/) ---------------------------------------
// Training: biased batch statistics normalise; running stats get
//   running = (1 - momentum) * running + momentum * batch  (unbiased var).
// save_mean / save_invstd [C] are kept for backward.
void batchnorm_fwd_train_ref(int N, int C, int HW, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* running_mean,
                             float* running_var, float* y, float* save_mean, float* save_invstd);
void batchnorm_fwd_eval_ref(int N, int C, int HW, const float* x, const float* gamma,
                            const float* beta, const float* running_mean, const float* running_var,
                            float eps, float* y);
// dx overwritten; dgamma, dbeta accumulated.
void batchnorm_bwd_train_ref(int N, int C, int HW, const float* x, const float* dy,
                             const float* gamma, const float* save_mean, const float* save_invstd,
                             float* dx, float* dgamma, float* dbeta);
void batchnorm_bwd_eval_ref(int N, int C, int HW, const float* x, const float* dy,
                            const float* gamma, const float* running_mean,
                            const float* running_var, float eps, float* dx, float* dgamma,
                            float* dbeta);
// Fused batch norm + ReLU, the specification of cuda::batchnorm_relu_*:
// y = relu(bn(x)); backward: the mask z > 0 recomputed from x and the saved
// statistics, z = gamma * (x - mean) * invstd + beta, then the batch-norm
// backward of dz = z > 0 ? dy : 0.
void batchnorm_relu_fwd_train_ref(int N, int C, int HW, const float* x, const float* gamma,
                                  const float* beta, float eps, float momentum, float* running_mean,
                                  float* running_var, float* y, float* save_mean, float* save_invstd);
void batchnorm_relu_fwd_eval_ref(int N, int C, int HW, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean, const float* running_var,
                                 float eps, float* y);
void batchnorm_relu_bwd_train_ref(int N, int C, int HW, const float* x, const float* dy,
                                  const float* gamma, const float* beta, const float* save_mean,
                                  const float* save_invstd, float* dx, float* dgamma, float* dbeta);

// Fused batch norm + ReLU or leaky ReLU in training, the specification of
// the CPU's fused op: y = act(bn(x)) (act: Relu or LeakyRelu with slope >= 0,
// as act_fwd_ref). The backward takes the mask from the output y, which is
// positive exactly where bn(x) is: dz = y > 0 ? dy : (Relu ? 0 : slope * dy),
// then the batch-norm backward of dz (batchnorm_bwd_train_ref).
void batchnorm_act_fwd_train_ref(Act a, float slope, int N, int C, int HW, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* running_mean,
                                 float* running_var, float* y, float* save_mean, float* save_invstd);
void batchnorm_act_bwd_train_ref(Act a, float slope, int N, int C, int HW, const float* x, const float* y,
                                 const float* dy, const float* gamma, const float* save_mean,
                                 const float* save_invstd, float* dx, float* dgamma, float* dbeta);

// Fast versions (kernels/batchnorm/cpu.cpp), the same contracts to float rounding.
// The fused ones are bit-identical to the fast batch norm followed by act_fwd
// (forward) and to act_bwd followed by the fast batch-norm backward (backward).
void batchnorm_act_fwd_train(Act a, float slope, int N, int C, int HW, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* running_mean, float* running_var,
                             float* y, float* save_mean, float* save_invstd);
void batchnorm_act_bwd_train(Act a, float slope, int N, int C, int HW, const float* x, const float* y,
                             const float* dy, const float* gamma, const float* save_mean, const float* save_invstd,
                             float* dx, float* dgamma, float* dbeta);
void batchnorm_fwd_train(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                         float eps, float momentum, float* running_mean, float* running_var, float* y,
                         float* save_mean, float* save_invstd);
void batchnorm_fwd_eval(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                        const float* running_mean, const float* running_var, float eps, float* y);
void batchnorm_bwd_train(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta);
void batchnorm_bwd_eval(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                        const float* running_mean, const float* running_var, float eps, float* dx,
                        float* dgamma, float* dbeta);  // bit-identical to the reference

// --- activations (kernels/activation/) -------------------------------------
// slope is used by LeakyRelu only. Backward gets both x and y (tanh/sigmoid
// use y, relu/leaky use x); dx overwritten.
void act_fwd_ref(Act a, float slope, size_t n, const float* x, float* y);
void act_bwd_ref(Act a, float slope, size_t n, const float* x, const float* y, const float* dy,
                 float* dx);
// Fast (activation/cpu.cpp): the same, threaded; bit-identical.
void act_fwd(Act a, float slope, size_t n, const float* x, float* y);
void act_bwd(Act a, float slope, size_t n, const float* x, const float* y, const float* dy, float* dx);

// --- max pooling (kernels/pool/) -------------------------------------------
// argmax[n,c,p,q] = flat index h*W + w of the chosen input (padding is -inf).
void maxpool2d_fwd_ref(const Pool2dParams& p, const float* x, float* y, int32_t* argmax);
void maxpool2d_bwd_ref(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx);
// Fast forward (kernels/pool/cpu.cpp), the same contract; argmax may be null
// (inference: no indices are written).
void maxpool2d_fwd(const Pool2dParams& p, const float* x, float* y, int32_t* argmax);
// Fast backward (pool/cpu.cpp): the reference's, planes split over threads; bit-identical.
void maxpool2d_bwd(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx);
// Channels-last (x, dx [N][H][W][C]; y, argmax [N][P][Q][C]), the same
// values and argmax (h*W + w) as the NCHW functions, transposed.
void maxpool2d_fwd_nhwc_ref(const Pool2dParams& p, const float* x, float* y, int32_t* argmax);
void maxpool2d_bwd_nhwc_ref(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx);

// --- elementwise (kernels/elementwise/) ------------------------------------
void add_ref(size_t n, const float* a, const float* b, float* y);       // y = a + b
void mul_ref(size_t n, const float* a, const float* b, float* y);       // y = a * b
void scale_ref(size_t n, float s, const float* x, float* y);            // y = s * x
void axpy_ref(size_t n, float a, const float* x, float* y);             // y += a * x
void fill_ref(size_t n, float v, float* y);
// Fast (elementwise/cpu.cpp): the same, threaded; bit-identical.
void add(size_t n, const float* a, const float* b, float* y);
void mul(size_t n, const float* a, const float* b, float* y);
void scale(size_t n, float s, const float* x, float* y);
void axpy(size_t n, float a, const float* x, float* y);
void fill(size_t n, float v, float* y);

// --- channel concat / split (kernels/concat/) ------------------------------
// dst[n, c0 + c, i] = src[n, c, i]  for c < Csrc  (dst has Cdst channels)
void channel_copy_ref(int N, int HW, int Csrc, const float* src, int Cdst, int c0, float* dst);
// dst[n, c, i] += src[n, c0 + c, i]  for c < Cdst  (src has Csrc channels)
void channel_slice_add_ref(int N, int HW, int Csrc, const float* src, int c0, int Cdst, float* dst);
// Fast (concat/cpu.cpp): the same, threaded; bit-identical.
void channel_copy(int N, int HW, int Csrc, const float* src, int Cdst, int c0, float* dst);
void channel_slice_add(int N, int HW, int Csrc, const float* src, int c0, int Cdst, float* dst);

// --- memory layout (kernels/layout/) --------------------------------------
// A tensor [N][C][HW] (NCHW) copied to [N][HW][C] (NHWC, channels-last) and back.
void nchw_to_nhwc(const float* in, float* out, int N, int C, int HW);
void nhwc_to_nchw(const float* in, float* out, int N, int C, int HW);

// --- upsampling (kernels/upsample/) ----------------------------------------
// x[N,C,H,W] -> y[N,C,Ho,Wo]. Nearest: src = floor(dst * H / Ho) (PyTorch
// 'nearest'). Bilinear: align_corners = false, as PyTorch's default.
void upsample_fwd_ref(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* x, float* y);
// dx overwritten.
void upsample_bwd_ref(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* dy, float* dx);
// Fast (upsample/cpu.cpp): the same, threaded; bit-identical.
void upsample_fwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* x, float* y);
void upsample_bwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* dy, float* dx);

// --- transposed-convolution phases (kernels/deconv_phases/) ---------------
// w: n_kernels 4x4 kernels, 16 floats each (the [Cin, Cout, 4, 4] weights of a
// stride-2, padding-1 transposed convolution, or their gradient), projected in
// place so that each kernel's four output phases have the same tap sum: the
// taps of phase (ky + 1) % 2, (kx + 1) % 2 shifted by a quarter of (mean of the
// four phase sums - its sum), sums in double (models/deconv_phases.h: why).
// No fast CPU path: the engine runs the reference (weights are small).
void deconv_phase_equalize_ref(size_t n_kernels, float* w);

// --- reductions (kernels/reduce/) ------------------------------------------
double sum_ref(size_t n, const float* x);  // accumulated in double

// --- losses (kernels/loss/) ------------------------------------------------
// Each returns the loss value and, when grad != null, writes d loss / d pred
// scaled by gscale (the upstream gradient of the scalar loss).
// mean((pred - target)^2)
double mse_ref(size_t n, const float* pred, const float* target, float gscale, float* grad);
// mean(|pred - target|); the gradient at 0 is 0
double l1_ref(size_t n, const float* pred, const float* target, float gscale, float* grad);
// mean((pred - c)^2): the LSGAN loss against a constant label c (1 real, 0 fake)
double mse_const_ref(size_t n, const float* pred, float c, float gscale, float* grad);
// Fast (loss/cpu.cpp): the gradient bit-identical, threaded; the value summed
// in fixed blocks (independent of the threads), to ~1e-13 relative.
double mse(size_t n, const float* pred, const float* target, float gscale, float* grad);
double l1(size_t n, const float* pred, const float* target, float gscale, float* grad);
double mse_const(size_t n, const float* pred, float c, float gscale, float* grad);
// Soft-target cross-entropy with per-pixel weights over logits[N,Q,HW]:
//   loss = (1 / (N*HW)) * sum_{n,i} w[n,i] * sum_q -t[n,q,i] * log softmax(z[n,:,i])_q
// w may be null (all ones). Value and gradient in one pass:
//   dz[n,q,i] = gscale * w[n,i] * (softmax_q * sum_q' t[n,q',i] - t[n,q,i]) / (N*HW)
double soft_ce_ref(int N, int Q, int HW, const float* logits, const float* target,
                   const float* weight, float gscale, float* grad);
// One image of soft_ce_ref (logits z and targets t [Q,HW], weights w [HW] or
// null): its summed pixel losses; dz (may be null) = its gradient, with the
// divisor count = N*HW of the whole batch. soft_ce_ref = sum over images / count.
double soft_ce_image_ref(int Q, int HW, const float* z, const float* t, const float* w, float gscale,
                         double count, float* dz);
// Fast (loss/cpu.cpp): pixel blocks, a vectorised float exp, images split over
// threads; to ~1e-6 relative (loss and gradient), independent of the threads.
double soft_ce(int N, int Q, int HW, const float* logits, const float* target, const float* weight,
               float gscale, float* grad);

// --- optimizers (kernels/optim/) -------------------------------------------
// SGD (PyTorch semantics): g' = g + wd*w; m = momentum*m + g' (m = g' at step 1);
// w -= lr * (nesterov ? g' + momentum*m : m). m may be null when momentum == 0.
void sgd_step_ref(size_t n, float* w, const float* g, float* m, float lr, float momentum,
                  float weight_decay, bool nesterov, bool first_step);
// Adam / AdamW (PyTorch semantics). step counts from 1. decoupled = AdamW:
// w *= 1 - lr*wd; otherwise g' = g + wd*w. m = b1 m + (1-b1) g';
// v = b2 v + (1-b2) g'^2; w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
void adam_step_ref(size_t n, float* w, const float* g, float* m, float* v, float lr, float beta1,
                   float beta2, float eps, float weight_decay, bool decoupled, int64_t step);
// Fast (optim/cpu.cpp): the same, threaded; bit-identical.
// adam_step_many: adam_step on each of `count` tensors (each with its own
// weight decay and step count), all in one parallel region.
struct AdamTensor {
  float* w;
  const float* g;
  float* m;
  float* v;
  size_t n;
  float weight_decay;
  int64_t step;
};
void adam_step_many(const AdamTensor* tensors, size_t count, float lr, float beta1, float beta2, float eps,
                    bool decoupled);
void sgd_step(size_t n, float* w, const float* g, float* m, float lr, float momentum, float weight_decay,
              bool nesterov, bool first_step);
void adam_step(size_t n, float* w, const float* g, float* m, float* v, float lr, float beta1, float beta2,
               float eps, float weight_decay, bool decoupled, int64_t step);

}  // namespace cpu
}  // namespace tinct
