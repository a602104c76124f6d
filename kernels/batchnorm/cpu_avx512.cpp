// batchnorm/cpu_avx512.cpp — the fast CPU batch norm's per-channel loops
// (batchnorm/cpu_rows.h) in AVX-512, chosen by batchnorm/cpu.cpp when the
// AVX-512 kernel set is active (TINCT_BN_AVX512=0 keeps the portable loops).
//
// WHAT: the portable loops of batchnorm/cpu.cpp, bit for bit:
//   * the channel sums: common/lane_sum.h's 8 double lanes are one zmm here
//     (vcvtps2pd of 8 floats, one vaddpd), element i of each row's whole
//     runs of 8 to lane i % 8, the row's last HW % 8 to a scalar tail, the
//     total as LaneSum::total adds it (the tail, then lanes 0..7);
//   * the float outputs 16 at a time (a masked tail), each the portable
//     expression in the same order; this file is compiled with
//     -ffp-contract=off (CMakeLists.txt), so a * b + c stays a multiply and an
//     add as in the SSE build, which has no FMA;
//   * the selects of the fused ReLU / leaky ReLU as mask moves (common/select.h
//     picks the same values: NaNs and signed zeros included).
// The backward's two sums (of g and of g (x - mean)) share one pass over
// x, y, dy (the portable path reads them twice); each keeps its own lanes, so
// the sums are the portable ones.
//
// BENCHMARK: the training steps, e.g. A/B against the portable loops:
//   python3 bench/cpu_peer/ab.py --a build/bench/bench_peer_forward --a-env TINCT_BN_AVX512=0
//     --b build/bench/bench_peer_forward --train --rounds 5 "regression compact 1" "gan compact 1"
// and per op: printf "train gan compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build/bench/bench_peer_forward
#include "kernels/batchnorm/cpu_rows.h"

#if defined(__AVX512F__)
#include "kernels/common/avx512_intrinsics.h"
#endif

namespace tinct::cpu::detail {

#if defined(__AVX512F__)
namespace {

// The 8 lanes and the tail of common/lane_sum.h.
struct Lanes {
  __m512d lane = _mm512_setzero_pd();
  double tail = 0.0;
  double total() const {
    alignas(64) double l[8];
    _mm512_store_pd(l, lane);
    double s = tail;
    for (int i = 0; i < 8; ++i) s += l[i];
    return s;
  }
};

__mmask16 tail_mask(int n) { return __mmask16((1u << n) - 1); }

// g = act's gradient of dy at output y (batchnorm/cpu.cpp's Identity / Relu / LeakyRelu::grad).
template <BnAct A>
__m512 grad(__m512 y, __m512 dy, __m512 slope) {
  if constexpr (A == BnAct::None) return dy;
  const __mmask16 pos = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
  if constexpr (A == BnAct::Relu) return _mm512_maskz_mov_ps(pos, dy);
  return _mm512_mask_mov_ps(_mm512_mul_ps(slope, dy), pos, dy);
}
template <BnAct A>
float grad1(float y, float dy, float slope) {
  if constexpr (A == BnAct::None) return dy;
  if constexpr (A == BnAct::Relu) return y > 0.0f ? dy : 0.0f;
  const float s = slope * dy;
  return y > 0.0f ? dy : s;
}

// act(z) (the forward's selects).
template <BnAct A>
__m512 act(__m512 z, __m512 slope) {
  if constexpr (A == BnAct::None) return z;
  const __mmask16 neg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
  if constexpr (A == BnAct::Relu) return _mm512_mask_mov_ps(z, neg, _mm512_setzero_ps());
  return _mm512_mask_mov_ps(z, neg, _mm512_mul_ps(slope, z));
}

double sum(const BnRows& r, const float* x) {
  Lanes s;
  for (int n = 0; n < r.N; ++n) {
    const float* p = x + size_t(n) * r.stride;
    int i = 0;
    for (; i + 8 <= r.HW; i += 8) s.lane = _mm512_add_pd(s.lane, _mm512_cvtps_pd(_mm256_loadu_ps(p + i)));
    for (; i < r.HW; ++i) s.tail += double(p[i]);
  }
  return s.total();
}

double sum_sq_dev(const BnRows& r, const float* x, double mean) {
  Lanes s;
  const __m512d m = _mm512_set1_pd(mean);
  for (int n = 0; n < r.N; ++n) {
    const float* p = x + size_t(n) * r.stride;
    int i = 0;
    for (; i + 8 <= r.HW; i += 8) {
      const __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(p + i)), m);
      s.lane = _mm512_add_pd(s.lane, _mm512_mul_pd(d, d));
    }
    for (; i < r.HW; ++i) {
      const double d = p[i] - mean;
      s.tail += d * d;
    }
  }
  return s.total();
}

