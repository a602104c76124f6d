// cuda.h — the hand-written CUDA kernels of tinct (kernels/<family>/cuda_<N>_<name>.cu,
// dispatch.cu; kernels/README.md).
//
// The same ops as tinct::cpu in kernels.h, with the same names minus the _ref
// suffix and the same semantics, so that every kernel here can be checked
// against its CPU reference (tests/gpu/test_gpu_kernels.cpp):
//   * every pointer is a DEVICE pointer to float32, contiguous NCHW;
//   * parameter-gradient kernels ACCUMULATE (dw += ...), activation-gradient
//     kernels OVERWRITE (dx = ...), exactly as in kernels.h;
//   * every call is asynchronous on `stream` (0: the legacy default stream)
//     and checks the launch (TINCT_CUDA_LAUNCH_CHECK); errors are thrown as
//     std::runtime_error naming file:line, the call and the CUDA error text.
// Include this header only where TINCT_HAS_CUDA is defined (it needs the CUDA
// runtime headers, which come with the CUDA::cudart target).
//
// Scalars. Reductions and losses write their value as ONE double in device
// memory (`double* out`), never to the host: a training step then needs no
// synchronisation, and the engine copies the scalar back only when it wants
// to print it (read_scalar() does that). They are deterministic: the grid and
// the order of every partial sum depend on the sizes only.
//
// Temporaries. Kernels that need scratch (split-K partial sums of the weight
// gradient, per-channel partial sums of batch norm, ...) take it from CUDA's
// stream-ordered pool (cudaMallocAsync / cudaFreeAsync on the same stream).
// On first use tinct raises the pool's release threshold so that freed blocks
// stay cached: after the first step no allocation reaches the driver. The
// weight-gradient workspace can also be passed explicitly (see below).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace tinct::cuda {

// --- errors -----------------------------------------------------------------
// Throws std::runtime_error("file:line: call failed: <cudaGetErrorString>").
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);

}  // namespace tinct::cuda

// Checks the cudaError_t of a runtime call.
#define TINCT_CUDA_CHECK(call)                                                        \
  do {                                                                                \
    const cudaError_t tinct_err_ = (call);                                            \
    if (tinct_err_ != cudaSuccess)                                                    \
      ::tinct::cuda::throw_cuda_error(tinct_err_, #call, __FILE__, __LINE__);         \
  } while (0)

// After each kernel launch: a bad configuration (grid, shared memory, ...) is
// reported by cudaGetLastError, not by the launch itself.
#define TINCT_CUDA_LAUNCH_CHECK() TINCT_CUDA_CHECK(cudaGetLastError())

namespace tinct::cuda {

// --- device -----------------------------------------------------------------
// True when at least one CUDA device can be used; never throws. On false, *why
// (if given) says why (no driver, no device, driver too old, ...).
bool device_available(std::string* why = nullptr);
// One line: name, compute capability, SMs, memory, L2, clock, driver and
// runtime versions. device < 0: the current device.
std::string device_description(int device = -1);
// Copies a device double to the host (synchronises `stream`).
double read_scalar(const double* dev, cudaStream_t stream = 0);

// --- caching allocator (kernels/common/runtime.cu) -------------------------
// Thrown when the device cannot give the bytes asked even after the cache is
// emptied; what() names the bytes asked, the bytes free and total on the
// device (cudaMemGetInfo) and what the allocator holds.
class OutOfMemory : public std::runtime_error {
 public:
  OutOfMemory(const std::string& what, size_t requested, size_t free_bytes, size_t total_bytes)
      : std::runtime_error(what), requested(requested), free_bytes(free_bytes), total_bytes(total_bytes) {}
  size_t requested, free_bytes, total_bytes;
};

// A caching device allocator for the engine (no cudaMalloc / cudaFree in the
// step loop): sizes are rounded up to a size class and freed blocks go to a
// free list per class, from which later requests of the same class are served.
//   size classes: below 1 MiB, multiples of 512 B; above, 2^k * {1, 1.25,
//   1.5, 1.75} (at most 25% slack), so that the few distinct sizes of a
//   training step map to a few classes and are reused exactly.
// Blocks are not tied to a stream: freeing a block that a kernel on another
// stream still uses needs an event or a sync first (as in PyTorch). Thread-safe.
// When cudaMalloc fails, the cache is released (cudaFree) and the request is
// tried again; if it still fails, OutOfMemory is thrown.
class CachingAllocator {
 public:
  struct Stats {
    size_t in_use = 0;        // bytes handed out (rounded sizes)
    size_t cached = 0;        // bytes in the free lists
    size_t peak_in_use = 0;
    size_t reserved = 0;      // in_use + cached: what cudaMalloc gave
    uint64_t allocs = 0;      // allocate() calls
    uint64_t cache_hits = 0;  // served from a free list
    uint64_t device_mallocs = 0, device_frees = 0;
  };

  explicit CachingAllocator(int device = -1);  // -1: the current device
  ~CachingAllocator();                         // frees everything it holds
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t bytes);  // 256-byte aligned; bytes == 0 gives nullptr
  void deallocate(void* ptr);    // ptr from allocate() (nullptr is ignored)
  void empty_cache();            // cudaFree every cached block
  Stats stats() const;
  int device() const { return device_; }
  static size_t round_size(size_t bytes);

 private:
  void* device_malloc(size_t bytes);
  int device_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  std::map<void*, size_t> live_;               // block -> size class
  Stats stats_;
};

// --- GEMM (kernels/gemm/cuda_1_tiled.cu) -----------------------------------
// Row-major C[M,N] = alpha * op(A) op(B) + beta * C, the contract of
// cpu::sgemm_ref (beta == 0: C is not read).
void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc, cudaStream_t stream = 0);
// `batch` independent GEMMs in one launch; matrix i of A starts at A + i*stride_a
// (elements), likewise B and C. batch <= 65535.
void sgemm_strided_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                           int lda, long long stride_a, const float* B, int ldb, long long stride_b,
                           float beta, float* C, int ldc, long long stride_c, int batch,
                           cudaStream_t stream = 0);

