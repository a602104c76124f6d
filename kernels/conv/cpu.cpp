// conv/cpu.cpp — the fast CPU conv2d: im2col + the blocked GEMM (gemm/cpu.cpp).
//
// WHAT: the same contracts as conv/ref.cpp (the specification):
//   conv2d_fwd        y = conv(x, w) + b
//   conv2d_bwd_data   dx = (overwrites)
//   conv2d_bwd_filter dw += , db +=
//   im2col / col2im   the lowering of one image, col2im accumulating.
//
// HOW, per image n, with CRS = C*R*S and PQ = P*Q:
//   im2col:   col[CRS, PQ],  col[(c*R + r)*S + s][p*Q + q] = x[c, h(p,r), w(q,s)] (0 in padding)
//   fwd:      Y_n[K, PQ]    = W[K, CRS] * col                  (+ bias per row)
//   bwd_data: dcol[CRS, PQ] = W^T * dY_n[K, PQ];  dx_n = col2im(dcol)
//   bwd_filt: dW[K, CRS]   += dY_n * col^T
// The GEMMs run on the kernel set in use (gemm/microkernels.h: AVX-512, AVX2 or
// portable), fetched once per call so packing and multiplying agree.
// Three refinements of that plan:
//   * col is built in column strips of output pixels (about 2 MiB each, see
//     strip_width), not whole: for a large image col would be tens of MiB and
//     fall out of cache between im2col writing it and the GEMM reading it;
//   * W (fwd) and W^T (bwd_data) are packed for the GEMM once per call
//     (detail::pack_a_all in gemm/cpu.cpp) rather than once per image and strip;
//   * bwd_filter reduces over all the batch's pixels as one stream, cut into
//     GEMMs whose depth is a multiple of KC whatever the image size (chunks
//     span images: dY columns gathered, each image's part lowered beside the
//     last), so dW, the operand every chunk reuses, is read and written once
//     per full KC slice, as W is packed once in fwd; and its col^T is never
//     stored: the GEMM asks for its B panels one at a time (FilterPanels)
//     and each is lowered into a small block in L1 and transposed from there
//     (detail::sgemm_b_panels), instead of a 7 MiB col written to L3 and read
//     back transposed.
//   * a stride_w == 2 forward (S >= 2, fp32 sets, strips at least 2K wide)
//     splits each strip's band of input rows into column phases (even
//     columns, then odd ones), so every tap's run of output pixels reads a
//     contiguous run of one phase row instead of every other column, and
//     lowers from there straight into the GEMM's packed B panels
//     (ForwardPanels): no col strip written and packed again. The same col,
//     so the same bits as the strided gather (TINCT_CONV_S2_PHASES=0,
//     set_conv_s2_phases). The backward passes keep the gather / scatter
//     (phases measured no gain there, bench/RESULTS.md).
//   * small output planes (P*Q < 256, batch >= 2: the U-Net's 4x4 and 8x8
//     layers in training) put a run of images' cols side by side in one
//     forward GEMM (and their dY in one backward-data GEMM) instead of one
//     narrow GEMM per image that streams all of W each time; the same sums
//     per column, so the same bits (images_per_gemm; TINCT_CONV_IMAGE_COLUMNS=0).
//   * a pointwise forward with an output image of 8 MiB or more (the
//     classification head, 313 channels at 128x128) computes each strip in
//     cache and streams it out (streams_output; TINCT_CONV_STREAM=0).
// Precision::bf16 (the *_bf16 entry points at the bottom) runs the same
// im2col + GEMM code on the bf16 GEMM set, which rounds while packing.
// A 1x1 convolution with stride 1 and no padding needs no lowering: col is the
// image itself ([C, H*W]) and dx_n is the GEMM output directly.
//
// The transposed convolutions that conv_transpose2d_phases_pays picks (the
// decoders' 4x4 stride 2) skip all of this: conv/cpu_transpose_phases.cpp
// computes them per output phase, with no column buffer and no col2im.
//
// Eval-mode layers after a convolution (batch norm, bias, residual,
// activation) run as an Epilogue (epilogue/cpu.cpp) on each output strip right
// after its GEMM: conv2d_fwd_fused, conv_transpose2d_fwd_fused.
//
// Threads (never nested):
//   * enough images  -> OpenMP over the batch; each thread lowers its own
//     images into its own workspace and runs a single-threaded GEMM (sgemm
//     sees omp_in_parallel() and stays on the calling thread). bwd_filter
//     instead splits the pixel stream into one equal run of chunks per thread
//     (any batch, even one image), each into a private dW, summed in thread
//     order at the end.
//   * batch 1, or a batch that does not divide among the threads -> images in
//     turn, the threads sharing each image: fwd deals its strips out to the
//     threads (each lowers, multiplies and finishes its own); bwd_data cuts
//     dY into bands of rows and runs the even bands, then the odd ones, whose
//     col2im sums cannot meet; one parallel region per image either way. An
//     image too small for that has each GEMM (and im2col / col2im) use all
//     threads instead.
// Every scheme is deterministic for a given thread count.
//
// Workspaces are thread_local vectors that only grow, so steady-state calls
// do not allocate.
//
// BENCHMARK: bench/bench_cpu_gemm_conv.cpp (target bench_cpu_gemm_conv),
//   ./bench_cpu_gemm_conv --benchmark_filter=conv
// runs fwd / bwd_data / bwd_filter of a 64x512x16x16, 3x3, 512-output conv and
// the same conv as im2col + OpenBLAS; results are in bench/RESULTS.md.
// The stride-2 lowering: bench/bench_conv_s2.cpp (phases off vs on, each pass
// of the models' stride-2 layers, interleaved): ./bench_conv_s2 [reps] [layer] [threads]
#include <omp.h>
#if defined(__SSE__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/common/lane_sum.h"
#include "kernels/gemm/microkernels.h"

