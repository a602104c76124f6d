// test_train.cpp — `tinct train` end to end on a tiny pack made here: every
// model trains and writes its logs, samples and weights; N + N resumed steps
// equal 2N steps bit for bit; an interrupt saves and resumes; divergence
// stops the run; bad resumes are refused.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "doctest/doctest.h"
#include "test_support.h"
#include "engine/checkpoint.h"
#include "models/data/pack.h"
#include "models/train.h"
#include "tiny_pack.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

// tinct_train_*: this file's temporary folders (tests/test_support.h).
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("train") {}
};

std::string make_pack(const fs::path& dir, int variant = 0) { return testing::make_tiny_pack(dir, variant); }

models::TrainOptions options(const std::string& kind, const std::string& data, const fs::path& out, int64_t steps) {
  return testing::tiny_train_options(kind, data, out, steps, /*eval_every=*/3, /*ckpt_every=*/2);
}

std::map<std::string, Tensor> weights(const fs::path& file) { return load_checkpoint(file.string()).tensors; }

}  // namespace

TEST_CASE("each model trains on a tiny pack and writes logs, samples, a loss plot and weights") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  for (std::string kind : {"regression", "classification", "gan"}) {
    const fs::path out = dir.path / kind;
    CHECK(models::train(options(kind, pack, out, 3)) == models::kTrainDone);
    for (const char* f : {"model.safetensors", "train_log.csv", "val_log.csv", "loss.svg", "samples-00000003.png",
                          "ckpt-00000003.safetensors"})
      CHECK_MESSAGE(fs::exists(out / f), kind << ": " << f << " missing");
    Checkpoint c = load_checkpoint((out / "model.safetensors").string());
    CHECK(c.metadata.at("kind") == kind);
    for (auto& kv : c.tensors) CHECK_MESSAGE(kv.first.rfind("optim.", 0) != 0, kv.first);  // no binding: a lambda captures it
  }
}

TEST_CASE("N steps, then --resume for N more, equals 2N steps in one go, bit for bit") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  for (std::string kind : {"regression", "gan"}) {
    CHECK(models::train(options(kind, pack, dir.path / (kind + "_straight"), 6)) == models::kTrainDone);
    CHECK(models::train(options(kind, pack, dir.path / (kind + "_split"), 3)) == models::kTrainDone);
    auto o = options(kind, pack, dir.path / (kind + "_split"), 6);
    o.resume = true;
    CHECK(models::train(o) == models::kTrainDone);
    auto a = weights(dir.path / (kind + "_straight") / "model.safetensors");
    auto b = weights(dir.path / (kind + "_split") / "model.safetensors");
    REQUIRE(a.size() == b.size());
    for (auto& kv : a)  // not a structured binding: CHECK_MESSAGE's lambda captures it (C++17, clang)
      CHECK_MESSAGE(b.at(kv.first).to_vector() == kv.second.to_vector(), kind << " " << kv.first);
  }
}

TEST_CASE("an interrupt saves a checkpoint; resuming finishes the run") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  std::atomic<bool> stop{true};
  auto o = options("classification", pack, dir.path / "run", 5);
  CHECK(models::train(o, &stop) == models::kTrainInterrupted);
  CHECK(fs::exists(dir.path / "run" / "ckpt-00000001.safetensors"));
  // Starting again without --resume would overwrite the run: refused.
  CHECK_THROWS_WITH_AS(models::train(o), doctest::Contains("--resume"), std::runtime_error);
  o.resume = true;
  CHECK(models::train(o) == models::kTrainDone);
  Checkpoint c = load_checkpoint((dir.path / "run" / "model.safetensors").string());
  CHECK(c.metadata.at("step") == "5");
  CHECK(c.tensors.count("prior.weights"));
}

TEST_CASE("a diverging run stops with a clear result and keeps the last good checkpoint") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  auto o = options("regression", pack, dir.path / "run", 40);
  o.model.lr = 1e30f;
  CHECK(models::train(o) == models::kTrainDiverged);
  CHECK_FALSE(fs::exists(dir.path / "run" / "model.safetensors"));
}

// Every checkpoint in `dir` loads (finite weights) and none is newer than `step`.
void check_checkpoints_good(const fs::path& dir, int64_t newest_allowed) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) != 0) continue;
    INFO(name);
    CHECK_NOTHROW(load_checkpoint(e.path().string()));
    CHECK(std::stoll(name.substr(5, 8)) <= newest_allowed);
  }
}

