// test_init_weights.cpp — `tinct train --init`: a new run starts from a
// file's weights (models/init_weights.h). Same-shape weights are copied, a
// 262-bin classification head is mapped row by row to the 313 bins by
// nearest centre (the copies sharing their bin's probability), the run keeps
// its own prior, and wrong files are refused.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "doctest/doctest.h"
#include "test_support.h"
#include "engine/checkpoint.h"
#include "engine/random.h"
#include "models/color/gamut.h"
#include "models/colorizer.h"
#include "models/init_weights.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

// tinct_init_*: this file's temporary folders (tests/test_support.h).
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("init") {}
};

std::unique_ptr<models::Colorizer> colorizer(const std::string& kind, uint64_t seed) {
  models::ColorizerOptions o;
  o.kind = kind;
  o.preset = "compact";
  o.seed = seed;
  return models::make_colorizer(o);
}

std::string save(const models::Colorizer& m, const fs::path& file) {
  save_checkpoint(file.string(), m.state(false), m.metadata());
  return file.string();
}

const std::string kHeadW = "model.conv8.6.weight", kHeadB = "model.conv8.6.bias";

}  // namespace

TEST_CASE("--init copies every weight of the same name and shape") {
  TempDir dir;
  for (std::string kind : {"regression", "gan"}) {
    auto a = colorizer(kind, 11), b = colorizer(kind, 22);
    const std::string file = save(*a, dir.path / (kind + ".safetensors"));
    const std::string line = models::init_weights_from(*b, file);
    CHECK_MESSAGE(line.find("left fresh") == std::string::npos, line);
    auto sa = a->state(false), sb = b->state(false);
    int n = 0;
    for (auto& kv : sa) {
      CHECK_MESSAGE(sb.at(kv.first).to_vector() == kv.second.to_vector(), kind << " " << kv.first);
      ++n;
    }
    CHECK(n > 10);
  }
}

