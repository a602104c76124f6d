// runtime.cu — the plumbing under the CUDA kernels: error reporting, device
// discovery and description, the caching allocator, and the stream-ordered
// scratch buffers the kernels use for their temporaries.
//
// What it computes: nothing on the GPU. Variants: none.
// Benchmark: the allocator is exercised by tests/gpu/test_gpu_kernels.cpp
// ("caching allocator"); its cost is a mutex and a map lookup per call.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <sstream>

#include "kernels/cuda.h"
#include "kernels/common/common.cuh"

namespace tinct::cuda {

void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  std::ostringstream s;
  s << file << ":" << line << ": " << call << " failed: " << cudaGetErrorName(err) << " ("
    << cudaGetErrorString(err) << ")";
  throw std::runtime_error(s.str());
}

bool device_available(std::string* why) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // do not leave the error for the next launch check
    return false;
  }
  if (count == 0) {
    if (why) *why = "cudaGetDeviceCount returned 0 devices";
    return false;
  }
  if (why) why->clear();
  return true;
}

std::string device_description(int device) {
  if (device < 0) TINCT_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  TINCT_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  int driver = 0, runtime = 0, clock_khz = 0, mem_clock_khz = 0;
  TINCT_CUDA_CHECK(cudaDriverGetVersion(&driver));
  TINCT_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  // clockRate left cudaDeviceProp in CUDA 13; the attributes remain.
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device);
  cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, device);
  cudaGetLastError();
  std::ostringstream s;
  s << prop.name << " (sm_" << prop.major << prop.minor << ", " << prop.multiProcessorCount
    << " SMs, " << (prop.totalGlobalMem >> 20) << " MiB, L2 " << (prop.l2CacheSize >> 20)
    << " MiB, smem/SM " << (prop.sharedMemPerMultiprocessor >> 10) << " KiB, SM clock "
    << clock_khz / 1000 << " MHz, mem clock " << mem_clock_khz / 1000 << " MHz), driver "
    << driver / 1000 << "." << (driver % 1000) / 10 << ", runtime " << runtime / 1000 << "."
    << (runtime % 1000) / 10;
  return s.str();
}

double read_scalar(const double* dev, cudaStream_t stream) {
  double h = 0.0;
  TINCT_CUDA_CHECK(cudaMemcpyAsync(&h, dev, sizeof(double), cudaMemcpyDeviceToHost, stream));
  TINCT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return h;
}

// --- caching allocator ---------------------------------------------------------

size_t CachingAllocator::round_size(size_t bytes) {
  constexpr size_t kSmall = size_t(1) << 20;
  if (bytes <= kSmall) return std::max<size_t>(512, (bytes + 511) & ~size_t(511));
  // 2^k * {1, 1.25, 1.5, 1.75}: the smallest such size >= bytes.
  size_t pow2 = kSmall;
  while (pow2 * 2 < bytes) pow2 *= 2;  // pow2 < bytes <= 2 * pow2
  const size_t step = pow2 / 4;
  size_t r = ((bytes + step - 1) / step) * step;
  return (r + 511) & ~size_t(511);
}

CachingAllocator::CachingAllocator(int device) : device_(device) {
  if (device_ < 0) TINCT_CUDA_CHECK(cudaGetDevice(&device_));
}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  int prev = 0;
  if (cudaGetDevice(&prev) != cudaSuccess) return;
  cudaSetDevice(device_);
  for (auto& kv : free_)
    for (void* p : kv.second) cudaFree(p);
  for (auto& kv : live_) cudaFree(kv.first);  // leaked by the user: still ours
  cudaSetDevice(prev);
  cudaGetLastError();
}

void* CachingAllocator::device_malloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaSuccess) return p;
  cudaGetLastError();  // clear it: a failed cudaMalloc is not a launch error
  if (err != cudaErrorMemoryAllocation) throw_cuda_error(err, "cudaMalloc", __FILE__, __LINE__);
  return nullptr;
}

