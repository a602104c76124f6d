// test_train_recipe.cpp — the training recipe of `tinct train`: the
// learning-rate schedule, weight decay, the moving average of the weights,
// gradient clipping, the time budget, the best checkpoint and config.json,
// on a tiny pack made here (batch 4, crop 32, a few steps).
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "doctest/doctest.h"
#include "test_support.h"
#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "models/data/pack.h"
#include "models/ema.h"
#include "models/lr_schedule.h"
#include "models/train.h"
#include "models/train_config.h"
#include "tiny_pack.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

// tinct_recipe_*: this file's temporary folders (tests/test_support.h).
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("recipe") {}
};

std::string make_pack(const fs::path& dir, int variant = 0) { return testing::make_tiny_pack(dir, variant); }

models::TrainOptions options(const std::string& kind, const std::string& data, const fs::path& out, int64_t steps) {
  return testing::tiny_train_options(kind, data, out, steps, /*eval_every=*/2, /*ckpt_every=*/2);
}

// The whole recipe on.
models::TrainOptions full_recipe(models::TrainOptions o) {
  o.schedule.kind = "cosine";
  o.schedule.warmup = 2;
  o.schedule.lr_min = 1e-5;
  o.weight_decay = 0.05;
  o.ema = 0.9;
  o.clip_grad = 0.5;
  return o;
}

std::map<std::string, Tensor> tensors(const fs::path& file) { return load_checkpoint(file.string()).tensors; }

void check_same(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  REQUIRE(a.size() == b.size());
  for (auto& kv : a) {
    REQUIRE_MESSAGE(b.count(kv.first), kv.first);
    CHECK_MESSAGE(b.at(kv.first).to_vector() == kv.second.to_vector(), kv.first);
  }
}

// A CSV's column `name` by step.
std::map<int64_t, double> column(const fs::path& csv, const std::string& name) {
  std::ifstream in(csv);
  std::string line, cell;
  std::getline(in, line);
  std::stringstream hs(line);
  int index = -1;
  for (int i = 0; std::getline(hs, cell, ','); ++i)
    if (cell == name) index = i;
  REQUIRE_MESSAGE(index >= 0, csv << " has no column " << name << ": " << line);
  std::map<int64_t, double> out;
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    int64_t step = 0;
    for (int i = 0; std::getline(ls, cell, ','); ++i) {
      if (i == 0) step = std::stoll(cell);
      if (i == index) out[step] = std::stod(cell);
    }
  }
  return out;
}

using testing::Run;
std::string quote(const std::string& s) { return testing::shell_quote(s); }

// The tinct binary, stdout and stderr together (tests/test_support.h).
using testing::run_tinct;

}  // namespace

