// test_prior.cpp — the rebalancing prior of a pack (models/color/prior.h):
// computed on synthetic packs of known colours, stored beside the pack by
// `prepare`, refused for another pack, drawn as an SVG; and the
// classification model's gamut: 313 bins by default, the prior's gamut when
// the pack has one, and the 262-bin files of before still loading.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/checkpoint.h"
#include "models/color/gamut.h"
#include "models/color/prior.h"
#include "models/colorizer.h"
#include "models/data/image.h"
#include "models/data/loader.h"
#include "models/data/pack.h"
#include "models/data/prepare.h"
#include "models/inference.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("tinct_prior_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

fs::path source_dir() {
  const char* s = std::getenv("TINCT_SOURCE_DIR");  // set by ctest
  return s ? fs::path(s) : fs::current_path();
}

struct Colour {
  std::uint8_t r, g, b;
};

data::Image flat(int side, Colour c) {
  data::Image img(side, side, 3);
  for (int i = 0; i < side * side; ++i) {
    img.pixels[std::size_t(i) * 3] = c.r;
    img.pixels[std::size_t(i) * 3 + 1] = c.g;
    img.pixels[std::size_t(i) * 3 + 2] = c.b;
  }
  return img;
}

// A raw (lossless) pack of flat images, one per colour.
std::string flat_pack(const std::string& path, const std::vector<Colour>& colours, int side = 16) {
  data::PackWriter w(path, side, side, data::PackEncoding::raw, 0);
  for (std::size_t i = 0; i < colours.size(); ++i)
    w.add_image(flat(side, colours[i]), "img" + std::to_string(i) + ".png", 10.0f);
  w.finish();
  return path;
}

// The nearest bin of a colour as the loader converts it.
int bin_of(const color::AbGamut& g, Colour c) {
  const data::FastLab lab;
  const std::uint8_t rgb[3] = {c.r, c.g, c.b};
  float L, ab[2];
  lab.convert(rgb, 1, &L, ab);
  return g.nearest(ab[0], ab[1]);
}

const Colour kGray{128, 128, 128}, kRed{200, 30, 40}, kBlue{30, 60, 200};

}  // namespace

TEST_CASE("prior: the distribution of a pack of known colours, smoothed and rebalanced") {
  TempDir dir;
  // 3 gray images, 1 red: p = 3/4 at gray's bin, 1/4 at red's.
  const auto pack = data::Pack::open(flat_pack(dir / "p.tpk", {kGray, kRed, kGray, kGray}));
  const color::AbGamut& z = color::AbGamut::zhang313();
  const int g = bin_of(z, kGray), r = bin_of(z, kRed);
  REQUIRE(g != r);
  CHECK(z.centre(g).a == 0.0f);
  CHECK(z.centre(g).b == 0.0f);

  const color::PackPrior pr = color::compute_pack_prior(*pack, z);
  CHECK(pr.gamut == "zhang313");
  CHECK(pr.images == 4);
  CHECK(pr.pixels == 4 * 16 * 16);
  CHECK(pr.pack_images == 4);
  REQUIRE(pr.prior.p.size() == 313);
  for (int q = 0; q < 313; ++q) {
    const float want = q == g ? 0.75f : q == r ? 0.25f : 0.0f;
    CHECK(pr.prior.p[std::size_t(q)] == want);
  }
  // p~_q = sum_r p_r exp(-|c_q - c_r|^2 / (2 * 5^2)), normalised.
  std::vector<double> s(313);
  double total = 0;
  for (int q = 0; q < 313; ++q) {
    for (int k : {g, r}) {
      const double da = z.centre(q).a - z.centre(k).a, db = z.centre(q).b - z.centre(k).b;
      s[std::size_t(q)] += (k == g ? 0.75 : 0.25) * std::exp(-(da * da + db * db) / 50.0);
    }
    total += s[std::size_t(q)];
  }
  double expectation = 0;
  std::vector<double> w(313);
  for (int q = 0; q < 313; ++q) {
    const double ps = s[std::size_t(q)] / total;
    CHECK(pr.prior.p_smooth[std::size_t(q)] == doctest::Approx(ps).epsilon(1e-5));
    w[std::size_t(q)] = 1.0 / (0.5 * ps + 0.5 / 313.0);
    expectation += ps * w[std::size_t(q)];
  }
  double check = 0;
  for (int q = 0; q < 313; ++q) {
    CHECK(pr.prior.weights[std::size_t(q)] == doctest::Approx(w[std::size_t(q)] / expectation).epsilon(1e-5));
    check += double(pr.prior.p_smooth[std::size_t(q)]) * pr.prior.weights[std::size_t(q)];
  }
  CHECK(check == doctest::Approx(1.0).epsilon(1e-5));
  // The common colour weighs least, the rarer one more, an empty bin most
  // (the cap of lambda: at most Q + 1 times the weight of a bin holding all).
  const std::size_t far = std::size_t(z.nearest(-80, 80));
  CHECK(pr.prior.weights[std::size_t(g)] < pr.prior.weights[std::size_t(r)]);
  CHECK(pr.prior.weights[std::size_t(r)] < pr.prior.weights[far]);
  CHECK(pr.prior.weights[far] / pr.prior.weights[std::size_t(g)] < 314.0f);

  // The same on 1 or 3 threads, and over a subset of the images.
  const color::PackPrior one = color::compute_pack_prior(*pack, z, {}, 1);
  const color::PackPrior three = color::compute_pack_prior(*pack, z, {}, 3);
  CHECK(one.prior.weights == three.prior.weights);
  CHECK(one.prior.weights == pr.prior.weights);
  const color::PackPrior sub = color::compute_pack_prior(*pack, z, {0, 1});  // gray, red
  CHECK(sub.images == 2);
  CHECK(sub.prior.p[std::size_t(g)] == 0.5f);
  CHECK(sub.prior.p[std::size_t(r)] == 0.5f);
  CHECK_THROWS_AS(color::compute_pack_prior(*pack, z, {7}), std::out_of_range);

  // In the 262-bin gamut: the same two colours, other indices.
  const color::AbGamut& s262 = color::AbGamut::standard();
  const color::PackPrior p262 = color::compute_pack_prior(*pack, s262);
  CHECK(p262.gamut == "srgb262");
  REQUIRE(p262.prior.p.size() == 262);
  CHECK(p262.prior.p[std::size_t(bin_of(s262, kGray))] == 0.75f);
}

