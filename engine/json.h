// json.h — a strict JSON reader and a writer (RFC 8259).
//
// Made for safetensors headers, so it favours strictness and clear errors
// over speed or convenience. The reading is nlohmann/json's parser (json.cpp;
// docs/fuzzing.md says why and what it costs); these rules hold:
//   - integers without fraction or exponent are kept exactly as int64_t and a
//     literal that does not fit is an error (never silently rounded to double);
//   - other numbers are doubles; NaN/inf cannot be read or written;
//   - strings must be valid UTF-8; \uXXXX escapes (with surrogate pairs) are
//     decoded to UTF-8; raw control characters are rejected;
//   - duplicate keys in an object are an error (the spec leaves them
//     undefined; in a checkpoint they would mean two tensors with one name);
//   - nesting is limited (default 64) so hostile input cannot blow the stack;
//   - nothing but whitespace may follow the top-level value; no byte order
//     mark, no comments.
// Objects keep their keys in input order, so parse(dump(v)) == v and the
// writer's output is predictable byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tinct::json {

// Thrown by parse(): what() reads "JSON parse error at byte N: <reason>".
// N is the byte where the reader gave up (for a refused number or key: where
// it starts); the reason quotes the input printably, cut to ~200 bytes.
class ParseError : public std::runtime_error {
 public:
  ParseError(size_t offset, const std::string& reason);
  size_t offset() const { return offset_; }  // byte offset into the input
  const std::string& reason() const { return reason_; }

 private:
  size_t offset_;
  std::string reason_;
};

// Thrown when a Value is accessed as the wrong type, or dump() meets NaN/inf.
class TypeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Type { Null, Bool, Int, Double, String, Array, Object };
const char* type_name(Type t);  // "null", "boolean", "integer", ...

class Value {
 public:
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;  // input order

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::Bool), bool_(b) {}
  Value(int i) : type_(Type::Int), int_(i) {}
  Value(int64_t i) : type_(Type::Int), int_(i) {}
  Value(double d) : type_(Type::Double), double_(d) {}
  Value(const char* s) : type_(Type::String), string_(s) {}
  Value(std::string s) : type_(Type::String), string_(std::move(s)) {}
  Value(Array a) : type_(Type::Array), array_(std::move(a)) {}
  Value(Object o) : type_(Type::Object), object_(std::move(o)) {}

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_number() const { return type_ == Type::Int || type_ == Type::Double; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Typed access; each throws TypeError on a type mismatch.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // also accepts an integer
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;
  Array& as_array();
  Object& as_object();

  // Object member lookup: nullptr when absent or when this is not an object.
  const Value* find(const std::string& key) const;

  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0.0;
  std::string string_;
  Array array_;
  Object object_;
};

// Parses exactly one JSON value (surrounded by optional whitespace).
Value parse(std::string_view text, int max_depth = 64);

// Compact output, no whitespace: the same bytes serde_json (and thus the
// Python safetensors package) writes for the same keys in the same order.
// Throws TypeError for a NaN or infinite double.
std::string dump(const Value& v);

}  // namespace tinct::json
