// The op table of engine/profile.h: calls counted per name, a range's self
// time is its total less the ranges opened inside it, ops of a training
// step appear forward and backward, and TINCT_PROFILE=1 makes the binary
// print the table at exit.
#include <chrono>
#include <cmath>
#include <string>
#include <thread>

#include "doctest/doctest.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "engine/random.h"
#include "test_support.h"

using namespace tinct;

namespace {

const profile::Row* find(const std::vector<profile::Row>& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r.name == name) return &r;
  return nullptr;
}

void wait_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

TEST_CASE("profile: nested ranges — calls per name, self = total less the ranges inside") {
  profile::reset();
  profile::enable();
  for (int i = 0; i < 3; ++i) {
    ProfileRange outer("outer");
    wait_ms(2);
    {
      ProfileRange inner("inner");
      wait_ms(3);
    }
    ProfileRange inner2("inner");  // destroyed before `outer`: inside it too
    wait_ms(1);
  }
  profile::disable();
  { ProfileRange off("not counted"); }
  const auto rows = profile::table();
  profile::reset();

  const profile::Row* outer = find(rows, "outer");
  const profile::Row* inner = find(rows, "inner");
  REQUIRE(outer);
  REQUIRE(inner);
  CHECK(find(rows, "not counted") == nullptr);
  CHECK(outer->calls == 3);
  CHECK(inner->calls == 6);
  CHECK(inner->self_ms == doctest::Approx(inner->total_ms));  // nothing inside
  CHECK(outer->total_ms >= inner->total_ms);
  CHECK(outer->self_ms == doctest::Approx(outer->total_ms - inner->total_ms).epsilon(1e-9));
  CHECK(outer->self_ms >= 3 * 2 * 0.9);  // the sleeps are lower bounds of wall time
  CHECK(inner->total_ms >= 3 * 4 * 0.9);
  CHECK(rows.front().self_ms >= rows.back().self_ms);  // largest self time first
  const std::string text = profile::format(rows);
  MESSAGE(text);
  CHECK(text.find("outer") != std::string::npos);
  CHECK(text.find("all ops") != std::string::npos);
}

TEST_CASE("profile: a conv + batch norm + relu step shows each op forward and backward") {
  Rng rng(5);
  Tensor x = rand_normal({2, 3, 9, 7}, rng);
  x.requires_grad_();
  Tensor w = rand_normal({4, 3, 3, 3}, rng);
  w.requires_grad_();
  Tensor gamma = Tensor::full({4}, 1.f), beta = Tensor::zeros({4});
  gamma.requires_grad_();
  beta.requires_grad_();
  Tensor rm = Tensor::zeros({4}), rv = Tensor::full({4}, 1.f);
  profile::reset();
  profile::enable();
  for (int i = 0; i < 2; ++i) {
    Tensor y = ops::relu(ops::batch_norm(ops::conv2d(x, w, Tensor(), 1, 1, 1), gamma, beta, rm, rv, true, 0.1f, 1e-5f));
    ops::sum(y).backward();
  }
  profile::disable();
  const auto rows = profile::table();
  profile::reset();
  std::string names;
  for (const auto& r : rows) names += r.name + "; ";
  INFO("ops seen: " << names);
  for (const char* op : {"conv2d", "conv2d backward", "conv2d backward-data", "conv2d backward-filter", "relu",
                         "relu backward"}) {
    const profile::Row* r = find(rows, op);
    REQUIRE_MESSAGE(r, op);
    CHECK(r->calls == 2);
  }
  bool bn = false;
  for (const auto& r : rows) bn = bn || r.name.find("batch_norm") != std::string::npos;
  CHECK(bn);
}

TEST_CASE("profile: TINCT_PROFILE=1 prints the op table when the binary exits; unset prints none") {
  testing::TempDir dir("profile");
  const char* src = std::getenv("TINCT_SOURCE_DIR");
  REQUIRE(src);
  const std::string photo = std::string(src) + "/demo/kodim23.png";
  const std::string cmd = testing::shell_quote(testing::tinct_bin()) + " colorize " + testing::shell_quote(photo) +
                          " -o " + testing::shell_quote(dir.path.string()) + " --model regression --overwrite 2>&1";
  const testing::Run on = testing::run_shell("TINCT_PROFILE=1 " + cmd);
  INFO(on.output);
  CHECK(on.code == 0);
  CHECK(on.output.find("TINCT_PROFILE: wall time per op") != std::string::npos);
  CHECK(on.output.find("conv2d") != std::string::npos);
  const testing::Run off = testing::run_shell("TINCT_PROFILE= " + cmd);
  CHECK(off.code == 0);
  CHECK(off.output.find("TINCT_PROFILE") == std::string::npos);
}

TEST_CASE("profile: TINCT_PROFILE=layers adds a row per convolution shape and path; =1 does not") {
  testing::TempDir dir("profile_layers");
  const char* src = std::getenv("TINCT_SOURCE_DIR");
  REQUIRE(src);
  const std::string photo = std::string(src) + "/demo/kodim23.png";
  const std::string cmd = testing::shell_quote(testing::tinct_bin()) + " colorize " + testing::shell_quote(photo) +
                          " -o " + testing::shell_quote(dir.path.string()) + " --model regression --overwrite 2>&1";
  const testing::Run on = testing::run_shell("TINCT_PROFILE=layers " + cmd);
  INFO(on.output);
  CHECK(on.code == 0);
  CHECK(on.output.find("TINCT_PROFILE: wall time per op") != std::string::npos);
  // The regression model's stem, and its transposed convolutions, each with a path.
  const size_t stem = on.output.find("  conv 1->32 7x7 s2 d1 @");
  REQUIRE(stem != std::string::npos);
  const std::string stem_line = on.output.substr(stem, on.output.find('\n', stem) - stem);
  CHECK((stem_line.find(" blocked") != std::string::npos || stem_line.find(" im2col") != std::string::npos));
  CHECK(on.output.find("  deconv 64->32 4x4 s2 @") != std::string::npos);
  const testing::Run ops = testing::run_shell("TINCT_PROFILE=1 " + cmd);
  CHECK(ops.code == 0);
  CHECK(ops.output.find("conv2d_fused") != std::string::npos);
  CHECK(ops.output.find("  conv 1->32") == std::string::npos);
}
