// tiny_pack.h — the small training pack of the train tests: 40 colourful
// 48x48 images, smooth hue gradients that differ per image (and per
// `variant`), written as DIR/tiny.tpk; and the short run the train tests
// start from (each sets how often it validates and checkpoints).
#pragma once

#include <filesystem>
#include <string>

#include "models/data/pack.h"
#include "models/train.h"

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

// A compact model on 32x32 crops of 4, quiet, a row of the log each step.
inline models::TrainOptions tiny_train_options(const std::string& kind, const std::string& data,
                                               const std::filesystem::path& out, int64_t steps, int eval_every,
                                               int ckpt_every) {
  models::TrainOptions o;
  o.model.kind = kind;
  o.model.preset = "compact";
  o.data = data;
  o.out = out.string();
  o.batch = 4;
  o.crop = 32;
  o.steps = steps;
  o.holdout = 6;
  o.eval_every = eval_every;
  o.ckpt_every = ckpt_every;
  o.log_every = 1;
  o.threads = 2;
  o.quiet = true;
  return o;
}

}  // namespace tinct::testing
