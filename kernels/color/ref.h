// color/ref.h — the colour family's reference: sRGB <-> linear RGB <-> CIE
// XYZ (D65) <-> CIE LAB for one pixel in double precision (the one
// implementation of the chain: models/color/lab.h builds the image functions
// and the gamut on it), and the image-level specifications of the CUDA colour
// kernels (kernels/color/cuda_1_pixel.cu): colour conversion and soft-encoding. The chain and the layouts are
// described in models/color/lab.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinct::color {

// ---------------------------------------------------------------------------
// Constants

// Reference white: CIE illuminant D65, 2-degree observer, normalised to Y = 1.
// These are the tabulated values (ASTM E308) used by scikit-image's rgb2lab,
// which Zhang et al. used; the white computed from the D65 chromaticity
// (0.3127, 0.3290) differs in the 4th decimal. The RGB->XYZ matrix below is
// built from this same white, so that R = G = B maps exactly onto the white
// axis and grays have a = b = 0. (scikit-image's own matrix is rounded to 6
// digits and maps white to a ~ -0.002, b ~ 0.005; its LAB values and ours
// agree to about 0.01.)
inline constexpr double kWhiteX = 0.95047;
inline constexpr double kWhiteY = 1.0;
inline constexpr double kWhiteZ = 1.08883;

// sRGB primaries (IEC 61966-2-1, identical to ITU-R BT.709), CIE xy chromaticity.
inline constexpr double kRedX = 0.64, kRedY = 0.33;
inline constexpr double kGreenX = 0.30, kGreenY = 0.60;
inline constexpr double kBlueX = 0.15, kBlueY = 0.06;

// The CIE LAB break point: f(t) is a cube root above delta^3 and a straight
// line below it, chosen so that f and its slope are continuous at delta^3.
inline constexpr double kLabDelta = 6.0 / 29.0;

// ---------------------------------------------------------------------------
// Per-pixel conversions (double precision: this is the reference)

struct Rgb { double r, g, b; };  // sRGB (gamma-encoded) or linear RGB, nominal [0, 1]
struct Xyz { double x, y, z; };  // CIE XYZ, Y = 1 for the white
struct Lab { double L, a, b; };  // CIE LAB, L in [0, 100]

// The sRGB transfer curve ("gamma") for one channel, and its inverse.
// Both are continued outside [0, 1] (the linear segment below 0, the power law
// above 1) so that out-of-gamut colours convert without NaNs and the caller
// can see by how much they are out.
double srgb_to_linear(double c);
double linear_to_srgb(double c);

// The 3x3 matrix from linear sRGB to XYZ (rows X, Y, Z; columns R, G, B) and
// its inverse, derived once from the primaries and the white above:
//   [0.4124564 0.3575761 0.1804375]
//   [0.2126729 0.7151522 0.0721750]
//   [0.0193339 0.1191920 0.9503041]
struct Mat3 { double m[3][3]; };
const Mat3& linear_rgb_to_xyz_matrix();
const Mat3& xyz_to_linear_rgb_matrix();

Xyz linear_rgb_to_xyz(const Rgb& rgb);
Rgb xyz_to_linear_rgb(const Xyz& xyz);

// The CIE LAB compression f(t) and its exact inverse.
double lab_f(double t);
double lab_f_inverse(double u);

Lab xyz_to_lab(const Xyz& xyz);
Xyz lab_to_xyz(const Lab& lab);

// The whole chain. lab_to_srgb does NOT clamp: a LAB colour outside the sRGB
// gamut comes back with some channel outside [0, 1].
Lab srgb_to_lab(const Rgb& srgb);
Rgb lab_to_srgb(const Lab& lab);

// LAB -> linear RGB, skipping the transfer curve. Enough to decide gamut
// membership (the curve maps [0,1] onto [0,1] monotonically) and cheaper.
Rgb lab_to_linear_rgb(const Lab& lab);

// True when every channel of rgb lies in [-tolerance, 1 + tolerance].
bool in_unit_cube(const Rgb& rgb, double tolerance = 0.0);

}  // namespace tinct::color

namespace tinct::cpu {

// The specifications of cuda::srgb8_to_lab and cuda::lab_to_srgb8 (one pixel
// after another, the double chain above):
//   srgb8_to_lab: interleaved uint8 sRGB [n*3] -> planar L [n], ab [2, n],
//                 each channel v / 255, then srgb_to_lab, rounded to float;
//   lab_to_srgb8: planar L, ab -> interleaved uint8, lab_to_srgb, each
//                 channel clamped to [0, 1], then lround(255 c).
void srgb8_to_lab_ref(std::size_t n, const std::uint8_t* rgb, float* L, float* ab);
void lab_to_srgb8_ref(std::size_t n, const float* L, const float* ab, std::uint8_t* rgb);
// The specification of cuda::soft_encode_dense (= color::soft_encode_dense on
// the gamut whose Q bin centres are centres[2q], centres[2q+1]): for each pixel
// of planar ab [2, n], its 5 nearest centres by squared distance in float
// (ties: the lower index first), weights exp(-(d^2 - d0^2) / (2 sigma^2))
// normalised over the 5, at out[q * n + i]; 0 for the other Q - 5 bins.
void soft_encode_dense_ref(std::size_t n, const float* ab, const float* centres, int Q, float* out, float sigma);

}  // namespace tinct::cpu
