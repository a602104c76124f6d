// test_phase_training.cpp — `tinct train --phases equalized`: the transposed
// convolutions train with their four output phases kept equal
// (models/deconv_phases.h), so a trained model is the function inference
// runs. The projection is checked to be what makes that exact (idempotent
// and symmetric, so a projected gradient is the gradient of the projected
// parametrisation); the gradients (Adam's first moment shows them) and the
// weights are projected by the train step of every model, the moving average stays on the subspace, free
// phases leave it (the check can fail), and the setting is part of the
// recipe. On the tiny pack (batch 4, crop 32, a few steps).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/nn.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "models/deconv_phases.h"
#include "test_support.h"
#include "tiny_pack.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("phases") {}
};

std::string quote(const std::string& s) { return testing::shell_quote(s); }

Tensor random_tensor(const std::vector<int64_t>& shape, Rng& rng) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = rng.uniform(-1.f, 1.f);
  return Tensor::from_vector(shape, v);
}

double dot(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += double(x[i]) * y[i];
  return s;
}

// max |P(t) - t|: 0 on the subspace of equal phase sums.
double off_subspace(const Tensor& t) {
  const std::vector<float> a = t.to_vector(), b = models::equalize_deconv_phases(t).to_vector();
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

// The transposed convolutions' weights in a colorizer file: [in, out, 4, 4]
// outside the GAN's discriminator (whose 4x4 kernels are plain convolutions;
// every other 4x4 kernel of the three models is a transposed convolution).
std::map<std::string, Tensor> deconv_weights(const std::map<std::string, Tensor>& state, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : state)
    if (name.rfind(prefix, 0) == 0 && name.find(".disc.") == std::string::npos && t.dim() == 4 && t.size(2) == 4 &&
        t.size(3) == 4)
      out[name] = t;
  return out;
}

