// test_layout.cpp — channels-last activations (engine/layout.h) on the CPU:
// the layout family's references (kernels/layout/ref.cpp) and the channels-
// last max-pooling reference against the NCHW ones; the setting, which
// changes nothing on the CPU; --layout on the command line. The GPU path
// itself is tests/gpu/test_gpu_layout.cpp (CUDA emulator, or a GPU).
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/layout.h"
#include "engine/ops.h"
#include "kernel_check.h"
#include "models/train_config.h"
#include "test_support.h"
#include "tiny_pack.h"

using namespace tinct;

namespace {

using testing::Run;
std::string quote(const std::string& s) { return testing::shell_quote(s); }
using testing::run_tinct;

// An int32 array as floats' bits, for the transposes (they copy bits).
std::vector<float> as_floats(const std::vector<int32_t>& v) {
  std::vector<float> f(v.size());
  std::memcpy(f.data(), v.data(), v.size() * sizeof(int32_t));
  return f;
}

}  // namespace

TEST_CASE("layout references: NCHW -> NHWC -> NCHW is the identity, and an element lands where the formula says") {
  const int N = 2, C = 5, H = 3, W = 7, HW = H * W;
  const std::vector<float> x = kcheck::random_vec(size_t(N) * C * HW, 91);
  std::vector<float> y(x.size()), z(x.size());
  cpu::nchw_to_nhwc(x.data(), y.data(), N, C, HW);
  cpu::nhwc_to_nchw(y.data(), z.data(), N, C, HW);
  CHECK(kcheck::same_bits(z, x));
  // x[n=1][c=3][h=2][w=4] sits at ((1*H + 2)*W + 4)*C + 3 channels-last.
  CHECK(y[((size_t(1) * H + 2) * W + 4) * C + 3] == x[((size_t(1) * C + 3) * H + 2) * W + 4]);
}

TEST_CASE("max pooling's channels-last reference is the NCHW one transposed: values, argmax, gradient, bit for bit") {
  struct P {
    int N, C, H, W, k, stride, pad;
  };
  uint32_t seed = 7;
  for (const P q : {P{2, 3, 9, 11, 3, 2, 1}, P{1, 8, 16, 16, 2, 2, 0}, P{2, 5, 7, 6, 3, 1, 1}, P{1, 1, 5, 5, 3, 2, 1}}) {
    Pool2dParams p;
    p.N = q.N, p.C = q.C, p.H = q.H, p.W = q.W, p.kh = p.kw = q.k, p.stride_h = p.stride_w = q.stride;
    p.pad_h = p.pad_w = q.pad;
    REQUIRE(p.finalize());
    const int HW = p.H * p.W, PQ = p.P * p.Q;
    std::vector<float> x = kcheck::random_vec(size_t(p.N) * p.C * HW, seed++);
    for (size_t i = 0; i < x.size(); i += 5) x[i] = x[(i * 11) % x.size()];  // ties: the first in scan order wins
    const std::vector<float> dy = kcheck::random_vec(size_t(p.N) * p.C * PQ, seed++);
    // NCHW
    std::vector<float> y(dy.size()), dx(x.size());
    std::vector<int32_t> am(dy.size());
    cpu::maxpool2d_fwd_ref(p, x.data(), y.data(), am.data());
    cpu::maxpool2d_bwd_ref(p, dy.data(), am.data(), dx.data());
    // channels-last, on transposed inputs
    std::vector<float> xl(x.size()), dyl(dy.size()), yl(dy.size()), dxl(x.size());
    std::vector<int32_t> aml(dy.size());
    cpu::nchw_to_nhwc(x.data(), xl.data(), p.N, p.C, HW);
    cpu::nchw_to_nhwc(dy.data(), dyl.data(), p.N, p.C, PQ);
    cpu::maxpool2d_fwd_nhwc_ref(p, xl.data(), yl.data(), aml.data());
    cpu::maxpool2d_bwd_nhwc_ref(p, dyl.data(), aml.data(), dxl.data());
    std::vector<float> y2(y.size()), am2(am.size()), dx2(dx.size());
    cpu::nhwc_to_nchw(yl.data(), y2.data(), p.N, p.C, PQ);
    cpu::nhwc_to_nchw(as_floats(aml).data(), am2.data(), p.N, p.C, PQ);
    cpu::nhwc_to_nchw(dxl.data(), dx2.data(), p.N, p.C, HW);
    INFO(q.N << "x" << q.C << "x" << q.H << "x" << q.W << " k" << q.k << " s" << q.stride << " p" << q.pad);
    CHECK(kcheck::same_bits(y2, y));
    CHECK(kcheck::same_bits(am2, as_floats(am)));
    CHECK(kcheck::same_bits(dx2, dx));
  }
}

