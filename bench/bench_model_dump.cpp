// bench_model_dump.cpp — one training step of a colorizer, written out for
// the PyTorch reference (bench/torch_ref/torch_ref.py --check) to redo.
//
//   bench_model_dump --model regression|classification|gan --preset full|compact
//                    [--batch 4] [--size 64] [--seed 1] [--lr X] [--device cpu|cuda]
//                    -o FILE.safetensors
//
// One safetensors file holds:
//   before.<name>        state(false) before the step: weights, BN running
//                        statistics (and the classification prior)
//   batch.L, batch.ab    the synthetic batch, [N,1,S,S] and [N,2,S,S]
//   batch.ab_raw         ab in LAB units, when the model needs it
//   batch.extra_f.<key>  what batch_transform() made (classification: cells
//                        [N,2,S/4,S/4], weight [N,1,S/4,S/4], and target
//                        [N,Q,S/4,S/4], made here from the cells when the
//                        model runs on the GPU and soft-encodes there)
//   after.<name>         state(true) after the step: weights, running
//                        statistics, Adam state (optim.state.<i>.exp_avg, ...)
//   loss.<name>          each loss train_step returned, shape [1]
// and metadata model, preset, batch, size, seed, lr, beta1, beta2, eps,
// weight_decay, device, loss_names (and bins, l1_lambda where they apply).
//
// After exactly one Adam step exp_avg = (1 - beta1) * grad, so the file
// carries every parameter's gradient without reaching into the model.
// Uses only the public models API; runs on the CPU unless --device says
// otherwise (the weights start from the seed on the CPU either way, so a
// GPU dump checks tinct's CUDA step against the same PyTorch reference).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "models/color/gamut.h"
#include "models/color/rebalance.h"
#include "models/color/soft_encode.h"
#include "models/colorizer.h"
#include "models/gan.h"

using namespace tinct;

namespace {

// The Adam hyper-parameters colorizer_<kind>.cpp uses (eps 1e-8, no weight
// decay for all three). The learning rate is passed explicitly so the file
// states what ran; betas are not settable, and a mismatch here shows up as
// failing updated weights in the check.
struct AdamHp { float lr, beta1, beta2, eps, weight_decay; };
AdamHp adam_for(const std::string& kind) {
  if (kind == "regression") return {1e-3f, 0.9f, 0.999f, 1e-8f, 0.f};
  if (kind == "classification") return {3e-4f, 0.9f, 0.999f, 1e-8f, 0.f};
  if (kind == "gan") return {2e-4f, 0.5f, 0.999f, 1e-8f, 0.f};
  throw std::invalid_argument("unknown model '" + kind + "'");
}

// A smooth random field over S x S in (-1, 1): tanh of four random plane
// waves of 0.5 to 3 cycles per image (smooth like a photo, never constant).
void smooth_field(Rng& rng, int S, float* out) {
  float fx[4], fy[4], ph[4], amp[4];
  for (int k = 0; k < 4; ++k) {
    fx[k] = rng.uniform(-3.f, 3.f);
    fy[k] = rng.uniform(0.5f, 3.f);
    ph[k] = rng.uniform(0.f, 6.2831853f);
    amp[k] = rng.uniform(0.3f, 1.f);
  }
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      float v = 0;
      for (int k = 0; k < 4; ++k) v += amp[k] * std::sin(6.2831853f * (fx[k] * x + fy[k] * y) / S + ph[k]);
      out[size_t(y) * S + x] = std::tanh(v);
    }
}

// L/50 - 1 within [-0.9, 0.9]; ab/110 within +-0.6 (|ab| <= 66 in LAB units).
data::Batch synthetic_batch(int n, int S, uint64_t seed, bool raw_ab) {
  Rng rng(seed * 0x9E3779B97F4A7C15ull + 17);
  data::Batch b;
  b.n = n;
  b.size = S;
  const size_t hw = size_t(S) * S;
  b.L.resize(n * hw);
  b.ab.resize(n * 2 * hw);
  for (int i = 0; i < n; ++i) {
    smooth_field(rng, S, b.L.data() + i * hw);
    for (size_t j = 0; j < hw; ++j) b.L[i * hw + j] *= 0.9f;
    for (int c = 0; c < 2; ++c) {
      float* p = b.ab.data() + (size_t(i) * 2 + c) * hw;
      smooth_field(rng, S, p);
      for (size_t j = 0; j < hw; ++j) p[j] *= 0.6f;
    }
    b.index.push_back(uint32_t(i));
  }
  if (raw_ab) {
    b.ab_raw.resize(b.ab.size());
    for (size_t j = 0; j < b.ab.size(); ++j) b.ab_raw[j] = b.ab[j] * 110.f;
  }
  return b;
}

void add(std::vector<NamedArray>& out, const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
  out.push_back({name, std::move(shape), std::move(v)});
}

