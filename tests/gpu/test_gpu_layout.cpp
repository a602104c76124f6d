// test_gpu_layout.cpp — channels-last activations on the GPU (engine/layout.h)
// against NCHW ones on the GPU.
//
//   kernels  the NCHW <-> NHWC transposes and channels-last max pooling
//            against their CPU references (kernels/layout/ref.cpp,
//            kernels/pool/ref.cpp), bit for bit, at awkward sizes;
//   copies   to(), copy_from() and clone() across layouts and devices;
//   ops      every op fed channels-last tensors against the same op fed NCHW
//            ones, forward and backward through the tape: the values must
//            agree (convolutions: CUDA variant 6 gives variants 4 / 5's bits;
//            batch norm sums in another order: 1e-5 of max|ref|), the output
//            keeps its input's layout, and a gradient has its tensor's;
//   models   one training step of each colorizer at tf32 and bf16 with
//            --layout nhwc against nchw: losses, gradients, running
//            statistics, and a prediction.
// Every comparison prints the worst error and where. Skipped (exit 77)
// without a CUDA device (gpu_skip.h).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/layout.h"
#include "engine/ops.h"
#include "engine/precision.h"
#include "engine/profile.h"
#include "gpu/gpu_skip.h"
#include "gpu/synthetic_batch.h"
#include "kernel_check.h"
#include "kernels/cuda.h"
#include "models/colorizer.h"

using namespace tinct;

namespace {

uint32_t g_seed = 4242;

Tensor rnd(const Shape& s, float lo = -1.f, float hi = 1.f) {
  return Tensor::from_vector(s, kcheck::random_vec(size_t(shape_numel(s)), g_seed++, lo, hi));
}

// rel * max|ref| at most; prints one line.
bool close(const std::string& what, const Tensor& got, const Tensor& ref, double rel) {
  REQUIRE(got.defined());
  REQUIRE(ref.defined());
  REQUIRE(got.shape() == ref.shape());
  const std::vector<float> g = got.to_vector(), r = ref.to_vector();  // both in NCHW order
  const kcheck::Diff d = kcheck::diff(g.data(), r.data(), r.size());
  const bool ok = kcheck::report(what.c_str(), d, rel * d.max_ref);
  CHECK_MESSAGE(ok, what);
  return ok;
}

// The op on CUDA tensors in NCHW and, again, with every 4-D input made
// channels-last (leaves, so their gradients stay channels-last); then
// backward of sum(out * R) in both. Outputs and gradients compared.
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
void check_op(const std::string& name, const std::vector<Tensor>& in, const std::vector<bool>& grad, const OpFn& f,
              bool out_channels_last, double rel) {
  std::vector<Tensor> a, b;
  for (size_t i = 0; i < in.size(); ++i) {
    Tensor g = in[i].to(Device::CUDA);
    a.push_back(g.clone().requires_grad_(grad[i]));
    b.push_back((g.dim() == 4 ? g.as_layout(true) : g.clone()).requires_grad_(grad[i]));
  }
  const Tensor ya = f(a), yb = f(b);
  CHECK_MESSAGE(!ya.channels_last(), name);
  CHECK_MESSAGE(yb.channels_last() == out_channels_last, name << ": output layout");
  const Tensor R = rnd(ya.shape()).to(Device::CUDA);
  ops::sum(ops::mul(ya, R)).backward();
  ops::sum(ops::mul(yb, R)).backward();
  close(name + " forward", yb, ya, rel);
  for (size_t i = 0; i < in.size(); ++i) {
    if (!grad[i]) continue;
    CHECK_MESSAGE(b[i].grad().channels_last() == b[i].channels_last(), name << ": gradient layout " << i);
    close(name + " grad input " + std::to_string(i), b[i].grad(), a[i].grad(), rel);
  }
}

}  // namespace

