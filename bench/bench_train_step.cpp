// bench_train_step.cpp — images/s of one training step of each colorizer
// (forward, backward, Adam), and the time of one 512x512 inference forward:
// tinct's half of the side-by-side with bench/torch_ref/torch_ref.py --time.
//
// The same protocol as docs/anchors.md: `full` presets (classification with
// 313 bins), batch 64 of 128x128, FP32, a synthetic batch resident on the
// device, 5 warm-up steps, then the median of 3 blocks of 20 steps; the clock
// stops after the device has finished each block. Steps do not read their
// losses back (no synchronisation inside a block), as PyTorch's loop doesn't.
// GAN: one D update (real + detached fake, LSGAN) and one G update
// (100 * L1 + LSGAN), Adam 2e-4 (0.5, 0.999). --precision tf32|bf16 runs the
// convolutions at that precision (engine/precision.h; default fp32).
// --phases equalized trains as `tinct train --phases equalized` does (each
// transposed convolution's gradient projected before the update and its
// weights after it, models/deconv_phases.h) and times the forward as
// `tinct colorize` runs it (phases equalized for the prediction): beside the
// default (free), the cost of the projection.
//
// usage: bench_train_step [--model regression|classification|gan|all]
//        [--device auto|cpu|cuda] [--precision fp32|tf32|bf16] [--preset full|compact] [--batch 64]
//        [--size 128] [--warmup 5] [--steps 20] [--blocks 3] [--no-infer] [--phases free|equalized]
// Last lines, for scripts:
//   RESULT tinct train <model> <images/s> <ms/step>
//   RESULT tinct infer512 <model> <ms>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/optim.h"
#include "engine/layout.h"
#include "engine/precision.h"
#include "engine/random.h"
#include "models/classification.h"
#include "models/gan.h"
#include "models/regression.h"

using namespace tinct;