// Adam's first moments ("<param>.exp_avg") among a name map's tensors.
std::map<std::string, Tensor> first_moments(const std::map<std::string, Tensor>& tensors) {
  const std::string suffix = ".exp_avg";
  std::map<std::string, Tensor> out;
  for (const auto& entry : tensors)
    if (entry.first.size() >= suffix.size() &&
        entry.first.compare(entry.first.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.insert(entry);
  return out;
}

// Every tensor of the map, which holds some, is on the subspace; a failure
// names the tensor.
void check_on_subspace(const std::map<std::string, Tensor>& tensors) {
  CHECK(!tensors.empty());
  for (const auto& entry : tensors) {
    const std::string& name = entry.first;  // not a binding: CAPTURE's lambda cannot take one in C++17
    CAPTURE(name);
    CHECK(off_subspace(entry.second) < 1e-6);
  }
}

// The largest distance from the subspace over the map's tensors.
double worst_off_subspace(const std::map<std::string, Tensor>& tensors) {
  double worst = 0;
  for (const auto& entry : tensors) worst = std::max(worst, off_subspace(entry.second));
  return worst;
}

}  // namespace

TEST_CASE("the phase projection is idempotent and symmetric: a projected gradient is the reparametrised one") {
  Rng rng(7);
  const Tensor w = random_tensor({3, 5, 4, 4}, rng), a = random_tensor({3, 5, 4, 4}, rng);
  const Tensor pw = models::equalize_deconv_phases(w), pa = models::equalize_deconv_phases(a);
  CHECK(off_subspace(w) > 0.1);  // a random kernel is far from it
  CHECK(off_subspace(pw) < 1e-6);
  // <P w, a> = <w, P a>: P is its own adjoint, so d/dw L(P w) = P (dL/dv at v = P w).
  const double lhs = dot(pw, a), rhs = dot(w, pa);
  INFO("<Pw, a> " << lhs << " <w, Pa> " << rhs);
  CHECK(std::fabs(lhs - rhs) < 1e-4 * (1 + std::fabs(lhs)));
  // Each (in, out) pair's four phase sums are equal after it (stride 2,
  // padding 1: kernel row / column k belongs to phase (k + 1) % 2).
  const std::vector<float> v = pw.to_vector();
  double worst = 0;
  for (size_t k = 0; k < v.size(); k += 16) {
    double sum[2][2] = {{0, 0}, {0, 0}};
    for (int ky = 0; ky < 4; ++ky)
      for (int kx = 0; kx < 4; ++kx) sum[(ky + 1) % 2][(kx + 1) % 2] += v[k + size_t(ky * 4 + kx)];
    worst = std::max({worst, std::fabs(sum[0][0] - sum[0][1]), std::fabs(sum[0][0] - sum[1][0]),
                      std::fabs(sum[0][0] - sum[1][1])});
  }
  CHECK(worst < 1e-5);
}

TEST_CASE("DeconvPhases projects a layer's gradient and weights in place") {
  Rng rng(3);
  auto layer = std::make_shared<nn::ConvTranspose2d>(2, 3, 4, 2, 1, 0, 1, true, rng);
  models::DeconvPhases phases;
  phases.add(layer);
  const Tensor x = random_tensor({1, 2, 5, 5}, rng);
  // A loss that weighs output positions unevenly: its gradient is off the subspace.
  const Tensor y = layer->forward(x);
  const Tensor target = random_tensor(y.shape(), rng);
  Tensor loss = ops::mse_loss(y, target);
  loss.backward();
  const Tensor g = layer->weight.grad();
  REQUIRE(g.defined());
  const std::vector<float> before = g.to_vector();
  CHECK(off_subspace(g) > 1e-4);
  const Tensor expected = models::equalize_deconv_phases(g);
  phases.project_gradients();
  CHECK(off_subspace(layer->weight.grad()) < 1e-7);
  CHECK(layer->weight.grad().to_vector() == expected.to_vector());
  CHECK(layer->weight.grad().data() == g.data());  // the same storage: the optimizer's gradient

  const float* storage = layer->weight.data();
  CHECK(off_subspace(layer->weight) > 1e-3);
  phases.project_parameters();
  CHECK(off_subspace(layer->weight) < 1e-7);
  CHECK(layer->weight.data() == storage);  // in place: the registered parameter itself
}

TEST_CASE("--phases equalized: every model's transposed convolutions stay equalized through training") {
  TempDir dir;
  const std::string pack = testing::make_tiny_pack(dir.path);
  for (const std::string kind : {"regression", "classification", "gan"}) {
    CAPTURE(kind);
    const std::string common = " --model " + kind + " --data " + quote(pack) +
                               " --batch 4 --crop 32 --holdout 6 --eval-every 3 --ckpt-every 3 --ema 0.5 --steps 3"
                               " --lr 0.01 --quiet";
    const std::string eq = (dir.path / (kind + "_eq")).string(), fr = (dir.path / (kind + "_free")).string();
    testing::Run r = testing::run_tinct("train" + common + " --out " + quote(eq) + " --phases equalized");
    INFO(r.output);
    REQUIRE(r.code == 0);
    r = testing::run_tinct("train" + common + " --out " + quote(fr));
    INFO(r.output);
    REQUIRE(r.code == 0);

    const auto ckpt = load_checkpoint(eq + "/ckpt-00000003.safetensors").tensors;
    const auto weights = deconv_weights(ckpt, "model.");
    REQUIRE(!weights.empty());
    check_on_subspace(weights);
    // Adam's first moment is an average of the gradients: on the subspace
    // only if each gradient was projected.
    const auto moments = first_moments(deconv_weights(ckpt, "optim."));
    CHECK(moments.size() == weights.size());
    check_on_subspace(moments);
    // The moving average of weights on the subspace stays on it.
    const auto averaged = deconv_weights(ckpt, "ema.");
    CHECK(averaged.size() == weights.size());
    check_on_subspace(averaged);
    // Free phases: the same run leaves the subspace (a fresh model's random
    // kernels are off it, and training does not bring them on), and so do
    // its gradients.
    const auto free_ckpt = load_checkpoint(fr + "/ckpt-00000003.safetensors").tensors;
    CHECK(worst_off_subspace(deconv_weights(free_ckpt, "model.")) > 1e-3);
    CHECK(worst_off_subspace(first_moments(deconv_weights(free_ckpt, "optim."))) > 1e-7);
  }
}

TEST_CASE("--phases is part of the recipe; other values are refused") {
  TempDir dir;
  const std::string pack = testing::make_tiny_pack(dir.path);
  const std::string out = (dir.path / "run").string();
  const std::string common = " --model regression --data " + quote(pack) +
                             " --batch 4 --crop 32 --holdout 6 --eval-every 2 --ckpt-every 2 --quiet";
  testing::Run r = testing::run_tinct("train" + common + " --out " + quote(out) + " --steps 2 --phases equalized");
  INFO(r.output);
  REQUIRE(r.code == 0);
  // Resumed, the recipe's phases hold; asking for the other is refused.
  r = testing::run_tinct("train --resume --out " + quote(out) + " --steps 4 --phases free --quiet");
  CHECK(r.code == 2);
  CHECK(r.output.find("--phases") != std::string::npos);
  r = testing::run_tinct("train --resume --out " + quote(out) + " --steps 4 --quiet");
  CHECK_MESSAGE(r.code == 0, r.output);
  check_on_subspace(deconv_weights(load_checkpoint(out + "/ckpt-00000004.safetensors").tensors, "model."));
  r = testing::run_tinct("train" + common + " --out " + quote((dir.path / "bad").string()) +
                         " --steps 1 --phases sometimes");
  CHECK(r.code == 2);
  CHECK(r.output.find("--phases must be free or equalized") != std::string::npos);
}
