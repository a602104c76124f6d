// fuzz_pack.cpp — libFuzzer target: the pack reader (header, CRCs, index,
// names, image bounds) and the decoding of the images it holds; an input
// that starts with '{', the manifest of a sharded set (pack_set.h). Any
// input must open or throw std::runtime_error. Run: tools/fuzz.sh pack 60
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "models/data/pack.h"
#include "models/data/pack_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] == '{') {
    try {
      tinct::data::parse_set_manifest(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>");
    } catch (const std::runtime_error&) {
    }
    return 0;
  }
  try {
    auto pack = tinct::data::Pack::from_bytes(std::vector<uint8_t>(data, data + size), "<fuzz>");
    tinct::data::Image img;
    for (size_t i = 0; i < pack->size() && i < 4; ++i) {
      try {
        pack->decode(i, img);
      } catch (const std::runtime_error&) {
      }
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
