// test_nccl.cpp — the NCCL path of engine/dist.h on one GPU: a 1-rank NCCL
// communicator (dist::with_nccl over the single-process one) all-reduces GPU
// buffers, sum and mean, of awkward lengths, singly and bucketed over many
// gradients (dist::allreduce_mean_grads), and overlapped with a backward pass
// on its own stream (start_allreduce, dist::GradAverager); host buffers
// still go through the host communicator. With one rank the sum and the mean leave every value
// as it was, so the check is exact; it shows NCCL is built, initialises, runs
// on the engine's stream and returns. The 2-rank maths is tests/test_train_dist.
// Skipped (77) without a CUDA device (gpu_skip.h) or without NCCL in the build.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "doctest/doctest.h"
#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/dist.h"
#include "engine/ops.h"
#include "gpu/gpu_skip.h"
#ifdef TINCT_HAS_NCCL
#include "engine/dist_nccl.h"
#endif

using namespace tinct;

namespace {

#ifndef TINCT_HAS_NCCL
const bool g_have_nccl = [] {
  std::printf("SKIPPED: this build has no NCCL (CMake found no nccl.h / libnccl)\n");
  std::exit(77);
  return false;
}();
#else

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * float(int(i % 1000) - 500) / 7.f;
  return v;
}

// The largest |a - b|, printed with the case's name.
float worst(const char* what, const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float w = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > w) w = std::abs(a[i] - b[i]), at = i;
  std::printf("%s: %zu values, worst |difference| %g at %zu\n", what, a.size(), w, at);
  return w;
}

TEST_CASE("a 1-rank NCCL all-reduce of GPU buffers leaves them as they were") {
  auto comm = dist::with_nccl(dist::single_process());
  CHECK(comm->size() == 1);
  CHECK(comm->backend() == "single+nccl");
  for (size_t n : {size_t(1), size_t(1000), size_t(1) << 20 | 3}) {
    const std::vector<float> v = ramp(n, 1.f);
    Tensor t = Tensor::from_vector({int64_t(n)}, v, Device::CUDA);
    comm->allreduce(t.data(), n, Device::CUDA, dist::Reduce::Sum);
    CHECK(worst("sum", t.to_vector(), v) == 0.f);
    comm->allreduce(t.data(), n, Device::CUDA, dist::Reduce::Mean);
    CHECK(worst("mean", t.to_vector(), v) == 0.f);
  }
  std::vector<float> host = ramp(17, 2.f), before = host;
  comm->allreduce(host.data(), host.size(), Device::CPU, dist::Reduce::Mean);
  CHECK(worst("host buffer", host, before) == 0.f);
}

TEST_CASE("bucketed gradients through NCCL: many tensors, some larger than a bucket") {
  auto comm = dist::with_nccl(dist::single_process());
  std::vector<Tensor> params;
  std::vector<std::vector<float>> grads;
  for (size_t n : {size_t(5), size_t(3000), dist::kBucketFloats + 11, size_t(64), size_t(1)}) {
    Tensor p = Tensor::zeros({int64_t(n)}, Device::CUDA);
    p.requires_grad_(true);
    grads.push_back(ramp(n, float(params.size() + 1)));
    Tensor g = Tensor::from_vector({int64_t(n)}, grads.back(), Device::CUDA);
    p.impl()->grad = g;  // as a backward pass leaves it
    params.push_back(p);
  }
  dist::allreduce_mean_grads(*comm, params);
  for (size_t i = 0; i < params.size(); ++i) CHECK(worst("gradient", params[i].grad().to_vector(), grads[i]) == 0.f);
}

TEST_CASE("the overlapped all-reduce: NCCL on its own stream, after the gradients it reduces") {
  auto comm = dist::with_nccl(dist::single_process());
  // Started, tested, waited: a long buffer, then the host's.
  const std::vector<float> v = ramp(size_t(1) << 22, 1.f);
  Tensor t = Tensor::from_vector({int64_t(v.size())}, v, Device::CUDA);
  auto pending = comm->start_allreduce(t.data(), v.size(), Device::CUDA, dist::Reduce::Mean);
  pending->test();
  pending->wait();
  CHECK(worst("started, waited", t.to_vector(), v) == 0.f);

  // A backward pass on the GPU whose buckets start while it runs: the
  // reduction must see each gradient as the default stream finishes it.
  std::vector<Tensor> params;
  for (int k = 0; k < 6; ++k)
    params.push_back(Tensor::from_vector({4096}, ramp(4096, 0.001f * float(k + 1)), Device::CUDA).requires_grad_());
  auto loss = [&] {
    Tensor h = Tensor::from_vector({4096}, ramp(4096, 0.002f), Device::CUDA);
    for (Tensor& p : params) h = ops::tanh(ops::mul(ops::add(h, p), p));
    return ops::mean(ops::mul(h, h));
  };
  loss().backward();
  std::vector<std::vector<float>> ref;
  for (Tensor& p : params) ref.push_back(p.grad().to_vector()), p.zero_grad();
  dist::GradAverager average(*comm, params, 5000);  // buckets of 2 parameters
  {
    OnLeafGrad hook([&](TensorImpl* p) { average.ready(p); });
    loss().backward();
  }
  average.finish();
  for (size_t k = 0; k < params.size(); ++k)
    CHECK(worst("overlapped gradient", params[k].grad().to_vector(), ref[k]) == 0.f);
}

#endif

}  // namespace