namespace tinct::cpu {

using detail::GemmKernel;

namespace {

// Grows (never shrinks) a thread_local vector and returns its storage.
float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}
std::vector<float>& col_workspace() {  // one lowered strip, per thread
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& weight_workspace() {  // the packed weights, the calling thread's
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& dy_workspace() {  // dY columns gathered across images, per thread
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& partial_workspace() {  // private dW per thread, the calling thread's
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& panel_workspace() {  // one lowered B panel of bwd_filter, per thread
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& phase_workspace() {  // x's rows split into column phases, per thread
  thread_local std::vector<float> v;
  return v;
}

// Stride-2 column phases (the forward's). With stride_w == 2, tap s of output
// pixel q reads input column 2q + w_off: consecutive outputs read every other
// column, a strided gather in every one of the R*S rows im2col writes per
// channel. Split once into phases, each input row stored as its even columns
// then its odd ones (same size), the tap's source is a contiguous run: column
// 2q + w_off is phase ph = w_off & 1, index q + (w_off - ph) / 2. One pass
// over x replaces R*S strided ones; col is unchanged, bit for bit.
bool g_s2_phases = [] {
  const char* e = std::getenv("TINCT_CONV_S2_PHASES");
  return !(e && std::strcmp(e, "0") == 0);
}();

// Small planes' images side by side in one GEMM (images_per_gemm).
bool g_image_columns = [] {
  const char* e = std::getenv("TINCT_CONV_IMAGE_COLUMNS");
  return !(e && std::strcmp(e, "0") == 0);
}();

// Large pointwise outputs written with streaming stores (streams_output).
bool g_stream_output = [] {
  const char* e = std::getenv("TINCT_CONV_STREAM");
  return !(e && std::strcmp(e, "0") == 0);
}();

// With one column tap (S == 1) only one phase is ever read: the split would
// copy twice what the gather reads (1x1 stride 2: 0.8x, bench_conv_s2).
bool phased(const Conv2dParams& p) { return g_s2_phases && p.stride_w == 2 && p.S >= 2; }

// xs[row] = x[row]'s even columns, then its odd ones, for rows [r0, r1) of W columns.
void split_phases(const float* x, long r0, long r1, int W, float* xs) {
  const int we = (W + 1) / 2, wo = W / 2;
  for (long row = r0; row < r1; ++row) {
    const float* src = x + row * W;
    float* d = xs + row * W;
    for (int i = 0; i < we; ++i) d[i] = src[2 * i];
    for (int i = 0; i < wo; ++i) d[we + i] = src[2 * i + 1];
  }
}

// Rows [h0, h0 + rows) of every channel of one image split into column
// phases: row h of channel c starts at data + c*plane + (h - h0)*W.
struct PhaseBand {
  const float* data;
  size_t plane;
  int h0;
};

// The offset, in a phase-split row, of the input column q = 0 of a stride-2
// tap reads (w_off = s*dil - pad; may lie before the row, never read there).
inline int phase_offset(int W, int w_off) {
  const int ph = w_off & 1;
  return ph * ((W + 1) / 2) + (w_off - ph) / 2;
}

// A 1x1, stride 1, unpadded convolution: P == H, Q == W and col == x.
bool is_pointwise(const Conv2dParams& p) {
  return p.R == 1 && p.S == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 &&
         p.pad_w == 0;
}

// Output pixels lowered at a time. A col strip [CRS, width] of about 2 MiB is
// still in cache when the GEMM packs it (a whole image's col can be tens of
// MiB), and 256 columns or more keep the GEMM efficient. Strips are of equal
// width, a multiple of the register tile's NR columns where possible.
constexpr size_t kStripBytes = 2u << 20;
int strip_width(const GemmKernel& g, int CRS, int PQ) {
  const int want = std::max(256, (int)(kStripBytes / (sizeof(float) * CRS)));
  const int n_strips = (PQ + want - 1) / want;
  const int width = ((PQ + n_strips - 1) / n_strips + g.nr - 1) / g.nr * g.nr;
  return std::min(width, PQ);
}

// Backward-filter reduces over every pixel of every image, so its pixels are
// cut as one stream (t = n*PQ + j) into chunks that may span images: each
// chunk is one GEMM of depth `width`, a multiple of the kernel's KC, so every
// KC slice is full however small the image (an 8x8 layer would otherwise run
// GEMMs 64 deep, reading and writing all of dW every 64 pixels), and the dY
// columns a chunk spanning images gathers stay small.
int filter_chunk_width(const GemmKernel& g, int CRS) {
  const int want = (int)(kStripBytes / (sizeof(float) * CRS));
  return std::max(1, want / g.kc) * g.kc;
}

// The outputs q in [lo, hi) whose tap s reads a column inside the image,
// 0 <= q*stride + offset < W with offset = s*dil - pad; outside, it reads padding.
void valid_range(int size, int out, int stride, int offset, int* lo, int* hi) {
  const int first = -offset;            // need q*stride >= first
  const int last = size - 1 - offset;   // need q*stride <= last
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  *hi = last < 0 ? 0 : std::min(out, last / stride + 1);
  if (*lo > *hi) *lo = *hi;
}

// The lowering of output pixels [j0, j1) (j = p*Q + q) for col rows [row0,
// row1) (row = (c*R + r)*S + s): col[(row - row0)*ld + (j - j0)] = x[c, h, w] or 0.
void im2col_block(const Conv2dParams& p, const float* x, int row0, int row1, int j0, int j1,
                  float* col, size_t ld) {
  for (int row = row0; row < row1; ++row) {
    const int c = row / (p.R * p.S), r = row / p.S % p.R, s = row % p.S;
    const int w_off = s * p.dil_w - p.pad_w;  // input column = q*stride_w + w_off
    int q_lo, q_hi;
    valid_range(p.W, p.Q, p.stride_w, w_off, &q_lo, &q_hi);
    float* dst = col + (size_t)(row - row0) * ld;
    for (int j = j0; j < j1;) {  // one output row p at a time: [q0, q1) of it
      const int op = j / p.Q, q0 = j % p.Q, q1 = std::min(p.Q, q0 + (j1 - j));
      float* d = dst + (j - j0) - q0;  // d[q] is output (op, q)
      const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
      if (h < 0 || h >= p.H) {
        std::fill(d + q0, d + q1, 0.0f);
      } else {
        const float* xrow = x + ((size_t)c * p.H + h) * p.W;
        const int a = std::max(q0, q_lo), e = std::min(q1, q_hi);  // the valid part
        if (a >= e) {
          std::fill(d + q0, d + q1, 0.0f);
        } else {
          std::fill(d + q0, d + a, 0.0f);
          if (p.stride_w == 1) {
            std::memcpy(d + a, xrow + a + w_off, sizeof(float) * (e - a));
          } else if (p.stride_w == 2) {  // a constant stride: the compiler vectorises the gather
            const float* src = xrow + w_off;
            for (int oq = a; oq < e; ++oq) d[oq] = src[2 * oq];
          } else {
            for (int oq = a; oq < e; ++oq) d[oq] = xrow[oq * p.stride_w + w_off];
          }
          std::fill(d + e, d + q1, 0.0f);
        }
      }
      j += q1 - q0;
    }
  }
}

// The adjoint of im2col_block for channels [c0, c1): every col entry of output
// pixels [j0, j1) is added to the input pixel it was gathered from. Channels
// are independent, so disjoint channel ranges may run in parallel.
void col2im_block(const Conv2dParams& p, const float* col, size_t ld, int j0, int j1, int c0,
                  int c1, float* dx) {
  for (int c = c0; c < c1; ++c)
    for (int r = 0; r < p.R; ++r)
      for (int s = 0; s < p.S; ++s) {
        const int row = (c * p.R + r) * p.S + s;
        const int w_off = s * p.dil_w - p.pad_w;
        int q_lo, q_hi;
        valid_range(p.W, p.Q, p.stride_w, w_off, &q_lo, &q_hi);
        const float* src = col + (size_t)row * ld;
        for (int j = j0; j < j1;) {
          const int op = j / p.Q, q0 = j % p.Q, q1 = std::min(p.Q, q0 + (j1 - j));
          const float* sp = src + (j - j0) - q0;  // sp[q] is output (op, q)
          const int h = op * p.stride_h - p.pad_h + r * p.dil_h;
          if (h >= 0 && h < p.H) {
            float* xrow = dx + ((size_t)c * p.H + h) * p.W;
            const int e = std::min(q1, q_hi);
            const int a = std::max(q0, q_lo);
            float* dst = xrow + w_off;
            // Constant strides, so the compiler vectorises the common cases.
            if (p.stride_w == 1)
              for (int oq = a; oq < e; ++oq) dst[oq] += sp[oq];
            else if (p.stride_w == 2)
              for (int oq = a; oq < e; ++oq) dst[2 * oq] += sp[oq];
            else
              for (int oq = a; oq < e; ++oq) dst[oq * p.stride_w] += sp[oq];
          }
          j += q1 - q0;
        }
      }
}

int max_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// Threads to spread the batch over, or 1 for "one image at a time, parallel
// inside": the batch split is used when every thread gets the same number of
// images, or enough of them that the imbalance of one image hardly matters.
int batch_threads(int N) {
  const int nt = max_threads();
  if (nt <= 1 || N < nt) return 1;
  return (N % nt == 0 || N >= 4 * nt) ? nt : 1;
}

// Lowers output pixels [j0, j0+nj) of one image into col (row stride ld,
// default nj); rows are split over all threads when `parallel`.
void lower(const Conv2dParams& p, const float* x, int j0, int nj, float* col, bool parallel,
           size_t ld = 0) {
  const int rows = p.C * p.R * p.S;
  if (ld == 0) ld = nj;
  if (!parallel) {
    im2col_block(p, x, 0, rows, j0, j0 + nj, col, ld);
    return;
  }
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int r0 = (int)((long)rows * t / nt), r1 = (int)((long)rows * (t + 1) / nt);
    im2col_block(p, x, r0, r1, j0, j0 + nj, col + (size_t)r0 * ld, ld);
  }
}

// dx += the col2im of a strip (row stride ld, default nj); channels split over threads when `parallel`.
void unlower(const Conv2dParams& p, const float* dcol, int j0, int nj, float* dx, bool parallel,
             size_t ld = 0) {
  if (ld == 0) ld = nj;
  if (!parallel) {
    col2im_block(p, dcol, ld, j0, j0 + nj, 0, p.C, dx);
    return;
  }
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    col2im_block(p, dcol, ld, j0, j0 + nj, (int)((long)p.C * t / nt),
                 (int)((long)p.C * (t + 1) / nt), dx);
  }
}

// The band of input rows that output pixels [j0, j0 + nj) of image x read,
// split into column phases in the calling thread's buffer (channels over the
// threads when `parallel`). Strip by strip into one small buffer, so the band
// is in cache while the strip is lowered: a whole 512x512 image split first
// went to memory and back (0.8-0.9x, bench_conv_s2 --infer).
PhaseBand split_for_strip(const Conv2dParams& p, const float* x, int j0, int nj, bool parallel) {
  const int op0 = j0 / p.Q, op1 = (j0 + nj - 1) / p.Q;  // output rows
  const int h0 = std::max(0, op0 * p.stride_h - p.pad_h);
  const int h1 = std::max(h0, std::min(p.H, op1 * p.stride_h - p.pad_h + (p.R - 1) * p.dil_h + 1));
  const size_t plane = (size_t)(h1 - h0) * p.W, x_plane = (size_t)p.H * p.W;
  float* xs = grow(phase_workspace(), std::max<size_t>(1, p.C * plane));
#pragma omp parallel for schedule(static) if (parallel)
  for (int c = 0; c < p.C; ++c) split_phases(x + c * x_plane + (size_t)h0 * p.W, 0, h1 - h0, p.W, xs + c * plane);
  return PhaseBand{xs, plane, h0};
}

// Runs one_image(n, parallel_inside) for every image, with the threads either
// over the batch or inside each image (see batch_threads).
template <class F>
void for_each_image(int N, F&& one_image) {
  const int bt = batch_threads(N);
  if (bt > 1) {
    // Images are independent, so a dynamic schedule is still deterministic.
#pragma omp parallel for num_threads(bt) schedule(dynamic, 1)
    for (int n = 0; n < N; ++n) one_image(n, false);
  } else {
    const bool inside = max_threads() > 1;
    for (int n = 0; n < N; ++n) one_image(n, inside);
  }
}

// Images per GEMM for the forward and backward-data. One image of a small
// plane (P*Q < 256: the U-Net's 4x4 and 8x8 layers in training) is a GEMM
// too narrow for its A operand, the packed weights (2.25 MiB for 256 -> 256
// 3x3, more than L2), which it streams once per image; at P*Q = 16 it also
// fills half of each 32-column register tile: the compact GAN's 4x4 layer ran
// at 43 GFLOP/s. So the cols of up to a strip's width of images go side by
// side into one GEMM. Each output column is the same sum in the same order
// whatever columns share its GEMM, so the result is the per-image one, bit
// for bit (TINCT_CONV_IMAGE_COLUMNS=0 or set_conv_image_columns(false): per image).
int images_per_gemm(const Conv2dParams& p, int CRS, int PQ) {
  if (!g_image_columns || p.N < 2 || PQ >= 256) return 1;
  const int want = std::max(256, (int)(kStripBytes / (sizeof(float) * CRS)));
  return std::max(1, std::min(p.N, want / PQ));
}

// Runs run(n0, cnt, parallel_inside) over the batch in runs of at most G
// consecutive images: with the batch split over the threads (batch_threads),
// each thread takes an equal range of images in runs; else the runs in turn,
// the threads inside each.
template <class F>
void for_each_image_run(int N, int G, F&& run) {
  const int bt = batch_threads(N);
  if (bt > 1) {
#pragma omp parallel for num_threads(bt) schedule(static)
    for (int t = 0; t < bt; ++t) {
      const int n1 = (int)((long)N * (t + 1) / bt);
      for (int n = (int)((long)N * t / bt); n < n1; n += G) run(n, std::min(G, n1 - n), false);
    }
  } else {
    const bool inside = max_threads() > 1;
    for (int n = 0; n < N; n += G) run(n, std::min(G, N - n), inside);
  }
}

}  // namespace

bool conv_s2_phases() { return g_s2_phases; }
void set_conv_s2_phases(bool on) { g_s2_phases = on; }
bool conv_image_columns() { return g_image_columns; }
void set_conv_image_columns(bool on) { g_image_columns = on; }
bool conv_stream_output() { return g_stream_output; }
void set_conv_stream_output(bool on) { g_stream_output = on; }

void im2col(const Conv2dParams& p, const float* x_img, float* col) {
  const int PQ = p.P * p.Q;
  im2col_block(p, x_img, 0, p.C * p.R * p.S, 0, PQ, col, PQ);
}

void col2im(const Conv2dParams& p, const float* col, float* dx_img) {
  const int PQ = p.P * p.Q;
  col2im_block(p, col, PQ, 0, PQ, 0, p.C, dx_img);
}

namespace {

// A pointwise forward whose output image is far larger than a core's L2
// (the classification head: 313 x 128 x 128 floats, 20 MiB) computes each
// strip into a buffer that stays in cache, applies the epilogue there, and
// copies the strip out with streaming stores: plain stores into y read every
// line of it from memory first (a read for ownership), doubling the traffic
// of a layer that is mostly its output. 64 -> 313 at 128x128 in the model,
// 1.07x (1 thread) / 1.04x (2) on the whole classification compact forward
// (bench/cpu_peer/ab.py, TINCT_CONV_STREAM=0 vs on, idle). Not with a
// residual (the epilogue would read it by y's layout), nor below 8 MiB: a
// smaller output may still be in cache for the next layer, which streaming
// would send to memory.
bool streams_output(const Conv2dParams& p, const Epilogue& e) {
  return g_stream_output && is_pointwise(p) && !e.residual && (size_t)p.K * p.P * p.Q * sizeof(float) >= (8u << 20);
}

// dst[0, n) = src[0, n), with non-temporal stores where dst is 16-byte
// aligned (a plain copy where the processor has no SSE).
void stream_row(const float* src, float* dst, int n) {
  int i = 0;
#if defined(__SSE__)
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15); ++i) dst[i] = src[i];
  for (; i + 4 <= n; i += 4) _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
#endif
  for (; i < n; ++i) dst[i] = src[i];
}

void stream_fence() {
#if defined(__SSE__)
  _mm_sfence();
#endif
}

// The epilogue on columns [j0, j0 + nj) of image n's output, its rows
// (channels) split over the threads when `parallel`.
void apply_epilogue(const Epilogue& e, int n, int K, int HW, int j0, int nj, float* y_img, bool parallel) {
  if (e.identity()) return;
  if (!parallel) {
    epilogue_strip(e, n, K, HW, 0, K, j0, nj, y_img);
    return;
  }
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    epilogue_strip(e, n, K, HW, (int)((long)K * t / nt), (int)((long)K * (t + 1) / nt), j0, nj, y_img);
  }
}

// The strips of one image's PQ output pixels when the threads share that
// image (batch 1): a multiple of the thread count, so every thread gets the
// same number of equal strips, each at most about strip_width wide. 0 when
// the image is too small for strips of 64 columns or more: then the threads
// split each GEMM instead.
int shared_strips(const GemmKernel& g, int nt, int width, int PQ) {
  int n = (PQ + width - 1) / width;
  n = (n + nt - 1) / nt * nt;
  return PQ / n >= std::max(64, g.nr) ? n : 0;
}

// The B operand of a stride-2 forward GEMM on an fp32 kernel set, op(B) =
// the col of output pixels [js, js + nj) of one image, lowered straight into
// the GEMM's packed panels (kc taps x g.nr pixels, row by row) from the
// image's column phases, as the GEMM asks for them: no col strip written and
// packed again. Each panel row is one or two contiguous runs of a phase row
// (output rows of Q pixels), zero where the tap reads padding. Taps are
// walked with counters and each column tap's valid range and source offset
// are computed once per call (a division per panel row cost as much as the
// copy). bf16 sets pack in their own layout and keep im2col.
class ForwardPanels final : public detail::BPanelSource {
 public:
  ForwardPanels(const GemmKernel& g, const Conv2dParams& p, const PhaseBand& band, int js)
      : g_(g), p_(p), band_(band), js_(js) {
    taps_.resize(p.S);
    for (int s = 0; s < p.S; ++s) {
      const int w_off = s * p.dil_w - p.pad_w;
      valid_range(p.W, p.Q, p.stride_w, w_off, &taps_[s].lo, &taps_[s].hi);
      taps_[s].src = phase_offset(p.W, w_off);
    }
  }

