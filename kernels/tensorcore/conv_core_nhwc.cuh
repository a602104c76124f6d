// conv_core_nhwc.cuh — channels-last operand loaders for conv_core.cuh's
// tensor-core implicit GEMM: CUDA conv variant 6 (kernels/conv/
// cuda_6_igemm_nhwc.cu), at TF32 and BF16. Not a public API.
//
// The same three GEMMs as conv_core.cuh, with the same tap-major reduction
// (j = tap*ch + c), the same packed weights, tiles, pipeline and split-K;
// only where the activations lie differs: x and dx [N][H][W][C], y and dy
// [N][P][Q][K] (the weights and dw stay [K][C][R][S]). A tap's channels are
// then contiguous, so a gather moves 16-byte chunks (4 tf32 / 8 bf16
// elements: one pixel, one tap, VE consecutive channels) where the NCHW
// loaders move one element:
//   forward / backward-data  B = the pixels' rows of im2col(x) / of dy's
//       taps, stored [128 pixels][BK + pad] (K-contiguous: ldmatrix, as the
//       packed weights); thread t owns chunk column t % 8 of pixel rows
//       t / 8 + 32 i (4 pixels, decoded once per block).
//   backward-filter  A = dy^T and B = im2col(x)^T along the pixels, both
//       stored [BK pixels][128 + 8] (MN-contiguous); a thread's chunk column
//       is fixed (B: one tap and VE channels of it for the whole reduction),
//       its 4 pixel rows move with the K slice.
// TF32 chunks go by cp.async.cg (16 bytes) straight into the stage, zero-
// filled where the tap misses; BF16 chunks are two 16-byte loads into
// registers, converted (cvt.rn) and stored after the mma, as the NCHW
// register gather does. A vector chunk must lie inside one tap: the gathered
// tensor's channels (x: C, dy: K) a multiple of VE and the tensors 16-byte
// aligned (Nhwc::vec); otherwise (the stem's one channel, 313 outputs) the
// same loaders go element by element (VEC = false: tf32 by 4-byte cp.async,
// bf16 through registers).
// Every product lands in the same k-step of the same mma tile as in
// variant 4 / 5, so the results are those variants' bits, transposed
// (tests/gpu/test_gpu_conv_tc.cpp checks that, and the reference).
// Why a variant: cuDNN and PyTorch's fastest setting run channels-last; here
// the gathers issue 4-8x fewer copies. Whether it pays on an H100 is for
// bench_gpu_conv_tc's "6 nhwc" rows beside cuDNN NHWC to say.
#pragma once

#include "kernels/tensorcore/conv_core.cuh"

namespace tinct::cuda::tc {

// One 16-byte chunk of a stage held in registers until after the mma: VE
// elements of the stage's type in conv_core.cuh's Stash (tf32: 4 fp32 words;
// bf16: 8 halves, two a word, element 0 in the low half), plus whole-chunk
// loads and stores.
template <class T>
struct Chunk : Stash<T, 16 / int(sizeof(T))> {
  static constexpr int VE = 16 / int(sizeof(T));
  __device__ __forceinline__ void zero() { this->w[0] = this->w[1] = this->w[2] = this->w[3] = 0u; }
  // VE consecutive fp32 values at a 16-byte aligned src
  __device__ __forceinline__ void load(const float* src) {
    const float4 a = *reinterpret_cast<const float4*>(src);
    this->set(0, a.x), this->set(1, a.y), this->set(2, a.z), this->set(3, a.w);
    if constexpr (VE == 8) {
      const float4 b = *reinterpret_cast<const float4*>(src + 4);
      this->set(4, b.x), this->set(5, b.y), this->set(6, b.z), this->set(7, b.w);
    }
  }
  __device__ __forceinline__ void store(T* dst) const {
    *reinterpret_cast<uint4*>(dst) = make_uint4(this->w[0], this->w[1], this->w[2], this->w[3]);
  }
};

// ---- B of forward / backward-data: pixel rows, K-contiguous ---------------
template <class T, bool VEC>
struct PixelRowsNhwc {
  using Tl = Tile<T, kBN, true>;
  static constexpr int VE = Tl::VE, kCpr = Tl::BK / VE;                    // 8 chunks per pixel row
  static constexpr int kRowStep = kThreads / kCpr, kPer = kBN / kRowStep;  // rows 32 apart, 4 a thread
  static constexpr bool kAsync = sizeof(T) == 4;  // tf32: cp.async (16 or 4 bytes); bf16: registers
  const ConvArgs<T>& q;
  int img[kPer], hb[kPer], wb[kPer];  // img -1: past the last pixel
  Chunk<T> st[kPer];
  __device__ PixelRowsNhwc(const ConvArgs<T>& q_, int n0) : q(q_) {
#pragma unroll
    for (int i = 0; i < kPer; ++i)
      if (!pixel_origin(q, n0 + row(i), img[i], hb[i], wb[i])) img[i] = -1;
  }
  __device__ __forceinline__ int row(int i) const { return int(threadIdx.x) / kCpr + i * kRowStep; }
  __device__ __forceinline__ int col() const { return (int(threadIdx.x) % kCpr) * VE; }
  // Where tap `tap` of pixel row i reads: the element offset of channel 0, or -1.
  __device__ __forceinline__ long long at(int i, int tap, int ch, size_t plane) const {
    const int pos = img[i] < 0 ? -1 : pixel_tap(q, hb[i], wb[i], tap);
    return pos < 0 ? -1 : (long long)((size_t(img[i]) * plane + pos) * ch);
  }
  __device__ __forceinline__ void fetch(T* s, int kt) {
    const Geom& g = q.g;
    const bool fwd = q.pass == Pass::fwd;
    const int ch = fwd ? g.C : g.K;  // the gathered tensor's channels: x (fwd) or dy (bwd-data)
    const size_t plane = fwd ? size_t(g.H) * g.W : size_t(g.P) * g.Q;
    const FastDiv& div_ch = fwd ? g.div_C : g.div_K;
    const int j = kt * Tl::BK + col();  // past Kred the tap is past the last: pixel_tap gives -1
    if constexpr (VEC) {
      const int tap = div_ch.div(j), c = j - tap * ch;
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const long long off = at(i, tap, ch, plane);
        if constexpr (kAsync)
          cp_async_16(s + row(i) * Tl::kLd + col(), q.x + (off < 0 ? 0 : off + c), off < 0 ? 0 : 16);
        else if (off < 0)
          st[i].zero();
        else
          st[i].load(q.x + off + c);
      }
    } else {
#pragma unroll
      for (int i = 0; i < kPer; ++i)
#pragma unroll
        for (int e = 0; e < VE; ++e) {
          const int tap = div_ch.div(j + e), c = j + e - tap * ch;
          const long long off = at(i, tap, ch, plane);
          if constexpr (kAsync)
            cp_async_4(s + row(i) * Tl::kLd + col() + e, q.x + (off < 0 ? 0 : off + c), off < 0 ? 0 : 4);
          else
            st[i].set(e, off < 0 ? 0.0f : q.x[off + c]);
        }
    }
  }
  __device__ __forceinline__ void store(T* s) {
    if constexpr (!kAsync) {  // (async: the copies went straight to the stage)
#pragma unroll
      for (int i = 0; i < kPer; ++i) st[i].store(s + row(i) * Tl::kLd + col());
    }
  }
};

