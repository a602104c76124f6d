// op_util.h — what the ops share: argument checks, the CPU/CUDA dispatch,
// device scalars.
//
// Every op runs on the device of its inputs (they must agree) and writes its
// outputs there. TINCT_DISPATCH(dev, cuda_stmt, cpu_stmt) runs the
// statement of that device; in a build without CUDA the CUDA statement is
// not even compiled (a CUDA tensor cannot exist there). Each op opens a
// ProfileRange with its name (engine/profile.h).
#pragma once

#include <string>

#include "engine/autograd.h"
#include "engine/profile.h"
#include "engine/tensor.h"

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#define TINCT_DISPATCH(dev, cuda_stmt, cpu_stmt) \
  do {                                           \
    if ((dev) == ::tinct::Device::CUDA) {        \
      cuda_stmt;                                 \
    } else {                                     \
      cpu_stmt;                                  \
    }                                            \
  } while (0)
#else
#define TINCT_DISPATCH(dev, cuda_stmt, cpu_stmt) \
  do {                                           \
    cpu_stmt;                                    \
  } while (0)
#endif

namespace tinct::ops {

// Every defined input on one device; returns it.
inline Device same_device(std::initializer_list<const Tensor*> ts, const char* op) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!first) first = t;
    check_arg(t->device() == first->device(), op,
              std::string("inputs are on different devices (") + device_name(first->device()) + " and " +
                  device_name(t->device()) + "); move them with .to()");
  }
  return first ? first->device() : Device::CPU;
}

inline void check_4d(const Tensor& t, const char* op, const char* what) {
  check_arg(t.defined(), op, std::string(what) + " is undefined");
  check_arg(t.dim() == 4, op, std::string(what) + " must be 4-D NCHW, got " + shape_str(t.shape()));
}

inline void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  check_arg(a.shape() == b.shape(), op, "shapes differ: " + shape_str(a.shape()) + " vs " + shape_str(b.shape()));
}

inline int i32(int64_t v) { return int(v); }

// The (N, C, HW) a per-channel kernel (bias, batch norm, concat, the soft
// cross-entropy) is called with for a 4-D t: its own for NCHW; for a
// channels-last t, [N*H*W][C][1][1], the same memory (engine/layout.h).
struct ChannelDims {
  int N, C, HW;
};
inline ChannelDims channel_dims(const Tensor& t) {
  const int N = i32(t.size(0)), C = i32(t.size(1)), HW = i32(t.size(2) * t.size(3));
  return t.channels_last() ? ChannelDims{N * HW, C, 1} : ChannelDims{N, C, HW};
}

// A device double that CUDA reductions and losses write into (kept in a
// two-float tensor: the allocator's blocks are 256-byte aligned).
struct DeviceDouble {
  Tensor buf;
  explicit DeviceDouble(Device d) : buf(Tensor::empty({2}, d)) {}
  double* ptr() { return reinterpret_cast<double*>(buf.data()); }
};

}  // namespace tinct::ops
