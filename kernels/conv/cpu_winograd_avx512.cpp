// conv/cpu_winograd_avx512.cpp — the AVX-512 input and output transforms of the
// CPU Winograd F(4x4, 3x3) forward (conv/cpu_winograd.cpp drives them; the
// interface and the portable versions: conv/cpu_winograd.h, cpu_winograd.cpp).
// Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); only called on the
// avx512 kernel set. Nothing but intrinsics here (see gemm/microkernels.h).
//
// The 16 lanes hold the tiles of a group: up to 8 segments, each a run of
// consecutive tiles of one tile row (conv/winograd_tiles.h: on small maps,
// 16 x 16 or dilated, several short rows fill the lanes that one row would
// leave idle), so every operation is a plain vector add / FMA:
//   input:  per channel and segment, the 6 input rows' vertical transform
//           B^T d on contiguous row runs (masked loads do the zero padding;
//           dilation 2: two contiguous loads and the even floats; more: a
//           gather), to columns 4 lane .. of a 6 x 96 buffer in L1 (segments
//           one idle lane apart, so their 4 cnt + 2 columns do not overlap);
//           each of its rows deinterleaved (stride 4, 8 shuffles) into the 6
//           columns of the 16 lanes; the horizontal transform; 36 vectors
//           compressed (the segments' lanes, dense) and stored straight into
//           the GEMM's packed-B panels (two masked stores where the group
//           crosses a panel).
//   output: per output channel, 36 expand-loads of M (dense columns to the
//           segments' lanes), A^T M A, the epilogue (scale, shift, residual,
//           ReLU / leaky, post scale and shift) on the values in registers,
//           then each output row's 4 column vectors interleaved back into 64
//           floats (lane l's 4 at 4 l) and stored per segment with a mask at
//           its row; dilation 2: each 16 of them spread to the even floats of
//           32, two masked stores (TINCT_WINOGRAD_D2STORE=0: scatters, as for
//           larger dilations).
//   filter: the MR filters of a packed row panel in the lanes (gathers), G g
//           G^T, 36 masked stores straight into the packed-A panel.
// The F(3x3, 4x4) set (input43 / output43 / filter43, below) does the same
// with tiles stepping by 3: a deinterleave by 3 (permutes and a blend), 3x6
// A^T, 6x4 G; dilation 1 only, one segment a group (segments == false).
// BENCHMARK: bench_conv_winograd (see conv/cpu_winograd.cpp).
#include "kernels/conv/cpu_winograd.h"

#if defined(__AVX512F__)
#include "kernels/common/avx512_intrinsics.h"

