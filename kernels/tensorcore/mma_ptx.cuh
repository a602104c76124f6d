// mma_ptx.cuh — the warp-level PTX of the tensor-core kernels, one small
// device function per instruction (sm_80+):
//   as_bits / as_float   the bit pattern of an fp32 register and back
//   f32_to_tf32          cvt.rna.tf32.f32
//   f32_to_bf16          cvt.rn.bf16.f32
//   mma_m16n8k8_tf32     mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32   d += a b
//   mma_m16n8k16_bf16    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32  d += a b
//   ldmatrix_x4(_trans)  ldmatrix.sync.aligned.m8n8.x4{.trans}.shared.b16
//   cp_async_16          cp.async.cg.shared.global (16 bytes, zero-filled past src_bytes)
//   cp_async_4           cp.async.ca.shared.global (4 bytes, zero-filled when src_bytes is 0)
//   cp_async_commit / cp_async_wait<N>
// The real build emits the inline asm. Under the CPU emulator (tools/cuda_emu,
// which defines TINCT_CUDA_EMU) each call goes to the emulator's model of the
// instruction (emu_cuda.h), which implements the PTX ISA's per-lane fragment
// layouts with a warp-wide exchange: the kernels' own fragment mapping is
// what gets tested there, not a stand-in.
// TINCT_DYNAMIC_SMEM(name) declares the block's dynamic shared memory.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#ifdef TINCT_CUDA_EMU
#define TINCT_DYNAMIC_SMEM(name) unsigned char* name = ::emu::dynamic_smem()
#else
#define TINCT_DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]
#endif

namespace tinct::cuda::tc {

__device__ __forceinline__ uint32_t as_bits(float x) {
#ifdef TINCT_CUDA_EMU
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
#else
  return __float_as_uint(x);
#endif
}
__device__ __forceinline__ float as_float(uint32_t u) {
#ifdef TINCT_CUDA_EMU
  float x;
  std::memcpy(&x, &u, 4);
  return x;
#else
  return __uint_as_float(u);
#endif
}

__device__ __forceinline__ uint32_t f32_to_tf32(float x) {
#ifdef TINCT_CUDA_EMU
  uint32_t u = as_bits(x);
  if (std::isfinite(x)) u += 0x1000u;  // as tinct::cpu::round_tf32 (ref.cpp)
  return u & 0xffffe000u;
#else
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#endif
}

// The bf16 bit pattern of x, rounded to nearest even (as tinct::cpu::bf16_from_float).
__device__ __forceinline__ uint16_t f32_to_bf16(float x) {
#ifdef TINCT_CUDA_EMU
  const uint32_t u = as_bits(x);
  if (std::isnan(x)) return uint16_t((u >> 16) | 0x0040u);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
#else
  uint16_t r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x));
  return r;
#endif
}

// d (4 fp32 accumulators of an m16n8 tile) += A (16x8 tf32) * B (8x8 tf32).
__device__ __forceinline__ void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#ifdef TINCT_CUDA_EMU
  ::emu::mma_m16n8k8_tf32(d, a, b, d);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// d += A (16x16 bf16, 4 bf16x2 registers) * B (16x8 bf16, 2 registers).
__device__ __forceinline__ void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#ifdef TINCT_CUDA_EMU
  ::emu::mma_m16n8k16_bf16(d, a, b, d);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

#ifndef TINCT_CUDA_EMU
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
#endif

// Four 8x8 b16 matrices; lanes 8i..8i+7 pass the row addresses of matrix i.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
#ifdef TINCT_CUDA_EMU
  ::emu::ldmatrix(r, 4, false, row);
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
#endif
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
#ifdef TINCT_CUDA_EMU
  ::emu::ldmatrix(r, 4, true, row);
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
#endif
}

// 16 bytes global -> shared, asynchronous; bytes src_bytes..15 are zeroed
// (src_bytes == 0: nothing is read, src need only be a valid address).
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, int src_bytes) {
#ifdef TINCT_CUDA_EMU
  ::emu::cp_async(smem, gmem, 16, src_bytes);
#else
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_addr(smem)), "l"(gmem),
               "r"(src_bytes)
               : "memory");
#endif
}
// 4 bytes global -> shared, asynchronous: one gathered fp32 element (the
// 16-byte form needs 16 contiguous, aligned bytes; .cg exists only for it).
// src_bytes 0 writes zeros and reads nothing (src need only be valid).
__device__ __forceinline__ void cp_async_4(void* smem, const void* gmem, int src_bytes) {
#ifdef TINCT_CUDA_EMU
  ::emu::cp_async(smem, gmem, 4, src_bytes);
#else
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(smem_addr(smem)), "l"(gmem), "r"(src_bytes)
               : "memory");
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#ifdef TINCT_CUDA_EMU
  ::emu::cp_async_commit();
#else
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#ifdef TINCT_CUDA_EMU
  ::emu::cp_async_wait(N);
#else
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
#endif
}

}  // namespace tinct::cuda::tc
