// Tests for engine/json and engine/safetensors: the 16-bit float conversions,
// round trips, byte-for-byte compatibility with the Python safetensors package,
// tolerant reading of hand-written headers, a clear error for every kind of
// broken file, atomic writes, and the JSON reader/writer.
#include "doctest/doctest.h"

#include "engine/json.h"
#include "engine/safetensors.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace tinct;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("tinct_test_st_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
  size_t entries() const { return size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator())); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return s;
}

// A safetensors file from a header text (used as given, no padding) and data.
std::string make_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

std::string float_bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Loading `bytes` must fail with a message that starts with the path and
// contains `expected`.
void check_load_error(const TempDir& tmp, const std::string& bytes, const std::string& expected) {
  std::string path = tmp / "bad.safetensors";
  write_bytes(path, bytes);
  std::string msg;
  try {
    load_safetensors(path);
  } catch (const std::runtime_error& e) {
    msg = e.what();
  }
  INFO("message: ", msg);
  CHECK(msg.rfind(path + ": ", 0) == 0);
  CHECK(msg.find(expected) != std::string::npos);
}

// A one-tensor header with the given entry body: {"t":{<entry>}}.
std::string one_tensor(const std::string& entry) { return "{\"t\":{" + entry + "}}"; }

}  // namespace

// --- 16-bit floats -----------------------------------------------------------------

TEST_CASE("half: known values, rounding, overflow, subnormals, specials") {
  CHECK(float_to_half(1.0f) == 0x3C00);
  CHECK(float_to_half(-2.0f) == 0xC000);
  CHECK(float_to_half(65504.0f) == 0x7BFF);                 // largest finite
  CHECK(float_to_half(65519.99f) == 0x7BFF);                // below the halfway point
  CHECK(float_to_half(65520.0f) == 0x7C00);                 // halfway: even is inf
  CHECK(float_to_half(1e10f) == 0x7C00);
  CHECK(float_to_half(-1e10f) == 0xFC00);
  CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);    // smallest subnormal
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);    // halfway to it: even is 0
  CHECK(float_to_half(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(float_to_half(std::ldexp(1023.0f, -24)) == 0x03FF); // largest subnormal
  CHECK(float_to_half(std::ldexp(1.0f, -14)) == 0x0400);    // smallest normal
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie -> even (down)
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie -> even (up)
  CHECK(float_to_half(-0.0f) == 0x8000);
  CHECK(float_to_half(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(float_to_half(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isnan(half_to_float(float_to_half(from_bits(0x7F800001)))));  // NaN with payload only in low bits
  CHECK(std::signbit(half_to_float(float_to_half(-std::numeric_limits<float>::quiet_NaN()))));
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(0x3555) == doctest::Approx(0.33325195).epsilon(1e-7));
}

TEST_CASE("half and bf16: every 16-bit pattern survives float and back") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) {
      REQUIRE(std::isnan(half_to_float(float_to_half(f))));
    } else {
      REQUIRE(float_to_half(f) == h);
    }
    float g = bf16_to_float(uint16_t(h));
    if (std::isnan(g)) {
      REQUIRE(std::isnan(bf16_to_float(float_to_bf16(g))));
    } else {
      REQUIRE(float_to_bf16(g) == h);
    }
  }
}