TEST_CASE("layout kernels: NCHW <-> NHWC transposes and channels-last max pooling equal their references") {
  struct S {
    int N, C, H, W;
  };
  for (const S s : {S{1, 1, 1, 1}, S{2, 3, 5, 7}, S{1, 33, 9, 31}, S{3, 64, 8, 8}, S{2, 313, 4, 5}, S{1, 7, 40, 33}}) {
    const int HW = s.H * s.W;
    const size_t n = size_t(s.N) * s.C * HW;
    const std::vector<float> x = kcheck::random_vec(n, g_seed++);
    std::vector<float> ref(n), back(n);
    cpu::nchw_to_nhwc(x.data(), ref.data(), s.N, s.C, HW);
    const Tensor dx = Tensor::from_vector({int64_t(n)}, x, Device::CUDA);
    Tensor dy = Tensor::empty({int64_t(n)}, Device::CUDA), dz = Tensor::empty({int64_t(n)}, Device::CUDA);
    cuda::nchw_to_nhwc(dx.data(), dy.data(), s.N, s.C, HW);
    cuda::nhwc_to_nchw(dy.data(), dz.data(), s.N, s.C, HW);
    const std::vector<float> got = dy.to_vector(), round = dz.to_vector();
    cpu::nhwc_to_nchw(ref.data(), back.data(), s.N, s.C, HW);
    INFO(s.N << "x" << s.C << "x" << s.H << "x" << s.W);
    CHECK(kcheck::same_bits(got, ref));
    CHECK(kcheck::same_bits(round, x));
    CHECK(kcheck::same_bits(back, x));
  }
  struct P {
    int N, C, H, W, k, stride, pad;
  };
  for (const P q : {P{2, 3, 9, 11, 3, 2, 1}, P{1, 33, 16, 16, 2, 2, 0}, P{2, 5, 7, 6, 3, 1, 1}, P{1, 64, 13, 9, 3, 2, 1}}) {
    Pool2dParams p;
    p.N = q.N, p.C = q.C, p.H = q.H, p.W = q.W, p.kh = p.kw = q.k, p.stride_h = p.stride_w = q.stride;
    p.pad_h = p.pad_w = q.pad;
    REQUIRE(p.finalize());
    const size_t nx = size_t(p.N) * p.C * p.H * p.W, ny = size_t(p.N) * p.C * p.P * p.Q;
    std::vector<float> x = kcheck::random_vec(nx, g_seed++);
    for (size_t i = 0; i < nx; i += 7) x[i] = x[(i * 13) % nx];  // ties
    const std::vector<float> dy = kcheck::random_vec(ny, g_seed++);
    std::vector<float> y(ny), dx(nx);
    std::vector<int32_t> am(ny);
    cpu::maxpool2d_fwd_nhwc_ref(p, x.data(), y.data(), am.data());
    cpu::maxpool2d_bwd_nhwc_ref(p, dy.data(), am.data(), dx.data());
    const Tensor gx = Tensor::from_vector({int64_t(nx)}, x, Device::CUDA);
    const Tensor gdy = Tensor::from_vector({int64_t(ny)}, dy, Device::CUDA);
    Tensor gy = Tensor::empty({int64_t(ny)}, Device::CUDA), gam = Tensor::empty({int64_t(ny)}, Device::CUDA);
    Tensor gdx = Tensor::empty({int64_t(nx)}, Device::CUDA);
    auto* am_dev = reinterpret_cast<int32_t*>(gam.data());
    cuda::maxpool2d_fwd_nhwc(p, gx.data(), gy.data(), am_dev);
    cuda::maxpool2d_bwd_nhwc(p, gdy.data(), am_dev, gdx.data());
    const std::vector<float> am_bits = gam.to_vector();  // the int32 indices' bits
    std::vector<int32_t> am_got(ny);
    std::memcpy(am_got.data(), am_bits.data(), ny * sizeof(int32_t));
    INFO("maxpool " << q.N << "x" << q.C << "x" << q.H << "x" << q.W << " k" << q.k << " s" << q.stride);
    CHECK(kcheck::same_bits(gy.to_vector(), y));
    CHECK(am_got == am);
    CHECK(kcheck::same_bits(gdx.to_vector(), dx));
  }
}