TEST_CASE("the layout setting: names, the precision it needs, and nothing changes on the CPU") {
  CHECK(parse_layout("nchw") == Layout::nchw);
  CHECK(parse_layout("nhwc") == Layout::nhwc);
  CHECK_THROWS_WITH_AS(parse_layout("NHWC"), "--layout must be nchw or nhwc, got 'NHWC'", std::invalid_argument);
  CHECK_THROWS_WITH_AS(check_layout(Layout::nhwc, Precision::fp32),
                       doctest::Contains("needs --precision tf32 or bf16"), std::invalid_argument);
  CHECK_NOTHROW(check_layout(Layout::nhwc, Precision::bf16));
  CHECK_NOTHROW(check_layout(Layout::nchw, Precision::fp32));
  const LayoutScope nhwc(Layout::nhwc);
  CHECK(!channels_last_on(Device::CPU));
  const Tensor x = Tensor::from_vector({1, 2, 2, 2}, kcheck::random_vec(8, 3));
  CHECK(ops::layout_in(x).same(x));  // the CPU keeps NCHW
  CHECK(ops::to_nchw(x).same(x));
  CHECK_THROWS_AS(x.as_layout(true), std::invalid_argument);
  CHECK_THROWS_AS(ops::to_channels_last(x), std::invalid_argument);
}

TEST_CASE("--layout on the command line: bad values and nhwc at fp32 exit 2; config.json keeps it; a resume may change it") {
  testing::TempDir dir("layout");
  const std::string pack = testing::make_tiny_pack(dir.path);
  for (const char* cmd : {"train --model regression --data PACK --out OUT --steps 1", "colorize PACK -o OUT",
                          "eval --data PACK -o OUT"}) {
    std::string c = cmd;
    c.replace(c.find("PACK"), 4, quote(pack));
    c.replace(c.find("OUT"), 3, quote((dir.path / "bad").string()));
    Run bad = run_tinct(c + " --layout chw");
    INFO(c << "\n" << bad.output);
    CHECK(bad.code == 2);
    CHECK(bad.output.find("--layout must be nchw or nhwc, got 'chw'") != std::string::npos);
    Run fp32 = run_tinct(c + " --layout nhwc");
    INFO(fp32.output);
    CHECK(fp32.code == 2);
    CHECK(fp32.output.find("--layout nhwc needs --precision tf32 or bf16") != std::string::npos);
  }
  // On the CPU the layout changes nothing: it is recorded, and a resume may change it.
  const std::string out = (dir.path / "run").string();
  Run first = run_tinct("train --model regression --data " + quote(pack) + " --out " + quote(out) +
                        " --batch 4 --crop 32 --holdout 6 --steps 2 --eval-every 2 --precision bf16 --layout nhwc --quiet");
  INFO(first.output);
  REQUIRE(first.code == 0);
  CHECK(models::read_config(out + "/config.json").layout == "nhwc");
  Run changed = run_tinct("train --resume --out " + quote(out) + " --steps 3 --layout nchw --quiet");
  INFO(changed.output);
  CHECK(changed.code == 0);
  CHECK(models::read_config(out + "/config.json").layout == "nchw");
}
