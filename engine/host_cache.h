// host_cache.h — the CPU tensors' allocator: aligned blocks, and a bounded
// cache of freed large ones.
//
// Why: a forward pass at 512x512 allocates and frees activations of 1-64 MiB
// per layer. glibc serves blocks that size with mmap and returns them with
// munmap, so every layer of every call faults its output's pages in again
// (page faults and page clearing were 2.6% of a GAN forward; keeping freed
// blocks measured 4-10% faster forwards on the shared 2-core machine).
// A training step's activations at batch 8 of 128x128 are mostly 64 KiB to
// 1 MiB, and glibc's mapped ones fault in the same way, so blocks from 64 KiB
// on are kept (a regression step: 452 -> 178 page faults, 1.03x on 1 thread
// and 1.05x on 2, bench/cpu_peer/ab.py --train; from 1 MiB on before).
// Freed blocks of at least kMinCachedBytes are kept, up to a total of
// cap_bytes() (256 MiB; TINCT_CPU_CACHE_MB=N sets it, 0 turns the cache
// off), and handed out again for a request of at most their size and at
// least 4/5 of it. Smaller blocks go straight to malloc. Thread-safe.
// Under AddressSanitizer the cache is off, so use-after-free is still caught.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinct::host_cache {

constexpr size_t kMinCachedBytes = size_t(64) << 10;

// 64-byte aligned, at least `bytes` (never null: throws std::bad_alloc).
void* allocate(size_t bytes);
// A block from allocate(), or null.
void deallocate(void* p);

struct Stats {
  uint64_t allocs = 0, cache_hits = 0;  // large blocks asked for, and served from the cache
  size_t cached_bytes = 0;              // held in the cache now
};
Stats stats();
size_t cap_bytes();
void set_cap_bytes(size_t cap);  // frees what no longer fits (tests, long-lived processes)
void trim();                     // frees every cached block

}  // namespace tinct::host_cache