namespace tinct::cpu::detail {
namespace {

inline __mmask16 first_lanes(int n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

// Stores lanes [0, n) of v at columns col.. of row c of panel-major V (panel width nr).
inline void store_cols(float* Vt, int C, int c, int col, int n, int nr, __m512 v) {
  const int off = col % nr, first = nr - off < n ? nr - off : n;
  float* p = Vt + (size_t)(col / nr) * nr * C + (size_t)c * nr + off;
  const __mmask16 lo = first_lanes(first);
  _mm512_mask_storeu_ps(p, lo, v);
  if (first < n)  // lanes first.. go to the next panel, from its column 0
    _mm512_mask_storeu_ps(p + (size_t)nr * C - nr, (__mmask16)(first_lanes(n) & ~lo), v);
}

// The lanes of a group's segments.
inline __mmask16 segment_lanes(const WinoSeg* seg, int nseg) {
  unsigned m = 0;
  for (int s = 0; s < nseg; ++s) m |= (unsigned)first_lanes(seg[s].cnt) << seg[s].lane;
  return (__mmask16)m;
}

void input(const WinoIn& in, float* V, size_t tstride, int col, int nr) {
  const int d = in.dw, ns = in.nseg;
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i even = _mm512_slli_epi32(iota, 1);  // elements 0, 2, .., 30 of two vectors
  // Per segment: its 4 cnt + 2 input columns (nv vectors) go to the staging
  // buffer's columns 4 lane .. (the vertical transform on them first); the
  // loads' masks do the zero padding. Dilation 1: masked loads; 2: two
  // contiguous masked loads and the even elements; more: a gather.
  struct Seg {
    const float* x;
    long roff[6];
    bool rok[6];
    int nv, at;
    __mmask16 cm[5], lo[5], hi[5], st[5];
    __m512i idx[5];
  };
  Seg sg[8];
  for (int s = 0; s < ns; ++s) {
    const WinoSeg& S = in.seg[s];
    Seg& G = sg[s];
    const int ncols = 4 * S.cnt + 2;
    G.x = in.x + S.off, G.nv = (ncols + 15) / 16, G.at = 4 * S.lane;
    for (int v = 0; v < G.nv; ++v) {
      const __m512i j = _mm512_add_epi32(iota, _mm512_set1_epi32(16 * v));
      G.idx[v] = _mm512_add_epi32(_mm512_set1_epi32(S.c0), _mm512_mullo_epi32(j, _mm512_set1_epi32(d)));
      G.cm[v] = _mm512_cmplt_epi32_mask(j, _mm512_set1_epi32(ncols)) &
                _mm512_cmpge_epi32_mask(G.idx[v], _mm512_setzero_si512()) &
                _mm512_cmplt_epi32_mask(G.idx[v], _mm512_set1_epi32(in.W));
      G.st[v] = first_lanes(ncols - 16 * v);
      // d == 2: element i of the 32 contiguous floats from c0 + 32 v is column
      // (i / 2) of the vector when i is even
      unsigned lo = 0, hi = 0;
      for (int i = 0; i < 16; i += 2) {
        if ((G.cm[v] >> (i / 2)) & 1) lo |= 1u << i;
        if ((G.cm[v] >> (8 + i / 2)) & 1) hi |= 1u << i;
      }
      G.lo[v] = (__mmask16)lo, G.hi[v] = (__mmask16)hi;
    }
    for (int i = 0; i < 6; ++i) {
      const int h = S.r0 + in.dh * i;
      G.rok[i] = h >= 0 && h < in.H;
      G.roff[i] = (long)h * in.W + S.c0;
    }
  }
  const __mmask16 act = segment_lanes(in.seg, ns);
  const bool dense = ns == 1 && in.seg[0].lane == 0;  // no compress needed
  // Deinterleave indices: lanes 0-7 column k of tiles 0-3 (first source) and
  // 4-7 (second), lanes 8-15 column k + 1 of the same.
  const __m512i i01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
  const __m512i i23 = _mm512_add_epi32(i01, _mm512_set1_epi32(2));
  alignas(64) float E[6][96] = {};  // 80 read; a segment's last masked store may reach 95
  const __m512 c2 = _mm512_set1_ps(2.0f), c4 = _mm512_set1_ps(4.0f), c5 = _mm512_set1_ps(5.0f);
  for (int c = 0; c < in.C; ++c) {
    for (int s = 0; s < ns; ++s) {
      const Seg& G = sg[s];
      const float* xc = G.x + (size_t)c * in.plane;
      for (int v = 0; v < G.nv; ++v) {
        __m512 r[6];
        for (int i = 0; i < 6; ++i) {
          if (!G.rok[i]) r[i] = _mm512_setzero_ps();
          else if (d == 1) r[i] = _mm512_maskz_loadu_ps(G.cm[v], xc + G.roff[i] + 16 * v);
          else if (d == 2) {
            const float* q = xc + G.roff[i] + 32 * v;
            r[i] = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(G.lo[v], q), even,
                                          _mm512_maskz_loadu_ps(G.hi[v], q + 16));
          } else
            r[i] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), G.cm[v], G.idx[v], xc + G.roff[i] - in.seg[s].c0, 4);
        }
        // B^T d: the rows' combinations (kWinoBT of conv/ref_winograd.cpp)
        float* e = &E[0][G.at + 16 * v];
        const __mmask16 st = G.st[v];
        _mm512_mask_storeu_ps(e, st, _mm512_add_ps(_mm512_fmsub_ps(c4, r[0], _mm512_mul_ps(c5, r[2])), r[4]));
        const __m512 a = _mm512_fmsub_ps(c4, r[2], _mm512_add_ps(r[3], r[4]));  // 4 r2 - r3 - r4
        const __m512 b = _mm512_mul_ps(c4, r[1]);
        _mm512_mask_storeu_ps(e + 96, st, _mm512_sub_ps(_mm512_setzero_ps(), _mm512_add_ps(b, a)));  // -4r1-4r2+r3+r4
        const __m512 a2 = _mm512_fmsub_ps(c4, r[2], r[4]);                                          // 4 r2 - r4
        _mm512_mask_storeu_ps(e + 2 * 96, st, _mm512_sub_ps(_mm512_sub_ps(b, r[3]), a2));          // 4r1-4r2-r3+r4
        const __m512 t13 = _mm512_mul_ps(c2, _mm512_sub_ps(r[3], r[1]));                            // 2 (r3 - r1)
        const __m512 t24 = _mm512_sub_ps(r[4], r[2]);                                               // r4 - r2
        _mm512_mask_storeu_ps(e + 3 * 96, st, _mm512_add_ps(t13, t24));
        _mm512_mask_storeu_ps(e + 4 * 96, st, _mm512_sub_ps(t24, t13));
        _mm512_mask_storeu_ps(e + 5 * 96, st,
                              _mm512_add_ps(_mm512_fmsub_ps(c4, r[1], _mm512_mul_ps(c5, r[3])), r[5]));
      }
    }
    for (int i = 0; i < 6; ++i) {
      const __m512 e0 = _mm512_load_ps(&E[i][0]), e1 = _mm512_load_ps(&E[i][16]);
      const __m512 e2 = _mm512_load_ps(&E[i][32]), e3 = _mm512_load_ps(&E[i][48]);
      const __m512 e4 = _mm512_load_ps(&E[i][64]);
      const __m512 A = _mm512_permutex2var_ps(e0, i01, e1), B = _mm512_permutex2var_ps(e0, i23, e1);
      const __m512 Cc = _mm512_permutex2var_ps(e2, i01, e3), D = _mm512_permutex2var_ps(e2, i23, e3);
      // k[j]: lane l = column 4 l + j of the segment, i.e. column j of tile l
      const __m512 k0 = _mm512_shuffle_f32x4(A, Cc, 0x44), k1 = _mm512_shuffle_f32x4(A, Cc, 0xEE);
      const __m512 k2 = _mm512_shuffle_f32x4(B, D, 0x44), k3 = _mm512_shuffle_f32x4(B, D, 0xEE);
      const __m512 k4 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(e4), _mm512_castps_si512(k0), 1));
      const __m512i e4s = _mm512_alignr_epi32(_mm512_castps_si512(e4), _mm512_castps_si512(e4), 1);
      const __m512 k5 = _mm512_castsi512_ps(_mm512_alignr_epi32(e4s, _mm512_castps_si512(k1), 1));
      // (B^T d) B: the same combinations across the columns
      float* Vt = V + (size_t)(i * 6) * tstride;
      const __m512 b1 = _mm512_mul_ps(c4, k1);
      const __m512 o0 = _mm512_add_ps(_mm512_fmsub_ps(c4, k0, _mm512_mul_ps(c5, k2)), k4);
      const __m512 a = _mm512_fmsub_ps(c4, k2, _mm512_add_ps(k3, k4));
      const __m512 o1 = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_add_ps(b1, a));
      const __m512 o2 = _mm512_sub_ps(_mm512_sub_ps(b1, k3), _mm512_fmsub_ps(c4, k2, k4));
      const __m512 t13 = _mm512_mul_ps(c2, _mm512_sub_ps(k3, k1)), t24 = _mm512_sub_ps(k4, k2);
      const __m512 o3 = _mm512_add_ps(t13, t24), o4 = _mm512_sub_ps(t24, t13);
      const __m512 o5 = _mm512_add_ps(_mm512_fmsub_ps(c4, k1, _mm512_mul_ps(c5, k3)), k5);
      const __m512 o[6] = {o0, o1, o2, o3, o4, o5};
      for (int j = 0; j < 6; ++j)  // the segments' lanes packed to the group's dense columns
        store_cols(Vt + j * tstride, in.C, c, col, in.n, nr, dense ? o[j] : _mm512_maskz_compress_ps(act, o[j]));
    }
  }
}

