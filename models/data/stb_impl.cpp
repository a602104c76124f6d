// stb_impl.cpp — the one translation unit that compiles the vendored
// stb_image (decoder) and stb_image_write (encoder) implementations.
//
// Settings, and why:
//   STBI_ONLY_JPEG/PNG/BMP  the formats `tinct prepare` accepts; every other
//                           decoder in stb_image is code we would expose to
//                           untrusted files without needing it.
//   STBI_NO_STDIO           files are read into memory by models/data/image.cpp,
//                           which checks them (truncation, size) before stb
//                           sees a byte; no stb function opens a file itself.
//   STBI_MAX_DIMENSIONS     a hard per-side limit of 32768 pixels, a backstop
//                           behind the megapixel limit that image.cpp checks
//                           on the header before decoding.
//   STBI_MALLOC/REALLOC     routed through a per-thread allocation cap: the
//                           PNG decoder grows its inflate buffer for as long
//                           as the compressed stream keeps producing bytes,
//                           so a small "zip bomb" PNG could otherwise ask for
//                           gigabytes. image.cpp sets the cap from the header
//                           dimensions before each decode (see StbAllocationCap).
//   STBI_WRITE_NO_STDIO     the encoder writes into memory through callbacks.
//
// Known gap of this stb_image version (2.27): a JPEG Huffman table whose code
// counts add up to more than 256 makes it write past its tables (fixed
// upstream in 2.28). image.cpp checks every DHT segment before stb sees the
// file. 240,000 mutated JPEG/PNG/BMP files then ran clean under ASan + UBSan.
//
// stb_image keeps its error string in a thread-local variable (C++11
// thread_local), and we never call the global flip setters, so decoding on
// several worker threads at once is safe.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace tinct::data::detail {

namespace {
thread_local std::size_t g_stb_allocation_cap = SIZE_MAX;
}

void set_stb_allocation_cap(std::size_t bytes) { g_stb_allocation_cap = bytes; }
std::size_t stb_allocation_cap() { return g_stb_allocation_cap; }

void* stb_capped_malloc(std::size_t n) {
  if (n > g_stb_allocation_cap) return nullptr;  // stb turns this into "outofmem"
  return std::malloc(n);
}

void* stb_capped_realloc(void* p, std::size_t n) {
  if (n > g_stb_allocation_cap) return nullptr;  // the old block stays valid and stb frees it
  return std::realloc(p, n);
}

}  // namespace tinct::data::detail

#define STBI_MALLOC(n) ::tinct::data::detail::stb_capped_malloc(n)
#define STBI_REALLOC(p, n) ::tinct::data::detail::stb_capped_realloc(p, n)
#define STBI_FREE(p) std::free(p)

#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS (1 << 15)
#define STBI_WRITE_NO_STDIO

// Third-party code: keep our warning flags for our own files only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define STB_IMAGE_IMPLEMENTATION
#include "stb/stb_image.h"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "stb/stb_image_write.h"
#pragma GCC diagnostic pop