TEST_CASE("half and bf16: float -> 16 bit picks the nearest value, ties to even") {
  // For random finite floats across both formats' ranges, the chosen code's
  // neighbours must not be closer (compared in double, exactly).
  std::mt19937 rng(1234);
  std::uniform_int_distribution<uint32_t> any_bits(0, 0xFFFFFFFF);
  auto check_nearest = [](float f, uint16_t h, float (*to_float)(uint16_t), uint16_t max_finite) {
    uint16_t mag = h & 0x7FFF;
    if (mag > max_finite) return true;  // overflowed to inf: checked separately
    double err = std::fabs(double(to_float(h)) - double(f));
    for (int step : {-1, 1}) {
      int nm = int(mag) + step;
      if (nm < 0 || nm > max_finite) continue;
      uint16_t n = uint16_t((h & 0x8000) | nm);
      double nerr = std::fabs(double(to_float(n)) - double(f));
      if (nerr < err || (nerr == err && (h & 1))) return false;
    }
    return true;
  };
  for (int i = 0; i < 200000; ++i) {
    float f = from_bits(any_bits(rng));
    if (!std::isfinite(f)) continue;
    float small = std::ldexp(std::fmod(f, 1.0f), -(i % 30));  // dense around the half range
    if (std::fabs(small) < 65520.0f) REQUIRE(check_nearest(small, float_to_half(small), half_to_float, 0x7BFF));
    REQUIRE(check_nearest(f, float_to_bf16(f), bf16_to_float, 0x7F7F));
  }
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds up past the largest bf16
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);       // tie -> even
  CHECK(float_to_bf16(-0.0f) == 0x8000);
  CHECK(std::isnan(bf16_to_float(float_to_bf16(from_bits(0x7F800001)))));
}

// --- round trips -----------------------------------------------------------------------

static std::vector<NamedArray> sample_tensors() {
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"weight", {2, 3}, {1.0f, -2.5f, 0.1f, 3.14159f, -1e-3f, 100.0f}},
      {"bias", {3}, {0.0f, -0.0f, 1.0f}},
      {"special", {6}, {inf, -inf, std::nanf(""), std::ldexp(1.0f, -24), std::ldexp(3.0f, -20), 65504.0f}},
      {"scalar", {}, {42.0f}},
      {"empty", {0, 4}, {}},
  };
}

TEST_CASE("round trip F32 is bit-exact, with metadata, sorted, and find() works") {
  TempDir tmp;
  std::string path = tmp / "m.safetensors";
  auto in = sample_tensors();
  in[1].data.push_back(0);  // make a value pattern longer than the others
  in[1].shape = {4};
  in[0].data[2] = std::numeric_limits<float>::denorm_min();
  std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "quotes \" and \\ and\nnewline, é"}};
  save_safetensors(path, in, meta);
  SafetensorsFile f = load_safetensors(path);
  CHECK(f.metadata == meta);
  REQUIRE(f.tensors.size() == in.size());
  for (size_t i = 1; i < f.tensors.size(); ++i) CHECK(f.tensors[i - 1].name < f.tensors[i].name);
  for (const NamedArray& t : in) {
    const NamedArray* got = f.find(t.name);
    REQUIRE(got != nullptr);
    CHECK(got->shape == t.shape);
    REQUIRE(got->data.size() == t.data.size());
    for (size_t k = 0; k < t.data.size(); ++k) CHECK(bits(got->data[k]) == bits(t.data[k]));
  }
  CHECK(f.find("missing") == nullptr);
  // The data area starts 8-byte aligned and holds 4 bytes per element.
  std::string bytes = read_bytes(path);
  uint64_t hlen;
  std::memcpy(&hlen, bytes.data(), 8);
  CHECK(hlen % 8 == 0);
  CHECK(bytes.size() - 8 - hlen == 4 * (6 + 4 + 6 + 1 + 0));
}

TEST_CASE("F16: a tensor with values beyond binary16's range is stored as F32, the rest as F16") {
  // Batch norm's running variances of a long run reach 1.8e5: as F16 they
  // would become inf, and the file would not load (checkpoint.h refuses it).
  TempDir tmp;
  const std::string path = tmp / "wide.safetensors";
  const std::vector<NamedArray> in = {{"model.bn.running_var", {3}, {1.0f, 65504.0f, 161454.42f}},
                                      {"model.conv.weight", {2}, {0.1f, -65504.0f}},
                                      {"model.inf", {2}, {INFINITY, 2.0f}}};
  CHECK(stored_dtype(in[0], DType::F16) == DType::F32);
  CHECK(stored_dtype(in[1], DType::F16) == DType::F16);  // 65504 is binary16's largest finite value
  CHECK(stored_dtype(in[2], DType::F16) == DType::F16);  // an inf stays inf (it is not a value F16 loses)
  CHECK(stored_dtype(in[0], DType::BF16) == DType::BF16);
  save_safetensors(path, in, {}, DType::F16);
  const std::string bytes = read_bytes(path);
  uint64_t hlen;
  std::memcpy(&hlen, bytes.data(), 8);
  CHECK(bytes.size() - 8 - hlen == 4 * 3 + 2 * 2 + 2 * 2);
  const SafetensorsFile f = load_safetensors(path);
  CHECK(f.find("model.bn.running_var")->data == in[0].data);  // F32: exact
  CHECK(f.find("model.conv.weight")->data[0] == half_to_float(float_to_half(0.1f)));
  CHECK(f.find("model.conv.weight")->data[0] != 0.1f);  // F16: rounded
}

