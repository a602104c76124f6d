// test_gpu_color.cpp — the colour kernels of kernels/color/cuda_1_pixel.cu against
// their CPU specification, kernels/color/ref.cpp (double precision; the image
// functions of models/color/ equal it bit for bit, tests/test_color_ref.cpp):
//   srgb8_to_lab       vs cpu::srgb8_to_lab_ref
//   lab_to_srgb8       vs cpu::lab_to_srgb8_ref
//   soft_encode_dense  vs cpu::soft_encode_dense_ref on AbGamut::standard()'s centres
// on seeded random inputs at odd sizes n = 1, 7, 1000, 65537 (one pixel, less
// than a warp, not a multiple of the block, more than 256 blocks).
//
// Every comparison prints one line: what, n, the worst absolute error and its
// index, the tolerance, ok / FAIL. Tolerances:
//   LAB (L, a, b)  1e-3 absolute. The kernel works in float; the expected
//                  error is ~1e-5 on L and ~1e-4 on a, b (500 x the float
//                  rounding of f(X) - f(Y)).
//   uint8 RGB      every byte equal to the reference or off by exactly 1, and
//                  off by 1 in fewer than 0.1% of the values (count * 1000 <
//                  values, so the tiny sizes must be exact). A float result
//                  lands on the other side of a rounding boundary (k + 0.5)/255
//                  only when the double result is within ~1e-6 of it: the
//                  expected rate is of order 1e-5 per value. The seeds are
//                  fixed, so a pass is reproducible. A second input, the LAB of
//                  random bytes (in gamut, each channel at an exact k/255,
//                  far from any boundary), must come back exactly.
//   soft-encoding  1e-5 absolute on every one of the Q * n weights (the bins
//                  are chosen with the CPU's exact float distance, so only
//                  expf vs libm exp differs, < 1e-6). The first pixels of the
//                  larger cases sit on exact ties (bin centres, midpoints,
//                  corners of 4 cells) and far outside the gamut.
// GPU outputs are filled with 0xFF bytes first (NaN for floats), so a value the
// kernel fails to write shows as an error.
//
// Skipping: as in test_gpu_kernels.cpp, a namespace-scope initializer prints
// "SKIPPED: no CUDA device (<why>)" and exits with 77 (ctest: skipped) when no
// usable CUDA device exists.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "gpu/gpu_skip.h"
#include "kernels/color/ref.h"
#include "kernels/cuda.h"
#include "models/color/gamut.h"
#include "models/color/lab.h"
#include "models/color/soft_encode.h"

using namespace tinct;
namespace gpu = tinct::cuda;