TEST_CASE("the learning rate of a step: warm-up, cosine end points, step drops") {
  models::LrSchedule s;
  CHECK(models::lr_at(s, 1, 100, 1e-3) == 1e-3);  // the default: the rate as given, exactly
  s.warmup = 4;
  CHECK(models::lr_at(s, 1, 100, 1e-3) == doctest::Approx(0.25e-3));
  CHECK(models::lr_at(s, 3, 100, 1e-3) == doctest::Approx(0.75e-3));
  CHECK(models::lr_at(s, 4, 100, 1e-3) == 1e-3);
  CHECK(models::lr_at(s, 50, 100, 1e-3) == 1e-3);
  s.kind = "cosine";
  s.lr_min = 1e-5;
  CHECK(models::lr_at(s, 2, 104, 1e-3) == doctest::Approx(0.5e-3));  // still warming up
  CHECK(models::lr_at(s, 4, 104, 1e-3) == 1e-3);                    // the peak right after it
  CHECK(models::lr_at(s, 54, 104, 1e-3) == doctest::Approx((1e-3 + 1e-5) / 2));
  CHECK(models::lr_at(s, 104, 104, 1e-3) == doctest::Approx(1e-5).epsilon(1e-12));
  CHECK(models::lr_at(s, 30, 104, 1e-3) > models::lr_at(s, 31, 104, 1e-3));
  s = models::LrSchedule();
  s.kind = "step";
  s.steps = {10, 20};
  s.gamma = 0.5;
  CHECK(models::lr_at(s, 9, 100, 1.0) == 1.0);
  CHECK(models::lr_at(s, 10, 100, 1.0) == 0.5);
  CHECK(models::lr_at(s, 19, 100, 1.0) == 0.5);
  CHECK(models::lr_at(s, 20, 100, 1.0) == 0.25);
  CHECK(models::lr_at(s, 100, 100, 1.0) == 0.25);

  CHECK(models::parse_lr_steps("400,800") == std::vector<int64_t>{400, 800});
  for (const char* bad : {"800,400", "400,400", "0,5", "a", "4,,8", ""})
    CHECK_THROWS_WITH_AS(models::parse_lr_steps(bad), doctest::Contains("--lr-steps"), std::invalid_argument);
  models::LrSchedule unknown;
  unknown.kind = "linear";
  CHECK_THROWS_WITH_AS(models::check_schedule(unknown), doctest::Contains("--schedule"), std::invalid_argument);
  models::LrSchedule no_steps;
  no_steps.kind = "step";
  CHECK_THROWS_WITH_AS(models::check_schedule(no_steps), doctest::Contains("--lr-steps"), std::invalid_argument);
}

TEST_CASE("the recipe's steps reach the log: the rate by step and the gradient norms") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  auto o = full_recipe(options("gan", pack, dir.path / "gan", 3));
  REQUIRE(models::train(o) == models::kTrainDone);
  const auto lr = column(dir.path / "gan" / "train_log.csv", "lr");
  REQUIRE(lr.size() == 3);
  for (auto& [step, v] : lr) CHECK(v == doctest::Approx(models::lr_at(o.schedule, step, 3, 2e-4)).epsilon(1e-5));
  CHECK(lr.at(1) == doctest::Approx(1e-4));  // half way through the warm-up of 2
  CHECK(lr.at(2) == doctest::Approx(2e-4));  // the peak
  CHECK(lr.at(3) == doctest::Approx(1e-5));  // cosine's end
  for (const char* n : {"grad_norm_g", "grad_norm_d"})
    for (const auto& sv : column(dir.path / "gan" / "train_log.csv", n))  // no binding: CHECK_MESSAGE's lambda captures it (clang, C++17)
      CHECK_MESSAGE(sv.second > 0, n << " " << sv.first);
  CHECK(column(dir.path / "gan" / "val_log.csv", "ema_g").size() == 2);
}

TEST_CASE("with the whole recipe on, N steps then --resume for N more equal 2N steps, bit for bit") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  for (std::string kind : {"regression", "gan"}) {
    // The cosine spans the run's length, so the first half must be the
    // first half of a run of 2N: a run of 6 whose last checkpoint (and
    // result) are removed, as if it had been killed after step 2.
    const fs::path run = dir.path / kind;
    auto o = full_recipe(options(kind, pack, run, 4));
    CHECK(models::train(o) == models::kTrainDone);
    const auto straight = tensors(run / "model.safetensors"), straight_ckpt = tensors(run / "ckpt-00000004.safetensors");
    int averaged = 0;
    for (auto& kv : straight_ckpt) averaged += kv.first.rfind("ema.model.", 0) == 0;
    CHECK(averaged > 0);
    fs::remove(run / "model.safetensors");
    fs::remove(run / "ckpt-00000004.safetensors");
    REQUIRE(fs::exists(run / "ckpt-00000002.safetensors"));
    o.resume = true;
    CHECK(models::train(o) == models::kTrainDone);
    check_same(straight, tensors(run / "model.safetensors"));
    check_same(straight_ckpt, tensors(run / "ckpt-00000004.safetensors"));  // the averages and optimizer state too
  }
}

