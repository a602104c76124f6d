// cmd_train.cpp — `tinct train`: options -> models::train().
#include <cmath>
#include <csignal>
#include <cstdio>
#include <stdexcept>

#include "apps/cli.h"
#include "models/train.h"

namespace tinct::cli {

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
}  // namespace

static const char* kTrainUsage =
    "usage: tinct train --model regression|classification|gan --data PACK --out DIR [options]\n"
    "\n"
    "Trains a colorizer on a pack made by `tinct prepare`. Ctrl-C saves a checkpoint\n"
    "and stops; --resume continues the run in DIR from its newest checkpoint.\n"
    "\n"
    "  --preset full|compact   model width (default compact; full = the papers' width)\n"
    "  --device auto|cpu|cuda  (default auto)\n"
    "  --batch N               images per step (default 32)\n"
    "  --steps N | --epochs E  length of the whole run (default 10 epochs)\n"
    "  --lr X                  learning rate (default: regression 1e-3, classification 3e-4, gan 2e-4)\n"
    "  --seed S                weights and data order (default 1)\n"
    "  --crop N                training crop (default 128)\n"
    "  --holdout N             validation images held out (default 64)\n"
    "  --eval-every N          validation losses and a sample grid every N steps (default 200)\n"
    "  --ckpt-every N          checkpoint every N steps (default 500)\n"
    "  --keep N                checkpoints kept (default 3)\n"
    "  --threads N             loader threads (default 2)\n"
    "  --resume                continue the run in --out\n"
    "  --init FILE             start from these weights (same kind; a 262-bin classification\n"
    "                          head is mapped to 313 bins by nearest centre)\n"
    "  --quiet                 no progress output\n";

int cmd_train(const Args& in) {
  Args args = in;
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::fputs(kTrainUsage, stdout);
    return 0;
  }
  models::TrainOptions o;
  std::string v;
  if (!take_option(args, "--model", o.model.kind)) throw std::invalid_argument("--model is required\n\n" + std::string(kTrainUsage));
  if (!take_option(args, "--data", o.data)) throw std::invalid_argument("--data is required (a pack from tinct prepare)");
  if (!take_option(args, "--out", o.out)) throw std::invalid_argument("--out is required (the run's folder)");
  take_option(args, "--preset", o.model.preset);
  take_option(args, "--device", o.device);
  if (take_option(args, "--batch", v)) o.batch = int(parse_int("--batch", v, 2, 4096));
  if (take_option(args, "--steps", v)) o.steps = parse_int("--steps", v, 1, 1L << 40);
  if (take_option(args, "--epochs", v)) {
    o.epochs = parse_double("--epochs", v);
    if (!(o.epochs > 0)) throw std::invalid_argument("--epochs must be positive");
  }
  if (take_option(args, "--lr", v)) {
    o.model.lr = float(parse_double("--lr", v));
    if (!(o.model.lr > 0) || !std::isfinite(o.model.lr))
      throw std::invalid_argument("--lr must be a positive finite number, got " + v);
  }
  if (take_option(args, "--seed", v)) o.model.seed = uint64_t(parse_int("--seed", v, 0, 1L << 62));
  if (take_option(args, "--crop", v)) o.crop = int(parse_int("--crop", v, 32, 4096));
  if (take_option(args, "--holdout", v)) o.holdout = int(parse_int("--holdout", v, 0, 1 << 20));
  if (take_option(args, "--eval-every", v)) o.eval_every = int(parse_int("--eval-every", v, 1, 1 << 30));
  if (take_option(args, "--ckpt-every", v)) o.ckpt_every = int(parse_int("--ckpt-every", v, 1, 1 << 30));
  if (take_option(args, "--keep", v)) o.keep = int(parse_int("--keep", v, 1, 1000));
  if (take_option(args, "--threads", v)) o.threads = int(parse_int("--threads", v, 1, 256));
  o.resume = take_flag(args, "--resume");
  take_option(args, "--init", o.init);
  o.quiet = take_flag(args, "--quiet");
  if (!args.empty()) throw std::invalid_argument("unexpected argument '" + args[0] + "' (see tinct train --help)");

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return models::train(o, &g_stop);
}

}  // namespace tinct::cli
