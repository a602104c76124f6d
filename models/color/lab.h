// sRGB <-> linear RGB <-> CIE XYZ (D65) <-> CIE LAB, and the scalings the
// colorizers apply to L and ab.
//
// The chain, for one pixel (all values are dimensionless):
//
//   sRGB in [0,1]  --(undo the sRGB "gamma" curve)-->  linear RGB in [0,1]
//   linear RGB     --(3x3 matrix M, D65 white)------->  XYZ, white = (Xn, Yn, Zn)
//   XYZ            --(CIE cube-root compression f)---->  L in [0,100], a, b
//
// and back again through the exact inverse of every step. Nothing here knows
// about tensors: the per-pixel functions work on small structs of doubles (the
// reference, used to build the ab gamut), the image functions on flat arrays
// of floats / bytes, in the layouts the models use:
//
//   RGB image : interleaved, H*W pixels of (R, G, B)           (what stb_image gives)
//   L plane   : [H*W] floats, L in [0, 100]
//   ab planes : [2, H*W] floats, the a plane followed by the b plane (NCHW)
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

// A converted channel may leave [0, 1] by this much and still count as "in
// gamut" in the image functions: far above the rounding of a LAB value stored
// as float (about 1e-6 on the sRGB side), far below half a uint8 step (0.002).
inline constexpr double kImageGamutTolerance = 1e-4;

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

// ---------------------------------------------------------------------------
// Image conversions. n = number of pixels (H*W). ab holds 2*n floats.

// Interleaved sRGB -> planar L and ab. The uint8 version reads channels as
// value / 255 (through a 256-entry table of the transfer curve).
void srgb_to_lab_image(const std::uint8_t* rgb, std::size_t n, float* L, float* ab);
void srgb_to_lab_image(const float* rgb, std::size_t n, float* L, float* ab);

// Planar L and ab -> interleaved sRGB, clamped to [0, 1] (uint8: rounded to
// the nearest of 0..255). Returns how many pixels had a channel more than
// kImageGamutTolerance outside [0, 1] before clamping. If out_of_gamut is not
// null, it receives one byte per pixel: 1 = was out of gamut, 0 = was in.
std::size_t lab_to_srgb_image(const float* L, const float* ab, std::size_t n, float* rgb,
                              std::uint8_t* out_of_gamut = nullptr);
std::size_t lab_to_srgb_image(const float* L, const float* ab, std::size_t n,
                              std::uint8_t* rgb, std::uint8_t* out_of_gamut = nullptr);
// The bytes version above is the fast path of colorize: Lab -> linear RGB in
// float, vectorised, and the 8-bit transfer curve by table (linear_to_srgb8),
// no pow(). It equals lab_to_srgb_image_ref, the double chain with pow() and
// lround() per channel (its specification), except for a channel within float
// rounding (about 1e-7 in linear light) of a rounding boundary or of the
// gamut tolerance, and there by 1 level: tests/test_colorize_pipeline.cpp
// counts such pixels (a few per million on random colours).
std::size_t lab_to_srgb_image_ref(const float* L, const float* ab, std::size_t n,
                                  std::uint8_t* rgb, std::uint8_t* out_of_gamut = nullptr);

// Interleaved 8-bit sRGB -> L only ([n] floats), vectorised and threaded:
// the same floats as data::FastLab's L (the loader's single-precision path,
// within 3e-5 of srgb_to_lab_image), at a third of its cost.
void srgb8_to_L_image(const std::uint8_t* rgb, std::size_t n, float* L);

// The 8-bit sRGB byte of a linear value: lround(255 * linear_to_srgb(l))
// clamped to 0..255, exactly for the float given (a table of the 255
// half-level thresholds, no pow; see lab.cpp). NaN gives 255 or 0.
std::uint8_t linear_to_srgb8(float linear);

// Planar L and ab -> interleaved linear RGB (not clamped), in float: the
// first half of the fast lab_to_srgb_image, for tests and callers that work
// in linear light.
void lab_to_linear_rgb_image(const float* L, const float* ab, std::size_t n, float* rgb);

// Its building block, for n <= 256 pixels of planar L, a, b: linear r, g, b
// in float, and inside[i] = -1 where every channel lies in [lo, hi], else 0.
// (The fast gamut fit uses it to skip pixels that are surely in gamut.)
inline constexpr int kLinearSpan = 256;
void lab_to_linear_span(const float* L, const float* a, const float* b, int n, float lo, float hi,
                        float* r, float* g, float* bl, std::int32_t* inside);

// ---------------------------------------------------------------------------
// The scalings the models use.
//
// L enters every network as L/50 - 1, i.e. [0, 100] -> [-1, 1] (Zhang et al.
// feed L - 50; dividing by 50 as well keeps the input at unit scale).
// Regression and GAN generators end in tanh, so their targets are ab/110:
// the sRGB gamut spans about a in [-86, 98], b in [-108, 95], inside
// [-110, 110], so every real colour is reachable by tanh in (-1, 1).

inline constexpr float kLScale = 50.0f;    // L/50 - 1
inline constexpr float kAbScale = 110.0f;  // ab/110

inline float normalize_L(float L) { return L / kLScale - 1.0f; }
inline float denormalize_L(float x) { return (x + 1.0f) * kLScale; }
inline float normalize_ab(float ab) { return ab / kAbScale; }
inline float denormalize_ab(float x) { return x * kAbScale; }

// In place over n values.
void normalize_L(float* L, std::size_t n);
void denormalize_L(float* x, std::size_t n);
void normalize_ab(float* ab, std::size_t n);
void denormalize_ab(float* x, std::size_t n);

}  // namespace tinct::color
