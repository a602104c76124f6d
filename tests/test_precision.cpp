// test_precision.cpp — the engine's precision setting (engine/precision.h):
// the CPU convolutions at tf32 / bf16 compute the precision-aware reference
// (kernels/tensorcore/ref_conv.cpp), autograd's backward passes included;
// and --precision on the command line: bad values exit 2, config.json
// records it, a resume with another precision is refused.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/precision.h"
#include "kernels/tensorcore/tensorcore.h"
#include "models/train_config.h"
#include "test_support.h"
#include "tiny_pack.h"

using namespace tinct;

namespace {

using testing::Run;
std::string quote(const std::string& s) { return testing::shell_quote(s); }
using testing::run_tinct;

Tensor random_tensor(const Shape& s, std::mt19937& gen, bool grad) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(size_t(shape_numel(s)));
  for (float& x : v) x = u(gen);
  Tensor t = Tensor::from_vector(s, v);
  if (grad) t.requires_grad_();
  return t;
}

// The worst |got - want| / (3 (n + 2) u S + 1e-30), printed with its index.
double worst(const char* what, const std::vector<float>& got, const std::vector<float>& want,
             const std::vector<float>& s, double n) {
  double w = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double r = std::fabs(double(got[i]) - want[i]) / (3.0 * (n + 2) * std::ldexp(1.0, -24) * s[i] + 1e-30);
    if (r > w) w = r, at = i;
  }
  std::printf("  %-34s worst err/tol %.3g at %zu of %zu\n", what, w, at, got.size());
  return w;
}

std::vector<float> abs_rounded(Precision p, const Tensor& t) {
  std::vector<float> v = t.to_vector();
  cpu::round_operands(p, v.data(), v.data(), v.size());
  for (float& x : v) x = std::fabs(x);
  return v;
}

}  // namespace

TEST_CASE("parse_precision: the three names; anything else names the option") {
  CHECK(parse_precision("fp32") == Precision::fp32);
  CHECK(parse_precision("tf32") == Precision::tf32);
  CHECK(parse_precision("bf16") == Precision::bf16);
  CHECK(std::string(precision_name(Precision::bf16)) == "bf16");
  CHECK_THROWS_WITH_AS(parse_precision("fp16"), "--precision must be fp32, tf32 or bf16, got 'fp16'",
                       std::invalid_argument);
  CHECK(precision() == Precision::fp32);  // the default
  {
    PrecisionScope s(Precision::tf32);
    CHECK(precision() == Precision::tf32);
  }
  CHECK(precision() == Precision::fp32);
}

