// bench_peer_forward.cpp — tinct's half of the CPU peer comparison
// (bench/cpu_peer/run.py, issue 13 item 4): the 512x512 eval forward of each
// colorizer and one training step, on the CPU, at a thread count chosen per
// command, so that one driver can interleave tinct with PyTorch and ONNX
// Runtime round by round (all see the same load).
//
// A small server: reads commands on stdin, one a line, answers one line each.
//   params <kind> <preset>                 -> "params <n>" (generator alone for gan)
//   fwd <kind> <preset> <threads> <reps>   -> "ms <t1> <t2> ..." one per rep
//   train <kind> <preset> <threads> <batch> <size> <reps> -> "ms ..." per step
//   precision fp32|tf32|bf16               -> "precision <name>": the convolutions'
//                                             arithmetic from then on (engine/precision.h;
//                                             bf16 on the CPU: the AMX / AVX-512 BF16 GEMM where
//                                             present), default fp32
//   cputime on|off                         -> "cputime on": fwd / train report the
//                                             process's CPU time, "cpu_ms <t1> ...", from then on
//   quit
// kind: regression | classification (313 bins) | gan (the generator, as
// colorize runs it). Models are built once per (kind, preset) from seed 1 and
// kept; the first command on each does one untimed warm-up call. Forward: eval
// mode, under NoGrad, on a 1x1x512x512 L input in [-1, 1], as bench_train_step.
// Train: the same step as bench_train_step (Adam, synthetic batch); the GAN's
// is one D and one G update. Errors: "error <message>".
#include <omp.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/optim.h"
#include "engine/precision.h"
#include "engine/random.h"
#include "models/classification.h"
#include "models/gan.h"
#include "models/regression.h"

using namespace tinct;

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Tensor soft_targets(int n, int q, int h, int w, Rng& rng) {
  std::vector<float> v(size_t(n) * q * h * w);
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < h * w; ++p) {
      double s = 0;
      for (int k = 0; k < q; ++k) s += (v[(size_t(i) * q + k) * h * w + p] = rng.uniform());
      for (int k = 0; k < q; ++k) v[(size_t(i) * q + k) * h * w + p] = float(v[(size_t(i) * q + k) * h * w + p] / s);
    }
  return Tensor::from_vector({n, q, h, w}, v, Device::CPU);
}

// One model (kind, preset): its forward and, built on first use, a training step.
struct Entry {
  std::shared_ptr<nn::Module> net, disc;
  int64_t params = 0;
  Tensor x512;
  bool warm_fwd = false;
  std::string train_key;  // batch x size of the step below
  std::function<void()> step;
};

std::shared_ptr<Entry> make_entry(const std::string& kind, const std::string& preset) {
  Rng rng(1);
  auto e = std::make_shared<Entry>();
  if (kind == "regression") {
    e->net = std::make_shared<models::RegressionNet>(models::RegressionConfig::preset(preset), rng);
  } else if (kind == "classification") {
    e->net = std::make_shared<models::ClassificationNet>(models::ClassificationConfig::preset(preset, 313), rng);
  } else if (kind == "gan") {
    const models::GanConfig cfg = models::GanConfig::preset(preset);
    e->net = std::make_shared<models::Generator>(cfg.gen_base, rng);
    e->disc = std::make_shared<models::Discriminator>(cfg.disc_base, rng);
  } else {
    throw std::invalid_argument("unknown model '" + kind + "'");
  }
  e->params = e->net->num_parameters();
  e->x512 = rand_uniform({1, 1, 512, 512}, rng, -1, 1);
  return e;
}