// ---- backward-filter, A: dy^T [BK pixels][128 output channels] -----------
template <class T, bool VEC>
struct DyColsNhwc {
  using Tl = Tile<T, kBM, false>;
  static constexpr int VE = Tl::VE, kCpr = kBM / VE;                         // 32 (tf32) / 16 (bf16) chunks a row
  static constexpr int kRowStep = kThreads / kCpr, kPer = Tl::BK / kRowStep;  // 4 rows a thread
  const ConvArgs<T>& q;
  int m0;
  Chunk<T> st[kPer];
  __device__ DyColsNhwc(const ConvArgs<T>& q_, int m0_) : q(q_), m0(m0_) {}
  __device__ __forceinline__ int row(int i) const { return int(threadIdx.x) / kCpr + i * kRowStep; }
  __device__ __forceinline__ int col() const { return (int(threadIdx.x) % kCpr) * VE; }
  __device__ __forceinline__ void fetch(T* s, int kt) {
    if constexpr (sizeof(T) == 4) {
      // dy[pixel][k] is op(A) stored [K][M] with ld = K: gemm_core's own loader
      // (cp.async when VEC, else synchronous element copies)
      load_tile<T, kBM, false, VEC>(s, q.dy, q.g.K, m0, q.M, kt * Tl::BK, q.Kred);
    } else {
      const int m = m0 + col();
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const int pix = kt * Tl::BK + row(i);
        const float* src = q.dy + size_t(pix) * q.g.K + m;
        if constexpr (VEC) {
          if (pix < q.Kred && m < q.M)  // K % VE == 0: the whole chunk is inside
            st[i].load(src);
          else
            st[i].zero();
        } else {
#pragma unroll
          for (int e = 0; e < VE; ++e) st[i].set(e, pix < q.Kred && m + e < q.M ? src[e] : 0.0f);
        }
      }
    }
  }
  __device__ __forceinline__ void store(T* s) {
    if constexpr (sizeof(T) != 4) {  // (tf32: load_tile wrote the stage)
#pragma unroll
      for (int i = 0; i < kPer; ++i) st[i].store(s + row(i) * Tl::kLd + col());
    }
  }
};