TEST_CASE("round trip F16 and BF16: exact where representable, within precision otherwise") {
  TempDir tmp;
  for (DType dt : {DType::F16, DType::BF16}) {
    std::string path = tmp / "h.safetensors";
    auto in = sample_tensors();
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 10.0f);
    NamedArray noise{"noise", {1000}, {}};
    for (int i = 0; i < 1000; ++i) noise.data.push_back(normal(rng));
    in.push_back(noise);
    save_safetensors(path, in, {}, dt);
    SafetensorsFile f = load_safetensors(path);
    CHECK(f.metadata.empty());
    // Data area: 2 bytes per element.
    std::string bytes = read_bytes(path);
    uint64_t hlen;
    std::memcpy(&hlen, bytes.data(), 8);
    CHECK(hlen % 8 == 0);
    CHECK(bytes.size() - 8 - hlen == 2 * (6 + 3 + 6 + 1 + 0 + 1000));
    CHECK(bytes.find(dt == DType::F16 ? "\"F16\"" : "\"BF16\"") != std::string::npos);

    const float rel = dt == DType::F16 ? std::ldexp(1.0f, -11) : std::ldexp(1.0f, -8);  // half an ulp
    auto to16 = dt == DType::F16 ? float_to_half : float_to_bf16;
    auto from16 = dt == DType::F16 ? half_to_float : bf16_to_float;
    for (const NamedArray& t : in) {
      const NamedArray* got = f.find(t.name);
      REQUIRE(got != nullptr);
      CHECK(got->shape == t.shape);
      REQUIRE(got->data.size() == t.data.size());
      for (size_t k = 0; k < t.data.size(); ++k) {
        float want = t.data[k], have = got->data[k];
        if (std::isnan(want)) {
          CHECK(std::isnan(have));
          continue;
        }
        CHECK(bits(have) == bits(from16(to16(want))));  // exactly the converted value
        if (std::isinf(want) || want == 0.0f) {
          CHECK(bits(have) == bits(want));  // inf and signed zero survive
        } else if (std::fabs(want) >= 1e-4f) {
          CHECK(std::fabs(have - want) <= rel * std::fabs(want));
        }
      }
    }
    // Values representable in the format come back exactly.
    const NamedArray* b = f.find("bias");
    CHECK(b->data[0] == 0.0f);
    CHECK(std::signbit(b->data[1]));
    CHECK(f.find("weight")->data[1] == -2.5f);
    CHECK(f.find("scalar")->data[0] == 42.0f);
    if (dt == DType::F16) {
      const NamedArray* s = f.find("special");
      CHECK(s->data[3] == std::ldexp(1.0f, -24));  // half subnormals
      CHECK(s->data[4] == std::ldexp(3.0f, -20));
      CHECK(s->data[5] == 65504.0f);
    }
  }
}

// --- compatibility with the Python package ---------------------------------------------

// Bytes written by the Python safetensors package (0.8.0):
//   safetensors.numpy.save({"a": np.array([1.0, -2.5], dtype=np.float32)})
static const std::string kPythonF32 =
    le64(56) + R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  )" + float_bytes({1.0f, -2.5f});