namespace {

struct Options {
  std::string model = "all", device = "auto", preset = "full";
  int batch = 64, size = 128, warmup = 5, steps = 20, blocks = 3;
  bool infer = true;
  std::string phases = "free";  // --phases equalized: as tinct train --phases equalized
};

Tensor uniform(const Shape& s, Rng& rng, float lo, float hi, Device d) { return rand_uniform(s, rng, lo, hi).to(d); }

// Soft targets that sum to one over the bins at each pixel.
Tensor soft_targets(int n, int q, int h, int w, Rng& rng, Device d) {
  std::vector<float> v(size_t(n) * q * h * w);
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < h * w; ++p) {
      double s = 0;
      for (int k = 0; k < q; ++k) s += (v[(size_t(i) * q + k) * h * w + p] = rng.uniform());
      for (int k = 0; k < q; ++k) v[(size_t(i) * q + k) * h * w + p] = float(v[(size_t(i) * q + k) * h * w + p] / s);
    }
  return Tensor::from_vector({n, q, h, w}, v, d);
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median over blocks of the mean ms per call.
double time_ms(const std::function<void()>& step, const Options& o) {
  for (int i = 0; i < o.warmup; ++i) step();
  device::synchronize();
  std::vector<double> per;
  for (int b = 0; b < o.blocks; ++b) {
    const double t0 = now_ms();
    for (int i = 0; i < o.steps; ++i) step();
    device::synchronize();
    per.push_back((now_ms() - t0) / o.steps);
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

struct Result {
  std::string model;
  double train_ms = 0, infer_ms = -1;
  int64_t params = 0;
};

// The forward as colorize runs it: with --phases equalized, its transposed
// convolutions equalized for the call (made on the device each time on a GPU),
// through the scope colorize uses.
template <class Net>
Tensor predict(Net& net, const Tensor& x, bool equalized) {
  if (!equalized) return net(x);
  const models::EqualizedForInference<Net> scope(net);
  return net(x);
}

Result bench_model(const std::string& kind, const Options& o, Device dev) {
  Rng rng(1);
  const bool equalized = o.phases == "equalized";
  Result r;
  r.model = kind;
  const int N = o.batch, S = o.size;
  Tensor L = uniform({N, 1, S, S}, rng, -1, 1, dev);
  Tensor ab = uniform({N, 2, S, S}, rng, -0.6f, 0.6f, dev);
  std::function<void()> step;
  std::function<Tensor(const Tensor&)> infer;
  std::shared_ptr<nn::Module> keep1, keep2;
  std::shared_ptr<optim::Adam> opt1, opt2;
  if (kind == "regression") {
    auto net = std::make_shared<models::RegressionNet>(models::RegressionConfig::preset(o.preset), rng);
    net->to(dev);
    opt1 = std::make_shared<optim::Adam>(net->parameters(), optim::adam(1e-3f));
    models::DeconvPhases* ph = equalized ? &net->deconv_phases() : nullptr;
    if (ph) ph->project_parameters();
    step = [=] {
      net->train();
      opt1->zero_grad();
      ops::mse_loss((*net)(L), ab).backward();
      if (ph) ph->project_gradients();
      opt1->step();
      if (ph) ph->project_parameters();
    };
    infer = [=](const Tensor& x) { return predict(*net, x, equalized); };
    keep1 = net;
    r.params = net->num_parameters();
  } else if (kind == "classification") {
    auto net = std::make_shared<models::ClassificationNet>(models::ClassificationConfig::preset(o.preset, 313), rng);
    net->to(dev);
    opt1 = std::make_shared<optim::Adam>(net->parameters(), optim::adam(3e-4f));
    Tensor target = soft_targets(N, 313, S / 4, S / 4, rng, dev);
    Tensor weight = uniform({N, 1, S / 4, S / 4}, rng, 0.2f, 3.f, dev);
    models::DeconvPhases* ph = equalized ? &net->deconv_phases() : nullptr;
    if (ph) ph->project_parameters();
    step = [=] {
      net->train();
      opt1->zero_grad();
      ops::soft_cross_entropy((*net)(L), target, weight).backward();
      if (ph) ph->project_gradients();
      opt1->step();
      if (ph) ph->project_parameters();
    };
    infer = [=](const Tensor& x) { return predict(*net, x, equalized); };
    keep1 = net;
    r.params = net->num_parameters();
  } else if (kind == "gan") {
    const models::GanConfig cfg = models::GanConfig::preset(o.preset);
    auto gen = std::make_shared<models::Generator>(cfg.gen_base, rng);
    auto disc = std::make_shared<models::Discriminator>(cfg.disc_base, rng);
    gen->to(dev);
    disc->to(dev);
    optim::AdamOptions a = optim::adam(2e-4f);
    a.beta1 = 0.5f;
    opt1 = std::make_shared<optim::Adam>(gen->parameters(), a);
    opt2 = std::make_shared<optim::Adam>(disc->parameters(), a);
    models::DeconvPhases* ph = equalized ? &gen->deconv_phases() : nullptr;
    if (ph) ph->project_parameters();
    step = [=] {
      gen->train();
      disc->train();
      Tensor fake = (*gen)(L);
      opt2->zero_grad();
      Tensor real_loss = ops::lsgan_loss((*disc)(ops::concat({L, ab})), true);  // real first, as the colorizer
      Tensor fake_loss = ops::lsgan_loss((*disc)(ops::concat({L, fake.detach()})), false);
      Tensor ld = ops::mul(ops::add(real_loss, fake_loss), 0.5f);
      ld.backward();
      opt2->step();
      opt1->zero_grad();
      {
        const nn::Module::Frozen frozen = disc->frozen();  // as the colorizer: no gradients for D
        Tensor lg = ops::add(ops::mul(ops::l1_loss(fake, ab), 100.f),
                             ops::lsgan_loss((*disc)(ops::concat({L, fake})), true));
        lg.backward();
      }
      if (ph) ph->project_gradients();
      opt1->step();
      if (ph) ph->project_parameters();
    };
    infer = [=](const Tensor& x) { return predict(*gen, x, equalized); };
    keep1 = gen;
    keep2 = disc;
    r.params = gen->num_parameters() + disc->num_parameters();
  } else {
    throw std::invalid_argument("unknown model '" + kind + "' (regression, classification, gan, all)");
  }
  r.train_ms = time_ms(step, o);
  if (o.infer) {
    keep1->eval();
    Tensor x = uniform({1, 1, 512, 512}, rng, -1, 1, dev);
    NoGrad ng;
    r.infer_ms = time_ms([&] { infer(x); }, o);
  }
  return r;
}

int parse_int(const char* flag, const char* v) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (!end || *end || x < 1 || x > 100000) throw std::invalid_argument(std::string(flag) + ": not a positive integer: " + v);
  return int(x);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto val = [&]() -> const char* {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--model") o.model = val();
      else if (a == "--device") o.device = val();
      else if (a == "--precision") set_precision(parse_precision(val()));
      else if (a == "--layout") set_layout(parse_layout(val()));
      else if (a == "--preset") o.preset = val();
      else if (a == "--batch") o.batch = parse_int("--batch", val());
      else if (a == "--size") o.size = parse_int("--size", val());
      else if (a == "--warmup") o.warmup = parse_int("--warmup", val());
      else if (a == "--steps") o.steps = parse_int("--steps", val());
      else if (a == "--blocks") o.blocks = parse_int("--blocks", val());
      else if (a == "--no-infer") o.infer = false;
      else if (a == "--phases") {
        o.phases = val();
        if (o.phases != "free" && o.phases != "equalized")
          throw std::invalid_argument("--phases must be free or equalized, got '" + o.phases + "'");
      }
      else if (a == "--help" || a == "-h") {
        std::puts("usage: bench_train_step [--model regression|classification|gan|all] [--device auto|cpu|cuda]\n"
                  "       [--precision fp32|tf32|bf16] [--layout nchw|nhwc] [--preset full|compact] [--batch 64] [--size 128] [--warmup 5] [--steps 20] [--blocks 3]\n"
                  "       [--no-infer] [--phases free|equalized]");
        return 0;
      } else {
        throw std::invalid_argument("unknown option " + a);
      }
    }
    if (o.size % 32) throw std::invalid_argument("--size must be a multiple of 32 (the GAN's U-Net)");
    check_layout(layout(), precision());
    const Device dev = parse_device(o.device);
    std::printf("tinct train step: %s, preset %s, batch %d of %dx%d, convolutions %s, activations %s, phases %s; %d warm-up, median of %d blocks of %d\n",
                describe_device(dev).c_str(), o.preset.c_str(), o.batch, o.size, o.size, precision_name(precision()),
                channels_last_on(dev) ? "nhwc" : "nchw", o.phases.c_str(), o.warmup, o.blocks, o.steps);
    std::vector<std::string> kinds;
    if (o.model == "all") kinds = {"regression", "classification", "gan"};
    else kinds = {o.model};
    std::vector<Result> rs;
    for (const auto& k : kinds) {
      rs.push_back(bench_model(k, o, dev));
      const Result& r = rs.back();
      std::printf("  %-15s %11lld params  %9.2f ms/step  %9.1f images/s", r.model.c_str(), (long long)r.params,
                  r.train_ms, o.batch * 1000.0 / r.train_ms);
      if (r.infer_ms >= 0) std::printf("  | 512x512 forward %8.2f ms", r.infer_ms);
      std::printf("\n");
      std::fflush(stdout);
      device::empty_cache();
    }
    const std::string mem = device::memory_summary();
    if (!mem.empty()) std::printf("%s\n", mem.c_str());
    for (const Result& r : rs) {
      std::printf("RESULT tinct train %s %.1f %.3f\n", r.model.c_str(), o.batch * 1000.0 / r.train_ms, r.train_ms);
      if (r.infer_ms >= 0) std::printf("RESULT tinct infer512 %s %.3f\n", r.model.c_str(), r.infer_ms);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train_step: %s\n", e.what());
    return 1;
  }
}