TEST_CASE("conv2d at tf32 / bf16 on the CPU: forward and both gradients are the precision-aware reference") {
  // Stride 2, dilation 2, padding, odd sizes, 3 -> 5 channels.
  Conv2dParams p;
  p.N = 2, p.C = 3, p.H = 11, p.W = 9, p.K = 5, p.R = p.S = 3;
  p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 2, p.dil_h = p.dil_w = 2;
  REQUIRE(p.finalize());
  for (Precision prec : {Precision::tf32, Precision::bf16}) {
    std::mt19937 gen(7);
    Tensor x = random_tensor({p.N, p.C, p.H, p.W}, gen, true), w = random_tensor({p.K, p.C, p.R, p.S}, gen, true),
           b = random_tensor({p.K}, gen, true), g = random_tensor({p.N, p.K, p.P, p.Q}, gen, false);
    Tensor y, y32;
    {
      PrecisionScope scope(prec);
      y = ops::conv2d(x, w, b, 2, 2, 2);
      // The backward passes use the forward's precision, whatever is set when they run.
      set_precision(Precision::fp32);
      ops::sum(ops::mul(y, g)).backward();
    }
    y32 = ops::conv2d(x.detach(), w.detach(), b.detach(), 2, 2, 2);
    const std::vector<float> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(), gv = g.to_vector();
    std::vector<float> want_y(y.numel()), s_y(y.numel()), want_dx(x.numel()), s_dx(x.numel()),
        want_dw(w.numel(), 0.0f), s_dw(w.numel(), 0.0f), want_db(p.K, 0.0f);
    cpu::conv2d_fwd_ref(prec, p, xv.data(), wv.data(), bv.data(), want_y.data());
    std::vector<float> ab(bv.size());
    for (size_t i = 0; i < bv.size(); ++i) ab[i] = std::fabs(bv[i]);
    cpu::conv2d_fwd_ref(p, abs_rounded(prec, x).data(), abs_rounded(prec, w).data(), ab.data(), s_y.data());
    cpu::conv2d_bwd_data_ref(prec, p, gv.data(), wv.data(), want_dx.data());
    cpu::conv2d_bwd_data_ref(p, abs_rounded(prec, g).data(), abs_rounded(prec, w).data(), s_dx.data());
    cpu::conv2d_bwd_filter_ref(prec, p, xv.data(), gv.data(), want_dw.data(), want_db.data());
    cpu::conv2d_bwd_filter_ref(p, abs_rounded(prec, x).data(), abs_rounded(prec, g).data(), s_dw.data(), nullptr);
    const std::string name = precision_name(prec);
    CHECK(worst((name + " forward").c_str(), y.to_vector(), want_y, s_y, p.C * 9) <= 1.0);
    CHECK(worst((name + " dx").c_str(), x.grad().to_vector(), want_dx, s_dx, p.K * 9) <= 1.0);
    CHECK(worst((name + " dw").c_str(), w.grad().to_vector(), want_dw, s_dw, p.N * p.P * p.Q) <= 1.0);
    // The bias gradient sums the unrounded dy.
    const std::vector<float> db = b.grad().to_vector();
    for (int k = 0; k < p.K; ++k) CHECK(db[k] == doctest::Approx(want_db[k]).epsilon(1e-5));
    // And the setting was honoured: the fp32 result differs (by about the rounding).
    const std::vector<float> yv = y.to_vector(), y32v = y32.to_vector();
    double diff = 0;
    for (size_t i = 0; i < yv.size(); ++i) diff = std::max(diff, double(std::fabs(yv[i] - y32v[i])));
    std::printf("  %s forward vs fp32: max |diff| %.3g\n", name.c_str(), diff);
    CHECK(diff > (prec == Precision::bf16 ? 1e-3 : 1e-5));
  }
}

TEST_CASE("--precision on the command line: bad values exit 2; config.json keeps it; a resume may not change it") {
  testing::TempDir dir("precision");
  const std::string pack = testing::make_tiny_pack(dir.path);
  for (const char* cmd : {"train --model regression --data PACK --out OUT --steps 1",
                          "colorize PACK -o OUT", "eval --data PACK -o OUT"}) {
    std::string c = cmd;
    c.replace(c.find("PACK"), 4, quote(pack));
    c.replace(c.find("OUT"), 3, quote((dir.path / "bad").string()));
    Run r = run_tinct(c + " --precision fp16");
    INFO(c << "\n" << r.output);
    CHECK(r.code == 2);
    CHECK(r.output.find("--precision must be fp32, tf32 or bf16, got 'fp16'") != std::string::npos);
  }
  const std::string out = (dir.path / "run").string();
  Run first = run_tinct("train --model regression --data " + quote(pack) + " --out " + quote(out) +
                        " --batch 4 --crop 32 --holdout 6 --steps 2 --eval-every 2 --precision bf16 --quiet");
  INFO(first.output);
  REQUIRE(first.code == 0);
  CHECK(models::read_config(out + "/config.json").precision == "bf16");
  Run changed = run_tinct("train --resume --out " + quote(out) + " --steps 3 --precision tf32");
  INFO(changed.output);
  CHECK(changed.code == 2);
  CHECK(changed.output.find("--precision \"tf32\" differs from the run's \"bf16\"") != std::string::npos);
  Run same = run_tinct("train --resume --out " + quote(out) + " --steps 3 --quiet");
  INFO(same.output);
  CHECK(same.code == 0);
  CHECK(models::read_config(out + "/config.json").precision == "bf16");
}
