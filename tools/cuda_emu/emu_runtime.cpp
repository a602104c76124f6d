// The CUDA runtime API on the host, for emu_cuda.h.
#include <barrier>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "emu_cuda.h"

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

#include <ucontext.h>

namespace emu {
namespace {
// Cooperative fibers: the threads of a block run one at a time on this OS
// thread; a barrier yields to the scheduler until every thread has arrived.
struct Fiber {
  ucontext_t ctx;
  bool done;
  uint3 tid;
  long block_wait;  // the __syncthreads generation it waits for the end of, or -1
};
ucontext_t g_sched;
std::vector<Fiber> g_fibers;
std::vector<std::unique_ptr<char[]>> g_stacks;
constexpr size_t kStack = 256 * 1024;
int g_current = 0;
const std::function<void()>* g_body = nullptr;
struct Bar {
  int count = 0;
  long gen = 0;
};
Bar g_block_bar;
Bar g_warp_bar[32];
int g_T = 0;
double g_xd[1024];
float g_xf[1024];
int g_xi[1024];

void yield() { swapcontext(&g_fibers[g_current].ctx, &g_sched); }

void bar_wait(Bar& b, int expected) {
  const long g = b.gen;
  if (++b.count == expected) {
    b.count = 0;
    ++b.gen;
  } else {
    if (&b == &g_block_bar) g_fibers[g_current].block_wait = g;
    while (b.gen == g) yield();
    g_fibers[g_current].block_wait = -1;
  }
}
bool blocked(int i) { return g_fibers[i].block_wait >= 0 && g_fibers[i].block_wait == g_block_bar.gen; }

void entry() {
  (*g_body)();
  g_fibers[g_current].done = true;
}  // returns to g_sched through uc_link

void tensorcore_block_start(int T);  // below: cp.async queues, dynamic shared memory

void run_block(uint3 b, int T, const std::function<void()>& f) {
  g_body = &f;
  g_T = T;
  tensorcore_block_start(T);
  blockIdx = b;
  g_block_bar = Bar{};
  for (auto& w : g_warp_bar) w = Bar{};
  while ((int)g_stacks.size() < T) g_stacks.emplace_back(new char[kStack]);
  g_fibers.resize(T);
  for (int i = 0; i < T; ++i) {
    Fiber& fb = g_fibers[i];
    fb.done = false;
    fb.block_wait = -1;
    fb.tid = make_uint3(i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y));
    getcontext(&fb.ctx);
    fb.ctx.uc_stack.ss_sp = g_stacks[i].get();
    fb.ctx.uc_stack.ss_size = kStack;
    fb.ctx.uc_link = &g_sched;
    makecontext(&fb.ctx, entry, 0);
  }
  int left = T;
  auto resume = [&](int i) {
    g_current = i;
    threadIdx = g_fibers[i].tid;
    swapcontext(&g_sched, &g_fibers[i].ctx);
    if (g_fibers[i].done) --left;
  };
  // EMU_SCHED=ahead: each warp in turn runs as far as it can (to the next
  // __syncthreads or its end) before the next warp starts, instead of all
  // threads taking turns at every barrier: shared memory overwritten while a
  // slower warp still has to read it (a missing __syncthreads, a pipeline
  // stage refilled too early) then reaches that warp.
  static const bool ahead = getenv("EMU_SCHED") && std::string(getenv("EMU_SCHED")) == "ahead";
  while (left > 0) {
    if (ahead) {
      for (int w = 0; w * 32 < T; ++w)
        for (bool ran = true; ran;) {
          ran = false;
          for (int i = 32 * w; i < std::min(T, 32 * w + 32); ++i)
            if (!g_fibers[i].done && !blocked(i)) resume(i), ran = true;
        }
      continue;
    }
    for (int i = 0; i < T; ++i)
      if (!g_fibers[i].done) resume(i);
  }
}
}  // namespace

void syncthreads() { bar_wait(g_block_bar, g_T); }