// Copies (the state's tensors alias the model's storage, which the step changes).
void add_state(std::vector<NamedArray>& out, const std::string& prefix, const std::map<std::string, Tensor>& s) {
  for (const auto& [k, t] : s) add(out, prefix + k, t.shape(), t.to_vector());
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "%s\nusage: bench_model_dump --model regression|classification|gan --preset full|compact\n"
               "                        [--batch N=4] [--size S=64] [--seed K=1] [--lr X] [--device cpu|cuda]\n"
               "                        -o FILE.safetensors\n",
               msg);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string kind, preset = "compact", out, device = "cpu";
  int n = 4, S = 64;
  uint64_t seed = 1;
  float lr = 0.f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--model") kind = v;
    else if (a == "--preset") preset = v;
    else if (a == "--batch") n = std::atoi(v.c_str());
    else if (a == "--size") S = std::atoi(v.c_str());
    else if (a == "--seed") seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--lr") lr = std::strtof(v.c_str(), nullptr);
    else if (a == "--device") device = v;
    else if (a == "-o") out = v;
    else usage(("unknown option " + a).c_str());
  }
  if (kind.empty() || out.empty()) usage("--model and -o are required");
  try {
    AdamHp hp = adam_for(kind);
    if (lr > 0) hp.lr = lr;
    models::ColorizerOptions o;
    o.kind = kind;
    o.preset = preset;
    o.seed = seed;
    o.lr = hp.lr;
    o.device = parse_device(device);
    auto model = models::make_colorizer(o);
    if (n < 2 || S % model->size_multiple() != 0)
      usage(("need --batch >= 2 and --size a multiple of " + std::to_string(model->size_multiple())).c_str());

    data::Batch batch = synthetic_batch(n, S, seed, model->needs_raw_ab());
    std::map<std::string, std::string> meta = model->metadata();

    if (kind == "classification") {
      // prepare() wants a pack of images; the same prior computed from this
      // batch's ab (histogram, smoothing, rebalancing: the code prepare()
      // runs) gives non-uniform pixel weights, set through load_state.
      const color::AbGamut& gamut = color::AbGamut::named(meta.at("gamut"));  // the model's own bins
      color::BinHistogram hist(gamut.size());
      for (int i = 0; i < n; ++i) hist.add_ab(gamut, batch.ab_raw.data() + size_t(i) * 2 * S * S, size_t(S) * S);
      const color::RebalancePrior prior = color::RebalancePrior::from_histogram(gamut, hist);
      auto st = model->state(false);
      st["prior.p"] = Tensor::from_vector({gamut.size()}, prior.p);
      st["prior.weights"] = Tensor::from_vector({gamut.size()}, prior.weights);
      model->load_state(st, false);
      meta["prior"] = "from the synthetic batch's ab (histogram, sigma 5, lambda 0.5)";
    }
    if (kind == "gan") meta["l1_lambda"] = std::to_string(models::GanConfig::preset(preset).l1_lambda);
    if (auto t = model->batch_transform()) t(batch);

    std::vector<NamedArray> arrays;
    add_state(arrays, "before.", model->state(false));
    add(arrays, "batch.L", {n, 1, S, S}, batch.L);
    add(arrays, "batch.ab", {n, 2, S, S}, batch.ab);
    if (!batch.ab_raw.empty()) add(arrays, "batch.ab_raw", {n, 2, S, S}, batch.ab_raw);
    for (const auto& [k, v] : batch.extra_f) {
      // Per-pixel planes: [N, C, r, r] at the largest r in S, S/2, S/4, ...
      // that fits (classification: target [N,Q,S/4,S/4], weight [N,1,S/4,S/4]).
      const int64_t per = int64_t(v.size()) / n;
      std::vector<int64_t> shape = {n, per};
      for (int64_t r = S; r >= 1; r /= 2)
        if (per % (r * r) == 0) {
          shape = {n, per / (r * r), r, r};
          break;
        }
      add(arrays, "batch.extra_f." + k, shape, v);
    }
    if (kind == "classification" && !batch.extra_f.count("target")) {
      // On the GPU the model soft-encodes the cells there; the file gets the
      // CPU encoding of the same cells (the two agree: test_gpu_color).
      const color::AbGamut& gamut = color::AbGamut::named(meta.at("gamut"));  // the model's own bins
      const int s = S / 4, Q = gamut.size();
      const size_t hw = size_t(s) * s;
      const std::vector<float>& cells = batch.extra_f.at("cells");
      std::vector<float> target(size_t(n) * Q * hw);
      for (int i = 0; i < n; ++i)
        color::soft_encode_dense(gamut, cells.data() + size_t(i) * 2 * hw, hw, target.data() + size_t(i) * Q * hw);
      add(arrays, "batch.extra_f.target", {n, Q, s, s}, target);
    }

    const models::Losses losses = model->train_step(batch);
    add_state(arrays, "after.", model->state(true));
    std::string names;
    for (const auto& [k, v] : losses) {
      add(arrays, "loss." + k, {1}, {v});
      names += (names.empty() ? "" : ",") + k;
    }

    meta["model"] = kind;
    meta["preset"] = preset;
    meta["batch"] = std::to_string(n);
    meta["size"] = std::to_string(S);
    meta["seed"] = std::to_string(seed);
    char buf[64];
    for (auto [key, val] : {std::pair<const char*, float>{"lr", hp.lr}, {"beta1", hp.beta1}, {"beta2", hp.beta2},
                            {"eps", hp.eps}, {"weight_decay", hp.weight_decay}}) {
      std::snprintf(buf, sizeof buf, "%.9g", double(val));
      meta[key] = buf;
    }
    meta["loss_names"] = names;
    meta["device"] = describe_device(o.device);
    save_safetensors(out, arrays, meta);
    std::printf("%s %s: %lld parameters, batch %d x %d^2,", kind.c_str(), preset.c_str(),
                (long long)model->num_parameters(), n, S);
    for (const auto& [k, v] : losses) std::printf(" %s %.6g", k.c_str(), double(v));
    std::printf(" -> %s\n", out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_model_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