TEST_CASE("copies between layouts and devices keep the values (to, copy_from, clone)") {
  const Tensor x = rnd({2, 5, 3, 4});
  const std::vector<float> want = x.to_vector();
  const Tensor cl = x.to(Device::CUDA).as_layout(true);
  REQUIRE(cl.channels_last());
  CHECK(cl.to(Device::CPU).to_vector() == want);  // to the CPU as NCHW
  CHECK(!cl.to(Device::CPU).channels_last());
  CHECK(cl.clone().channels_last());
  CHECK(cl.clone().to_vector() == want);
  Tensor from_cpu = Tensor::empty_like(cl);  // CPU NCHW into GPU channels-last
  from_cpu.copy_from(x);
  CHECK(kcheck::same_bits(from_cpu.as_layout(false).to_vector(), want));
  Tensor gpu_nchw = Tensor::empty({2, 5, 3, 4}, Device::CUDA);  // GPU channels-last into GPU NCHW
  gpu_nchw.copy_from(cl);
  CHECK(gpu_nchw.to_vector() == want);
  Tensor host = Tensor::empty({2, 5, 3, 4});  // GPU channels-last into the CPU
  host.copy_from(cl);
  CHECK(host.to_vector() == want);
}

TEST_CASE("ops on channels-last tensors: the NCHW results, in the input's layout") {
  for (const Precision prec : {Precision::tf32, Precision::bf16}) {
    const PrecisionScope scope(prec);
    MESSAGE("precision " << std::string(precision_name(prec)));
    // Convolutions at awkward shapes: odd channels, stride 2, dilation 2, 1x1.
    struct C {
      int N, Cin, H, W, K, k, stride, pad, dil;
    };
    for (const C c : {C{2, 5, 9, 11, 7, 3, 1, 1, 1}, C{1, 13, 12, 10, 16, 3, 2, 1, 1}, C{2, 8, 11, 9, 3, 3, 1, 2, 2},
                      C{1, 24, 7, 7, 33, 1, 1, 0, 1}, C{2, 3, 16, 16, 8, 7, 2, 3, 1}}) {
      const std::string tag = "conv2d " + std::to_string(c.Cin) + "->" + std::to_string(c.K) + " k" +
                              std::to_string(c.k) + " s" + std::to_string(c.stride) + " d" + std::to_string(c.dil);
      check_op(tag, {rnd({c.N, c.Cin, c.H, c.W}), rnd({c.K, c.Cin, c.k, c.k}, -0.3f, 0.3f), rnd({c.K})},
               {true, true, true},
               [&](const std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], t[2], c.stride, c.pad, c.dil); },
               true, 1e-6);
    }
    check_op("conv_transpose2d 6->5 k4 s2", {rnd({2, 6, 5, 7}), rnd({6, 5, 4, 4}, -0.3f, 0.3f), rnd({5})},
             {true, true, true},
             [](const std::vector<Tensor>& t) { return ops::conv_transpose2d(t[0], t[1], t[2], 2, 1, 0, 1); }, true,
             1e-6);
  }
  // The rest does not depend on the precision.
  Tensor rm = Tensor::zeros({37}, Device::CUDA), rv = Tensor::full({37}, 1.f, Device::CUDA);
  Tensor rm2 = Tensor::zeros({37}, Device::CUDA), rv2 = Tensor::full({37}, 1.f, Device::CUDA);
  int calls = 0;
  check_op("batch_norm train (C 37)", {rnd({3, 37, 5, 9}, -2.f, 3.f), rnd({37}), rnd({37})}, {true, true, true},
           [&](const std::vector<Tensor>& t) {
             // The first call (NCHW) updates rm / rv, the second rm2 / rv2.
             Tensor& m = calls == 0 ? rm : rm2;
             Tensor& v = calls++ == 0 ? rv : rv2;
             return ops::batch_norm(t[0], t[1], t[2], m, v, true);
           },
           true, 1e-5);
  close("batch_norm running_mean", rm2, rm, 1e-6);
  close("batch_norm running_var", rv2, rv, 1e-6);
  Tensor m3 = Tensor::zeros({19}, Device::CUDA), v3 = Tensor::full({19}, 1.f, Device::CUDA);
  check_op("batch_norm_relu train (C 19)", {rnd({2, 19, 7, 6}), rnd({19}), rnd({19})}, {true, true, true},
           [&](const std::vector<Tensor>& t) { return ops::batch_norm_relu(t[0], t[1], t[2], m3, v3, true); }, true,
           1e-5);
  Tensor em = rnd({11}).to(Device::CUDA), ev = rnd({11}, 0.5f, 2.f).to(Device::CUDA);
  check_op("batch_norm eval (C 11)", {rnd({2, 11, 5, 5}), rnd({11}), rnd({11})}, {true, true, true},
           [&](const std::vector<Tensor>& t) { return ops::batch_norm(t[0], t[1], t[2], em, ev, false); }, true,
           1e-6);
  check_op("max_pool2d 3/2/1", {rnd({2, 9, 11, 10})}, {true},
           [](const std::vector<Tensor>& t) { return ops::max_pool2d(t[0], 3, 2, 1); }, true, 0.0);
  check_op("relu, leaky_relu, tanh", {rnd({2, 6, 5, 3})}, {true},
           [](const std::vector<Tensor>& t) { return ops::tanh(ops::leaky_relu(ops::relu(t[0]), 0.2f)); }, true,
           0.0);
  check_op("add (same shape) and mul", {rnd({2, 6, 5, 3}), rnd({2, 6, 5, 3})}, {true, true},
           [](const std::vector<Tensor>& t) { return ops::mul(ops::add(t[0], t[1]), t[1]); }, true, 0.0);
  check_op("add (a value per channel)", {rnd({2, 6, 5, 3}), rnd({1, 6, 1, 1})}, {true, true},
           [](const std::vector<Tensor>& t) { return ops::add(t[0], t[1]); }, true, 1e-6);
  // Mixed layouts: the second input is converted to the first's.
  check_op("add, an NCHW second input", {rnd({2, 6, 5, 3}), rnd({2, 6, 5, 3})}, {true, true},
           [](const std::vector<Tensor>& t) { return ops::add(t[0], ops::to_nchw(t[1])); }, true, 0.0);
  check_op("concat (5 + 1 + 8 channels)", {rnd({2, 5, 4, 6}), rnd({2, 1, 4, 6}), rnd({2, 8, 4, 6})},
           {true, true, true}, [](const std::vector<Tensor>& t) { return ops::concat({t[0], t[1], t[2]}); }, true,
           0.0);
  check_op("mse_loss against an NCHW target", {rnd({2, 3, 5, 4}), rnd({2, 3, 5, 4})}, {true, true},
           [](const std::vector<Tensor>& t) { return ops::mse_loss(t[0], ops::to_nchw(t[1])); }, false, 1e-6);
  check_op("soft_cross_entropy (Q 13)", {rnd({2, 13, 3, 5}, -3.f, 3.f), rnd({2, 13, 3, 5}, 0.f, 1.f),
                                         rnd({2, 1, 3, 5}, 0.5f, 2.f)},
           {true, false, false},
           [](const std::vector<Tensor>& t) { return ops::soft_cross_entropy(t[0], t[1], t[2]); }, false, 1e-6);
  check_op("upsample bilinear (returns NCHW)", {rnd({1, 4, 5, 6})}, {true},
           [](const std::vector<Tensor>& t) { return ops::upsample(t[0], 11, 9, Upsample::Bilinear); }, false, 0.0);
  check_op("reshape (of an NCHW copy)", {rnd({2, 4, 3, 3})}, {true},
           [](const std::vector<Tensor>& t) { return ops::reshape(t[0], {8, 9}); }, false, 0.0);
  check_op("to_nchw(to_channels_last(x))", {rnd({2, 4, 3, 5})}, {true},
           [](const std::vector<Tensor>& t) { return ops::to_nchw(ops::to_channels_last(t[0])); }, false, 0.0);
  // fp32 has no channels-last convolution: it runs on an NCHW copy.
  check_op("conv2d at fp32 (NCHW inside)", {rnd({1, 4, 6, 6}), rnd({5, 4, 3, 3})}, {true, true},
           [](const std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], Tensor(), 1, 1, 1); }, false, 0.0);
}

