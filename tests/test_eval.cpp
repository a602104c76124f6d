// test_eval.cpp — `tinct eval` (models/eval/report.h, human.h): the report end
// to end on a folder of small synthetic photos with untrained colorizers whose
// weights the test writes, bad files, a training set and its held-out photos,
// the human real-vs-fake page, and the Wilson interval against values
// computed by hand.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/checkpoint.h"
#include "engine/json.h"
#include "models/color/gamut.h"
#include "models/colorizer.h"
#include "models/data/image.h"
#include "models/data/pack.h"
#include "models/eval/human.h"
#include "models/eval/metrics.h"
#include "models/eval/report.h"
#include "test_support.h"

using namespace tinct;
using namespace tinct::eval;
namespace fs = std::filesystem;

namespace {

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("eval") {}
};

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream s(text);
  for (std::string line; std::getline(s, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> split_csv_simple(const std::string& line) {  // no quoted fields in our test data
  std::vector<std::string> out;
  std::istringstream s(line);
  for (std::string f; std::getline(s, f, ',');) out.push_back(f);
  return out;
}

// A colourful w x h photo: two gradients and a patch, different per seed.
data::Image synthetic_photo(int w, int h, int seed) {
  data::Image img(w, h, 3);
  img.source_channels = 3;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = img.at(x, y);
      p[0] = std::uint8_t((40 + 180 * x / (w - 1) + 37 * seed) % 256);
      p[1] = std::uint8_t((220 - 150 * y / (h - 1) + 53 * seed) % 256);
      p[2] = std::uint8_t((x > w / 2 && y > h / 2) ? 30 + 20 * seed : 180);
    }
  return img;
}

// Untrained compact weights of `kind` in dir/<kind>.safetensors, as
// `tinct train` would write them (weights and metadata, no optimizer).
void write_weights(const fs::path& dir, const std::string& kind, std::uint64_t seed,
                   const std::vector<float>* prior_weights = nullptr) {
  fs::create_directories(dir);
  auto model = models::make_colorizer({kind, "compact", seed});
  auto state = model->state(false);
  if (prior_weights) state["prior.weights"] = Tensor::from_vector({int64_t(prior_weights->size())}, *prior_weights);
  save_checkpoint((dir / (kind + ".safetensors")).string(), state, model->metadata());
}

// The data folder: three photos (one in a subfolder) and, optionally, bad files.
void write_photos(const fs::path& dir) {
  fs::create_directories(dir / "sub");
  data::save_png((dir / "a.png").string(), synthetic_photo(48, 40, 1));
  data::save_png((dir / "b.png").string(), synthetic_photo(40, 48, 2));
  data::save_png((dir / "sub" / "c.png").string(), synthetic_photo(56, 40, 3));
  std::ofstream(dir / "notes.txt") << "not an image, not listed";
}

// The JSON embedded in a human-test page.
json::Value page_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"tinct-data\">";
  const std::size_t a = html.find(open);
  REQUIRE(a != std::string::npos);
  const std::size_t b = html.find("</script>", a);
  REQUIRE(b != std::string::npos);
  return json::parse(html.substr(a + open.size(), b - a - open.size()));
}

