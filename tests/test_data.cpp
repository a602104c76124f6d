// The data pipeline (models/data/): decoding and its refusals, resizing, the
// pack format, `prepare` end to end, and the training loader. Images are made
// here or come from tests/fixtures/ (see the README there); nothing needs
// ../shared.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "models/color/colorfulness.h"
#include "models/color/lab.h"
#include "models/data/image.h"
#include "models/data/loader.h"
#include "models/data/pack.h"
#include "models/data/prepare.h"
#include "models/data/stb_impl.h"
#include "stb/stb_image.h"

using namespace tinct::data;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("tinct_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

fs::path fixture(const std::string& name) {
  const char* env = std::getenv("TINCT_SOURCE_DIR");
  const fs::path root = env ? fs::path(env) / "tests" : fs::path(__FILE__).parent_path();
  return root / "fixtures" / name;
}

// A smooth, colourful test photo: hue varies across, brightness down.
Image colour_image(int w, int h, int seed = 0) {
  Image img(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = img.at(x, y);
      const double s = double(x) / w, t = double(y) / h;
      p[0] = std::uint8_t(127.5 + 120 * std::sin(6.0 * s + seed));
      p[1] = std::uint8_t(127.5 + 120 * std::sin(5.0 * t + 2.0 + seed));
      p[2] = std::uint8_t(127.5 + 120 * std::sin(4.0 * (s + t) + 4.0 + seed));
    }
  return img;
}

Image gray_image(int w, int h) {
  Image img(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = img.at(x, y);
      p[0] = p[1] = p[2] = std::uint8_t((x * 255) / std::max(1, w - 1));
    }
  return img;
}

Image constant_image(int w, int h, int c, std::uint8_t v) {
  Image img(w, h, c);
  std::fill(img.pixels.begin(), img.pixels.end(), v);
  return img;
}

// The error an action throws (fails the test if it throws nothing else).
template <typename F>
ImageError image_error(F&& f) {
  try {
    f();
  } catch (const ImageError& e) {
    return e;
  }
  FAIL("no ImageError thrown");
  return ImageError(ImageErrorKind::corrupt, "", "");
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::uint8_t> bytes_of(const std::string& path) { return read_file(path); }

int max_abs_diff(const Image& a, const Image& b) {
  REQUIRE(a.pixels.size() == b.pixels.size());
  int m = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return m;
}

}  // namespace

// ===========================================================================
// Decoding

TEST_CASE("decode: PNG and BMP round trip exactly, JPEG closely") {
  TempDir dir;
  const Image img = colour_image(37, 23);  // odd sizes
  save_png(dir / "a.png", img);
  save_bmp(dir / "a.bmp", img);
  save_jpeg(dir / "a.jpg", img, 95);
  for (const char* name : {"a.png", "a.bmp"}) {
    const Image back = load_image(dir / name);
    CHECK(back.width == 37);
    CHECK(back.height == 23);
    CHECK(back.channels == 3);
    CHECK(back.source_channels == 3);
    CHECK(back.pixels == img.pixels);
  }
  const Image jpg = load_image(dir / "a.jpg");
  CHECK(jpg.width == 37);
  CHECK(jpg.height == 23);
  CHECK(max_abs_diff(jpg, img) <= 12);
  CHECK(sniff_format(bytes_of(dir / "a.jpg").data(), 3) == "JPEG");
}

TEST_CASE("decode: grayscale files are replicated into RGB") {
  const Image g = load_image(fixture("gray.png").string());
  REQUIRE(g.width == 8);
  REQUIRE(g.height == 4);
  CHECK(g.channels == 3);
  CHECK(g.source_channels == 1);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) {
      const std::uint8_t* p = g.at(x, y);
      CHECK(int(p[0]) == 32 * x + y);
      CHECK(p[1] == p[0]);
      CHECK(p[2] == p[0]);
    }
  // A gray JPEG (stb_image_write stores it as YCbCr with neutral chroma).
  TempDir dir;
  Image one = gray_image(16, 8);
  Image single(16, 8, 1);
  for (std::size_t i = 0; i < single.pixel_count(); ++i) single.pixels[i] = one.pixels[3 * i];
  save_jpeg(dir / "g.jpg", single, 95);
  const Image gj = load_image(dir / "g.jpg");
  CHECK(gj.channels == 3);
  CHECK(std::abs(int(gj.at(5, 3)[0]) - int(gj.at(5, 3)[2])) <= 2);
}

TEST_CASE("decode: alpha is composited over white") {
  const Image rgba = load_image(fixture("rgba.png").string());
  CHECK(rgba.source_channels == 4);
  auto px = [&](int x) { return std::vector<int>{rgba.at(x, 1)[0], rgba.at(x, 1)[1], rgba.at(x, 1)[2]}; };
  CHECK(px(0) == std::vector<int>{255, 255, 255});  // red, alpha 0: the white page
  CHECK(px(1) == std::vector<int>{255, 127, 127});  // red, alpha 128: pink
  CHECK(px(2) == std::vector<int>{255, 0, 0});      // red, opaque
  CHECK(px(3) == std::vector<int>{191, 191, 255});  // blue, alpha 64

  const Image ga = load_image(fixture("gray_alpha.png").string());
  CHECK(ga.source_channels == 2);
  CHECK(int(ga.at(0, 0)[0]) == 255);
  CHECK(int(ga.at(1, 0)[0]) == 237);
  CHECK(int(ga.at(2, 0)[0]) == 218);
  CHECK(int(ga.at(3, 0)[0]) == 200);
  CHECK(ga.at(2, 0)[1] == ga.at(2, 0)[0]);

  const Image pal = load_image(fixture("palette_trns.png").string());
  CHECK(std::vector<int>{pal.at(0, 0)[0], pal.at(0, 0)[1], pal.at(0, 0)[2]} == std::vector<int>{255, 255, 255});
  CHECK(std::vector<int>{pal.at(1, 0)[0], pal.at(1, 0)[1], pal.at(1, 0)[2]} == std::vector<int>{0, 0, 255});
}

TEST_CASE("decode: 16-bit PNG is rounded to 8 bits") {
  const Image img = load_image(fixture("rgb16.png").string());
  CHECK(img.source_bits == 16);
  CHECK(img.source_channels == 3);
  const std::vector<int> expect = {0, 128, 255, 1, 0, 254, 255, 0, 0, 4, 8, 12};
  std::vector<int> got(img.pixels.begin(), img.pixels.begin() + 12);
  CHECK(got == expect);
}