// --- conv2d (kernels/conv/: dispatch.cu, cuda_1_naive.cu, cuda_2_igemm.cu, cuda_3_winograd.cu)
// Variants: 0 cuDNN (benchmarks only), 1 naive, 2 implicit GEMM, 3 Winograd.
// conv2d_fwd, conv2d_bwd_data and conv2d_bwd_filter dispatch (dispatch.cu):
// Winograd F(4x4, 3x3) (variant 3) for 3x3 stride-1 layers (dilated too) with
// >= 32 channels in and out, else the implicit GEMM (variant 2): no im2col
// buffer, the gather is done in the
// index math of the shared-memory tile loads. TINCT_CONV_WINOGRAD=0 in the
// environment turns the Winograd path off (to compare the two in a model).
// y = conv(x, w) + b (b may be null). y overwritten.
void conv2d_fwd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                cudaStream_t stream = 0);
// dx = conv2d backward-data (overwrites dx). Also the forward of
// conv_transpose2d (kernels.h describes the mapping).
void conv2d_bwd_data(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                     cudaStream_t stream = 0);
// dw += dL/dw, db += sum dy (db may be null). Winograd where conv2d_fwd uses
// it, else the implicit GEMM: split-K over N*P*Q with a DETERMINISTIC second
// pass (partial sums in a workspace, added in a fixed order; no atomics).
// The workspace size depends on the shape, the path and the device (its SM
// count); 0 means none is needed.
size_t conv2d_bwd_filter_workspace_bytes(const Conv2dParams& p);
void conv2d_bwd_filter(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                       void* workspace, size_t workspace_bytes, cudaStream_t stream = 0);
// The same, with the workspace taken from the stream-ordered pool.
void conv2d_bwd_filter(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                       cudaStream_t stream = 0);
// The same three passes at a precision (kernels/tensorcore/tensorcore.h):
// fp32 as above, tf32 variant 4, bf16 variant 5 (below).
void conv2d_fwd(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                cudaStream_t stream = 0);
void conv2d_bwd_data(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx,
                     cudaStream_t stream = 0);
