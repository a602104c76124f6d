// common/lane_sum.h — a long sum in double, in 8 independent lanes.
//
// WHY: one double accumulator is a serial chain of 4-cycle adds (the
// compiler may not reorder it): a bias gradient over a training batch, 2M
// floats for a 16-channel layer at 128x128, took ~3 ms that way. Eight lanes
// let the compiler vectorise the loop; they are added together in a fixed
// order, so the result depends on neither the machine nor the thread count,
// and it is as accurate as the single accumulator (it rounds in double).
// Used by the batch-norm statistics (batchnorm/cpu.cpp) and the convolutions'
// bias gradients (conv/cpu.cpp, conv/cpu_stem_dw.cpp).
#pragma once

#include <cstddef>

namespace tinct::cpu::detail {

class LaneSum {
 public:
  // Adds f(0) .. f(n - 1) (doubles): element i of each whole run of 8 to
  // lane i % 8, the last n % 8 to a tail accumulator. f sees plain indices,
  // so the lane loop vectorises.
  // The index has n's type: an int count with a lambda on ints vectorises,
  // converted to size_t it ran the batch norm 2x slower.
  template <class I, class F>
  void add(I n, F&& f) {
    double lane[8];  // a local copy: kept in registers
    for (int l = 0; l < 8; ++l) lane[l] = lane_[l];
    I i = 0;
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; ++l) lane[l] += f(i + l);
    for (int l = 0; l < 8; ++l) lane_[l] = lane[l];
    for (; i < n; ++i) tail_ += f(i);
  }
  // Adds x[0..n).
  void add_floats(const float* x, size_t n) {
    add(n, [x](size_t i) { return double(x[i]); });
  }
  // The tail, then the lanes in order.
  double total() const {
    double s = tail_;
    for (int l = 0; l < 8; ++l) s += lane_[l];
    return s;
  }

 private:
  double lane_[8] = {};
  double tail_ = 0.0;
};

}  // namespace tinct::cpu::detail