TEST_CASE("decode: refusals name the problem") {
  TempDir dir;
  SUBCASE("zero bytes") {
    const ImageError e = image_error([] { load_image(fixture("empty.jpg").string()); });
    CHECK(e.kind() == ImageErrorKind::empty);
    CHECK(contains(e.what(), "empty file (0 bytes)"));
    CHECK(contains(e.what(), "empty.jpg"));
  }
  SUBCASE("a text file named .jpg") {
    const ImageError e = image_error([] { load_image(fixture("text.jpg").string()); });
    CHECK(e.kind() == ImageErrorKind::unsupported);
    CHECK(contains(e.reason(), "text file"));
  }
  SUBCASE("a GIF named .png") {
    const ImageError e = image_error([] { load_image(fixture("gif.png").string()); });
    CHECK(e.kind() == ImageErrorKind::unsupported);
    CHECK(contains(e.reason(), "GIF image"));
  }
  SUBCASE("other formats by their magic bytes") {
    auto sniff = [](const std::string& s) {
      return sniff_format(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    };
    CHECK(sniff(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)) == "WebP image");
    CHECK(sniff(std::string("II*\0\x08\0\0\0", 8)) == "TIFF image");
    CHECK(sniff(std::string("\0\0\0\x18" "ftypheic", 12)) == "HEIF image");
    CHECK(sniff("%PDF-1.7") == "PDF document");
    CHECK(sniff(std::string("\x01\x02\x03\x04\x05", 5)) == "unknown format (first bytes 01 02 03 04 05)");
  }
  SUBCASE("truncated JPEG fixture") {
    const ImageError e = image_error([] { load_image(fixture("truncated.jpg").string()); });
    CHECK(e.kind() == ImageErrorKind::truncated);
    CHECK(contains(e.reason(), "truncated JPEG"));
  }
  SUBCASE("truncated PNG fixture") {
    const ImageError e = image_error([] { load_image(fixture("truncated.png").string()); });
    CHECK(e.kind() == ImageErrorKind::truncated);
    CHECK(contains(e.reason(), "truncated PNG"));
  }
  SUBCASE("missing file and folder") {
    CHECK(image_error([&] { load_image(dir / "nope.jpg"); }).kind() == ImageErrorKind::unreadable);
    const ImageError e = image_error([&] { load_image(dir.path.string()); });
    CHECK(e.kind() == ImageErrorKind::unreadable);
    CHECK(contains(e.reason(), "a folder"));
  }
  SUBCASE("too large, checked on the header before decoding") {
    // A PNG header that claims 10000 x 5000 pixels, with no pixel data.
    Image small = colour_image(4, 4);
    std::vector<std::uint8_t> png = encode_png(small);
    auto put_be32 = [&](std::size_t at, std::uint32_t v) {
      for (int i = 0; i < 4; ++i) png[at + i] = std::uint8_t(v >> (24 - 8 * i));
    };
    put_be32(16, 10000);
    put_be32(20, 5000);
    put_be32(29, crc32(png.data() + 12, 17));  // IHDR CRC over type + data
    const ImageError e = image_error([&] { decode_image(png.data(), png.size(), {}, "big.png"); });
    CHECK(e.kind() == ImageErrorKind::too_large);
    CHECK(contains(e.reason(), "10000x5000 = 50.0 megapixels, above the limit of 40.0 megapixels"));
    // The limit is a setting.
    DecodeLimits tight;
    tight.max_megapixels = 0.001;  // 1,000 pixels
    const std::vector<std::uint8_t> ok = encode_png(colour_image(40, 30));
    CHECK(image_error([&] { decode_image(ok.data(), ok.size(), tight); }).kind() == ImageErrorKind::too_large);
    CHECK_NOTHROW(decode_image(ok.data(), ok.size()));
    // And so is the file size.
    DecodeLimits tiny_file;
    tiny_file.max_file_bytes = 100;
    save_png(dir / "x.png", colour_image(40, 30));
    CHECK(image_error([&] { load_image(dir / "x.png", tiny_file); }).kind() == ImageErrorKind::too_large);
  }
}

TEST_CASE("decode: a JPEG cut anywhere is refused, never decoded as a gray-filled image") {
  const std::vector<std::uint8_t> jpg = encode_jpeg(colour_image(40, 24), 90);
  REQUIRE(jpg[jpg.size() - 2] == 0xFF);
  REQUIRE(jpg.back() == 0xD9);
  CHECK_NOTHROW(decode_image(jpg.data(), jpg.size()));
  int truncated = 0;
  for (std::size_t cut = 3; cut < jpg.size(); ++cut) {
    try {
      decode_image(jpg.data(), cut);
      FAIL("a JPEG cut to " << cut << " of " << jpg.size() << " bytes decoded");
    } catch (const ImageError& e) {
      truncated += e.kind() == ImageErrorKind::truncated;
      CHECK((e.kind() == ImageErrorKind::truncated || e.kind() == ImageErrorKind::corrupt));
    }
  }
  CHECK(truncated >= int(jpg.size()) - 10);
}

TEST_CASE("decode: a JPEG Huffman table with more than 256 codes is refused before stb sees it") {
  std::vector<std::uint8_t> jpg = encode_jpeg(colour_image(16, 16), 90);
  std::size_t dht = 0;
  for (std::size_t i = 2; i + 1 < jpg.size() && !dht; ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC4) dht = i;
  REQUIRE(dht > 0);
  for (int k = 0; k < 16; ++k) jpg[dht + 5 + k] = 0xFF;  // 16 x 255 code counts
  const ImageError e = image_error([&] { decode_image(jpg.data(), jpg.size()); });
  CHECK(e.kind() == ImageErrorKind::corrupt);
  CHECK(contains(e.reason(), "more than 256 codes"));
}

TEST_CASE("decode: JPEG end marker inside an EXIF thumbnail is not the end; bytes after EOI are fine") {
  const std::vector<std::uint8_t> jpg = encode_jpeg(colour_image(32, 32), 90);
  // Insert an APP1 segment holding a fake thumbnail (FF D8 ... FF D9) after SOI.
  const std::vector<std::uint8_t> thumb = {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x02, 0xFF, 0xD9};
  std::vector<std::uint8_t> with_app1 = {0xFF, 0xD8, 0xFF, 0xE1, 0x00, std::uint8_t(2 + thumb.size())};
  with_app1.insert(with_app1.end(), thumb.begin(), thumb.end());
  with_app1.insert(with_app1.end(), jpg.begin() + 2, jpg.end());
  const Image a = decode_image(with_app1.data(), with_app1.size());
  CHECK(a.width == 32);
  // Cut inside the scan: the thumbnail's FF D9 must not make it look complete.
  const ImageError e = image_error([&] { decode_image(with_app1.data(), with_app1.size() - 40); });
  CHECK(e.kind() == ImageErrorKind::truncated);
  // Padding after EOI (some cameras append data) is accepted.
  std::vector<std::uint8_t> padded = jpg;
  padded.insert(padded.end(), 100, 0x00);
  CHECK_NOTHROW(decode_image(padded.data(), padded.size()));
}

TEST_CASE("decode: damaged PNG and BMP") {
  const std::vector<std::uint8_t> png = encode_png(colour_image(20, 20));
  SUBCASE("PNG cut anywhere") {
    for (std::size_t cut = 9; cut < png.size(); cut += 7) {
      const ImageError e = image_error([&] { decode_image(png.data(), cut); });
      CHECK(e.kind() == ImageErrorKind::truncated);
    }
  }
  SUBCASE("PNG with a flipped bit in IDAT: CRC mismatch") {
    std::vector<std::uint8_t> bad = png;
    bad[bad.size() - 20] ^= 0x10;  // inside the IDAT data (IEND is the last 12 bytes)
    const ImageError e = image_error([&] { decode_image(bad.data(), bad.size()); });
    CHECK(e.kind() == ImageErrorKind::corrupt);
    CHECK(contains(e.reason(), "CRC mismatch in chunk IDAT"));
  }
  SUBCASE("BMP cut short") {
    const std::vector<std::uint8_t> bmp = encode_bmp(colour_image(20, 20));
    CHECK_NOTHROW(decode_image(bmp.data(), bmp.size()));
    const ImageError e = image_error([&] { decode_image(bmp.data(), bmp.size() - 30); });
    CHECK(e.kind() == ImageErrorKind::truncated);
    CHECK(contains(e.reason(), "truncated BMP"));
  }
  SUBCASE("garbage after a valid signature never crashes") {
    std::mt19937 rng(3);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::uint8_t> junk(20 + rng() % 300);
      for (auto& b : junk) b = std::uint8_t(rng());
      const char* sig[] = {"\xFF\xD8\xFF", "\x89PNG\r\n\x1a\n", "BM"};
      const std::string s = sig[trial % 3];
      std::copy(s.begin(), s.end(), junk.begin());
      try {
        decode_image(junk.data(), junk.size());
      } catch (const ImageError&) {
      }
    }
  }
}

