// safetensors.cpp — see safetensors.h for the format.
//
// Loading trusts nothing in the file: every size is checked against the file
// size before anything is allocated or read, and every product or sum of
// sizes is checked for overflow. Data is read with pread() straight into the
// output (F32) or through a small conversion buffer (F16/BF16), so a file of
// several GB needs no second copy in memory.
#include "engine/safetensors.h"

#include "engine/atomic_file.h"
#include "engine/crc32.h"
#include "engine/json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

// The format is little-endian and so is every machine we target (x86-64,
// aarch64); raw float and uint16 bytes are copied without swapping.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace tinct {

// --- 16-bit float conversions ----------------------------------------------------

static uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return bits_float(sign | 0x7F800000 | (mant << 13));  // inf, NaN
  if (exp != 0) return bits_float(sign | ((exp + 127 - 15) << 23) | (mant << 13));
  if (mant == 0) return bits_float(sign);  // +-0
  // Subnormal: mant * 2^-24. Shift the leading 1 up to the implicit-bit
  // position; every float32 exponent it needs is a normal one.
  int e = -14;
  while (!(mant & 0x400)) {
    mant <<= 1;
    --e;
  }
  return bits_float(sign | uint32_t(e + 127) << 23 | ((mant & 0x3FF) << 13));
}

uint16_t float_to_half(float f) {
  uint32_t x = float_bits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7FFFFFFF;
  if (ax > 0x7F800000)  // NaN: keep the top payload bits, force the quiet bit so it stays a NaN
    return uint16_t(sign | 0x7C00 | 0x200 | ((ax >> 13) & 0x3FF));
  if (ax >= 0x477FF000)  // >= 65520, halfway above the largest half (65504): rounds to inf
    return uint16_t(sign | 0x7C00);
  if (ax >= 0x38800000) {  // a normal half (>= 2^-14)
    // Rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits
    // to nearest even: add just under half, plus one if the kept LSB is odd.
    // A carry out of the mantissa correctly bumps the exponent.
    uint32_t odd = (ax >> 13) & 1;
    return uint16_t(sign | ((ax - (uint32_t(127 - 15) << 23) + 0xFFF + odd) >> 13));
  }
  // Subnormal half: the result counts units of 2^-24.
  int e = int(ax >> 23);  // biased float exponent
  if (e < 102) return sign;  // below 2^-25: rounds to zero
  uint32_t m = (ax & 0x7FFFFF) | 0x800000;  // value = m * 2^(e - 150)
  int shift = 126 - e;                      // 14..24
  uint32_t q = m >> shift;
  uint32_t rem = m & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1))) ++q;  // may round up to the smallest normal: still right
  return uint16_t(sign | q);
}

float bf16_to_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }

uint16_t float_to_bf16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000) return uint16_t((x >> 16) | 0x40);  // NaN stays NaN (quiet bit)
  // Round to nearest even on the dropped 16 bits; overflow carries into inf.
  return uint16_t((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

// --- helpers -------------------------------------------------------------------------

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kChunkElems = size_t(1) << 16;  // conversion buffer for F16/BF16

const char* dtype_name(DType t) { return t == DType::F32 ? "F32" : t == DType::F16 ? "F16" : "BF16"; }
uint64_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

// The failing call's errno as text. Callers take errno right after the call,
// before building a message whose allocations could overwrite it.
std::string sys_error(int err) { return std::strerror(err); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Element count of a shape; false on a negative dimension or overflow.
bool element_count(const std::vector<int64_t>& shape, uint64_t* count) {
  uint64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n)) return false;
  *count = n;
  return true;
}

// Closes a file descriptor on every path out of a function.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly n bytes at `offset`, retrying short reads and EINTR.
void pread_exact(const std::string& path, int fd, void* dst, uint64_t n, uint64_t offset) {
  char* p = static_cast<char*>(dst);
  while (n > 0) {
    size_t want = size_t(std::min<uint64_t>(n, uint64_t(1) << 30));
    ssize_t got = ::pread(fd, p, want, off_t(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int err = errno;
      fail(path, "read failed: " + sys_error(err));
    }
    if (got == 0) fail(path, "file ended early while reading (was it truncated by another process?)");
    p += got;
    n -= uint64_t(got);
    offset += uint64_t(got);
  }
}

// The data area as stored, in order, a chunk at a time: float32 as it is,
// 16-bit types converted through a small buffer.
template <class Sink>
void for_each_stored_chunk(const std::vector<const NamedArray*>& order, DType store_as, Sink&& sink) {
  std::vector<uint16_t> buf;
  for (const NamedArray* t : order) {
    const DType dt = stored_dtype(*t, store_as);
    if (dt == DType::F32) {
      sink(t->data.data(), t->data.size() * sizeof(float));
      continue;
    }
    for (size_t i = 0; i < t->data.size(); i += kChunkElems) {
      size_t m = std::min(kChunkElems, t->data.size() - i);
      buf.resize(m);
      for (size_t k = 0; k < m; ++k)
        buf[k] = dt == DType::F16 ? float_to_half(t->data[i + k]) : float_to_bf16(t->data[i + k]);
      sink(buf.data(), m * 2);
    }
  }
}

// One tensor as described by the header, validated against the file.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t count, begin, end;
};

Entry parse_entry(const std::string& path, const std::string& name, const json::Value& v, uint64_t data_size) {
  Entry e;
  e.name = name;
  const std::string where = "tensor \"" + name + "\"";
  if (!v.is_object()) fail(path, where + " is a JSON " + json::type_name(v.type()) + ", not an object");

  const json::Value* dtype = v.find("dtype");
  if (!dtype) fail(path, where + " has no \"dtype\"");
  if (!dtype->is_string()) fail(path, where + ": \"dtype\" is not a string");
  const std::string& dt = dtype->as_string();
  if (dt == "F32") e.dtype = DType::F32;
  else if (dt == "F16") e.dtype = DType::F16;
  else if (dt == "BF16") e.dtype = DType::BF16;
  else fail(path, where + ": dtype " + dt + " is not supported (F32, F16, BF16 are)");

  const json::Value* shape = v.find("shape");
  if (!shape) fail(path, where + " has no \"shape\"");
  if (!shape->is_array()) fail(path, where + ": \"shape\" is not an array");
  for (const json::Value& d : shape->as_array()) {
    if (!d.is_int()) fail(path, where + ": shape has a non-integer dimension " + json::dump(d));
    if (d.as_int() < 0) fail(path, where + ": shape has a negative dimension " + std::to_string(d.as_int()));
    e.shape.push_back(d.as_int());
  }
  uint64_t bytes = 0;
  if (!element_count(e.shape, &e.count) || __builtin_mul_overflow(e.count, dtype_size(e.dtype), &bytes))
    fail(path, where + ": shape " + shape_text(e.shape) + " is too large");

  const json::Value* offs = v.find("data_offsets");
  if (!offs) fail(path, where + " has no \"data_offsets\"");
  if (!offs->is_array() || offs->as_array().size() != 2 || !offs->as_array()[0].is_int() ||
      !offs->as_array()[1].is_int() || offs->as_array()[0].as_int() < 0 || offs->as_array()[1].as_int() < 0)
    fail(path, where + ": \"data_offsets\" must be two non-negative integers, got " + json::dump(*offs));
  e.begin = uint64_t(offs->as_array()[0].as_int());
  e.end = uint64_t(offs->as_array()[1].as_int());
  const std::string range = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
  if (e.begin > e.end) fail(path, where + ": data_offsets " + range + " are out of order");
  if (e.end > data_size)
    fail(path, where + ": data_offsets " + range + " run past the end of the data area (" +
                   std::to_string(data_size) + " bytes)");
  if (e.end - e.begin != bytes)
    fail(path, where + ": shape/size mismatch: shape " + shape_text(e.shape) + " of " + dtype_name(e.dtype) +
                   " needs " + std::to_string(bytes) + " bytes but data_offsets " + range + " hold " +
                   std::to_string(e.end - e.begin));
  return e;
}

}  // namespace