TEST_CASE("clipping limits the update; the logged norm is the norm before clipping") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  auto run = [&](const std::string& name, double clip) {
    auto o = options("regression", pack, dir.path / name, 1);
    o.clip_grad = clip;
    REQUIRE(models::train(o) == models::kTrainDone);
    return tensors(dir.path / name / "model.safetensors");
  };
  const auto none = run("none", 0), loose = run("loose", 1e9), tight = run("tight", 1e-6);
  check_same(none, loose);  // a norm under the limit is left alone
  const double norm = column(dir.path / "loose" / "train_log.csv", "grad_norm").at(1);
  CHECK(norm > 1e-3);
  CHECK(column(dir.path / "tight" / "train_log.csv", "grad_norm").at(1) == doctest::Approx(norm).epsilon(1e-5));
  // The start: the seed's weights (regression has no prepare step).
  auto start = models::make_colorizer(options("regression", pack, dir.path, 1).model)->state(false);
  double moved_none = 0, moved_tight = 0;
  for (auto& [name, w0] : start) {
    if (name.find("running_") != std::string::npos) continue;
    const auto a = w0.to_vector(), b = none.at(name).to_vector(), c = tight.at(name).to_vector();
    for (size_t i = 0; i < a.size(); ++i) moved_none += std::fabs(b[i] - a[i]), moved_tight += std::fabs(c[i] - a[i]);
  }
  // Adam's first step moves each weight by about lr whatever the scale of
  // its gradient, unless the gradient is near eps: a clip to 1e-6 is.
  CHECK(moved_tight < 0.5 * moved_none);
  CHECK(moved_tight > 0);
}

TEST_CASE("weight decay: a weight without gradient shrinks by lr * wd; biases and batch norm are not decayed") {
  Tensor kernel = Tensor::from_vector({2, 2}, {1.f, -2.f, 4.f, 0.5f}).requires_grad_();
  Tensor bias = Tensor::from_vector({2}, {1.f, -1.f}).requires_grad_();
  optim::Adam adam({kernel, bias}, optim::adam(0.1f));
  adam.set_decoupled_weight_decay(0.5f);
  // A zero gradient: Adam's own update is 0, only the decay moves the weights.
  ops::sum(ops::mul(ops::add(kernel, kernel), 0.f)).backward();
  ops::sum(ops::mul(bias, 0.f)).backward();
  adam.step();
  CHECK(kernel.to_vector() == std::vector<float>{0.95f, -1.9f, 3.8f, 0.475f});
  CHECK(bias.to_vector() == std::vector<float>{1.f, -1.f});

  // In a run: after one step, every conv weight is the undecayed run's minus
  // lr * wd * its start; every bias and batch-norm tensor is the same.
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  auto o = options("regression", pack, dir.path / "plain", 1);
  REQUIRE(models::train(o) == models::kTrainDone);
  o.out = (dir.path / "decayed").string();
  o.weight_decay = 2.0;
  REQUIRE(models::train(o) == models::kTrainDone);
  const auto plain = tensors(dir.path / "plain" / "model.safetensors");
  const auto decayed = tensors(dir.path / "decayed" / "model.safetensors");
  auto start = models::make_colorizer(o.model)->state(false);
  int matrices = 0, vectors = 0;
  for (auto& entry : start) {  // not a structured binding: INFO's lambda captures the name (clang, C++17)
    const std::string& name = entry.first;
    const Tensor& w0 = entry.second;
    INFO(name);
    const auto a = w0.to_vector(), p = plain.at(name).to_vector(), d = decayed.at(name).to_vector();
    if (w0.dim() >= 2) {
      ++matrices;
      double worst = 0;  // against the weight's own size
      for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::fabs(d[i] - (p[i] - 1e-3 * 2.0 * a[i])) / (std::fabs(a[i]) + 1e-3));
      CHECK(worst < 1e-4);
      CHECK(d != p);
    } else {
      ++vectors;
      CHECK(d == p);
    }
  }
  CHECK(matrices > 5);
  CHECK(vectors > 5);
}