// --- sizes, image data, Huffman tables (issue 19) ---------------------------

namespace {

void put_be(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + i] = std::uint8_t(v >> (8 * (bytes - 1 - i)));
}
void put_le32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = std::uint8_t(v >> (8 * i));
}

// A small PNG whose IHDR (CRC fixed) declares w x h.
std::vector<std::uint8_t> png_declaring(std::uint32_t w, std::uint32_t h) {
  std::vector<std::uint8_t> png = encode_png(colour_image(4, 4));
  put_be(png, 16, w, 4);
  put_be(png, 20, h, 4);
  put_be(png, 29, crc32(png.data() + 12, 17), 4);  // over type + data
  return png;
}

// Offset of a JPEG's frame header marker (FF C0 / C1 / C2).
std::size_t sof_at(const std::vector<std::uint8_t>& jpg) {
  for (std::size_t i = 2; i + 1 < jpg.size(); ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] >= 0xC0 && jpg[i + 1] <= 0xC2) return i;
  FAIL("no frame header");
  return 0;
}

// The JPEG with its frame header saying w x h (FF Cn, length, precision, height, width).
std::vector<std::uint8_t> jpeg_declaring(std::vector<std::uint8_t> jpg, std::uint32_t w, std::uint32_t h) {
  const std::size_t at = sof_at(jpg);
  put_be(jpg, at + 5, h, 2);
  put_be(jpg, at + 7, w, 2);
  return jpg;
}

std::vector<std::uint8_t> bmp_declaring(std::int32_t w, std::int32_t h) {
  std::vector<std::uint8_t> bmp = encode_bmp(colour_image(4, 4));
  put_le32(bmp, 18, std::uint32_t(w));
  put_le32(bmp, 22, std::uint32_t(h));
  return bmp;
}

ImageError decode_error(const std::vector<std::uint8_t>& b, const DecodeLimits& limits = {}) {
  return image_error([&] { decode_image(b.data(), b.size(), limits, "x"); });
}

}  // namespace

TEST_CASE("decode: a header above the size limits is too_large, whatever stb would say (60000x60000, 65535x65535, 30000x30000)") {
  const std::vector<std::uint8_t> jpg = encode_jpeg(colour_image(16, 16), 90);
  const std::vector<std::uint8_t> progressive = bytes_of(fixture("progressive.jpg").string());
  struct Case {
    std::uint32_t w, h;
    const char* says;
  };
  const Case cases[] = {{60000, 60000, "60000x60000 = 3600.0 megapixels, above the limit of 40.0 megapixels"},
                        {65535, 65535, "65535x65535 = 4294.8 megapixels, above the limit of 40.0 megapixels"},
                        {30000, 30000, "30000x30000 = 900.0 megapixels, above the limit of 40.0 megapixels"},
                        {40000, 10, "40000x10 pixels, a side above the limit of 32768 pixels"},
                        {10, 33000, "10x33000 pixels, a side above the limit of 32768 pixels"}};
  for (const Case& c : cases) {
    CAPTURE(c.says);
    for (const auto& format_file :
         {std::pair{"PNG", png_declaring(c.w, c.h)}, std::pair{"BMP", bmp_declaring(c.w, c.h)},
          std::pair{"JPEG", jpeg_declaring(jpg, c.w, c.h)},
          std::pair{"progressive JPEG", jpeg_declaring(progressive, c.w, c.h)}}) {
      // Plain references: CAPTURE is a lambda, and C++17 (clang) cannot capture a structured binding.
      const auto& format = format_file.first;
      const auto& file = format_file.second;
      CAPTURE(format);
      const ImageError e = decode_error(file);
      CHECK(e.kind() == ImageErrorKind::too_large);
      CHECK(contains(e.reason(), c.says));
    }
  }
  // BMP rows stored top-down (negative height) count by their number.
  CHECK(contains(decode_error(bmp_declaring(60000, -60000)).reason(), "60000x60000 = 3600.0 megapixels"));
  // Above 32768 a side is refused even when the megapixel limit is raised.
  DecodeLimits roomy;
  roomy.max_megapixels = 5000;
  const ImageError e = decode_error(png_declaring(60000, 60000), roomy);
  CHECK(e.kind() == ImageErrorKind::too_large);
  CHECK(contains(e.reason(), "60000x60000 pixels, a side above the limit of 32768 pixels"));
  // A zero side is a corrupt header, not a size.
  CHECK(decode_error(png_declaring(0, 10)).kind() == ImageErrorKind::corrupt);
  CHECK(contains(decode_error(jpeg_declaring(jpg, 16, 0)).reason(), "declares a 16x0 image"));
}

TEST_CASE("decode: a JPEG with less image data than its declared size needs is refused before decoding") {
  // At least 1 bit per 8x8 block (image.cpp says why): 2000x2000 needs
  // 250 * 250 / 8 = 7813 bytes, a 16x16 image holds a few hundred.
  const std::vector<std::uint8_t> small = encode_jpeg(colour_image(16, 16), 90);
  ImageError e = decode_error(jpeg_declaring(small, 2000, 2000));
  CHECK(e.kind() == ImageErrorKind::corrupt);
  CHECK(contains(e.reason(), "the header declares 2000x2000 pixels, which take at least 7813 bytes of image data"));

  // A 40-60 KB photo-like JPEG whose header says 6000x6000 (36 megapixels,
  // under the limit): used to decode for seconds into hundreds of MB of gray.
  Image noisy(256, 256, 3);
  std::mt19937 rng(5);
  for (auto& v : noisy.pixels) v = std::uint8_t(rng() % 256);
  const std::vector<std::uint8_t> photo = encode_jpeg(noisy, 85);
  REQUIRE(photo.size() > 40000);
  REQUIRE(photo.size() < 70000);
  e = decode_error(jpeg_declaring(photo, 6000, 6000));
  CHECK(e.kind() == ImageErrorKind::corrupt);
  CHECK(contains(e.reason(), "6000x6000 pixels, which take at least 70313 bytes"));

  // The bound is tight but never refuses a complete file: the fixture is a
  // flat 128x128 progressive JPEG with a single DC scan, 1 bit per block:
  // 32 bytes of DC codes (+ 2 of AC), the least there can be.
  const std::vector<std::uint8_t> flat = bytes_of(fixture("flat_dc_only.jpg").string());
  const Image f = decode_image(flat.data(), flat.size());
  REQUIRE(f.width == 128);
  REQUIRE(f.height == 128);
  CHECK(std::all_of(f.pixels.begin(), f.pixels.end(), [](std::uint8_t v) { return v == 128; }));
  CHECK(decode_error(jpeg_declaring(flat, 128, 160)).kind() == ImageErrorKind::corrupt);  // 40 bytes needed

  // Tiny and flat images, every size up to 17x17, baseline 4:4:4 and 4:2:0.
  for (int w = 1; w <= 17; ++w)
    for (int h = 1; h <= 17; h += (h < 9 ? 1 : 8))
      for (int q : {1, 50, 100}) {
        CAPTURE(w);
        CAPTURE(h);
        CAPTURE(q);
        for (const Image& img : {constant_image(w, h, 3, 0), constant_image(w, h, 1, 200), colour_image(w, h)}) {
          const std::vector<std::uint8_t> j = encode_jpeg(img, q);
          CHECK_NOTHROW(decode_image(j.data(), j.size()));
        }
      }
}

