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
#include <vector>

#include "models/colorizer.h"
#include "models/data/image.h"

namespace tinct::models {

struct ColorizeOptions {
  int size = 256;  // short side the model sees
};

// RGB 8-bit in, RGB 8-bit out, same size.
data::Image colorize_image(Colorizer& model, const data::Image& photo, const ColorizeOptions& o = {});

// One photo's result from colorize_images: the image, or why it failed.
struct Colorized {
  data::Image image;
  std::string error;  // empty: colorized
};

// Several photos, the same bytes as colorize_image gives each: photos of one
// model input size go through the network together, up to `batch` at a time
// (in input order); the rest of the pipeline runs per photo. A photo the
// model cannot colour (not RGB; a non-finite prediction) fails alone.
std::vector<Colorized> colorize_images(Colorizer& model, const std::vector<const data::Image*>& photos,
                                       const ColorizeOptions& o = {}, int batch = 4);

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
