// test_host_cache.cpp — the CPU block cache (engine/host_cache.h): blocks are
// aligned and usable, a freed large block is handed out again for a request
// of its size (not for a much smaller one), small blocks are not kept, the
// cap bounds what is kept, and trim empties it. Under AddressSanitizer the
// cache is off (so use-after-free is caught) and only the plain part runs.
#include <cstdint>
#include <cstring>
#include <vector>

#include "doctest/doctest.h"
#include "engine/host_cache.h"
#include "engine/tensor.h"

using namespace tinct;

TEST_CASE("host_cache: aligned, writable blocks of any size") {
  for (size_t n : {size_t(0), size_t(1), size_t(63), size_t(4096), size_t(3) << 20}) {
    void* p = host_cache::allocate(n);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    std::memset(p, 0xab, n);
    host_cache::deallocate(p);
  }
  host_cache::deallocate(nullptr);  // a no-op
}

TEST_CASE("host_cache: freed large blocks are reused within 25%, small ones are not kept") {
  if (host_cache::cap_bytes() == 0) {
    MESSAGE("the cache is off in this build (AddressSanitizer) or by TINCT_CPU_CACHE_MB=0");
    return;
  }
  host_cache::trim();
  const size_t big = size_t(5) << 20;
  void* a = host_cache::allocate(big);
  host_cache::deallocate(a);
  CHECK(host_cache::stats().cached_bytes >= big);
  const auto hits = host_cache::stats().cache_hits;
  void* b = host_cache::allocate(big - 1000);  // the same block serves a slightly smaller request
  CHECK(b == a);
  CHECK(host_cache::stats().cache_hits == hits + 1);
  CHECK(host_cache::stats().cached_bytes == 0);
  host_cache::deallocate(b);
  void* c = host_cache::allocate(big / 2);  // half the size: a new block, the 5 MiB one stays cached
  CHECK(c != a);
  CHECK(host_cache::stats().cached_bytes >= big);
  host_cache::deallocate(c);

  const size_t before = host_cache::stats().cached_bytes;
  host_cache::deallocate(host_cache::allocate(4096));  // small: freed, not kept
  CHECK(host_cache::stats().cached_bytes == before);

  // The cap: what does not fit is freed, largest first.
  const size_t cap = host_cache::cap_bytes();
  host_cache::set_cap_bytes(size_t(4) << 20);
  CHECK(host_cache::stats().cached_bytes <= (size_t(4) << 20));
  void* d = host_cache::allocate(size_t(6) << 20);
  host_cache::deallocate(d);  // larger than the cap: not kept
  CHECK(host_cache::stats().cached_bytes <= (size_t(4) << 20));
  host_cache::set_cap_bytes(cap);
  host_cache::trim();
  CHECK(host_cache::stats().cached_bytes == 0);
}

TEST_CASE("CPU tensors go through the cache: a freed activation's block serves the next one") {
  if (host_cache::cap_bytes() == 0) return;
  host_cache::trim();
  const auto hits = host_cache::stats().cache_hits;
  { Tensor t = Tensor::zeros({1, 16, 256, 256}); }  // 4 MiB, freed at the end of the scope
  Tensor u = Tensor::full({1, 16, 256, 256}, 2.0f);
  CHECK(host_cache::stats().cache_hits == hits + 1);
  const std::vector<float> v = u.to_vector();
  CHECK(v.front() == 2.0f);
  CHECK(v.back() == 2.0f);
}
