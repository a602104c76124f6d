// gemm/cpu_amx.cpp — the AMX-BF16 GEMM micro-kernel (the bf16 kernel set
// "amx-bf16"): C = alpha * A B + beta * C with A and B rounded to bf16 (round
// to nearest even, as cpu::bf16_from_float) and the products summed in fp32:
// the CPU arithmetic of Precision::bf16, as gemm/cpu_avx512bf16.cpp, on the
// AMX tile unit. Compiled with -mamx-tile -mamx-bf16 and AVX-512 (CMakeLists.txt);
// only called after common/cpu_features.cpp has seen amx_tile + amx_bf16 in
// cpuid and the OS has granted the tile data state (arch_prctl
// ARCH_REQ_XCOMP_PERM), and only for the bf16 precision.
//
// TDPBF16PS multiplies a 16 x 32 bf16 tile of A (16 rows x 16 k pairs) by a
// 16 x 32 one of B (16 k pairs x 16 columns, pairs interleaved) into a 16 x 16
// fp32 tile: 8192 multiply-adds per instruction. Register tile 32 x 32 of C =
// 2 x 2 accumulator tiles (tmm0-3), per 32-k chunk 2 A tiles (tmm4, 5) and
// 2 B tiles (tmm6, 7): 4 loads for 4 TDPBF16PS.
// Layouts (gemm/cpu.cpp packs them; gemm/microkernels.h): B is the bf16 set's
// panel (one 32-bit slot per k pair per column, NR = 32 slots a pair row), so a
// B tile is 16 pair rows at stride 128 bytes. A is packed per 32-k chunk as
// MR rows x 16 slots (64 bytes a row), so an A tile is 16 such rows at stride
// 64. The depth of both is padded with zeros to whole chunks (KC any size).
// Edge tiles (mr or nr <= 16) skip the tiles that lie wholly outside C; the
// rest are stored through a 32 x 32 scratch with masked AVX-512 stores.
// The tile unit treats bf16 subnormal operands as zero and flushes fp32
// subnormal results (as VDPBF16PS does): below 2^-126, inside any tolerance.
// Tile configuration (LDTILECFG) is per thread: done once per thread, lazily.
// The file also packs op(B) rows into bf16 pairs 16 lanes at a time
// (column_slots below; gemm/cpu.cpp's SSE4.1 version was 20% of a bf16 forward).
// Blocking, sized for the caches and not yet tuned by measurement (bench/RESULTS.md "AMX-BF16"):
//   KC = 1024: the B micro-panel 1024 x 32 bf16 = 64 KiB (L1 / L2);
//   MC = 256:  the packed A block 256 x 1024 bf16 = 512 KiB (L2);
//   NC = 4096: the packed B block 1024 x 4096 bf16 = 8 MiB (L3).
// BENCHMARK: TINCT_CPU_BF16=amx bench_cpu_gemm_conv --benchmark_filter=bf16.
// Nothing but intrinsics here (see gemm/microkernels.h for why).
#include "kernels/gemm/microkernels.h"

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512F__)
#include <cstdint>

#include "kernels/common/avx512_intrinsics.h"