  void pack(int p0, int kc, int j0, int nr, float* dst) const override {
    const Conv2dParams& p = p_;
    const int ld = g_.nr, RS = p.R * p.S;
    int c = p0 / RS, r = p0 % RS / p.S, s = p0 % p.S;
    const int jb = js_ + j0, op0 = jb / p.Q, q00 = jb % p.Q;
    for (int kk = 0; kk < kc; ++kk) {
      float* d = dst + (size_t)kk * ld;
      const Tap& t = taps_[s];
      const float* xc = band_.data + c * band_.plane;  // + (h - h0)*W: row h
      const int h_off = r * p.dil_h - p.pad_h;
      for (int done = 0, op = op0, q0 = q00; done < nr; ++op, q0 = 0) {  // one output row at a time
        const int q1 = std::min(p.Q, q0 + (nr - done));
        float* dd = d + done - q0;  // dd[q] is output (op, q)
        const int h = op * p.stride_h + h_off;
        const int a = std::max(q0, t.lo), e = std::min(q1, t.hi);
        if (h < 0 || h >= p.H || a >= e) {
          std::fill(dd + q0, dd + q1, 0.0f);
        } else {
          std::fill(dd + q0, dd + a, 0.0f);
          const float* src = xc + (size_t)(h - band_.h0) * p.W + t.src;
          for (int q = a; q < e; ++q) dd[q] = src[q];
          std::fill(dd + e, dd + q1, 0.0f);
        }
        done += q1 - q0;
      }
      std::fill(d + nr, d + ld, 0.0f);
      if (++s == p.S) {
        s = 0;
        if (++r == p.R) r = 0, ++c;
      }
    }
  }

