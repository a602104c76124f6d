// cmd_train.cpp — `tinct train`: options -> models::train().
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "apps/cli.h"
#include "models/train.h"
#include "models/train_config.h"

namespace tinct::cli {

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
}  // namespace

static const char* kTrainUsage =
    "usage: tinct train --model regression|classification|gan --data SET --out DIR [options]\n"
    "       tinct train --resume --out DIR [options]\n"
    "       tinct train --config RUN/config.json --out NEWDIR [options]\n"
    "\n"
    "Trains a colorizer on a pack made by `tinct prepare`. Ctrl-C saves a checkpoint\n"
    "and stops; --resume continues the run in DIR from its newest checkpoint.\n"
    "\n"
    "  --data SET              a pack, a sharded set (prepare --shard-size), or several\n"
    "                          of either: comma-separated, or --data given again\n"
    "  --cache-mb N            keep the decoded images in memory when they fit in N MiB\n"
    "                          (default 4096); a larger set streams from its files\n"
    "  --shuffle-buffer N      streaming: shuffle within windows of N images, read from\n"
    "                          8 places of the set at a time (default 10000)\n"
    "  --preset full|compact   model width (default compact; full = the papers' width)\n"
    "  --device auto|cpu|cuda  (default auto)\n"
    "  --precision fp32|tf32|bf16\n"
    "                          the convolutions' operands (default fp32): tf32 / bf16 round\n"
    "                          them (tensor cores on a GPU, the same rounding on the CPU),\n"
    "                          fp32 accumulation; weights, optimizer, batch norm and losses\n"
    "                          stay fp32. Part of the recipe: --resume keeps it\n"
    "  --layout nchw|nhwc      the activations' memory inside the networks on the GPU\n"
    "                          (default nchw): nhwc (channels-last) runs the convolutions\n"
    "                          on channels-last tensors (CUDA conv variant 6); needs tf32\n"
    "                          or bf16, changes nothing on the CPU; a resume may change it\n"
    "  --batch N               images per step (default 32)\n"
    "  --steps N | --epochs E  length of the whole run (default 10 epochs)\n"
    "  --lr X                  peak learning rate (default: regression 1e-3, classification 3e-4, gan 2e-4)\n"
    "  --seed S                weights and data order (default 1)\n"
    "  --crop N                training crop (default 128)\n"
    "  --holdout N             validation images held out (default 64)\n"
    "  --val-data SET          validate on --holdout images of SET (a pack or packs, as\n"
    "                          --data) instead of holding them out of --data, which\n"
    "                          then trains whole: photos of other subjects than the\n"
    "                          training set's say better when a run stops generalising.\n"
    "                          When SET is one of --data's sets, its --holdout images are\n"
    "                          held out of the training instead (the ones a run on SET\n"
    "                          alone holds out): a run on a larger mix is compared on the\n"
    "                          same photos\n"
    "  --eval-every N          validation losses and a sample grid every N steps (default 200)\n"
    "  --ckpt-every N          checkpoint every N steps (default 500)\n"
    "  --keep N                checkpoints kept (default 3; best.safetensors is always kept)\n"
    "  --threads N             loader threads (default 2)\n"
    "  --resume                continue the run in --out, with the recipe of its config.json\n"
    "  --init FILE             start from these weights (same kind; a 262-bin classification\n"
    "                          head is mapped to 313 bins: each new bin takes its nearest old\n"
    "                          bin's row, the copies sharing that bin's probability)\n"
    "  --trainable all|head    which weights train (default all); head: the classification\n"
    "                          model's conv8 alone, over its trunk frozen with its batch-norm\n"
    "                          statistics (to fit a new head to --init's trunk: Zhang's 313\n"
    "                          bins, a new prior)\n"
    "  --phases free|equalized the transposed convolutions' four output phases: free (default)\n"
    "                          train as they learn, and inference equalizes them afterwards\n"
    "                          (the lattice fix, docs/quality.md), which moves a long-trained\n"
    "                          model's colours; equalized keeps them equal while training\n"
    "                          (projected weights and gradients), so the model learns the\n"
    "                          function inference runs and paints no lattice\n"
    "  --rebalance             regression: weight each pixel's squared error by the rebalancing\n"
    "                          weight of its true colour (the pack's prior, as the classification\n"
    "                          loss): more saturated colours, the rebalanced AuC's objective\n"
    "  --rebalance-strength S  the same with the weights raised to the power S in (0, 1]\n"
    "                          (--rebalance is 1): a milder tilt towards rare colours\n"
    "  --quiet                 no progress output\n"
    "\n"
    "The recipe (defaults: constant rate, no decay, no average, no clipping):\n"
    "  --warmup N              the rate rises linearly from 0 over the first N steps\n"
    "  --schedule constant|cosine|step\n"
    "                          cosine: from the peak down to --lr-min (default 0) at the last\n"
    "                          step; step: times --lr-gamma (default 0.1) at each of\n"
    "                          --lr-steps a,b,... (step numbers); both nets of the gan alike\n"
    "  --weight-decay X        decoupled (AdamW) weight decay of conv and linear weights;\n"
    "                          biases and batch-norm scales and shifts are not decayed\n"
    "  --ema DECAY             keep a moving average of the weights and batch-norm statistics\n"
    "                          (e.g. 0.999); validation reports it too (ema_* in val_log.csv)\n"
    "                          and best.safetensors holds it; tinct export CKPT --ema exports it\n"
    "  --clip-grad NORM        clip the gradients' global L2 norm (per network) to NORM; the\n"
    "                          norm before clipping goes to train_log.csv (grad_norm*)\n"
    "  --time-budget T         stop cleanly after T (90m, 2h, 3600s or seconds) of this\n"
    "                          process with a checkpoint and model.safetensors, exit 0; a\n"
    "                          resumed run has a budget of its own (none unless given again)\n"
    "\n"
    "Several processes (data-parallel; see README): mpirun -np N tinct train ...\n"
    "  each rank takes --batch/N of every batch (--batch must divide by N); the\n"
    "  gradients are averaged (MPI on the CPU, NCCL on GPUs); rank 0 writes DIR.\n"
    "  --dist-timeout T       a rank that waits longer than T (default 300s) for the\n"
    "                         others stops with a message naming it and its step\n"
    "  --check-sync N         every N steps, compare the ranks' weights and optimizer\n"
    "                         state (a hash) and stop loudly if they differ\n"
    "\n"
    "DIR/config.json records every option. --resume reads it: options given again must\n"
    "agree, except the run's length, device, loader threads, eval and checkpoint\n"
    "settings and --lr (a note says so). --config FILE starts a new run from a run's\n"
    "config (options given override it). At every evaluation with the lowest headline\n"
    "validation loss so far, DIR/best.safetensors is written (weights only).\n";

