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

// The per-pixel chain (constants, Rgb / Xyz / Lab, srgb_to_lab, lab_to_srgb,
// ...) is the colour family's reference kernel: kernels/color/ref.h.
#include "kernels/color/ref.h"

namespace tinct::color {

// A converted channel may leave [0, 1] by this much and still count as "in
// gamut" in the image functions: far above the rounding of a LAB value stored
// as float (about 1e-6 on the sRGB side), far below half a uint8 step (0.002).
inline constexpr double kImageGamutTolerance = 1e-4;

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