TEST_CASE("a file written by the Python package loads, and we write the same bytes") {
  TempDir tmp;
  std::string path = tmp / "py.safetensors";
  write_bytes(path, kPythonF32);
  SafetensorsFile f = load_safetensors(path);
  REQUIRE(f.tensors.size() == 1);
  CHECK(f.tensors[0].name == "a");
  CHECK(f.tensors[0].shape == std::vector<int64_t>{2});
  CHECK(f.tensors[0].data == std::vector<float>{1.0f, -2.5f});
  CHECK(f.metadata.empty());

  std::string ours = tmp / "ours.safetensors";
  save_safetensors(ours, f.tensors);
  CHECK(read_bytes(ours) == kPythonF32);

  // save({"b": zeros((2,3)), "a": ones((1,)), "s": array(3.0), "e": zeros((0,4))}, all float16):
  // tensors sorted by name, scalar shape [], an empty tensor with a 0-byte range.
  std::string py16 = le64(224) +
                     R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},)"
                     R"("b":{"dtype":"F16","shape":[2,3],"data_offsets":[2,14]},)"
                     R"("e":{"dtype":"F16","shape":[0,4],"data_offsets":[14,14]},)"
                     R"("s":{"dtype":"F16","shape":[],"data_offsets":[14,16]}}   )" +
                     std::string("\x00\x3c", 2) + std::string(12, '\0') + std::string("\x00\x42", 2);
  std::vector<NamedArray> in = {
      {"b", {2, 3}, std::vector<float>(6, 0.0f)}, {"a", {1}, {1.0f}}, {"s", {}, {3.0f}}, {"e", {0, 4}, {}}};
  save_safetensors(ours, in, {}, DType::F16);
  CHECK(read_bytes(ours) == py16);
  write_bytes(path, py16);
  SafetensorsFile g = load_safetensors(path);
  REQUIRE(g.tensors.size() == 4);
  CHECK(g.find("s")->data == std::vector<float>{3.0f});
  CHECK(g.find("s")->shape.empty());
  CHECK(g.find("e")->data.empty());
  CHECK(g.find("e")->shape == std::vector<int64_t>{0, 4});
}

TEST_CASE("a hand-written header: other field order, whitespace, __metadata__ last, BF16 and F16 mixed") {
  TempDir tmp;
  std::string header =
      "{\n  \"w\" : { \"data_offsets\" : [ 0 , 4 ] ,\t\"shape\":[ 2 ], \"dtype\":\"BF16\" },\r\n"
      "  \"v\": {\"shape\": [1, 1], \"dtype\": \"F16\", \"data_offsets\": [4, 6], \"extra\": {\"ignored\": [true, null]}},\n"
      "  \"__metadata__\": {\"format\": \"pt\", \"epoch\": \"3\"}\n}\n";
  std::string data;
  for (uint16_t h : {float_to_bf16(1.5f), float_to_bf16(-4.0f), float_to_half(0.25f)}) data.append(reinterpret_cast<const char*>(&h), 2);
  std::string path = tmp / "loose.safetensors";
  write_bytes(path, make_file(header, data));
  SafetensorsFile f = load_safetensors(path);
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[0].name == "v");
  CHECK(f.find("w")->data == std::vector<float>{1.5f, -4.0f});
  CHECK(f.find("v")->data == std::vector<float>{0.25f});
  CHECK(f.find("v")->shape == std::vector<int64_t>{1, 1});
  CHECK(f.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"epoch", "3"}});
}

// --- broken files ----------------------------------------------------------------------

