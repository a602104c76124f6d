// test_trainable.cpp — `tinct train --trainable head`: the classification
// model's conv8 trains alone over a frozen trunk (ClassificationNet::
// set_trunk_frozen). The trunk's weights and batch-norm statistics leave the
// run as they entered it, the head's change, the optimizer keeps no state
// for the trunk, and the setting is part of the recipe; other models and
// values are refused. On the tiny pack (batch 4, crop 32, a few steps).
#include <filesystem>
#include <map>
#include <string>

#include "doctest/doctest.h"
#include "test_support.h"
#include "engine/checkpoint.h"
#include "models/colorizer.h"
#include "models/train.h"
#include "models/train_config.h"
#include "tiny_pack.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

// tinct_trainable_*: this file's temporary folders (tests/test_support.h).
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("trainable") {}
};

std::string quote(const std::string& s) { return testing::shell_quote(s); }

using testing::run_tinct;

bool in_head(const std::string& name) { return name.rfind("model.conv8.", 0) == 0; }

// The model.* tensors of `a` and `b` that differ, head and trunk counted apart.
struct Changed {
  int head = 0, trunk = 0, same_trunk = 0;
  std::string first_trunk;
};
Changed compare(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  Changed c;
  for (auto& kv : a) {
    const std::string& name = kv.first;
    if (name.rfind("model.", 0) != 0) continue;
    REQUIRE_MESSAGE(b.count(name), name);
    const bool same = b.at(name).to_vector() == kv.second.to_vector();
    if (in_head(name)) c.head += !same;
    else if (same) ++c.same_trunk;
    else if (!c.trunk++) c.first_trunk = name;
  }
  return c;
}

}  // namespace

TEST_CASE("--trainable head: the trunk's weights and batch-norm statistics stay, the head learns") {
  TempDir dir;
  const std::string pack = testing::make_tiny_pack(dir.path);
  const std::string start = (dir.path / "start").string(), head = (dir.path / "head").string(),
                    all = (dir.path / "all").string();
  const std::string common = " --model classification --data " + quote(pack) +
                             " --batch 4 --crop 32 --holdout 6 --eval-every 2 --ckpt-every 3 --quiet";
  testing::Run r = run_tinct("train" + common + " --out " + quote(start) + " --steps 2");
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::string init = start + "/model.safetensors";
  const auto before = load_checkpoint(init).tensors;

  r = run_tinct("train" + common + " --out " + quote(head) + " --steps 3 --init " + quote(init) +
                " --trainable head --ema 0.5");
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto ckpt = load_checkpoint(head + "/ckpt-00000003.safetensors");
  const Changed h = compare(before, ckpt.tensors);
  INFO("trunk tensor changed: " << h.first_trunk);
  CHECK(h.trunk == 0);
  CHECK(h.same_trunk > 20);  // weights, biases, batch-norm scales, shifts and running statistics
  CHECK(h.head >= 7);        // conv8: the transposed conv, two convs and the 1x1 to the bins, weights and biases
  // The moving average of a frozen trunk is the trunk.
  int averaged = 0;
  for (auto& kv : before) {
    const std::string& name = kv.first;
    if (name.rfind("model.", 0) != 0 || in_head(name) || !ckpt.tensors.count("ema." + name)) continue;
    ++averaged;
    CHECK_MESSAGE(ckpt.tensors.at("ema." + name).to_vector() == kv.second.to_vector(), name);
  }
  CHECK(averaged > 20);
  // Adam holds moments for the head's 8 tensors alone.
  int moments = 0;
  for (auto& kv : ckpt.tensors) moments += kv.first.rfind("optim.", 0) == 0 && kv.first.find("exp_avg_sq") != std::string::npos;
  CHECK(moments == 8);
  CHECK(models::read_config(head + "/config.json").trainable == "head");

  // The run says what trains (the progress lines, without --quiet).
  std::string loud = common;
  loud.erase(loud.find(" --quiet"));
  r = run_tinct("train" + loud + " --out " + quote((dir.path / "said").string()) + " --steps 1 --init " + quote(init) +
                " --trainable head");
  CHECK(r.code == 0);
  CHECK_MESSAGE(r.output.find(" trained: --trainable head)") != std::string::npos, r.output);

  // The same run with everything trainable moves the trunk: the check above can fail.
  r = run_tinct("train" + common + " --out " + quote(all) + " --steps 3 --init " + quote(init));
  INFO(r.output);
  REQUIRE(r.code == 0);
  const Changed a = compare(before, load_checkpoint(all + "/ckpt-00000003.safetensors").tensors);
  CHECK(a.trunk > 20);

  // A resume keeps the setting; changing it is refused by name.
  r = run_tinct("train --resume --out " + quote(head) + " --steps 5 --trainable all");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.output.find("--trainable \"all\" differs from the run's \"head\"") != std::string::npos, r.output);
  r = run_tinct("train --resume --out " + quote(head) + " --steps 5 --quiet");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(compare(before, load_checkpoint(head + "/ckpt-00000005.safetensors").tensors).trunk == 0);
}

TEST_CASE("--trainable: the count of trained parameters; other models and values refused") {
  models::ColorizerOptions o;
  o.kind = "classification";
  auto cls = models::make_colorizer(o);
  const int64_t all = cls->num_parameters();
  CHECK(cls->num_trainable_parameters() == all);
  cls->set_trainable("head");
  const int64_t head = cls->num_trainable_parameters();
  // compact: conv8 = deconv 128->64 4x4, two 64->64 3x3, 64->313 1x1, with biases.
  CHECK(head == 128 * 64 * 16 + 64 + 2 * (64 * 64 * 9 + 64) + 64 * 313 + 313);
  CHECK(head < all);

  for (const char* kind : {"regression", "gan"}) {
    o.kind = kind;
    auto m = models::make_colorizer(o);
    CHECK_NOTHROW(m->set_trainable("all"));
    CHECK_THROWS_WITH_AS(m->set_trainable("head"), doctest::Contains("only the classification model"),
                         std::invalid_argument);
  }

  TempDir dir;
  const std::string pack = testing::make_tiny_pack(dir.path);
  testing::Run r = run_tinct("train --model regression --data " + quote(pack) + " --out " +
                             quote((dir.path / "r").string()) + " --batch 4 --crop 32 --steps 1 --trainable head");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.output.find("only the classification model trains a head alone") != std::string::npos, r.output);
  r = run_tinct("train --model classification --data " + quote(pack) + " --out " + quote((dir.path / "c").string()) +
                " --batch 4 --crop 32 --steps 1 --trainable trunk");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.output.find("--trainable must be all or head, got 'trunk'") != std::string::npos, r.output);
}