// --- public API ----------------------------------------------------------------------

DType stored_dtype(const NamedArray& t, DType store_as) {
  if (store_as != DType::F16) return store_as;
  for (float v : t.data)
    if (std::isfinite(v) && std::fabs(v) > 65504.0f) return DType::F32;
  return DType::F16;
}

const NamedArray* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const NamedArray& t, const std::string& n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

void save_safetensors(const std::string& path, const std::vector<NamedArray>& tensors,
                      const std::map<std::string, std::string>& metadata, DType store_as) {
  // Validate everything before touching the disk.
  std::vector<const NamedArray*> order;
  for (const NamedArray& t : tensors) {
    if (t.name.empty()) fail(path, "a tensor has an empty name");
    if (t.name == "__metadata__") fail(path, "\"__metadata__\" is reserved and cannot name a tensor");
    uint64_t count = 0;
    if (!element_count(t.shape, &count))
      fail(path, "tensor \"" + t.name + "\": shape " + shape_text(t.shape) + " is negative or too large");
    if (count != t.data.size())
      fail(path, "tensor \"" + t.name + "\": shape " + shape_text(t.shape) + " has " + std::to_string(count) +
                     " elements but data has " + std::to_string(t.data.size()));
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const NamedArray* a, const NamedArray* b) { return a->name < b->name; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i]->name == order[i - 1]->name) fail(path, "duplicate tensor name \"" + order[i]->name + "\"");

  // The header, in the Python package's layout: metadata first, then the
  // tensors in data order, each as {"dtype", "shape", "data_offsets"}.
  json::Value::Object header;
  if (!metadata.empty()) {
    json::Value::Object meta;
    for (const auto& kv : metadata) meta.emplace_back(kv.first, json::Value(kv.second));
    header.emplace_back("__metadata__", json::Value(std::move(meta)));
  }
  uint64_t offset = 0;
  for (const NamedArray* t : order) {
    json::Value::Array shape;
    for (int64_t d : t->shape) shape.emplace_back(d);
    const DType dt = stored_dtype(*t, store_as);
    uint64_t end = offset + t->data.size() * dtype_size(dt);  // sums of in-memory sizes: cannot overflow
    json::Value::Object entry;
    entry.emplace_back("dtype", json::Value(dtype_name(dt)));
    entry.emplace_back("shape", json::Value(std::move(shape)));
    entry.emplace_back("data_offsets", json::Value(json::Value::Array{json::Value(int64_t(offset)), json::Value(int64_t(end))}));
    header.emplace_back(t->name, json::Value(std::move(entry)));
    offset = end;
  }
  std::string text = json::dump(json::Value(std::move(header)));
  text.append((8 - text.size() % 8) % 8, ' ');  // data area starts 8-byte aligned

  AtomicFile out(path);
  uint64_t n = text.size();
  out.write(&n, 8);
  out.write(text.data(), text.size());
  for_each_stored_chunk(order, store_as, [&out](const void* p, size_t bytes) { out.write(p, bytes); });
  out.commit();
}

uint32_t data_area_crc32(const std::vector<NamedArray>& tensors, DType store_as) {
  std::vector<const NamedArray*> order;
  for (const NamedArray& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const NamedArray* a, const NamedArray* b) { return a->name < b->name; });
  uint32_t crc = 0;
  for_each_stored_chunk(order, store_as, [&crc](const void* p, size_t bytes) { crc = crc32(p, bytes, crc); });
  return crc;
}

