// test_models.cpp — the three colorizers: parameter counts of the `full`
// presets against the PyTorch reference (docs/anchors.md), output shapes, and
// a short CPU training run per model in which the loss falls.
#include <cmath>
#include <stdexcept>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/optim.h"
#include "models/classification.h"
#include "models/colorizer.h"
#include "models/gan.h"
#include "models/regression.h"

using namespace tinct;
using namespace tinct::models;

TEST_CASE("full presets have the reference's parameter counts") {
  Rng rng(1);
  CHECK(RegressionNet(RegressionConfig::preset("full"), rng).num_parameters() == 1043666);
  CHECK(ClassificationNet(ClassificationConfig::preset("full", 313), rng).num_parameters() == 18076537);
  GanConfig g = GanConfig::preset("full");
  CHECK(Generator(g.gen_base, rng).num_parameters() == 15646818);
  CHECK(Discriminator(g.disc_base, rng).num_parameters() == 2766529);
}

TEST_CASE("compact presets are small enough to ship as fp16 (<= 16 MB each, <= 30 MB together)") {
  Rng rng(2);
  const int64_t r = RegressionNet(RegressionConfig::preset("compact"), rng).num_parameters();
  const int64_t c = ClassificationNet(ClassificationConfig::preset("compact", 262), rng).num_parameters();
  const int64_t g = Generator(GanConfig::preset("compact").gen_base, rng).num_parameters();
  MESSAGE("compact parameters: regression " << r << ", classification " << c << ", generator " << g);
  for (int64_t n : {r, c, g}) CHECK(n * 2 <= 16 * 1000 * 1000);
  CHECK((r + c + g) * 2 <= 30 * 1000 * 1000);
}

TEST_CASE("output shapes") {
  Rng rng(3);
  NoGrad ng;
  Tensor x = rand_uniform({2, 1, 64, 96}, rng, -1.f, 1.f);
  RegressionNet reg(RegressionConfig::preset("compact"), rng);
  CHECK(reg(x).shape() == Shape{2, 2, 64, 96});
  ClassificationNet cls(ClassificationConfig::preset("compact", 262), rng);
  CHECK(cls(x).shape() == Shape{2, 262, 16, 24});
  Generator gen(GanConfig::preset("compact").gen_base, rng);
  Tensor ab = gen(x);
  CHECK(ab.shape() == Shape{2, 2, 64, 96});
  for (float v : ab.to_vector()) CHECK(std::fabs(v) < 1.f);
  Discriminator disc(16, rng);
  CHECK(disc(ops::concat({x, ab})).shape() == Shape{2, 1, 6, 10});
  CHECK_THROWS_WITH_AS(reg(rand_uniform({1, 1, 30, 32}, rng)), doctest::Contains("multiples of 8"),
                       std::invalid_argument);
}

namespace {
// A fixed tiny batch: L and a target that depends on it, so the models can fit it.
void tiny_batch(Rng& rng, Tensor& L, Tensor& ab) {
  L = rand_uniform({2, 1, 32, 32}, rng, -1.f, 1.f);
  ab = Tensor::empty({2, 2, 32, 32});
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 32 * 32; ++i) {
      const float l = L.data()[n * 1024 + i];
      ab.data()[(n * 2 + 0) * 1024 + i] = 0.5f * l;
      ab.data()[(n * 2 + 1) * 1024 + i] = -0.3f;
    }
}
}  // namespace

TEST_CASE("regression: the loss falls on a tiny batch") {
  Rng rng(4);
  RegressionNet net({8}, rng);
  Tensor L, ab;
  tiny_batch(rng, L, ab);
  optim::Adam opt(net.parameters(), {});
  float first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    opt.zero_grad();
    Tensor loss = ops::mse_loss(net(L), ab);
    loss.backward();
    opt.step();
    (i == 0 ? first : last) = loss.item();
  }
  MESSAGE("regression loss " << first << " -> " << last);
  CHECK(last < 0.5f * first);
}

