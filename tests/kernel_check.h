// kernel_check.h — small helpers for the kernel tests (fast path vs reference):
// seeded random buffers and an error report that names the worst element.
//
// The tolerance is relative to the size of the answer and grows with the
// length k of the sums behind each output, as float rounding does:
//   |got - ref| <= rtol * sqrt(k) * (1 + max|ref|)
// Relative error is reported as |got - ref| / max(|ref|, 1e-3 * max|ref|) so
// that outputs that happen to be near zero do not dominate it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace kcheck {

// The same floats bit for bit (NaN payloads and signed zeros included).
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

// A kernels' run-time switch (cpu::set_conv_s2_phases and the like) set for
// one scope and restored after it, whatever the test does in between.
class SwitchScope {
 public:
  SwitchScope(bool (*get)(), void (*set)(bool), bool on) : set_(set), saved_(get()) { set(on); }
  ~SwitchScope() { set_(saved_); }
  SwitchScope(const SwitchScope&) = delete;
  SwitchScope& operator=(const SwitchScope&) = delete;

 private:
  void (*set_)(bool);
  bool saved_;
};

// What the switch's getter reads after set(false), then after set(true); the
// switch is restored after.
struct SwitchReads {
  bool off, on;
};
inline SwitchReads switch_reads(bool (*get)(), void (*set)(bool)) {
  const SwitchScope scope(get, set, false);
  SwitchReads r;
  r.off = get();
  set(true);
  r.on = get();
  return r;
}

inline std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

struct Diff {
  double max_abs = 0, max_rel = 0;  // worst errors
  size_t at_abs = 0, at_rel = 0;    // and where they are
  double max_ref = 0;               // max |ref|
  size_t n = 0;
};

// Compares got[i] with ref[i] for i < n; a NaN/inf in got where
// ref is finite counts as an infinite error.
inline Diff diff(const float* got, const float* ref, size_t n) {
  Diff d;
  d.n = n;
  for (size_t i = 0; i < n; ++i) d.max_ref = std::max(d.max_ref, (double)std::fabs(ref[i]));
  const double floor = std::max(1e-3 * d.max_ref, 1e-30);
  for (size_t i = 0; i < n; ++i) {
    double e = std::fabs((double)got[i] - (double)ref[i]);
    if (!std::isfinite(got[i]) && std::isfinite(ref[i])) e = std::numeric_limits<double>::infinity();
    const double rel = e / std::max((double)std::fabs(ref[i]), floor);
    if (e > d.max_abs) d.max_abs = e, d.at_abs = i;
    if (rel > d.max_rel) d.max_rel = rel, d.at_rel = i;
  }
  return d;
}

inline double tolerance(double rtol, double k, const Diff& d) {
  return rtol * std::sqrt(std::max(k, 1.0)) * (1.0 + d.max_ref);
}

// Prints one line about the comparison and returns whether it passes.
inline bool report(const char* what, const Diff& d, double tol) {
  const bool ok = d.max_abs <= tol;
  std::printf("  %-44s n=%-8zu max|ref|=%-9.3g abs=%.3g @%zu  rel=%.3g @%zu  tol=%.3g %s\n", what,
              d.n, d.max_ref, d.max_abs, d.at_abs, d.max_rel, d.at_rel, tol, ok ? "ok" : "FAIL");
  return ok;
}

}  // namespace kcheck