TEST_CASE("a time budget of 0 stops after the first step with a checkpoint, exit 0") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  const fs::path out = dir.path / "run";
  Run r = run_tinct("train --model regression --data " + quote(pack) + " --out " + quote(out.string()) +
                " --batch 4 --crop 32 --holdout 6 --steps 50 --time-budget 0s");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(r.output.find("time budget reached at step 1 of 50") != std::string::npos);
  CHECK(fs::exists(out / "ckpt-00000001.safetensors"));
  CHECK(load_checkpoint((out / "model.safetensors").string()).metadata.at("step") == "1");
  // A resumed run has a budget of its own (none here): it finishes.
  Run rest = run_tinct("train --resume --out " + quote(out.string()) + " --steps 3 --quiet");
  INFO(rest.output);
  CHECK(rest.code == 0);
  CHECK(load_checkpoint((out / "model.safetensors").string()).metadata.at("step") == "3");
}

TEST_CASE("best.safetensors: the weights of the lowest validation loss, kept by --keep, across a resume") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  for (bool average : {false, true}) {
    const fs::path out = dir.path / (average ? "ema" : "plain");
    auto o = options("regression", pack, out, 4);
    o.eval_every = 1;
    o.keep = 1;
    o.model.lr = 1e-2f;  // large enough for the losses to go up and down
    if (average) o.ema = 0.5;
    REQUIRE(models::train(o) == models::kTrainDone);
    o.steps = 8;
    o.resume = true;
    REQUIRE(models::train(o) == models::kTrainDone);
    const std::string headline = average ? "ema_mse" : "mse";
    const auto val = column(out / "val_log.csv", headline);
    REQUIRE(val.size() == 8);
    auto argmin = val.begin();
    for (auto it = val.begin(); it != val.end(); ++it)
      if (it->second < argmin->second) argmin = it;
    REQUIRE(fs::exists(out / "best.safetensors"));
    Checkpoint best = load_checkpoint((out / "best.safetensors").string());
    CHECK(std::stoll(best.metadata.at("step")) == argmin->first);
    // On this pack the best comes before the resume: the resumed run had to
    // know it to leave it alone.
    CHECK(argmin->first <= 4);
    CHECK(std::stod(best.metadata.at("best_loss")) == doctest::Approx(argmin->second).epsilon(1e-6));
    CHECK(best.metadata.at("best_of") == "validation " + headline);
    for (auto& kv : best.tensors) CHECK_MESSAGE(kv.first.rfind("model.", 0) == 0, kv.first);  // weights only
  }
}

