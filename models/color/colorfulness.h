// Colorfulness (Hasler and Suesstrunk, "Measuring colourfulness in natural
// images", SPIE 2003): one number per image that tracks how colourful people
// judge it. `tinct prepare` uses it to drop near-gray photos, which teach a
// colorizer nothing; evaluation uses it to see whether outputs are as vivid
// as the originals.
//
// On sRGB values R, G, B in [0, 255] (gamma-encoded, as stored), per pixel
//   rg = R - G                  (red-green opponent axis)
//   yb = (R + G) / 2 - B        (yellow-blue opponent axis)
// and over the image
//   M = sqrt(sd_rg^2 + sd_yb^2) + 0.3 * sqrt(mean_rg^2 + mean_yb^2)
// with sd the population standard deviation (divide by the number of pixels,
// not by one less). A gray image scores 0; the paper's scale calls about 15
// "slightly", 33 "moderately", 59 "quite" and 82 "highly" colourful.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinct::color {

// Interleaved RGB, n pixels (3n values). 0 for n = 0.
double colorfulness(const std::uint8_t* rgb, std::size_t n);
// The same on floats already in [0, 255] (multiply [0, 1] images by 255 first).
double colorfulness(const float* rgb, std::size_t n);

}  // namespace tinct::color
