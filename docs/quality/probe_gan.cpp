// probe_gan.cpp — the experiment of docs/quality.md, kept to rerun it (not built
// by CMake). From the repository root, after building the libraries in BUILD:
//   g++ -std=c++20 -O2 -march=native -fopenmp -I. docs/quality/probe_gan.cpp \
//     BUILD/libtinct_models.a BUILD/libtinct_engine.a BUILD/libtinct_kernels.a -o probe_gan
//   ./probe_gan IMAGE SIZE [--bn train|eval] [--equalize up1,...,up5] [--truth] [--png OUT] [--save F] [--weights F]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <sstream>
#include "engine/checkpoint.h"
#include "engine/autograd.h"
#include "models/gan.h"
#include "models/data/image.h"
#include "models/data/loader.h"
#include "models/color/lab.h"
#include "models/eval/artifact.h"
using namespace tinct;
int main(int argc, char** argv) {
  std::string img = argv[1]; int size = std::atoi(argv[2]);
  std::string bn = "eval", eq, png, weights = "weights/gan.safetensors";
  bool truth = false; std::string save;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bn") bn = argv[++i]; else if (a == "--equalize") eq = argv[++i];
    else if (a == "--png") png = argv[++i]; else if (a == "--weights") weights = argv[++i];
    else if (a == "--truth") truth = true;
    else if (a == "--save") save = argv[++i];
  }
  data::Image photo = data::load_image(img);
  const int m = 32;
  double scale = double(size) / std::min(photo.width, photo.height);
  int mw = std::max(m, int(std::lround(photo.width * scale / m)) * m), mh = std::max(m, int(std::lround(photo.height * scale / m)) * m);
  data::Image small = data::resize(photo, mw, mh);
  size_t ns = small.pixel_count();
  std::vector<float> L(ns), ab(2 * ns);
  data::FastLab().convert(small.pixels.data(), ns, L.data(), ab.data());
  std::vector<float> Lraw = L;
  std::vector<float> out(2 * ns);
  if (truth) { out = ab; } else {
    color::normalize_L(L.data(), ns);
    Rng rng(1);
    models::Generator gen(32, rng);
    Checkpoint c = load_checkpoint(weights);
    auto g = strip_prefix(c.tensors, "model.gen.");
    std::stringstream ss(eq); std::string layer;
    while (std::getline(ss, layer, ',')) {
      if (layer.empty()) continue;
      Tensor& w = g.at(layer + ".0.weight");  // [in, out, 4, 4]
      Tensor wc = w.to(Device::CPU);
      std::vector<float> v = wc.to_vector();
      int I = w.size(0), O = w.size(1);
      double imb = 0, tot = 0;
      for (int i = 0; i < I; ++i) for (int o = 0; o < O; ++o) {
        float* k = v.data() + (size_t(i) * O + o) * 16;
        // phase py uses ky in {1,3} (py=0) or {0,2} (py=1); same for x
        double s[2][2] = {{0,0},{0,0}};
        for (int ky = 0; ky < 4; ++ky) for (int kx = 0; kx < 4; ++kx) s[(ky + 1) % 2][(kx + 1) % 2] += k[ky * 4 + kx];
        double mean = (s[0][0] + s[0][1] + s[1][0] + s[1][1]) / 4;
        for (int a = 0; a < 2; ++a) for (int b = 0; b < 2; ++b) { imb += std::fabs(s[a][b] - mean); tot += std::fabs(mean); }
        for (int ky = 0; ky < 4; ++ky) for (int kx = 0; kx < 4; ++kx) k[ky * 4 + kx] += float((mean - s[(ky + 1) % 2][(kx + 1) % 2]) / 4);
      }
      std::fprintf(stderr, "%s: phase-sum imbalance %.3f (mean |phase sum - mean| / mean |mean|)\n", layer.c_str(), imb / tot);
      w = Tensor::from_vector(w.shape(), v);
    }
    gen.load_state_dict(g);
    if (!save.empty()) { auto t = c.tensors; for (auto& [k, v] : g) t["model.gen." + k] = v; save_checkpoint(save, t, c.metadata, DType::F16); std::fprintf(stderr, "saved %s\n", save.c_str()); }
    NoGrad ng;
    if (bn == "train") gen.train(); else gen.eval();
    Tensor y = gen(Tensor::from_vector({1, 1, mh, mw}, L));
    std::vector<float> yv = y.to_vector();
    for (size_t i = 0; i < 2 * ns; ++i) out[i] = yv[i] * color::kAbScale;
  }
  double ma = 0, mb = 0; for (size_t i = 0; i < ns; ++i) { ma += out[i]; mb += out[ns + i]; }
  eval::LatticeScore whole = eval::lattice_score_region(out.data(), ns, mw, 0, 0, mw, mh, mw, mh);
  eval::LatticeScore s = eval::lattice_score(out.data(), mw, mh, mw, mh);
  // per-period whole-image scores
  std::printf("%s size %d grid %dx%d bn %s eq [%s]: mean a %.2f b %.2f; whole-image score %.2f (p %d); tiled score %.2f (p %d at %d,%d)  per period:",
              img.c_str(), size, mw, mh, bn.c_str(), eq.c_str(), ma / ns, mb / ns, whole.score, whole.period, s.score, s.period, s.tile_x, s.tile_y);
  for (int p : eval::lattice_periods()) {
    eval::LatticeScore q = eval::lattice_score(out.data(), mw, mh, mw, mh, {p});
    std::printf(" %d:%.2f", p, q.score);
  }
  std::printf("\n");
  if (!png.empty()) {
    data::Image o(mw, mh, 3);
    color::lab_to_srgb_image(Lraw.data(), out.data(), ns, o.pixels.data());
    data::save_png(png, o);
  }
}