void conv2d_bwd_filter(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                       cudaStream_t stream = 0);
// Variant 1 (cuda_1_naive.cu): direct, one thread per output element, loops in
// the order of the reference. Slow; the baseline, and a second opinion in the tests.
void conv2d_fwd_naive(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                      cudaStream_t stream = 0);
void conv2d_bwd_data_naive(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                           cudaStream_t stream = 0);
void conv2d_bwd_filter_naive(const Conv2dParams& p, const float* x, const float* dy, float* dw,
                             float* db, cudaStream_t stream = 0);
// Variant 2 (cuda_2_igemm.cu) by name, whatever the dispatcher would pick (tests, benchmarks).
void conv2d_fwd_igemm(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                      cudaStream_t stream = 0);
void conv2d_bwd_data_igemm(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                           cudaStream_t stream = 0);
size_t conv2d_bwd_filter_igemm_workspace_bytes(const Conv2dParams& p);
void conv2d_bwd_filter_igemm(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                             void* workspace, size_t workspace_bytes, cudaStream_t stream = 0);
// Variants 4 and 5 (cuda_4_igemm_tf32.cu, cuda_5_igemm_bf16.cu): the implicit
// GEMMs on the tensor cores, operands rounded to TF32 / BF16, fp32
// accumulation (kernels/tensorcore/ref_conv.cpp is their specification).
// Any shape conv2d_fwd takes; temporaries (packed weights, split-K partial
// sums) from the stream-ordered pool. Same contracts as conv2d_fwd,
// conv2d_bwd_data (overwrites dx), conv2d_bwd_filter (dw += , db += ).
void conv2d_fwd_tf32(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                     cudaStream_t stream = 0);
void conv2d_bwd_data_tf32(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                          cudaStream_t stream = 0);
void conv2d_bwd_filter_tf32(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                            cudaStream_t stream = 0);
void conv2d_fwd_bf16(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                     cudaStream_t stream = 0);
void conv2d_bwd_data_bf16(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                          cudaStream_t stream = 0);
void conv2d_bwd_filter_bf16(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                            cudaStream_t stream = 0);
// Variant 6 (cuda_6_igemm_nhwc.cu): the same tensor-core GEMMs on channels-
// last activations: x and dx [N][H][W][C], y and dy [N][P][Q][K]; the weights
// and dw stay [K][C][R][S]. `prec` tf32 or bf16 (fp32: std::invalid_argument).
// The results are variant 4 / 5's bits, transposed; each tensor < 2^31
// elements. The engine's convolutions of channels-last tensors
// (engine/layout.h); the benchmarks compare it with variants 4 / 5 and cuDNN NHWC.
void conv2d_fwd_nhwc(Precision prec, const Conv2dParams& p, const float* x, const float* w, const float* b,
                     float* y, cudaStream_t stream = 0);
void conv2d_bwd_data_nhwc(Precision prec, const Conv2dParams& p, const float* dy, const float* w, float* dx,
                          cudaStream_t stream = 0);
void conv2d_bwd_filter_nhwc(Precision prec, const Conv2dParams& p, const float* x, const float* dy, float* dw,
                            float* db, cudaStream_t stream = 0);
// How variant 4 (tf32) moves the gathered operand (im2col of x, dy) into
// shared memory (kernels/tensorcore/conv_core.cuh): `async`, a 4-byte
// cp.async per element (the default), or `registers`, loaded into registers
// and stored after the stage's mma. The same results bit for bit; the
// benchmarks time both. Variant 5 (bf16) always uses registers. The default
// comes from TINCT_TC_GATHER=async|registers (read once); set_tc_gather
// overrides it and returns the previous setting (not thread-safe against
// concurrent launches: set it before work starts).
enum class TcGather { async, registers };
TcGather tc_gather();
TcGather set_tc_gather(TcGather g);
// Variant 3 (cuda_3_winograd.cu): Winograd F(4x4, 3x3), non-fused (filter, input and output
// transforms around 36 batched GEMMs; kernels/conv/ref_winograd.cpp is
// its specification). Any channel counts; 3x3, stride 1, padding a multiple
// of the dilation and at most twice it (cpu::conv2d_winograd_supported),
// std::invalid_argument otherwise.
// Backward-data is the forward of the flipped, transposed filter.
void conv2d_fwd_winograd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y,
                         cudaStream_t stream = 0);