TEST_CASE("the moving average keeps batch-norm statistics of its own; an older checkpoint's start from the live ones") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  // The update, on a model whose live statistics move by one.
  auto o = options("regression", pack, dir.path / "run", 3);
  o.ema = 0.5;
  auto model = models::make_colorizer(o.model);
  models::WeightAverage avg(*model, 0.75);
  std::map<std::string, std::vector<float>> before;
  int stats = 0;
  for (auto& [name, t] : model->state(false)) {
    if (!models::is_bn_statistic(name)) continue;
    ++stats;
    before[name] = t.to_vector();
    std::vector<float> v = before[name];
    for (float& x : v) x += 1.0f;
    Tensor live = t;
    live.copy_from(Tensor::from_vector(t.shape(), v));
  }
  REQUIRE(stats > 0);
  avg.update(*model);
  {
    models::WeightAverage::Swap swap(*model, avg);  // the model now holds the average's statistics
    for (auto& [name, t] : model->state(false)) {
      if (!models::is_bn_statistic(name)) continue;
      const std::vector<float> got = t.to_vector();
      for (size_t i = 0; i < got.size(); ++i)
        REQUIRE(got[i] == doctest::Approx(before[name][i] + 0.25f).epsilon(1e-6));  // 0.75 s + 0.25 (s + 1)
    }
  }
  for (auto& [name, t] : model->state(false))  // and the live ones come back
    if (models::is_bn_statistic(name)) CHECK(t.to_vector()[0] == doctest::Approx(before[name][0] + 1.0f));

  // A checkpoint written before the statistics were averaged (no ema.*running_*)
  // resumes, its average's statistics starting from its live ones.
  const fs::path run = dir.path / "run";
  REQUIRE(models::train(o) == models::kTrainDone);
  const fs::path c2 = run / "ckpt-00000002.safetensors", c3 = run / "ckpt-00000003.safetensors";
  Checkpoint old = load_checkpoint(c2.string());
  for (auto it = old.tensors.begin(); it != old.tensors.end();)
    it = it->first.rfind("ema.", 0) == 0 && models::is_bn_statistic(it->first) ? old.tensors.erase(it) : std::next(it);
  save_checkpoint(c2.string(), old.tensors, old.metadata);
  fs::remove(c3);
  fs::remove(run / "model.safetensors");
  o.resume = true;
  REQUIRE(models::train(o) == models::kTrainDone);
  const auto resumed = tensors(c3);
  for (auto& kv : resumed) {  // no binding: INFO's lambda captures it (clang 14)
    const std::string& name = kv.first;
    if (name.rfind("model.", 0) != 0 || !models::is_bn_statistic(name)) continue;
    INFO(name);
    const std::vector<float> live2 = old.tensors.at(name).to_vector(), live3 = kv.second.to_vector(),
                             ema3 = resumed.at("ema." + name).to_vector();
    for (size_t i = 0; i < ema3.size(); ++i) REQUIRE(ema3[i] == doctest::Approx(0.5f * live2[i] + 0.5f * live3[i]));
  }
}

TEST_CASE("export --ema writes the moving average; a file without one is refused") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  auto o = options("regression", pack, dir.path / "ema", 3);
  o.ema = 0.9;
  REQUIRE(models::train(o) == models::kTrainDone);
  const fs::path ckpt = dir.path / "ema" / "ckpt-00000003.safetensors", w = dir.path / "w.safetensors";
  Run r = run_tinct("export " + quote(ckpt.string()) + " --ema --dtype f32 -o " + quote(w.string()));
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto c = tensors(ckpt), exported = tensors(w);
  int averaged = 0, stats = 0;
  for (auto& kv : exported) {  // weights and batch-norm statistics alike: the averages
    INFO(kv.first);
    CHECK(kv.second.to_vector() == c.at("ema." + kv.first).to_vector());
    CHECK(kv.second.to_vector() != c.at(kv.first).to_vector());
    ++averaged;
    stats += models::is_bn_statistic(kv.first);
  }
  CHECK(averaged > 5);
  CHECK(stats > 0);
  // A run without an average, and model.safetensors (weights only), have none.
  auto plain = options("regression", pack, dir.path / "plain", 2);
  REQUIRE(models::train(plain) == models::kTrainDone);
  for (const fs::path& f : {dir.path / "plain" / "ckpt-00000002.safetensors", dir.path / "ema" / "model.safetensors"}) {
    Run no = run_tinct("export " + quote(f.string()) + " --ema -o " + quote((dir.path / "x.safetensors").string()));
    INFO(no.output);
    CHECK(no.code == 2);
    CHECK(no.output.find("holds no moving average") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "x.safetensors"));
  }
}