// A^T of 6 vectors (kWinoAT of conv/ref_winograd.cpp).
inline void at6(__m512 m0, __m512 m1, __m512 m2, __m512 m3, __m512 m4, __m512 m5, __m512* o) {
  const __m512 s12 = _mm512_add_ps(m1, m2), d12 = _mm512_sub_ps(m1, m2);
  const __m512 s34 = _mm512_add_ps(m3, m4), d34 = _mm512_sub_ps(m3, m4);
  o[0] = _mm512_add_ps(_mm512_add_ps(m0, s12), s34);
  o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
  o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
  o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m5);
}

struct Epi {
  // Output channel k's constants of the fused epilogue.
  Epi(const WinoEpi& ep, int k)
      : sc(_mm512_set1_ps(ep.sc[k])), sh(_mm512_set1_ps(ep.sh[k])), psc(_mm512_set1_ps(ep.psc[k])),
        psh(_mm512_set1_ps(ep.psh[k])), slope(_mm512_set1_ps(ep.slope)), act(ep.act) {}
  __m512 sc, sh, psc, psh, slope;
  int act;
  // v = psc * act(sc * v + sh + res) + psh; r: the residual values (or 0)
  __m512 apply(__m512 v, __m512 r) const {
    v = _mm512_add_ps(_mm512_fmadd_ps(v, sc, sh), r);
    if (act == 1) v = _mm512_max_ps(v, _mm512_setzero_ps());
    else if (act == 2) v = _mm512_mask_mul_ps(v, _mm512_cmplt_ps_mask(v, _mm512_setzero_ps()), v, slope);
    return _mm512_fmadd_ps(v, psc, psh);
  }
};

