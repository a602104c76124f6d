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
