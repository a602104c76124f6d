// test_grad_averager.cpp — the all-reduce overlapped with the backward pass
// (dist::GradAverager, engine/dist.h) and the autograd hook it hangs on
// (OnLeafGrad, engine/autograd.h), in one process: a fake communicator plays
// a second rank whose gradients are 3x this one's, so the average is 2x.
// What `mpirun -np 2` adds (the bits against the all-reduce after the
// backward pass, a bucket started too soon) is in test_train_dist.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/dist.h"
#include "engine/ops.h"
#include "engine/random.h"

using namespace tinct;

namespace {

// The other rank's value of every element: 3x this rank's.
void with_other_rank(float* p, size_t n, dist::Reduce op) {
  for (size_t i = 0; i < n; ++i) {
    p[i] = p[i] + 3.f * p[i];
    if (op == dist::Reduce::Mean) p[i] *= 0.5f;
  }
}

struct FakeTwoRanks : dist::Communicator {
  struct Started {
    std::vector<float> values;  // the buffer when the all-reduce started
    bool during_backward;
  };
  std::vector<Started> started;
  bool in_backward = false;
  int tests = 0;
  std::string untouched_error;  // set when a buffer changed between start and wait

  struct Pending : dist::Communicator::Pending {
    Pending(FakeTwoRanks& c, float* p, size_t n, dist::Reduce op) : c(c), p(p), n(n), op(op), at_start(p, p + n) {}
    bool test() override {
      ++c.tests;
      return false;
    }
    void wait() override {
      if (std::vector<float>(p, p + n) != at_start) c.untouched_error = "a bucket changed while it was reduced";
      with_other_rank(p, n, op);
    }
    FakeTwoRanks& c;
    float* p;
    size_t n;
    dist::Reduce op;
    std::vector<float> at_start;
  };

  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string backend() const override { return "fake"; }
  void allreduce(float* p, size_t n, Device, dist::Reduce op) override { with_other_rank(p, n, op); }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  std::unique_ptr<dist::Communicator::Pending> start_allreduce(float* p, size_t n, Device, dist::Reduce op) override {
    started.push_back({std::vector<float>(p, p + n), in_backward});
    return std::make_unique<Pending>(*this, p, n, op);
  }
};

constexpr int kLayers = 6, kWidth = 64;

// A chain that uses each parameter twice (its gradient is a sum of two
// contributions): h <- tanh((h + p) * p); loss = mean(h * h).
Tensor chain_loss(const std::vector<Tensor>& params, const Tensor& x) {
  Tensor h = x;
  for (int k = 0; k < kLayers; ++k) h = ops::tanh(ops::mul(ops::add(h, params[size_t(k)]), params[size_t(k)]));
  return ops::mean(ops::mul(h, h));
}

std::vector<Tensor> make_params(Rng& rng, int count) {
  std::vector<Tensor> ps;
  for (int k = 0; k < count; ++k) {
    std::vector<float> v(kWidth);
    for (float& f : v) f = rng.uniform(-1.f, 1.f);
    ps.push_back(Tensor::from_vector({kWidth}, v).requires_grad_());
  }
  return ps;
}

std::vector<std::vector<float>> grads_of(const std::vector<Tensor>& ps) {
  std::vector<std::vector<float>> g;
  for (const Tensor& p : ps) g.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<float>{});
  return g;
}

}  // namespace

TEST_CASE("OnLeafGrad: each leaf once, when its gradient is complete") {
  Tensor a = Tensor::from_vector({2}, {2, 3}).requires_grad_();
  Tensor b = Tensor::from_vector({2}, {5, 7}).requires_grad_();
  std::vector<std::pair<TensorImpl*, std::vector<float>>> seen;
  Tensor y = ops::sum(ops::add(ops::mul(a, b), a));  // a is used twice
  {
    OnLeafGrad hook([&](TensorImpl* t) { seen.push_back({t, t->grad.to_vector()}); });
    y.backward();
  }
  REQUIRE(seen.size() == 2);
  std::map<TensorImpl*, std::vector<float>> at_hook(seen.begin(), seen.end());
  REQUIRE(at_hook.size() == 2);  // once each
  CHECK(at_hook.at(a.impl()) == a.grad().to_vector());  // both contributions were in
  CHECK(at_hook.at(a.impl()) == std::vector<float>{6, 8});
  CHECK(at_hook.at(b.impl()) == std::vector<float>{2, 3});

  // Gone with its scope.
  a.zero_grad();
  b.zero_grad();
  seen.clear();
  ops::sum(ops::mul(a, b)).backward();
  CHECK(seen.empty());
}