// An output row's 4 vectors v (v[c], lane l: column c of lane l's tile) as
// its 64 interleaved floats w (lane l, column c at 4 l + c), by output()'s
// interleave indices j0, j1.
inline void interleave(const __m512 v[4], __m512i j0, __m512i j1, __m512 w[4]) {
  const __m512 A = _mm512_shuffle_f32x4(v[0], v[1], 0x44), Cc = _mm512_shuffle_f32x4(v[0], v[1], 0xEE);
  const __m512 B = _mm512_shuffle_f32x4(v[2], v[3], 0x44), D = _mm512_shuffle_f32x4(v[2], v[3], 0xEE);
  w[0] = _mm512_permutex2var_ps(A, j0, B), w[1] = _mm512_permutex2var_ps(A, j1, B);
  w[2] = _mm512_permutex2var_ps(Cc, j0, D), w[3] = _mm512_permutex2var_ps(Cc, j1, D);
}

void output(const WinoOut& o, const WinoEpi& ep, const float* M, int ldm, int col) {
  const int d = o.dw, dh = o.dh, ns = o.nseg;
  const size_t PQ = (size_t)o.P * o.Q;
  const __mmask16 act = segment_lanes(o.seg, ns);
  const bool dense = ns == 1 && o.seg[0].lane == 0;  // M's columns straight into the lanes
  // Interleave indices (the inverse of the input's deinterleave).
  const __m512i j0 = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
  const __m512i j1 = _mm512_add_epi32(j0, _mm512_set1_epi32(4));
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i even = _mm512_slli_epi32(iota, 1);                       // floats 0, 2, .., 30 of two vectors
  const __m512i spread_lo = _mm512_srli_epi32(iota, 1);                  // lane 2 i <- i
  const __m512i spread_hi = _mm512_add_epi32(spread_lo, _mm512_set1_epi32(8));  // lane 2 i <- 8 + i
  // Per segment: its rows inside the output; d == 1: of the 64 interleaved
  // floats of a row (lane l, column c at 4 l + c), chunk h's mask of the
  // segment's outputs, written at the segment's row start - 4 lane + 16 h;
  // d > 1: lane l, column c -> output column c0 + d (4 (l - lane) + c), a
  // scatter per column c.
  int rows[8], maxrows = 0, chunks = 0;
  __mmask16 wm[8][4], wm2[8][4][2], smask[8][4];
  __m512i sidx[8][4];
  for (int s = 0; s < ns; ++s) {
    const WinoSeg& S = o.seg[s];
    rows[s] = 0;
    while (rows[s] < 4 && S.r0 + dh * rows[s] < o.P) ++rows[s];
    maxrows = rows[s] > maxrows ? rows[s] : maxrows;
    // output columns of the segment, in steps of d
    const int count = (o.Q - S.c0 + d - 1) / d < 4 * S.cnt ? (o.Q - S.c0 + d - 1) / d : 4 * S.cnt;
    for (int h = 0; h < 4; ++h) {
      const int lo = 4 * S.lane - 16 * h, hi = 4 * S.lane + count - 16 * h;
      wm[s][h] = (__mmask16)(first_lanes(hi) & ~first_lanes(lo));
      if (wm[s][h] && h + 1 > chunks) chunks = h + 1;
      unsigned m0 = 0, m1 = 0;  // d == 2: lane i of a chunk at float 2 i of 32: its even bits
      for (int i = 0; i < 8; ++i) {
        if ((wm[s][h] >> i) & 1) m0 |= 1u << (2 * i);
        if ((wm[s][h] >> (8 + i)) & 1) m1 |= 1u << (2 * i);
      }
      wm2[s][h][0] = (__mmask16)m0, wm2[s][h][1] = (__mmask16)m1;
    }
    const __mmask16 lanes = (__mmask16)((unsigned)first_lanes(S.cnt) << S.lane);
    for (int c = 0; c < 4; ++c) {
      const __m512i q = _mm512_mullo_epi32(
          _mm512_set1_epi32(d),
          _mm512_add_epi32(_mm512_slli_epi32(_mm512_sub_epi32(iota, _mm512_set1_epi32(S.lane)), 2), _mm512_set1_epi32(c)));
      sidx[s][c] = q;
      smask[s][c] = lanes & _mm512_cmplt_epi32_mask(q, _mm512_set1_epi32(o.Q - S.c0));
    }
  }
  for (int k = 0; k < o.K; ++k) {
    const float* mk = M + (size_t)k * 36 * ldm + col;
    __m512 e[4][6];
    for (int c = 0; c < 6; ++c) {
      __m512 m[6];
      for (int i = 0; i < 6; ++i) {
        const float* src = mk + (size_t)(i * 6 + c) * ldm;
        m[i] = dense ? _mm512_maskz_loadu_ps(act, src) : _mm512_maskz_expandloadu_ps(act, src);
      }
      __m512 t[4];
      at6(m[0], m[1], m[2], m[3], m[4], m[5], t);
      for (int r = 0; r < 4; ++r) e[r][c] = t[r];
    }
    const Epi E(ep, k);
    float* yk = o.y + (size_t)k * PQ;
    const float* rk = o.residual ? o.residual + (size_t)k * PQ : nullptr;
    for (int r = 0; r < maxrows; ++r) {
      __m512 v[4];
      at6(e[r][0], e[r][1], e[r][2], e[r][3], e[r][4], e[r][5], v);
      long at[8];  // each segment's output row start (or -1 past the bottom)
      for (int s = 0; s < ns; ++s)
        at[s] = r < rows[s] ? (long)(o.seg[s].off + (size_t)(o.seg[s].r0 + dh * r) * o.Q + o.seg[s].c0) : -1;
      if (d == 1) {
        __m512 w[4];
        interleave(v, j0, j1, w);
        for (int h = 0; h < chunks; ++h) {
          __m512 res = _mm512_setzero_ps();
          if (rk)
            for (int s = 0; s < ns; ++s)
              if (at[s] >= 0 && wm[s][h])
                res = _mm512_mask_loadu_ps(res, wm[s][h], rk + at[s] - 4 * o.seg[s].lane + 16 * h);
          const __m512 val = E.apply(w[h], res);
          for (int s = 0; s < ns; ++s)
            if (at[s] >= 0 && wm[s][h]) _mm512_mask_storeu_ps(yk + at[s] - 4 * o.seg[s].lane + 16 * h, wm[s][h], val);
        }
      } else if (d == 2 && o.d2_stores) {
        // the same chunks of interleaved outputs, each spread to the even
        // floats of 32 (two masked stores) instead of four scatters a segment
        __m512 w[4];
        interleave(v, j0, j1, w);
        for (int h = 0; h < chunks; ++h) {
          __m512 res = _mm512_setzero_ps();
          if (rk)
            for (int s = 0; s < ns; ++s)
              if (at[s] >= 0 && wm[s][h]) {
                const float* q = rk + at[s] + 2 * (16 * h - 4 * o.seg[s].lane);
                const __m512 ev = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(wm2[s][h][0], q), even,
                                                         _mm512_maskz_loadu_ps(wm2[s][h][1], q + 16));
                res = _mm512_mask_mov_ps(res, wm[s][h], ev);
              }
          const __m512 val = E.apply(w[h], res);
          const __m512 lo = _mm512_permutexvar_ps(spread_lo, val), hi = _mm512_permutexvar_ps(spread_hi, val);
          for (int s = 0; s < ns; ++s)
            if (at[s] >= 0 && wm[s][h]) {
              float* q = yk + at[s] + 2 * (16 * h - 4 * o.seg[s].lane);
              _mm512_mask_storeu_ps(q, wm2[s][h][0], lo);
              _mm512_mask_storeu_ps(q + 16, wm2[s][h][1], hi);
            }
        }
      } else {
        for (int c = 0; c < 4; ++c) {
          __m512 res = _mm512_setzero_ps();
          if (rk)
            for (int s = 0; s < ns; ++s)
              if (at[s] >= 0) res = _mm512_mask_i32gather_ps(res, smask[s][c], sidx[s][c], rk + at[s], 4);
          const __m512 val = E.apply(v[c], res);
          for (int s = 0; s < ns; ++s)
            if (at[s] >= 0) _mm512_mask_i32scatter_ps(yk + at[s], smask[s][c], sidx[s][c], val, 4);
        }
      }
    }
  }
}