 private:
  struct Tap {
    int lo, hi;  // outputs q whose input column is inside the image
    int src;     // phase-row offset of output q = 0's input column
  };
  const GemmKernel& g_;
  const Conv2dParams& p_;
  PhaseBand band_;
  int js_;
  std::vector<Tap> taps_;
};

// im2col + GEMM, the epilogue on each strip while it is in cache.
//
// When the batch does not split over the threads, the threads split each
// image's strips instead: every thread lowers, multiplies and finishes its own
// strips (single-threaded GEMMs), so the whole convolution is one parallel
// region with one barrier per image, not two or three regions per strip,
// whose wake-ups cost more than small strips' work (measured on 2 cores).
void conv2d_fwd_im2col(const GemmKernel& g, const Conv2dParams& p, const float* x, const float* w,
                       const Epilogue& e, float* y) {
  const int CRS = p.C * p.R * p.S, PQ = p.P * p.Q;
  const size_t x_img = (size_t)p.C * p.H * p.W, y_img = (size_t)p.K * PQ;
  const bool pointwise = is_pointwise(p);
  // A pointwise strip reads x in place, but its K output rows are strips too,
  // sized so the epilogue finds them in cache: the classification head
  // (64 -> 313 channels at 128x128) wrote 20 MiB, then read it all back.
  const int width = strip_width(g, pointwise ? CRS + p.K : CRS, PQ);

  // W[K, CRS] is the A operand of every GEMM below: pack it once.
  float* wpack = grow(weight_workspace(), detail::packed_a_size(g, p.K, CRS));
  detail::pack_a_all(g, false, p.K, CRS, w, CRS, wpack);

  // Small planes: a run of images' cols side by side, one GEMM into a
  // [K, cnt * PQ] block, copied out per image (see images_per_gemm).
  const int G = pointwise ? 1 : images_per_gemm(p, CRS, PQ);
  if (G > 1) {
    for_each_image_run(p.N, G, [&](int n0, int cnt, bool parallel) {
      const size_t cols = (size_t)cnt * PQ;
      float* col = grow(col_workspace(), (CRS + p.K) * cols);
      float* out = col + CRS * cols;
      for (int i = 0; i < cnt; ++i) lower(p, x + (n0 + i) * x_img, 0, PQ, col + i * PQ, parallel, cols);
      detail::sgemm_packed_a(g, p.K, (int)cols, CRS, 1.0f, wpack, false, col, cols, 0.0f, out, cols);
      for (int i = 0; i < cnt; ++i) {
        float* yn = y + (n0 + i) * y_img;
        for (int k = 0; k < p.K; ++k) std::memcpy(yn + k * PQ, out + k * cols + i * PQ, sizeof(float) * PQ);
        apply_epilogue(e, n0 + i, p.K, PQ, 0, PQ, yn, parallel);
      }
    });
    return;
  }

  // Y[:, j0:j0+nj] = W * col strip (a pointwise conv multiplies x itself),
  // then the epilogue. Stride 2 on an fp32 set: the strip's input rows split
  // into column phases, lowered from there into the GEMM's panels.
  const bool phases = phased(p) && !g.bf16;
  const bool stream = streams_output(p, e);
  auto strip = [&](int n, int j0, int nj, bool parallel) {
    const float* xn = x + n * x_img;
    float* yn = y + n * y_img;
    if (stream) {  // the strip in cache, its epilogue, then streamed out (streams_output)
      float* out = grow(col_workspace(), (size_t)p.K * nj);
      detail::sgemm_packed_a(g, p.K, nj, CRS, 1.0f, wpack, false, xn + j0, PQ, 0.0f, out, nj);
      if (!e.identity()) epilogue_strip(e, n, p.K, nj, 0, p.K, 0, nj, out);
      for (int k = 0; k < p.K; ++k) stream_row(out + (size_t)k * nj, yn + (size_t)k * PQ + j0, nj);
      stream_fence();  // the streaming stores are visible before the strip counts as done
      return;
    } else if (pointwise) {
      detail::sgemm_packed_a(g, p.K, nj, CRS, 1.0f, wpack, false, xn + j0, PQ, 0.0f, yn + j0, PQ);
    } else if (phases && nj >= 2 * p.K) {
      // sgemm_b_panels packs W again (K x CRS) each call: only where the
      // strip's col (CRS x nj) is the larger (128 -> 256 channels on 4x4
      // outputs: 0.8x). Narrower strips keep im2col: lowering them from
      // phases into col measured 0.93-0.99x (bench_conv_s2).
      const PhaseBand band = split_for_strip(p, xn, j0, nj, parallel);
      const ForwardPanels panels(g, p, band, j0);
      detail::sgemm_b_panels(g, false, p.K, nj, CRS, 1.0f, w, CRS, panels, 0.0f, yn + j0, PQ);
    } else {
      float* col = grow(col_workspace(), (size_t)CRS * nj);
      lower(p, xn, j0, nj, col, parallel);
      detail::sgemm_packed_a(g, p.K, nj, CRS, 1.0f, wpack, false, col, nj, 0.0f, yn + j0, PQ);
    }
    apply_epilogue(e, n, p.K, PQ, j0, nj, yn, parallel);  // while the strip is in cache
  };

  const int nt = max_threads();
  const int strips = batch_threads(p.N) == 1 && nt > 1 ? shared_strips(g, nt, std::min(width, 8192), PQ) : 0;
  if (strips > 0) {
#pragma omp parallel num_threads(nt)
    for (int n = 0; n < p.N; ++n) {
#pragma omp for schedule(static)
      for (int i = 0; i < strips; ++i) {
        const int j0 = (int)((long)PQ * i / strips), j1 = (int)((long)PQ * (i + 1) / strips);
        strip(n, j0, j1 - j0, false);
      }
    }
    return;
  }
  for_each_image(p.N, [&](int n, bool parallel_inside) {
    for (int j0 = 0; j0 < PQ; j0 += width) strip(n, j0, std::min(width, PQ - j0), parallel_inside);
  });
}

// dx = conv2d backward-data, then the epilogue on each image of dx once its
// col2im sums are complete (e may be null: none).
//
// Batch 1 (the batch does not split over the threads): the strips are bands
// of whole rows of dY, each tall enough that the dx rows its col2im touches
// do not reach the band after next. So the even bands run in parallel, then
// the odd ones, each thread lowering its own band into dx with no race: one
// parallel region per image with three barriers, not two regions per strip.
void bwd_data(const GemmKernel& g, const Conv2dParams& p, const float* dy, const float* w, float* dx,
              const Epilogue* e) {
  const int CRS = p.C * p.R * p.S, PQ = p.P * p.Q, HW = p.H * p.W;
  const size_t x_img = (size_t)p.C * HW, y_img = (size_t)p.K * PQ;
  const bool pointwise = is_pointwise(p);
  const int width = strip_width(g, CRS, PQ);

  // W^T[CRS, K] is the A operand of every GEMM below: pack it once.
  float* wpack = grow(weight_workspace(), detail::packed_a_size(g, CRS, p.K));
  detail::pack_a_all(g, true, CRS, p.K, w, CRS, wpack);

  // Small planes: a run of images' dY gathered side by side, one GEMM, then
  // each image's col2im (see images_per_gemm).
  const int G = pointwise ? 1 : images_per_gemm(p, CRS, PQ);
  if (G > 1) {
    for_each_image_run(p.N, G, [&](int n0, int cnt, bool parallel) {
      const size_t cols = (size_t)cnt * PQ;
      float* dyg = grow(dy_workspace(), p.K * cols);
      for (int i = 0; i < cnt; ++i)
        for (int k = 0; k < p.K; ++k)
          std::memcpy(dyg + k * cols + i * PQ, dy + (n0 + i) * y_img + (size_t)k * PQ, sizeof(float) * PQ);
      float* dcol = grow(col_workspace(), CRS * cols);
      detail::sgemm_packed_a(g, CRS, (int)cols, p.K, 1.0f, wpack, false, dyg, cols, 0.0f, dcol, cols);
      for (int i = 0; i < cnt; ++i) {
        float* dxn = dx + (n0 + i) * x_img;
        std::fill(dxn, dxn + x_img, 0.0f);  // overwrite: col2im only accumulates
        unlower(p, dcol + i * PQ, 0, PQ, dxn, parallel, cols);
        if (e) apply_epilogue(*e, n0 + i, p.C, HW, 0, HW, dxn, parallel);
      }
    });
    return;
  }

  // dx_n += col2im(W^T * dY_n[:, j0:j0+nj]).
  auto strip = [&](int n, int j0, int nj, bool parallel) {
    float* dcol = grow(col_workspace(), (size_t)CRS * nj);
    detail::sgemm_packed_a(g, CRS, nj, p.K, 1.0f, wpack, false, dy + n * y_img + j0, PQ, 0.0f, dcol, nj);
    unlower(p, dcol, j0, nj, dx + n * x_img, parallel);
  };

  const int nt = max_threads();
  // Band height: rows of dY per band, at least the rows of dx one row's
  // window spans (in dY rows), so that bands two apart never meet.
  const int min_rows = ((p.R - 1) * p.dil_h + 1 + p.stride_h - 1) / p.stride_h;
  const int rows = std::max(min_rows, std::min(p.P, std::max(1, width / std::max(1, p.Q))));
  const int bands = (p.P + rows - 1) / rows;
  if (!pointwise && batch_threads(p.N) == 1 && nt > 1 && bands >= 2 * nt) {
#pragma omp parallel num_threads(nt)
    for (int n = 0; n < p.N; ++n) {
      float* dxn = dx + n * x_img;
#pragma omp for schedule(static)
      for (int c = 0; c < p.C; ++c) std::fill(dxn + (size_t)c * HW, dxn + (size_t)(c + 1) * HW, 0.0f);
      for (int parity = 0; parity < 2; ++parity) {
#pragma omp for schedule(static)
        for (int b = parity; b < bands; b += 2) {
          const int p0 = b * rows, p1 = std::min(p.P, p0 + rows);
          strip(n, p0 * p.Q, (p1 - p0) * p.Q, false);
        }
      }
      if (e) {
#pragma omp for schedule(static)
        for (int c = 0; c < p.C; ++c) epilogue_strip(*e, n, p.C, HW, c, c + 1, 0, HW, dxn);
      }
    }
    return;
  }

  for_each_image(p.N, [&](int n, bool parallel_inside) {
    float* dxn = dx + n * x_img;
    if (pointwise) {  // dx_n[C, HW] = W^T[C, K] * dY_n[K, HW], straight into dx
      detail::sgemm_packed_a(g, p.C, PQ, p.K, 1.0f, wpack, false, dy + n * y_img, PQ, 0.0f, dxn, PQ);
    } else {
      std::fill(dxn, dxn + x_img, 0.0f);  // overwrite: col2im only accumulates
      for (int j0 = 0; j0 < PQ; j0 += width) strip(n, j0, std::min(width, PQ - j0), parallel_inside);
    }
    if (e) apply_epilogue(*e, n, p.C, HW, 0, HW, dxn, parallel_inside);
  });
}

}  // namespace

