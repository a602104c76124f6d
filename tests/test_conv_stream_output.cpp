// test_conv_stream_output.cpp — the pointwise forward of kernels/conv/cpu.cpp
// that computes each strip in cache and copies it out with streaming stores
// (outputs of 8 MiB or more an image; TINCT_CONV_STREAM /
// set_conv_stream_output):
//   * against conv/ref.cpp + epilogue/ref.cpp, through conv2d_fwd_fused with
//     an epilogue (per-channel scale and shift, ReLU, a post scale and shift)
//     and through conv2d_fwd (bias only): the classification head's shape
//     (64 -> 313 at 128x128), an odd plane (127 x 129: rows that start off
//     the 16-byte alignment the streaming stores need), batch 2 (the batch
//     over the threads), a residual (not streamed), an output under 8 MiB
//     (not streamed);
//   * bit for bit against plain stores (the switch off), and twice at the
//     same thread count;
// at 1 and 2 threads, on every CPU kernel set the processor runs. The worst
// error and where are printed.
#include <cstdio>
#include <vector>

#include "doctest/doctest.h"
#include "kernel_check.h"
#include "kernel_sets.h"
#include "kernels/kernels.h"

using namespace tinct;

namespace {

struct Case {
  int N, C, H, W, K;
  bool residual;
};

struct Ref {
  Conv2dParams p;
  bool residual;
  std::vector<float> x, w, b, scale, shift, post_scale, post_shift, res, y_bias, y_fused;
  explicit Ref(const Case& c) : residual(c.residual) {
    p.N = c.N, p.C = c.C, p.H = c.H, p.W = c.W, p.K = c.K;
    REQUIRE(p.finalize());
    const size_t xs = (size_t)p.N * p.C * p.H * p.W, ys = (size_t)p.N * p.K * p.P * p.Q;
    x = kcheck::random_vec(xs, 31), w = kcheck::random_vec((size_t)p.K * p.C, 32), b = kcheck::random_vec(p.K, 33);
    scale = kcheck::random_vec(p.K, 34), shift = kcheck::random_vec(p.K, 35);
    post_scale = kcheck::random_vec(p.K, 36), post_shift = kcheck::random_vec(p.K, 37);
    res = kcheck::random_vec(ys, 38);
    y_bias.resize(ys), y_fused.resize(ys);
    cpu::conv2d_fwd_ref(p, x.data(), w.data(), b.data(), y_bias.data());
    cpu::conv2d_fwd_ref(p, x.data(), w.data(), nullptr, y_fused.data());
    cpu::epilogue_ref(epilogue(), p.N, p.K, p.P * p.Q, y_fused.data());
  }
  cpu::Epilogue epilogue() const {
    cpu::Epilogue e;
    e.scale = scale.data(), e.shift = shift.data(), e.has_act = true, e.act = Act::Relu;
    e.post_scale = post_scale.data(), e.post_shift = post_shift.data();
    if (residual) e.residual = res.data();
    return e;
  }
};

struct Outputs {
  std::vector<float> bias, fused;
};

Outputs run(const Ref& r, bool stream) {
  const kcheck::SwitchScope scope(cpu::conv_stream_output, cpu::set_conv_stream_output, stream);
  Outputs o;
  o.bias.assign(r.y_bias.size(), -7.0f), o.fused.assign(r.y_fused.size(), -7.0f);  // both overwritten
  cpu::conv2d_fwd(r.p, r.x.data(), r.w.data(), r.b.data(), o.bias.data());
  cpu::conv2d_fwd_fused(r.p, r.x.data(), r.w.data(), r.epilogue(), o.fused.data());
  return o;
}

void check_case(const Case& c, const Ref& r, int threads) {
  const Conv2dParams& p = r.p;
  char what[200];
  std::snprintf(what, sizeof what, "N%d C%d %dx%d K%d%s (%.1f MiB an image), %s, %d thr", c.N, c.C, c.H, c.W, c.K,
                c.residual ? " residual" : "", (double)p.K * p.P * p.Q * 4 / (1 << 20),
                cpu::cpu_kernels_name(cpu::cpu_kernels()), threads);
  CAPTURE(what);
  std::printf(" %s\n", what);
  // The streamed strips are im2col's: no other path may take these shapes.
  CHECK_FALSE(cpu::conv2d_winograd_pays(p));
  CHECK_FALSE(cpu::conv2d_direct_pays(p));
  CHECK_FALSE(cpu::conv2d_thin_pays(p, cpu::ThinPass::Fwd));
  CHECK_FALSE(cpu::conv2d_blocked_pays(p));
  const Outputs on = run(r, true), again = run(r, true), off = run(r, false);
  const double rtol = 2e-6;
  const kcheck::Diff db = kcheck::diff(on.bias.data(), r.y_bias.data(), r.y_bias.size());
  CHECK(kcheck::report("fwd + bias", db, kcheck::tolerance(rtol, (double)p.C, db)));
  const kcheck::Diff df = kcheck::diff(on.fused.data(), r.y_fused.data(), r.y_fused.size());
  CHECK(kcheck::report("fwd + epilogue", df, kcheck::tolerance(rtol, (double)p.C, df)));
  CHECK(kcheck::same_bits(on.bias, off.bias));
  CHECK(kcheck::same_bits(on.fused, off.fused));
  CHECK(kcheck::same_bits(on.bias, again.bias));
  CHECK(kcheck::same_bits(on.fused, again.fused));
}

}  // namespace

TEST_CASE("pointwise forward, streamed out: matches conv/ref.cpp and plain stores, bit for bit") {
  const Case cases[] = {
      // N   C    H    W    K  residual
      {1, 64, 128, 128, 313, false},  // the classification head: 20 MiB
      {1, 5, 127, 129, 131, false},   // odd plane: rows off the 16-byte alignment; 8.2 MiB
      {2, 3, 127, 129, 129, false},   // batch 2; 8.1 MiB an image
      {1, 5, 127, 129, 131, true},    // a residual: plain stores
      {1, 7, 61, 67, 300, false},     // 4.7 MiB: plain stores
  };
  for (const Case& c : cases) {
    const Ref r(c);
    for_each_kernel_set([&] { at_thread_counts([&](int threads) { check_case(c, r, threads); }); });
  }
}

TEST_CASE("set_conv_stream_output switches the streaming and reports it") {
  const kcheck::SwitchReads r = kcheck::switch_reads(cpu::conv_stream_output, cpu::set_conv_stream_output);
  CHECK_FALSE(r.off);
  CHECK(r.on);
}