// The options present in `args`, applied over `o`; the others keep o's values.
static void take_train_options(Args& args, models::TrainOptions& o) {
  std::string v;
  take_option(args, "--model", o.model.kind);
  // --data may be given several times: the sets, in order.
  for (std::string d, all; take_option(args, "--data", d);) {
    all += (all.empty() ? "" : ",") + d;
    o.data = all;
  }
  take_option(args, "--out", o.out);
  take_option(args, "--preset", o.model.preset);
  take_option(args, "--device", o.device);
  take_option(args, "--precision", o.precision);
  take_option(args, "--layout", o.layout);
  if (take_option(args, "--batch", v)) o.batch = int(parse_int("--batch", v, 2, 4096));
  if (take_option(args, "--steps", v)) o.steps = parse_int("--steps", v, 1, 1L << 40);
  if (take_option(args, "--epochs", v)) {
    o.epochs = parse_double("--epochs", v);
    if (!(o.epochs > 0)) throw std::invalid_argument("--epochs must be positive");
    o.steps = 0;  // the epochs say the length
  }
  if (take_option(args, "--lr", v)) {
    o.model.lr = float(parse_double("--lr", v));
    if (!(o.model.lr > 0) || !std::isfinite(o.model.lr))
      throw std::invalid_argument("--lr must be a positive finite number, got " + v);
  }
  if (take_option(args, "--seed", v)) o.model.seed = uint64_t(parse_int("--seed", v, 0, 1L << 62));
  if (take_option(args, "--crop", v)) o.crop = int(parse_int("--crop", v, 32, 4096));
  if (take_option(args, "--holdout", v)) o.holdout = int(parse_int("--holdout", v, 0, 1 << 20));
  take_option(args, "--val-data", o.val_data);
  if (take_option(args, "--eval-every", v)) o.eval_every = int(parse_int("--eval-every", v, 1, 1 << 30));
  if (take_option(args, "--ckpt-every", v)) o.ckpt_every = int(parse_int("--ckpt-every", v, 1, 1 << 30));
  if (take_option(args, "--keep", v)) o.keep = int(parse_int("--keep", v, 1, 1000));
  if (take_option(args, "--threads", v)) o.threads = int(parse_int("--threads", v, 1, 256));
  if (take_option(args, "--cache-mb", v)) o.cache_mb = parse_int("--cache-mb", v, 0, 1L << 30);
  if (take_option(args, "--shuffle-buffer", v))
    o.shuffle_buffer = int(parse_int("--shuffle-buffer", v, 1, 1 << 30));
  take_option(args, "--init", o.init);
  take_option(args, "--trainable", o.trainable);
  take_option(args, "--phases", o.phases);
  if (take_flag(args, "--rebalance")) o.rebalance = 1;
  if (take_option(args, "--rebalance-strength", v)) {
    o.rebalance = parse_double("--rebalance-strength", v);
    if (!(o.rebalance > 0 && o.rebalance <= 1))
      throw std::invalid_argument("--rebalance-strength must be in (0, 1], got " + v);
  }
  if (take_option(args, "--warmup", v)) o.schedule.warmup = parse_int("--warmup", v, 0, 1L << 40);
  take_option(args, "--schedule", o.schedule.kind);
  if (take_option(args, "--lr-min", v)) o.schedule.lr_min = parse_double("--lr-min", v);
  if (take_option(args, "--lr-steps", v)) o.schedule.steps = models::parse_lr_steps(v);
  if (take_option(args, "--lr-gamma", v)) o.schedule.gamma = parse_double("--lr-gamma", v);
  if (take_option(args, "--weight-decay", v)) o.weight_decay = parse_double("--weight-decay", v);
  if (take_option(args, "--ema", v)) o.ema = parse_double("--ema", v);
  if (take_option(args, "--clip-grad", v)) o.clip_grad = parse_double("--clip-grad", v);
  if (take_option(args, "--time-budget", v)) o.time_budget = parse_duration("--time-budget", v);
  models::check_recipe(o);
}