namespace tinct::cpu::detail {
namespace {

constexpr int MR = 32, NR = 32;
constexpr int kChunkSlots = 16;  // k pairs per tile row: 64 bytes

// The 64-byte LDTILECFG operand: palette 1, tmm0-7 all 16 rows x 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

void configure_tiles() {
  thread_local bool configured = false;  // the configuration is per thread state
  if (configured) return;
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) cfg.colsb[t] = 64, cfg.rows[t] = 16;
  _tile_loadconfig(&cfg);
  configured = true;
}

// R2: the second row tile (rows 16-31) is needed; C2: the second column tile.
template <bool R2, bool C2>
void tiles(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc, float alpha,
           float beta, int mr, int nr) {
  configure_tiles();
  _tile_zero(0);
  if (C2) _tile_zero(1);
  if (R2) _tile_zero(2);
  if (R2 && C2) _tile_zero(3);
  const int chunks = (kc + 31) / 32;
  for (int c = 0; c < chunks; ++c) {
    _tile_loadd(4, a, 64);
    if (R2) _tile_loadd(5, a + 16 * kChunkSlots, 64);
    _tile_loadd(6, b, NR * 4);
    if (C2) _tile_loadd(7, b + 16, NR * 4);
    _tile_dpbf16ps(0, 4, 6);
    if (C2) _tile_dpbf16ps(1, 4, 7);
    if (R2) _tile_dpbf16ps(2, 5, 6);
    if (R2 && C2) _tile_dpbf16ps(3, 5, 7);
    a += MR * kChunkSlots;  // the packed panel keeps MR rows, zero past mr
    b += kChunkSlots * NR;
  }

  if (alpha == 1.0f && beta == 0.0f && mr == MR && nr == NR) {  // the common case: straight to C
    _tile_stored(0, C, ldc * 4);
    _tile_stored(1, C + 16, ldc * 4);
    _tile_stored(2, C + (size_t)16 * ldc, ldc * 4);
    _tile_stored(3, C + (size_t)16 * ldc + 16, ldc * 4);
    return;
  }
  alignas(64) float s[MR * NR];
  _tile_stored(0, s, NR * 4);
  if (C2) _tile_stored(1, s + 16, NR * 4);
  if (R2) _tile_stored(2, s + 16 * NR, NR * 4);
  if (R2 && C2) _tile_stored(3, s + 16 * NR + 16, NR * 4);
  // Lanes of the two column halves that lie inside C (as gemm/cpu_avx512bf16.cpp).
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                       : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : (__mmask16)0;
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < mr; ++i) {
    float* row = C + (size_t)i * ldc;
    __m512 lo = _mm512_mul_ps(va, _mm512_load_ps(s + i * NR));
    __m512 hi = _mm512_mul_ps(va, _mm512_load_ps(s + i * NR + 16));
    if (beta != 0.0f) {  // masked loads: lanes past nr are not read
      lo = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), lo);
      hi = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), hi);
    }
    _mm512_mask_storeu_ps(row, m0, lo);
    _mm512_mask_storeu_ps(row + 16, m1, hi);
  }
}

void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float* C, int ldc,
                  float alpha, float beta, int mr, int nr) {
  if (mr > 16) {
    if (nr > 16) tiles<true, true>(kc, a, b, C, ldc, alpha, beta, mr, nr);
    else tiles<true, false>(kc, a, b, C, ldc, alpha, beta, mr, nr);
  } else {
    if (nr > 16) tiles<false, true>(kc, a, b, C, ldc, alpha, beta, mr, nr);
    else tiles<false, false>(kc, a, b, C, ldc, alpha, beta, mr, nr);
  }
}

// bf16_bits (gemm/cpu.cpp) of 16 floats, left in the upper 16 bits of each
// lane: round to nearest even on the dropped bits, a NaN kept with its quiet
// bit set. (Not VCVTNE2PS2BF16: it flushes subnormal inputs to zero.)
inline __m512i bf16_high16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rne = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_blend_epi32(nan, rne, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
}

// GemmKernel::column_slots, 16 slots at a time; lanes past n load as 0 (masked
// loads, never touching memory past the rows), which is the zero slot.
void column_slots(const float* r0, const float* r1, int n, int width, float* d) {
  const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
  for (int j = 0; j < width; j += 16) {
    const int left = n - j, room = width - j;
    const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1) : (__mmask16)0;
    __m512i w = _mm512_srli_epi32(bf16_high16(_mm512_maskz_loadu_ps(m, r0 + j)), 16);
    if (r1) w = _mm512_or_si512(w, _mm512_and_si512(bf16_high16(_mm512_maskz_loadu_ps(m, r1 + j)), high));
    _mm512_mask_storeu_epi32(d + j, room >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << room) - 1), w);
  }
}

const GemmKernel kAmxBf16{CpuKernels::Avx512, MR, NR, 1024, 256, 4096, micro_kernel, true, true, column_slots};

}  // namespace

const GemmKernel* gemm_kernel_amx_bf16() { return &kAmxBf16; }

}  // namespace tinct::cpu::detail

#else  // built without AMX (not x86-64, or a compiler without it): no AMX set

namespace tinct::cpu::detail {
const GemmKernel* gemm_kernel_amx_bf16() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
