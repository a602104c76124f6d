// test_regression_rebalance.cpp — `tinct train --model regression
// --rebalance`: each pixel's squared error weighted by the rebalancing weight
// of its true colour's nearest bin (models/colorizer_regression.cpp). The
// batch's weights are the prior's at each pixel's nearest bin, the loss
// scales with them, the prior goes into checkpoints and a resume, and the
// option is refused where it has no meaning.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "doctest/doctest.h"
#include "test_support.h"
#include "engine/checkpoint.h"
#include "engine/random.h"
#include "models/color/gamut.h"
#include "models/color/prior.h"
#include "models/colorizer.h"
#include "models/train_config.h"
#include "tiny_pack.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

// tinct_rebalance_*: this file's temporary folders (tests/test_support.h).
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("rebalance") {}
};

std::string quote(const std::string& s) { return testing::shell_quote(s); }

using testing::run_tinct;

// Two random 16x16 samples: L, ab/110 and ab in LAB units, in gamut's range.
data::Batch random_batch(uint64_t seed) {
  Rng rng(seed);
  data::Batch b;
  b.n = 2;
  b.size = 16;
  const size_t hw = 16 * 16;
  b.L.resize(2 * hw);
  b.ab_raw.resize(2 * 2 * hw);
  for (float& v : b.L) v = rng.uniform() * 2.f - 1.f;
  for (float& v : b.ab_raw) v = (rng.uniform() * 2.f - 1.f) * 60.f;
  b.ab.resize(b.ab_raw.size());
  for (size_t i = 0; i < b.ab.size(); ++i) b.ab[i] = b.ab_raw[i] / 110.f;
  return b;
}

std::unique_ptr<models::Colorizer> regression(float strength) {
  models::ColorizerOptions o;
  o.kind = "regression";
  auto m = models::make_colorizer(o);
  m->set_rebalance(strength);
  return m;
}

// The model's state with a prior whose weights are `w(bin)`.
template <class F>
void set_prior(models::Colorizer& m, F w) {
  const color::AbGamut& g = color::AbGamut::named(color::kGamutZhang313);
  std::vector<float> weights(size_t(g.size())), p(size_t(g.size()), 1.f / float(g.size()));
  for (int q = 0; q < g.size(); ++q) weights[size_t(q)] = w(q);
  auto s = m.state(false);
  s["prior.weights"] = Tensor::from_vector({g.size()}, weights);
  s["prior.p"] = Tensor::from_vector({g.size()}, p);
  m.load_state(s, false);
}

}  // namespace

TEST_CASE("--rebalance: each pixel weighs its nearest bin's weight, in a and b; the loss scales with the weights") {
  const color::AbGamut& g = color::AbGamut::named(color::kGamutZhang313);
  auto m = regression(1.f);
  CHECK(m->loss_names() == std::vector<std::string>{"wmse", "mse"});
  CHECK(m->needs_raw_ab());
  // A prior that tells the bins apart: bin q weighs 0.5 + q / 100.
  set_prior(*m, [](int q) { return 0.5f + float(q) / 100.f; });
  data::Batch b = random_batch(4);
  auto transform = m->batch_transform();
  REQUIRE(transform);
  transform(b);
  const std::vector<float>& w = b.extra_f.at("weight");
  REQUIRE(w.size() == b.ab_raw.size());
  const size_t hw = 16 * 16;
  int wrong = 0, first = -1;
  for (int n = 0; n < 2; ++n)
    for (size_t i = 0; i < hw; ++i) {
      const float* ab = b.ab_raw.data() + size_t(n) * 2 * hw;
      const float want = 0.5f + float(g.nearest(ab[i], ab[hw + i])) / 100.f;
      for (int c = 0; c < 2; ++c)
        if (w[(size_t(n) * 2 + size_t(c)) * hw + i] != want && !wrong++) first = int(size_t(n) * hw + i);
    }
  CHECK_MESSAGE(wrong == 0, wrong << " weights differ from the nearest bin's, the first at pixel " << first);
  const std::vector<float> tilted_w = w;  // the batch's weights are remade below

  // Weights all 1: the weighted loss is the plain one; all 2.5: 2.5 times it.
  // The tilted prior's lies between its smallest and largest weight times it.
  const models::Losses tilted = m->eval_losses(b);
  set_prior(*m, [](int) { return 1.f; });
  transform(b);
  const models::Losses one = m->eval_losses(b);
  set_prior(*m, [](int) { return 2.5f; });
  transform(b);
  const models::Losses scaled = m->eval_losses(b);
  const float mse = one[1].second;
  INFO("mse " << mse << ", weights 1: " << one[0].second << ", weights 2.5: " << scaled[0].second << ", tilted "
              << tilted[0].second);
  CHECK(mse > 0.f);
  CHECK(one[0].second == doctest::Approx(mse).epsilon(1e-6));
  CHECK(scaled[0].second == doctest::Approx(2.5 * mse).epsilon(1e-6));
  CHECK(tilted[1].second == mse);  // the plain loss does not see the weights
  CHECK(tilted[0].second > 0.5f * mse);
  CHECK(tilted[0].second < (0.5f + 3.12f) * mse);
  CHECK(tilted[0].second != doctest::Approx(mse).epsilon(1e-3));

  // --rebalance-strength 0.5: the weights' square roots.
  auto half = regression(0.5f);
  set_prior(*half, [](int q) { return 0.5f + float(q) / 100.f; });
  data::Batch hb = random_batch(4);
  half->batch_transform()(hb);
  int wrong_half = 0;
  for (size_t i = 0; i < hb.extra_f.at("weight").size(); ++i)
    wrong_half += hb.extra_f.at("weight")[i] != std::pow(tilted_w[i], 0.5f);
  CHECK(wrong_half == 0);
  CHECK(half->metadata().at("loss").find("to the power 0.5") != std::string::npos);

  // Without --rebalance: one loss, no transform, no prior in the state.
  auto plain = regression(0.f);
  CHECK(plain->loss_names() == std::vector<std::string>{"mse"});
  CHECK_FALSE(plain->batch_transform());
  CHECK_FALSE(plain->state(false).count("prior.weights"));
  CHECK(m->state(false).count("prior.weights"));
}

