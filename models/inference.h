// inference.h — colorizing a photo of any size with a trained colorizer.
//
// The model sees the photo's L channel resized (antialiased) so that its
// short side is `size` (both sides rounded to the model's multiple, 8 or 32,
// and the long side capped at 2 * size); the predicted ab is upsampled
// bilinearly back to the photo's full size and recombined with the photo's
// own full-resolution L, so the output keeps every detail of the original.
// A colour input is treated as its L channel (its colour is discarded).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "models/colorizer.h"
#include "models/data/image.h"

namespace tinct::models {

struct ColorizeOptions {
  int size = 256;  // short side the model sees
};

// RGB 8-bit in, RGB 8-bit out, same size.
data::Image colorize_image(Colorizer& model, const data::Image& photo, const ColorizeOptions& o = {});

// The width and height the model sees for a photo of width x height at
// ColorizeOptions::size `size`, for a model whose sides are multiples of m
// (Colorizer::size_multiple()): what colorize_image resizes the L to.
std::pair<int, int> model_input_size(int width, int height, int size, int m);

// The photo's lightness as a gray RGB image (what the models are given).
data::Image grayscale_of(const data::Image& photo);

// A trained colorizer from a weights file (model.safetensors or a
// checkpoint). The file's metadata says the kind and preset; `expected_kind`
// (if not empty) must match. Throws std::runtime_error naming the file and
// what is wrong (missing, not a tinct colorizer, another kind, mismatched
// tensors). The model runs on `device`.
std::unique_ptr<Colorizer> load_colorizer(const std::string& path, const std::string& expected_kind = "",
                                          Device device = Device::CPU);

// Where the weights shipped with tinct live: $TINCT_WEIGHTS if set, else
// weights/ beside the binary's source tree (compiled in), else ./weights.
std::string default_weights_path(const std::string& kind);

}  // namespace tinct::models