// G (a, b, c) for the 6 rows of G (winograd::kG3, conv/winograd_tiles.h).
inline void g6(__m512 a, __m512 b, __m512 c, __m512* o) {
  const __m512 s = _mm512_add_ps(a, c), m6 = _mm512_set1_ps(-1.0f / 6);
  const __m512 t = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 24), a, _mm512_mul_ps(_mm512_set1_ps(1.0f / 6), c));
  const __m512 b12 = _mm512_mul_ps(_mm512_set1_ps(1.0f / 12), b);
  o[0] = _mm512_mul_ps(_mm512_set1_ps(0.25f), a);
  o[1] = _mm512_mul_ps(m6, _mm512_add_ps(s, b));
  o[2] = _mm512_mul_ps(m6, _mm512_sub_ps(s, b));
  o[3] = _mm512_add_ps(t, b12);
  o[4] = _mm512_sub_ps(t, b12);
  o[5] = c;
}

// The filter transform, the mr (<= 16) filters of one packed row panel in the
// lanes: 9 gathers, G g, (G g) G^T, 36 masked stores of mr floats.
void filter(const float* g, size_t kstride, int rows, int mr, float* U, size_t upack) {
  const __mmask16 valid = first_lanes(rows), store = first_lanes(mr);
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32((int)kstride));
  __m512 w[9];
  for (int q = 0; q < 9; ++q) w[q] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, idx, g + q, 4);
  __m512 e[3][6];  // e[q][i] = (G g)[i][q]
  for (int q = 0; q < 3; ++q) g6(w[q], w[3 + q], w[6 + q], e[q]);
  for (int i = 0; i < 6; ++i) {
    __m512 u[6];
    g6(e[0][i], e[1][i], e[2][i], u);
    for (int j = 0; j < 6; ++j) _mm512_mask_storeu_ps(U + (size_t)(i * 6 + j) * upack, store, u[j]);
  }
}

