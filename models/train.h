// train.h — the training loop behind `tinct train`.
//
// One run lives in one output folder:
//   ckpt-<step>.safetensors   checkpoints (weights, optimizer state, loader
//                             position; the last `keep` are kept), written
//                             atomically; metadata says kind, preset, step...
//   model.safetensors         the final weights alone (what colorize loads)
//   train_log.csv             one row per logged step: losses, images/s
//   val_log.csv               validation losses every eval_every steps
//   loss.svg                  the loss curves, redrawn at each evaluation
//   samples-<step>.png        held-out images: gray | prediction | truth
//   best.safetensors          the weights (weights only, as model.safetensors)
//                             of the evaluation with the lowest headline
//                             validation loss so far; never removed by keep
//   config.json               every option of the run (models/train_config.h):
//                             what --resume and --config read back
// Data-parallel: launched by `mpirun -np N`, each of the N ranks takes its
// N-th of every batch (`batch` is the global batch, the same data order as
// one process), the gradients are averaged between backward and update, and
// rank 0 alone writes the folder. A checkpoint holds the global step and
// loader position, so a run resumes on any number of ranks.
// Resuming (resume = true) continues from the newest checkpoint in the
// folder: N steps, then N more after a resume, give the same weights, bit
// for bit on the CPU, as 2N steps in one go.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "models/colorizer.h"
#include "models/lr_schedule.h"

namespace tinct::models {

struct TrainOptions {
  ColorizerOptions model;
  // A pack or a sharded set from `tinct prepare`, or several of either
  // separated by commas (models/data/pack_set.h).
  std::string data;
  std::string out;   // the run's folder
  std::string device = "auto";  // auto | cpu | cuda: train() sets model.device from it
  // fp32 | tf32 | bf16: the operands of the convolutions (engine/precision.h;
  // weights, optimizer state, batch norm and losses stay fp32). Part of the
  // recipe: a resumed run keeps it.
  std::string precision = "fp32";
  // nchw | nhwc: the activations' memory inside the networks on the GPU
  // (engine/layout.h; nhwc needs tf32 or bf16). How, not what: a resumed run
  // may change it.
  std::string layout = "nchw";
  int batch = 32;
  int crop = 128;
  int64_t steps = 0;    // total steps of the run; 0: from epochs
  double epochs = 10;   // used when steps == 0
  int holdout = 64;     // validation images held out of training
  // A set to validate on instead of a part of `data` (same forms as `data`):
  // `holdout` of its images (by name hash; all when it has fewer) are the
  // validation images and all of `data` trains. For a validation that does not
  // share the training set's subjects: a held-out loss drawn from the same
  // ten ImageNet classes as half the training photos did not see a run
  // degrade on Kodak (bench/RESULTS.md, 2026-12-07).
  std::string val_data;
  int eval_every = 200;
  int ckpt_every = 500;
  int log_every = 10;
  int keep = 3;         // checkpoints kept
  int threads = 2;      // loader workers
  // The decoded images are kept in memory (each decoded once) when they fit
  // in this many MiB; a larger set is streamed from its files: read as
  // needed, decoded afresh every epoch, in the streaming order with windows
  // of shuffle_buffer images (models/data/loader.h). 4096: every shipped set
  // (train256: 113 MB decoded) stays in memory, trained as before.
  int64_t cache_mb = 4096;
  int shuffle_buffer = 10000;
  bool resume = false;
  std::string init;     // a new run starts from these weights (models/init_weights.h)
  // all | head: which weights train (Colorizer::set_trainable; head: the
  // classification model's conv8 over its frozen trunk). Part of the recipe.
  std::string trainable = "all";
  // The regression loss weighted per pixel by the pack's rebalancing
  // weights raised to this power (Colorizer::set_rebalance): 0 plain MSE,
  // 1 the classification loss's weights. Part of the recipe.
  double rebalance = 0;
  // free | equalized: how the transposed convolutions' output phases train
  // (Colorizer::set_phases; equalized: the function inference runs).
  std::string phases = "free";
  // The recipe. Defaults: constant rate, no weight decay, no average, no clipping.
  LrSchedule schedule;
  double weight_decay = 0;  // decoupled (AdamW), conv and linear weights only
  double ema = 0;           // decay of the weights' moving average, in (0, 1); 0: none
  double clip_grad = 0;     // global L2 gradient norm per network; 0: no clipping
  double time_budget = -1;  // seconds of this process, then a checkpoint and exit 0; < 0: none
  bool quiet = false;   // no progress output (tests)
  // Data-parallel runs (mpirun -np N tinct train; engine/dist.h). These say
  // how this launch runs, not what it trains: config.json does not keep them.
  double dist_timeout = 300;  // seconds a rank waits for the others before it gives up
  int64_t check_sync = 0;     // every N steps, compare the ranks' weights and optimizer state; 0: never
};

// Refuses a recipe value out of range (std::invalid_argument naming the option).
void check_recipe(const TrainOptions& o);

// Exit codes of a run.
enum TrainResult { kTrainDone = 0, kTrainInterrupted = 130, kTrainDiverged = 3 };

// Runs (or resumes) a training run. `stop` is polled between steps: when it
// turns true the run saves a checkpoint and returns kTrainInterrupted. When
// the time budget is spent it saves a checkpoint and model.safetensors and
// returns kTrainDone. A resumed run must have the recipe of the folder's
// config.json (the learning rate may change; a note says so).
// Throws std::runtime_error / std::invalid_argument on bad input.
int train(const TrainOptions& o, const std::atomic<bool>* stop = nullptr);

}  // namespace tinct::models
