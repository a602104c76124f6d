// host_cache.cpp — see host_cache.h.
#include "engine/host_cache.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define TINCT_HOST_CACHE_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TINCT_HOST_CACHE_OFF 1
#endif
#endif

namespace tinct::host_cache {

namespace {

// Every block starts with this header, one cache line, so the caller's
// pointer stays 64-byte aligned and deallocate knows the block's size.
struct alignas(64) Header {
  size_t capacity;  // bytes after the header
};

struct Cache {
  std::mutex mu;
  std::multimap<size_t, Header*> free_blocks;  // by capacity
  size_t cached = 0, cap = 0;
  Stats stats;

  Cache() {
#ifdef TINCT_HOST_CACHE_OFF
    cap = 0;
#else
    cap = size_t(256) << 20;
    if (const char* e = std::getenv("TINCT_CPU_CACHE_MB")) {
      char* end = nullptr;
      const unsigned long long mb = std::strtoull(e, &end, 10);
      if (end != e && *end == '\0') cap = size_t(mb) << 20;
    }
#endif
  }
  // Frees cached blocks, largest first, until `cached` fits `limit`. Holds mu.
  void shrink_to(size_t limit) {
    while (cached > limit && !free_blocks.empty()) {
      auto last = std::prev(free_blocks.end());
      cached -= last->first;
      std::free(last->second);
      free_blocks.erase(last);
    }
  }
};

// Never destroyed: tensors freed after main() returns (statics) still find it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

Header* header_of(void* p) { return reinterpret_cast<Header*>(static_cast<char*>(p) - sizeof(Header)); }

}  // namespace

void* allocate(size_t bytes) {
  size_t capacity = ((bytes + 63) / 64) * 64;
  if (capacity == 0) capacity = 64;
  if (capacity >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    ++c.stats.allocs;
    auto it = c.free_blocks.lower_bound(capacity);
    if (it != c.free_blocks.end() && it->first / 5 * 4 <= capacity) {  // at most 25% to spare
      Header* h = it->second;
      c.cached -= it->first;
      c.free_blocks.erase(it);
      ++c.stats.cache_hits;
      return h + 1;
    }
    // Steps of 64 KiB from 1 MiB (a reuse within 25% finds them), of a page below.
    const size_t step = capacity >= (size_t(1) << 20) ? size_t(64) << 10 : size_t(4) << 10;
    capacity = (capacity + step - 1) / step * step;
  }
  void* raw = std::aligned_alloc(64, sizeof(Header) + capacity);
  if (!raw) {
    trim();  // what the cache holds may be what is missing
    raw = std::aligned_alloc(64, sizeof(Header) + capacity);
    if (!raw) throw std::bad_alloc();
  }
  Header* h = static_cast<Header*>(raw);
  h->capacity = capacity;
  return h + 1;
}

void deallocate(void* p) {
  if (!p) return;
  Header* h = header_of(p);
  if (h->capacity >= kMinCachedBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (h->capacity <= c.cap) {
      c.free_blocks.emplace(h->capacity, h);
      c.cached += h->capacity;
      c.shrink_to(c.cap);
      return;
    }
  }
  std::free(h);
}

Stats stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  Stats s = c.stats;
  s.cached_bytes = c.cached;
  return s;
}

size_t cap_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cap;
}

void set_cap_bytes(size_t cap) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.cap = cap;
  c.shrink_to(cap);
}

void trim() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.shrink_to(0);
}

}  // namespace tinct::host_cache