const WinoTransforms kAvx512{input, output, filter, true};

// --- F(3x3, 4x4): the same 6x6 tiles and B^T, tiles stepping by 3 (dilation 1
// only: conv2d_winograd43_supported). Tile l of a group reads the segment's
// columns 3 l .. 3 l + 5, so the deinterleave is by 3: column j of the 16
// tiles is elements j, j + 3, ..., j + 45 of the (<= 51-wide) segment, taken
// from its four vectors by two two-source permutes and a blend.

// B^T of 6 vectors (kWinoBT), the formulas of input() above.
inline void bt6(const __m512* r, __m512* o) {
  const __m512 c2 = _mm512_set1_ps(2.0f), c4 = _mm512_set1_ps(4.0f), c5 = _mm512_set1_ps(5.0f);
  o[0] = _mm512_add_ps(_mm512_fmsub_ps(c4, r[0], _mm512_mul_ps(c5, r[2])), r[4]);
  const __m512 b = _mm512_mul_ps(c4, r[1]);
  o[1] = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_add_ps(b, _mm512_fmsub_ps(c4, r[2], _mm512_add_ps(r[3], r[4]))));
  o[2] = _mm512_sub_ps(_mm512_sub_ps(b, r[3]), _mm512_fmsub_ps(c4, r[2], r[4]));
  const __m512 t13 = _mm512_mul_ps(c2, _mm512_sub_ps(r[3], r[1])), t24 = _mm512_sub_ps(r[4], r[2]);
  o[3] = _mm512_add_ps(t13, t24);
  o[4] = _mm512_sub_ps(t24, t13);
  o[5] = _mm512_add_ps(_mm512_fmsub_ps(c4, r[1], _mm512_mul_ps(c5, r[3])), r[5]);
}