TEST_CASE("prior: stored beside the pack, read back, refused for another pack") {
  TempDir dir;
  const auto pack = data::Pack::open(flat_pack(dir / "a.tpk", {kGray, kBlue, kRed}));
  bool found = true;
  color::load_prior_for_pack(*pack, &found);
  CHECK_FALSE(found);  // nothing beside it yet

  const color::PackPrior pr = color::compute_pack_prior(*pack, color::AbGamut::zhang313());
  CHECK(color::prior_path(pack->path()) == dir / "a.tpk.prior.safetensors");
  color::save_pack_prior(color::prior_path(pack->path()), pr);
  const color::PackPrior back = color::load_prior_for_pack(*pack, &found);
  REQUIRE(found);
  CHECK(back.gamut == pr.gamut);
  CHECK(back.prior.p == pr.prior.p);
  CHECK(back.prior.p_smooth == pr.prior.p_smooth);
  CHECK(back.prior.weights == pr.prior.weights);
  CHECK(back.images == 3);
  CHECK(back.pixels == pr.pixels);
  CHECK(back.pack_fingerprint == color::pack_fingerprint(*pack));
  CHECK(back.sigma == 5.0f);
  CHECK(back.lambda == 0.5f);
  CHECK(&color::prior_gamut(back) == &color::AbGamut::zhang313());

  // The same prior beside a pack of other images is refused.
  const auto other = data::Pack::open(flat_pack(dir / "b.tpk", {kGray, kBlue, kBlue}));
  CHECK(color::pack_fingerprint(*other) != color::pack_fingerprint(*pack));
  fs::copy_file(color::prior_path(pack->path()), color::prior_path(other->path()));
  CHECK_THROWS_WITH_AS(color::load_prior_for_pack(*other, &found), doctest::Contains("another pack"),
                       std::runtime_error);

  // Damaged or foreign files say what is wrong.
  std::map<std::string, Tensor> t = {{"p", Tensor::from_vector({3}, {1.f, 0.f, 0.f})}};
  save_checkpoint(dir / "bad.safetensors", t, {{"format", "tinct-prior-1"}, {"gamut", "zhang313"}});
  CHECK_THROWS_WITH_AS(color::load_pack_prior(dir / "bad.safetensors"), doctest::Contains("313"),
                       std::runtime_error);
  save_checkpoint(dir / "odd.safetensors", t, {{"format", "tinct-prior-1"}, {"gamut", "lab999"}});
  CHECK_THROWS_WITH_AS(color::load_pack_prior(dir / "odd.safetensors"), doctest::Contains("unknown gamut"),
                       std::runtime_error);
  save_checkpoint(dir / "none.safetensors", t, {});
  CHECK_THROWS_WITH_AS(color::load_pack_prior(dir / "none.safetensors"), doctest::Contains("not a tinct prior"),
                       std::runtime_error);
}