TEST_CASE("broken files are refused with a message that says what is wrong") {
  TempDir tmp;
  const std::string good_entry = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";
  const std::string data8 = float_bytes({1.0f, 2.0f});

  SUBCASE("missing file") {
    std::string path = tmp / "nope.safetensors";
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains((path + ": cannot open file").c_str()),
                         std::runtime_error);
  }
  SUBCASE("a directory") {
    CHECK_THROWS_WITH_AS(load_safetensors(tmp.dir.string()), doctest::Contains("not a regular file"), std::runtime_error);
  }
  SUBCASE("truncated") {
    check_load_error(tmp, "", "truncated");
    check_load_error(tmp, std::string("\x10\0\0", 3), "truncated");
  }
  SUBCASE("header length past the end") {
    check_load_error(tmp, le64(100) + "{}", "header length 100 runs past the end of the file");
    check_load_error(tmp, std::string(8, '\xff'), "past the end of the file");
    // A valid file cut short inside the header.
    check_load_error(tmp, kPythonF32.substr(0, 40), "past the end of the file");
  }
  SUBCASE("header length absurdly large") {
    // A sparse file bigger than the limit, so only the limit can refuse it.
    std::string path = tmp / "huge.safetensors";
    write_bytes(path, le64(100'000'001));
    fs::resize_file(path, 100'000'016);
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("absurdly large"), std::runtime_error);
  }
  SUBCASE("header not JSON, or not an object") {
    check_load_error(tmp, make_file("{\"t\": nope}", ""), "header is not valid JSON");
    check_load_error(tmp, make_file("{\"t\": {}", ""), "(at byte 8 of the header)");
    check_load_error(tmp, make_file("\xff\xfe", ""), "not valid JSON");
    check_load_error(tmp, make_file("", ""), "not valid JSON");
    check_load_error(tmp, make_file("[1, 2]", ""), "header is a JSON array, not an object");
    check_load_error(tmp, make_file("{\"t\": 3}", ""), "tensor \"t\" is a JSON integer, not an object");
  }
  SUBCASE("missing fields") {
    check_load_error(tmp, make_file(one_tensor(R"("shape":[2],"data_offsets":[0,8])"), data8), "tensor \"t\" has no \"dtype\"");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","data_offsets":[0,8])"), data8), "has no \"shape\"");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[2])"), data8), "has no \"data_offsets\"");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":32,"shape":[2],"data_offsets":[0,8])"), data8), "\"dtype\" is not a string");
  }
  SUBCASE("unsupported dtype") {
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"I64","shape":[1],"data_offsets":[0,8])"), data8),
                     "dtype I64 is not supported (F32, F16, BF16 are)");
  }
  SUBCASE("bad shapes") {
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"), data8), "negative dimension -2");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])"), data8), "non-integer dimension 2.0");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":"2","data_offsets":[0,8])"), data8), "\"shape\" is not an array");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8])"), data8),
                     "is too large");
  }
  SUBCASE("bad data_offsets") {
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[0],"data_offsets":[8,0])"), data8), "out of order");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])"), data8),
                     "data_offsets [0, 16] run past the end of the data area (8 bytes)");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0])"), data8), "must be two non-negative integers");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[-8,0])"), data8), "must be two non-negative integers");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999])"), data8), "does not fit in 64 bits");
  }
  SUBCASE("shape/size mismatch") {
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"), data8),
                     "shape/size mismatch: shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8");
    check_load_error(tmp, make_file(one_tensor(R"("dtype":"F16","shape":[2],"data_offsets":[0,8])"), data8), "shape/size mismatch");
  }
  SUBCASE("overlapping tensors") {
    std::string header = "{\"a\":{" + good_entry + R"(},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
    check_load_error(tmp, make_file(header, data8), "tensors \"a\" and \"b\" overlap");
    // A 0-byte tensor inside another one's range is not an overlap.
    std::string ok = "{\"a\":{" + good_entry + R"(},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
    write_bytes(tmp / "ok.safetensors", make_file(ok, data8));
    CHECK(load_safetensors(tmp / "ok.safetensors").tensors.size() == 2);
  }
  SUBCASE("duplicate names") {
    std::string header = "{\"a\":{" + good_entry + "},\"a\":{" + good_entry + "}}";
    check_load_error(tmp, make_file(header, data8), "duplicate key \"a\"");
  }
  SUBCASE("bad __metadata__") {
    check_load_error(tmp, make_file(R"({"__metadata__":{"epoch":3}})", ""), "\"__metadata__\" value for \"epoch\" is a JSON integer");
    check_load_error(tmp, make_file(R"({"__metadata__":["x"]})", ""), "\"__metadata__\" is not an object");
  }
}

// --- writing -----------------------------------------------------------------------------

