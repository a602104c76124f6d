// reduce.cpp — sum and mean of all elements, CPU or CUDA.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

static Tensor reduce_all(const Tensor& x, bool average, const char* op) {
  ProfileRange range(op);
  check_arg(x.defined() && x.numel() > 0, op, "input is undefined or empty");
  const Device dev = x.device();
  const size_t n = size_t(x.numel());
  const float scale = average ? 1.f / float(n) : 1.f;
  Tensor y = Tensor::empty({}, dev);
  TINCT_DISPATCH(dev,
                 DeviceDouble acc(dev);
                 cuda::sum(n, x.data(), acc.ptr());
                 cuda::store_scalar(acc.ptr(), average ? 1.0 / double(n) : 1.0, y.data()),
                 y.data()[0] = float(cpu::sum_ref(n, x.data()) * scale));
  if (needs_grad({&x}))
    record(y, op, {x}, [=](const Tensor& gy) {
      Tensor gx = Tensor::empty_like(x);
      TINCT_DISPATCH(dev, cuda::scale_by_scalar(n, gy.data(), scale, nullptr, gx.data()),
                     gx.fill_(gy.item() * scale));
      accumulate_grad(x, gx);
    });
  return y;
}

Tensor sum(const Tensor& x) { return reduce_all(x, false, "sum"); }
Tensor mean(const Tensor& x) { return reduce_all(x, true, "mean"); }

}  // namespace tinct::ops