TEST_CASE("decode: a progressive JPEG decodes; lossless, hierarchical and arithmetic-coded ones are refused by name") {
  // tests/fixtures/progressive.jpg: 48x32, 4:2:0, the smooth image of make_jpeg_fixtures.sh.
  const Image img = load_image(fixture("progressive.jpg").string());
  REQUIRE(img.width == 48);
  REQUIRE(img.height == 32);
  double err = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 48; ++x) {
      const double ref[3] = {std::floor(127.5 + 120 * std::sin(x / 7.0)), std::floor(127.5 + 120 * std::sin(y / 5.0 + 2)),
                             std::floor(127.5 + 100 * std::sin((x + y) / 9.0))};
      for (int c = 0; c < 3; ++c) err += std::abs(img.at(x, y)[c] - ref[c]);
    }
  CHECK(err / (48 * 32 * 3) < 3.0);

  std::vector<std::uint8_t> jpg = encode_jpeg(colour_image(16, 16), 90);
  jpg[sof_at(jpg) + 1] = 0xC9;  // SOF9: extended sequential, arithmetic-coded
  const ImageError e = decode_error(jpg);
  CHECK(e.kind() == ImageErrorKind::unsupported);
  CHECK(contains(e.reason(), "frame marker FF C9"));
  CHECK(contains(e.reason(), "arithmetic-coded"));
}

TEST_CASE("decode: a scan that uses an undefined Huffman table is refused before stb decodes from stale memory") {
  // Found by libFuzzer from progressive JPEGs (tests/fixtures/README.md): a
  // scan names a table that the file never defines. stb 2.27 then read its
  // uninitialised table memory: an out-of-bounds index (UBSan), a shift by
  // 32 or more, or a failed assertion in stbi__jpeg_huff_decode.
  for (const char* name : {"fuzz_undefined_table_1.jpg", "fuzz_undefined_table_2.jpg", "fuzz_undefined_table_3.jpg"}) {
    CAPTURE(name);
    const ImageError e = image_error([&] { load_image(fixture(name).string()); });
    CHECK(e.kind() == ImageErrorKind::corrupt);
    CHECK(contains(e.reason(), "which the file does not define before it"));
  }
  // Made by hand: the progressive fixture's first scan pointed at DC table 3.
  std::vector<std::uint8_t> jpg = bytes_of(fixture("progressive.jpg").string());
  std::size_t sos = 0;
  for (std::size_t i = 2; i + 1 < jpg.size() && !sos; ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xDA) sos = i;
  REQUIRE(sos > 0);
  jpg[sos + 6] = 0x30;  // FF DA, length, Ns, then component 1: id, Td << 4 | Ta
  const ImageError e = decode_error(jpg);
  CHECK(e.kind() == ImageErrorKind::corrupt);
  CHECK(contains(e.reason(), "Huffman table DC 3, which the file does not define"));
}

TEST_CASE("decode: what stb holds when a decode throws out of it is freed (no leak)") {
  // stb_image's internal checks (STBI_ASSERT) throw detail::StbCheckFailed
  // through its C code; the decode scope frees the blocks stb held then.
  // Here the throw comes from outside stb, with its pixel buffer unfreed.
  const std::vector<std::uint8_t> png = encode_png(colour_image(20, 20));
  const std::size_t before = detail::stb_blocks_reclaimed();
  try {
    const detail::StbDecodeScope scope(std::size_t(1) << 30);
    int w = 0, h = 0, c = 0;
    stbi_uc* px = stbi_load_from_memory(png.data(), int(png.size()), &w, &h, &c, 0);
    REQUIRE(px != nullptr);
    throw std::runtime_error("a check failed");
  } catch (const std::runtime_error&) {
  }
  CHECK(detail::stb_blocks_reclaimed() == before + 1);
  // A decode that ends normally leaves nothing for the scope to free.
  CHECK_NOTHROW(decode_image(png.data(), png.size()));
  // Nor one that stb refuses through its own error path (it frees its blocks
  // itself): a PNG whose compressed data is damaged under a valid CRC.
  std::vector<std::uint8_t> bad = png;
  const std::size_t idat = 8 + 25;  // after the signature and IHDR
  REQUIRE(std::string(bad.begin() + idat + 4, bad.begin() + idat + 8) == "IDAT");
  const std::uint32_t len = (std::uint32_t(bad[idat]) << 24) | (bad[idat + 1] << 16) | (bad[idat + 2] << 8) | bad[idat + 3];
  bad[idat + 8] ^= 0xFF;  // the zlib header
  put_be(bad, idat + 8 + len, crc32(bad.data() + idat + 4, 4 + len), 4);
  const ImageError e = decode_error(bad);
  CHECK(e.kind() == ImageErrorKind::corrupt);
  CHECK(contains(e.reason(), "corrupt PNG ("));
  CHECK(detail::stb_blocks_reclaimed() == before + 1);
  // The allocation cap holds inside a scope, and is lifted after it.
  {
    const detail::StbDecodeScope scope(1000);
    int w = 0, h = 0, c = 0;
    CHECK(stbi_load_from_memory(png.data(), int(png.size()), &w, &h, &c, 0) == nullptr);
  }
  CHECK_THROWS_AS(([&] {
                    const detail::StbDecodeScope a(1000);
                    const detail::StbDecodeScope b(1000);  // one decode at a time per thread
                  }()),
                  std::logic_error);
}

// ===========================================================================
// Resizing

TEST_CASE("resize: a constant image stays constant, up and down") {
  for (auto [w, h, ow, oh] : std::vector<std::array<int, 4>>{{50, 30, 17, 9}, {7, 5, 31, 22}, {64, 64, 64, 64},
                                                             {300, 2, 3, 1}, {1, 1, 5, 5}}) {
    const Image out = resize(constant_image(w, h, 3, 173), ow, oh);
    CHECK(out.width == ow);
    CHECK(out.height == oh);
    CHECK(std::all_of(out.pixels.begin(), out.pixels.end(), [](std::uint8_t v) { return v == 173; }));
  }
}

TEST_CASE("resize: downscaling averages (a checkerboard becomes gray)") {
  Image board(64, 64, 1);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) board.at(x, y)[0] = ((x + y) & 1) ? 255 : 0;
  for (int out : {32, 16, 21}) {
    const Image small = resize(board, out, out);
    double sum = 0;
    for (int y = 1; y < out - 1; ++y)  // the border pixels see a clipped filter
      for (int x = 1; x < out - 1; ++x) {
        CHECK(std::abs(int(small.at(x, y)[0]) - 128) <= 3);
        sum += small.at(x, y)[0];
      }
    CHECK(std::abs(sum / ((out - 2) * (out - 2)) - 127.5) < 1.0);
  }
}