template <class T>
T shfl(T* buf, T v, int delta) {
  const int lane = g_current % 32, w = g_current / 32;
  const int expected = std::min(32, g_T - 32 * w);
  buf[g_current] = v;
  bar_wait(g_warp_bar[w], expected);
  T r = lane + delta < expected ? buf[g_current + delta] : v;
  bar_wait(g_warp_bar[w], expected);
  return r;
}
double shfl_down_d(double v, int d) { return shfl(g_xd, v, d); }
float shfl_down_f(float v, int d) { return shfl(g_xf, v, d); }
int shfl_down_i(int v, int d) { return shfl(g_xi, v, d); }

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  const int T = int(block.x * block.y * block.z);
  if (T <= 0 || T > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
      grid.z > 65535) {
    std::fprintf(stderr, "emu: bad launch grid (%u,%u,%u) block %d\n", grid.x, grid.y, grid.z, T);
    std::abort();
  }
  gridDim = grid;
  blockDim = block;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) run_block(make_uint3(x, y, z), T, body);
}
}  // namespace emu

// ---- runtime API --------------------------------------------------------------
extern "C" {
cudaError_t cudaGetDeviceCount(int* c) { *c = getenv("EMU_NO_DEVICE") ? 0 : 1; return cudaSuccess; }
cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
const char* cudaGetErrorString(cudaError_t) { return "emu error"; }
const char* cudaGetErrorName(cudaError_t) { return "emuError"; }
cudaError_t cudaDriverGetVersion(int* v) { *v = 13000; return cudaSuccess; }
cudaError_t cudaRuntimeGetVersion(int* v) { *v = 13000; return cudaSuccess; }
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  *v = a == cudaDevAttrMultiProcessorCount ? 132 : 1000;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::strcpy(p->name, "CPU emulator");
  p->multiProcessorCount = 132;
  p->major = 9;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** p, size_t n) {
  if (n > (size_t(1) << 40)) { *p = nullptr; return cudaErrorMemoryAllocation; }
  // Exact size (no slack), 256-byte aligned, so that ASan sees any overrun.
  if (posix_memalign(p, 256, n ? n : 1) != 0) return cudaErrorMemoryAllocation;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) { free(p); return cudaSuccess; }
cudaError_t cudaMallocAsync(void** p, size_t n, cudaStream_t) { return cudaMalloc(p, n ? n : 1); }
cudaError_t cudaFreeAsync(void* p, cudaStream_t) { free(p); return cudaSuccess; }
cudaError_t cudaMemGetInfo(size_t* f, size_t* t) { *f = size_t(80) << 30; *t = size_t(80) << 30; return cudaSuccess; }
cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memcpy(d, s, n); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) { std::memcpy(d, s, n); return cudaSuccess; }
cudaError_t cudaMemset(void* d, int v, size_t n) { std::memset(d, v, n); return cudaSuccess; }
cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t) { std::memset(d, v, n); return cudaSuccess; }
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* p, int) { *p = nullptr; return cudaSuccess; }
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr, void*) { return cudaSuccess; }
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* n, const void*, int, size_t) { *n = 2; return cudaSuccess; }
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* n, const void*, int, size_t, unsigned) { *n = 2; return cudaSuccess; }
}

