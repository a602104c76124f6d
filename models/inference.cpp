// inference.cpp — full-resolution colorization with a trained colorizer.
#include "models/inference.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/data/loader.h"

namespace tinct::models {

namespace {

// The side the model sees for an image side `side`: scaled, rounded to the
// nearest multiple of m, at least m.
int model_side(int side, double scale, int m) {
  return std::max(m, int(std::lround(side * scale / m)) * m);
}

}  // namespace

data::Image grayscale_of(const data::Image& photo) {
  const size_t n = photo.pixel_count();
  std::vector<float> L(n), ab(2 * n);
  data::FastLab().convert(photo.pixels.data(), n, L.data(), ab.data());
  std::fill(ab.begin(), ab.end(), 0.f);
  data::Image out(photo.width, photo.height, 3);
  color::lab_to_srgb_image(L.data(), ab.data(), n, out.pixels.data());
  return out;
}

std::pair<int, int> model_input_size(int width, int height, int size, int m) {
  const double scale = double(size) / double(std::min(width, height));
  int mw = model_side(width, scale, m), mh = model_side(height, scale, m);
  // Very elongated photos: cap the long side so the model's cost stays bounded.
  const int cap = std::max(m, (2 * size / m) * m);
  return {std::min(mw, cap), std::min(mh, cap)};
}

data::Image colorize_image(Colorizer& model, const data::Image& photo, const ColorizeOptions& o) {
  if (photo.channels != 3 || photo.width < 1 || photo.height < 1)
    throw std::invalid_argument("colorize: expected an RGB image");
  const auto [mw, mh] = model_input_size(photo.width, photo.height, o.size, model.size_multiple());

  // The model's input: L of the photo resized with antialiasing (the same
  // floats as data::FastLab, which prepared the training data).
  data::Image small = data::resize(photo, mw, mh);
  const size_t ns = small.pixel_count();
  std::vector<float> Ls(ns);
  color::srgb8_to_L_image(small.pixels.data(), ns, Ls.data());
  color::normalize_L(Ls.data(), ns);
  Tensor ab = model.predict_ab(Tensor::from_vector({1, 1, mh, mw}, Ls));
  // Finite weights can still overflow (huge values): a NaN here would become
  // a black photo written with success, so it is an error instead.
  if (const int64_t bad = first_non_finite(ab.data(), size_t(ab.numel())); bad >= 0)
    throw std::runtime_error("the " + model.options().kind + " model predicted " +
                             std::to_string(ab.data()[bad]) +
                             " as a colour: its weights are damaged or from a diverged run");

  // ab back at full size, recombined with the photo's own L.
  Tensor ab_full = ops::upsample(ab, photo.height, photo.width, Upsample::Bilinear);
  const size_t n = photo.pixel_count();
  // Only the photo's L is computed and kept (FastLab's L without its a, b:
  // a full-size ab plane would be 8 bytes a pixel, 96 MB at 12 Mpx).
  std::vector<float> L(n);
  color::srgb8_to_L_image(photo.pixels.data(), n, L.data());
  // Out-of-gamut predictions lose chroma at constant L and hue, rather than
  // being clipped per channel (color::fit_chroma_to_gamut, gamut.h).
  color::fit_chroma_to_gamut(L.data(), ab_full.data(), n);
  data::Image out(photo.width, photo.height, 3);
  color::lab_to_srgb_image(L.data(), ab_full.data(), n, out.pixels.data());
  return out;
}

std::unique_ptr<Colorizer> load_colorizer(const std::string& path, const std::string& expected_kind, Device device) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": no such weights file");
  Checkpoint c = load_checkpoint(path);
  auto kind = c.metadata.find("kind"), preset = c.metadata.find("preset");
  if (kind == c.metadata.end() || preset == c.metadata.end())
    throw std::runtime_error(path + ": not a tinct colorizer (its metadata has no kind/preset)");
  if (!expected_kind.empty() && kind->second != expected_kind)
    throw std::runtime_error(path + " holds a " + kind->second + " model, not " + expected_kind);
  ColorizerOptions o;
  o.kind = kind->second;
  o.preset = preset->second;
  o.device = device;
  auto model = make_colorizer(o);
  try {
    model->load_state(c.tensors, false);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  return model;
}

std::string default_weights_path(const std::string& kind) {
  const std::string file = kind + ".safetensors";
  if (const char* env = std::getenv("TINCT_WEIGHTS")) return (std::filesystem::path(env) / file).string();
#ifdef TINCT_SOURCE_DIR
  const std::filesystem::path shipped = std::filesystem::path(TINCT_SOURCE_DIR) / "weights" / file;
  if (std::filesystem::exists(shipped)) return shipped.string();
#endif
  return (std::filesystem::path("weights") / file).string();
}

}  // namespace tinct::models