// Evaluation of the photos in `data` with the weights in `w`, at 32 pixels.
EvalOptions options_for(const fs::path& data, const fs::path& w, const fs::path& out,
                        std::vector<std::string> models = {}) {
  EvalOptions o;
  o.data = data.string();
  o.models = std::move(models);
  o.weights_dir = w.string();
  o.out = out.string();
  o.size = 32;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------

TEST_CASE("the Wilson interval matches values computed by hand") {
  // 5/10: p = 0.5, z^2/n = 0.38415, centre 0.5, half = 1.41600 * sqrt(0.025 + 0.0096037) = 0.26341.
  Interval i = wilson_interval(5, 10);
  CHECK(i.lo == doctest::Approx(0.2366).epsilon(1e-4));
  CHECK(i.hi == doctest::Approx(0.7634).epsilon(1e-4));
  // 0/10: centre = (z^2 / 2n) / (1 + z^2 / n) = 0.19207 / 1.38415 = 0.13877, and the
  // half-width equals it (p = 0): [0, 0.2775].
  i = wilson_interval(0, 10);
  CHECK(i.lo == 0.0);
  CHECK(i.hi == doctest::Approx(0.2775).epsilon(1e-3));
  i = wilson_interval(10, 10);
  CHECK(i.lo == doctest::Approx(0.7225).epsilon(1e-3));
  CHECK(i.hi == 1.0);
  // 1/4: p = 0.25, z^2/n = 0.96037, centre (0.25 + 0.48018) / 1.96037 = 0.37246,
  // half = 0.99979 * sqrt(0.046875 + 0.060023) = 0.32682.
  i = wilson_interval(1, 4);
  CHECK(i.lo == doctest::Approx(0.0456).epsilon(1e-3));
  CHECK(i.hi == doctest::Approx(0.6993).epsilon(1e-3));
  // 36/72 (three participants on Kodak24, one model): centre 0.5, z^2/n = 0.053354,
  // half = 1.86069 * sqrt(0.0034722 + 0.0001853) = 0.11253: narrower, symmetric.
  i = wilson_interval(36, 72);
  CHECK(i.lo == doctest::Approx(0.3875).epsilon(1e-3));
  CHECK(i.hi == doctest::Approx(0.6125).epsilon(1e-3));
  i = wilson_interval(0, 0);
  CHECK(i.lo == 0.0);
  CHECK(i.hi == 1.0);
  CHECK_THROWS_AS(wilson_interval(3, 2), std::invalid_argument);
}

TEST_CASE("base64 follows RFC 4648") {
  auto b64 = [](const std::string& s) { return base64(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); };
  CHECK(b64("") == "");
  CHECK(b64("M") == "TQ==");
  CHECK(b64("Ma") == "TWE=");
  CHECK(b64("Man") == "TWFu");
  CHECK(b64("foobar") == "Zm9vYmFy");
  const std::uint8_t bytes[] = {0xfb, 0xff, 0x00};
  CHECK(base64(bytes, 3) == "+/8A");
}

TEST_CASE("listing images and resolving models") {
  TempDir t;
  write_photos(t.path / "data");
  const auto entries = list_images((t.path / "data").string());
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].name == "a.png");
  CHECK(entries[0].set == "");
  CHECK(entries[2].name == "sub/c.png");
  CHECK(entries[2].set == "sub");
  CHECK(output_stem("sub/c.png") == "sub_c");
  CHECK_THROWS_AS(list_images((t.path / "nowhere").string()), std::invalid_argument);

  const fs::path w = t.path / "weights";
  fs::create_directories(w);
  // Nothing there: `all` finds nothing, a named model is a clear error.
  CHECK_THROWS_WITH_AS(resolve_models({"all"}, w.string()), doctest::Contains("no weights found"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(resolve_models({"gan"}, w.string()), doctest::Contains("gan.safetensors"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(resolve_models({"resnet"}, w.string()), doctest::Contains("unknown model"),
                       std::invalid_argument);
  write_weights(w, "gan", 3);
  auto specs = resolve_models({"all"}, w.string());
  REQUIRE(specs.size() == 1);
  CHECK(specs[0].kind == "gan");
  CHECK_THROWS_AS(resolve_models({"regression,gan"}, w.string()), std::invalid_argument);
  specs = resolve_models({"GAN"}, w.string());
  CHECK(specs.size() == 1);

  // --untrained: every kind asked for, no file needed, fresh compact models.
  specs = resolve_models({"all"}, (t.path / "nowhere").string(), true);
  REQUIRE(specs.size() == 3);
  for (const ModelSpec& s : specs) CHECK(s.weights.empty());
  auto model = load_model(specs[1]);
  CHECK(model->options().kind == "classification");
  CHECK(model->options().preset == "compact");
  CHECK(load_model(specs[2])->options().kind == "gan");
  CHECK(load_model({"gan", (w / "gan.safetensors").string()})->options().kind == "gan");
  CHECK_THROWS(load_model({"regression", (w / "gan.safetensors").string()}));  // the file holds another kind
}

TEST_CASE("the report end to end: three photos, three models, the gray baseline") {
  TempDir t;
  const fs::path data = t.path / "data", w = t.path / "weights", out = t.path / "out";
  write_photos(data);
  write_weights(w, "regression", 1);
  write_weights(w, "classification", 2);
  write_weights(w, "gan", 3);

  EvalOptions o = options_for(data, w, out, {"all"});
  const EvalResult r = run_evaluation(o);

  CHECK(r.images_listed == 3);
  CHECK(r.images_evaluated == 3);
  CHECK(r.skipped.empty());
  CHECK(r.failures.empty());
  CHECK(r.exit_code() == 0);
  CHECK(r.models == std::vector<std::string>{"regression", "classification", "gan", "gray"});
  CHECK(r.rows.size() == 3 * 4);
  // An untrained model stores a uniform prior: the report must say so.
  CHECK(r.prior.uniform);

  for (const char* f : {"report.md", "metrics.csv", "summary.csv", "curves.csv", "error_curves.svg", "plausibility.svg"})
    CHECK_MESSAGE(fs::exists(out / f), f);
  // Small set: every output saved.
  CHECK(r.saved_images);
  for (const char* stem : {"a", "b", "sub_c"})
    for (const char* m : {"regression", "classification", "gan", "gray"})
      CHECK_MESSAGE(fs::exists(out / "images" / (std::string(stem) + "_" + m + ".png")), stem, " ", m);

  // metrics.csv: a header and images x (models + gray) rows.
  const auto csv = lines_of(read_text(out / "metrics.csv"));
  REQUIRE(csv.size() == 1 + 3 * 4);
  const auto header = split_csv_simple(csv[0]);
  REQUIRE(header.size() >= 5);
  CHECK(header[0] == "model");
  CHECK(header[1] == "image");
  CHECK(header[4] == "auc");

  // The gray rows' raw AuC is what metrics.h computes on the photo directly.
  int gray_rows = 0;
  for (std::size_t i = 1; i < csv.size(); ++i) {
    const auto f = split_csv_simple(csv[i]);
    if (f[0] != "gray") continue;
    ++gray_rows;
    const data::Image truth = data::load_image((data / f[1]).string());
    const auto gray = gray_baseline(truth.pixels.data(), truth.pixel_count());
    const ImageMetrics m = evaluate_image(truth.pixels.data(), gray.data(), truth.width, truth.height);
    CHECK(std::stod(f[4]) == doctest::Approx(m.auc).epsilon(1e-5));
    bool found = false;
    for (const ImageMetrics& row : r.rows)
      if (row.model == "gray" && row.image == f[1]) {
        found = true;
        CHECK(row.auc == m.auc);  // bit for bit in memory
        CHECK(row.auc_rebalanced == doctest::Approx(m.auc));  // uniform prior: rebalanced = raw
      }
    CHECK(found);
  }
  CHECK(gray_rows == 3);

  // summary.csv: the whole set and the two places images came from.
  const auto summary = lines_of(read_text(out / "summary.csv"));
  CHECK(summary[0].rfind("set,model,", 0) == 0);
  CHECK(summary.size() == 1 + 4 * 3);

  const std::string report = read_text(out / "report.md");
  for (const char* m : {"regression", "classification", "gan", "gray"}) CHECK_MESSAGE(report.find(m) != std::string::npos, m);
  CHECK(report.find("Raw AuC") != std::string::npos);
  CHECK(report.find("The expected picture") != std::string::npos);
  CHECK(report.find("error_curves.svg") != std::string::npos);
  // The plausibility section: a row per model, the lattice count out of the 3 images.
  CHECK(report.find("## Plausibility") != std::string::npos);
  CHECK(report.find("Mean-colour error") != std::string::npos);
  CHECK(report.find(" of 3 ") != std::string::npos);
  CHECK(report.find("plausibility.svg") != std::string::npos);
  for (const ImageMetrics& row : r.rows) {
    CHECK(std::isfinite(row.mean_color_error));
    CHECK(std::isfinite(row.lattice_score));        // every row measured, on its model's grid
    CHECK(std::isfinite(row.lattice_score_truth));  // and the truth's control
  }
  const std::string psvg = read_text(out / "plausibility.svg");
  CHECK(psvg.rfind("<svg", 0) == 0);
  CHECK(psvg.find("lattice score") != std::string::npos);
  CHECK(psvg.find("flag threshold") != std::string::npos);
  CHECK(report.find("is uniform") != std::string::npos);
  CHECK(report.find("## sub") != std::string::npos);  // a table per set
  CHECK(report.find("(top level)") != std::string::npos);

  const std::string svg = read_text(out / "error_curves.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("raw accuracy") != std::string::npos);
  CHECK(svg.find("class-rebalanced accuracy") != std::string::npos);
  CHECK(svg.find("stroke-dasharray") != std::string::npos);  // gray dashed

  // A second run does not overwrite the report unless asked to.
  CHECK_THROWS_WITH_AS(run_evaluation(o), doctest::Contains("--overwrite"), std::invalid_argument);
  o.overwrite = true;
  o.models = {"gan"};
  o.save_images = 0;
  const EvalResult r2 = run_evaluation(o);
  CHECK(r2.rows.size() == 3 * 2);
  CHECK_FALSE(r2.saved_images);
}

TEST_CASE("a corrupt or unusable file is reported and skipped, the rest go on") {
  TempDir t;
  const fs::path data = t.path / "data", w = t.path / "weights", out = t.path / "out";
  write_photos(data);
  std::ofstream(data / "broken.png", std::ios::binary) << "\x89PNG\r\n\x1a\n this is not a PNG";
  std::ofstream(data / "empty.jpg", std::ios::binary);
  data::save_png((data / "tiny.png").string(), synthetic_photo(8, 8, 4));  // below SSIM's window
  write_weights(w, "regression", 1);

  EvalOptions o = options_for(data, w, out, {"regression"});
  const EvalResult r = run_evaluation(o);
  CHECK(r.images_listed == 6);
  CHECK(r.images_evaluated == 3);
  CHECK(r.rows.size() == 3 * 2);
  REQUIRE(r.skipped.size() == 3);
  std::set<std::string> skipped;
  for (const auto& s : r.skipped) skipped.insert(s.name);
  CHECK(skipped == std::set<std::string>{"broken.png", "empty.jpg", "tiny.png"});
  CHECK(r.exit_code() == 0);
  // No classification weights: the rebalanced AuC is the raw one, and the report says why.
  CHECK(r.prior.uniform);
  CHECK(r.prior.source.empty());
  const std::string report = read_text(out / "report.md");
  CHECK(report.find("Skipped files") != std::string::npos);
  CHECK(report.find("broken.png") != std::string::npos);
  CHECK(report.find("empty.jpg") != std::string::npos);
  CHECK(report.find("No classification weights") != std::string::npos);

  // Nothing usable at all: a report that says so, and a failing exit code.
  const fs::path bad = t.path / "bad";
  fs::create_directories(bad);
  std::ofstream(bad / "x.jpg", std::ios::binary) << "garbage";
  o.data = bad.string();
  o.out = (t.path / "out2").string();
  const EvalResult r2 = run_evaluation(o);
  CHECK(r2.images_evaluated == 0);
  CHECK(r2.exit_code() == 1);
  CHECK(fs::exists(t.path / "out2" / "report.md"));
}

TEST_CASE("a training set as data: all its images, or the ones tinct train --holdout N validates on") {
  TempDir t;
  const fs::path w = t.path / "weights";
  write_weights(w, "regression", 1);
  // 12 photos in two source folders under one (as `tinct prepare shots/`
  // names them), stored raw so that the truth is exact.
  const std::string pack = (t.path / "set.tpk").string();
  std::vector<std::string> names;
  {
    data::PackWriter pw(pack, 48, 48, data::PackEncoding::raw, 0);
    for (int i = 0; i < 12; ++i) {
      names.push_back(std::string(i < 7 ? "shots/beach" : "shots/city") + "/p" + std::to_string(i) + ".jpg");
      pw.add_image(synthetic_photo(48, 48, i), names.back(), 40.f);
    }
    pw.finish();
  }
  CHECK(is_training_set(pack));
  CHECK(is_training_set(pack + "," + pack));
  write_photos(t.path / "photos");
  CHECK_FALSE(is_training_set((t.path / "photos").string()));
  CHECK_FALSE(is_training_set((t.path / "photos" / "a.png").string()));
  CHECK_FALSE(is_training_set((t.path / "nowhere.tpk").string()));

  const auto all = list_images(pack);
  REQUIRE(all.size() == 12);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].name == names[i]);
    CHECK(all[i].set == (i < 7 ? "beach" : "city"));  // the sources, below the folder all share
    CHECK(all[i].path.empty());
  }
  // The held-out ones: the 4 smallest FNV-1a hashes of the names (loader.h's
  // split, restated here), listed in the set's order.
  std::vector<std::pair<std::uint64_t, std::string>> by_hash;
  for (const std::string& n : names) by_hash.push_back({data::fnv1a64(n), n});
  std::sort(by_hash.begin(), by_hash.end());
  std::set<std::string> expected;
  for (int i = 0; i < 4; ++i) expected.insert(by_hash[std::size_t(i)].second);
  const auto held = list_images(pack, 4);
  REQUIRE(held.size() == 4);
  std::set<std::string> got;
  for (const ImageEntry& e : held) got.insert(e.name);
  CHECK(got == expected);
  for (std::size_t i = 1; i < held.size(); ++i) CHECK(held[i - 1].index < held[i].index);

  CHECK_THROWS_WITH_AS(list_images(pack, 13), doctest::Contains("holds 12 images"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(list_images((t.path / "photos").string(), 4), doctest::Contains("training set"),
                       std::invalid_argument);

  // The report on the held-out 4: the truth is the stored photo.
  EvalOptions o = options_for(pack, w, t.path / "out", {"regression"});
  o.holdout = 4;
  const EvalResult r = run_evaluation(o);
  CHECK(r.images_listed == 4);
  CHECK(r.images_evaluated == 4);
  CHECK(r.exit_code() == 0);
  int gray_rows = 0;
  for (const ImageMetrics& row : r.rows) {
    CHECK(expected.count(row.image) == 1);
    if (row.model != "gray") continue;
    ++gray_rows;
    const int seed = std::stoi(row.image.substr(row.image.find("/p") + 2));
    const data::Image truth = synthetic_photo(48, 48, seed);
    const auto gray = gray_baseline(truth.pixels.data(), truth.pixel_count());
    CHECK(row.auc == doctest::Approx(evaluate_image(truth.pixels.data(), gray.data(), 48, 48).auc).epsilon(1e-9));
  }
  CHECK(gray_rows == 4);
  const std::string report = read_text(t.path / "out" / "report.md");
  CHECK(report.find("tinct train --holdout 4") != std::string::npos);

  // A damaged image inside the set is skipped and named; the others go on.
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(64 + 100);  // inside the first image's bytes
    f.put('\x5a');
  }
  o.holdout = -1;
  o.out = (t.path / "out_all").string();
  const EvalResult r2 = run_evaluation(o);
  CHECK(r2.images_listed == 12);
  CHECK(r2.images_evaluated == 11);
  REQUIRE(r2.skipped.size() == 1);
  CHECK(r2.skipped[0].name == names[0]);

  // From the command line: a folder with --holdout is refused with exit 2.
  const testing::Run bad = testing::run_tinct("eval --data " + testing::shell_quote((t.path / "photos").string()) +
                                              " --holdout 4 --untrained -o " +
                                              testing::shell_quote((t.path / "out_cli").string()));
  CHECK_MESSAGE(bad.code == 2, bad.output);
  CHECK(bad.output.find("training set") != std::string::npos);
  const testing::Run ok = testing::run_tinct("eval --data " + testing::shell_quote(pack) +
                                             " --holdout 4 --untrained --model regression --size 32 -o " +
                                             testing::shell_quote((t.path / "out_cli2").string()));
  CHECK_MESSAGE(ok.code == 0, ok.output);
  CHECK(ok.output.find("4 of 4 images evaluated") != std::string::npos);
}

TEST_CASE("the rebalanced AuC uses the classification checkpoint's prior") {
  TempDir t;
  const fs::path data = t.path / "data", w = t.path / "weights", out = t.path / "out";
  write_photos(data);
  // A non-uniform prior: rare (saturated) bins weigh more, as after training.
  const color::AbGamut& gamut = color::AbGamut::standard();
  std::vector<float> weights(std::size_t(gamut.size()));
  for (int q = 0; q < gamut.size(); ++q) {
    const auto& c = gamut.centre(q);
    weights[std::size_t(q)] = 0.2f + std::sqrt(c.a * c.a + c.b * c.b) / 40.0f;
  }
  write_weights(w, "classification", 2, &weights);
  write_weights(w, "regression", 1);

  RebalancePriorInfo prior = load_rebalance_prior((w / "classification.safetensors").string());
  CHECK_FALSE(prior.uniform);
  REQUIRE(prior.weight_of);
  CHECK(prior.weight_of(0.f, 0.f) == doctest::Approx(weights[std::size_t(gamut.nearest(0.f, 0.f))]));

  // Evaluating only the regression model still uses the classification prior.
  EvalOptions o = options_for(data, w, out, {"regression"});
  const EvalResult r = run_evaluation(o);
  CHECK_FALSE(r.prior.uniform);
  for (const ImageMetrics& row : r.rows) {
    if (row.model != "gray") continue;
    const data::Image truth = data::load_image((data / row.image).string());
    const auto gray = gray_baseline(truth.pixels.data(), truth.pixel_count());
    const ImageMetrics m = evaluate_image(truth.pixels.data(), gray.data(), truth.width, truth.height,
                                          nearest_bin_weights(gamut, weights));
    CHECK(row.auc_rebalanced == doctest::Approx(m.auc_rebalanced));
    CHECK(row.auc_rebalanced != doctest::Approx(row.auc));  // gray misses the saturated colours more
  }
  CHECK(read_text(out / "report.md").find("training-set prior") != std::string::npos);
}

TEST_CASE("--rebalance-prior: the rebalanced AuC's prior from a pack's prior file, whatever the weights hold") {
  TempDir t;
  const fs::path data = t.path / "data", w = t.path / "weights", out = t.path / "out";
  write_photos(data);
  write_weights(w, "regression", 1);
  // A pack's prior as tinct prepare writes it: "weights" (and p), 313 bins.
  const color::AbGamut& gamut = color::AbGamut::named(color::kGamutZhang313);
  std::vector<float> weights(std::size_t(gamut.size()));
  for (int q = 0; q < gamut.size(); ++q) weights[std::size_t(q)] = 0.5f + float(q % 7) / 3.0f;
  const fs::path prior_file = t.path / "pack.tpk.prior.safetensors";
  save_checkpoint(prior_file.string(), {{"weights", Tensor::from_vector({int64_t(weights.size())}, weights)}}, {});

  EvalOptions o = options_for(data, w, out, {"regression"});
  o.rebalance_prior = prior_file.string();
  const EvalResult r = run_evaluation(o);
  CHECK(r.prior.source == prior_file.string());
  CHECK_FALSE(r.prior.uniform);
  for (const ImageMetrics& row : r.rows) {
    if (row.model != "gray") continue;
    const data::Image truth = data::load_image((data / row.image).string());
    const auto gray = gray_baseline(truth.pixels.data(), truth.pixel_count());
    const ImageMetrics m = evaluate_image(truth.pixels.data(), gray.data(), truth.width, truth.height,
                                          nearest_bin_weights(gamut, weights));
    CHECK(row.auc_rebalanced == doctest::Approx(m.auc_rebalanced));
  }
  // A named prior that is missing or unusable is an error, not a silent weight 1.
  o.out = (t.path / "out2").string();
  o.rebalance_prior = (t.path / "missing.safetensors").string();
  CHECK_THROWS_AS(run_evaluation(o), std::invalid_argument);
  o.rebalance_prior = (w / "regression.safetensors").string();  // no prior in it
  CHECK_THROWS_AS(run_evaluation(o), std::invalid_argument);
}

TEST_CASE("best per column and the expected picture are computed from the numbers") {
  auto set = [](const std::string& model, double auc, double rb, double psnr, double cf) {
    SetSummary s;
    s.model = model;
    s.images = 24;
    s.auc_pooled = auc;
    s.auc_rebalanced_pooled = rb;
    s.mean_psnr = psnr;
    s.mean_ssim = 0.9;
    s.mean_colorfulness = cf;
    s.mean_colorfulness_truth = 30.0;
    s.colorfulness_ratio = cf / 30.0;
    s.mean_chroma = cf / 2;
    s.mean_chroma_truth = 15.0;
    return s;
  };
  // Zhang et al.'s picture.
  std::vector<SetSummary> sets = {set("regression", 0.91, 0.60, 24.0, 15.0), set("classification", 0.89, 0.67, 22.0, 27.0),
                                  set("gan", 0.90, 0.63, 23.0, 20.0), set("gray", 0.89, 0.55, 23.5, 0.0)};
  CHECK(best_on(sets, "auc") == 0);
  CHECK(best_on(sets, "auc_rebalanced") == 1);
  CHECK(best_on(sets, "psnr") == 0);
  CHECK(best_on(sets, "colorfulness") == 1);  // 27 is closest to the truth's 30
  CHECK_THROWS_AS(best_on(sets, "speed"), std::invalid_argument);
  std::string text = expected_picture(sets);
  CHECK(text.find("the expected picture holds") != std::string::npos);
  CHECK(text.find("does not hold") == std::string::npos);

  // A classification model that is not above gray on rebalanced AuC, and
  // regression beaten on PSNR: the paragraph says which claims fail.
  sets[1].auc_rebalanced_pooled = 0.50;
  sets[2].mean_psnr = 25.0;
  text = expected_picture(sets);
  CHECK(text.find("the expected picture does not hold") != std::string::npos);
  CHECK(text.find("**does not hold**: regression is the best of the colorizers on PSNR") != std::string::npos);
  CHECK(text.find("**does not hold**: every colorizer is above gray") != std::string::npos);

  // Only one model: the comparisons cannot be checked, the gray one can.
  std::vector<SetSummary> one = {set("gan", 0.9, 0.6, 23.0, 20.0), set("gray", 0.89, 0.55, 23.5, 0.0)};
  text = expected_picture(one);
  CHECK(text.find("not checked") != std::string::npos);
  CHECK(text.find("as far as it can be checked") != std::string::npos);
}

TEST_CASE("the human page: one pair per (photo, model), self-contained, seeded") {
  std::vector<HumanTestImage> images;
  for (int i = 0; i < 3; ++i) {
    HumanTestImage im;
    im.name = "photo" + std::to_string(i) + (i == 2 ? "</script><!--.png" : ".png");  // hostile name
    im.real = synthetic_photo(40, 32, i);
    for (const char* m : {"regression", "classification", "gan"}) im.fakes.emplace_back(m, synthetic_photo(40, 32, i + 5));
    images.push_back(std::move(im));
  }
  HumanPageOptions po;
  po.seed = 7;
  const std::string html = human_test_html(images, po);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("Which photo is real?") != std::string::npos);
  CHECK(html.find("id=\"results\"") != std::string::npos);
  CHECK(html.find("window.tinctAnswer") != std::string::npos);
  // Nothing the page loads from elsewhere: every <img> source is a data URI set by the script.
  CHECK(html.find("src=\"") == std::string::npos);

  const json::Value page = page_data(html);
  const auto& pairs = page.find("pairs")->as_array();
  CHECK(pairs.size() == 9);
  std::set<std::pair<std::string, std::string>> seen;
  int left = 0;
  for (const json::Value& p : pairs) {
    seen.insert({p.find("image")->as_string(), p.find("model")->as_string()});
    const std::string side = p.find("real_side")->as_string();
    CHECK((side == "left" || side == "right"));
    left += side == "left";
    CHECK(p.find("real")->as_int() != p.find("fake")->as_int());
  }
  CHECK(seen.size() == 9);  // every (image, model) exactly once
  CHECK(seen.count({"photo2</script><!--.png", "gan"}) == 1);
  // 3 real photos and 9 fakes, each embedded once as a PNG.
  const auto& uris = page.find("images")->as_array();
  CHECK(uris.size() == 12);
  for (const json::Value& u : uris) CHECK(u.as_string().rfind("data:image/png;base64,iVBORw0KGgo", 0) == 0);

  // Seeded: the same seed gives the same pairs, another seed another order.
  const auto a = human_pairs(images, 7), b = human_pairs(images, 7), c = human_pairs(images, 8);
  bool same = true, differ = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    same = same && a[i].image == b[i].image && a[i].model == b[i].model && a[i].real_left == b[i].real_left;
    differ = differ || a[i].image != c[i].image || a[i].model != c[i].model || a[i].real_left != c[i].real_left;
  }
  CHECK(same);
  CHECK(differ);
  // Sides are balanced over many pairs (a fair coin, not a constant).
  std::vector<HumanTestImage> many(40);
  for (auto& im : many) {
    im.real = synthetic_photo(16, 16, 0);
    for (int m = 0; m < 5; ++m) im.fakes.emplace_back("m" + std::to_string(m), im.real);
  }
  int lefts = 0;
  for (const HumanPair& p : human_pairs(many, 1)) lefts += p.real_left;
  CHECK(lefts > 70);
  CHECK(lefts < 130);

  // Photos larger than max_side are shrunk, aspect kept.
  const data::Image big = synthetic_photo(768, 512, 1);
  const data::Image small = fit_max_side(big, 384);
  CHECK(small.width == 384);
  CHECK(small.height == 256);
  CHECK(fit_max_side(small, 384).width == 384);

  // Mismatched sizes are refused; no pair at all too.
  images[0].fakes[0].second = synthetic_photo(20, 20, 1);
  CHECK_THROWS_AS(human_test_html(images, po), std::invalid_argument);
  CHECK_THROWS_AS(human_test_html({}, po), std::invalid_argument);
}

