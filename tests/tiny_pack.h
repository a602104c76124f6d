// tiny_pack.h — the small training pack of the train tests: 40 colourful
// 48x48 images, smooth hue gradients that differ per image (and per
// `variant`), written as DIR/tiny.tpk.
#pragma once

#include <filesystem>
#include <string>

#include "models/data/pack.h"

namespace tinct::testing {

inline std::string make_tiny_pack(const std::filesystem::path& dir, int variant = 0) {
  const std::string path = (dir / "tiny.tpk").string();
  data::PackWriter w(path, 48, 48, data::PackEncoding::jpeg, 95);
  for (int i = 0; i < 40; ++i) {
    data::Image img(48, 48, 3);
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) {
        uint8_t* p = img.at(x, y);
        p[0] = uint8_t((x * 5 + i * 13 + variant * 31) % 256);
        p[1] = uint8_t((y * 4 + i * 7) % 256);
        p[2] = uint8_t(((x + y) * 3 + i * 29) % 256);
      }
    w.add_image(img, "img" + std::to_string(100 + i) + ".png", 50.f);
  }
  w.finish();
  return path;
}

}  // namespace tinct::testing
