// The CUDA runtime API on the host, for emu_cuda.h.
#include <barrier>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
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
    while (b.gen == g) yield();
  }
}

void entry() {
  (*g_body)();
  g_fibers[g_current].done = true;
}  // returns to g_sched through uc_link

void run_block(uint3 b, int T, const std::function<void()>& f) {
  g_body = &f;
  g_T = T;
  blockIdx = b;
  g_block_bar = Bar{};
  for (auto& w : g_warp_bar) w = Bar{};
  while ((int)g_stacks.size() < T) g_stacks.emplace_back(new char[kStack]);
  g_fibers.resize(T);
  for (int i = 0; i < T; ++i) {
    Fiber& fb = g_fibers[i];
    fb.done = false;
    fb.tid = make_uint3(i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y));
    getcontext(&fb.ctx);
    fb.ctx.uc_stack.ss_sp = g_stacks[i].get();
    fb.ctx.uc_stack.ss_size = kStack;
    fb.ctx.uc_link = &g_sched;
    makecontext(&fb.ctx, entry, 0);
  }
  int left = T;
  while (left > 0) {
    for (int i = 0; i < T; ++i) {
      if (g_fibers[i].done) continue;
      g_current = i;
      threadIdx = g_fibers[i].tid;
      swapcontext(&g_sched, &g_fibers[i].ctx);
      if (g_fibers[i].done) --left;
    }
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