TEST_CASE("prior: the picture holds every bin, axes and scales") {
  TempDir dir;
  const auto pack = data::Pack::open(flat_pack(dir / "p.tpk", {kGray, kRed}));
  const color::PackPrior pr = color::compute_pack_prior(*pack, color::AbGamut::zhang313());
  const std::string svg = color::prior_svg(pr, "p.tpk & <co>");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("p.tpk &amp; &lt;co&gt;") != std::string::npos);  // escaped
  // Three panels of 313 squares, each with its tooltip.
  std::size_t tips = 0;
  for (std::size_t at = svg.find("<title>bin "); at != std::string::npos; at = svg.find("<title>bin ", at + 1)) ++tips;
  CHECK(tips == 3 * 313);
  CHECK(svg.find("<title>bin 312 (a 100, b 0)") != std::string::npos);
  CHECK(svg.find("a (green - red)") != std::string::npos);
  CHECK(svg.find("rebalancing weight w") != std::string::npos);
  // 51 bins no sRGB colour is nearest to are marked in the first panel.
  std::size_t dots = 0;
  for (std::size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) ++dots;
  CHECK(dots == 51);
  const std::string text = color::describe_prior(pr);
  CHECK(text.find("gamut zhang313 (313 bins)") != std::string::npos);
  CHECK(text.find("most common bin") != std::string::npos);
}

TEST_CASE("prepare: writes the prior and its picture, in the gamut asked; mixes sources evenly") {
  TempDir dir;
  const fs::path a = dir.path / "a", b = dir.path / "b";
  fs::create_directories(a);
  fs::create_directories(b);
  for (int i = 0; i < 3; ++i) data::save_png((a / ("a" + std::to_string(i) + ".png")).string(), flat(40, kRed));
  for (int i = 0; i < 9; ++i) data::save_png((b / ("b" + std::to_string(i) + ".png")).string(), flat(40, kBlue));
  data::PrepareOptions o;
  o.sources = {a.string(), b.string()};
  o.output = dir / "mix.tpk";
  o.size = 32;
  o.min_side = 32;
  o.progress = false;
  o.threads = 2;
  o.max_per_source = 3;  // 3 of a, 3 of b's 9: files 0, 3, 6
  const data::PrepareResult r = data::prepare(o);
  CHECK(r.kept == 6);
  CHECK(r.per_source.at(a.string()) == 3);
  CHECK(r.per_source.at(b.string()) == 3);
  auto pack = data::Pack::open(o.output);
  CHECK(pack->entry(3).name == "b/b0.png");
  CHECK(pack->entry(4).name == "b/b3.png");
  CHECK(pack->entry(5).name == "b/b6.png");
  REQUIRE(r.prior_path == dir / "mix.tpk.prior.safetensors");
  CHECK(fs::exists(dir / "mix.tpk.prior.svg"));
  CHECK(format_summary(o, r, false).find("prior: gamut zhang313") != std::string::npos);
  bool found = false;
  color::PackPrior pr = color::load_prior_for_pack(*pack, &found);
  REQUIRE(found);
  CHECK(pr.gamut == "zhang313");
  const color::AbGamut& z = color::AbGamut::zhang313();
  CHECK(pr.prior.p[std::size_t(bin_of(z, kRed))] == doctest::Approx(0.5));
  CHECK(pr.prior.p[std::size_t(bin_of(z, kBlue))] == doctest::Approx(0.5));

  // The 262-bin gamut on request; an unknown one refused before any work.
  o.overwrite = true;
  o.gamut = "srgb262";
  data::prepare(o);
  pack = data::Pack::open(o.output);
  pr = color::load_prior_for_pack(*pack, &found);
  CHECK(pr.gamut == "srgb262");
  CHECK(pr.prior.weights.size() == 262);
  o.gamut = "rgb999";
  CHECK_THROWS_AS(data::prepare(o), std::invalid_argument);
  // Without a prior, the old one goes (it would describe another pack).
  o.gamut = "zhang313";
  o.prior = false;
  o.max_per_source = 0;
  CHECK(data::prepare(o).kept == 12);
  CHECK_FALSE(fs::exists(dir / "mix.tpk.prior.safetensors"));
  CHECK_FALSE(fs::exists(dir / "mix.tpk.prior.svg"));
}

