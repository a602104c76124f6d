// gemm/microkernels.h — internal to the kernels library: the per-ISA GEMM
// micro-kernels and the packed-A entry points that conv/cpu.cpp uses.
//
// Each kernel set is one register tile (MR x NR), its cache blocking, and a
// micro-kernel compiled in its own file with its own -m flags (CMakeLists.txt):
//   gemm/cpu_generic.cpp  6 x 16, plain C++, the build's baseline ISA;
//   gemm/cpu_avx2.cpp     6 x 16, AVX2 + FMA (12 ymm accumulators);
//   gemm/cpu_avx512.cpp  14 x 32, AVX-512F  (28 zmm accumulators);
//   gemm/cpu_avx512bf16.cpp 14 x 32, AVX-512 BF16 (VDPBF16PS): the bf16 set,
//                         used only for Precision::bf16 (operands rounded to
//                         bf16 as they are packed, products summed in fp32).
//   gemm/cpu_amx.cpp     32 x 32, AMX-BF16 tiles (TDPBF16PS): the other bf16
//                         set, preferred where the processor has it.
// The ISA files hold nothing but intrinsics in an anonymous namespace and one
// exported getter, so no inline function compiled with wider instructions can
// be picked by the linker for code that runs on a narrower processor.
// gemm/cpu.cpp packs the operands for whichever set is active (the packing layout
// depends only on MR, NR, KC and whether the set is bf16) and calls its micro-kernel.
//
// The bf16 layout: k is taken in pairs (2t, 2t+1); each 32-bit slot of a
// packed panel holds the pair's two bf16 values (k = 2t in the low half), an
// odd depth padded with a zero k. So a bf16 panel is the fp32 panel's layout
// with kc replaced by ceil(kc/2) slots (packed_depth), slot = pair: what
// VDPBF16PS multiplies (a broadcast A pair against 16 B pairs). The rounding
// is cpu::bf16_from_float's (tensorcore/ref.cpp: RNE, NaN kept quiet).
// The AMX layout (GemmKernel::amx): B panels as above; A panels per chunk of
// 16 pairs (32 k) as MR rows x 16 slots (a tile's rows: 64 bytes of one row's
// pairs); both padded with zero pairs to whole chunks, so packed_depth is a
// multiple of 16 slots.
#pragma once

#include <cstddef>

#include "kernels/kernels.h"

namespace tinct::cpu::detail {

// C[0:mr, 0:nr] = alpha * (Apanel^T Bpanel) + beta * C (C not read when beta
// == 0). a: kc steps of MR floats; b: kc steps of NR floats, 64-byte aligned;
// both zero-padded past mr / nr. (A bf16 set: ceil(kc/2) steps of MR / NR
// 32-bit slots of bf16 pairs, passed as float*.)
using MicroKernel = void (*)(int kc, const float* a, const float* b, float* C, int ldc,
                             float alpha, float beta, int mr, int nr);

struct GemmKernel {
  CpuKernels isa;
  int mr, nr;  // register tile
  int kc;      // depth of a packed slice: the B micro-panel kc x nr stays in L1
  int mc;      // rows of a packed A block (multiple of mr): in L2
  int nc;      // columns of a packed B block (multiple of nr): in L3
  MicroKernel kernel;
  bool bf16 = false;  // packed panels hold bf16 pairs (see above), not floats
  bool amx = false;   // bf16 in the AMX layout (see above)
  // Optional, bf16 sets: d[j] = the slot of (r0[j], r1[j]) (r1 null: a zero
  // k) for j < n, zero slots up to width; rounding exactly as gemm/cpu.cpp's
  // bf16_bits. The ISA file's wider version of cpu.cpp's column_slots, which
  // packs op(B) = im2col's col (a quarter of a bf16 forward at SSE width).
  void (*column_slots)(const float* r0, const float* r1, int n, int width, float* d) = nullptr;
};

// 32-bit slots one packed row or column of depth kc takes in g's layout.
inline int packed_depth(const GemmKernel& g, int kc) {
  return g.amx ? (kc + 31) / 32 * 16 : g.bf16 ? (kc + 1) / 2 : kc;
}

// Defined in their ISA files; nullptr where the file was compiled without its
// instruction set (a non-x86 build).
const GemmKernel* gemm_kernel_generic();
const GemmKernel* gemm_kernel_avx2();
const GemmKernel* gemm_kernel_avx512();
const GemmKernel* gemm_kernel_avx512_bf16();
const GemmKernel* gemm_kernel_amx_bf16();

// The kernel set in use (common/cpu_features.cpp).
const GemmKernel& active_gemm_kernel();
// The bf16 set in use, or nullptr when none (no avx512_bf16 / AMX, or TINCT_CPU_BF16=off).
const GemmKernel* active_bf16_gemm_kernel();

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
// nr, to the 64-byte aligned dst (in g's layout: bf16 pairs for a bf16 set,
// padded to whole chunks for AMX, which pack_b_panel_transposed takes care of). Called for different panels from several
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
