// kbench.h — tinct-kbench's registry: op families, their ops, and each op's
// variants (the reference, the fast CPU paths, the CUDA files by number, the
// vendor library as variant 0), plus what an op needs at one shape: its
// buffers, its flops and bytes, and how close a variant must come to the
// reference. main.cpp checks and times; ops_*.cpp register the families.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace tinct::kbench {

// --key value options of one run; each op reads the keys it knows, with its
// defaults (the small awkward shape the ctest cases use), and an option no op
// read is an error.
class Shape {
 public:
  explicit Shape(std::map<std::string, std::string> kv = {}) : kv_(std::move(kv)) {}
  int i(const std::string& key, int def) const;
  double f(const std::string& key, double def) const;
  std::string s(const std::string& key, const std::string& def) const;
  // Keys given but never read.
  std::vector<std::string> unused() const;
  // "key=value ..." of every key read, for the report.
  std::string describe() const;

 private:
  std::map<std::string, std::string> kv_;
  mutable std::map<std::string, std::string> used_;
};

enum class Type { F32, F64, I32, U8 };
size_t type_size(Type t);

// One operand. In: random in [lo, hi) (or set by Problem::init); Out: written
// by the kernel (poisoned with NaN / 0xFF before each run); InOut: both (an
// accumulating gradient, running statistics, optimizer state).
struct Buf {
  enum Role { In, Out, InOut };
  std::string name;
  size_t n = 0;
  Role role = In;
  Type type = Type::F32;
  float lo = -1.0f, hi = 1.0f;
};

using Host = std::vector<std::vector<unsigned char>>;  // one byte vector per Buf

// An op at one shape.
struct Problem {
  std::vector<Buf> bufs;
  double flops = 0;  // 0: not counted (memory-bound ops)
  double bytes = 0;  // 0: the compulsory traffic of the buffers (In read, Out written, InOut both)
  double tol = 1e-4;  // worst |v - ref| / max(|ref|, 1e-3 max|ref|) allowed (floats)
  int int_tol = 0;    // worst |v - ref| allowed for integer outputs
  std::function<void(Host&)> init;  // after the random fill: inputs that must be consistent
};

// The pointers a kernel gets, in Problem::bufs order: host or device memory.
using Ptrs = std::vector<void*>;
template <class T>
T* at(const Ptrs& p, size_t i) {
  return static_cast<T*>(p[i]);
}

struct Variant {
  std::string name;   // "ref", "cpu", "cpu_direct", ...; "0" (vendor), "1", "2", ...; "dispatch"
  std::string where;  // the file, e.g. "kernels/conv/cuda_2_igemm.cu"
  bool gpu = false;
  std::function<void(const Shape&, const Ptrs&)> run;
  // Empty when this shape is supported, else why not.
  std::function<std::string(const Shape&)> unsupported;
  bool hidden = false;  // not listed, not run by --all (a test-only variant)
};

struct Op {
  std::string family, name, what;
  std::function<Problem(const Shape&)> problem;
  std::function<void(const Shape&, const Ptrs&)> ref;  // kernels/<family>/ref.cpp
  std::vector<Variant> variants;
};

std::vector<Op>& registry();
Op& add_op(std::string family, std::string name, std::string what, std::function<Problem(const Shape&)> problem,
           std::function<void(const Shape&, const Ptrs&)> ref);

// The families register themselves (ops_*.cpp); main calls these once.
void register_dense();      // gemm, conv, epilogue
void register_norm();       // batchnorm, bias, pool
void register_pointwise();  // activation, elementwise, concat, upsample, reduce
void register_train();      // loss, optim
void register_color();      // color
void register_cudnn();      // cuDNN as variant 0 of the convolutions (vendor_cudnn.cpp, where found)

// Shared shape helpers.
size_t count_of(const Shape& s);                // --n (elements or pixels), default 1001
std::array<int, 4> nchw_of(const Shape& s);     // --n --c --h --w, default 2 x 5 x 7 x 9
Conv2dParams conv_params(const Shape& s);  // --n --c --h --w --k --r --s --stride --pad --dil
Pool2dParams pool_params(const Shape& s);  // --n --c --h --w --kernel --stride --pad
Act act_of(const Shape& s);                // --act relu|leaky|tanh|sigmoid
Upsample mode_of(const Shape& s);          // --mode nearest|bilinear

#ifdef TINCT_HAS_CUDA
// A device scratch buffer kept between calls (workspaces of the CUDA variants).
void* gpu_scratch(size_t bytes);
#endif

}  // namespace tinct::kbench