TEST_CASE("resize: the triangle filter's weights, shrinking and enlarging") {
  Image row(4, 1, 1);
  row.pixels = {0, 100, 200, 255};
  // Halving: output pixel 0 is centred at input x = 1.0; the triangle has a
  // radius of 2 input pixels: weights 0.75, 0.75, 0.25 on x = 0, 1, 2.
  const Image half = resize(row, 2, 1);
  CHECK(int(half.pixels[0]) == 71);   // (0*.75 + 100*.75 + 200*.25) / 1.75 = 71.4
  CHECK(int(half.pixels[1]) == 209);  // centre 3.0: (100*.25 + 200*.75 + 255*.75) / 1.75 = 209.3
  // Doubling: plain bilinear interpolation between pixel centres.
  Image two(2, 1, 1);
  two.pixels = {0, 255};
  const Image dbl = resize(two, 4, 1);
  CHECK(std::vector<int>(dbl.pixels.begin(), dbl.pixels.end()) == std::vector<int>{0, 64, 191, 255});
}

TEST_CASE("resize: short side to size, then the centred square") {
  const Image land = resize_short_side_center_crop(colour_image(300, 200), 144);
  CHECK(land.width == 144);
  CHECK(land.height == 144);
  const Image port = resize_short_side_center_crop(colour_image(90, 250), 64);
  CHECK(port.width == 64);
  CHECK(port.height == 64);
  // A square of the right size passes through untouched.
  const Image sq = colour_image(50, 50);
  CHECK(resize_short_side_center_crop(sq, 50).pixels == sq.pixels);
  // The centre is the centre: a left half red, right half blue, wide image
  // keeps both halves around the middle column.
  Image halves(200, 100, 3);
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 200; ++x) {
      halves.at(x, y)[0] = x < 100 ? 255 : 0;
      halves.at(x, y)[2] = x < 100 ? 0 : 255;
    }
  const Image c = resize_short_side_center_crop(halves, 50);
  CHECK(int(c.at(10, 25)[0]) == 255);
  CHECK(int(c.at(40, 25)[2]) == 255);
  CHECK_THROWS_AS(crop(sq, 40, 40, 20, 20), std::invalid_argument);
}

// ===========================================================================
// Fast LAB

TEST_CASE("FastLab matches the double-precision reference within 0.001") {
  const FastLab lab;
  std::vector<std::uint8_t> rgb;
  for (int v = 0; v < 256; ++v) rgb.insert(rgb.end(), {std::uint8_t(v), std::uint8_t(v), std::uint8_t(v)});
  std::mt19937 rng(11);
  for (int i = 0; i < 100000; ++i) rgb.push_back(std::uint8_t(rng()));
  for (int corner = 0; corner < 8; ++corner)
    rgb.insert(rgb.end(), {std::uint8_t(corner & 1 ? 255 : 0), std::uint8_t(corner & 2 ? 255 : 0),
                           std::uint8_t(corner & 4 ? 255 : 0)});
  rgb.resize(rgb.size() / 3 * 3);
  const std::size_t n = rgb.size() / 3;
  std::vector<float> L(n), ab(2 * n), Lr(n), abr(2 * n);
  lab.convert(rgb.data(), n, L.data(), ab.data());
  tinct::color::srgb_to_lab_image(rgb.data(), n, Lr.data(), abr.data());
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) worst = std::max({worst, double(std::abs(L[i] - Lr[i]))});
  for (std::size_t i = 0; i < 2 * n; ++i) worst = std::max(worst, double(std::abs(ab[i] - abr[i])));
  CHECK(worst < 1e-3);
  // Grays stay (almost exactly) on the L axis.
  for (int v = 0; v < 256; ++v) {
    CHECK(std::abs(ab[v]) < 1e-3);
    CHECK(std::abs(ab[n + v]) < 1e-3);
  }
  // A span read right to left is the mirror of one read left to right.
  std::vector<float> fa(37), fb(37), fc(37), ra(37), rb(37), rc(37);
  lab.convert_span(rgb.data() + 300, 3, 37, fa.data(), fb.data(), fc.data());
  lab.convert_span(rgb.data() + 300 + 36 * 3, -3, 37, ra.data(), rb.data(), rc.data());
  std::reverse(ra.begin(), ra.end());
  CHECK(fa == ra);
}

// ===========================================================================
// Pack