// ---- tensor-core instructions (emu_cuda.h) -------------------------------------
namespace emu {
namespace {
// warp_allgather's slots, two per lane used in turn, so that one barrier per
// exchange suffices: a lane reaches exchange g+2 (the same slot as g) only
// after every lane of its warp arrived at the barrier of g+1, that is after
// they all finished reading exchange g.
constexpr int kSlot = 64;
unsigned char g_xchg[2][1024 * kSlot];
int g_xchg_gen[1024];

struct Copy {
  void* dst;
  const void* src;
  int bytes, src_bytes;
};
struct CopyQueue {
  std::vector<Copy> open;                 // issued since the last commit
  std::vector<std::vector<Copy>> groups;  // committed, oldest first
};
std::vector<CopyQueue> g_copies;  // per thread of the block

constexpr size_t kDynSmem = 227 * 1024;
alignas(128) unsigned char g_dyn_smem[kDynSmem];
long g_block_serial = 0, g_dyn_serial = -1;

void tensorcore_block_start(int T) {
  ++g_block_serial;
  g_copies.assign(T, CopyQueue{});
  std::fill(g_xchg_gen, g_xchg_gen + T, 0);
}

void need_full_warp(const char* what) {
  const int w = g_current / 32;
  if (g_T - 32 * w < 32) {
    std::fprintf(stderr, "emu: %s needs a full warp (block of %d threads)\n", what, g_T);
    std::abort();
  }
}

float tf32_operand(uint32_t bits) {  // the tensor core reads 1+8+10 bits
  bits &= 0xffffe000u;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float bf16_operand(uint32_t reg, int half) {  // element `half` of a bf16x2 register
  const uint32_t bits = half ? (reg & 0xffff0000u) : (reg << 16);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct MmaRegs {
  uint32_t a[4], b[2];
  float c[4];
};

// D = A B + C for one m16n8 tile: A[16][KK], B[KK][8] rebuilt from every
// lane's registers through `place`, then this lane's four outputs. The k
// order and fp32 rounding after each add are the reference's (ref.cpp).
template <int KK, class PlaceA, class PlaceB>
void mma_tile(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4], PlaceA place_a,
              PlaceB place_b) {
  need_full_warp("mma.sync");
  MmaRegs mine, all[32];
  std::memcpy(mine.a, a, sizeof mine.a);
  std::memcpy(mine.b, b, sizeof mine.b);
  std::memcpy(mine.c, c, sizeof mine.c);
  warp_allgather(&mine, sizeof mine, all);
  float A[16][KK], B[KK][8], C[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    place_a(all[lane].a, g, t, A);
    place_b(all[lane].b, g, t, B);
    // Accumulators (both shapes): c0, c1 at (g, 2t + i), c2, c3 at (g + 8, 2t + i).
    for (int i = 0; i < 4; ++i) C[g + 8 * (i >> 1)][2 * t + (i & 1)] = all[lane].c[i];
  }
  const int lane = g_current & 31, g = lane >> 2, t = lane & 3;
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
    float acc = C[row][col];
    for (int k = 0; k < KK; ++k) acc += A[row][k] * B[k][col];
    d[i] = acc;
  }
}
}  // namespace

void warp_allgather(const void* mine, int bytes, void* out) {
  if (bytes > kSlot) std::abort();
  const int w = g_current / 32, expected = std::min(32, g_T - 32 * w);
  const int gen = g_xchg_gen[g_current]++ & 1;
  std::memcpy(&g_xchg[gen][g_current * kSlot], mine, bytes);
  bar_wait(g_warp_bar[w], expected);
  for (int i = 0; i < expected; ++i)
    std::memcpy(static_cast<unsigned char*>(out) + i * bytes, &g_xchg[gen][(32 * w + i) * kSlot], bytes);
}

// PTX ISA, "Matrix Fragments for mma.m16n8k8", .tf32 (groupID g = lane >> 2,
// threadID_in_group t = lane % 4):
//   A: a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4)
//   B: b0 (k = t, n = g), b1 (k = t + 4, n = g)
void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  mma_tile<8>(
      d, a, b, c,
      [](const uint32_t* r, int g, int t, float (&A)[16][8]) {
        for (int i = 0; i < 4; ++i) A[g + 8 * (i & 1)][t + 4 * (i >> 1)] = tf32_operand(r[i]);
      },
      [](const uint32_t* r, int g, int t, float (&B)[8][8]) {
        for (int i = 0; i < 2; ++i) B[t + 4 * i][g] = tf32_operand(r[i]);
      });
}

// PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type",
// .bf16, elements low to high in each .b32 register:
//   A: a0,a1 (g, 2t + i)  a2,a3 (g + 8, 2t + i)  a4,a5 (g, 2t + 8 + i)  a6,a7 (g + 8, 2t + 8 + i)
//   B: b0,b1 (k = 2t + i, n = g)  b2,b3 (k = 2t + 8 + i, n = g)
void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  mma_tile<16>(
      d, a, b, c,
      [](const uint32_t* r, int g, int t, float (&A)[16][16]) {
        for (int j = 0; j < 4; ++j)
          for (int i = 0; i < 2; ++i) A[g + 8 * (j & 1)][2 * t + 8 * (j >> 1) + i] = bf16_operand(r[j], i);
      },
      [](const uint32_t* r, int g, int t, float (&B)[16][8]) {
        for (int j = 0; j < 2; ++j)
          for (int i = 0; i < 2; ++i) B[2 * t + 8 * j + i][g] = bf16_operand(r[j], i);
      });
}

void ldmatrix(uint32_t* r, int num, bool trans, const void* row_addr) {
  need_full_warp("ldmatrix");
  if (num != 1 && num != 2 && num != 4) std::abort();
  const int lane = g_current & 31;
  if (lane < 8 * num && (reinterpret_cast<uintptr_t>(row_addr) & 15) != 0) {
    std::fprintf(stderr, "emu: ldmatrix row address %p of lane %d is not 16-byte aligned\n", row_addr, lane);
    std::abort();
  }
  const void* rows[32];
  warp_allgather(&row_addr, sizeof row_addr, rows);
  for (int m = 0; m < num; ++m) {
    const uint16_t* mat[8];
    for (int i = 0; i < 8; ++i) mat[i] = static_cast<const uint16_t*>(rows[8 * m + i]);
    uint16_t lo, hi;
    if (!trans) {  // row lane/4, columns 2(lane%4), +1
      lo = mat[lane >> 2][2 * (lane & 3)];
      hi = mat[lane >> 2][2 * (lane & 3) + 1];
    } else {  // the transpose: rows 2(lane%4), +1 of column lane/4
      lo = mat[2 * (lane & 3)][lane >> 2];
      hi = mat[2 * (lane & 3) + 1][lane >> 2];
    }
    r[m] = uint32_t(lo) | uint32_t(hi) << 16;
  }
}

void cp_async(void* dst, const void* src, int bytes, int src_bytes) {
  if ((bytes != 4 && bytes != 8 && bytes != 16) || src_bytes < 0 || src_bytes > bytes ||
      (reinterpret_cast<uintptr_t>(dst) & (bytes - 1)) != 0 ||
      (src_bytes > 0 && (reinterpret_cast<uintptr_t>(src) & (bytes - 1)) != 0)) {
    std::fprintf(stderr, "emu: bad cp.async dst %p src %p size %d src-size %d\n", dst, src, bytes, src_bytes);
    std::abort();
  }
  std::memset(dst, 0xff, bytes);
  g_copies[g_current].open.push_back(Copy{dst, src, bytes, src_bytes});
}

void cp_async_commit() {
  CopyQueue& q = g_copies[g_current];
  q.groups.push_back(std::move(q.open));
  q.open.clear();
}

void cp_async_wait(int pending) {
  CopyQueue& q = g_copies[g_current];
  while ((int)q.groups.size() > pending) {
    for (const Copy& c : q.groups.front()) {
      std::memcpy(c.dst, c.src, c.src_bytes);
      std::memset(static_cast<unsigned char*>(c.dst) + c.src_bytes, 0, c.bytes - c.src_bytes);
    }
    q.groups.erase(q.groups.begin());
  }
}

unsigned char* dynamic_smem() {
  if (g_dyn_serial != g_block_serial) {
    std::memset(g_dyn_smem, 0xff, kDynSmem);
    g_dyn_serial = g_block_serial;
  }
  return g_dyn_smem;
}
}  // namespace emu

extern "C" cudaError_t cudaFuncSetAttribute(const void*, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize && value > 227 * 1024) return cudaErrorInvalidValue;
  return cudaSuccess;
}