void conv2d_bwd_data_winograd(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                              cudaStream_t stream = 0);
// Weight gradient by the same transforms: dw += sum over tiles of
// G^T [(A dy_tile A^T) (.) (B^T x_tile B)] G, as 36 x nsplit batched GEMMs
// reducing over tiles, then one filter transform. Deterministic. The workspace
// (transformed x and dy of one chunk of images, the partial products) is
// conv2d_bwd_filter_winograd_workspace_bytes(p).
size_t conv2d_bwd_filter_winograd_workspace_bytes(const Conv2dParams& p);
void conv2d_bwd_filter_winograd(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db,
                                void* workspace, size_t workspace_bytes, cudaStream_t stream = 0);
// Testing hook: the Winograd path's chunk budget (bytes of transformed input,
// and of GEMM output, per chunk of images; default 256 MiB). Returns the old one.
size_t set_winograd_chunk_bytes(size_t bytes);
// What the dispatcher runs for this shape (tile shape, fast/general path,
// phases, split-K), e.g. for benchmark logs; conv2d_igemm_plan: variant 2's.
std::string conv2d_plan(const Conv2dParams& p);
std::string conv2d_igemm_plan(const Conv2dParams& p);

// --- per-channel bias (kernels/bias/cuda_1_vec4.cu) ------------------------
void bias_add(int N, int C, int HW, const float* b, float* y, cudaStream_t stream = 0);   // y += b[c]
void bias_grad(int N, int C, int HW, const float* dy, float* db, cudaStream_t stream = 0);  // db += sum

// --- batch norm (kernels/batchnorm/cuda_1_channel_reduce.cu) ---------------
// Same nullability and formulas as the references; statistics in double.
void batchnorm_fwd_train(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                         float eps, float momentum, float* running_mean, float* running_var,
                         float* y, float* save_mean, float* save_invstd, cudaStream_t stream = 0);
void batchnorm_fwd_eval(int N, int C, int HW, const float* x, const float* gamma, const float* beta,
                        const float* running_mean, const float* running_var, float eps, float* y,
                        cudaStream_t stream = 0);
void batchnorm_bwd_train(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, cudaStream_t stream = 0);
void batchnorm_bwd_eval(int N, int C, int HW, const float* x, const float* dy, const float* gamma,
                        const float* running_mean, const float* running_var, float eps, float* dx,
                        float* dgamma, float* dbeta, cudaStream_t stream = 0);
// Fused batch norm + ReLU (specification: cpu::batchnorm_relu_*_ref in
// kernels/batchnorm/ref.cpp): y = relu(bn(x)), one pass for the output instead of
// two, and no separate pre-activation tensor. Backward recomputes the ReLU
// mask from x, gamma, beta and the saved statistics (bit-identical to the
// forward: same float formula, same inputs), so it needs neither y nor z:
//   dz = dy * (z > 0),  then the batch-norm backward of dz.
// Same contract as the unfused pair: equals batchnorm_* followed by act_* Relu.
void batchnorm_relu_fwd_train(int N, int C, int HW, const float* x, const float* gamma,
                              const float* beta, float eps, float momentum, float* running_mean,
                              float* running_var, float* y, float* save_mean, float* save_invstd,
                              cudaStream_t stream = 0);
void batchnorm_relu_fwd_eval(int N, int C, int HW, const float* x, const float* gamma,
                             const float* beta, const float* running_mean, const float* running_var,
                             float eps, float* y, cudaStream_t stream = 0);
// save_mean and save_invstd are required (they come from the forward).
void batchnorm_relu_bwd_train(int N, int C, int HW, const float* x, const float* dy,
                              const float* gamma, const float* beta, const float* save_mean,
                              const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                              cudaStream_t stream = 0);

