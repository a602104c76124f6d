// gemm/microkernels.h — internal to the kernels library: the per-ISA GEMM
// micro-kernels and the packed-A entry points that conv/cpu.cpp uses.
//
// Each kernel set is one register tile (MR x NR), its cache blocking, and a
// micro-kernel compiled in its own file with its own -m flags (CMakeLists.txt):
//   gemm/cpu_generic.cpp  6 x 16, plain C++, the build's baseline ISA;
//   gemm/cpu_avx2.cpp     6 x 16, AVX2 + FMA (12 ymm accumulators);
//   gemm/cpu_avx512.cpp  14 x 32, AVX-512F  (28 zmm accumulators).
// The ISA files hold nothing but intrinsics in an anonymous namespace and one
// exported getter, so no inline function compiled with wider instructions can
// be picked by the linker for code that runs on a narrower processor.
// gemm/cpu.cpp packs the operands for whichever set is active (the packing layout
// depends only on MR, NR and KC) and calls its micro-kernel.
#pragma once

#include <cstddef>

#include "kernels/kernels.h"

namespace tinct::cpu::detail {

// C[0:mr, 0:nr] = alpha * (Apanel^T Bpanel) + beta * C (C not read when beta
// == 0). a: kc steps of MR floats; b: kc steps of NR floats, 64-byte aligned;
// both zero-padded past mr / nr.
using MicroKernel = void (*)(int kc, const float* a, const float* b, float* C, int ldc,
                             float alpha, float beta, int mr, int nr);

struct GemmKernel {
  CpuKernels isa;
  int mr, nr;  // register tile
  int kc;      // depth of a packed slice: the B micro-panel kc x nr stays in L1
  int mc;      // rows of a packed A block (multiple of mr): in L2
  int nc;      // columns of a packed B block (multiple of nr): in L3
  MicroKernel kernel;
};

// Defined in their ISA files; nullptr where the file was compiled without its
// instruction set (a non-x86 build).
const GemmKernel* gemm_kernel_generic();
const GemmKernel* gemm_kernel_avx2();
const GemmKernel* gemm_kernel_avx512();

// The kernel set in use (common/cpu_features.cpp).
const GemmKernel& active_gemm_kernel();

// gemm/cpu.cpp: pack op(A) once, multiply it with many B matrices (conv weights).
// The packed layout belongs to kernel g: pack and multiply with the same g.
size_t packed_a_size(const GemmKernel& g, int M, int K);
void pack_a_all(const GemmKernel& g, bool trans_a, int M, int K, const float* A, int lda,
                float* packed);
void sgemm_packed_a(const GemmKernel& g, int M, int N, int K, float alpha, const float* packed_a,
                    bool trans_b, const float* B, int ldb, float beta, float* C, int ldc);
// Produces the packed panels of an op(B) that is never stored whole (conv
// backward-filter lowers its input into them): pack(p0, kc, j0, nr, dst) writes
// op(B)[p0:p0+kc, j0:j0+nr] (nr <= g.nr) as kc rows of g.nr floats, zero past
// nr, to the 64-byte aligned dst. Called for different panels from several
// threads at once when the product is split over threads.
class BPanelSource {
 public:
  virtual void pack(int p0, int kc, int j0, int nr, float* dst) const = 0;

 protected:
  ~BPanelSource() = default;
};
// C = alpha * op(A) * B + beta * C with B's panels from `producer`.
void sgemm_b_panels(const GemmKernel& g, bool trans_a, int M, int N, int K, float alpha,
                    const float* A, int lda, const BPanelSource& producer, float beta, float* C,
                    int ldc);
// The panel of the transpose of src[nr x kc] (row stride ld): dst[k*g.nr + j] =
// src[j*ld + k], zero for j >= nr. A producer's lowering lands in src first.
void pack_b_panel_transposed(const GemmKernel& g, const float* src, int ld, int kc, int nr,
                             float* dst);
// sgemm with an explicit kernel set.
void sgemm_with(const GemmKernel& g, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace tinct::cpu::detail
