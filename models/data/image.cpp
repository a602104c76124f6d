// image.cpp — see image.h. The byte-level checks (format, truncation, size)
// run before stb_image sees the data: stb is a fine decoder but it was not
// written to tell a truncated file from a complete one.
#include "models/data/image.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <tuple>

#include "engine/atomic_file.h"
#include "engine/crc32.h"
#include "models/data/stb_impl.h"
#include "stb/stb_image.h"
#include "stb/stb_image_write.h"

namespace tinct::data {

// ---------------------------------------------------------------------------
// Errors

const char* to_string(ImageErrorKind kind) {
  switch (kind) {
    case ImageErrorKind::unreadable: return "unreadable";
    case ImageErrorKind::empty: return "empty";
    case ImageErrorKind::unsupported: return "unsupported";
    case ImageErrorKind::truncated: return "truncated";
    case ImageErrorKind::corrupt: return "corrupt";
    case ImageErrorKind::too_large: return "too_large";
  }
  return "unknown";
}

ImageError::ImageError(ImageErrorKind kind, const std::string& path, const std::string& reason)
    : std::runtime_error(path + ": " + reason), kind_(kind), path_(path), reason_(reason) {}

namespace {

[[noreturn]] void fail(ImageErrorKind kind, const std::string& name, const std::string& reason) {
  throw ImageError(kind, name, reason);
}

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le16(const std::uint8_t* p) { return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8); }
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
         (std::uint32_t(p[3]) << 24);
}

bool starts_with(const std::uint8_t* d, std::size_t n, const char* magic, std::size_t len,
                 std::size_t at = 0) {
  return n >= at + len && std::memcmp(d + at, magic, len) == 0;
}

std::string hex_bytes(const std::uint8_t* d, std::size_t n, std::size_t count) {
  std::string s;
  char buf[4];
  for (std::size_t i = 0; i < std::min(n, count); ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", d[i]);
    s += buf;
  }
  return s;
}

std::string format_megapixels(double mp) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", mp);
  return buf;
}

// ---------------------------------------------------------------------------
// Truncation checks on the raw bytes. Each returns an empty string when the
// file is complete, else the reason; *kind says truncated or corrupt.

// A DHT segment's body: one or more Huffman tables, each a class/id byte,
// 16 code counts and as many symbols as the counts add up to (at most 256:
// 8-bit symbols). stb_image 2.27 trusts the counts and writes past its
// 257-entry tables when they add up to more (fixed upstream in 2.28), so a
// crafted file could corrupt memory: check them here first. Sets the bit
// class * 4 + id of each table defined in *defined.
std::string check_jpeg_huffman_tables(const std::uint8_t* p, std::size_t len, unsigned* defined) {
  std::size_t at = 0;
  while (at < len) {
    if (len - at < 17) return "corrupt JPEG (Huffman table cut short)";
    const std::uint8_t cls = p[at] >> 4, id = p[at] & 15;
    if (cls > 1 || id > 3) return "corrupt JPEG (bad Huffman table header)";
    std::size_t symbols = 0;
    for (int i = 1; i <= 16; ++i) symbols += p[at + i];
    if (symbols > 256) return "corrupt JPEG (Huffman table with more than 256 codes)";
    *defined |= 1u << (cls * 4 + id);
    at += 17 + symbols;
    if (at > len) return "corrupt JPEG (Huffman table cut short)";
  }
  return {};
}

// What a file's header declares, as the completeness checks below read it
// on the way (so that the size limits are checked before stb sees the file).
struct Header {
  bool known = false;  // width and height were read (else stb says what is wrong)
  std::int64_t width = 0, height = 0;
  // JPEG: the first frame header (SOFn) and the amount of image data.
  int sof = -1;                               // its marker, 0xC0..0xCF; -1: none
  std::vector<std::pair<int, int>> sampling;  // per component: H, V (each 1..4; else empty)
  std::uint64_t scan_bytes = 0;  // entropy-coded bytes of all scans, stuffing and RST markers included
};

bool is_sof_marker(std::uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

// A frame header's body: precision, height, width, component count, then
// per component its id, sampling factors H << 4 | V and quantization table.
void read_jpeg_frame(const std::uint8_t* p, std::size_t len, std::uint8_t marker, Header* frame) {
  frame->sof = marker;
  if (len < 6) return;
  frame->known = true;
  frame->height = be16(p + 1);
  frame->width = be16(p + 3);
  const std::size_t n = p[5];
  if (n < 1 || n > 4 || len < 6 + 3 * n) return;
  for (std::size_t i = 0; i < n; ++i) {
    const int h = p[6 + 3 * i + 1] >> 4, v = p[6 + 3 * i + 1] & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) {
      frame->sampling.clear();
      return;
    }
    frame->sampling.emplace_back(h, v);
  }
}

