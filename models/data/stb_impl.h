// stb_impl.h — what image.cpp needs from stb_impl.cpp, the translation unit
// that compiles the vendored stb_image: a scope around each decode, and the
// exception that stb_image's internal checks (STBI_ASSERT) throw.
#pragma once

#include <cstddef>
#include <stdexcept>

namespace tinct::data::detail {

// The longest side stb_image decodes (STBI_MAX_DIMENSIONS), a backstop
// behind DecodeLimits::max_megapixels.
inline constexpr int kMaxSide = 1 << 15;

// Thrown where stb_image would assert(): its decoder reached a state that
// only a malformed file produces. image.cpp turns it into ImageError (corrupt).
class StbCheckFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One decode on this thread, from construction to destruction. While it
// lives, every block stb_image allocates is capped at `cap` bytes (stb turns
// a refused block into "outofmem") and recorded; whatever stb still holds
// when the scope ends is freed, so a decode that throws out of stb (a
// StbCheckFailed) leaks nothing. Everything stb returned (the pixel buffer)
// must be freed with stbi_image_free before the scope ends. Scopes do not
// nest: one decode at a time per thread.
class StbDecodeScope {
 public:
  explicit StbDecodeScope(std::size_t cap);
  ~StbDecodeScope();
  StbDecodeScope(const StbDecodeScope&) = delete;
  StbDecodeScope& operator=(const StbDecodeScope&) = delete;
};

// How many blocks the scopes of this thread have freed on stb's behalf (blocks
// stb still held when its decode ended): for tests. A decode that fails
// through stb's own error paths frees its blocks itself and adds nothing.
std::size_t stb_blocks_reclaimed();

// stb_image_write's deflate (STBIW_ZLIB_COMPRESS): zlib's compress2 at
// Z_BEST_SPEED, into a malloc'd block; nullptr on failure.
unsigned char* zlib_compress(unsigned char* data, int len, int* out_len, int quality);

}  // namespace tinct::data::detail