template <BnAct A>
void normalise_t(float slope, const BnRows& r, const float* x, float a, float hi, float lo, float b, float* y) {
  const __m512 va = _mm512_set1_ps(a), vhi = _mm512_set1_ps(hi), vlo = _mm512_set1_ps(lo), vb = _mm512_set1_ps(b),
               vs = _mm512_set1_ps(slope);
  for (int n = 0; n < r.N; ++n) {
    const float* p = x + size_t(n) * r.stride;
    float* q = y + size_t(n) * r.stride;
    auto one = [&](__m512 v) {
      const __m512 c = _mm512_sub_ps(_mm512_sub_ps(v, vhi), vlo);
      return act<A>(_mm512_add_ps(_mm512_mul_ps(va, c), vb), vs);
    };
    int i = 0;
    for (; i + 16 <= r.HW; i += 16) _mm512_storeu_ps(q + i, one(_mm512_loadu_ps(p + i)));
    if (i < r.HW) {
      const __mmask16 k = tail_mask(r.HW - i);
      _mm512_mask_storeu_ps(q + i, k, one(_mm512_maskz_loadu_ps(k, p + i)));
    }
  }
}

void normalise(BnAct act, float slope, const BnRows& r, const float* x, float a, float hi, float lo, float b,
               float* y) {
  switch (act) {
    case BnAct::None: return normalise_t<BnAct::None>(slope, r, x, a, hi, lo, b, y);
    case BnAct::Relu: return normalise_t<BnAct::Relu>(slope, r, x, a, hi, lo, b, y);
    case BnAct::Leaky: return normalise_t<BnAct::Leaky>(slope, r, x, a, hi, lo, b, y);
  }
}

template <BnAct A>
void bwd_sums_t(float slope, const BnRows& r, const float* x, const float* y, const float* dy, double mean,
                double* sum_g, double* sum_gx) {
  Lanes sg, sgx;
  const __m512d m = _mm512_set1_pd(mean);
  const __m512 vs = _mm512_set1_ps(slope);
  for (int n = 0; n < r.N; ++n) {
    const size_t off = size_t(n) * r.stride;
    const float *xp = x + off, *yp = y + off, *dyp = dy + off;
    int i = 0;
    for (; i + 8 <= r.HW; i += 8) {
      // 8 at a time: the lanes are 8 doubles (the float work is half a zmm)
      const __m256 y8 = A == BnAct::None ? _mm256_setzero_ps() : _mm256_loadu_ps(yp + i);
      const __m512 g16 = grad<A>(_mm512_castps256_ps512(y8), _mm512_castps256_ps512(_mm256_loadu_ps(dyp + i)), vs);
      const __m512d g = _mm512_cvtps_pd(_mm512_castps512_ps256(g16));
      const __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(xp + i)), m);
      sg.lane = _mm512_add_pd(sg.lane, g);
      sgx.lane = _mm512_add_pd(sgx.lane, _mm512_mul_pd(g, d));
    }
    for (; i < r.HW; ++i) {
      const double g = grad1<A>(A == BnAct::None ? 0.0f : yp[i], dyp[i], slope);
      sg.tail += g;
      sgx.tail += g * (xp[i] - mean);
    }
  }
  *sum_g = sg.total();
  *sum_gx = sgx.total();
}