// ---- backward-filter, B: im2col(x)^T [BK pixels][128 of j = tap*C + c] -----
template <class T, bool VEC>
struct Im2colColsNhwc {
  using Tl = Tile<T, kBN, false>;
  static constexpr int VE = Tl::VE, kCpr = kBN / VE;
  static constexpr int kRowStep = kThreads / kCpr, kPer = Tl::BK / kRowStep;
  static constexpr bool kAsync = sizeof(T) == 4;  // tf32: cp.async (16 or 4 bytes); bf16: registers
  const ConvArgs<T>& q;
  int j;  // this thread's first column of the reduction-free side
  Chunk<T> st[kPer];
  __device__ Im2colColsNhwc(const ConvArgs<T>& q_, int n0) : q(q_), j(n0 + col()) {}
  __device__ __forceinline__ int row(int i) const { return int(threadIdx.x) / kCpr + i * kRowStep; }
  __device__ __forceinline__ int col() const { return (int(threadIdx.x) % kCpr) * VE; }
  // x at column jj = tap*C + c for the pixel whose window starts at (hb, wb)
  // of image n: the element's offset, or -1 (padding, or jj past the last).
  __device__ __forceinline__ long long at(int n, int hb, int wb, int jj) const {
    const Geom& g = q.g;
    const int tap = g.div_C.div(jj), c = jj - tap * g.C;
    const int pos = g.x_tap(hb, wb, tap);  // -1 also for tap >= R*S
    return pos < 0 ? -1 : (long long)((size_t(n) * g.H * g.W + pos) * g.C + c);
  }
  __device__ __forceinline__ void fetch(T* s, int kt) {
    const Geom& g = q.g;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int pix = kt * Tl::BK + row(i);
      int n = 0, hb = 0, wb = 0;
      const bool in = pix < q.Kred;
      if (in) {
        n = g.div_PQ.div(pix);
        const int pq = pix - n * g.P * g.Q, p = g.div_Q.div(pq), qq = pq - p * g.Q;
        hb = p * g.sh - g.ph;
        wb = qq * g.sw - g.pw;
      }
      if constexpr (VEC) {
        const long long off = in ? at(n, hb, wb, j) : -1;
        if constexpr (kAsync)
          cp_async_16(s + row(i) * Tl::kLd + col(), q.x + (off < 0 ? 0 : off), off < 0 ? 0 : 16);
        else if (off < 0)
          st[i].zero();
        else
          st[i].load(q.x + off);
      } else {
#pragma unroll
        for (int e = 0; e < VE; ++e) {
          const long long off = in ? at(n, hb, wb, j + e) : -1;
          if constexpr (kAsync)
            cp_async_4(s + row(i) * Tl::kLd + col() + e, q.x + (off < 0 ? 0 : off), off < 0 ? 0 : 4);
          else
            st[i].set(e, off < 0 ? 0.0f : q.x[off]);
        }
      }
    }
  }
  __device__ __forceinline__ void store(T* s) {
    if constexpr (!kAsync) {
#pragma unroll
      for (int i = 0; i < kPer; ++i) st[i].store(s + row(i) * Tl::kLd + col());
    }
  }
};

// The channels-last layout policy of conv_fwd / conv_bwd_data /
// conv_bwd_filter (conv_core.cuh's Nchw has the same members).
struct Nhwc {
  static constexpr bool kNhwc = true;
  // 16-byte chunks: `ch` channels a multiple of the chunk and the tensors aligned
  template <class P>
  static bool vec(int ch, const void* a, const void* b) {
    return ch % (16 / int(sizeof(typename P::T))) == 0 && detail::aligned16(a) && detail::aligned16(b);
  }
  template <class P>
  static void pixels(const ConvArgs<typename P::T>& q, cudaStream_t stream) {
    using T = typename P::T;
    check_elements(q);
    if (vec<P>(q.pass == Pass::fwd ? q.g.C : q.g.K, q.x, q.x))
      launch_conv<P, true, true, DenseA<T>, PixelRowsNhwc<T, true>>(q, 1, stream);
    else
      launch_conv<P, true, true, DenseA<T>, PixelRowsNhwc<T, false>>(q, 1, stream);
  }
  template <class P>
  static void filter(const ConvArgs<typename P::T>& q, int splits, cudaStream_t stream) {
    using T = typename P::T;
    check_elements(q);
    if (vec<P>(q.g.C, q.x, q.dy) && vec<P>(q.g.K, q.x, q.dy))
      launch_conv<P, false, false, DyColsNhwc<T, true>, Im2colColsNhwc<T, true>>(q, splits, stream);
    else
      launch_conv<P, false, false, DyColsNhwc<T, false>, Im2colColsNhwc<T, false>>(q, splits, stream);
  }
  // db[k] += sum over the pixels of dy[pixel][k]: bias_grad's [N][C][HW] with HW = 1
  static void bias_grad(const Conv2dParams& p, const float* dy, float* db, cudaStream_t stream) {
    cuda::bias_grad(p.N * p.P * p.Q, p.K, 1, dy, db, stream);
  }
  // The loaders' 32-bit offsets (load_tile's pixel * K + k): each tensor under 2^31 elements.
  template <class T>
  static void check_elements(const ConvArgs<T>& q) {
    const Geom& g = q.g;
    if (1LL * g.N * g.C * g.H * g.W > 0x7fffffffLL || 1LL * g.N * g.K * g.P * g.Q > 0x7fffffffLL)
      throw std::invalid_argument("conv2d (tensor cores, NHWC): a tensor has >= 2^31 elements");
  }
};

}  // namespace tinct::cuda::tc
