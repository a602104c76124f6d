// test_device.cpp — choosing a device, and what a machine without a usable
// GPU says when one is asked for. (The GPU side of the engine is tested
// against the CPU in tests/gpu/test_gpu_engine.cpp.)
#include <stdexcept>
#include <string>

#include "doctest/doctest.h"
#include "engine/device.h"
#include "engine/nn.h"
#include "engine/tensor.h"

using namespace tinct;

TEST_CASE("parse_device: names, auto, and a clear refusal of cuda without a GPU") {
  CHECK(parse_device("cpu") == Device::CPU);
  CHECK_THROWS_WITH_AS(parse_device("gpu0"), doctest::Contains("unknown device 'gpu0' (auto, cpu, cuda)"),
                       std::invalid_argument);
  std::string why;
  const bool have = cuda_available(&why);
  CHECK(parse_device("auto") == (have ? Device::CUDA : Device::CPU));
  if (have) {
    CHECK(parse_device("cuda") == Device::CUDA);
  } else {
    MESSAGE("no usable GPU here: " << why);
    CHECK_FALSE(why.empty());
    CHECK_THROWS_WITH_AS(parse_device("cuda"), doctest::Contains("--device cuda: no usable GPU: "),
                         std::runtime_error);
    // Asking for a CUDA tensor anyway fails with the reason, never crashes.
    CHECK_THROWS_AS(Tensor::empty({3}, Device::CUDA), std::exception);
  }
  CHECK(describe_device(Device::CPU).rfind("cpu (", 0) == 0);
}

TEST_CASE("CPU moves are no-ops that keep every handle") {
  Tensor a = Tensor::from_vector({2}, {1.f, 2.f});
  CHECK(a.to(Device::CPU).same(a));
  Tensor alias = a;
  a.move_to_(Device::CPU);
  CHECK(alias.same(a));
  CHECK(a.to_vector() == std::vector<float>{1.f, 2.f});
  CHECK(device::memory_summary().empty() == !cuda_available());
}