TEST_CASE("the checkpoint a diverged run calls good is good: updated weights are checked before they are saved") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  // --lr 1e30: step 1's loss is finite (it was computed before the update),
  // but the weights after it are not usable. Checkpoints at every step.
  auto o = options("regression", pack, dir.path / "huge", 10);
  o.model.lr = 1e30f;
  o.ckpt_every = 1;
  o.eval_every = 100;
  CHECK(models::train(o) == models::kTrainDiverged);
  check_checkpoints_good(dir.path / "huge", 0);  // none written
  // The same with nothing held out: the last training batch checks the weights.
  o.out = (dir.path / "no_holdout").string();
  o.holdout = 0;
  CHECK(models::train(o) == models::kTrainDiverged);
  check_checkpoints_good(dir.path / "no_holdout", 0);
  // A learning rate that runs the loss up to 1e20 without a NaN is a divergence too, not "done".
  auto big = options("regression", pack, dir.path / "big", 20);
  big.model.lr = 1e6f;
  big.ckpt_every = 1;
  CHECK(models::train(big) == models::kTrainDiverged);
  CHECK_FALSE(fs::exists(dir.path / "big" / "model.safetensors"));
  check_checkpoints_good(dir.path / "big", 20);
}

TEST_CASE("one run per folder: a second train into a folder in use is refused") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  const fs::path out = dir.path / "run";
  fs::create_directories(out);
  // Another process holding the run's lock (flock locks per open file, so
  // this descriptor conflicts with train()'s own even in this process).
  const int fd = ::open((out / ".lock").c_str(), O_RDWR | O_CREAT, 0666);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  REQUIRE(::write(fd, "4242", 4) == 4);
  CHECK_THROWS_WITH_AS(models::train(options("regression", pack, out, 2)),
                       doctest::Contains("in use by another tinct train (pid 4242)"), std::runtime_error);
  auto resume = options("regression", pack, out, 2);
  resume.resume = true;
  CHECK_THROWS(models::train(resume));
  CHECK(fs::directory_iterator(out) != fs::directory_iterator());
  CHECK_FALSE(fs::exists(out / "train_log.csv"));  // the refused run wrote nothing
  ::close(fd);  // the other run ends: the folder is free
  CHECK(models::train(options("regression", pack, out, 2)) == models::kTrainDone);
}

TEST_CASE("resume: another pack is refused; a killed write's debris is removed; a failed sample grid does not stop the run") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  const fs::path out = dir.path / "run";
  // The sample grid of step 3 cannot be written (a folder stands in its
  // place, as a full disk would fail it): the run warns and goes on.
  fs::create_directories(out / "samples-00000003.png");
  CHECK(models::train(options("regression", pack, out, 4)) == models::kTrainDone);
  CHECK(fs::exists(out / "ckpt-00000004.safetensors"));
  CHECK(fs::exists(out / "model.safetensors"));
  // Debris of a checkpoint write whose process was killed (no such pid).
  const fs::path debris = out / "ckpt-00000006.safetensors.tmp.999999999";
  { std::ofstream(debris) << "half a checkpoint"; }
  // A pack with other images under the same name.
  const fs::path other_dir = dir.path / "other";
  fs::create_directories(other_dir);
  const std::string other = make_pack(other_dir, 7);
  fs::rename(other, dir.path / "tiny.tpk.other");
  fs::rename(pack, dir.path / "tiny.tpk.orig");
  fs::rename(dir.path / "tiny.tpk.other", pack);
  auto o = options("regression", pack, out, 6);
  o.resume = true;
  CHECK_THROWS_WITH_AS(models::train(o), doctest::Contains("holds other images"), std::runtime_error);
  fs::rename(pack, dir.path / "tiny.tpk.other");
  fs::rename(dir.path / "tiny.tpk.orig", pack);
  CHECK(models::train(o) == models::kTrainDone);
  CHECK_FALSE(fs::exists(debris));
  for (const auto& e : fs::directory_iterator(out))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp.") == std::string::npos, e.path());
}

TEST_CASE("bad runs are refused") {
  TempDir dir;
  const std::string pack = make_pack(dir.path);
  auto o = options("regression", pack, dir.path / "run", 2);
  o.resume = true;
  CHECK_THROWS_WITH_AS(models::train(o), doctest::Contains("no checkpoint to resume"), std::runtime_error);
  o.resume = false;
  CHECK(models::train(o) == models::kTrainDone);
  auto other = options("gan", pack, dir.path / "run", 4);
  other.resume = true;
  CHECK_THROWS_WITH_AS(models::train(other), doctest::Contains("regression/compact run"), std::runtime_error);
  auto crop = options("gan", pack, dir.path / "gan", 2);
  crop.crop = 40;
  CHECK_THROWS_WITH_AS(models::train(crop), doctest::Contains("multiple of 32"), std::invalid_argument);
  auto nodata = options("regression", (dir.path / "missing.tpk").string(), dir.path / "x", 2);
  CHECK_THROWS(models::train(nodata));
}
