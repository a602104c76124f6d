// device.h — where tensors live: host memory, or the CUDA device.
//
// The engine runs every op on the device of its inputs. CUDA memory comes
// from one process-wide caching allocator (kernels/cuda.h), so that a
// training step, after the first, never reaches cudaMalloc/cudaFree. All
// work is queued on CUDA's legacy default stream, in program order: a buffer
// freed by a tensor can be handed to the next op at once, because any kernel
// still reading it runs before that op's kernels. Host reads of device data
// (item(), to_vector(), copies to the CPU) wait for the queued work.
//
// A build without the CUDA backend has the same API: cuda_available() is
// false and asking for the CUDA device throws a message that says why.
#pragma once

#include <cstddef>
#include <string>

#include "engine/tensor.h"

namespace tinct {

// True when this build has the CUDA backend and a usable GPU; on false, *why
// (if given) says which of the two is missing. Never throws.
bool cuda_available(std::string* why = nullptr);

// "auto" (the GPU when cuda_available(), else the CPU), "cpu", "cuda".
// Throws std::invalid_argument for another name, and std::runtime_error,
// with the reason, for "cuda" without a usable GPU.
Device parse_device(const std::string& name);

// One line about the device, for logs: "cpu (2 threads)" or the GPU's name,
// memory, driver and runtime.
std::string describe_device(Device d);

namespace device {

// Bytes on device d; 64-byte aligned on the host, 256 on the GPU. Out of GPU
// memory throws cuda::OutOfMemory (what() names the bytes asked and free).
void* allocate(Device d, size_t bytes);
void deallocate(Device d, void* p);
// memcpy between any two devices; waits for the GPU when the host reads.
void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void fill(Device d, float* p, size_t n, float v);
// Waits until the GPU has finished all queued work (no-op without CUDA).
void synchronize();
// The caching allocator's bytes in use, peak, reserved, and cache hit rate;
// "" on the CPU or without CUDA.
std::string memory_summary();
// Frees the allocator's cached blocks (tests, or before a big allocation).
void empty_cache();

}  // namespace device
}  // namespace tinct
