// inference.cpp — full-resolution colorization with a trained colorizer.
#include "models/inference.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "engine/profile.h"
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

namespace {

void check_photo(const data::Image& photo) {
  if (photo.channels != 3 || photo.width < 1 || photo.height < 1)
    throw std::invalid_argument("colorize: expected an RGB image");
}

// The model's input: L of the photo resized with antialiasing (the same
// floats as data::FastLab, which prepared the training data), scaled to
// [-1, 1], written to L (mw * mh floats).
void model_input(const data::Image& photo, int mw, int mh, float* L) {
  ProfileRange range("colorize: resize + L");
  const data::Image small = data::resize(photo, mw, mh);
  const size_t ns = small.pixel_count();
  color::srgb8_to_L_image(small.pixels.data(), ns, L);
  color::normalize_L(L, ns);
}

// Finite weights can still overflow (huge values): a NaN here would become
// a black photo written with success, so it is an error instead.
void check_finite(const Colorizer& model, const float* ab, size_t n) {
  if (const int64_t bad = first_non_finite(ab, n); bad >= 0)
    throw std::runtime_error("the " + model.options().kind + " model predicted " + std::to_string(ab[bad]) +
                             " as a colour: its weights are damaged or from a diverged run");
}

// ab [1, 2, mh, mw] back at full size, recombined with the photo's own L.
data::Image recombine(const data::Image& photo, const Tensor& ab) {
  Tensor ab_full = ops::upsample(ab, photo.height, photo.width, Upsample::Bilinear);
  const size_t n = photo.pixel_count();
  // Only the photo's L is computed and kept (FastLab's L without its a, b:
  // a full-size ab plane would be 8 bytes a pixel, 96 MB at 12 Mpx).
  std::vector<float> L(n);
  {
    ProfileRange range("colorize: full-size L");
    color::srgb8_to_L_image(photo.pixels.data(), n, L.data());
  }
  {
    // Out-of-gamut predictions lose chroma at constant L and hue, rather
    // than being clipped per channel (color::fit_chroma_to_gamut, gamut.h).
    ProfileRange range("colorize: gamut fit");
    color::fit_chroma_to_gamut(L.data(), ab_full.data(), n);
  }
  ProfileRange range("colorize: LAB -> RGB");
  data::Image out(photo.width, photo.height, 3);
  color::lab_to_srgb_image(L.data(), ab_full.data(), n, out.pixels.data());
  return out;
}

Tensor predict(Colorizer& model, const Tensor& L) {
  ProfileRange range("colorize: predict_ab");
  return model.predict_ab(L);
}

}  // namespace

data::Image colorize_image(Colorizer& model, const data::Image& photo, const ColorizeOptions& o) {
  check_photo(photo);
  const auto [mw, mh] = model_input_size(photo.width, photo.height, o.size, model.size_multiple());
  Tensor L = Tensor::empty({1, 1, mh, mw});
  model_input(photo, mw, mh, L.data());
  Tensor ab = predict(model, L);
  check_finite(model, ab.data(), size_t(ab.numel()));
  return recombine(photo, ab);
}

std::vector<Colorized> colorize_images(Colorizer& model, const std::vector<const data::Image*>& photos,
                                       const ColorizeOptions& o, int batch) {
  batch = std::max(batch, 1);
  std::vector<Colorized> out(photos.size());
  // Groups of one model input size, in input order.
  std::map<std::pair<int, int>, std::vector<size_t>> by_size;
  for (size_t i = 0; i < photos.size(); ++i) {
    try {
      check_photo(*photos[i]);
      by_size[model_input_size(photos[i]->width, photos[i]->height, o.size, model.size_multiple())].push_back(i);
    } catch (const std::exception& e) {
      out[i].error = e.what();
    }
  }
  for (const auto& [size, members] : by_size) {
    const int mw = size.first, mh = size.second;
    const size_t plane = size_t(mw) * mh;
    for (size_t g0 = 0; g0 < members.size(); g0 += size_t(batch)) {
      const size_t nb = std::min(members.size() - g0, size_t(batch));
      Tensor L = Tensor::empty({int64_t(nb), 1, mh, mw});
      for (size_t k = 0; k < nb; ++k) model_input(*photos[members[g0 + k]], mw, mh, L.data() + k * plane);
      Tensor ab;
      try {
        ab = predict(model, L);
      } catch (const std::exception& e) {
        for (size_t k = 0; k < nb; ++k) out[members[g0 + k]].error = e.what();
        continue;
      }
      for (size_t k = 0; k < nb; ++k) {
        const size_t i = members[g0 + k];
        try {
          Tensor one = Tensor::empty({1, 2, mh, mw});
          std::copy(ab.data() + k * 2 * plane, ab.data() + (k + 1) * 2 * plane, one.data());
          check_finite(model, one.data(), 2 * plane);
          out[i].image = recombine(*photos[i], one);
        } catch (const std::exception& e) {
          out[i].error = e.what();
        }
      }
    }
  }
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