void build_step(Entry& e, const std::string& kind, int N, int S) {
  Rng rng(2);
  Tensor L = rand_uniform({N, 1, S, S}, rng, -1, 1);
  Tensor ab = rand_uniform({N, 2, S, S}, rng, -0.6f, 0.6f);
  auto net = e.net;
  if (kind == "regression") {
    auto opt = std::make_shared<optim::Adam>(net->parameters(), optim::adam(1e-3f));
    e.step = [=] {
      net->train();
      opt->zero_grad();
      ops::mse_loss((*net)(L), ab).backward();
      opt->step();
    };
  } else if (kind == "classification") {
    auto opt = std::make_shared<optim::Adam>(net->parameters(), optim::adam(3e-4f));
    Tensor target = soft_targets(N, 313, S / 4, S / 4, rng);
    Tensor weight = rand_uniform({N, 1, S / 4, S / 4}, rng, 0.2f, 3.f);
    e.step = [=] {
      net->train();
      opt->zero_grad();
      ops::soft_cross_entropy((*net)(L), target, weight).backward();
      opt->step();
    };
  } else {
    auto disc = e.disc;
    optim::AdamOptions a = optim::adam(2e-4f);
    a.beta1 = 0.5f;
    auto og = std::make_shared<optim::Adam>(net->parameters(), a);
    auto od = std::make_shared<optim::Adam>(disc->parameters(), a);
    e.step = [=] {
      net->train();
      disc->train();
      Tensor fake = (*net)(L);
      od->zero_grad();
      Tensor real_loss = ops::lsgan_loss((*disc)(ops::concat({L, ab})), true);
      Tensor fake_loss = ops::lsgan_loss((*disc)(ops::concat({L, fake.detach()})), false);
      ops::mul(ops::add(real_loss, fake_loss), 0.5f).backward();
      od->step();
      og->zero_grad();
      {
        const nn::Module::Frozen frozen = disc->frozen();  // as the colorizer: no gradients for D
        ops::add(ops::mul(ops::l1_loss(fake, ab), 100.f), ops::lsgan_loss((*disc)(ops::concat({L, fake})), true))
            .backward();
      }
      og->step();
    };
  }
  e.train_key = std::to_string(N) + "x" + std::to_string(S);
  e.step();  // warm-up
}

// The process's CPU time (all threads), ms: on a loaded machine the work
// itself, where wall time carries the waits for a core.
double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
bool g_cpu_time = false;  // "cputime on": times() reports CPU ms ("cpu_ms ...")

std::string times(int reps, const std::function<void()>& f) {
  std::ostringstream os;
  os << (g_cpu_time ? "cpu_ms" : "ms");
  char buf[32];
  for (int i = 0; i < reps; ++i) {
    const double t0 = g_cpu_time ? cpu_ms() : now_ms();
    f();
    std::snprintf(buf, sizeof buf, " %.3f", (g_cpu_time ? cpu_ms() : now_ms()) - t0);
    os << buf;
  }
  return os.str();
}

}  // namespace

int main() {
  std::map<std::string, std::shared_ptr<Entry>> cache;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, kind, preset;
    in >> cmd;
    if (cmd.empty()) continue;
    if (cmd == "quit") break;
    try {
      if (cmd == "precision") {
        std::string name;
        in >> name;
        set_precision(parse_precision(name, "precision"));
        std::printf("precision %s\n", precision_name(precision()));
        std::fflush(stdout);
        continue;
      }
      if (cmd == "cputime") {
        std::string on;
        in >> on;
        g_cpu_time = on == "on";
        std::printf("cputime %s\n", g_cpu_time ? "on" : "off");
        std::fflush(stdout);
        continue;
      }
      in >> kind >> preset;
      if (!in) throw std::invalid_argument("usage: params|fwd|train <kind> <preset> ...");
      auto& e = cache[kind + "/" + preset];
      if (!e) e = make_entry(kind, preset);
      std::string out;
      if (cmd == "params") {
        out = "params " + std::to_string(e->params);
      } else if (cmd == "fwd") {
        int threads = 0, reps = 0;
        in >> threads >> reps;
        if (!in || threads < 1 || reps < 1) throw std::invalid_argument("fwd <kind> <preset> <threads> <reps>");
        omp_set_num_threads(threads);
        e->net->eval();
        NoGrad ng;
        if (!e->warm_fwd) (*e->net)(e->x512), e->warm_fwd = true;
        out = times(reps, [&] { (*e->net)(e->x512); });
      } else if (cmd == "train") {
        int threads = 0, batch = 0, size = 0, reps = 0;
        in >> threads >> batch >> size >> reps;
        if (!in || threads < 1 || batch < 1 || size < 32 || size % 32 || reps < 1)
          throw std::invalid_argument("train <kind> <preset> <threads> <batch> <size, multiple of 32> <reps>");
        omp_set_num_threads(threads);
        if (e->train_key != std::to_string(batch) + "x" + std::to_string(size)) build_step(*e, kind, batch, size);
        out = times(reps, e->step);
      } else {
        throw std::invalid_argument("unknown command " + cmd);
      }
      std::printf("%s\n", out.c_str());
    } catch (const std::exception& ex) {
      std::printf("error %s\n", ex.what());
    }
    std::fflush(stdout);
  }
  return 0;
}