void conv2d_fwd(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  Epilogue e;
  e.shift = b;
  conv2d_fwd_fused(p, x, w, e, y);
}

void conv2d_fwd_fused(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y) {
  if (conv2d_winograd_pays(p)) {  // conv/cpu_winograd.cpp: 3x3 stride 1, measured fastest where it pays
    conv2d_fwd_winograd_fused(p, x, w, e, y);
    return;
  }
  if (conv2d_direct_pays(p)) {  // conv/cpu_direct.cpp: few output channels, stride 1 or 2
    conv2d_fwd_direct(p, x, w, e, y);
    return;
  }
  if (conv2d_thin_pays(p, ThinPass::Fwd)) {  // conv/cpu_thin.cpp: K <= 4, where direct does not pay
    conv2d_fwd_thin(p, x, w, e, y);
    return;
  }
  if (conv2d_blocked_pays(p)) {  // conv/cpu_blocked.cpp: the 32-128-channel layers
    conv2d_fwd_blocked(p, x, w, e, y);
    return;
  }
  conv2d_fwd_im2col(detail::active_gemm_kernel(), p, x, w, e, y);
}

// The im2col + GEMM forward alone, bias only (bench/bench_conv_winograd.cpp
// times it against the Winograd path).
void conv2d_fwd_im2col_for_bench(const Conv2dParams& p, const float* x, const float* w, const float* b,
                                 float* y) {
  Epilogue e;
  e.shift = b;
  conv2d_fwd_im2col(detail::active_gemm_kernel(), p, x, w, e, y);
}