TEST_CASE("the human page from a folder and weights (tinct eval --human)") {
  TempDir t;
  const fs::path data = t.path / "data", w = t.path / "weights", out = t.path / "out";
  write_photos(data);
  std::ofstream(data / "broken.jpg", std::ios::binary) << "nope";
  write_weights(w, "regression", 1);
  write_weights(w, "gan", 3);
  EvalOptions o = options_for(data, w, out);
  const HumanPageResult r = write_human_page(o, {});
  CHECK(r.images == 3);
  CHECK(r.pairs == 3 * 2);
  CHECK(r.skipped.size() == 1);
  CHECK(r.failures.empty());
  const std::string html = read_text(out / "human_test.html");
  CHECK(html.size() == r.bytes);
  CHECK(page_data(html).find("pairs")->as_array().size() == 6);
  CHECK(html.find("https://") == std::string::npos);
  CHECK_THROWS_WITH_AS(write_human_page(o, {}), doctest::Contains("--overwrite"), std::invalid_argument);
}

TEST_CASE("reading exported answers: fooling rates recomputed from the sides") {
  const std::string text = R"({"format": "tinct-human-test", "version": 1, "answers": [
      {"pair": 0, "image": "a.png", "model": "gan", "real_side": "left", "choice": "right", "fooled": true, "ms": 900},
      {"pair": 1, "image": "a.png", "model": "regression", "real_side": "left", "choice": "left", "fooled": false, "ms": 1200},
      {"pair": 2, "image": "b.png", "model": "gan", "real_side": "right", "choice": "right", "fooled": true, "ms": 700},
      {"pair": 3, "image": "b.png", "model": "gan", "real_side": "right", "choice": "left", "fooled": true, "ms": 650},
      {"pair": 4, "image": "c.png", "model": "gan", "real_side": "left", "choice": "left", "ms": 800}]})";
  const auto answers = parse_human_results(text);
  REQUIRE(answers.size() == 5);
  CHECK(answers[0].fooled);
  CHECK_FALSE(answers[2].fooled);  // the file's "fooled" is wrong; the sides decide
  CHECK(answers[3].ms == 650.0);
  const auto rates = fooling_rates(answers);
  REQUIRE(rates.size() == 2);
  CHECK(rates[0].model == "gan");
  CHECK(rates[0].pairs == 4);
  CHECK(rates[0].fooled == 2);
  CHECK(rates[0].rate == 0.5);
  // 2/4: centre 0.5, half = 0.99979 * sqrt(0.0625 + 0.060023) = 0.34995.
  CHECK(rates[0].ci95.lo == doctest::Approx(0.1500).epsilon(1e-3));
  CHECK(rates[0].ci95.hi == doctest::Approx(0.8500).epsilon(1e-3));
  CHECK(rates[1].model == "regression");
  CHECK(rates[1].fooled == 0);
  const std::string table = fooling_table(rates);
  CHECK(table.find("50.0%") != std::string::npos);
  CHECK(table.find("regression") != std::string::npos);

  CHECK_THROWS_WITH_AS(parse_human_results("{"), doctest::Contains("not a JSON file"), std::runtime_error);
  CHECK_THROWS_WITH_AS(parse_human_results(R"({"format": "other", "answers": []})"), doctest::Contains("format"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(parse_human_results(R"({"answers": [{"model": "gan", "real_side": "up", "choice": "left"}]})"),
                       doctest::Contains("\"left\" or \"right\""), std::runtime_error);
  CHECK(parse_human_results(R"({"answers": []})").empty());
}