void bwd_sums(BnAct act, float slope, const BnRows& r, const float* x, const float* y, const float* dy, double mean,
              double* sum_g, double* sum_gx) {
  switch (act) {
    case BnAct::None: return bwd_sums_t<BnAct::None>(slope, r, x, y, dy, mean, sum_g, sum_gx);
    case BnAct::Relu: return bwd_sums_t<BnAct::Relu>(slope, r, x, y, dy, mean, sum_g, sum_gx);
    case BnAct::Leaky: return bwd_sums_t<BnAct::Leaky>(slope, r, x, y, dy, mean, sum_g, sum_gx);
  }
}

template <BnAct A>
void bwd_dx_t(float slope, const BnRows& r, const float* x, const float* y, const float* dy, float a1, float a2,
              float hi, float lo, float a0, float* dx) {
  const __m512 v1 = _mm512_set1_ps(a1), v2 = _mm512_set1_ps(a2), v0 = _mm512_set1_ps(a0),
               vhi = _mm512_set1_ps(hi), vlo = _mm512_set1_ps(lo), vs = _mm512_set1_ps(slope);
  for (int n = 0; n < r.N; ++n) {
    const size_t off = size_t(n) * r.stride;
    const float *xp = x + off, *yp = y + off, *dyp = dy + off;
    float* q = dx + off;
    auto one = [&](__m512 xv, __m512 yv, __m512 dyv) {
      const __m512 c = _mm512_sub_ps(_mm512_sub_ps(xv, vhi), vlo);
      const __m512 t = _mm512_add_ps(_mm512_mul_ps(v1, grad<A>(yv, dyv, vs)), _mm512_mul_ps(v2, c));
      return _mm512_add_ps(t, v0);
    };
    int i = 0;
    for (; i + 16 <= r.HW; i += 16) {
      const __m512 yv = A == BnAct::None ? _mm512_setzero_ps() : _mm512_loadu_ps(yp + i);
      _mm512_storeu_ps(q + i, one(_mm512_loadu_ps(xp + i), yv, _mm512_loadu_ps(dyp + i)));
    }
    if (i < r.HW) {
      const __mmask16 k = tail_mask(r.HW - i);
      const __m512 yv = A == BnAct::None ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(k, yp + i);
      _mm512_mask_storeu_ps(q + i, k, one(_mm512_maskz_loadu_ps(k, xp + i), yv, _mm512_maskz_loadu_ps(k, dyp + i)));
    }
  }
}

void bwd_dx(BnAct act, float slope, const BnRows& r, const float* x, const float* y, const float* dy, float a1,
            float a2, float hi, float lo, float a0, float* dx) {
  switch (act) {
    case BnAct::None: return bwd_dx_t<BnAct::None>(slope, r, x, y, dy, a1, a2, hi, lo, a0, dx);
    case BnAct::Relu: return bwd_dx_t<BnAct::Relu>(slope, r, x, y, dy, a1, a2, hi, lo, a0, dx);
    case BnAct::Leaky: return bwd_dx_t<BnAct::Leaky>(slope, r, x, y, dy, a1, a2, hi, lo, a0, dx);
  }
}

void eval(const BnRows& r, const float* x, float a, float m, float b, float* y) {
  const __m512 va = _mm512_set1_ps(a), vm = _mm512_set1_ps(m), vb = _mm512_set1_ps(b);
  for (int n = 0; n < r.N; ++n) {
    const float* p = x + size_t(n) * r.stride;
    float* q = y + size_t(n) * r.stride;
    int i = 0;
    for (; i + 16 <= r.HW; i += 16)
      _mm512_storeu_ps(q + i, _mm512_add_ps(_mm512_mul_ps(va, _mm512_sub_ps(_mm512_loadu_ps(p + i), vm)), vb));
    if (i < r.HW) {
      const __mmask16 k = tail_mask(r.HW - i);
      const __m512 v = _mm512_maskz_loadu_ps(k, p + i);
      _mm512_mask_storeu_ps(q + i, k, _mm512_add_ps(_mm512_mul_ps(va, _mm512_sub_ps(v, vm)), vb));
    }
  }
}

}  // namespace

const BnRowOps* bn_row_ops_avx512() {
  static const BnRowOps ops{sum, sum_sq_dev, normalise, bwd_sums, bwd_dx, eval};
  return &ops;
}

#else

const BnRowOps* bn_row_ops_avx512() { return nullptr; }

#endif

}  // namespace tinct::cpu::detail