TEST_CASE("config.json: --config reproduces a run bit for bit; --resume keeps the recipe") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  const std::string a = (dir.path / "a").string(), b = (dir.path / "b").string();
  Run first = run_tinct("train --model regression --data " + quote(pack) + " --out " + quote(a) +
                    " --batch 4 --crop 32 --holdout 6 --steps 4 --eval-every 2 --seed 7 --schedule cosine --warmup 1"
                    " --weight-decay 0.01 --ema 0.8 --clip-grad 1 --quiet");
  INFO(first.output);
  REQUIRE(first.code == 0);
  const models::TrainOptions saved = models::read_config(a + "/config.json");
  CHECK(saved.model.seed == 7);
  CHECK(saved.schedule.kind == "cosine");
  CHECK(saved.ema == 0.8);
  CHECK(saved.model.lr == 1e-3f);  // the default, made explicit
  CHECK(json::dump(models::config_json(saved)) == json::dump(models::config_json(models::config_from_json(
                                                        models::config_json(saved), "round trip"))));
  Run again = run_tinct("train --config " + quote(a + "/config.json") + " --out " + quote(b) + " --quiet");
  INFO(again.output);
  REQUIRE(again.code == 0);
  check_same(tensors(a + "/model.safetensors"), tensors(b + "/model.safetensors"));
  check_same(tensors(a + "/ckpt-00000004.safetensors"), tensors(b + "/ckpt-00000004.safetensors"));

  // A resume needs no options but --out; one that changes the recipe is refused by name.
  Run decay = run_tinct("train --resume --out " + quote(a) + " --steps 6 --weight-decay 0.02");
  INFO(decay.output);
  CHECK(decay.code == 2);
  CHECK(decay.output.find("--weight-decay 0.02 differs from the run's 0.01") != std::string::npos);
  Run ema = run_tinct("train --resume --out " + quote(a) + " --steps 6 --ema 0.9");
  CHECK(ema.code == 2);
  CHECK(ema.output.find("--ema 0.9 differs") != std::string::npos);
  // The learning rate may change, with a note.
  Run lr = run_tinct("train --resume --out " + quote(a) + " --steps 6 --lr 5e-4");
  INFO(lr.output);
  CHECK(lr.code == 0);
  CHECK(lr.output.find("note: the learning rate changes") != std::string::npos);
  CHECK(models::read_config(a + "/config.json").model.lr == 5e-4f);
  CHECK(models::read_config(a + "/config.json").steps == 6);
  // A damaged config is refused with the file's name.
  { std::ofstream(b + "/config.json") << "{\"format\": \"tinct-train-config-1\", \"batch\": \"four\"}"; }
  Run bad = run_tinct("train --resume --out " + quote(b) + " --steps 6");
  CHECK(bad.code == 1);
  CHECK(bad.output.find("config.json: \"batch\"") != std::string::npos);
}

