// image.h — decoding, encoding and resizing of 8-bit RGB images for the data
// pipeline (`tinct prepare`, the pack loader, tests and tools).
//
// Decoding is built for folders of untrusted files: load_image() never
// crashes on a bad file, it throws ImageError with a kind (what went wrong,
// for the prepare summary) and a message that says it in words:
//
//   unreadable    the file cannot be opened or read (permissions, a folder, ...)
//   empty         zero bytes
//   unsupported   not JPEG, PNG or BMP; the message names what the first bytes
//                 look like ("GIF image", "WebP image", "text file", ...); or a
//                 lossless, hierarchical or arithmetic-coded JPEG
//   truncated     the file stops before its end marker (JPEG: no EOI marker
//                 FF D9 after the last scan; PNG: no IEND chunk, or a chunk
//                 longer than what is left; BMP: fewer pixel bytes than the
//                 header promises). stb_image silently fills the missing part
//                 of a truncated JPEG or BMP with gray, so this is checked on
//                 the bytes, before decoding.
//   corrupt       the decoder (or a PNG chunk CRC) rejects the data, or a JPEG
//                 holds less image data than the size in its header needs
//                 (at least 1 bit per 8x8 block: see image.cpp)
//   too_large     the header says more pixels than DecodeLimits::max_megapixels
//                 or a side above 32768 pixels (read by tinct from the JPEG
//                 frame header, PNG IHDR or BMP header before the decoder sees
//                 the file), or the file is larger than max_file_bytes
//
// What a decoded Image holds, whatever the file held:
//   - 3 channels, 8-bit sRGB, interleaved RGB, rows top to bottom;
//   - grayscale files (1 channel) are replicated into R = G = B;
//   - files with alpha (gray+alpha, RGBA, PNG palettes with transparency) are
//     composited over WHITE: transparent areas look as they do on a white page.
//     Dropping alpha instead would expose whatever colour the encoder left
//     under transparent pixels (often black, sometimes garbage);
//   - 16-bit PNGs are rounded to 8 bits (v * 255 / 65535, to nearest).
// source_channels / source_bits record what the file held, so that callers
// can tell a grayscale file from a colour one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinct::data {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;                  // 3 after load_image (RGB); 1..4 for images built by hand
  std::vector<std::uint8_t> pixels;  // width * height * channels bytes, row-major, interleaved
  int source_channels = 0;           // what the file held: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int source_bits = 8;               // 8 or 16

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(std::size_t(w) * h * c, 0) {}

  std::size_t pixel_count() const { return std::size_t(width) * std::size_t(height); }
  std::uint8_t* at(int x, int y) { return pixels.data() + (std::size_t(y) * width + x) * channels; }
  const std::uint8_t* at(int x, int y) const {
    return pixels.data() + (std::size_t(y) * width + x) * channels;
  }
};

enum class ImageErrorKind { unreadable, empty, unsupported, truncated, corrupt, too_large };

// "unreadable", "empty", ... (stable names: the prepare log uses them).
const char* to_string(ImageErrorKind kind);

class ImageError : public std::runtime_error {
 public:
  ImageError(ImageErrorKind kind, const std::string& path, const std::string& reason);
  ImageErrorKind kind() const { return kind_; }
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }  // what() without the path

 private:
  ImageErrorKind kind_;
  std::string path_;
  std::string reason_;
};

struct DecodeLimits {
  // Refuse images whose header says more pixels than this (a 40 MP RGB image
  // decodes to 120 MB; a few worker threads at once stay well inside memory).
  double max_megapixels = 40.0;
  // Refuse files larger than this before reading them into memory.
  std::size_t max_file_bytes = std::size_t(512) << 20;
};

// The container format named by the first bytes: "JPEG", "PNG" or "BMP" for
// the ones we decode; otherwise a description such as "GIF image", "WebP
// image", "TIFF image", "HEIF/AVIF image", "PDF document", "text file" or
// "unknown format (first bytes 00 01 02 03)".
std::string sniff_format(const std::uint8_t* data, std::size_t size);

// Decodes a file / a buffer. Throws ImageError (never anything else for bad
// data; std::bad_alloc only if memory really runs out). `name` labels the
// buffer in error messages.
Image load_image(const std::string& path, const DecodeLimits& limits = {});
Image decode_image(const std::uint8_t* data, std::size_t size, const DecodeLimits& limits = {},
                   const std::string& name = "<memory>");
// The same into `out`, reusing its buffer (no allocation when it is large
// enough): for loops that decode many images.
void decode_image(const std::uint8_t* data, std::size_t size, Image& out, const DecodeLimits& limits = {},
                  const std::string& name = "<memory>");

// Reads a whole file (ImageError unreadable / too_large on failure).
std::vector<std::uint8_t> read_file(const std::string& path,
                                    std::size_t max_bytes = std::size_t(512) << 20);
// Writes bytes to path atomically (engine/atomic_file.h): on failure
// std::runtime_error with the system's reason, and nothing is left behind.
void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);

// CRC-32 as in PNG, zlib and gzip (polynomial 0xEDB88320); pass the previous
// result as `crc` to continue over more bytes. Also protects the pack format.
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);

// Encoders (stb_image_write). Any channel count 1..4. JPEG ignores alpha;
// quality 1..100 (stb uses 4:4:4 chroma above 90, 4:2:0 at or below).
std::vector<std::uint8_t> encode_png(const Image& img);
std::vector<std::uint8_t> encode_jpeg(const Image& img, int quality = 95);
std::vector<std::uint8_t> encode_bmp(const Image& img);
void save_png(const std::string& path, const Image& img);
void save_jpeg(const std::string& path, const Image& img, int quality = 95);
void save_bmp(const std::string& path, const Image& img);

// Antialiased resize to out_w x out_h, any channel count.
//
// Separable: rows first, then columns, each with a triangle (bilinear) filter.
// When shrinking by a factor s > 1 the triangle is widened to a radius of s
// input pixels, so every input pixel contributes to the output (as Pillow's
// BILINEAR resize does); plain bilinear sampling would skip pixels and alias
// (moire on fine textures). When enlarging, the radius is 1: ordinary
// bilinear interpolation. Pixel centres sit at (i + 0.5): the image edges of
// input and output coincide. Weights are normalised per output pixel, so a
// constant image stays exactly constant.
Image resize(const Image& src, int out_w, int out_h);

// The w x h rectangle at (x, y); throws std::invalid_argument if it does not fit.
Image crop(const Image& src, int x, int y, int w, int h);

// Resizes so that the short side is `size` (aspect ratio kept, long side
// rounded to nearest), then cuts the centred size x size square.
Image resize_short_side_center_crop(const Image& src, int size);

// --- finding photos in folder trees (prepare, colorize, eval) --------------
struct FileUnder {
  std::string rel;   // relative to the root, '/'-separated
  std::string path;  // as given to open it
};
// The regular files under the folder `root`, recursively, for which keep(path)
// holds, sorted by rel. Hidden files and folders (".git", ".thumbnails") are
// skipped; `ignored` (if given) counts the regular files left out. Throws
// std::runtime_error when the folder cannot be listed.
std::vector<FileUnder> list_files(const std::string& root,
                                  const std::function<bool(const std::filesystem::path&)>& keep,
                                  std::size_t* ignored = nullptr);
// .jpg, .jpeg, .png or .bmp (any case): the formats load_image decodes.
bool has_decodable_extension(const std::filesystem::path& p);

}  // namespace tinct::data
