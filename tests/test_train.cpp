// test_train.cpp — `tinct train` end to end on a tiny pack made here: every
// model trains and writes its logs, samples and weights; N + N resumed steps
// equal 2N steps bit for bit; an interrupt saves and resumes; divergence
// stops the run; bad resumes are refused.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "doctest/doctest.h"
#include "engine/checkpoint.h"
#include "models/data/pack.h"
#include "models/train.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("tinct_train_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// 40 colourful 48x48 images: smooth hue gradients that differ per image.
std::string make_pack(const fs::path& dir) {
  const std::string path = (dir / "tiny.tpk").string();
  data::PackWriter w(path, 48, 48, data::PackEncoding::jpeg, 95);
  for (int i = 0; i < 40; ++i) {
    data::Image img(48, 48, 3);
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) {
        uint8_t* p = img.at(x, y);
        p[0] = uint8_t((x * 5 + i * 13) % 256);
        p[1] = uint8_t((y * 4 + i * 7) % 256);
        p[2] = uint8_t(((x + y) * 3 + i * 29) % 256);
      }
    w.add_image(img, "img" + std::to_string(100 + i) + ".png", 50.f);
  }
  w.finish();
  return path;
}

models::TrainOptions options(const std::string& kind, const std::string& data, const fs::path& out, int64_t steps) {
  models::TrainOptions o;
  o.model.kind = kind;
  o.model.preset = "compact";
  o.data = data;
  o.out = out.string();
  o.batch = 4;
  o.crop = 32;
  o.steps = steps;
  o.holdout = 6;
  o.eval_every = 3;
  o.ckpt_every = 2;
  o.log_every = 1;
  o.threads = 2;
  o.quiet = true;
  return o;
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
    for (auto& [name, t] : c.tensors) CHECK_MESSAGE(name.rfind("optim.", 0) != 0, name);
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
    for (auto& [name, t] : a) CHECK_MESSAGE(b.at(name).to_vector() == t.to_vector(), kind << " " << name);
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