// A scan header's body: component count Ns, per component its id and DC/AC
// table ids (Td << 4 | Ta), then Ss, Se and Ah << 4 | Al. Sequential scans
// use both tables of each component; progressive ones the DC table in a
// first DC scan (Ss = 0, Ah = 0), none in a DC refinement, the AC table in
// an AC scan (Ss > 0). Malformed headers are left to stb, which refuses them.
std::string check_jpeg_scan_tables(const std::uint8_t* p, std::size_t len, int sof, unsigned defined) {
  if (sof < 0xC0 || sof > 0xC2 || len < 1) return {};  // no frame yet, or not Huffman-coded
  const std::size_t ns = p[0];
  if (len < 1 + 2 * ns + 3) return {};
  const std::uint8_t ss = p[1 + 2 * ns], ah = p[3 + 2 * ns] >> 4;
  const bool progressive = sof == 0xC2;
  const bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss > 0;
  for (std::size_t i = 0; i < ns; ++i) {
    const int td = p[2 + 2 * i] >> 4, ta = p[2 + 2 * i] & 15;
    for (const auto& [use, cls, id] : {std::tuple{dc, 0, td}, std::tuple{ac, 1, ta}}) {
      if (!use || id > 3) continue;
      if (!(defined & (1u << (cls * 4 + id))))
        return std::string("corrupt JPEG (a scan uses Huffman table ") + (cls ? "AC " : "DC ") +
               std::to_string(id) + ", which the file does not define before it)";
    }
  }
  return {};
}

// JPEG: walk the marker segments from SOI. Segments carry their length, so
// they are skipped whole (an EXIF thumbnail inside APP1, with its own FF D9,
// is never mistaken for the end). After an SOS header comes entropy-coded
// data, in which a data byte FF is always followed by 00 ("stuffing") and
// FF D0..D7 are restart markers: the scan ends at the first other marker.
// A complete file reaches EOI (FF D9); bytes after EOI (padding, appended
// data from some cameras) are allowed. A truncated file runs out first.
// Each scan must use Huffman tables defined before it: stb_image would decode
// with whatever its table memory held (libjpeg refuses such a file too).
std::string check_jpeg_complete(const std::uint8_t* d, std::size_t n, ImageErrorKind* kind,
                                Header* frame) {
  *kind = ImageErrorKind::truncated;
  std::size_t pos = 2;  // after FF D8
  bool seen_scan = false;
  unsigned defined_tables = 0;
  while (pos < n) {
    // Between segments only markers are expected; skip stray bytes the way
    // libjpeg does ("extraneous bytes before marker") rather than failing.
    if (d[pos] != 0xFF) {
      ++pos;
      continue;
    }
    while (pos < n && d[pos] == 0xFF) ++pos;  // FF fill bytes before a marker
    if (pos >= n) break;
    const std::uint8_t marker = d[pos++];
    if (marker == 0xD9) {
      if (!seen_scan) {
        *kind = ImageErrorKind::corrupt;
        return "JPEG ends (EOI marker) before any image data";
      }
      return {};
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    if (pos + 2 > n) return "truncated JPEG (file ends inside a marker segment)";
    const std::size_t len = be16(d + pos);
    if (len < 2) {
      *kind = ImageErrorKind::corrupt;
      return "corrupt JPEG (marker segment with invalid length)";
    }
    if (pos + len > n) return "truncated JPEG (file ends inside a marker segment)";
    if (marker == 0xC4) {
      const std::string bad = check_jpeg_huffman_tables(d + pos + 2, len - 2, &defined_tables);
      if (!bad.empty()) {
        *kind = ImageErrorKind::corrupt;
        return bad;
      }
    }
    if (is_sof_marker(marker) && frame->sof < 0) read_jpeg_frame(d + pos + 2, len - 2, marker, frame);
    pos += len;
    if (marker != 0xDA) continue;
    const std::string bad = check_jpeg_scan_tables(d + pos - len + 2, len - 2, frame->sof, defined_tables);
    if (!bad.empty()) {
      *kind = ImageErrorKind::corrupt;
      return bad;
    }
    // Entropy-coded data of a scan: find the marker that ends it.
    seen_scan = true;
    const std::size_t scan_start = pos;
    while (true) {
      const void* ff = std::memchr(d + pos, 0xFF, n - pos);
      if (!ff) return "truncated JPEG (no end-of-image marker FF D9: the file stops inside the image data)";
      pos = std::size_t(static_cast<const std::uint8_t*>(ff) - d);
      if (pos + 1 >= n) return "truncated JPEG (no end-of-image marker FF D9: the file stops inside the image data)";
      const std::uint8_t next = d[pos + 1];
      if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
        pos += 2;  // stuffed data byte or restart marker: still inside the scan
        continue;
      }
      if (next == 0xFF) {  // fill byte: the marker follows
        ++pos;
        continue;
      }
      break;  // a real marker: back to the segment walk (pos at its FF)
    }
    frame->scan_bytes += pos - scan_start;
  }
  return "truncated JPEG (no end-of-image marker FF D9)";
}

}  // namespace

