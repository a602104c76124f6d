// device.cpp — allocation, copies and fills on the CPU and the CUDA device.
#include "engine/device.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "engine/host_cache.h"
#include "kernels/kernels.h"

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif

namespace tinct {

bool cuda_available(std::string* why) {
#ifdef TINCT_HAS_CUDA
  // Asked once: the answer does not change while the process runs.
  static std::string reason;
  static const bool ok = cuda::device_available(&reason);
  if (!ok && why) *why = reason;
  return ok;
#else
  if (why) *why = "this build of tinct has no CUDA backend (nvcc was not found, or TINCT_CUDA=OFF)";
  return false;
#endif
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "auto") return cuda_available() ? Device::CUDA : Device::CPU;
  if (name == "cuda") {
    std::string why;
    if (!cuda_available(&why)) throw std::runtime_error("--device cuda: no usable GPU: " + why);
    return Device::CUDA;
  }
  throw std::invalid_argument("unknown device '" + name + "' (auto, cpu, cuda)");
}

std::string describe_device(Device d) {
  if (d == Device::CPU) return "cpu (" + std::to_string(omp_get_max_threads()) + " threads)";
#ifdef TINCT_HAS_CUDA
  return cuda::device_description();
#else
  return "cuda (not in this build)";
#endif
}

namespace device {

#ifdef TINCT_HAS_CUDA
// Created on first use and never destroyed: tensors that outlive main()'s
// scope (statics) must not free into a dead allocator or a torn-down runtime.
static cuda::CachingAllocator& allocator() {
  static cuda::CachingAllocator* a = new cuda::CachingAllocator();
  return *a;
}
#endif

#ifndef TINCT_HAS_CUDA
[[noreturn]] static void no_cuda() {
  std::string why;
  cuda_available(&why);
  throw std::runtime_error("a CUDA tensor was asked for, but " + why);
}
#endif

void* allocate(Device d, size_t bytes) {
  // 64-byte alignment: a cache line, and what the vectorised kernels prefer;
  // large freed blocks are kept for the next layer (host_cache.h).
  if (d == Device::CPU) return host_cache::allocate(bytes);
#ifdef TINCT_HAS_CUDA
  return allocator().allocate(bytes == 0 ? 4 : bytes);
#else
  no_cuda();
#endif
}

void deallocate(Device d, void* p) {
  if (d == Device::CPU) {
    host_cache::deallocate(p);
    return;
  }
#ifdef TINCT_HAS_CUDA
  allocator().deallocate(p);
#endif
}

void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef TINCT_HAS_CUDA
  const cudaMemcpyKind kind = dst_dev == Device::CPU   ? cudaMemcpyDeviceToHost
                              : src_dev == Device::CPU ? cudaMemcpyHostToDevice
                                                       : cudaMemcpyDeviceToDevice;
  if (kind == cudaMemcpyDeviceToDevice) {
    TINCT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, 0));
  } else {
    // Synchronous: the host buffer is free to change (or be read) on return.
    TINCT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
  }
#else
  no_cuda();
#endif
}

void fill(Device d, float* p, size_t n, float v) {
  if (d == Device::CPU) {
    cpu::fill(n, v, p);
    return;
  }
#ifdef TINCT_HAS_CUDA
  cuda::fill(n, v, p);
#else
  no_cuda();
#endif
}

void synchronize() {
#ifdef TINCT_HAS_CUDA
  if (cuda_available()) TINCT_CUDA_CHECK(cudaDeviceSynchronize());
#endif
}

std::string memory_summary() {
#ifdef TINCT_HAS_CUDA
  if (!cuda_available()) return "";
  const auto s = allocator().stats();
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "GPU memory: %.1f MiB in use, %.1f MiB peak, %.1f MiB reserved; %llu of %llu allocations "
                "from the cache, %llu cudaMalloc",
                s.in_use / 1048576.0, s.peak_in_use / 1048576.0, s.reserved / 1048576.0,
                (unsigned long long)s.cache_hits, (unsigned long long)s.allocs,
                (unsigned long long)s.device_mallocs);
  return buf;
#else
  return "";
#endif
}

void empty_cache() {
#ifdef TINCT_HAS_CUDA
  if (cuda_available()) allocator().empty_cache();
#endif
}

}  // namespace device
}  // namespace tinct