TEST_CASE("save: invalid input is refused before anything is written") {
  TempDir tmp;
  std::string path = tmp / "x.safetensors";
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", {3}, {1, 2}}}), doctest::Contains("has 3 elements but data has 2"), std::runtime_error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", {-1}, {}}}), doctest::Contains("negative or too large"), std::runtime_error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", {1}, {1}}, {"a", {1}, {2}}}), doctest::Contains("duplicate tensor name \"a\""), std::runtime_error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"__metadata__", {1}, {1}}}), doctest::Contains("reserved"), std::runtime_error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"", {1}, {1}}}), doctest::Contains("empty name"), std::runtime_error);
  CHECK(tmp.entries() == 0);
}

TEST_CASE("save is atomic") {
  TempDir tmp;
  SUBCASE("a path in a directory that does not exist: throws, leaves nothing") {
    std::string path = tmp / "no/such/dir/m.safetensors";
    CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", {1}, {1}}}), doctest::Contains((path + ": cannot create temporary file").c_str()),
                         std::runtime_error);
    CHECK(!fs::exists(tmp / "no"));
    CHECK(tmp.entries() == 0);
  }
  SUBCASE("over an existing file: replaced, no temp file left") {
    std::string path = tmp / "m.safetensors";
    write_bytes(path, "old contents");
    save_safetensors(path, {{"a", {2}, {1, 2}}}, {{"v", "2"}});
    CHECK(tmp.entries() == 1);
    SafetensorsFile f = load_safetensors(path);
    CHECK(f.find("a")->data == std::vector<float>{1, 2});
    CHECK(f.metadata.at("v") == "2");
    // Overwrite again with fewer bytes: the old tail must be gone.
    save_safetensors(path, {});
    CHECK(read_bytes(path) == le64(8) + "{}      ");
    CHECK(load_safetensors(path).tensors.empty());
    CHECK(tmp.entries() == 1);
  }
  SUBCASE("rename fails (the path is a directory): throws, the temp file is removed") {
    std::string path = tmp / "adir";
    fs::create_directory(path);
    fs::create_directory(path + "/inside");  // non-empty: rename(2) cannot replace it
    CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", {1}, {1}}}), doctest::Contains("cannot rename"), std::runtime_error);
    CHECK(tmp.entries() == 1);
    CHECK(fs::is_directory(path + "/inside"));
  }
  SUBCASE("refused input leaves an existing file untouched") {
    std::string path = tmp / "m.safetensors";
    write_bytes(path, kPythonF32);
    CHECK_THROWS(save_safetensors(path, {{"a", {5}, {1}}}));
    CHECK(read_bytes(path) == kPythonF32);
    CHECK(tmp.entries() == 1);
  }
}

// --- JSON --------------------------------------------------------------------------------