namespace {

std::string make_pack(const std::string& path, int count, int size = 24, PackEncoding enc = PackEncoding::jpeg) {
  PackWriter w(path, size, size, enc, 95);
  for (int i = 0; i < count; ++i) w.add_image(colour_image(size, size, i), "img/" + std::to_string(i) + ".png", 10.0f + i);
  w.finish();
  return path;
}

std::string pack_error(std::vector<std::uint8_t> bytes, Pack::Verify v = Pack::Verify::full) {
  try {
    Pack::from_bytes(std::move(bytes), "p.tpk", v);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("pack: write, read back, validate") {
  TempDir dir;
  for (PackEncoding enc : {PackEncoding::jpeg, PackEncoding::raw}) {
    const std::string path = make_pack(dir / "a.tpk", 5, 24, enc);
    auto pack = Pack::open(path);
    REQUIRE(pack->size() == 5);
    CHECK(pack->width() == 24);
    CHECK(pack->height() == 24);
    CHECK(pack->encoding() == enc);
    CHECK(pack->entry(3).name == "img/3.png");
    CHECK(pack->entry(3).name_hash == fnv1a64("img/3.png"));
    CHECK(pack->entry(3).colorfulness == doctest::Approx(13.0));
    const Image back = pack->decode(2);
    CHECK(max_abs_diff(back, colour_image(24, 24, 2)) <= (enc == PackEncoding::raw ? 0 : 12));
    CHECK(pack->file_size() == fs::file_size(path));
    // No temporary file is left behind.
    int files = 0;
    for (auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
    CHECK(files == 1);
    fs::remove(path);
  }
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
}

TEST_CASE("pack: damaged files are refused with a reason, never crash") {
  TempDir dir;
  const std::vector<std::uint8_t> good = read_file(make_pack(dir / "a.tpk", 3));
  CHECK(pack_error(good).empty());
  CHECK(contains(pack_error({}), "not a tinct pack"));
  CHECK(contains(pack_error({'P', 'K', 3, 4, 0, 0, 0, 0, 0}), "not a tinct pack"));
  {
    auto b = good;
    b[20] ^= 1;  // inside the header
    CHECK(contains(pack_error(b), "header CRC"));
  }
  {
    auto b = good;
    b[100] ^= 1;  // inside the first image
    CHECK(contains(pack_error(b), "CRC mismatch in image 0"));
    CHECK(pack_error(b, Pack::Verify::structure).empty());  // the structure alone is intact
  }
  // Cut at every length: always an error, never a crash.
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    const std::string e = pack_error(std::vector<std::uint8_t>(good.begin(), good.begin() + long(cut)));
    CHECK_MESSAGE(!e.empty(), "cut at " << cut);
  }
  // Extra bytes at the end.
  auto longer = good;
  longer.push_back(0);
  CHECK(!pack_error(longer).empty());
}

TEST_CASE("pack: a writer that does not finish leaves nothing behind") {
  TempDir dir;
  {
    PackWriter w(dir / "x.tpk", 8, 8, PackEncoding::jpeg, 90);
    w.add_image(colour_image(8, 8), "a", 1.0f);
    CHECK_THROWS_AS(w.add_image(colour_image(9, 8), "b", 1.0f), std::invalid_argument);
  }
  CHECK(fs::is_empty(dir.path));
}

// ===========================================================================
// prepare

namespace {

// A folder with good and bad files; returns the expected drops by reason.
void make_source_folder(const fs::path& root) {
  fs::create_directories(root / "photos" / "deeper");
  fs::create_directories(root / ".hidden");
  // Kept: 6 colourful images in three formats, various shapes.
  save_png((root / "photos" / "a.png").string(), colour_image(200, 150, 1));
  save_jpeg((root / "photos" / "b.jpg").string(), colour_image(150, 220, 2), 95);
  save_bmp((root / "photos" / "deeper" / "c.bmp").string(), colour_image(160, 160, 3));
  save_jpeg((root / "photos" / "deeper" / "d.JPEG").string(), colour_image(300, 140, 4), 90);
  save_png((root / "e.png").string(), colour_image(144, 144, 5));
  save_png((root / "f.png").string(), colour_image(129, 400, 6));
  // Dropped, one per reason.
  fs::copy_file(fixture("empty.jpg"), root / "empty.jpg");
  fs::copy_file(fixture("text.jpg"), root / "text.jpg");
  std::vector<std::uint8_t> jpg = encode_jpeg(colour_image(200, 200, 7), 90);
  jpg.resize(jpg.size() / 2);
  write_file((root / "photos" / "cut.jpg").string(), jpg);
  std::vector<std::uint8_t> png = encode_png(colour_image(200, 200, 8));
  png[png.size() - 30] ^= 0xFF;
  write_file((root / "photos" / "flipped.png").string(), png);
  save_png((root / "small.png").string(), colour_image(100, 300));
  save_png((root / "gray_rgb.png").string(), gray_image(200, 200));
  Image one(160, 160, 1);
  for (std::size_t i = 0; i < one.pixel_count(); ++i) one.pixels[i] = std::uint8_t(i % 251);
  save_png((root / "gray1.png").string(), one);
  // Faintly tinted: not gray (spread above 8) but colorfulness under 5.
  Image faint(160, 160, 3);
  for (int y = 0; y < 160; ++y)
    for (int x = 0; x < 160; ++x) {
      std::uint8_t* p = faint.at(x, y);
      p[0] = std::uint8_t(100 + x / 2 + 9);
      p[1] = std::uint8_t(100 + x / 2);
      p[2] = std::uint8_t(100 + x / 2);
    }
  save_png((root / "faint.png").string(), faint);
  // Ignored: other extensions, hidden files and folders.
  write_file((root / "notes.txt").string(), {'h', 'i'});
  save_png((root / ".hidden" / "h.png").string(), colour_image(200, 200));
  save_png((root / ".dot.png").string(), colour_image(200, 200));
}

PrepareOptions quiet_options(const std::string& src, const std::string& out, int threads) {
  PrepareOptions o;
  o.sources = {src};
  o.output = out;
  o.threads = threads;
  o.progress = false;
  return o;
}

}  // namespace

TEST_CASE("prepare: keeps the good files, drops each bad one with its reason, deterministically") {
  TempDir dir;
  const fs::path src = dir.path / "src";
  make_source_folder(src);

  const PrepareResult r = prepare(quiet_options(src.string(), dir / "one.tpk", 1));
  CHECK(r.candidates == 14);
  CHECK(r.ignored == 2);  // notes.txt and .dot.png; the .hidden folder is not entered
  CHECK(r.kept == 6);
  CHECK(r.dropped.size() == 8);
  auto count = [&](DropReason d) { return r.drops.count(d) ? r.drops.at(d) : std::size_t(0); };
  CHECK(count(DropReason::empty) == 1);
  CHECK(count(DropReason::unsupported) == 1);
  CHECK(count(DropReason::truncated) == 1);
  CHECK(count(DropReason::corrupt) == 1);
  CHECK(count(DropReason::too_small) == 1);
  CHECK(count(DropReason::grayscale) == 2);
  CHECK(count(DropReason::not_colorful) == 1);
  CHECK(count(DropReason::failed) == 0);
  // Reasons in words, names relative to the source folder, sorted.
  std::set<std::string> names;
  for (const auto& d : r.dropped) names.insert(d.name + ": " + to_string(d.reason));
  CHECK(names.count("src/photos/cut.jpg: truncated") == 1);
  CHECK(names.count("src/text.jpg: unsupported") == 1);
  CHECK(names.count("src/faint.png: not_colorful") == 1);
  CHECK(std::is_sorted(r.dropped.begin(), r.dropped.end(),
                       [](const Dropped& a, const Dropped& b) { return a.name < b.name; }));

  auto pack = Pack::open(dir / "one.tpk");
  REQUIRE(pack->size() == 6);
  CHECK(pack->width() == 144);
  CHECK(pack->entry(0).name == "src/e.png");
  CHECK(pack->entry(5).name == "src/photos/deeper/d.JPEG");
  for (std::size_t i = 0; i < pack->size(); ++i) CHECK(pack->entry(i).colorfulness >= 5.0f);

  // The log lists every dropped file.
  const std::vector<std::uint8_t> log = read_file(r.log_path);
  const std::string text(log.begin(), log.end());
  CHECK(contains(text, "src/photos/flipped.png: corrupt: corrupt PNG (CRC mismatch in chunk IDAT)"));
  CHECK(contains(text, "src/gray1.png: grayscale: grayscale file (1 channel)"));

  // Same input, any number of threads: the same bytes.
  const PrepareResult r3 = prepare(quiet_options(src.string(), dir / "three.tpk", 3));
  CHECK(r3.kept == 6);
  CHECK(read_file(dir / "one.tpk") == read_file(dir / "three.tpk"));
}

TEST_CASE("prepare: an existing output is kept unless overwrite is asked for") {
  TempDir dir;
  const fs::path src = dir.path / "src";
  fs::create_directories(src);
  save_png((src / "a.png").string(), colour_image(160, 160, 1));
  save_png((src / "b.png").string(), colour_image(160, 160, 2));
  write_file(dir / "out.tpk", {'o', 'l', 'd'});
  PrepareOptions o = quiet_options(src.string(), dir / "out.tpk", 2);
  CHECK_THROWS_AS(prepare(o), std::invalid_argument);
  CHECK(read_file(dir / "out.tpk") == std::vector<std::uint8_t>{'o', 'l', 'd'});
  o.overwrite = true;
  CHECK(prepare(o).kept == 2);
  CHECK(Pack::open(dir / "out.tpk")->size() == 2);
  // Raw storage: the exact pixels of the centre square.
  PrepareOptions raw = quiet_options(src.string(), dir / "raw.tpk", 1);
  raw.encoding = PackEncoding::raw;
  raw.size = 64;
  CHECK(prepare(raw).kept == 2);
  auto pack = Pack::open(dir / "raw.tpk");
  CHECK(pack->encoding() == PackEncoding::raw);
  CHECK(pack->decode(0).pixels == resize_short_side_center_crop(colour_image(160, 160, 1), 64).pixels);
}

TEST_CASE("prepare: nothing kept writes nothing; bad arguments are refused") {
  TempDir dir;
  const fs::path src = dir.path / "src";
  fs::create_directories(src);
  save_png((src / "g.png").string(), gray_image(200, 200));
  fs::copy_file(fixture("truncated.jpg"), src / "t.jpg");
  const PrepareResult r = prepare(quiet_options(src.string(), dir / "none.tpk", 2));
  CHECK(r.kept == 0);
  CHECK(r.dropped.size() == 2);
  CHECK(!fs::exists(dir / "none.tpk"));
  for (auto& e : fs::directory_iterator(dir.path)) CHECK(e.path().filename() == "src");  // no temp files

  CHECK_THROWS_AS(prepare(quiet_options((dir.path / "missing").string(), dir / "x.tpk", 1)), std::invalid_argument);
  CHECK_THROWS_AS(prepare(quiet_options(src.string(), dir.path.string(), 1)), std::invalid_argument);  // a folder
  PrepareOptions none = quiet_options(src.string(), dir / "x.tpk", 1);
  none.sources.clear();
  CHECK_THROWS_AS(prepare(none), std::invalid_argument);
  // Files can be named directly, whatever their extension.
  const std::string odd = dir / "photo.data";
  save_png(odd, colour_image(150, 150));
  const PrepareResult one = prepare(quiet_options(odd, dir / "one.tpk", 1));
  CHECK(one.kept == 1);
  CHECK(Pack::open(dir / "one.tpk")->entry(0).name == "photo.data");
}

TEST_CASE("prepare: a JPEG whose header declares far more pixels than its data holds is dropped, not kept") {
  // Issue 19: a 40-60 KB JPEG whose header says 6000x6000 used to decode
  // into a large gray image that `prepare` kept.
  TempDir dir;
  const fs::path src = dir.path / "src";
  fs::create_directories(src);
  save_png((src / "good.png").string(), colour_image(200, 150, 1));
  Image noisy(256, 256, 3);
  std::mt19937 rng(5);
  for (auto& v : noisy.pixels) v = std::uint8_t(rng() % 256);
  write_file((src / "inflated.jpg").string(), jpeg_declaring(encode_jpeg(noisy, 85), 6000, 6000));
  const PrepareResult r = prepare(quiet_options(src.string(), dir / "out.tpk", 1));
  CHECK(r.kept == 1);
  REQUIRE(r.dropped.size() == 1);
  CHECK(r.dropped[0].name == "src/inflated.jpg");
  CHECK(r.dropped[0].reason == DropReason::corrupt);
}

// ===========================================================================
// Loader

namespace {

std::shared_ptr<const Pack> test_pack(const TempDir& dir, int count, int size = 40) {
  return Pack::open(make_pack(dir / ("p" + std::to_string(count) + "_" + std::to_string(size) + ".tpk"), count, size));
}

LoaderOptions small_options(int batch, int threads, std::uint64_t seed = 5) {
  LoaderOptions o;
  o.batch_size = batch;
  o.crop = 32;
  o.threads = threads;
  o.seed = seed;
  o.prefetch = 2;
  return o;
}

bool same_batch(const Batch& a, const Batch& b) {
  return a.n == b.n && a.index == b.index && a.L == b.L && a.ab == b.ab && a.epoch == b.epoch &&
         a.position == b.position;
}

}  // namespace

TEST_CASE("loader: shapes and ranges") {
  TempDir dir;
  auto pack = test_pack(dir, 10);
  LoaderOptions o = small_options(4, 2);
  o.raw_ab = true;
  Loader loader(pack, o);
  CHECK(loader.size() == 10);
  CHECK(loader.batches_per_epoch() == 2);
  const Batch b = loader.next();
  CHECK(b.n == 4);
  CHECK(b.size == 32);
  CHECK(b.L.size() == 4u * 1 * 32 * 32);
  CHECK(b.ab.size() == 4u * 2 * 32 * 32);
  CHECK(b.ab_raw.size() == b.ab.size());
  CHECK(b.index.size() == 4);
  for (float v : b.L) CHECK((v >= -1.0f && v <= 1.0f));
  for (float v : b.ab) CHECK((v > -1.0f && v < 1.0f));
  for (std::size_t i = 0; i < b.ab.size(); ++i) CHECK(b.ab[i] == doctest::Approx(b.ab_raw[i] / 110.0f));
  float spread = 0;  // colourful images: ab is not all zero
  for (float v : b.ab) spread = std::max(spread, std::abs(v));
  CHECK(spread > 0.2f);
}

TEST_CASE("loader: a sample is the LAB of a crop of the stored image, mirrored or not") {
  TempDir dir;
  auto pack = test_pack(dir, 3, 32);  // crop == image: only the flip varies
  LoaderOptions o = small_options(1, 1);
  Loader loader(pack, o);
  const FastLab lab;
  int flipped = 0, straight = 0;
  for (int i = 0; i < 24; ++i) {
    const Batch b = loader.next();
    const Image img = pack->decode(b.index[0]);
    std::vector<float> L(32 * 32), ab(2 * 32 * 32);
    lab.convert(img.pixels.data(), img.pixel_count(), L.data(), ab.data());
    bool same = true, mirror = true;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        const float got = b.L[y * 32 + x];
        same = same && std::abs(got - (L[y * 32 + x] / 50 - 1)) < 1e-5f;
        mirror = mirror && std::abs(got - (L[y * 32 + 31 - x] / 50 - 1)) < 1e-5f;
      }
    CHECK((same || mirror));
    flipped += mirror && !same;
    straight += same && !mirror;
  }
  CHECK(flipped > 3);
  CHECK(straight > 3);
}

TEST_CASE("loader: the same seed gives the same batches with any thread count; another seed differs") {
  TempDir dir;
  auto pack = test_pack(dir, 11);
  Loader a(pack, small_options(3, 1)), b(pack, small_options(3, 3)), c(pack, small_options(3, 2, 99));
  bool differs = false;
  std::multiset<std::uint32_t> epoch0;
  for (int i = 0; i < 8; ++i) {  // 3 batches per epoch: crosses two epoch boundaries
    const Batch x = a.next(), y = b.next(), z = c.next();
    CHECK(same_batch(x, y));
    differs = differs || !same_batch(x, z);
    if (x.epoch == 0) epoch0.insert(x.index.begin(), x.index.end());
  }
  CHECK(differs);
  // An epoch draws each image at most once (9 of 11: the incomplete last batch is dropped).
  CHECK(epoch0.size() == 9);
  CHECK(std::set<std::uint32_t>(epoch0.begin(), epoch0.end()).size() == 9);
}

TEST_CASE("loader: state() and set_state() resume with the batch that would have come next") {
  TempDir dir;
  auto pack = test_pack(dir, 10);
  Loader a(pack, small_options(4, 2));
  for (int i = 0; i < 3; ++i) a.next();
  const LoaderState saved = a.state();
  CHECK(saved.epoch == 1);  // 2 batches per epoch: after 3, the middle of epoch 1
  CHECK(saved.position == 4);
  std::vector<Batch> expect;
  for (int i = 0; i < 4; ++i) expect.push_back(a.next());

  Loader b(pack, small_options(4, 1, 12345));  // another seed: set_state brings the saved one
  b.next();
  b.set_state(saved);
  CHECK(b.state() == saved);
  for (int i = 0; i < 4; ++i) CHECK(same_batch(b.next(), expect[i]));
  // A state at the end of an epoch reads as the start of the next.
  LoaderState end_of_epoch{saved.seed, 2, 8};
  b.set_state(end_of_epoch);
  CHECK(b.state() == LoaderState{saved.seed, 3, 0});
}

TEST_CASE("loader: the parts of a batch (data-parallel ranks) are its rows, and resume alike") {
  TempDir dir;
  auto pack = test_pack(dir, 13);
  LoaderOptions whole = small_options(6, 2);
  whole.raw_ab = true;
  whole.transform = [](Batch& b) { b.extra_i["index"].assign(b.index.begin(), b.index.end()); };
  Loader all(pack, whole);
  std::vector<std::unique_ptr<Loader>> parts;
  for (int p = 0; p < 3; ++p) {
    LoaderOptions o = whole;
    o.part = p;
    o.parts = 3;
    o.threads = 1 + p % 2;
    parts.push_back(std::make_unique<Loader>(pack, o));
  }
  auto rows = [](const std::vector<float>& v, int n, int first, int count) {
    const std::size_t per = v.size() / std::size_t(n);
    return std::vector<float>(v.begin() + long(per * first), v.begin() + long(per * (first + count)));
  };
  for (int i = 0; i < 7; ++i) {  // 2 batches an epoch: crosses three epoch boundaries
    const Batch b = all.next();
    for (int p = 0; p < 3; ++p) {
      const Batch q = parts[p]->next();
      INFO("batch " << i << ", part " << p);
      REQUIRE(q.n == 2);
      CHECK(q.epoch == b.epoch);
      CHECK(q.position == b.position);
      CHECK(q.index == std::vector<std::uint32_t>(b.index.begin() + 2 * p, b.index.begin() + 2 * p + 2));
      CHECK(q.L == rows(b.L, 6, 2 * p, 2));
      CHECK(q.ab == rows(b.ab, 6, 2 * p, 2));
      CHECK(q.ab_raw == rows(b.ab_raw, 6, 2 * p, 2));
      CHECK(q.extra_i.at("index").size() == 2);  // the transform saw only the part
      CHECK(parts[p]->state() == all.state());  // the whole batch is used up on every rank
    }
  }
  // A part resumes from the whole loader's state (another rank count).
  LoaderOptions o = whole;
  o.part = 1;
  o.parts = 2;
  Loader half(pack, o);
  half.set_state(all.state());
  const Batch b = all.next(), q = half.next();
  CHECK(q.index == std::vector<std::uint32_t>(b.index.begin() + 3, b.index.end()));
  CHECK(q.L == rows(b.L, 6, 3, 3));
  // Parts that do not divide the batch, or a part out of range, are refused.
  o.parts = 4;
  CHECK_THROWS_AS(Loader(pack, o), std::invalid_argument);
  o.parts = 2;
  o.part = 2;
  CHECK_THROWS_AS(Loader(pack, o), std::invalid_argument);
}

TEST_CASE("loader: the decoded-image cache does not change the batches") {
  TempDir dir;
  auto pack = test_pack(dir, 9);
  LoaderOptions with = small_options(3, 2), without = small_options(3, 2);
  without.cache_bytes = 0;
  Loader a(pack, with), b(pack, without);
  for (int i = 0; i < 7; ++i) CHECK(same_batch(a.next(), b.next()));
}

TEST_CASE("loader: a worker's exception reaches the consumer, and the loader shuts down cleanly") {
  TempDir dir;
  {
    PackWriter w(dir / "bad.tpk", 40, 40, PackEncoding::jpeg, 90);
    for (int i = 0; i < 4; ++i) w.add_image(colour_image(40, 40, i), "ok" + std::to_string(i), 20.0f);
    const std::vector<std::uint8_t> junk = {'n', 'o', 't', ' ', 'a', ' ', 'j', 'p', 'e', 'g'};
    w.add(junk, "junk", 20.0f);  // valid CRC, does not decode
    w.finish();
  }
  auto pack = Pack::open(dir / "bad.tpk");
  LoaderOptions o = small_options(5, 2);
  {
    Loader loader(pack, o);
    CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("(junk) does not decode"), std::runtime_error);
    CHECK_THROWS_AS(loader.next(), std::runtime_error);  // sticky
  }  // joins its workers here
  // A throwing transform is reported the same way.
  LoaderOptions t = small_options(2, 2);
  t.indices = {0, 1, 2, 3};
  t.transform = [](Batch&) { throw std::runtime_error("transform failed"); };
  Loader loader(pack, t);
  CHECK_THROWS_WITH_AS(loader.next(), "transform failed", std::runtime_error);
}

TEST_CASE("loader: transform runs on the batch; validation split is disjoint and complete") {
  TempDir dir;
  auto pack = test_pack(dir, 20);
  const Split s = split_holdout(*pack, 5);
  CHECK(s.validation.size() == 5);
  CHECK(s.train.size() == 15);
  std::set<std::uint32_t> all(s.train.begin(), s.train.end());
  for (std::uint32_t v : s.validation) CHECK(all.insert(v).second);  // disjoint
  CHECK(all.size() == 20);                                           // complete
  CHECK(split_holdout(*pack, 5).validation == s.validation);         // deterministic
  CHECK_THROWS_AS(split_holdout(*pack, 21), std::invalid_argument);

  // Training draws only training images.
  LoaderOptions tr = small_options(5, 2);
  tr.indices = s.train;
  tr.transform = [](Batch& b) { b.extra_f["mean_L"] = {std::accumulate(b.L.begin(), b.L.end(), 0.0f) / b.L.size()}; };
  Loader train(pack, tr);
  const std::set<std::uint32_t> val(s.validation.begin(), s.validation.end());
  for (int i = 0; i < 6; ++i) {
    const Batch b = train.next();
    for (std::uint32_t idx : b.index) CHECK(val.count(idx) == 0);
    REQUIRE(b.extra_f.count("mean_L") == 1);
  }
  // Validation: every image once per epoch, in order, centre crops, no flips.
  LoaderOptions vo = small_options(2, 1);
  vo.indices = s.validation;
  vo.shuffle = vo.flip = vo.random_crop = vo.drop_last = false;
  Loader v(pack, vo);
  CHECK(v.batches_per_epoch() == 3);
  std::vector<std::uint32_t> seen;
  std::vector<int> sizes;
  for (int i = 0; i < 3; ++i) {
    const Batch b = v.next();
    sizes.push_back(b.n);
    seen.insert(seen.end(), b.index.begin(), b.index.end());
  }
  CHECK(sizes == std::vector<int>{2, 2, 1});
  CHECK(seen == s.validation);
  const Batch again = v.next();  // epoch 1 is the same as epoch 0
  CHECK(again.epoch == 1);
  CHECK(again.index == std::vector<std::uint32_t>{s.validation[0], s.validation[1]});
}

TEST_CASE("loader: bad options are refused") {
  TempDir dir;
  auto pack = test_pack(dir, 3);
  LoaderOptions o = small_options(4, 1);
  CHECK_THROWS_AS(Loader(pack, o), std::invalid_argument);  // 3 images < one batch of 4 with drop_last
  o = small_options(2, 1);
  o.crop = 41;
  CHECK_THROWS_AS(Loader(pack, o), std::invalid_argument);  // crop larger than the images
  o = small_options(2, 1);
  o.indices = {0, 7};
  CHECK_THROWS_AS(Loader(pack, o), std::invalid_argument);
}
