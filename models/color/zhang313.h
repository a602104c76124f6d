// zhang313.h — Zhang et al.'s 313 ab bins (ECCV 2016) as a table of centres:
// the output classes of their classification colorizer and, by default, of
// tinct's (AbGamut::zhang313()).
//
// Their set is not an sRGB gamut computation but the bins ImageNet's pixels
// occupy (their pts_in_hull.npy), on the same grid of 10 as tinct's own
// 262-bin sRGB gamut (gamut.h, AbGamut::standard()): it holds all 262 of
// those and 51 more, bins that no sRGB colour is nearest to: they get no
// pixel of the histogram, only soft-encoded target mass (a pixel's 5 nearest
// bins) and the smoothed prior's spill. tests/test_color.cpp checks these
// counts.
//
// Source and licence: third_party/zhang313/ (OpenCV's samples/dnn/colorization.cpp,
// Apache-2.0, via Debian's opencv-doc; tools/extract_zhang313.sh regenerates
// zhang313.cpp from it).
#pragma once

#include "models/color/gamut.h"

namespace tinct::color {

inline constexpr int kZhang313Bins = 313;

// The centres in the order of Zhang et al.'s logits (a-major, then b).
extern const AbBin kZhang313[kZhang313Bins];

}  // namespace tinct::color