TEST_CASE("--init maps a 262-bin classification head to Zhang's 313 bins by nearest centre, sharing each bin's probability") {
  TempDir dir;
  const color::AbGamut& old_g = color::AbGamut::named(color::kGamutSrgb262);
  const color::AbGamut& new_g = color::AbGamut::named(color::kGamutZhang313);
  REQUIRE(old_g.size() == 262);
  REQUIRE(new_g.size() == 313);

  // A 262-bin model whose head rows say which old bin they are: row j of
  // the weight is j + 0.5 * input channel, bias j.
  auto src = colorizer("classification", 5);
  auto t = src->state(false);
  const int64_t C = t.at(kHeadW).shape()[1];
  std::vector<float> w(size_t(262 * C)), bias(262), uniform(262, 1.f / 262), ones(262, 1.f);
  for (int j = 0; j < 262; ++j) {
    bias[size_t(j)] = float(j);
    for (int64_t c = 0; c < C; ++c) w[size_t(j * C + c)] = float(j) + 0.5f * float(c);
  }
  t[kHeadW] = Tensor::from_vector({262, C, 1, 1}, w);
  t[kHeadB] = Tensor::from_vector({262}, bias);
  t["prior.p"] = Tensor::from_vector({262}, uniform);
  t["prior.weights"] = Tensor::from_vector({262}, ones);
  src->load_state(t, false);
  REQUIRE(src->metadata().at("bins") == "262");
  const std::string file = save(*src, dir.path / "c262.safetensors");

  auto dst = colorizer("classification", 9);
  const auto own_prior = dst->state(false).at("prior.weights").to_vector();
  const std::string line = models::init_weights_from(*dst, file);
  CHECK_MESSAGE(line.find("2 mapped from 262 to 313 bins") != std::string::npos, line);
  auto s = dst->state(false);
  CHECK(dst->metadata().at("bins") == "313");
  CHECK(s.at("prior.weights").to_vector() == own_prior);  // the run's prior, not the file's

  const auto hw = s.at(kHeadW).to_vector(), hb = s.at(kHeadB).to_vector();
  REQUIRE(hw.size() == size_t(313 * C));
  std::vector<int> copies(262, 0);
  for (int q = 0; q < 313; ++q) ++copies[size_t(old_g.nearest(new_g.centre(q).a, new_g.centre(q).b))];
  // Zhang's table holds all 262 old centres: each is its own nearest, and
  // the 51 others are copies of edge bins.
  CHECK(std::count(copies.begin(), copies.end(), 0) == 0);
  CHECK(*std::max_element(copies.begin(), copies.end()) > 1);
  int worst_q = -1;
  for (int q = 0; q < 313; ++q) {
    const int j = old_g.nearest(new_g.centre(q).a, new_g.centre(q).b);
    bool ok = hb[size_t(q)] == float(j) - std::log(float(copies[size_t(j)]));
    for (int64_t c = 0; c < C; ++c) ok = ok && hw[size_t(q * C + c)] == float(j) + 0.5f * float(c);
    if (!ok && worst_q < 0) worst_q = q;
  }
  CHECK_MESSAGE(worst_q < 0, "head row " << worst_q << " is not its nearest old bin's row (bias less log copies)");

  // What the bias is for: at any feature vector the new head's softmax,
  // summed over each old bin's copies, is the old head's softmax.
  Rng rng(3);
  std::vector<float> f(static_cast<size_t>(C));
  for (float& v : f) v = rng.normal() * 0.05f;
  auto softmax_logits = [&](const std::vector<float>& W, const std::vector<float>& B, int Q) {
    std::vector<double> z(static_cast<size_t>(Q));
    double m = -1e300, sum = 0;
    for (int q = 0; q < Q; ++q) {
      double v = B[size_t(q)];
      for (int64_t c = 0; c < C; ++c) v += double(W[size_t(q * C + c)]) * f[size_t(c)];
      z[size_t(q)] = v, m = std::max(m, v);
    }
    for (double& v : z) sum += (v = std::exp(v - m));
    for (double& v : z) v /= sum;
    return z;
  };
  const auto p_old = softmax_logits(w, bias, 262), p_new = softmax_logits(hw, hb, 313);
  std::vector<double> summed(262, 0.0);
  for (int q = 0; q < 313; ++q) summed[size_t(old_g.nearest(new_g.centre(q).a, new_g.centre(q).b))] += p_new[size_t(q)];
  double worst = 0;
  int worst_j = -1;
  for (int j = 0; j < 262; ++j)
    if (const double d = std::fabs(summed[size_t(j)] - p_old[size_t(j)]); d > worst) worst = d, worst_j = j;
  INFO("worst |sum of copies - old probability| " << worst << " at old bin " << worst_j);
  CHECK(worst < 1e-6);
  // Everything but the head is copied as it is.
  for (auto& kv : t)
    if (kv.first.rfind("model.", 0) == 0 && kv.first != kHeadW && kv.first != kHeadB)
      CHECK_MESSAGE(s.at(kv.first).to_vector() == kv.second.to_vector(), kv.first);
}

TEST_CASE("--init refuses a file of another kind or preset, and a missing file") {
  TempDir dir;
  auto reg = colorizer("regression", 1);
  const std::string reg_file = save(*reg, dir.path / "reg.safetensors");
  auto gan = colorizer("gan", 1);
  try {
    models::init_weights_from(*gan, reg_file);
    FAIL("a regression file was taken by a gan");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("holds a regression model, not gan") != std::string::npos);
  }
  models::ColorizerOptions full;
  full.kind = "regression";
  full.preset = "full";
  auto big = models::make_colorizer(full);
  const auto before = big->state(false).begin()->second.to_vector();
  try {
    models::init_weights_from(*big, reg_file);
    FAIL("a compact file was taken by a full model");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("holds a regression/compact model, not regression/full") != std::string::npos);
  }
  CHECK(big->state(false).begin()->second.to_vector() == before);  // nothing changed
  CHECK_THROWS_AS(models::init_weights_from(*reg, (dir.path / "missing.safetensors").string()), std::runtime_error);
}