namespace {

// ---- device buffers ----------------------------------------------------------
template <class T>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) {
    if (n_) TINCT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)));
  }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) {
    if (n_) TINCT_CUDA_CHECK(cudaMemcpy(p_, h.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~Dev() {
    if (p_) cudaFree(p_);
  }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* p() const { return p_; }
  std::vector<T> get() const {
    TINCT_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> h(n_);
    if (n_) TINCT_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  void poison() {
    if (n_) TINCT_CUDA_CHECK(cudaMemset(p_, 0xFF, n_ * sizeof(T)));
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

const size_t kSizes[] = {1, 7, 1000, 65537};

std::vector<std::uint8_t> random_bytes(size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(d(gen));
  return v;
}

std::vector<float> random_floats(size_t n, std::uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// Worst |got - ref| (NaN in got counts as infinite) and its index; prints a line.
bool check_close(const std::string& what, const std::vector<float>& got,
                 const std::vector<float>& ref, double tol) {
  REQUIRE(got.size() == ref.size());
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double e = std::fabs(double(got[i]) - double(ref[i]));
    if (!std::isfinite(got[i])) e = INFINITY;
    if (e > worst) worst = e, at = i;
  }
  const bool ok = worst <= tol;
  std::printf("  %-40s values %-9zu worst abs %-10.3g at %-9zu (got %.7g ref %.7g) tol %.1g %s\n",
              what.c_str(), got.size(), worst, at, got.empty() ? 0.0 : double(got[at]),
              ref.empty() ? 0.0 : double(ref[at]), tol, ok ? "ok" : "FAIL");
  std::fflush(stdout);
  CHECK_MESSAGE(ok, what);
  return ok;
}

// Bytes: equal, or off by 1 in fewer than 0.1% of the values; never more.
bool check_bytes(const std::string& what, const std::vector<std::uint8_t>& got,
                 const std::vector<std::uint8_t>& ref, bool exact) {
  REQUIRE(got.size() == ref.size());
  int worst = 0;
  size_t at = 0, off1 = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const int e = std::abs(int(got[i]) - int(ref[i]));
    off1 += (e == 1);
    if (e > worst) worst = e, at = i;
  }
  const bool ok = exact ? worst == 0 : (worst <= 1 && off1 * 1000 < got.size());
  std::printf("  %-40s values %-9zu worst abs %-3d at %-9zu (got %d ref %d) off-by-1 %zu (%.4f%%) %s %s\n",
              what.c_str(), got.size(), worst, at, got.empty() ? 0 : int(got[at]),
              ref.empty() ? 0 : int(ref[at]), off1,
              got.empty() ? 0.0 : 100.0 * double(off1) / double(got.size()),
              exact ? "exact" : "<0.1% off by 1", ok ? "ok" : "FAIL");
  std::fflush(stdout);
  CHECK_MESSAGE(ok, what);
  return ok;
}

std::string label(const std::string& op, size_t n) { return op + " n=" + std::to_string(n); }

}  // namespace

TEST_CASE("srgb8_to_lab matches cpu::srgb8_to_lab_ref") {
  std::uint32_t seed = 100;
  for (size_t n : kSizes) {
    const auto rgb = random_bytes(3 * n, seed++);
    std::vector<float> L(n), ab(2 * n);
    cpu::srgb8_to_lab_ref(n, rgb.data(), L.data(), ab.data());

    Dev<std::uint8_t> d_rgb(rgb);
    Dev<float> d_L(n), d_ab(2 * n);
    d_L.poison();
    d_ab.poison();
    gpu::srgb8_to_lab(n, d_rgb.p(), d_L.p(), d_ab.p());
    check_close(label("srgb8_to_lab L", n), d_L.get(), L, 1e-3);
    check_close(label("srgb8_to_lab ab", n), d_ab.get(), ab, 1e-3);
  }
}

TEST_CASE("lab_to_srgb8 matches cpu::lab_to_srgb8_ref") {
  std::uint32_t seed = 200;
  for (size_t n : kSizes) {
    // Random LAB over the whole box (many out of gamut: clamping).
    std::vector<float> L = random_floats(n, seed++, 0.0f, 100.0f);
    std::vector<float> ab = random_floats(2 * n, seed++, -110.0f, 110.0f);
    std::vector<std::uint8_t> ref(3 * n);
    cpu::lab_to_srgb8_ref(n, L.data(), ab.data(), ref.data());
    {
      Dev<float> d_L(L), d_ab(ab);
      Dev<std::uint8_t> d_rgb(3 * n);
      d_rgb.poison();
      gpu::lab_to_srgb8(n, d_L.p(), d_ab.p(), d_rgb.p());
      check_bytes(label("lab_to_srgb8 random LAB", n), d_rgb.get(), ref, false);
    }
    // Round trip of random bytes: must come back exactly.
    const auto rgb = random_bytes(3 * n, seed++);
    cpu::srgb8_to_lab_ref(n, rgb.data(), L.data(), ab.data());
    {
      Dev<float> d_L(L), d_ab(ab);
      Dev<std::uint8_t> d_rgb(3 * n);
      d_rgb.poison();
      gpu::lab_to_srgb8(n, d_L.p(), d_ab.p(), d_rgb.p());
      check_bytes(label("lab_to_srgb8 LAB of bytes", n), d_rgb.get(), rgb, true);
    }
  }
}

TEST_CASE("soft_encode_dense matches cpu::soft_encode_dense_ref (standard gamut)") {
  const color::AbGamut& gamut = color::AbGamut::standard();
  const int Q = gamut.size();
  std::vector<float> centres;
  for (const color::AbBin& c : gamut.centres()) centres.push_back(c.a), centres.push_back(c.b);
  Dev<float> d_centres(centres);

  // Exact ties and extremes, put first in the larger cases.
  const float special[][2] = {{0, 0},   {5, 5},     {5, 0},     {-5, 15},  {0.5f, 0.5f},
                              {10, 10}, {-45, 55},  {127, 127}, {-128, -128}, {95, -105},
                              {20, -80}, {-85, 0}};
  std::uint32_t seed = 300;
  for (size_t n : kSizes) {
    std::vector<float> ab = random_floats(2 * n, seed++, -120.0f, 120.0f);
    if (n >= 1000)
      for (size_t i = 0; i < sizeof special / sizeof special[0]; ++i)
        ab[i] = special[i][0], ab[n + i] = special[i][1];
    std::vector<float> ref(size_t(Q) * n);
    cpu::soft_encode_dense_ref(n, ab.data(), centres.data(), Q, ref.data(), color::kSoftEncodeSigma);

    Dev<float> d_ab(ab), d_out(size_t(Q) * n);
    d_out.poison();
    gpu::soft_encode_dense(n, d_ab.p(), d_centres.p(), Q, d_out.p());
    check_close(label("soft_encode_dense [Q,n] Q=" + std::to_string(Q), n), d_out.get(), ref, 1e-5);
  }
}