TEST_CASE("--val-data: validation on another set, all of --data trains; one of --data's sets held out of it; overlap, small images and a changed set refused") {
  TempDir dir;
  fs::create_directories(dir.path / "train");
  fs::create_directories(dir.path / "val1");
  fs::create_directories(dir.path / "val2");
  const std::string pack = make_pack(dir.path / "train");
  const std::string val1 = make_pack(dir.path / "val1", 1), val2 = make_pack(dir.path / "val2", 2);
  auto run = [&](const std::string& name, const std::string& val) {
    auto o = options("regression", pack, dir.path / name, 0);
    o.steps = 0;
    o.epochs = 1;  // the length says how many images train: 40 / 4 batches, or 34 / 4 with 6 held out
    o.val_data = val;
    o.holdout = 5;
    REQUIRE(models::train(o) == models::kTrainDone);
    return o;
  };
  run("a", val1);
  run("b", val2);
  run("held", "");
  // All 40 images of --data train (10 steps), the same steps whatever the validation set.
  const auto loss_a = column(dir.path / "a" / "train_log.csv", "mse");
  const auto loss_b = column(dir.path / "b" / "train_log.csv", "mse");
  CHECK(loss_a.size() == 10);
  CHECK(column(dir.path / "held" / "train_log.csv", "mse").size() == 8);
  CHECK(loss_a == loss_b);
  check_same(tensors(dir.path / "a" / "model.safetensors"), tensors(dir.path / "b" / "model.safetensors"));
  // The same weights, validated on other images: other losses.
  const auto va = column(dir.path / "a" / "val_log.csv", "mse"), vb = column(dir.path / "b" / "val_log.csv", "mse");
  REQUIRE(va.size() == vb.size());
  REQUIRE(!va.empty());
  for (const auto& kv : va) CHECK_MESSAGE(kv.second != vb.at(kv.first), "step " << kv.first);
  // The recipe and the files say which set validated.
  CHECK(models::read_config((dir.path / "a" / "config.json").string()).val_data == val1);
  Checkpoint best = load_checkpoint((dir.path / "a" / "best.safetensors").string());
  CHECK(best.metadata.at("val_data") == val1);
  Checkpoint last = load_checkpoint((dir.path / "a" / "ckpt-00000010.safetensors").string());
  CHECK(last.metadata.at("val_data") == val1);
  CHECK(last.metadata.at("val_fingerprint").rfind("40-", 0) == 0);

  // Resuming: the same set continues; another one, or none, is refused.
  auto resume = options("regression", pack, dir.path / "a", 12);
  resume.resume = true;
  resume.holdout = 5;
  resume.val_data = val2;
  CHECK_THROWS_WITH_AS(models::train(resume), doctest::Contains("resume with the run's own validation set"),
                       std::runtime_error);
  resume.val_data = "";
  CHECK_THROWS_WITH_AS(models::train(resume), doctest::Contains("images held out of --data"), std::runtime_error);
  resume.val_data = val1;
  CHECK(models::train(resume) == models::kTrainDone);
  CHECK(column(dir.path / "a" / "train_log.csv", "mse").size() == 12);

  // --val-data one of --data's sets (spelled another way): its --holdout
  // images leave the training, the very run that holds them out of --data.
  {
    auto o = options("regression", pack, dir.path / "own", 0);
    o.steps = 0;
    o.epochs = 1;
    o.val_data = (dir.path / "train" / ".." / "train" / fs::path(pack).filename()).string();
    o.holdout = 5;
    REQUIRE(models::train(o) == models::kTrainDone);
    CHECK(column(dir.path / "own" / "train_log.csv", "mse").size() == 8);
    const auto own_val = column(dir.path / "own" / "val_log.csv", "mse");
    CHECK(!own_val.empty());
    CHECK(own_val == column(dir.path / "held" / "val_log.csv", "mse"));
    check_same(tensors(dir.path / "own" / "model.safetensors"), tensors(dir.path / "held" / "model.safetensors"));
    // Beside another set: 40 + 40 - 5 images train, 18 batches of 4.
    o.out = (dir.path / "mix").string();
    o.data = val1 + "," + pack;
    REQUIRE(models::train(o) == models::kTrainDone);
    CHECK(column(dir.path / "mix" / "train_log.csv", "mse").size() == 18);
  }
  // A validation set holding training photos is refused, naming one: a copy
  // of the training pack is another set with the same photos.
  const std::string copy = (dir.path / "copy.tpk").string();
  fs::copy_file(pack, copy);
  Run same = run_tinct("train --model regression --data " + quote(pack) + " --val-data " + quote(copy) + " --out " +
                       quote((dir.path / "same").string()) + " --batch 4 --crop 32 --steps 2 --quiet");
  INFO(same.output);
  CHECK(same.code == 2);
  CHECK(same.output.find("40 of its 40 validation images are also in --data (img") != std::string::npos);
  // A validation set of images smaller than the crop.
  const std::string tiny = (dir.path / "24.tpk").string();
  {
    data::PackWriter w(tiny, 24, 24, data::PackEncoding::jpeg, 95);
    data::Image img(24, 24, 3);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(i * 7);
    w.add_image(img, "small.png", 50.f);
    w.finish();
  }
  Run small = run_tinct("train --model regression --data " + quote(pack) + " --val-data " + quote(tiny) + " --out " +
                        quote((dir.path / "small").string()) + " --batch 4 --crop 32 --steps 2 --quiet");
  INFO(small.output);
  CHECK(small.code == 2);
  CHECK(small.output.find("--val-data " + tiny + ": its images are 24x24, smaller than the crop 32") !=
        std::string::npos);
}