void input43(const WinoIn& in, float* V, size_t tstride, int col, int nr) {
  const WinoSeg& S = in.seg[0];  // one segment at lane 0 (segments == false)
  const int ncols = 3 * in.n + 3, nv = (ncols + 15) / 16;  // <= 51 columns, 4 vectors
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __mmask16 cm[4];
  for (int v = 0; v < nv; ++v) {
    const __m512i j = _mm512_add_epi32(iota, _mm512_set1_epi32(16 * v));
    const __m512i w = _mm512_add_epi32(_mm512_set1_epi32(S.c0), j);
    cm[v] = _mm512_cmplt_epi32_mask(j, _mm512_set1_epi32(ncols)) & _mm512_cmpge_epi32_mask(w, _mm512_setzero_si512()) &
            _mm512_cmplt_epi32_mask(w, _mm512_set1_epi32(in.W));
  }
  long roff[6];
  bool rok[6];
  for (int i = 0; i < 6; ++i) {
    const int h = S.r0 + i;
    rok[i] = h >= 0 && h < in.H;
    roff[i] = (long)h * in.W + S.c0;
  }
  // column j of tile l = segment element 3 l + j: from vectors 0-1 (index
  // < 32) or 2-3 (the same low 5 bits), blended by the high bit
  __m512i idx[6];
  __mmask16 hi[6];
  for (int j = 0; j < 6; ++j) {
    idx[j] = _mm512_add_epi32(_mm512_mullo_epi32(iota, _mm512_set1_epi32(3)), _mm512_set1_epi32(j));
    hi[j] = _mm512_cmpge_epi32_mask(idx[j], _mm512_set1_epi32(32));
  }
  alignas(64) float E[6][64] = {};
  for (int c = 0; c < in.C; ++c) {
    const float* xc = in.x + S.off + (size_t)c * in.plane;
    for (int v = 0; v < nv; ++v) {
      __m512 r[6], o[6];
      for (int i = 0; i < 6; ++i)
        r[i] = rok[i] ? _mm512_maskz_loadu_ps(cm[v], xc + roff[i] + 16 * v) : _mm512_setzero_ps();
      bt6(r, o);  // B^T d, along the rows
      for (int i = 0; i < 6; ++i) _mm512_store_ps(&E[i][16 * v], o[i]);
    }
    for (int i = 0; i < 6; ++i) {
      const __m512 e0 = _mm512_load_ps(&E[i][0]), e1 = _mm512_load_ps(&E[i][16]);
      const __m512 e2 = _mm512_load_ps(&E[i][32]), e3 = _mm512_load_ps(&E[i][48]);
      __m512 k[6], o[6];
      for (int j = 0; j < 6; ++j)
        k[j] = _mm512_mask_blend_ps(hi[j], _mm512_permutex2var_ps(e0, idx[j], e1),
                                    _mm512_permutex2var_ps(e2, idx[j], e3));
      bt6(k, o);  // (B^T d) B
      float* Vt = V + (size_t)(i * 6) * tstride;
      for (int j = 0; j < 6; ++j) store_cols(Vt + j * tstride, in.C, c, col, in.n, nr, o[j]);
    }
  }
}

// A^T of 6 vectors (kWino43AT of conv/ref_winograd.cpp).
inline void at6_3(__m512 m0, __m512 m1, __m512 m2, __m512 m3, __m512 m4, __m512 m5, __m512* o) {
  const __m512 s12 = _mm512_add_ps(m1, m2), d12 = _mm512_sub_ps(m1, m2);
  const __m512 s34 = _mm512_add_ps(m3, m4), d34 = _mm512_sub_ps(m3, m4);
  o[0] = _mm512_add_ps(_mm512_add_ps(m0, s12), s34);
  o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
  o[2] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12), m5);
}

