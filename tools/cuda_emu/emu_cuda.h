// emu_cuda.h — run CUDA kernels on the CPU (validation only; see build.sh).
// One OS thread per CUDA thread of a block; blocks run one after another.
#pragma once
#define __shared__ static
#define __global__
#define __device__
#define __host__
#define __grid_constant__
#include <cuda_runtime.h>
#undef __forceinline__
#define __forceinline__ inline
#undef __launch_bounds__
#define __launch_bounds__(...)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <functional>
#include <utility>
#include <type_traits>

using std::min;
using std::max;
using std::isnan;

extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

namespace emu {
void syncthreads();
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);
double shfl_down_d(double v, int delta);
float shfl_down_f(float v, int delta);
int shfl_down_i(int v, int delta);
template <class... P, class... A>
void launch(void (*k)(P...), dim3 grid, dim3 block, A&&... args) {
  std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
  run_grid(grid, block, [&] { std::apply(k, params); });
}
}  // namespace emu

inline void __syncthreads() { emu::syncthreads(); }
template <class T> inline T __ldg(const T* p) { return *p; }
inline double __shfl_down_sync(unsigned, double v, int d) { return emu::shfl_down_d(v, d); }
inline float __shfl_down_sync(unsigned, float v, int d) { return emu::shfl_down_f(v, d); }
inline int __shfl_down_sync(unsigned, int v, int d) { return emu::shfl_down_i(v, d); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __double2float_rn(double a) { return float(a); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((unsigned long long)a * b >> 32); }

// ---- tensor-core instructions (kernels/tensorcore/mma_ptx.cuh) ----------------
// Kernels that issue warp-level PTX (mma.sync, ldmatrix, cp.async) call these
// models instead of inline asm where TINCT_CUDA_EMU is defined. The models
// follow the PTX ISA per lane: each lane hands in exactly the registers (or
// the row address) the instruction reads from it, the warp exchanges them
// (one warp barrier, like __shfl_down_sync), and each lane gets back exactly
// the registers the instruction writes for it. A kernel whose fragment
// mapping is wrong therefore computes a wrong product here as on the GPU.
// They need all 32 lanes of the warp (the PTX .aligned / .sync contract).
#define TINCT_CUDA_EMU 1
#include <cstdint>
namespace emu {
// Lane i's `bytes` (<= 64) from `mine` land at out + i * bytes, for the 32
// lanes of the calling warp. Collective: every lane of the warp calls it.
void warp_allgather(const void* mine, int bytes, void* out);
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 d, a, b, c: only the 19
// tf32 bits of each operand are read (the low 13 dropped: the PTX ISA leaves
// unrounded inputs to the hardware; kernels round with cvt.rna first),
// products are exact in fp32 and are added to c in k order, rounding to fp32
// each time (the reference's order; the tensor core's own order and
// rounding differ within the tolerance the tests state).
void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (same accumulation model).
void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);
// ldmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.shared.b16: lanes 8i..8i+7 give
// the 16-byte-aligned row addresses of matrix i; r[i] is matrix i's element
// pair (row lane/4, columns 2(lane%4), +1) or, with .trans, (rows 2(lane%4),
// +1 of column lane/4), the first in the low 16 bits.
void ldmatrix(uint32_t* r, int num, bool trans, const void* row_addr);
// cp.async.{cg,ca}.shared.global [dst], [src], bytes (4, 8 or 16), src_bytes. The destination is
// poisoned (0xff bytes: NaN as fp32 and bf16) at issue and written only when
// cp.async.wait_group retires its group: a read before the wait, or a copy
// issued into a buffer that other threads still read, shows up as NaN.
void cp_async(void* dst, const void* src, int bytes, int src_bytes);
void cp_async_commit();
void cp_async_wait(int pending);  // cp.async.wait_group pending
// The block's dynamic shared memory (extern __shared__ ...[]): 227 KiB,
// 128-byte aligned, filled with 0xff bytes at the start of every block.
unsigned char* dynamic_smem();
}  // namespace emu
