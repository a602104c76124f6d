// test_checkpoint.cpp — modules and optimizers through safetensors files:
// round trip, fp16 storage, exact resume, and refusal of mismatched files.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "doctest/doctest.h"
#include "engine/checkpoint.h"
#include "engine/nn.h"
#include "engine/optim.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("tinct_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::shared_ptr<nn::Sequential> small_net(uint64_t seed, int width = 6) {
  Rng rng(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Conv2d>(1, width, 3, 1, 1, 1, false, rng));
  net->add(std::make_shared<nn::BatchNorm2d>(width));
  net->add(std::make_shared<nn::ReLU>());
  net->add(std::make_shared<nn::ConvTranspose2d>(width, 2, 4, 2, 1, 0, 1, true, rng));
  return net;
}

// One training step on a batch drawn from rng; returns the loss.
float train_step(nn::Module& net, optim::Optimizer& opt, Rng& rng) {
  Tensor x = rand_uniform({4, 1, 6, 6}, rng, -1.f, 1.f);
  Tensor y = rand_uniform({4, 2, 12, 12}, rng, -0.5f, 0.5f);
  opt.zero_grad();
  Tensor loss = ops::mse_loss(net(x), y);
  loss.backward();
  opt.step();
  return loss.item();
}
}  // namespace

TEST_CASE("a module's state_dict round-trips bit-exactly in F32 and within precision in F16") {
  TempDir dir;
  auto a = small_net(1), b = small_net(2);
  Rng rng(3);
  {  // move the BN running statistics away from their initial values
    optim::SGD opt(a->parameters(), {});
    train_step(*a, opt, rng);
  }
  save_checkpoint(dir.file("a.safetensors"), a->state_dict(), {{"model", "small"}});
  Checkpoint c = load_checkpoint(dir.file("a.safetensors"));
  CHECK(c.metadata.at("model") == "small");
  b->load_state_dict(c.tensors);
  // Plain references, not structured bindings: doctest's CHECK_MESSAGE is a
  // lambda, and C++17 (clang) cannot capture a binding.
  for (auto& kv : a->state_dict()) {
    const auto& name = kv.first;
    const auto& t = kv.second;
    CHECK_MESSAGE(b->state_dict().at(name).to_vector() == t.to_vector(), name);
  }

  save_checkpoint(dir.file("h.safetensors"), a->state_dict(), {}, DType::F16);
  CHECK(fs::file_size(dir.file("h.safetensors")) < fs::file_size(dir.file("a.safetensors")));
  b->load_state_dict(load_checkpoint(dir.file("h.safetensors")).tensors);
  for (auto& [name, t] : a->state_dict()) {
    auto va = t.to_vector(), vb = b->state_dict().at(name).to_vector();
    for (size_t i = 0; i < va.size(); ++i) CHECK(vb[i] == doctest::Approx(va[i]).epsilon(1e-3).scale(1e-4));
  }
}

TEST_CASE("N steps, save, load, N more steps equals 2N steps in one go, bit for bit") {
  TempDir dir;
  const int N = 4;
  auto straight = small_net(7);
  optim::Adam opt_s(straight->parameters(), {});
  Rng rng_s(11);
  for (int i = 0; i < 2 * N; ++i) train_step(*straight, opt_s, rng_s);

  auto first = small_net(7);
  optim::Adam opt_f(first->parameters(), {});
  Rng rng_f(11);
  for (int i = 0; i < N; ++i) train_step(*first, opt_f, rng_f);
  auto tensors = with_prefix(first->state_dict(), "model.");
  for (auto& [k, v] : with_prefix(opt_f.state_dict(), "optim.")) tensors[k] = v;
  uint64_t st[4];
  rng_f.get_state(st);
  save_checkpoint(dir.file("resume.safetensors"), tensors);

  auto resumed = small_net(99);  // different init: everything must come from the file
  optim::Adam opt_r(resumed->parameters(), {});
  Checkpoint c = load_checkpoint(dir.file("resume.safetensors"));
  resumed->load_state_dict(strip_prefix(c.tensors, "model."));
  opt_r.load_state_dict(strip_prefix(c.tensors, "optim."));
  Rng rng_r(0);
  rng_r.set_state(st);
  for (int i = 0; i < N; ++i) train_step(*resumed, opt_r, rng_r);

  for (auto& kv : straight->state_dict()) {  // not a structured binding: see above
    const auto& name = kv.first;
    const auto& t = kv.second;
    CHECK_MESSAGE(resumed->state_dict().at(name).to_vector() == t.to_vector(), name);
  }
}

