// json.cpp — see json.h for the rules this reader enforces.
#include "engine/json.h"

#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

namespace tinct::json {

ParseError::ParseError(size_t offset, const std::string& reason)
    : std::runtime_error("JSON parse error at byte " + std::to_string(offset) + ": " + reason),
      offset_(offset),
      reason_(reason) {}

const char* type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Int: return "integer";
    case Type::Double: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

// --- Value ---------------------------------------------------------------------

static void expect_type(Type have, Type want) {
  if (have != want)
    throw TypeError(std::string("JSON value is ") + type_name(have) + ", expected " + type_name(want));
}

bool Value::as_bool() const { expect_type(type_, Type::Bool); return bool_; }
int64_t Value::as_int() const { expect_type(type_, Type::Int); return int_; }
double Value::as_double() const {
  if (type_ == Type::Int) return double(int_);
  expect_type(type_, Type::Double);
  return double_;
}
const std::string& Value::as_string() const { expect_type(type_, Type::String); return string_; }
const Value::Array& Value::as_array() const { expect_type(type_, Type::Array); return array_; }
const Value::Object& Value::as_object() const { expect_type(type_, Type::Object); return object_; }
Value::Array& Value::as_array() { expect_type(type_, Type::Array); return array_; }
Value::Object& Value::as_object() { expect_type(type_, Type::Object); return object_; }

const Value* Value::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& kv : object_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

bool Value::operator==(const Value& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return bool_ == o.bool_;
    case Type::Int: return int_ == o.int_;
    case Type::Double: return double_ == o.double_;
    case Type::String: return string_ == o.string_;
    case Type::Array: return array_ == o.array_;
    case Type::Object: return object_ == o.object_;
  }
  return false;
}

// --- reader ---------------------------------------------------------------------
//
// nlohmann/json's parser (a library kept and fuzzed by others: OSS-Fuzz runs
// it) does the lexing: the grammar, string escapes and surrogate pairs,
// UTF-8 validation, control characters, trailing input. Its SAX interface
// hands the values to a Builder that makes tinct's Value and adds what the
// library leaves open: duplicate keys, integers that do not fit in 64 bits
// (the library would read them as doubles), the nesting limit and a byte
// order mark (the library skips one; serde_json, and so the Python
// safetensors package, refuses it).

namespace {

// An iterator over the input that records how far nlohmann's lexer has
// read, so the Builder can say at which byte a value it refuses starts.
class CountingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* p, const char** furthest) : p_(p), furthest_(furthest) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    ++p_;
    if (p_ > *furthest_) *furthest_ = p_;
    return *this;
  }
  CountingIterator operator++(int) { CountingIterator t = *this; ++*this; return t; }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const CountingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_;
  const char** furthest_;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Bytes outside printable ASCII as \xNN, cut to a readable length: the
// library's messages quote the input ("last read: '...'"), which is hostile.
std::string printable_reason(const std::string& s) {
  constexpr size_t kMax = 200;
  std::string out;
  for (size_t i = 0; i < s.size() && out.size() < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(c));
      out += buf;
    }
  }
  if (out.size() >= kMax) out += "...";
  return out;
}

class Builder {
 public:
  using Json = nlohmann::json;

  Builder(const char* begin, const char* const* furthest, int max_depth)
      : begin_(begin), furthest_(furthest), max_depth_(max_depth) {}

  Value take() { return std::move(root_); }