// Each colorizer's training step with --layout nhwc against nchw, both on
// the GPU at the same precision: the convolutions' bits agree, batch norm's
// sums differ in order, so the tolerances allow a rounding difference
// amplified through the network (test_gpu_engine.cpp explains the GAN's),
// far below a wiring error (O(1)). In the CUDA emulator (2026-12-07) every
// value came out identical: the double sums round to the same floats.
TEST_CASE("each colorizer with channels-last activations: the NCHW training step and prediction") {
  for (const Precision prec : {Precision::tf32, Precision::bf16}) {
    const PrecisionScope scope(prec);
    struct Case {
      const char* kind;
      int size, batch;
    };
    for (const Case c : {Case{"regression", 32, 2}, Case{"classification", 32, 2}, Case{"gan", 64, 4}}) {
      INFO(c.kind);
      MESSAGE("model " << std::string(c.kind) << " (compact), batch " << c.batch << ", " << c.size << "x" << c.size
                       << ", " << std::string(precision_name(prec)) << ", nhwc vs nchw");
      models::ColorizerOptions o;
      o.kind = c.kind;
      o.preset = "compact";
      o.seed = 11;
      o.lr = 1e-9f;
      o.device = Device::CUDA;
      auto ma = models::make_colorizer(o);
      auto mb = models::make_colorizer(o);
      data::Batch b = synthetic_batch(c.batch, c.size);
      Tensor L = Tensor::from_vector({1, 1, c.size, c.size},
                                     std::vector<float>(b.L.begin(), b.L.begin() + c.size * c.size));
      const Tensor pa = ma->predict_ab(L);
      Tensor pb;
      {
        const LayoutScope nhwc(Layout::nhwc);
        pb = mb->predict_ab(L);
      }
      close("predict_ab (eval)", pb, pa, 1e-4);
      data::Batch ba = b, bb = b;
      if (auto t = ma->batch_transform()) t(ba);
      if (auto t = mb->batch_transform()) t(bb);
      const models::Losses la = ma->train_step(ba);
      models::Losses lb;
      {
        // The profile counts the layout conversions: each network converts
        // its input and its output once; a channels-last op that fell back
        // to NCHW inside would add a to_nchw without a to_channels_last.
        const LayoutScope nhwc(Layout::nhwc);
        profile::reset();
        profile::enable();
        lb = mb->train_step(bb);
        profile::disable();
        int64_t in = 0, out = 0;
        for (const profile::Row& r : profile::table()) {
          if (r.name == "to_channels_last") in = r.calls;
          if (r.name == "to_nchw") out = r.calls;
        }
        std::printf("  layout conversions in the nhwc step: %lld in, %lld out\n", (long long)in, (long long)out);
        CHECK(in >= 1);
        CHECK(out == in);
      }
      REQUIRE(la.size() == lb.size());
      for (size_t i = 0; i < la.size(); ++i) {
        const double e = std::fabs(la[i].second - lb[i].second) / std::max(1e-6, double(std::fabs(la[i].second)));
        std::printf("  %-44s nchw=%.7g nhwc=%.7g rel=%.3g\n", ("loss " + la[i].first).c_str(), la[i].second,
                    lb[i].second, e);
        CHECK_MESSAGE(e <= 1e-4, "loss " << la[i].first);
      }
      const auto sa = ma->state(true), sb = mb->state(true);
      REQUIRE(sa.size() == sb.size());
      for (auto& [name, t] : sa) {
        if (name.find("exp_avg_sq") != std::string::npos || name.rfind("prior.", 0) == 0 || t.numel() == 1) continue;
        const Tensor& u = sb.at(name);
        const bool gradient = name.find("exp_avg") != std::string::npos;
        const double rel = gradient ? 2e-2 : name.find("running_") != std::string::npos ? 1e-4 : 1e-6;
        close(name + (gradient ? " (gradient)" : ""), u, t, rel);
      }
    }
  }
}