// --- activations (kernels/activation/cuda_1_vec4.cu) -----------------------
void act_fwd(Act a, float slope, size_t n, const float* x, float* y, cudaStream_t stream = 0);
void act_bwd(Act a, float slope, size_t n, const float* x, const float* y, const float* dy, float* dx,
             cudaStream_t stream = 0);

// --- max pooling (kernels/pool/cuda_1_gather.cu) ---------------------------
void maxpool2d_fwd(const Pool2dParams& p, const float* x, float* y, int32_t* argmax,
                   cudaStream_t stream = 0);
void maxpool2d_bwd(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx,
                   cudaStream_t stream = 0);
// Channels-last (cpu::maxpool2d_*_nhwc_ref): x, dx [N][H][W][C], y, argmax [N][P][Q][C].
void maxpool2d_fwd_nhwc(const Pool2dParams& p, const float* x, float* y, int32_t* argmax,
                        cudaStream_t stream = 0);
void maxpool2d_bwd_nhwc(const Pool2dParams& p, const float* dy, const int32_t* argmax, float* dx,
                        cudaStream_t stream = 0);

// --- elementwise (kernels/elementwise/cuda_1_vec4.cu) ----------------------
void add(size_t n, const float* a, const float* b, float* y, cudaStream_t stream = 0);  // y = a + b
void mul(size_t n, const float* a, const float* b, float* y, cudaStream_t stream = 0);  // y = a * b
void scale(size_t n, float s, const float* x, float* y, cudaStream_t stream = 0);       // y = s * x
void axpy(size_t n, float a, const float* x, float* y, cudaStream_t stream = 0);        // y += a * x
void fill(size_t n, float v, float* y, cudaStream_t stream = 0);
// y = alpha * s[0] * x, or y = alpha * s[0] where x is null; s is a DEVICE
// scalar (the upstream gradient of a loss), read on the device.
void scale_by_scalar(size_t n, const float* s, float alpha, const float* x, float* y,
                     cudaStream_t stream = 0);

// --- channel concat / split (kernels/concat/cuda_1_vec4.cu) ----------------
void channel_copy(int N, int HW, int Csrc, const float* src, int Cdst, int c0, float* dst,
                  cudaStream_t stream = 0);
void channel_slice_add(int N, int HW, int Csrc, const float* src, int c0, int Cdst, float* dst,
                       cudaStream_t stream = 0);

// --- memory layout (kernels/layout/cuda_1_tiled.cu) ------------------------
// [N][C][HW] -> [N][HW][C] and back: cpu::nchw_to_nhwc's contract and
// argument order. Not in place.
void nchw_to_nhwc(const float* in, float* out, int N, int C, int HW, cudaStream_t stream = 0);
void nhwc_to_nchw(const float* in, float* out, int N, int C, int HW, cudaStream_t stream = 0);

// --- upsampling (kernels/upsample/cuda_1_tables.cu) ------------------------
void upsample_fwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* x, float* y,
                  cudaStream_t stream = 0);
// Gather form (each dx sums the dy that read it): deterministic, no atomics.
void upsample_bwd(Upsample mode, int N, int C, int H, int W, int Ho, int Wo, const float* dy,
                  float* dx, cudaStream_t stream = 0);

// --- transposed-convolution phases (kernels/deconv_phases/cuda_1_per_kernel.cu)
// cpu::deconv_phase_equalize_ref in place on the device, bit for bit.
void deconv_phase_equalize(size_t n_kernels, float* w, cudaStream_t stream = 0);

// --- reductions (kernels/reduce/cuda_1_two_stage.cu) -----------------------
// *out = sum x (device double, overwritten), accumulated in double.
void sum(size_t n, const float* x, double* out, cudaStream_t stream = 0);
// *dst = float(*src * scale): a device double into a float tensor element.
void store_scalar(const double* src, double scale, float* dst, cudaStream_t stream = 0);

// --- losses (kernels/loss/cuda_1_fused.cu) ---------------------------------
// *loss (device double) = the value of the reference; grad (if not null) =
// gscale * d loss / d pred. loss may be null (gradient only).
void mse(size_t n, const float* pred, const float* target, float gscale, float* grad, double* loss,
         cudaStream_t stream = 0);
