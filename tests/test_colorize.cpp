// test_colorize.cpp — the shipped weights colorize a bundled photo end to
// end with each model: the files load, the output keeps the photo's size and
// lightness, and it has colour.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include <omp.h>

#include "doctest/doctest.h"
#include "engine/checkpoint.h"
#include "models/color/colorfulness.h"
#include "models/data/loader.h"
#include "models/inference.h"

using namespace tinct;
namespace fs = std::filesystem;

static fs::path source_dir() {
  const char* s = std::getenv("TINCT_SOURCE_DIR");  // set by ctest
  return s ? fs::path(s) : fs::current_path();
}

TEST_CASE("each shipped model colorizes a demo photo at full size, keeping its lightness") {
  const fs::path weights = source_dir() / "weights";
  data::Image photo = data::load_image((source_dir() / "demo" / "kodim23.png").string());
  data::Image gray = models::grayscale_of(photo);
  for (std::string kind : {"regression", "classification", "gan"}) {
    auto model = models::load_colorizer((weights / (kind + ".safetensors")).string(), kind);
    CHECK(model->options().preset == "compact");
    data::Image out = models::colorize_image(*model, gray);
    REQUIRE(out.width == photo.width);
    REQUIRE(out.height == photo.height);
    // Same lightness as the input (up to 8-bit rounding and gamut clipping).
    const size_t n = out.pixel_count();
    std::vector<float> L0(n), L1(n), ab0(2 * n), ab1(2 * n);
    data::FastLab lab;
    lab.convert(gray.pixels.data(), n, L0.data(), ab0.data());
    lab.convert(out.pixels.data(), n, L1.data(), ab1.data());
    double dL = 0;
    for (size_t i = 0; i < n; ++i) dL += std::fabs(L0[i] - L1[i]);
    dL /= double(n);
    const double cf = color::colorfulness(out.pixels.data(), n);
    MESSAGE(kind << ": mean |L out - L in| = " << dL << ", colorfulness " << cf << " (gray input: "
                 << color::colorfulness(gray.pixels.data(), n) << ")");
    CHECK(dL < 0.5);  // per-channel clipping of out-of-gamut colours would shift L by several units
    CHECK(cf > 5.0);
  }
}

TEST_CASE("mismatched or missing weights are refused with the file's name") {
  const fs::path weights = source_dir() / "weights";
  CHECK_THROWS_WITH_AS(models::load_colorizer((weights / "gan.safetensors").string(), "regression"),
                       doctest::Contains("holds a gan model, not regression"), std::runtime_error);
  CHECK_THROWS_WITH_AS(models::load_colorizer((weights / "nothing.safetensors").string()),
                       doctest::Contains("no such weights file"), std::runtime_error);
}

namespace {
struct TempFile {
  fs::path path = fs::temp_directory_path() / ("tinct_colorize_" + std::to_string(::getpid()) + "_" +
                                               std::to_string(rand()) + ".safetensors");
  ~TempFile() { fs::remove(path); }
};

// The shipped regression weights with `edit` applied to every tensor whose
// name contains `part`, saved as F32 to `file`.
void damaged_weights(const fs::path& file, const std::string& part, const std::function<float(float)>& edit) {
  Checkpoint c = load_checkpoint((source_dir() / "weights" / "regression.safetensors").string());
  for (auto& [name, t] : c.tensors) {
    if (name.find(part) == std::string::npos) continue;
    std::vector<float> v = t.to_vector();
    for (float& x : v) x = edit(x);
    t = Tensor::from_vector(t.shape(), v);
  }
  save_checkpoint(file.string(), c.tensors, c.metadata);
}
}  // namespace

TEST_CASE("damaged weights never colorize to a black photo: refused at load, or the colorize fails") {
  data::Image photo = data::load_image((source_dir() / "demo" / "kodim23.png").string());
  photo = data::resize(photo, 96, 64);
  TempFile f;
  SUBCASE("a NaN") {
    damaged_weights(f.path, "conv1.weight", [](float x) { return x > 0.1f ? std::nanf("") : x; });
    CHECK_THROWS_WITH_AS(models::load_colorizer(f.path.string(), "regression"), doctest::Contains("weights must be finite"),
                         std::runtime_error);
  }
  SUBCASE("an infinity") {
    damaged_weights(f.path, "bn1.bias", [](float x) { return x > 0 ? INFINITY : x; });
    CHECK_THROWS_WITH_AS(models::load_colorizer(f.path.string(), "regression"), doctest::Contains("holds inf"),
                         std::runtime_error);
  }
  SUBCASE("a negative batch-norm variance") {
    damaged_weights(f.path, "running_var", [](float x) { return -x; });
    CHECK_THROWS_WITH_AS(models::load_colorizer(f.path.string(), "regression"), doctest::Contains("negative variance"),
                         std::runtime_error);
  }
  SUBCASE("huge but finite values") {
    damaged_weights(f.path, "weight", [](float x) { return x * 1e30f; });
    auto model = models::load_colorizer(f.path.string(), "regression");
    CHECK_THROWS_WITH_AS(models::colorize_image(*model, photo), doctest::Contains("weights are damaged"),
                         std::runtime_error);
  }
}

// A folder is colorized in batches (models::colorize_images, `tinct colorize
// --batch`): each photo must come out with the bytes it gets alone, at 1 and
// 2 threads, with photos of several model input sizes mixed in one call and
// a photo that cannot be coloured failing alone.
TEST_CASE("colorize_images: batched photos get the bytes each gets alone, mixed sizes, 1 and 2 threads") {
  const fs::path weights = source_dir() / "weights";
  const data::Image full = data::load_image((source_dir() / "demo" / "kodim23.png").string());
  // Two input sizes (96x64 and 80x80 at --size 64), interleaved; one crop
  // differs from its twin so a mix-up of photos within a batch shows.
  std::vector<data::Image> photos = {data::resize(full, 96, 64), data::resize(full, 80, 80),
                                     data::crop(full, 100, 50, 96, 64), data::resize(full, 81, 79),
                                     data::crop(full, 300, 200, 96, 64)};
  data::Image not_rgb(8, 8, 1);
  models::ColorizeOptions o;
  o.size = 64;
  const int threads_before = omp_get_max_threads();
  for (std::string kind : {"regression", "classification", "gan"}) {
    auto model = models::load_colorizer((weights / (kind + ".safetensors")).string(), kind);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<data::Image> alone;
      for (auto& p : photos) alone.push_back(models::colorize_image(*model, p, o));
      for (int batch : {1, 2, 4}) {
        std::vector<const data::Image*> in;
        for (auto& p : photos) in.push_back(&p);
        in.insert(in.begin() + 2, &not_rgb);
        const std::vector<models::Colorized> got = models::colorize_images(*model, in, o, batch);
        REQUIRE(got.size() == in.size());
        CHECK(got[2].error.find("expected an RGB image") != std::string::npos);
        size_t worst_at = 0, differing = 0;
        for (size_t i = 0, k = 0; i < in.size(); ++i) {
          if (i == 2) continue;
          const data::Image& a = alone[k++];
          CHECK(got[i].error.empty());
          REQUIRE(got[i].image.pixels.size() == a.pixels.size());
          for (size_t j = 0; j < a.pixels.size(); ++j)
            if (got[i].image.pixels[j] != a.pixels[j] && differing++ == 0) worst_at = j;
        }
        INFO(kind << ", " << threads << " thread(s), batch " << batch << ": " << differing
                  << " bytes differ, the first at " << worst_at);
        CHECK(differing == 0);
      }
    }
  }
  omp_set_num_threads(threads_before);
}
