// fuzz_image.cpp — libFuzzer target: image decoding through tinct's own
// checks (format sniffing, truncation, size limits, then stb_image).
// Any input must end in a decoded RGB image or an ImageError; a crash, an
// abort, a sanitizer report or a leak is a finding. Run: tools/fuzz.sh image 60
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "models/data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tinct::data::DecodeLimits limits;
  limits.max_megapixels = 4.0;  // keeps each run fast; the limit logic is what is exercised
  try {
    tinct::data::Image img = tinct::data::decode_image(data, size, limits, "<fuzz>");
    if (img.channels != 3 || img.pixels.size() != img.pixel_count() * 3) __builtin_trap();
  } catch (const tinct::data::ImageError&) {
  }
  return 0;
}