// The engine's CRC-32 (engine/crc32.h), which also guards checkpoints.
std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc) { return tinct::crc32(data, n, crc); }

namespace {

// PNG: a signature, then chunks (length, type, data, CRC) up to IEND. The
// CRC of the critical chunks (type starting with an upper-case letter: IHDR,
// PLTE, IDAT, IEND) is checked, as libpng does; stb_image does not check it,
// and a flipped bit in IDAT would otherwise decode to damaged pixels.
// The width and height come from IHDR, which must be the first chunk.
std::string check_png_complete(const std::uint8_t* d, std::size_t n, ImageErrorKind* kind, Header* header) {
  *kind = ImageErrorKind::truncated;
  std::size_t pos = 8;
  while (true) {
    if (pos + 8 > n) return "truncated PNG (no IEND chunk: the file stops before its end)";
    const std::uint32_t len = be32(d + pos);
    const std::uint8_t* type = d + pos + 4;
    const std::string type_name(reinterpret_cast<const char*>(type), 4);
    if (len > 0x7FFFFFFFu) {
      *kind = ImageErrorKind::corrupt;
      return "corrupt PNG (chunk length out of range)";
    }
    if (pos + 12 + std::size_t(len) > n)
      return "truncated PNG (chunk " + type_name + " cut short, no IEND chunk)";
    if (type[0] >= 'A' && type[0] <= 'Z') {
      const std::uint32_t stored = be32(d + pos + 8 + len);
      if (crc32(type, 4 + std::size_t(len)) != stored) {
        *kind = ImageErrorKind::corrupt;
        return "corrupt PNG (CRC mismatch in chunk " + type_name + ")";
      }
    }
    if (pos == 8 && type_name == "IHDR" && len >= 8) {
      header->known = true;
      header->width = be32(d + 16);
      header->height = be32(d + 20);
    }
    if (type_name == "IEND") return {};
    pos += 12 + std::size_t(len);
  }
}

// BMP: uncompressed (and bit-field) BMPs have a fixed pixel array size; the
// file must hold it all. RLE-compressed BMPs are left to the decoder.
std::string check_bmp_complete(const std::uint8_t* d, std::size_t n, ImageErrorKind* kind, Header* header) {
  *kind = ImageErrorKind::truncated;
  if (n < 26) return "truncated BMP (file ends inside the header)";
  const std::uint64_t offset = le32(d + 10);
  const std::uint32_t dib = le32(d + 14);
  std::int64_t w = 0, h = 0;
  std::uint32_t bpp = 0, compression = 0;
  if (dib == 12) {  // OS/2 BITMAPCOREHEADER
    w = le16(d + 18);
    h = le16(d + 20);
    bpp = le16(d + 24);
  } else if (dib >= 40) {
    if (n < 34) return "truncated BMP (file ends inside the header)";
    w = std::int32_t(le32(d + 18));
    h = std::int32_t(le32(d + 22));  // negative: rows stored top-down
    bpp = le16(d + 28);
    compression = le32(d + 30);
  } else {
    *kind = ImageErrorKind::corrupt;
    return "corrupt BMP (unknown header size " + std::to_string(dib) + ")";
  }
  header->known = true;
  header->width = w;
  header->height = h < 0 ? -h : h;  // negative: rows stored top-down
  if (compression != 0 && compression != 3 && compression != 6) return {};  // RLE etc.
  // Implausible headers are left to the decoder, which says what is wrong
  // (and refuses sides above 32768); the bound also keeps `need` from overflowing.
  if (w <= 0 || h == 0 || bpp == 0 || bpp > 32 || w > (1 << 24) || h > (1 << 24) || h < -(1 << 24)) return {};
  const std::uint64_t row_bytes = ((std::uint64_t(w) * bpp + 31) / 32) * 4;
  const std::uint64_t need = offset + row_bytes * std::uint64_t(h < 0 ? -h : h);
  if (need > n)
    return "truncated BMP (" + std::to_string(n) + " bytes, the header promises " +
           std::to_string(need) + ")";
  return {};
}

// 8-bit pixel with alpha over white: c * a + 255 * (1 - a), rounded.
inline std::uint8_t over_white(unsigned c, unsigned a) {
  return std::uint8_t((c * a + 255u * (255u - a) + 127u) / 255u);
}

// Interleaved samples with `comp` channels (8-bit) -> RGB.
template <typename Sample, typename To8>
void to_rgb(const Sample* src, std::size_t n, int comp, std::uint8_t* dst, To8 to8) {
  for (std::size_t i = 0; i < n; ++i, src += comp, dst += 3) {
    switch (comp) {
      case 1: dst[0] = dst[1] = dst[2] = to8(src[0]); break;
      case 2: dst[0] = dst[1] = dst[2] = over_white(to8(src[0]), to8(src[1])); break;
      case 3: dst[0] = to8(src[0]), dst[1] = to8(src[1]), dst[2] = to8(src[2]); break;
      default: {
        const unsigned a = to8(src[3]);
        dst[0] = over_white(to8(src[0]), a);
        dst[1] = over_white(to8(src[1]), a);
        dst[2] = over_white(to8(src[2]), a);
      }
    }
  }
}

// The size limits, on the width and height the header declares: before any
// pixel is decoded, and before stb sees the file (stb has limits of its own,
// but stbi_info_from_memory tries each format in turn and reports only the
// last one's complaint, "unknown image type", whatever the right one said).
void check_size(std::int64_t w, std::int64_t h, const DecodeLimits& limits, const std::string& format,
                const std::string& name) {
  const std::string size = std::to_string(w) + "x" + std::to_string(h);
  if (w <= 0 || h <= 0) fail(ImageErrorKind::corrupt, name, "corrupt " + format + " header (declares a " + size + " image)");
  const double mp = double(w) * double(h) / 1e6;
  if (mp > limits.max_megapixels)
    fail(ImageErrorKind::too_large, name,
         "image too large to decode safely: " + size + " = " + format_megapixels(mp) +
             " megapixels, above the limit of " + format_megapixels(limits.max_megapixels) + " megapixels");
  if (w > detail::kMaxSide || h > detail::kMaxSide)
    fail(ImageErrorKind::too_large, name,
         "image too large to decode safely: " + size + " pixels, a side above the limit of " +
             std::to_string(detail::kMaxSide) + " pixels");
}

// JPEG: the coding processes stb decodes, and whether the file holds enough
// image data for the size its header declares.
//
// A damaged or crafted size field (a 48 KB file whose header says 6000x6000)
// would otherwise decode for half a minute into a gigabyte of mostly gray
// garbage: stb fills the blocks that the data does not reach and reports
// nothing. Of the ways to refuse it, a per-image pixel budget would also
// refuse ordinary camera photos (36 megapixels is common), and stopping at
// the first corrupt scan would mean changing stb's decoder, after the time
// is spent. A lower bound on the data that a complete image needs refuses
// only files that cannot be complete, before decoding, at no cost (the
// marker walk counts the bytes):
//
// stb decodes Huffman-coded JPEGs only (baseline, extended and progressive;
// the other processes are refused here by name). Every Huffman code is at
// least 1 bit long, and every 8x8 block of every component gets a DC code in
// some scan: sequential scans code a DC and at least one AC code (EOB) per
// block, progressive files a first DC scan of each component. So a component
// of cw x ch samples needs at least ceil(cw/8) * ceil(ch/8) bits, and the
// file at least that for its largest component (the non-interleaved block
// count; interleaved scans code more, the MCU padding). Flat images come
// closest: cjpeg -progressive -grayscale -optimize holds 2 bits per block,
// and tests/fixtures/flat_dc_only.jpg (one DC scan) 1 bit, the bound itself.
void check_jpeg_frame(const Header& frame, const std::string& name) {
  if (frame.sof > 0xC2) {
    char sof[16];
    std::snprintf(sof, sizeof sof, "%02X", unsigned(frame.sof));
    fail(ImageErrorKind::unsupported, name,
         std::string("unsupported JPEG coding process (frame marker FF ") + sof +
             ": lossless, hierarchical or arithmetic-coded); baseline and progressive JPEGs are read");
  }
  if (!frame.known || frame.sampling.empty() || frame.width <= 0 || frame.height <= 0) return;  // stb says what is wrong
  int hmax = 1, vmax = 1;
  for (const auto& [h, v] : frame.sampling) hmax = std::max(hmax, h), vmax = std::max(vmax, v);
  auto ceil_div = [](std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; };
  std::uint64_t blocks = 0;
  for (const auto& [h, v] : frame.sampling) {
    const std::uint64_t cw = ceil_div(std::uint64_t(frame.width) * h, hmax);
    const std::uint64_t ch = ceil_div(std::uint64_t(frame.height) * v, vmax);
    blocks = std::max(blocks, ceil_div(cw, 8) * ceil_div(ch, 8));
  }
  const std::uint64_t need = ceil_div(blocks, 8);
  if (frame.scan_bytes < need)
    fail(ImageErrorKind::corrupt, name,
         "corrupt JPEG (the header declares " + std::to_string(frame.width) + "x" +
             std::to_string(frame.height) + " pixels, which take at least " + std::to_string(need) +
             " bytes of image data; the file holds " + std::to_string(frame.scan_bytes) +
             ": the size in the header is wrong, or image data is missing)");
}

// stb's decode of a checked file into img, in one decode scope: whatever stb
// allocated is freed when this returns or throws (detail::StbCheckFailed).
void decode_with_stb(const std::uint8_t* d, int len, const std::string& format, const Header& header,
                     const DecodeLimits& limits, Image& img, const std::string& name) {
  // Cap each stb allocation at twice the largest buffer a valid file of the
  // declared size needs (16-bit RGBA plus the PNG filter bytes) and 16 MB of
  // slack; without a declared size stb refuses the header anyway.
  const std::size_t biggest =
      header.known ? (std::size_t(header.width) * 8 + 1) * std::size_t(header.height) : 0;
  const detail::StbDecodeScope scope(2 * biggest + (std::size_t(16) << 20));
  using Pixels = std::unique_ptr<void, void (*)(void*)>;

  // The header, as stb reads it.
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(d, len, &w, &h, &comp)) {
    const char* why = stbi_failure_reason();
    fail(ImageErrorKind::corrupt, name,
         "corrupt " + format + " header (" + std::string(why ? why : "unknown reason") + ")");
  }
  check_size(w, h, limits, format, name);  // the same as the header's, unless our reading missed something
  if (header.known && (w != header.width || h != header.height))
    fail(ImageErrorKind::corrupt, name, "corrupt " + format + " header (ambiguous image size)");