SafetensorsFile load_safetensors(const std::string& path) {
  Fd file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) {
    const int err = errno;
    fail(path, "cannot open file: " + sys_error(err));
  }
  struct stat st;
  if (::fstat(file.fd, &st) != 0) {
    const int err = errno;
    fail(path, "cannot stat file: " + sys_error(err));
  }
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  const uint64_t file_size = uint64_t(st.st_size);

  if (file_size < 8)
    fail(path, "file is truncated: " + std::to_string(file_size) + " bytes, too short for the 8-byte header length");
  uint64_t header_len = 0;
  pread_exact(path, file.fd, &header_len, 8, 0);
  if (header_len > file_size - 8)
    fail(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(file_size) + " bytes); the file is truncated or not safetensors");
  if (header_len > kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(header_len) + " is absurdly large (limit " +
                   std::to_string(kMaxHeaderBytes) + " bytes)");
  std::string text(size_t(header_len), '\0');
  pread_exact(path, file.fd, text.data(), header_len, 8);

  json::Value header;
  try {
    header = json::parse(text);
  } catch (const json::ParseError& e) {
    fail(path, "header is not valid JSON: " + e.reason() + " (at byte " + std::to_string(e.offset()) + " of the header)");
  }
  if (!header.is_object()) fail(path, std::string("header is a JSON ") + json::type_name(header.type()) + ", not an object");

  // Names are unique here: the JSON reader rejects duplicate keys.
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;
  SafetensorsFile result;
  std::vector<Entry> entries;
  for (const auto& kv : header.as_object()) {
    if (kv.first != "__metadata__") {
      entries.push_back(parse_entry(path, kv.first, kv.second, data_size));
      continue;
    }
    if (!kv.second.is_object()) fail(path, "\"__metadata__\" is not an object");
    for (const auto& m : kv.second.as_object()) {
      if (!m.second.is_string())
        fail(path, "\"__metadata__\" value for \"" + m.first + "\" is a JSON " + json::type_name(m.second.type()) +
                       ", not a string");
      result.metadata[m.first] = m.second.as_string();
    }
  }

  // Sorted by position, the non-empty byte ranges must tile the data area
  // exactly, as the Python package requires (a 0-byte tensor occupies nothing
  // and may sit anywhere). A gap or unused bytes at the end mean the header
  // and the data disagree: a header length changed by a few bytes still
  // parses (the padding is spaces) but shifts every tensor.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  const Entry* prev = nullptr;
  uint64_t covered = 0;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (prev && e.begin < prev->end)
      fail(path, "tensors \"" + prev->name + "\" and \"" + e.name + "\" overlap in the data area");
    if (e.begin != covered)
      fail(path, "the data area has " + std::to_string(e.begin - covered) + " unused bytes before tensor \"" +
                     e.name + "\" (at byte " + std::to_string(covered) +
                     "): the header and the data disagree; the file is damaged");
    covered = e.end;
    prev = &e;
  }
  if (covered != data_size)
    fail(path, "the tensors use " + std::to_string(covered) + " bytes of a data area of " + std::to_string(data_size) +
                   ": the header length or the offsets are wrong; the file is damaged");

  // Read in file order (sequential I/O), then sort by name for find().
  std::vector<uint16_t> buf;
  for (Entry& e : entries) {
    NamedArray t;
    t.name = e.name;
    t.shape = std::move(e.shape);
    t.data.resize(size_t(e.count));  // count * dtype size <= data_size, checked above
    if (e.dtype == DType::F32) {
      pread_exact(path, file.fd, t.data.data(), e.end - e.begin, data_start + e.begin);
      result.data_crc32 = crc32(t.data.data(), e.end - e.begin, result.data_crc32);
    } else {
      for (uint64_t i = 0; i < e.count; i += kChunkElems) {
        size_t m = size_t(std::min<uint64_t>(kChunkElems, e.count - i));
        buf.resize(m);
        pread_exact(path, file.fd, buf.data(), m * 2, data_start + e.begin + i * 2);
        result.data_crc32 = crc32(buf.data(), m * 2, result.data_crc32);
        for (size_t k = 0; k < m; ++k)
          t.data[i + k] = e.dtype == DType::F16 ? half_to_float(buf[k]) : bf16_to_float(buf[k]);
      }
    }
    result.tensors.push_back(std::move(t));
  }
  std::sort(result.tensors.begin(), result.tensors.end(),
            [](const NamedArray& a, const NamedArray& b) { return a.name < b.name; });
  return result;
}

}  // namespace tinct