void* CachingAllocator::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t cls = round_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.allocs;
  void* p = nullptr;
  auto it = free_.find(cls);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.cached -= cls;
    ++stats_.cache_hits;
  } else {
    int prev = 0;
    TINCT_CUDA_CHECK(cudaGetDevice(&prev));
    if (prev != device_) TINCT_CUDA_CHECK(cudaSetDevice(device_));
    p = device_malloc(cls);
    if (!p) {
      // Give the cache back to the driver and try once more.
      for (auto& kv : free_)
        for (void* q : kv.second) {
          cudaFree(q);
          ++stats_.device_frees;
          stats_.reserved -= kv.first;
        }
      free_.clear();
      stats_.cached = 0;
      p = device_malloc(cls);
    }
    if (!p) {
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      cudaGetLastError();
      if (prev != device_) cudaSetDevice(prev);
      std::ostringstream s;
      s << "CUDA out of memory on device " << device_ << ": asked for " << bytes << " bytes ("
        << cls << " rounded); the device has " << free_b << " bytes free of " << total_b
        << "; this allocator holds " << stats_.in_use << " bytes in use (cache emptied)";
      throw OutOfMemory(s.str(), bytes, free_b, total_b);
    }
    if (prev != device_) TINCT_CUDA_CHECK(cudaSetDevice(prev));
    ++stats_.device_mallocs;
    stats_.reserved += cls;
  }
  live_[p] = cls;
  stats_.in_use += cls;
  stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  return p;
}

void CachingAllocator::deallocate(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(ptr);
  if (it == live_.end()) throw std::runtime_error("CachingAllocator::deallocate: unknown pointer");
  const size_t cls = it->second;
  live_.erase(it);
  free_[cls].push_back(ptr);
  stats_.in_use -= cls;
  stats_.cached += cls;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  int prev = 0;
  TINCT_CUDA_CHECK(cudaGetDevice(&prev));
  if (prev != device_) TINCT_CUDA_CHECK(cudaSetDevice(device_));
  for (auto& kv : free_)
    for (void* p : kv.second) {
      TINCT_CUDA_CHECK(cudaFree(p));
      ++stats_.device_frees;
      stats_.reserved -= kv.first;
    }
  free_.clear();
  stats_.cached = 0;
  if (prev != device_) TINCT_CUDA_CHECK(cudaSetDevice(prev));
}

CachingAllocator::Stats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

// --- stream-ordered scratch ----------------------------------------------------

namespace detail {

namespace {
// Per device: has the default pool's release threshold been raised yet?
std::atomic<bool> g_pool_configured[64];

void configure_pool_once() {
  int dev = 0;
  TINCT_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev >= 64 || g_pool_configured[dev].load(std::memory_order_acquire)) return;
  cudaMemPool_t pool;
  TINCT_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, dev));
  // Keep freed blocks in the pool across synchronisations (the default, 0,
  // hands them back to the driver at every sync, and the next step would
  // map them again).
  uint64_t threshold = UINT64_MAX;
  TINCT_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  g_pool_configured[dev].store(true, std::memory_order_release);
}
}  // namespace

Scratch::Scratch(size_t bytes, cudaStream_t stream) : stream_(stream) {
  if (bytes == 0) return;
  configure_pool_once();
  TINCT_CUDA_CHECK(cudaMallocAsync(&ptr_, bytes, stream));
}

Scratch::~Scratch() {
  if (ptr_) {
    if (cudaFreeAsync(ptr_, stream_) != cudaSuccess) cudaGetLastError();
  }
}

int sm_count() {
  static std::atomic<int> cache[64];
  int dev = 0;
  TINCT_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev < 64) {
    const int c = cache[dev].load(std::memory_order_relaxed);
    if (c > 0) return c;
  }
  int n = 0;
  TINCT_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
  if (dev < 64) cache[dev].store(n, std::memory_order_relaxed);
  return n;
}

}  // namespace detail
}  // namespace tinct::cuda