TEST_CASE("GradAverager: buckets in reverse order start during the backward pass, complete, and average") {
  Rng rng(7);
  // Parameter 0 is never used: it gets no gradient and holds back only its
  // own bucket, the last.
  std::vector<Tensor> params = make_params(rng, kLayers + 1);
  std::vector<Tensor> used(params.begin() + 1, params.end());
  std::vector<float> xv(kWidth);
  for (float& f : xv) f = rng.uniform(-1.f, 1.f);
  const Tensor x = Tensor::from_vector({kWidth}, xv);

  chain_loss(used, x).backward();
  const std::vector<std::vector<float>> ref = grads_of(params);
  for (Tensor& p : params) p.zero_grad();

  // 100 floats a bucket: two 64-float parameters each.
  FakeTwoRanks comm;
  dist::GradAverager average(comm, params, 100);
  comm.in_backward = true;
  {
    OnLeafGrad hook([&](TensorImpl* t) { average.ready(t); });
    chain_loss(used, x).backward();
  }
  comm.in_backward = false;
  const size_t during = comm.started.size();
  average.finish();

  // Buckets: {p6, p5}, {p4, p3}, {p2, p1}, {p0}; the last has no gradient.
  CHECK(during == 3);
  CHECK(comm.started.size() == 3);
  CHECK(comm.tests > 0);  // started collectives were given turns
  CHECK(comm.untouched_error.empty());
  // Each bucket held the complete gradients, last parameters first.
  for (size_t b = 0; b < comm.started.size(); ++b) {
    std::vector<float> expect = ref[size_t(kLayers - 2 * b)];
    const std::vector<float>& next = ref[size_t(kLayers - 2 * b - 1)];
    expect.insert(expect.end(), next.begin(), next.end());
    CHECK_MESSAGE(comm.started[b].values == expect, "bucket " << b);
  }
  // The average of this rank's g and the other's 3g, exactly as computed.
  double worst = 0;
  for (size_t k = 1; k < params.size(); ++k) {
    std::vector<float> expect = ref[k];
    with_other_rank(expect.data(), expect.size(), dist::Reduce::Mean);
    const std::vector<float> got = params[k].grad().to_vector();
    REQUIRE(got.size() == expect.size());
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, double(std::fabs(got[i] - expect[i])));
  }
  std::printf("GradAverager vs g + 3g averaged: worst |difference| %g\n", worst);
  CHECK(worst == 0);
  CHECK_FALSE(params[0].grad().defined());
}

TEST_CASE("GradAverager: a bucket waits for every earlier one, so all ranks start them in the same order") {
  Rng rng(11);
  std::vector<Tensor> params = make_params(rng, kLayers);
  std::vector<float> xv(kWidth, 0.5f);
  const Tensor x = Tensor::from_vector({kWidth}, xv);
  // The first bucket (the last parameter) also holds a parameter the graph
  // never reaches: nothing can start before finish().
  std::vector<Tensor> listed = params;
  listed.push_back(make_params(rng, 1)[0]);
  FakeTwoRanks comm;
  dist::GradAverager average(comm, listed, 100);
  {
    OnLeafGrad hook([&](TensorImpl* t) { average.ready(t); });
    chain_loss(params, x).backward();
  }
  CHECK(comm.started.empty());
  average.finish();
  CHECK(comm.started.size() == 4);  // {unused, p5} with p5 alone, {p4, p3}, {p2, p1}, {p0}
  CHECK(comm.started[0].values.size() == size_t(kWidth));
  CHECK(comm.untouched_error.empty());
}

TEST_CASE("GradAverager with one process leaves the gradients as they are") {
  Rng rng(3);
  std::vector<Tensor> params = make_params(rng, kLayers);
  const Tensor x = Tensor::from_vector({kWidth}, std::vector<float>(kWidth, 0.25f));
  chain_loss(params, x).backward();
  const std::vector<std::vector<float>> ref = grads_of(params);
  for (Tensor& p : params) p.zero_grad();
  auto single = dist::single_process();
  dist::GradAverager average(*single, params, 100);
  {
    OnLeafGrad hook([&](TensorImpl* t) { average.ready(t); });
    chain_loss(params, x).backward();
  }
  average.finish();
  CHECK(grads_of(params) == ref);
}