void l1(size_t n, const float* pred, const float* target, float gscale, float* grad, double* loss,
        cudaStream_t stream = 0);
void mse_const(size_t n, const float* pred, float c, float gscale, float* grad, double* loss,
               cudaStream_t stream = 0);
// Value and gradient in one kernel (each pixel's logits are read twice: an
// online max / sum-exp pass, then the gradient pass).
void soft_ce(int N, int Q, int HW, const float* logits, const float* target, const float* weight,
             float gscale, float* grad, double* loss, cudaStream_t stream = 0);

// --- optimizers (kernels/optim/cuda_1_multi_tensor.cu) ---------------------
void sgd_step(size_t n, float* w, const float* g, float* m, float lr, float momentum,
              float weight_decay, bool nesterov, bool first_step, cudaStream_t stream = 0);
void adam_step(size_t n, float* w, const float* g, float* m, float* v, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool decoupled, int64_t step,
               cudaStream_t stream = 0);

// Multi-tensor (fused) steps: every parameter of a model in ONE launch. The
// parameters are described by a table of chunks in device memory; each chunk
// is cut into tiles of kOptimTile elements, and tile_begin is the index of its
// first tile in the concatenation of all tiles (plan_param_tiles fills it).
// Each block walks tiles and finds its chunk by binary search on tile_begin,
// so small and large tensors share the launch evenly. m / v may be null where
// the reference allows it (SGD without momentum).
constexpr int64_t kOptimTile = 4096;
struct ParamChunk {
  float* w = nullptr;
  const float* g = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
  int64_t tile_begin = 0;  // set by plan_param_tiles
};
// Fills tile_begin; returns the total number of tiles. The caller uploads the
// table to device memory (engine/optim.cpp keeps it there between steps and
// re-uploads only when the parameters change).
int64_t plan_param_tiles(ParamChunk* chunks, int num_chunks);
void sgd_step_multi(const ParamChunk* table, int num_chunks, int64_t total_tiles, float lr,
                    float momentum, float weight_decay, bool nesterov, bool first_step,
                    cudaStream_t stream = 0);
void adam_step_multi(const ParamChunk* table, int num_chunks, int64_t total_tiles, float lr,
                     float beta1, float beta2, float eps, float weight_decay, bool decoupled,
                     int64_t step, cudaStream_t stream = 0);

// --- colour (kernels/color/cuda_1_pixel.cu) --------------------------------
// Specification: cpu::srgb8_to_lab_ref, lab_to_srgb8_ref, soft_encode_dense_ref
// (kernels/color/ref.h, the colour chain models/color builds on); n pixels,
// rgb interleaved uint8 [n*3], L planar [n], ab planar [2, n] (a plane, then b
// plane), all DEVICE pointers. Float arithmetic (the CPU reference is double):
// LAB within about 1e-4 of srgb_to_lab_image; uint8 equal to lab_to_srgb_image
// except, rarely, by 1 where a channel lies on a rounding boundary.
// rgb [n*3] -> L [n], ab [2n] (LAB units, L in [0, 100]).
void srgb8_to_lab(size_t n, const uint8_t* rgb, float* L, float* ab, cudaStream_t stream = 0);
// L [n], ab [2n] -> rgb [n*3], clamped to [0, 1] and rounded to 0..255.
void lab_to_srgb8(size_t n, const float* L, const float* ab, uint8_t* rgb, cudaStream_t stream = 0);
// ab [2n] -> out [Q, n] (overwritten in full): each pixel's weight on its 5
// nearest bins (ties: lower index), Gaussian exp(-d^2 / 2 sigma^2) normalised,
// zero elsewhere. centres: Q (a, b) pairs, interleaved [2Q] floats (the layout
// of color::AbGamut::centres(), so it can be copied as is). 5 <= Q.
void soft_encode_dense(size_t n, const float* ab, const float* centres, int Q, float* out,
                       float sigma = 5.0f, cudaStream_t stream = 0);

}  // namespace tinct::cuda