  img.width = w;
  img.height = h;
  img.channels = 3;
  img.source_channels = comp;
  img.source_bits = 8;
  img.pixels.resize(std::size_t(w) * h * 3);  // keeps the capacity of a reused image
  const std::size_t count = img.pixel_count();
  int got_w = 0, got_h = 0, got_comp = 0;
  const bool sixteen = format == "PNG" && stbi_is_16_bit_from_memory(d, len);
  if (sixteen) {
    img.source_bits = 16;
    const Pixels px(stbi_load_16_from_memory(d, len, &got_w, &got_h, &got_comp, 0), stbi_image_free);
    if (!px || got_w != w || got_h != h || got_comp < 1 || got_comp > 4) {
      const char* why = stbi_failure_reason();
      fail(ImageErrorKind::corrupt, name, "corrupt PNG (" + std::string(why ? why : "bad data") + ")");
    }
    to_rgb(static_cast<const stbi_us*>(px.get()), count, got_comp, img.pixels.data(),
           [](stbi_us v) { return unsigned((std::uint32_t(v) * 255u + 32767u) / 65535u); });
  } else {
    // JPEG: let stb convert to RGB (it knows YCbCr, grayscale and Adobe CMYK).
    // PNG/BMP: take the channels as stored and composite alpha ourselves.
    const int want = format == "JPEG" ? 3 : 0;
    const Pixels px(stbi_load_from_memory(d, len, &got_w, &got_h, &got_comp, want), stbi_image_free);
    const int have = want ? want : got_comp;
    if (!px || got_w != w || got_h != h || have < 1 || have > 4) {
      const char* why = stbi_failure_reason();
      fail(ImageErrorKind::corrupt, name,
           "corrupt " + format + " (" + std::string(why ? why : "bad data") + ")");
    }
    img.source_channels = got_comp;
    const auto* p = static_cast<const stbi_uc*>(px.get());
    if (have == 3)
      std::memcpy(img.pixels.data(), p, count * 3);
    else
      to_rgb(p, count, have, img.pixels.data(), [](stbi_uc v) { return unsigned(v); });
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Format sniffing

std::string sniff_format(const std::uint8_t* d, std::size_t n) {
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "JPEG";
  if (starts_with(d, n, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts_with(d, n, "BM", 2) && n >= 14) return "BMP";
  if (starts_with(d, n, "GIF87a", 6) || starts_with(d, n, "GIF89a", 6)) return "GIF image";
  if (starts_with(d, n, "RIFF", 4) && starts_with(d, n, "WEBP", 4, 8)) return "WebP image";
  if (starts_with(d, n, "II*\0", 4) || starts_with(d, n, "MM\0*", 4)) return "TIFF image";
  if (starts_with(d, n, "ftyp", 4, 4)) {
    if (starts_with(d, n, "avif", 4, 8) || starts_with(d, n, "avis", 4, 8)) return "AVIF image";
    if (starts_with(d, n, "hei", 3, 8) || starts_with(d, n, "mif1", 4, 8)) return "HEIF image";
    return "ISO media file (MP4/MOV/HEIF family)";
  }
  if (starts_with(d, n, "\0\0\0\x0cjP  ", 8)) return "JPEG 2000 image";
  if (starts_with(d, n, "\xff\x0a", 2)) return "JPEG XL image";
  if (starts_with(d, n, "%PDF", 4)) return "PDF document";
  if (starts_with(d, n, "PK\x03\x04", 4)) return "ZIP archive";
  if (starts_with(d, n, "\x1f\x8b", 2)) return "gzip archive";
  if (starts_with(d, n, "8BPS", 4)) return "Photoshop document";
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7') return "PNM/PAM image";
  if (starts_with(d, n, "<svg", 4) || starts_with(d, n, "<?xml", 5)) return "SVG/XML file";
  // Text: the first bytes are printable ASCII, tabs or line breaks (UTF-8
  // bytes >= 0x80 are allowed too, so non-English text counts).
  const std::size_t probe = std::min<std::size_t>(n, 512);
  bool text = probe > 0;
  for (std::size_t i = 0; i < probe && text; ++i)
    text = d[i] >= 0x20 || d[i] == '\t' || d[i] == '\n' || d[i] == '\r';
  if (text) return "text file";
  return "unknown format (first bytes " + hex_bytes(d, n, 8) + ")";
}

// ---------------------------------------------------------------------------
// Files

std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(ImageErrorKind::unreadable, path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(::fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    fail(ImageErrorKind::unreadable, path, "is a folder, not a file");
  }
  std::vector<std::uint8_t> bytes;
  // Size by seeking; a pipe fails here and is read as a stream.
  long size = -1;
  if (std::fseek(f, 0, SEEK_END) == 0) size = std::ftell(f);
  if (size >= 0 && std::fseek(f, 0, SEEK_SET) != 0) size = -1;
  if (size > 0 && std::uint64_t(size) > max_bytes) {
    std::fclose(f);
    fail(ImageErrorKind::too_large, path,
         "file of " + std::to_string(size) + " bytes, above the limit of " + std::to_string(max_bytes));
  }
  if (size > 0) bytes.reserve(std::size_t(size));
  std::uint8_t buf[1 << 16];
  while (true) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, f);
    bytes.insert(bytes.end(), buf, buf + got);
    if (bytes.size() > max_bytes) {
      std::fclose(f);
      fail(ImageErrorKind::too_large, path, "file above the limit of " + std::to_string(max_bytes) + " bytes");
    }
    if (got < sizeof buf) break;
  }
  const bool error = std::ferror(f);
  const int err = errno;
  std::fclose(f);
  if (error) fail(ImageErrorKind::unreadable, path, std::string("read error: ") + std::strerror(err));
  return bytes;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

// ---------------------------------------------------------------------------
// Decoding

Image decode_image(const std::uint8_t* d, std::size_t n, const DecodeLimits& limits,
                   const std::string& name) {
  Image img;
  decode_image(d, n, img, limits, name);
  return img;
}

void decode_image(const std::uint8_t* d, std::size_t n, Image& img, const DecodeLimits& limits,
                  const std::string& name) {
  if (n == 0) fail(ImageErrorKind::empty, name, "empty file (0 bytes)");
  const std::string format = sniff_format(d, n);
  if (format != "JPEG" && format != "PNG" && format != "BMP")
    fail(ImageErrorKind::unsupported, name, "unsupported format: " + format + " (JPEG, PNG and BMP are read)");
  if (n > std::size_t(std::numeric_limits<int>::max()))
    fail(ImageErrorKind::too_large, name, "file too large for the decoder (over 2 GB)");

  ImageErrorKind kind = ImageErrorKind::truncated;
  Header header;
  const std::string problem = format == "JPEG"  ? check_jpeg_complete(d, n, &kind, &header)
                              : format == "PNG" ? check_png_complete(d, n, &kind, &header)
                                                : check_bmp_complete(d, n, &kind, &header);
  // A size above the limits is refused first: the header alone decides it
  // (and a BMP declaring 60000x60000 pixels is "truncated" too, but that is
  // not what is wrong with it).
  if (header.known) check_size(header.width, header.height, limits, format, name);
  if (!problem.empty()) fail(kind, name, problem);
  if (format == "JPEG") check_jpeg_frame(header, name);

  try {
    decode_with_stb(d, int(n), format, header, limits, img, name);
  } catch (const detail::StbCheckFailed& e) {
    fail(ImageErrorKind::corrupt, name, "corrupt " + format + " (" + e.what() + ")");
  }
}

Image load_image(const std::string& path, const DecodeLimits& limits) {
  const std::vector<std::uint8_t> bytes = read_file(path, limits.max_file_bytes);
  return decode_image(bytes.data(), bytes.size(), limits, path);
}

// ---------------------------------------------------------------------------
// Encoding

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

void check_encodable(const Image& img) {
  if (img.width <= 0 || img.height <= 0 || img.channels < 1 || img.channels > 4 ||
      img.pixels.size() != img.pixel_count() * std::size_t(img.channels))
    throw std::invalid_argument("encode: not a valid 8-bit image with 1 to 4 channels");
}

}  // namespace

std::vector<std::uint8_t> encode_png(const Image& img) {
  check_encodable(img);
  std::vector<std::uint8_t> out;
  if (!stbi_write_png_to_func(append_bytes, &out, img.width, img.height, img.channels,
                              img.pixels.data(), img.width * img.channels))
    throw std::runtime_error("PNG encoding failed");
  return out;
}

std::vector<std::uint8_t> encode_jpeg(const Image& img, int quality) {
  check_encodable(img);
  std::vector<std::uint8_t> out;
  if (!stbi_write_jpg_to_func(append_bytes, &out, img.width, img.height, img.channels,
                              img.pixels.data(), std::clamp(quality, 1, 100)))
    throw std::runtime_error("JPEG encoding failed");
  return out;
}

std::vector<std::uint8_t> encode_bmp(const Image& img) {
  check_encodable(img);
  std::vector<std::uint8_t> out;
  if (!stbi_write_bmp_to_func(append_bytes, &out, img.width, img.height, img.channels,
                              img.pixels.data()))
    throw std::runtime_error("BMP encoding failed");
  return out;
}

void save_png(const std::string& path, const Image& img) { write_file(path, encode_png(img)); }
void save_jpeg(const std::string& path, const Image& img, int quality) {
  write_file(path, encode_jpeg(img, quality));
}
void save_bmp(const std::string& path, const Image& img) { write_file(path, encode_bmp(img)); }

// ---------------------------------------------------------------------------
// Resizing

namespace {

// For one axis: which input pixels feed each output pixel, and how much.
struct Taps {
  int max_taps = 0;
  std::vector<int> first;       // [out] first input index
  std::vector<int> count;       // [out] number of taps
  std::vector<float> weights;   // [out * max_taps], normalised to sum 1
};

Taps make_taps(int in_size, int out_size) {
  const double scale = double(in_size) / double(out_size);
  // Triangle of radius 1 output pixel = `radius` input pixels when shrinking.
  const double radius = std::max(scale, 1.0);
  Taps t;
  t.max_taps = int(std::ceil(radius)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(std::size_t(out_size) * t.max_taps, 0.0f);
  for (int i = 0; i < out_size; ++i) {
    const double centre = (i + 0.5) * scale;  // in input pixel coordinates
    const int lo = std::max(0, int(std::floor(centre - radius)));
    const int hi = std::min(in_size, int(std::ceil(centre + radius)));
    double sum = 0.0;
    std::vector<double> ws;
    ws.reserve(std::size_t(hi - lo));
    for (int x = lo; x < hi; ++x) {
      const double dist = std::abs((x + 0.5 - centre) / radius);
      const double weight = std::max(0.0, 1.0 - dist);
      ws.push_back(weight);
      sum += weight;
    }
    // Trim zero-weight taps at both ends (the range above is conservative).
    int a = 0, b = int(ws.size());
    while (a < b && ws[a] == 0.0) ++a;
    while (b > a && ws[b - 1] == 0.0) --b;
    t.first[i] = lo + a;
    t.count[i] = b - a;
    for (int k = a; k < b; ++k) t.weights[std::size_t(i) * t.max_taps + (k - a)] = float(ws[k] / sum);
  }
  return t;
}

}  // namespace

Image resize(const Image& src, int out_w, int out_h) {
  if (out_w <= 0 || out_h <= 0) throw std::invalid_argument("resize: output size must be positive");
  if (src.width <= 0 || src.height <= 0 || src.channels <= 0)
    throw std::invalid_argument("resize: empty input image");
  const int c = src.channels;
  const Taps tx = make_taps(src.width, out_w);
  const Taps ty = make_taps(src.height, out_h);

  // Pass 1: every input row -> out_w columns, kept in float (no rounding
  // between the passes).
  // Rows (pass 1) and output rows (pass 2) are independent: threads give
  // the same bytes as one.
  const bool threaded = std::size_t(src.width) * src.height >= 65536;
  std::vector<float> rows(std::size_t(src.height) * out_w * c);
#pragma omp parallel for schedule(static) if (threaded)
  for (int y = 0; y < src.height; ++y) {
    const std::uint8_t* in = src.at(0, y);
    float* out = rows.data() + std::size_t(y) * out_w * c;
    for (int x = 0; x < out_w; ++x) {
      const float* w = tx.weights.data() + std::size_t(x) * tx.max_taps;
      const std::uint8_t* p = in + std::size_t(tx.first[x]) * c;
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0.0f;
        for (int k = 0; k < tx.count[x]; ++k) acc += w[k] * p[std::size_t(k) * c + ch];
        out[std::size_t(x) * c + ch] = acc;
      }
    }
  }