// The GEMM + col2im backward-data alone (bench/bench_conv_transpose.cpp times
// it against the phase-wise path).
void conv_transpose2d_fwd_gemm_for_bench(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                         float* y) {
  bwd_data(detail::active_gemm_kernel(), p, x, w, y, &e);
}

void conv2d_bwd_data(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  if (conv_transpose2d_phases_pays(p)) {  // conv/cpu_transpose_phases.cpp: no column buffer
    conv_transpose2d_fwd_phases(p, dy, w, Epilogue{}, dx);
    return;
  }
  if (conv2d_bwd_data_winograd_pays(p)) {  // conv/cpu_winograd.cpp: 3x3 stride 1 as a forward conv
    conv2d_bwd_data_winograd(p, dy, w, dx);
    return;
  }
  if (conv2d_thin_pays(p, ThinPass::BwdData)) {  // conv/cpu_thin.cpp: K <= 4, no col2im
    conv2d_bwd_data_thin(p, dy, w, dx);
    return;
  }
  bwd_data(detail::active_gemm_kernel(), p, dy, w, dx, nullptr);
}

void conv_transpose2d_fwd_fused(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                float* y) {
  if (conv_transpose2d_phases_pays(p)) {  // conv/cpu_transpose_phases.cpp: no column buffer
    conv_transpose2d_fwd_phases(p, x, w, e, y);
    return;
  }
  bwd_data(detail::active_gemm_kernel(), p, x, w, y, &e);
}

