// test_tc_phases.cpp — backward-data's output phases of the tensor-core
// convolutions (kernels/tensorcore/phases.h) against their definition, by
// brute force over many geometries: dx[h, w] receives dy[p, q] through tap
// (r, s) exactly when p*stride_h = h + pad_h - r*dil_h and q*stride_w =
// w + pad_w - s*dil_w for some integers p, q (bounds aside). Checks that the
// phases cover every pixel once, that each phase's taps are exactly the taps
// that reach its pixels (none missing: a wrong dx; none extra: wasted
// tensor-core work), and the tap counts the kernel comment promises.
#include <cstdio>
#include <set>
#include <utility>
#include <vector>

#include "doctest/doctest.h"
#include "kernels/tensorcore/phases.h"

using namespace tinct;
using cuda::tc::bwd_data_phases;
using cuda::tc::PhaseGeom;

namespace {

Conv2dParams geometry(int H, int W, int R, int S, int stride, int pad, int dil) {
  Conv2dParams p;
  p.N = 1, p.C = 1, p.K = 1, p.H = H, p.W = W, p.R = R, p.S = S;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = pad;
  p.dil_h = p.dil_w = dil;
  return p;
}

bool reaches(int h, int pad, int r, int dil, int stride) { return ((h + pad - r * dil) % stride + stride) % stride == 0; }

// The number of checks that failed for p (0: all held); prints the first.
int check(const Conv2dParams& p) {
  const std::vector<PhaseGeom> phases = bwd_data_phases(p);
  std::vector<int> covered(size_t(p.H) * p.W, 0);
  int bad = 0;
  auto fail = [&](const char* what, int h, int w) {
    if (bad++ == 0)
      std::printf("  H %d W %d R %d S %d stride %d pad %d dil %d: %s at pixel (%d, %d)\n", p.H, p.W, p.R, p.S,
                  p.stride_h, p.pad_h, p.dil_h, what, h, w);
  };
  for (const PhaseGeom& f : phases) {
    std::set<std::pair<int, int>> taps;
    for (int t = 0; t < f.taps.n; ++t) taps.insert({f.taps.r[t], f.taps.s[t]});
    if (!f.all && int(taps.size()) != f.taps.n) fail("a tap listed twice", -1, -1);
    for (int hh = 0; hh < f.Hp; ++hh)
      for (int ww = 0; ww < f.Wp; ++ww) {
        const int h = hh * f.step_h + f.a, w = ww * f.step_w + f.b;
        if (h >= p.H || w >= p.W) {
          fail("a phase pixel outside dx", h, w);
          continue;
        }
        ++covered[size_t(h) * p.W + w];
        if (f.all) continue;  // every tap, the gather zeroes the misses
        for (int r = 0; r < p.R; ++r)
          for (int s = 0; s < p.S; ++s) {
            const bool want = reaches(h, p.pad_h, r, p.dil_h, p.stride_h) && reaches(w, p.pad_w, s, p.dil_w, p.stride_w);
            if (want != (taps.count({r, s}) == 1)) fail(want ? "a tap missing" : "an extra tap", h, w);
          }
      }
  }
  for (int h = 0; h < p.H; ++h)
    for (int w = 0; w < p.W; ++w)
      if (covered[size_t(h) * p.W + w] != 1) fail("a pixel not covered exactly once", h, w);
  return bad;
}

std::vector<int> tap_counts(const Conv2dParams& p) {
  std::vector<int> n;
  for (const PhaseGeom& f : bwd_data_phases(p)) n.push_back(f.tap_count(p));
  return n;
}

}  // namespace

TEST_CASE("tc phases: every phase holds exactly the taps that reach its pixels, every pixel in one phase") {
  int cases = 0, failed = 0;
  for (int stride = 1; stride <= 4; ++stride)
    for (int dil = 1; dil <= 4; ++dil)
      for (int pad = 0; pad <= 4; ++pad)
        for (int R : {1, 2, 3, 4, 5})
          for (int H : {1, 2, 3, 7, 10}) {
            const int S = R == 5 ? 2 : R, W = H == 10 ? 9 : H + 1;  // non-square too
            ++cases;
            failed += check(geometry(H, W, R, S, stride, pad, dil)) > 0;
          }
  // Past the tap table: one phase of all taps, whatever the stride.
  ++cases;
  failed += check(geometry(12, 11, 9, 9, 2, 4, 1)) > 0;
  std::printf("  %d geometries, %d failed\n", cases, failed);
  CHECK(failed == 0);
}

TEST_CASE("tc phases: the tap counts of the models' strided layers") {
  // 3x3 stride 2 pad 1 (the encoders' downsampling): 1, 2, 2, 4 of 9.
  CHECK(tap_counts(geometry(16, 16, 3, 3, 2, 1, 1)) == std::vector<int>{1, 2, 2, 4});
  // 4x4 stride 2 pad 1 (the deconvolutions, and the PatchGAN's backward): 4 of 16 each.
  CHECK(tap_counts(geometry(16, 16, 4, 4, 2, 1, 1)) == std::vector<int>{4, 4, 4, 4});
  // Stride 2, dilation 2, pad 2: the odd phases get no tap at all.
  CHECK(tap_counts(geometry(9, 7, 3, 3, 2, 2, 2)) == std::vector<int>{9, 0, 0, 0});
  // Stride 1: one phase with every tap.
  CHECK(tap_counts(geometry(5, 6, 3, 3, 1, 1, 1)) == std::vector<int>{9});
  // 9x9 (81 taps): one phase, all taps, even at stride 2.
  const std::vector<PhaseGeom> big = bwd_data_phases(geometry(12, 11, 9, 9, 2, 4, 1));
  REQUIRE(big.size() == 1);
  CHECK(big[0].all);
  CHECK(big[0].step_h == 1);
}