TEST_CASE("classification: the weighted soft cross-entropy falls on a tiny batch") {
  Rng rng(5);
  ClassificationConfig cfg;
  cfg.base = 4;
  cfg.num_bins = 20;
  cfg.tie_repeated_convs = false;
  ClassificationNet net(cfg, rng);
  Tensor L = rand_uniform({2, 1, 32, 32}, rng, -1.f, 1.f);
  Tensor target = Tensor::zeros({2, 20, 8, 8});
  for (int n = 0; n < 2; ++n)  // a one-hot target per pixel that depends on the pixel
    for (int i = 0; i < 64; ++i) target.data()[(n * 20 + (i * 7 + n) % 20) * 64 + i] = 1.f;
  Tensor w = rand_uniform({2, 1, 8, 8}, rng, 0.5f, 2.f);
  optim::Adam opt(net.parameters(), {});
  float first = 0, last = 0;
  for (int i = 0; i < 40; ++i) {
    opt.zero_grad();
    Tensor loss = ops::soft_cross_entropy(net(L), target, w);
    loss.backward();
    opt.step();
    (i == 0 ? first : last) = loss.item();
  }
  MESSAGE("classification loss " << first << " -> " << last);
  CHECK(last < 0.7f * first);
}

TEST_CASE("gan: D learns to separate, G's L1 term falls") {
  Rng rng(6);
  GanConfig cfg;
  Generator gen(8, rng);
  Discriminator disc(8, rng);
  Tensor L, ab;
  tiny_batch(rng, L, ab);
  optim::AdamOptions o;
  o.lr = 2e-4f * 5;
  o.beta1 = 0.5f;
  optim::Adam og(gen.parameters(), o), od(disc.parameters(), o);
  float l1_first = 0, l1_last = 0;
  for (int i = 0; i < 25; ++i) {
    // D step: real vs detached fake.
    Tensor fake = gen(L);
    od.zero_grad();
    Tensor d_loss = ops::mul(ops::add(ops::lsgan_loss(disc(ops::concat({L, ab})), true),
                                      ops::lsgan_loss(disc(ops::concat({L, fake.detach()})), false)),
                             0.5f);
    d_loss.backward();
    od.step();
    // G step: fool D and match ab.
    og.zero_grad();
    Tensor l1 = ops::l1_loss(fake, ab);
    Tensor g_loss = ops::add(ops::mul(l1, cfg.l1_lambda), ops::lsgan_loss(disc(ops::concat({L, fake})), true));
    g_loss.backward();
    og.step();
    (i == 0 ? l1_first : l1_last) = l1.item();
  }
  MESSAGE("gan L1 " << l1_first << " -> " << l1_last);
  CHECK(l1_last < 0.5f * l1_first);
}

TEST_CASE("classification decoding: the default is 'plausible', 'zhang' decodes differently, others have none") {
  ColorizerOptions o;
  o.kind = "classification";
  auto cls = make_colorizer(o);
  const Decoding d = cls->decoding(), plausible = Decoding::named("plausible"), zhang = Decoding::named("zhang");
  CHECK(d.temperature == plausible.temperature);
  CHECK(d.prior_correction == plausible.prior_correction);
  CHECK(zhang.temperature == doctest::Approx(0.38f));
  CHECK(zhang.prior_correction == 0.0f);
  CHECK_THROWS_AS(Decoding::named("vivid"), std::invalid_argument);
  CHECK_THROWS_AS(cls->set_decoding(Decoding{0.0f, 0.0f}), std::invalid_argument);
  CHECK_THROWS_AS(cls->set_decoding(Decoding{0.5f, 1.5f}), std::invalid_argument);

  // A fixed smooth input; the untrained net's prior is uniform (w = 1), so
  // only the temperature can differ between the two: give it a non-uniform
  // prior through the weights the state carries.
  auto st = cls->state(false);
  std::vector<float> w = st.at("prior.weights").to_vector();
  for (size_t q = 0; q < w.size(); ++q) w[q] = 0.5f + float(q % 7) * 0.3f;
  st["prior.weights"] = Tensor::from_vector({int64_t(w.size())}, w);
  cls->load_state(st, false);
  std::vector<float> L(32 * 32);
  for (size_t i = 0; i < L.size(); ++i) L[i] = std::sin(float(i) * 0.05f);
  const Tensor x = Tensor::from_vector({1, 1, 32, 32}, L);
  const std::vector<float> a = cls->predict_ab(x).to_vector();
  cls->set_decoding(zhang);
  const std::vector<float> b = cls->predict_ab(x).to_vector();
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::abs(a[i] - b[i])));
  MESSAGE("largest ab difference between the two decodings: " << diff);
  CHECK(diff > 1e-3);

  o.kind = "regression";
  auto reg = make_colorizer(o);
  CHECK_THROWS_AS(reg->set_decoding(zhang), std::invalid_argument);
}
