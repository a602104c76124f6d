// json.cpp — see json.h for the rules this reader enforces.
#include "engine/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

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

namespace {

class Parser {
 public:
  Parser(const char* data, size_t size, int max_depth) : p_(data), n_(size), max_depth_(max_depth) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (i_ != n_) fail("unexpected '" + printable(p_[i_]) + "' after the end of the JSON value");
    return v;
  }

 private:
  const char* p_;
  size_t n_;
  size_t i_ = 0;
  int max_depth_;

  [[noreturn]] void fail(const std::string& why) const { throw ParseError(i_, why); }

  static std::string printable(char c) {
    if (c >= 0x20 && c < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(static_cast<unsigned char>(c)));
    return buf;
  }

  void skip_ws() {
    while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) ++i_;
  }

  // Consumes `c` (after whitespace) or fails with "expected <what>".
  void expect(char c, const char* what) {
    skip_ws();
    if (i_ >= n_) fail(std::string("unexpected end of input, expected ") + what);
    if (p_[i_] != c) fail(std::string("expected ") + what + ", found '" + printable(p_[i_]) + "'");
    ++i_;
  }

  Value parse_value(int depth) {
    skip_ws();
    if (i_ >= n_) fail("unexpected end of input, expected a value");
    char c = p_[i_];
    if (c == '{' || c == '[') {
      // The depth check guards the recursion below against stack exhaustion.
      if (depth >= max_depth_) fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
      return c == '{' ? parse_object(depth + 1) : parse_array(depth + 1);
    }
    if (c == '"') return Value(parse_string());
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    if (literal("true")) return Value(true);
    if (literal("false")) return Value(false);
    if (literal("null")) return Value();
    fail("unexpected '" + printable(c) + "', expected a value");
  }

  bool literal(const char* word) {
    size_t len = std::char_traits<char>::length(word);
    if (n_ - i_ < len || std::char_traits<char>::compare(p_ + i_, word, len) != 0) return false;
    i_ += len;
    return true;
  }

  Value parse_object(int depth) {
    ++i_;  // '{'
    Value::Object members;
    std::set<std::string> seen;  // duplicate detection without quadratic scans
    skip_ws();
    if (i_ < n_ && p_[i_] == '}') { ++i_; return Value(std::move(members)); }
    for (;;) {
      skip_ws();
      if (i_ >= n_) fail("unexpected end of input, expected an object key");
      if (p_[i_] != '"') fail("expected a string as object key, found '" + printable(p_[i_]) + "'");
      size_t key_at = i_;
      std::string key = parse_string();
      if (!seen.insert(key).second) throw ParseError(key_at, "duplicate key \"" + key + "\"");
      expect(':', "':' after an object key");
      members.emplace_back(std::move(key), parse_value(depth));
      skip_ws();
      if (i_ < n_ && p_[i_] == ',') { ++i_; continue; }
      expect('}', "',' or '}' in an object");
      return Value(std::move(members));
    }
  }

  Value parse_array(int depth) {
    ++i_;  // '['
    Value::Array items;
    skip_ws();
    if (i_ < n_ && p_[i_] == ']') { ++i_; return Value(std::move(items)); }
    for (;;) {
      items.push_back(parse_value(depth));
      skip_ws();
      if (i_ < n_ && p_[i_] == ',') { ++i_; continue; }
      expect(']', "',' or ']' in an array");
      return Value(std::move(items));
    }
  }

  // Grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  Value parse_number() {
    size_t start = i_;
    auto digits = [&] {
      size_t d = i_;
      while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') ++i_;
      return i_ - d;
    };
    if (p_[i_] == '-') ++i_;
    size_t int_start = i_;
    if (digits() == 0) fail("expected a digit in a number");
    if (p_[int_start] == '0' && i_ - int_start > 1) { i_ = int_start; fail("leading zeros are not allowed in a number"); }
    bool integral = true;
    if (i_ < n_ && p_[i_] == '.') {
      ++i_;
      integral = false;
      if (digits() == 0) fail("expected a digit after the decimal point");
    }
    if (i_ < n_ && (p_[i_] == 'e' || p_[i_] == 'E')) {
      ++i_;
      integral = false;
      if (i_ < n_ && (p_[i_] == '+' || p_[i_] == '-')) ++i_;
      if (digits() == 0) fail("expected a digit in the exponent");
    }
    // from_chars is locale-independent (strtod would honour a ',' locale).
    const char* first = p_ + start;
    const char* last = p_ + i_;
    if (integral) {
      int64_t v = 0;
      if (std::from_chars(first, last, v).ec != std::errc()) {
        i_ = start;
        fail("integer " + std::string(first, last) + " does not fit in 64 bits");
      }
      return Value(v);
    }
    double d = 0;
    if (std::from_chars(first, last, d).ec != std::errc()) {
      i_ = start;
      fail("number " + std::string(first, last) + " is out of range for a double");
    }
    return Value(d);
  }

  unsigned hex4() {
    if (n_ - i_ < 4) fail("unexpected end of input in a \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k, ++i_) {
      char c = p_[i_];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("invalid hex digit '" + printable(c) + "' in a \\u escape");
      v = v * 16 + unsigned(d);
    }
    return v;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  // Copies one raw UTF-8 sequence starting at a byte >= 0x80, validating it
  // (no overlong forms, no surrogates, nothing above U+10FFFF).
  void copy_utf8(std::string& out) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(p_[i_ + k]); };
    unsigned c0 = b(0);
    size_t len = c0 >= 0xC2 && c0 <= 0xDF ? 2 : c0 >= 0xE0 && c0 <= 0xEF ? 3 : c0 >= 0xF0 && c0 <= 0xF4 ? 4 : 0;
    if (len == 0 || n_ - i_ < len) fail("invalid UTF-8 in a string");
    for (size_t k = 1; k < len; ++k)
      if ((b(k) & 0xC0) != 0x80) fail("invalid UTF-8 in a string");
    unsigned c1 = b(1);
    if ((c0 == 0xE0 && c1 < 0xA0) || (c0 == 0xED && c1 >= 0xA0) || (c0 == 0xF0 && c1 < 0x90) || (c0 == 0xF4 && c1 >= 0x90))
      fail("invalid UTF-8 in a string");
    out.append(p_ + i_, len);
    i_ += len;
  }

  std::string parse_string() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= n_) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(p_[i_]);
      if (c == '"') { ++i_; return out; }
      if (c < 0x20) fail("raw control character in a string (must be escaped)");
      if (c >= 0x80) { copy_utf8(out); continue; }
      if (c != '\\') { out += char(c); ++i_; continue; }
      if (++i_ >= n_) fail("unterminated string");
      char e = p_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          size_t at = i_ - 2;
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) throw ParseError(at, "unpaired low surrogate in a \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // must be followed by \uDC00..\uDFFF
            if (!(n_ - i_ >= 2 && p_[i_] == '\\' && p_[i_ + 1] == 'u')) throw ParseError(at, "unpaired high surrogate in a \\u escape");
            i_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) throw ParseError(at, "unpaired high surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: --i_; fail("invalid escape '\\" + printable(e) + "' in a string");
      }
    }
  }
};

}  // namespace

Value parse(std::string_view text, int max_depth) { return Parser(text.data(), text.size(), max_depth).parse_document(); }

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