  // Pass 2: columns, then round to the nearest byte.
  Image dst(out_w, out_h, c);
  dst.source_channels = src.source_channels;
  dst.source_bits = src.source_bits;
  const std::size_t row_len = std::size_t(out_w) * c;
#pragma omp parallel if (threaded)
  {
  std::vector<float> acc(row_len);
#pragma omp for schedule(static)
  for (int y = 0; y < out_h; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = ty.weights.data() + std::size_t(y) * ty.max_taps;
    for (int k = 0; k < ty.count[y]; ++k) {
      const float* r = rows.data() + std::size_t(ty.first[y] + k) * row_len;
      for (std::size_t i = 0; i < row_len; ++i) acc[i] += w[k] * r[i];
    }
    std::uint8_t* out = dst.at(0, y);
    for (std::size_t i = 0; i < row_len; ++i)
      out[i] = std::uint8_t(std::clamp(acc[i] + 0.5f, 0.0f, 255.0f));
  }
  }
  return dst;
}

Image crop(const Image& src, int x, int y, int w, int h) {
  if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > src.width || y + h > src.height)
    throw std::invalid_argument("crop: rectangle outside the image");
  Image dst(w, h, src.channels);
  dst.source_channels = src.source_channels;
  dst.source_bits = src.source_bits;
  for (int r = 0; r < h; ++r)
    std::memcpy(dst.at(0, r), src.at(x, y + r), std::size_t(w) * src.channels);
  return dst;
}