void output43(const WinoOut& o, const WinoEpi& ep, const float* M, int ldm, int col) {
  const WinoSeg& S = o.seg[0];  // one segment at lane 0 (segments == false)
  const int n = o.n;
  const size_t PQ = (size_t)o.P * o.Q;
  const __mmask16 lanes = first_lanes(n);
  int rows = 0;
  while (rows < 3 && S.r0 + rows < o.P) ++rows;
  const int count = o.Q - S.c0 < 3 * n ? o.Q - S.c0 : 3 * n;  // output columns of the group
  // Interleave: output column q = 16 s + i of the group is column q % 3 of
  // tile q / 3: lanes of v0 / v1 by one two-source permute, those of v2 over it.
  __m512i i01[3], i2[3];
  __mmask16 m2[3];
  alignas(64) int a01[16], a2[16];
  for (int s = 0; s < 3; ++s) {
    int bits = 0;
    for (int i = 0; i < 16; ++i) {
      const int q = 16 * s + i, c = q % 3, l = q / 3;
      a01[i] = l + (c == 1 ? 16 : 0), a2[i] = l;
      if (c == 2) bits |= 1 << i;
    }
    i01[s] = _mm512_load_si512(a01), i2[s] = _mm512_load_si512(a2), m2[s] = (__mmask16)bits;
  }
  for (int k = 0; k < o.K; ++k) {
    const float* mk = M + (size_t)k * 36 * ldm + col;
    __m512 e[3][6];
    for (int c = 0; c < 6; ++c) {
      __m512 m[6];
      for (int i = 0; i < 6; ++i) m[i] = _mm512_maskz_loadu_ps(lanes, mk + (size_t)(i * 6 + c) * ldm);
      __m512 t[3];
      at6_3(m[0], m[1], m[2], m[3], m[4], m[5], t);
      for (int r = 0; r < 3; ++r) e[r][c] = t[r];
    }
    const Epi E(ep, k);
    float* yk = o.y + (size_t)k * PQ;
    const float* rk = o.residual ? o.residual + (size_t)k * PQ : nullptr;
    for (int r = 0; r < rows; ++r) {
      __m512 v[3];
      at6_3(e[r][0], e[r][1], e[r][2], e[r][3], e[r][4], e[r][5], v);
      const size_t row = S.off + (size_t)(S.r0 + r) * o.Q + S.c0;
      for (int s = 0; s * 16 < count; ++s) {
        const __m512 w = _mm512_mask_permutexvar_ps(_mm512_permutex2var_ps(v[0], i01[s], v[1]), m2[s], i2[s], v[2]);
        const __mmask16 m = first_lanes(count - 16 * s);
        const __m512 res = rk ? _mm512_maskz_loadu_ps(m, rk + row + 16 * s) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(yk + row + 16 * s, m, E.apply(w, res));
      }
    }
  }
}

// G (a, b, c, d) for the 6 rows of the F(3x3, 4x4) G (winograd::kG4).
inline void g6_4(__m512 a, __m512 b, __m512 c, __m512 d, __m512* o) {
  const __m512 sac = _mm512_add_ps(a, c), sbd = _mm512_add_ps(b, d), m6 = _mm512_set1_ps(-1.0f / 6);
  const __m512 t = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 24), a, _mm512_mul_ps(_mm512_set1_ps(1.0f / 6), c));
  const __m512 u = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 12), b, _mm512_mul_ps(_mm512_set1_ps(1.0f / 3), d));
  o[0] = _mm512_mul_ps(_mm512_set1_ps(0.25f), a);
  o[1] = _mm512_mul_ps(m6, _mm512_add_ps(sac, sbd));
  o[2] = _mm512_mul_ps(m6, _mm512_sub_ps(sac, sbd));
  o[3] = _mm512_add_ps(t, u);
  o[4] = _mm512_sub_ps(t, u);
  o[5] = d;
}

// The F(3x3, 4x4) filter transform: 16 gathers, G g, (G g) G^T, 36 masked stores.
void filter43(const float* g, size_t kstride, int rows, int mr, float* U, size_t upack) {
  const __mmask16 valid = first_lanes(rows), store = first_lanes(mr);
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32((int)kstride));
  __m512 w[16];
  for (int q = 0; q < 16; ++q) w[q] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, idx, g + q, 4);
  __m512 e[4][6];  // e[q][i] = (G g)[i][q]
  for (int q = 0; q < 4; ++q) g6_4(w[q], w[4 + q], w[8 + q], w[12 + q], e[q]);
  for (int i = 0; i < 6; ++i) {
    __m512 u[6];
    g6_4(e[0][i], e[1][i], e[2][i], e[3][i], u);
    for (int j = 0; j < 6; ++j) _mm512_mask_storeu_ps(U + (size_t)(i * 6 + j) * upack, store, u[j]);
  }
}

const WinoTransforms kAvx512F43{input43, output43, filter43, false};

}  // namespace

const WinoTransforms* winograd_transforms_avx512() { return &kAvx512; }
const WinoTransforms* winograd43_transforms_avx512() { return &kAvx512F43; }

}  // namespace tinct::cpu::detail

#else  // built without AVX-512

namespace tinct::cpu::detail {
const WinoTransforms* winograd_transforms_avx512() { return nullptr; }
const WinoTransforms* winograd43_transforms_avx512() { return nullptr; }
}  // namespace tinct::cpu::detail

#endif