TEST_CASE("classification: 313 bins by default, the pack prior's gamut, and old 262-bin files") {
  TempDir dir;
  models::ColorizerOptions o;
  o.kind = "classification";
  o.preset = "compact";
  auto m = models::make_colorizer(o);
  CHECK(m->metadata().at("gamut") == "zhang313");
  CHECK(m->metadata().at("bins") == "313");
  CHECK(m->state(false).at("model.conv8.6.weight").size(0) == 313);

  // A pack whose prior is in the 262-bin gamut makes a 262-bin model with
  // exactly that prior.
  const auto pack = data::Pack::open(flat_pack(dir / "p.tpk", {kGray, kRed, kBlue, kGray}, 32));
  const color::PackPrior p262 = color::compute_pack_prior(*pack, color::AbGamut::standard());
  color::save_pack_prior(color::prior_path(pack->path()), p262);
  m->prepare(data::PackSet::of(pack), {0, 1});  // the stored prior wins over the split
  CHECK(m->metadata().at("gamut") == "srgb262");
  auto st = m->state(false);
  CHECK(st.at("model.conv8.6.weight").size(0) == 262);
  CHECK(st.at("prior.weights").to_vector() == p262.prior.weights);

  // Saved and loaded into a fresh (313-bin) model: it becomes 262 again and
  // predicts the same.
  save_checkpoint(dir / "c262.safetensors", st, m->metadata());
  auto back = models::load_colorizer(dir / "c262.safetensors", "classification");
  CHECK(back->metadata().at("gamut") == "srgb262");
  Tensor L = Tensor::from_vector({1, 1, 16, 16}, std::vector<float>(256, 0.1f));
  CHECK(back->predict_ab(L).to_vector() == m->predict_ab(L).to_vector());
  // A file written before the "gamut" key existed is a 262-bin one.
  auto old_metadata = m->metadata();
  REQUIRE(old_metadata.erase("gamut") == 1);
  save_checkpoint(dir / "c262_old.safetensors", st, old_metadata);
  auto old = models::load_colorizer(dir / "c262_old.safetensors", "classification");
  CHECK(old->metadata().at("gamut") == "srgb262");
  CHECK(old->predict_ab(L).to_vector() == m->predict_ab(L).to_vector());

  // Without a stored prior: the default gamut, the prior of the split.
  fs::remove(color::prior_path(pack->path()));
  auto fresh = models::make_colorizer(o);
  fresh->prepare(data::PackSet::of(pack), {0, 1, 2, 3});
  CHECK(fresh->metadata().at("gamut") == "zhang313");
  const color::PackPrior p313 = color::compute_pack_prior(*pack, color::AbGamut::zhang313());
  CHECK(fresh->state(false).at("prior.weights").to_vector() == p313.prior.weights);

  // A prior of no known gamut's size is refused, and the model is unchanged.
  auto bad = fresh->state(false);
  bad["prior.weights"] = Tensor::from_vector({100}, std::vector<float>(100, 1.f));
  bad["prior.p"] = Tensor::from_vector({100}, std::vector<float>(100, 0.01f));
  CHECK_THROWS_WITH_AS(fresh->load_state(bad, false), doctest::Contains("313 bins"), std::runtime_error);
  CHECK(fresh->metadata().at("gamut") == "zhang313");
  // So is a 262-bin file whose network has another size: nothing changes.
  auto mixed = st;
  mixed["model.conv8.6.bias"] = Tensor::from_vector({5}, std::vector<float>(5, 0.f));
  CHECK_THROWS(fresh->load_state(mixed, false));
  CHECK(fresh->metadata().at("gamut") == "zhang313");
  CHECK(fresh->state(false).at("prior.weights").to_vector() == p313.prior.weights);

  // The shipped weights load with the gamut their metadata names.
  const fs::path shipped = source_dir() / "weights" / "classification.safetensors";
  REQUIRE(fs::exists(shipped));
  const Checkpoint c = load_checkpoint(shipped.string());
  auto sm = models::load_colorizer(shipped.string(), "classification");
  const std::string gamut = c.metadata.count("gamut") ? c.metadata.at("gamut") : "srgb262";
  CHECK(sm->metadata().at("gamut") == gamut);
  CHECK(sm->metadata().at("bins") == c.metadata.at("bins"));
}
