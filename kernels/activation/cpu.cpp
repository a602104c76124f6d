// activation/cpu.cpp — pointwise activations, the fast CPU path: the
// reference's formulas (activation/ref.cpp, the specification) on one chunk of
// the elements per OpenMP thread; the same result bit for bit.
//
// Variants: one loop per activation kind (a template on the kind, so no
// switch runs per element), forward and backward. The reference's leaky ReLU
// (y = x < 0 ? slope * x : x) compiles to a scalar branch, which mispredicts
// on activations of random sign (3 ms for 1M floats, ~10x below memory
// speed); here common/select.h picks between the two values with an integer
// mask: the same bits, a loop the compiler vectorises. Tanh and sigmoid call
// the reference (bound by the transcendental, not by memory).
//
// Benchmark: bench_peer_forward's training step with TINCT_PROFILE=1 (rows
// leaky_relu, relu and their backward), e.g.
//   printf "train gan compact 1 8 128 3\nquit\n" | TINCT_PROFILE=1 build-cpu/bench/bench_peer_forward
#include "kernels/common/parallel.h"
#include "kernels/common/select.h"
#include "kernels/kernels.h"

namespace tinct::cpu {

namespace {

// Below this many elements a chunk per thread costs more than it saves.
constexpr size_t kSerialBelow = size_t(1) << 14;

template <class F>
void chunks(size_t n, F&& f) {
  if (n < kSerialBelow)
    f(size_t(0), n);
  else
    detail::parallel_chunks(n, f);
}

void relu_fwd(size_t n, const float* x, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void leaky_fwd(size_t n, float slope, const float* x, float* y) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = detail::select(v < 0.0f, slope * v, v);
  }
}

void relu_bwd(size_t n, const float* x, const float* dy, float* dx) {
  for (size_t i = 0; i < n; ++i) {
    const float g = dy[i];
    dx[i] = x[i] > 0.0f ? g : 0.0f;
  }
}

void leaky_bwd(size_t n, float slope, const float* x, const float* dy, float* dx) {
  for (size_t i = 0; i < n; ++i) {
    const float g = dy[i];
    dx[i] = detail::select(x[i] > 0.0f, g, slope * g);
  }
}

}  // namespace

void act_fwd(Act a, float slope, size_t n, const float* x, float* y) {
  chunks(n, [&](size_t i, size_t e) {
    switch (a) {
      case Act::Relu: relu_fwd(e - i, x + i, y + i); break;
      case Act::LeakyRelu: leaky_fwd(e - i, slope, x + i, y + i); break;
      default: act_fwd_ref(a, slope, e - i, x + i, y + i); break;
    }
  });
}

void act_bwd(Act a, float slope, size_t n, const float* x, const float* y, const float* dy, float* dx) {
  // y is read by Tanh / Sigmoid only, x by Relu / LeakyRelu: either may be null.
  chunks(n, [&](size_t i, size_t e) {
    switch (a) {
      case Act::Relu: relu_bwd(e - i, x + i, dy + i, dx + i); break;
      case Act::LeakyRelu: leaky_bwd(e - i, slope, x + i, dy + i, dx + i); break;
      default: act_bwd_ref(a, slope, e - i, x ? x + i : nullptr, y ? y + i : nullptr, dy + i, dx + i); break;
    }
  });
}

}  // namespace tinct::cpu