  // --- nlohmann's SAX interface: returning true continues; refusals throw.
  bool null() { return put(Value()); }
  bool boolean(bool b) { return put(Value(b)); }
  bool number_integer(Json::number_integer_t i) { return put(Value(int64_t(i))); }
  bool number_unsigned(Json::number_unsigned_t u) {
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) {
      const std::string text = std::to_string(u);
      throw ParseError(number_end() - text.size(), "integer " + text + " does not fit in 64 bits");
    }
    return put(Value(int64_t(u)));
  }
  bool number_float(Json::number_float_t d, const Json::string_t& text) {
    // The library reads an integer literal it cannot hold as a double:
    // refused rather than rounded (an offset of 2^64 + 1 must not become 2^64).
    if (text.find_first_of(".eE") == std::string::npos && text.find(decimal_point()) == std::string::npos)
      throw ParseError(number_end() - text.size(), "integer " + text + " does not fit in 64 bits");
    return put(Value(d));
  }
  bool string(Json::string_t& s) { return put(Value(std::move(s))); }
  bool binary(Json::binary_t&) { return false; }  // not produced by the JSON reader
  bool start_object(std::size_t) { return open(Value(Value::Object{})); }
  bool start_array(std::size_t) { return open(Value(Value::Array{})); }
  bool key(Json::string_t& k) {
    Frame& f = stack_.back();
    if (!f.keys.insert(k).second) throw ParseError(key_start(), "duplicate key \"" + printable_reason(k) + "\"");
    f.key = std::move(k);
    return true;
  }
  bool end_object() { stack_.pop_back(); return true; }
  bool end_array() { stack_.pop_back(); return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    // position counts the bytes read, the offending one included (0 for
    // none): the offset of that byte is one less.
    std::string what = e.what();
    if (const size_t b = what.find("] "); b != std::string::npos) what.erase(0, b + 2);  // "[json.exception.x.N] "
    if (what.rfind("parse error", 0) == 0)
      if (const size_t c = what.find(": "); c != std::string::npos) what.erase(0, c + 2);  // "parse error at line L, column C: "
    if (e.id == 406) what = "number out of range for a double (" + what + ")";
    throw ParseError(position > 0 ? position - 1 : 0, printable_reason(what));
  }

 private:
  struct Frame {
    Value* container;
    std::string key;             // the member being read, in an object
    std::set<std::string> keys;  // duplicate detection without quadratic scans
  };

  const char* begin_;
  const char* const* furthest_;
  int max_depth_;
  Value root_;
  std::vector<Frame> stack_;

  size_t read() const { return size_t(*furthest_ - begin_); }

  // The lexer has read one byte past a number and put it back (none at the
  // end of the input); a number's last byte is a digit, its follower is not.
  size_t number_end() const {
    const size_t r = read();
    return r > 0 && is_digit(begin_[r - 1]) ? r : r - 1;
  }

  // A key was just read up to its closing quote: its opening quote is the
  // nearest '"' before that not escaped by an odd run of backslashes.
  size_t key_start() const {
    size_t close = read() - 1;
    for (size_t j = close; j-- > 0;) {
      if (begin_[j] != '"') continue;
      size_t slashes = 0;
      while (slashes < j && begin_[j - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 0) return j;
    }
    return 0;
  }

  static char decimal_point() {
    const std::lconv* lc = std::localeconv();
    return lc && lc->decimal_point && *lc->decimal_point ? *lc->decimal_point : '.';
  }

  // Places v in the innermost open container (or as the document) and
  // returns where it now lives.
  Value* place(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = stack_.back();
    if (f.container->is_array()) {
      Value::Array& a = f.container->as_array();
      a.push_back(std::move(v));
      return &a.back();
    }
    Value::Object& o = f.container->as_object();
    o.emplace_back(std::move(f.key), std::move(v));
    return &o.back().second;
  }

  bool put(Value v) {
    place(std::move(v));
    return true;
  }

  // Containers below the innermost one are never appended to while it is
  // open, so the pointers on the stack stay valid.
  bool open(Value v) {
    if (int(stack_.size()) >= max_depth_)
      throw ParseError(read() - 1, "nesting deeper than " + std::to_string(max_depth_) + " levels");
    stack_.push_back(Frame{place(std::move(v)), {}, {}});
    return true;
  }
};

}  // namespace

Value parse(std::string_view text, int max_depth) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF")
    throw ParseError(0, "a byte order mark is not allowed before the JSON value");
  const char* begin = text.data();
  const char* furthest = begin;
  Builder builder(begin, &furthest, max_depth);
  // strict: nothing but whitespace may follow the value; no comments.
  const bool ok = nlohmann::json::sax_parse(CountingIterator(begin, &furthest), CountingIterator(begin + text.size(), &furthest),
                                            &builder, nlohmann::json::input_format_t::json, /*strict=*/true,
                                            /*ignore_comments=*/false);
  if (!ok) throw ParseError(0, "the JSON reader stopped");  // every refusal above throws first
  return builder.take();
}

// --- writer ---------------------------------------------------------------------

static void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          out += buf;
        } else {
          out += char(c);  // UTF-8 passes through unchanged
        }
    }
  }
  out += '"';
}

static void dump_to(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += v.as_bool() ? "true" : "false"; break;
    case Type::Int: out += std::to_string(v.as_int()); break;
    case Type::Double: {
      double d = v.as_double();
      if (!std::isfinite(d)) throw TypeError("JSON cannot represent NaN or infinity");
      // Shortest text that reads back to the same double; a ".0" keeps an
      // integral double from coming back as an integer.
      char buf[32];
      char* end = std::to_chars(buf, buf + sizeof buf, d).ptr;
      std::string text(buf, end);
      if (text.find_first_of(".e") == std::string::npos) text += ".0";
      out += text;
      break;
    }
    case Type::String: dump_string(out, v.as_string()); break;
    case Type::Array: {
      out += '[';
      const char* sep = "";
      for (const Value& item : v.as_array()) { out += sep; dump_to(out, item); sep = ","; }
      out += ']';
      break;
    }
    case Type::Object: {
      out += '{';
      const char* sep = "";
      for (const auto& kv : v.as_object()) {
        out += sep;
        dump_string(out, kv.first);
        out += ':';
        dump_to(out, kv.second);
        sep = ",";
      }
      out += '}';
      break;
    }
  }
}

std::string dump(const Value& v) {
  std::string out;
  dump_to(out, v);
  return out;
}

}  // namespace tinct::json