Image resize_short_side_center_crop(const Image& src, int size) {
  if (size <= 0) throw std::invalid_argument("resize_short_side_center_crop: size must be positive");
  int w = size, h = size;
  if (src.width <= src.height)
    h = std::max(size, int(std::lround(double(src.height) * size / src.width)));
  else
    w = std::max(size, int(std::lround(double(src.width) * size / src.height)));
  const Image scaled = (w == src.width && h == src.height) ? src : resize(src, w, h);
  return crop(scaled, (w - size) / 2, (h - size) / 2, size, size);
}

std::vector<FileUnder> list_files(const std::string& root,
                                  const std::function<bool(const std::filesystem::path&)>& keep,
                                  std::size_t* ignored) {
  namespace fs = std::filesystem;
  std::vector<FileUnder> out;
  std::size_t skipped = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const bool hidden = p.filename().string().rfind('.', 0) == 0;
    std::error_code e2;
    if (it->is_directory(e2)) {
      if (hidden) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(e2)) continue;  // sockets, broken links, ...
    if (hidden || !keep(p)) {
      ++skipped;
      continue;
    }
    out.push_back({p.lexically_relative(root).generic_string(), p.string()});
  }
  if (ec) throw std::runtime_error("cannot list folder '" + root + "': " + ec.message());
  std::sort(out.begin(), out.end(), [](const FileUnder& a, const FileUnder& b) { return a.rel < b.rel; });
  if (ignored) *ignored = skipped;
  return out;
}

bool has_decodable_extension(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp";
}

}  // namespace tinct::data
