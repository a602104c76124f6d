// test_train_dist.cpp — data-parallel `mpirun -np 2 tinct train` on
// localhost, on a tiny pack (global batch 4, crop 32, a few steps).
//
// What "the same as one process" means with batch norm: each rank normalises
// its 2 images with their own statistics (as PyTorch DDP does), so the
// reference is one process at batch 4 whose batch norm uses the statistics
// of each half of the batch (TINCT_BN_GROUPS=2, engine/ops.h): the same
// maths, summed in another order. The ranks' running statistics are averaged
// after each step, as the reference's are over its halves.
//
// The tolerance. The sums' order changes the gradients by rounding (1e-7
// relative), but Adam's first steps are close to lr * sign(gradient), so a
// gradient that is zero in maths -- the bias of a convolution followed by
// batch norm, which the normalisation cancels -- is rounding noise in both
// runs and moves by +-lr either way; the batch norm's running mean after it
// follows. So the test bounds the share of values that differ by more than
// kClose (1e-5): at most kMaxShare (0.5%), measured 0.08% for the
// regression after 6 steps (all of them such biases and running means), and
// prints the worst difference. Without the all-reduce (each rank steps on
// its own half) the share is 99.7% (regression) and 12% (GAN). The GAN is
// compared after 1 step: with 2 images per rank its deepest layers normalise
// a handful of values per channel, and its adversarial loop spreads the
// sign flips (0.6% of values after 2 steps at crop 64, 11% at crop 32).
// Summing instead of averaging would hardly show: Adam divides the gradient
// by its own scale.
//
// Skipped (77) only where mpirun is missing or tinct was built without MPI;
// tools/setup.sh installs OpenMPI.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "doctest/doctest.h"
#include "engine/checkpoint.h"
#include "test_support.h"
#include "tiny_pack.h"

using namespace tinct;
using testing::run_shell;
using testing::shell_quote;
namespace fs = std::filesystem;

namespace {

constexpr double kClose = 1e-5;     // |w_2ranks - w_1process| of a value that agrees
constexpr double kMaxShare = 0.005;  // the share of values that may differ by more

const bool g_have_mpi = [] {
#ifndef TINCT_HAS_MPI
  std::printf("SKIPPED: tinct was built without MPI (tools/setup.sh installs libopenmpi-dev)\n");
  std::exit(77);
#endif
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) {
    std::printf("SKIPPED: no mpirun (tools/setup.sh installs openmpi-bin)\n");
    std::exit(77);
  }
  return true;
}();

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

struct Dir : testing::TempDir {
  Dir() : testing::TempDir("dist") {}
};

// mpirun for a sandbox: root allowed, more ranks than cores, shared memory
// between the ranks on this machine (no network), one compute thread each.
// `env` is a list of NAME=VALUE passed to the ranks.
std::string mpirun(int np, const std::string& env = "") {
  std::string cmd = "mpirun --allow-run-as-root --oversubscribe --bind-to none -np " + std::to_string(np) +
                    " --mca btl self,vader --mca btl_vader_single_copy_mechanism none -x OMP_NUM_THREADS=1";
  if (kAsan) {
    // tools/sanitize.sh: OpenMPI's plug-ins, unloaded at MPI_Finalize, leave
    // allocations LeakSanitizer reports without a module to suppress by;
    // the ranks keep every other check.
    const char* a = std::getenv("ASAN_OPTIONS");
    cmd += " -x ASAN_OPTIONS=" + shell_quote(std::string(a ? a : "") + ":detect_leaks=0");
  }
  size_t at = 0;
  while (at < env.size()) {
    size_t end = env.find(' ', at);
    if (end == std::string::npos) end = env.size();
    if (end > at) cmd += " -x " + env.substr(at, end - at);
    at = end + 1;
  }
  return cmd + " ";
}

std::string train_args(const std::string& kind, const std::string& pack, const fs::path& out, int steps) {
  return testing::tinct_bin() + " train --model " + kind + " --data " + shell_quote(pack) + " --out " +
         shell_quote(out.string()) + " --batch 4 --crop 32 --holdout 0 --steps " + std::to_string(steps) +
         " --eval-every 1000 --ckpt-every 2 --threads 1 --quiet";
}