TEST_CASE("a checkpoint of another architecture is refused with the names that differ") {
  TempDir dir;
  save_checkpoint(dir.file("wide.safetensors"), small_net(1, 8)->state_dict());
  auto net = small_net(1, 6);
  const auto before = net->state_dict().at("0.weight").to_vector();
  CHECK_THROWS_WITH_AS(net->load_state_dict(load_checkpoint(dir.file("wide.safetensors")).tensors),
                       doctest::Contains("shape mismatch: 0.weight"), std::runtime_error);
  CHECK(net->state_dict().at("0.weight").to_vector() == before);
  CHECK_THROWS_WITH_AS(load_checkpoint(dir.file("missing.safetensors")), doctest::Contains("missing.safetensors"),
                       std::runtime_error);
}

TEST_CASE("weights holding NaN, Inf or a negative batch-norm variance are refused, naming the tensor") {
  TempDir dir;
  auto net = small_net(3);
  auto sd = net->state_dict();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf}) {
    std::map<std::string, Tensor> damaged;
    for (auto& [name, t] : sd) damaged[name] = Tensor::from_vector(t.shape(), t.to_vector());
    std::vector<float> w = damaged.at("0.weight").to_vector();
    w[5] = bad;
    damaged["0.weight"] = Tensor::from_vector(sd.at("0.weight").shape(), w);
    save_checkpoint(dir.file("bad.safetensors"), damaged);
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.file("bad.safetensors")),
                         doctest::Contains("tensor \"0.weight\" holds"), std::runtime_error);
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.file("bad.safetensors")), doctest::Contains("at element 5"),
                         std::runtime_error);
    // Built in memory rather than read from a file: the module refuses it too.
    auto other = small_net(4);
    CHECK_THROWS_WITH_AS(other->load_state_dict(damaged), doctest::Contains("not finite: 0.weight"), std::runtime_error);
  }
  std::map<std::string, Tensor> negative;
  for (auto& [name, t] : sd) negative[name] = Tensor::from_vector(t.shape(), t.to_vector());
  std::vector<float> var = negative.at("1.running_var").to_vector();
  var[2] = -0.5f;
  negative["1.running_var"] = Tensor::from_vector(sd.at("1.running_var").shape(), var);
  auto other = small_net(4);
  const auto before = other->state_dict().at("0.weight").to_vector();
  CHECK_THROWS_WITH_AS(other->load_state_dict(negative), doctest::Contains("negative variance: 1.running_var holds -0.5"),
                       std::runtime_error);
  CHECK(other->state_dict().at("0.weight").to_vector() == before);  // nothing was loaded
  // The intact state still loads.
  save_checkpoint(dir.file("good.safetensors"), sd);
  CHECK_NOTHROW(other->load_state_dict(load_checkpoint(dir.file("good.safetensors")).tensors));
}

TEST_CASE("a checkpoint carries the CRC-32 of its data: a damaged byte is refused; files without one still load") {
  TempDir dir;
  auto net = small_net(5);
  for (DType dt : {DType::F32, DType::F16}) {
    save_checkpoint(dir.file("net.safetensors"), net->state_dict(), {{"kind", "test"}}, dt);
    SafetensorsFile raw = load_safetensors(dir.file("net.safetensors"));
    REQUIRE(raw.metadata.count("data_crc32"));
    CHECK(raw.metadata.at("kind") == "test");
    CHECK_NOTHROW(load_checkpoint(dir.file("net.safetensors")));
    // Flip one bit in the last byte of the data area (a weight, still finite).
    {
      std::fstream f(dir.file("net.safetensors"), std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(-1, std::ios::end);
      char c = 0;
      f.read(&c, 1);
      c ^= 0x01;
      f.seekp(-1, std::ios::end);
      f.write(&c, 1);
    }
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.file("net.safetensors")),
                         doctest::Contains("does not match its checksum"), std::runtime_error);
  }
  // As PyTorch's save_file writes it: no checksum, loaded as it is.
  std::vector<NamedArray> plain;
  for (auto& [name, t] : net->state_dict()) plain.push_back({name, t.shape(), t.to_vector()});
  save_safetensors(dir.file("plain.safetensors"), plain);
  CHECK(load_checkpoint(dir.file("plain.safetensors")).tensors.size() == plain.size());
}