namespace {

// The B operand of one backward-filter GEMM, op(B) = col^T over the pixels
// [t0, t0 + depth) of the batch's pixel stream, produced panel by panel as the
// GEMM packs it: the panel's NR rows of col (filter taps) are lowered for its
// KC pixels into a small per-thread block (48 KiB at most: in L1 / L2), then
// transposed into the panel. Lowering the chunk's whole col first (CRS x 384
// floats, 7 MiB for 512 channels 3x3) wrote it out to L3 and read it back
// for the packing's transpose.
class FilterPanels final : public detail::BPanelSource {
 public:
  FilterPanels(const GemmKernel& g, const Conv2dParams& p, const float* x, long t0)
      : g_(g), p_(p), x_(x), t0_(t0) {}

  void pack(int p0, int kc, int j0, int nr, float* dst) const override {
    const int PQ = p_.P * p_.Q;
    const size_t x_img = (size_t)p_.C * p_.H * p_.W;
    float* block = grow(panel_workspace(), (size_t)nr * kc);  // col[j0:j0+nr, pixels], row stride kc
    const long first = t0_ + p0, last = first + kc;
    for (long t = first; t < last;) {  // a piece of the pixels per image they span
      const int n = (int)(t / PQ), j = (int)(t % PQ);
      const int len = (int)std::min<long>(PQ - j, last - t);
      im2col_block(p_, x_ + n * x_img, j0, j0 + nr, j, j + len, block + (t - first), kc);
      t += len;
    }
    detail::pack_b_panel_transposed(g_, block, kc, kc, nr, dst);
  }