TEST_CASE("--rebalance through tinct train: the pack's prior in the checkpoint, a resume, refusals") {
  TempDir dir;
  const std::string pack = testing::make_tiny_pack(dir.path);
  // A prior beside the pack, as tinct prepare writes it, with its weights
  // tilted so that it cannot be the one a run computes for itself.
  color::PackPrior prior = color::compute_pack_prior(*data::Pack::open(pack), color::AbGamut::named(color::kGamutZhang313));
  for (size_t q = 0; q < prior.prior.weights.size(); ++q) prior.prior.weights[q] *= 1.f + float(q % 7) / 10.f;
  color::save_pack_prior(color::prior_path(pack), prior);
  const std::string run = (dir.path / "run").string();
  const std::string common = " --data " + quote(pack) + " --batch 4 --crop 32 --holdout 6 --eval-every 2 --ckpt-every 2 --quiet";
  testing::Run r = run_tinct("train --model regression --rebalance --out " + quote(run) + common + " --steps 2");
  INFO(r.output);
  REQUIRE(r.code == 0);
  const Checkpoint c = load_checkpoint(run + "/ckpt-00000002.safetensors");
  REQUIRE(c.tensors.count("prior.weights"));
  // The prior is the one stored beside the pack.
  CHECK(c.tensors.at("prior.weights").to_vector() == prior.prior.weights);
  CHECK(c.metadata.at("loss").find("rebalanced") != std::string::npos);
  CHECK(models::read_config(run + "/config.json").rebalance == 1.0);
  std::ifstream log(run + "/train_log.csv");
  std::string header;
  std::getline(log, header);
  CHECK(header.rfind("step,epoch,wmse,mse,", 0) == 0);

  // A resume keeps it; without the prior in the checkpoint it is refused.
  r = run_tinct("train --resume --out " + quote(run) + " --steps 4 --quiet");
  INFO(r.output);
  CHECK(r.code == 0);
  const std::string plain = (dir.path / "plain").string();
  r = run_tinct("train --model regression --out " + quote(plain) + common + " --steps 2");
  REQUIRE(r.code == 0);
  CHECK_FALSE(load_checkpoint(plain + "/ckpt-00000002.safetensors").tensors.count("prior.weights"));
  r = run_tinct("train --resume --out " + quote(plain) + " --steps 4 --rebalance");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.output.find("--rebalance 1") != std::string::npos, r.output);
  CHECK_MESSAGE(r.output.find("differs from the run's 0") != std::string::npos, r.output);
  r = run_tinct("train --model regression --rebalance-strength 1.5 --out " + quote((dir.path / "strong").string()) +
                common + " --steps 1");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.output.find("--rebalance-strength must be in (0, 1], got 1.5") != std::string::npos, r.output);

  for (const char* kind : {"classification", "gan"}) {
    r = run_tinct(std::string("train --model ") + kind + " --rebalance --out " + quote((dir.path / kind).string()) +
                  common + " --steps 1");
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.output.find("--rebalance is the regression model's") != std::string::npos, r.output);
  }
}
