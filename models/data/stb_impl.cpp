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
//                           behind the limits that image.cpp checks on the
//                           header before stb sees the file.
//   STBI_MALLOC/REALLOC/FREE  routed through the decode scope of stb_impl.h:
//                           a per-thread cap on each allocation (the PNG
//                           decoder grows its inflate buffer for as long as
//                           the compressed stream keeps producing bytes, so a
//                           small "zip bomb" PNG could otherwise ask for
//                           gigabytes; image.cpp sets the cap from the header
//                           dimensions), and a record of the blocks stb holds,
//                           freed when the scope ends (see STBI_ASSERT).
//   STBI_ASSERT             throws StbCheckFailed instead of calling assert():
//                           stb's asserts are consistency checks that a
//                           malformed file can trip (a fuzzed progressive JPEG
//                           reaches the one in stbi__jpeg_huff_decode), so
//                           they must neither abort a build without NDEBUG nor
//                           vanish in a release build and let the decoder go
//                           on from a state it assumed impossible. This file is
//                           C++, so the exception unwinds through stb's C code;
//                           stb has no destructors, the blocks it held are the
//                           only thing left behind, and the scope frees them.
//   STBI_WRITE_NO_STDIO     the encoder writes into memory through callbacks.
//
// Known gaps of this stb_image version (2.27), both fixed upstream in 2.28:
// a JPEG Huffman table whose code counts add up to more than 256 makes it
// write past its tables (image.cpp checks every DHT segment before stb sees
// the file), and a malformed Huffman table can give a symbol index outside
// the table in stbi__jpeg_huff_decode (patched locally: third_party/stb/PATCHES.md).
//
// stb_image keeps its error string in a thread-local variable (C++11
// thread_local), and we never call the global flip setters, so decoding on
// several worker threads at once is safe.
#include "models/data/stb_impl.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <zlib.h>

namespace tinct::data::detail {

namespace {

struct Tracker {
  bool active = false;
  std::size_t cap = SIZE_MAX;
  std::vector<void*> live;  // the blocks stb holds; a handful per decode
  std::size_t reclaimed = 0;
};
thread_local Tracker g_tracker;

void remember(Tracker& t, void* p) {
  try {
    t.live.push_back(p);
  } catch (...) {
    std::free(p);
    throw;
  }
}

// Index of p in t.live, or t.live.size().
std::size_t find_live(const Tracker& t, const void* p) {
  for (std::size_t i = t.live.size(); i-- > 0;)
    if (t.live[i] == p) return i;
  return t.live.size();
}

}  // namespace

StbDecodeScope::StbDecodeScope(std::size_t cap) {
  Tracker& t = g_tracker;
  if (t.active) throw std::logic_error("StbDecodeScope: one decode at a time per thread");
  t.live.reserve(64);
  t.cap = cap;
  t.active = true;
}

StbDecodeScope::~StbDecodeScope() {
  Tracker& t = g_tracker;
  for (void* p : t.live) std::free(p);
  t.reclaimed += t.live.size();
  t.live.clear();
  t.cap = SIZE_MAX;
  t.active = false;
}

std::size_t stb_blocks_reclaimed() { return g_tracker.reclaimed; }

void* stb_malloc(std::size_t n) {
  Tracker& t = g_tracker;
  if (!t.active) return std::malloc(n);
  if (n > t.cap) return nullptr;  // stb turns this into "outofmem"
  void* p = std::malloc(n);
  if (p) remember(t, p);
  return p;
}

void* stb_realloc(void* p, std::size_t n) {
  Tracker& t = g_tracker;
  if (!t.active) return std::realloc(p, n);
  if (n > t.cap) return nullptr;  // the old block stays valid (and recorded); stb frees it
  void* q = std::realloc(p, n);
  if (!q) return nullptr;
  const std::size_t i = p ? find_live(t, p) : t.live.size();
  if (i < t.live.size())
    t.live[i] = q;
  else
    remember(t, q);
  return q;
}

void stb_free(void* p) {
  Tracker& t = g_tracker;
  if (p && t.active) {
    const std::size_t i = find_live(t, p);
    if (i < t.live.size()) {
      t.live[i] = t.live.back();
      t.live.pop_back();
    }
  }
  std::free(p);
}

unsigned char* zlib_compress(unsigned char* data, int len, int* out_len, int /*stb's quality*/) {
  uLongf n = compressBound(uLong(len));
  auto* out = static_cast<unsigned char*>(std::malloc(n));  // stb frees it with free()
  if (!out) return nullptr;
  if (compress2(out, &n, data, uLong(len), Z_BEST_SPEED) != Z_OK) {
    std::free(out);
    return nullptr;  // stb reports the encode as failed
  }
  *out_len = int(n);
  return out;
}

[[noreturn]] void stb_check_failed(const char* expr, int line) {
  throw StbCheckFailed("stb_image's internal check " + std::string(expr) + " failed (stb_image.h line " +
                       std::to_string(line) + ")");
}

}  // namespace tinct::data::detail

#define STBI_MALLOC(n) ::tinct::data::detail::stb_malloc(n)
#define STBI_REALLOC(p, n) ::tinct::data::detail::stb_realloc(p, n)
#define STBI_FREE(p) ::tinct::data::detail::stb_free(p)
#define STBI_ASSERT(x) ((x) ? (void)0 : ::tinct::data::detail::stb_check_failed(#x, __LINE__))

#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS (::tinct::data::detail::kMaxSide)
#define STBI_WRITE_NO_STDIO
// PNG's deflate by zlib at its fastest level instead of stb's own: on a
// 512x512 colorized photo 20 ms instead of 57 and 381 KB instead of 503
// (`tinct colorize` spent more time encoding than in the regression network).
#define STBIW_ZLIB_COMPRESS ::tinct::data::detail::zlib_compress

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
