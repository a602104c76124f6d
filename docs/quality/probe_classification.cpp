// probe_classification.cpp — the experiment of docs/quality.md, kept to rerun it (not built
// by CMake). From the repository root, after building the libraries in BUILD:
//   g++ -std=c++20 -O2 -march=native -fopenmp -I. docs/quality/probe_classification.cpp \
//     BUILD/libtinct_models.a BUILD/libtinct_engine.a BUILD/libtinct_kernels.a -o probe_classification
//   ./probe_classification WEIGHTS SIZE IMAGE...
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>
#include "engine/checkpoint.h"
#include "engine/autograd.h"
#include "models/classification.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/color/decode.h"
#include "models/data/image.h"
#include "models/data/loader.h"
#include "models/eval/metrics.h"
using namespace tinct;
int main(int argc, char** argv) {
  Checkpoint c = load_checkpoint(argv[1]);
  int size = std::atoi(argv[2]);
  std::vector<float> w = c.tensors.at("prior.weights").to_vector(), p = c.tensors.at("prior.p").to_vector();
  const color::AbGamut& g = color::AbGamut::standard();
  int Q = g.size();
  Rng rng(1);
  models::ClassificationNet net(models::ClassificationConfig::preset("compact", Q), rng);
  net.load_state_dict(strip_prefix(c.tensors, "model."));
  net.eval();
  // prior mean colour
  double pa = 0, pb = 0; for (int q = 0; q < Q; ++q) { pa += p[q] * g.centre(q).a; pb += p[q] * g.centre(q).b; }
  std::printf("training prior mean a %.2f b %.2f\n", pa, pb);
  { double sw = 0, wa = 0, wb = 0; for (int q = 0; q < Q; ++q) { sw += p[q] * w[q]; wa += p[q] * w[q] * g.centre(q).a; wb += p[q] * w[q] * g.centre(q).b; }
    std::printf("rebalanced (p*w) prior mean a %.2f b %.2f (sum p w = %.3f)\n", wa / sw, wb / sw, sw);
    double ua = 0, ub = 0; for (int q = 0; q < Q; ++q) { ua += g.centre(q).a / Q; ub += g.centre(q).b / Q; }
    std::printf("uniform over the gamut's bins: mean a %.2f b %.2f\n", ua, ub); }
  std::vector<double> Ts = {1.0, 0.8, 0.6, 0.38}, Bs = {0.0, 0.25, 0.5, 0.75};
  const size_t K = Ts.size() * Bs.size();
  std::vector<double> sa(K), sb(K), ea(K), eb(K), err(K), chr(K); double tchr = 0; std::vector<eval::AbErrorCurve> curves(K);
  double ta = 0, tb = 0; int nimg = 0;
  auto weight_of = eval::nearest_bin_weights(g, w);
  for (int i = 3; i < argc; ++i) {
    data::Image photo = data::load_image(argv[i]);
    double scale = double(size) / std::min(photo.width, photo.height);
    int mw = std::max(8, int(std::lround(photo.width * scale / 8)) * 8), mh = std::max(8, int(std::lround(photo.height * scale / 8)) * 8);
    mw = std::min(mw, 2 * size); mh = std::min(mh, 2 * size);
    data::Image small = data::resize(photo, mw, mh);
    data::Image tiny = data::resize(photo, mw / 4, mh / 4);
    size_t ns = small.pixel_count(), nt = tiny.pixel_count();
    std::vector<float> L(ns), ab(2 * ns), Lt(nt), abt(2 * nt);
    data::FastLab().convert(small.pixels.data(), ns, L.data(), ab.data());
    data::FastLab().convert(tiny.pixels.data(), nt, Lt.data(), abt.data());
    color::normalize_L(L.data(), ns);
    NoGrad ng;
    Tensor logits = net(Tensor::from_vector({1, 1, mh, mw}, L));
    std::vector<float> s = logits.to_vector();
    size_t hw = size_t(mh / 4) * (mw / 4);
    double mta = 0, mtb = 0; for (size_t j = 0; j < hw; ++j) { mta += abt[j]; mtb += abt[hw + j]; }
    mta /= hw; mtb /= hw; tchr += eval::mean_chroma(abt.data(), hw); ta += mta; tb += mtb; ++nimg;
    size_t k = 0;
    for (double B : Bs) {
      std::vector<float> s2 = s;
      for (int q = 0; q < Q; ++q) for (size_t j = 0; j < hw; ++j) s2[q * hw + j] -= float(B * std::log(w[q]));
      for (double T : Ts) {
        std::vector<float> out(2 * hw);
        color::decode_logits(g, s2.data(), hw, out.data(), float(T));
        double ma = 0, mb = 0; for (size_t j = 0; j < hw; ++j) { ma += out[j]; mb += out[hw + j]; }
        ma /= hw; mb /= hw;
        sa[k] += ma; sb[k] += mb; ea[k] += std::fabs(ma - mta); eb[k] += std::fabs(mb - mtb); err[k] += std::hypot(ma - mta, mb - mtb);
        chr[k] += eval::mean_chroma(out.data(), hw); curves[k].add(out.data(), abt.data(), hw, weight_of);
        ++k;
      }
    }
  }
  std::printf("%d images, truth mean a %.2f b %.2f chroma %.1f\n", nimg, ta / nimg, tb / nimg, tchr / nimg);
  std::printf("beta  T     mean_a  mean_b  cast_a  cast_b  |da|   |db|  mc_err  rawAuC  rebAuC  chroma\n");
  size_t k = 0;
  for (double B : Bs) for (double T : Ts) {
    std::printf("%.1f  %.2f  %6.2f  %6.2f  %+6.2f  %+6.2f  %5.2f  %5.2f  %5.2f  %6.2f  %6.2f  %5.1f\n", B, T, sa[k] / nimg, sb[k] / nimg,
                sa[k] / nimg - ta / nimg, sb[k] / nimg - tb / nimg, ea[k] / nimg, eb[k] / nimg, err[k] / nimg,
                100 * curves[k].auc(), 100 * curves[k].auc_rebalanced(), chr[k] / nimg);
    ++k;
  }
}