// One process at batch 4 with per-half batch-norm statistics: the reference.
std::string one_process(const std::string& rest) { return "OMP_NUM_THREADS=1 TINCT_BN_GROUPS=2 " + rest; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// How two weight files differ: the largest |a - b| (and where), and the
// share of values that differ by more than kClose.
struct Difference {
  double worst = 0, share = 0;
  std::string where;
};
Difference compare(const fs::path& a, const fs::path& b) {
  Checkpoint ca = load_checkpoint(a.string()), cb = load_checkpoint(b.string());
  REQUIRE(ca.tensors.size() == cb.tensors.size());
  Difference d;
  size_t values = 0, far = 0;
  for (auto& kv : ca.tensors) {
    REQUIRE(cb.tensors.count(kv.first));
    const std::vector<float> x = kv.second.to_vector(), y = cb.tensors.at(kv.first).to_vector();
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double e = std::fabs(double(x[i]) - y[i]);
      far += e > kClose;
      if (e > d.worst) d.worst = e, d.where = kv.first + "[" + std::to_string(i) + "]";
    }
    values += x.size();
  }
  d.share = double(far) / double(values);
  return d;
}

std::string describe(const Difference& d) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%.4f%% of values differ by more than %.0e, worst %.3g at %s", 100 * d.share, kClose,
                d.worst, d.where.c_str());
  return buf;
}

int lines_of(const fs::path& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

testing::Run run(const std::string& cmd) {
  testing::Run r = run_shell(cmd + " 2>&1");
  if (r.code != 0) MESSAGE(cmd << "\n" << r.output);  // what went wrong, for the log
  return r;
}

// 2 ranks against one process with per-half statistics, and against the
// same 2 ranks without the all-reduce.
void compare_with_one_process(const std::string& kind, int steps) {
  Dir d;
  const std::string pack = testing::make_tiny_pack(d.path);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run(mpirun(2) + train_args(kind, pack, d.path / "two", steps)).code == 0);
  REQUIRE(run(one_process(train_args(kind, pack, d.path / "one", steps))).code == 0);
  REQUIRE(run(mpirun(2, "TINCT_DIST_TEST_REDUCE=skip") + train_args(kind, pack, d.path / "skip", steps)).code == 0);
  const Difference same = compare(d.path / "two" / "model.safetensors", d.path / "one" / "model.safetensors");
  const Difference skip = compare(d.path / "skip" / "model.safetensors", d.path / "one" / "model.safetensors");
  std::printf("%s, %d step(s), 2 ranks vs 1 process with per-half batch norm: %s (at most %.1f%% allowed)\n"
              "  without the all-reduce: %s; %.1f s\n",
              kind.c_str(), steps, describe(same).c_str(), 100 * kMaxShare, describe(skip).c_str(), seconds_since(t0));
  CHECK(same.share <= kMaxShare);
  CHECK(skip.share > 10 * kMaxShare);

  // The logs: rank 0 alone wrote them, a row at the last step (every 10th is logged).
  CHECK(lines_of(d.path / "two" / "train_log.csv") == 2);
}

}  // namespace

TEST_CASE("2 ranks at batch 2 each train as 1 process at batch 4: regression") {
  compare_with_one_process("regression", 6);
}

TEST_CASE("2 ranks at batch 2 each train as 1 process at batch 4: gan") { compare_with_one_process("gan", 1); }

// The all-reduce overlapped with the backward pass (the default,
// dist::GradAverager) against the one after it (TINCT_DIST_OVERLAP=0): with
// 2 ranks every value's sum is the same single addition, so the weights
// must agree bit for bit. Small buckets (20,000 floats) make many of them.
// A bucket started at its first complete gradient
// (TINCT_DIST_TEST_REDUCE=early) must differ.
static void overlap_against_after(const std::string& kind, int steps) {
  Dir d;
  const std::string pack = testing::make_tiny_pack(d.path);
  const std::string small = "TINCT_DIST_BUCKET_FLOATS=20000";
  REQUIRE(run(mpirun(2, small) + train_args(kind, pack, d.path / "overlap", steps)).code == 0);
  REQUIRE(run(mpirun(2, small + " TINCT_DIST_OVERLAP=0") + train_args(kind, pack, d.path / "after", steps)).code ==
          0);
  const Difference same = compare(d.path / "overlap" / "model.safetensors", d.path / "after" / "model.safetensors");
  std::printf("%s, %d step(s), 2 ranks, all-reduce overlapped vs after the backward pass: worst %.3g at %s\n",
              kind.c_str(), steps, same.worst, same.where.c_str());
  CHECK(same.worst == 0);
  if (kind != "regression") return;
  REQUIRE(run(mpirun(2, small + " TINCT_DIST_TEST_REDUCE=early") + train_args(kind, pack, d.path / "early", steps))
              .code == 0);
  const Difference early = compare(d.path / "early" / "model.safetensors", d.path / "after" / "model.safetensors");
  std::printf("  buckets started at their first complete gradient: %s\n", describe(early).c_str());
  CHECK(early.share > 10 * kMaxShare);
}