 private:
  const GemmKernel& g_;
  const Conv2dParams& p_;
  const float* x_;
  long t0_;
};

void bwd_filter(const GemmKernel& g, const Conv2dParams& p, const float* x, const float* dy, float* dw,
                float* db, bool winograd = false) {
  const int CRS = p.C * p.R * p.S, PQ = p.P * p.Q;
  const size_t x_img = (size_t)p.C * p.H * p.W, y_img = (size_t)p.K * PQ;
  const size_t w_size = (size_t)p.K * CRS;
  const bool pointwise = is_pointwise(p);
  const int width = filter_chunk_width(g, CRS);

  // db[k] += sum over the batch and the plane, in double lanes, one k per thread.
  if (db) {
#pragma omp parallel for schedule(static) if (max_threads() > 1 && (size_t)p.N * y_img > 65536)
    for (int k = 0; k < p.K; ++k) {
      detail::LaneSum sum;
      for (int n = 0; n < p.N; ++n) sum.add_floats(dy + n * y_img + (size_t)k * PQ, PQ);
      db[k] += (float)sum.total();
    }
  }
  if (winograd) {  // conv/cpu_winograd_wgrad.cpp: 3x3 stride 1, where it pays
    conv2d_bwd_filter_winograd(p, x, dy, dw);
    return;
  }
  // Stride 2 keeps the strided gather here: splitting the whole batch into
  // column phases first (a chunk's panels may come from any image) measured
  // 0.84-0.99x on the models' layers (bench_conv_s2, bench/RESULTS.md).

  // dst = beta * dst + dY[:, t0:t1] * col[:, t0:t1]^T over pixels [t0, t1) of
  // the batch's pixel stream (t = n*PQ + j), one GEMM per chunk of `width`.
  // A chunk inside one image reads dY (and, pointwise, x) in place; one that
  // spans images gathers its dY columns (and, pointwise, x's) side by side.
  // Otherwise col^T is never stored: the GEMM's B panels are lowered on request
  // (FilterPanels).
  auto run_range = [&](long t0, long t1, float* dst, float beta) {
    for (long c0 = t0; c0 < t1; c0 += width) {
      const int nj = (int)std::min<long>(width, t1 - c0);
      const int n0 = (int)(c0 / PQ), j0 = (int)(c0 % PQ);
      const float *a, *b = nullptr;
      int lda, ldb = 0;
      if (j0 + nj <= PQ) {
        a = dy + n0 * y_img + j0, lda = PQ;
        if (pointwise) b = x + n0 * x_img + j0, ldb = PQ;
      } else {
        float* dyb = grow(dy_workspace(), (size_t)p.K * nj);
        float* col = pointwise ? grow(col_workspace(), (size_t)CRS * nj) : nullptr;
        for (long t = c0; t < c0 + nj;) {
          const int n = (int)(t / PQ), j = (int)(t % PQ);
          const int len = (int)std::min<long>(PQ - j, c0 + nj - t), off = (int)(t - c0);
          for (int k = 0; k < p.K; ++k)
            std::memcpy(dyb + (size_t)k * nj + off, dy + n * y_img + (size_t)k * PQ + j,
                        sizeof(float) * len);
          if (pointwise)
            for (int c = 0; c < p.C; ++c)
              std::memcpy(col + (size_t)c * nj + off, x + n * x_img + (size_t)c * PQ + j,
                          sizeof(float) * len);
          t += len;
        }
        a = dyb, lda = nj;
        if (pointwise) b = col, ldb = nj;
      }
      const float beta_c = c0 == t0 ? beta : 1.0f;
      if (pointwise) {
        detail::sgemm_with(g, false, true, p.K, CRS, nj, 1.0f, a, lda, b, ldb, beta_c, dst, CRS);
      } else {
        const FilterPanels panels(g, p, x, c0);
        detail::sgemm_b_panels(g, false, p.K, CRS, nj, 1.0f, a, lda, panels, beta_c, dst, CRS);
      }
    }
  };

  const long total = (long)p.N * PQ;
  const int nt = max_threads();
  // Threads over the pixel stream when each gets a couple of chunks: one
  // private dW per thread, then summed in thread order. Or, where a chunk is
  // wide (few filter taps: CRS = 48-49 makes it 10,752 pixels), when each
  // gets 8 KC slices: else the stems (the PatchGAN's 3 -> 32 4x4 stride 2,
  // 32,768 pixels at batch 8) ran their one GEMM nearly alone on 2 threads
  // (1.15x one thread). TINCT_CONV_WGRAD_SPLIT=0: chunks only.
  static const bool split_slices = [] {
    const char* e = std::getenv("TINCT_CONV_WGRAD_SPLIT");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  const long min_share = split_slices ? std::min(2L * width, 8L * g.kc) : 2L * width;
  const int bt = nt > 1 && total >= nt * min_share ? nt : 1;
  if (bt <= 1) {
    run_range(0, total, dw, 1.0f);
    return;
  }
  // Each thread gets an equal share of the pixel stream, cut into chunks from
  // its own start: fixed for a given thread count, so deterministic. (Whole
  // chunks per thread split the PatchGAN's 1,800 pixels 768 : 1,032, and its
  // 4x4 backward-filter ran 1.49x faster on 2 threads instead of ~1.9x.)
  float* parts = grow(partial_workspace(), w_size * bt);
#pragma omp parallel num_threads(bt)
  {
    const int t = omp_get_thread_num();
    float* part = parts + w_size * t;
    const long t0 = total * t / bt;
    const long t1 = total * (t + 1) / bt;
    if (t0 < t1) run_range(t0, t1, part, 0.0f);
    else std::fill(part, part + w_size, 0.0f);  // this thread got no pixels
#pragma omp barrier
#pragma omp for schedule(static)
    for (size_t i = 0; i < w_size; ++i) {
      float sum = 0.0f;
      for (int u = 0; u < bt; ++u) sum += parts[w_size * u + i];
      dw[i] += sum;
    }
  }
}

// The bf16 GEMM set, for the *_bf16 entry points.
const GemmKernel& bf16_gemm(const char* who) {
  const GemmKernel* g = detail::active_bf16_gemm_kernel();
  if (!g) throw std::logic_error(std::string(who) + ": the bf16 GEMM is not in use (cpu_bf16_gemm())");
  return *g;
}

}  // namespace

void conv2d_bwd_filter(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db) {
  if (conv2d_thin_pays(p, ThinPass::BwdFilter)) {  // conv/cpu_thin.cpp: K <= 4, no im2col
    conv2d_bwd_filter_thin(p, x, dy, dw, db);
    return;
  }
  if (conv2d_bwd_filter_stem_pays(p)) {  // conv/cpu_stem_dw.cpp: C <= 4, a dot product per tap
    conv2d_bwd_filter_stem(p, x, dy, dw, db);
    return;
  }
  bwd_filter(detail::active_gemm_kernel(), p, x, dy, dw, db, conv2d_bwd_filter_winograd_pays(p));
}

// The im2col + GEMM backward-filter alone (bench/bench_conv_thin.cpp --stem
// times it against the stems' path).
void conv2d_bwd_filter_gemm_for_bench(const Conv2dParams& p, const float* x, const float* dy, float* dw,
                                      float* db) {
  bwd_filter(detail::active_gemm_kernel(), p, x, dy, dw, db);
}

// Precision::bf16: the im2col + GEMM paths above on the bf16 set, whose packing
// rounds the operands (the direct / blocked / Winograd paths are fp32 arithmetic).
void conv2d_fwd_fused_bf16(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e, float* y) {
  conv2d_fwd_im2col(bf16_gemm("conv2d_fwd_fused_bf16"), p, x, w, e, y);
}
void conv2d_bwd_data_bf16(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  bwd_data(bf16_gemm("conv2d_bwd_data_bf16"), p, dy, w, dx, nullptr);
}
void conv2d_bwd_filter_bf16(const Conv2dParams& p, const float* x, const float* dy, float* dw, float* db) {
  bwd_filter(bf16_gemm("conv2d_bwd_filter_bf16"), p, x, dy, dw, db);
}
void conv_transpose2d_fwd_fused_bf16(const Conv2dParams& p, const float* x, const float* w, const Epilogue& e,
                                     float* y) {
  bwd_data(bf16_gemm("conv_transpose2d_fwd_fused_bf16"), p, x, w, y, &e);
}

}  // namespace tinct::cpu