// How this launch runs on several processes; not part of the recipe.
static void take_dist_options(Args& args, models::TrainOptions& o) {
  std::string v;
  if (take_option(args, "--dist-timeout", v)) {
    o.dist_timeout = parse_duration("--dist-timeout", v);
    if (!(o.dist_timeout > 0)) throw std::invalid_argument("--dist-timeout must be positive");
  }
  if (take_option(args, "--check-sync", v)) o.check_sync = parse_int("--check-sync", v, 0, 1L << 40);
}

int cmd_train(const Args& in) {
  Args args = in;
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::fputs(kTrainUsage, stdout);
    return 0;
  }
  models::TrainOptions o;
  std::string config, out;
  const bool from_config = take_option(args, "--config", config);
  const bool resume = take_flag(args, "--resume"), quiet = take_flag(args, "--quiet");
  if (from_config && resume)
    throw std::invalid_argument("--config starts a new run from a run's recipe; --resume reads DIR/config.json itself");
  Args peek = args;
  if (!take_option(peek, "--out", out)) throw std::invalid_argument("--out is required (the run's folder)");
  // The recipe to start from: a run's config (--config, or the resumed run's
  // own), else the defaults.
  bool recipe = from_config;
  if (from_config) o = models::read_config(config);
  else if (resume && std::filesystem::exists(std::filesystem::path(out) / "config.json")) {
    o = models::read_config((std::filesystem::path(out) / "config.json").string());
    o.init.clear();  // the checkpoint carries it; --init again would mean a new start
    recipe = true;
  }
  Args given = args;
  std::string v;
  if (!recipe && !take_option(given, "--model", v))
    throw std::invalid_argument("--model is required\n\n" + std::string(kTrainUsage));
  if (!recipe && !take_option(given, "--data", v))
    throw std::invalid_argument("--data is required (a pack from tinct prepare)");
  take_train_options(args, o);
  take_dist_options(args, o);
  o.quiet = quiet;
  o.resume = resume;
  if (!args.empty()) throw std::invalid_argument("unexpected argument '" + args[0] + "' (see tinct train --help)");

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return models::train(o, &g_stop);
}

}  // namespace tinct::cli
