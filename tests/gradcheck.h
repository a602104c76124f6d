// gradcheck.h — finite-difference gradient checking for the engine's ops.
//
// For an op f and inputs x_k, the check forms the scalar L = sum(f(x) * u)
// with a fixed random u (so every output position matters), computes dL/dx_k
// by backward(), and compares each checked entry with the central difference
// (L(x + h e_i) - L(x - h e_i)) / 2h, L summed in double. It reports the
// worst error and where it happened.
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace tinct::testing {

struct GradCheckResult {
  double scale = 0;  // largest |analytic| of the input with the worst entry
  bool ok = true;
  double worst_excess = -1;  // max over entries of |num - ana| - tolerance
  double worst_abs = 0, num = 0, ana = 0;
  std::string where;
  int checked = 0;
};

// An entry passes when |numeric - analytic| <= rtol * max(|numeric|, |analytic|)
// + atol * scale, where scale is the largest |analytic| entry of that input's
// gradient: losses that average over many elements have tiny gradients, and
// an absolute tolerance would let a wrong one through.
struct GradCheckOptions {
  float h = 1e-2f;
  double atol = 5e-3, rtol = 1e-2;
  int max_entries = 48;  // per input; entries are spread over the tensor
  uint64_t seed = 7;
};

inline double dot_double(const Tensor& a, const Tensor& b) {
  double s = 0;
  const float* pa = a.data();
  const float* pb = b.data();
  for (int64_t i = 0; i < a.numel(); ++i) s += double(pa[i]) * double(pb[i]);
  return s;
}

inline GradCheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                 std::vector<Tensor> inputs, GradCheckOptions o = {}) {
  GradCheckResult r;
  for (Tensor& x : inputs) x.zero_grad();
  Tensor out = f(inputs);
  Rng rng(o.seed);
  Tensor u = rand_uniform(out.shape(), rng, -1.f, 1.f);
  ops::sum(ops::mul(out, u)).backward();

  NoGrad ng;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor g = x.grad();
    const int64_t n = x.numel();
    double scale = 1e-30;
    for (int64_t i = 0; g.defined() && i < n; ++i) scale = std::max(scale, double(std::fabs(g.data()[i])));
    const int64_t step = std::max<int64_t>(1, n / o.max_entries);
    for (int64_t i = (n > o.max_entries ? int64_t(rng.below(uint32_t(step))) : 0); i < n; i += step) {
      float* p = x.data() + i;
      const float keep = *p;
      *p = keep + o.h;
      const double lp = dot_double(f(inputs), u);
      *p = keep - o.h;
      const double lm = dot_double(f(inputs), u);
      *p = keep;
      const double num = (lp - lm) / (2.0 * double(o.h));
      const double ana = g.defined() ? double(g.data()[i]) : 0.0;
      const double err = std::fabs(num - ana);
      const double excess = err - (o.atol * scale + o.rtol * std::max(std::fabs(num), std::fabs(ana)));
      ++r.checked;
      if (excess > r.worst_excess) {
        r.worst_excess = excess;
        r.worst_abs = err;
        r.num = num;
        r.scale = scale;
        r.ana = ana;
        r.where = "input " + std::to_string(k) + " " + shape_str(x.shape()) + " flat index " + std::to_string(i);
      }
      if (excess > 0) r.ok = false;
    }
  }
  return r;
}

inline std::string describe(const GradCheckResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%d entries checked; worst |numeric - analytic| = %.3g at %s (numeric %.6g, analytic %.6g, gradient scale %.3g)%s",
                r.checked, r.worst_abs, r.where.c_str(), r.num, r.ana, r.scale, r.ok ? "" : "  <-- FAILS");
  return buf;
}

// Uniform values in [lo, hi] pushed at least `gap` away from zero, for ops with
// a kink at 0 (relu, leaky_relu, l1), so a finite difference never straddles it.
inline Tensor away_from_zero(const Shape& s, Rng& rng, float gap = 0.05f, float hi = 1.f) {
  Tensor t = rand_uniform(s, rng, -hi, hi);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] < 0 ? p[i] - gap : p[i] + gap;
  return t;
}

// Distinct values spaced `gap` apart in random order: max-pool windows then
// have a unique maximum that a perturbation of h < gap/2 cannot change.
inline Tensor distinct_values(const Shape& s, Rng& rng, float gap = 0.05f) {
  Tensor t = Tensor::empty(s);
  const int64_t n = t.numel();
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = gap * float(i - n / 2);
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[size_t(i)], v[rng.below(uint32_t(i + 1))]);
  for (int64_t i = 0; i < n; ++i) t.data()[i] = v[size_t(i)];
  return t;
}

}  // namespace tinct::testing