TEST_CASE("the all-reduce overlapped with the backward pass gives the bits of the one after it") {
  overlap_against_after("regression", 4);
  overlap_against_after("gan", 1);
}

TEST_CASE("a 2-rank run resumes on 1 process and continues as if it had not stopped") {
  Dir d;
  const std::string pack = testing::make_tiny_pack(d.path);
  REQUIRE(run(mpirun(2) + train_args("regression", pack, d.path / "run", 4)).code == 0);
  REQUIRE(fs::exists(d.path / "run" / "ckpt-00000004.safetensors"));
  CHECK(load_checkpoint((d.path / "run" / "ckpt-00000004.safetensors").string()).metadata.at("ranks") == "2");
  // The resumed process keeps per-half statistics, so all 8 steps are the
  // same maths as one process's 8 steps.
  REQUIRE(run(one_process(train_args("regression", pack, d.path / "run", 8) + " --resume")).code == 0);
  REQUIRE(run(one_process(train_args("regression", pack, d.path / "ref", 8))).code == 0);
  const Difference diff = compare(d.path / "run" / "model.safetensors", d.path / "ref" / "model.safetensors");
  std::printf("2 ranks 4 steps + 1 process 4 steps vs 1 process 8 steps: %s\n", describe(diff).c_str());
  CHECK(diff.share <= kMaxShare);
  CHECK(lines_of(d.path / "run" / "train_log.csv") == 3);  // the header, step 4 (2 ranks), step 8 (1 process)
}

// 2 ranks of 50 steps with a fault (TINCT_DIST_TEST_FAULT, models/train.cpp)
// and a timeout; the run's exit code, output and seconds.
struct Timed {
  testing::Run run;
  double seconds = 0;
};
Timed with_fault(const std::string& pack, const fs::path& out, const std::string& fault, const std::string& timeout) {
  const auto t0 = std::chrono::steady_clock::now();
  Timed t;
  t.run = run_shell(mpirun(2, "TINCT_DIST_TEST_FAULT=" + fault) + train_args("regression", pack, out, 50) +
                    " --dist-timeout " + timeout + " 2>&1");
  t.seconds = seconds_since(t0);
  std::printf("fault %s, --dist-timeout %s: exit %d after %.1f s\n%s\n", fault.c_str(), timeout.c_str(), t.run.code,
              t.seconds, t.run.output.c_str());
  return t;
}

TEST_CASE("a rank killed or hung mid-run stops the others within the timeout") {
  Dir d;
  const std::string pack = testing::make_tiny_pack(d.path);
  // SIGKILL at step 3: mpirun sees the rank die and ends the job.
  const Timed killed = with_fault(pack, d.path / "killed", "1:3:die", "20s");
  CHECK(killed.run.code != 0);
  CHECK(killed.seconds < 20);
  CHECK(killed.run.output.find("rank 1") != std::string::npos);

  // Asleep at step 3: rank 0 gives up after --dist-timeout and says so.
  const Timed hung = with_fault(pack, d.path / "hung", "1:3:hang", "3s");
  CHECK(hung.run.code != 0);
  CHECK(hung.seconds < 30);
  CHECK(hung.run.output.find("rank 0 of 2: waited 3 s for the other ranks in an all-reduce at step 3") !=
        std::string::npos);
}

TEST_CASE("--check-sync catches ranks whose weights differ; a batch that does not divide is refused") {
  Dir d;
  const std::string pack = testing::make_tiny_pack(d.path);
  testing::Run r = run_shell(mpirun(2, "TINCT_DIST_TEST_FAULT=1:3:desync") +
                             train_args("regression", pack, d.path / "desync", 6) + " --check-sync 1 2>&1");
  std::printf("rank 1's weights changed at step 3, --check-sync 1: exit %d\n%s\n", r.code, r.output.c_str());
  CHECK(r.code != 0);
  CHECK(r.output.find("differ at step 3") != std::string::npos);
  CHECK(r.output.find("rank 1 differs from rank 0 in") != std::string::npos);

  // The same run without the fault passes its checks.
  CHECK(run(mpirun(2) + train_args("regression", pack, d.path / "synced", 3) + " --check-sync 1").code == 0);

  testing::Run odd = run_shell(mpirun(2) + testing::tinct_bin() + " train --model regression --data " +
                               shell_quote(pack) + " --out " + shell_quote((d.path / "odd").string()) +
                               " --batch 5 --crop 32 --steps 2 --quiet 2>&1");
  CHECK(odd.code != 0);
  CHECK(odd.output.find("--batch 5 does not divide by the 2 ranks") != std::string::npos);
}
