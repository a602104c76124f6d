// op_util.h — argument checks shared by the ops.
#pragma once

#include <string>

#include "engine/autograd.h"
#include "engine/tensor.h"

namespace tinct::ops {

// The engine's ops run on the CPU kernels for now; CUDA tensors arrive with
// the CUDA backend.
inline void check_cpu(const Tensor& t, const char* op) {
  check_arg(t.device() == Device::CPU, op, "only CPU tensors are supported by this build of the op");
}

inline void check_4d(const Tensor& t, const char* op, const char* what) {
  check_arg(t.defined(), op, std::string(what) + " is undefined");
  check_arg(t.dim() == 4, op, std::string(what) + " must be 4-D NCHW, got " + shape_str(t.shape()));
  check_cpu(t, op);
}

inline void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  check_arg(a.shape() == b.shape(), op, "shapes differ: " + shape_str(a.shape()) + " vs " + shape_str(b.shape()));
}

inline int i32(int64_t v) { return int(v); }

}  // namespace tinct::ops