TEST_CASE("json: values, escapes and UTF-8") {
  using json::Value;
  Value v = json::parse(R"( {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "x"}, "": -0} )");
  REQUIRE(v.is_object());
  const auto& a = v.find("a")->as_array();
  REQUIRE(a.size() == 7);
  CHECK(a[0].as_int() == 1);
  CHECK(a[1].as_int() == -2);
  CHECK(a[2].as_double() == 3.5);
  CHECK(a[3].type() == json::Type::Double);
  CHECK(a[3].as_double() == 1000.0);
  CHECK(a[4].as_bool());
  CHECK(!a[5].as_bool());
  CHECK(a[6].is_null());
  CHECK(v.find("b")->find("c")->as_string() == "x");
  CHECK(v.find("")->as_int() == 0);
  CHECK(v.find("zz") == nullptr);
  CHECK_THROWS_AS(v.find("b")->as_string(), json::TypeError);

  CHECK(json::parse(R"("q\" b\\ s\/ \b\f\n\r\t")").as_string() == "q\" b\\ s/ \b\f\n\r\t");
  CHECK(json::parse(R"("\u0041\u00e9\u20AC")").as_string() == "A\xC3\xA9\xE2\x82\xAC");  // A é €
  CHECK(json::parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");               // U+1F600
  CHECK(json::parse(R"("\u0000")").as_string() == std::string(1, '\0'));
  CHECK(json::parse("\"raw \xC3\xA9 \xF0\x9F\x98\x80\"").as_string() == "raw \xC3\xA9 \xF0\x9F\x98\x80");

  CHECK(json::parse("9223372036854775807").as_int() == std::numeric_limits<int64_t>::max());
  CHECK(json::parse("-9223372036854775808").as_int() == std::numeric_limits<int64_t>::min());
}

TEST_CASE("json: strict rejection with byte offsets") {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      json::parse(text);
    } catch (const json::ParseError& e) {
      return e.what();
    }
    return "(no error)";
  };
  auto rejects = [&](const std::string& text, const std::string& expected) {
    std::string msg = error_of(text);
    INFO("input: ", text, "  message: ", msg);
    CHECK(msg.find(expected) != std::string::npos);
  };
  // The wording after the offset is nlohmann/json's (engine/json.cpp); the
  // offsets are where the reader gave up, or where a refused number or key starts.
  rejects("{} x", "at byte 3: syntax error while parsing value - invalid literal");
  rejects("[1] [2]", "at byte 4: syntax error while parsing value - unexpected '['; expected end of input");
  rejects("9223372036854775808", "at byte 0: integer 9223372036854775808 does not fit in 64 bits");
  rejects("-9223372036854775809", "does not fit in 64 bits");
  rejects("[0, -12345678901234567890123]", "at byte 4: integer -12345678901234567890123 does not fit in 64 bits");
  rejects("1e999", "number out of range for a double");
  rejects("[1e999]", "out of range");
  rejects("012", "at byte 2: syntax error while parsing value - unexpected number literal; expected end of input");
  rejects("1.", "invalid number; expected digit after '.'");
  rejects("-", "invalid number; expected digit after '-'");
  rejects("+1", "invalid literal");
  rejects("NaN", "invalid literal");
  rejects("[1,]", "unexpected ']'");
  rejects("{\"a\":1,}", "expected string literal");
  rejects("{\"a\" 1}", "expected ':'");
  rejects("{\"a\":1 \"b\":2}", "at byte 9: syntax error while parsing object - unexpected string literal; expected '}'");
  rejects("{\"k\":1,\"k\":2}", "at byte 7: duplicate key \"k\"");
  rejects(R"({"a\"b":1,"a\"b":2})", "at byte 10: duplicate key \"a\"b\"");  // the key's opening quote, past the escape
  rejects("{\"a\":{\"k\":1},\"b\":{\"k\":1,\"k\":2}}", "at byte 24: duplicate key \"k\"");  // per object, not per document
  rejects("[1, 2", "unexpected end of input");
  rejects("\"abc", "missing closing quote");
  rejects("\"a\tb\"", "control character U+0009 (HT) must be escaped");
  rejects(R"("\x")", "forbidden character after backslash");
  rejects(R"("\u12G4")", "'\\u' must be followed by 4 hex digits");
  rejects(R"("\ud83d")", "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  rejects(R"("\ud83d\u0041")", "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  rejects(R"("\ude00")", "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
  rejects("\"\xC0\xAF\"", "ill-formed UTF-8");          // overlong '/'
  rejects("\"\xED\xA0\x80\"", "ill-formed UTF-8");      // encoded surrogate
  rejects("\"\xF4\x90\x80\x80\"", "ill-formed UTF-8");  // above U+10FFFF
  rejects("\"\xE2\x82\"", "ill-formed UTF-8");          // cut short
  rejects("tru", "invalid literal");
  rejects("\xEF\xBB\xBF{}", "at byte 0: a byte order mark is not allowed");  // nlohmann would skip it; serde_json refuses it
  rejects("[1] // note", "invalid literal");                                  // no comments
  rejects("[1] /* note */", "invalid literal");
  rejects("", "at byte 0: syntax error while parsing value - unexpected end of input");

  // The library's messages quote the input: hostile bytes come out as \xNN,
  // and a long token is cut, so a 1 MB string does not become a 1 MB message.
  const std::string long_bad = "\"" + std::string(1'000'000, 'a') + "\xFF\"";
  const std::string msg = error_of(long_bad);
  CHECK(msg.find("at byte 1000001: ") != std::string::npos);
  CHECK(msg.find("ill-formed UTF-8") != std::string::npos);
  CHECK(msg.size() < 400);
  CHECK(error_of("[\"\xFE\"]").find("last read: '\"\\xfe'") != std::string::npos);
  for (char c : error_of("[\"\xFE\xFF\"]")) CHECK((c >= 0x20 && c < 0x7f));
}

TEST_CASE("json: nesting limit") {
  auto nested = [](int depth) { return std::string(size_t(depth), '[') + std::string(size_t(depth), ']'); };
  CHECK_NOTHROW(json::parse(nested(64)));
  CHECK_THROWS_WITH_AS(json::parse(nested(65)), doctest::Contains("at byte 64: nesting deeper than 64 levels"), json::ParseError);
  CHECK_THROWS_AS(json::parse(std::string(1'000'000, '[')), json::ParseError);  // no stack overflow
  CHECK_NOTHROW(json::parse(nested(3), 3));
  CHECK_THROWS_AS(json::parse("{\"a\":{\"b\":{\"c\":{}}}}", 3), json::ParseError);
}

TEST_CASE("json: dump is compact, escapes what it must, and round-trips") {
  using json::Value;
  Value v(Value::Object{
      {"s", Value("a\"b\\c\n\x01/\xC3\xA9")},
      {"n", Value(Value::Array{Value(1), Value(int64_t(-5)), Value(2.5), Value(3.0), Value(-0.0), Value(1e300)})},
      {"t", Value(true)},
      {"z", Value()},
      {"e", Value(Value::Object{})},
  });
  std::string text = json::dump(v);
  CHECK(text == "{\"s\":\"a\\\"b\\\\c\\n\\u0001/\xC3\xA9\",\"n\":[1,-5,2.5,3.0,-0.0,1e+300],\"t\":true,\"z\":null,\"e\":{}}");
  CHECK(json::parse(text) == v);
  CHECK_THROWS_AS(json::dump(Value(std::nan(""))), json::TypeError);
  CHECK_THROWS_AS(json::dump(Value(std::numeric_limits<double>::infinity())), json::TypeError);
}

// --- the header and the data must agree --------------------------------------------------

TEST_CASE("a header length off by a few bytes, or unused data, is refused (it would shift every tensor)") {
  TempDir tmp;
  // A real file: two tensors, header padded to 8 bytes with spaces.
  std::string path = tmp / "good.safetensors";
  save_safetensors(path, {{"a", {3}, {1.f, 2.f, 3.f}}, {"b", {2}, {4.f, 5.f}}}, {{"kind", "test"}});
  const std::string good = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  REQUIRE(good[8 + n - 1] == ' ');  // the padding that keeps a shrunk header valid JSON
  for (uint64_t k = 1; k <= 7; ++k) {
    std::string bad = good;
    const uint64_t m = n - k;
    std::memcpy(bad.data(), &m, 8);
    INFO("header length shrunk by ", k);
    // JSON still parses if the cut fell in the padding; the data no longer fits either way.
    write_bytes(tmp / "bad.safetensors", bad);
    std::string msg;
    try {
      load_safetensors(tmp / "bad.safetensors");
    } catch (const std::runtime_error& e) {
      msg = e.what();
    }
    CHECK_MESSAGE(!msg.empty(), "a shrunk header was accepted");
  }
  // Shrunk into the padding only (JSON intact): the coverage check is what refuses it.
  size_t pad = 0;
  while (good[8 + n - 1 - pad] == ' ') ++pad;
  if (pad > 0) {
    std::string bad = good;
    const uint64_t m = n - 1;
    std::memcpy(bad.data(), &m, 8);
    check_load_error(tmp, bad, "the header length or the offsets are wrong");
  }
  check_load_error(tmp, good + std::string(4, '\0'), "the tensors use 20 bytes of a data area of 24");
  const std::string gap = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  check_load_error(tmp, make_file(gap, float_bytes({1.f, 2.f})), "4 unused bytes before tensor \"a\"");
}
