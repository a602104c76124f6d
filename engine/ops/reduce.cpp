// reduce.cpp — sum and mean of all elements.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

static Tensor reduce_all(const Tensor& x, bool average, const char* op) {
  check_arg(x.defined() && x.numel() > 0, op, "input is undefined or empty");
  check_cpu(x, op);
  const size_t n = size_t(x.numel());
  const float scale = average ? 1.f / float(n) : 1.f;
  Tensor y = Tensor::scalar(float(cpu::sum_ref(n, x.data()) * scale));
  if (needs_grad({&x}))
    record(y, op, {x}, [=](const Tensor& gy) {
      accumulate_grad(x, Tensor::full(x.shape(), gy.item() * scale));
    });
  return y;
}

Tensor sum(const Tensor& x) { return reduce_all(x, false, "sum"); }
Tensor mean(const Tensor& x) { return reduce_all(x, true, "mean"); }

}  // namespace tinct::ops
