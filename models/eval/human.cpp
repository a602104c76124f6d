// human.cpp — the real-vs-fake page of `tinct eval --human`, the Wilson
// interval, and the reader of the page's exported results. See human.h.
#include "models/eval/human.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "engine/atomic_file.h"
#include "engine/json.h"
#include "models/eval/plot.h"
#include "models/inference.h"
#include "tinct_assets/human_page.h"  // generated from models/eval/assets/ (cmake/embed_assets.cmake)

namespace tinct::eval {

namespace fs = std::filesystem;

// ===========================================================================
// Wilson interval

Interval wilson_interval(std::size_t successes, std::size_t trials, double z) {
  if (successes > trials)
    throw std::invalid_argument("wilson_interval: " + std::to_string(successes) + " successes in " +
                                std::to_string(trials) + " trials");
  if (trials == 0) return {0.0, 1.0};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denom;
  const double half = z / denom * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  // In exact arithmetic 0/n gives lo = 0 and n/n gives hi = 1; floating point
  // lands a hair off, so those ends are set exactly.
  Interval i{std::max(0.0, centre - half), std::min(1.0, centre + half)};
  if (successes == 0) i.lo = 0.0;
  if (successes == trials) i.hi = 1.0;
  return i;
}

// ===========================================================================
// Pairs

namespace {

// SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose output is
// fixed by its definition, so a seed gives the same page everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), without modulo bias (rejection of the top remainder).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }

 private:
  std::uint64_t state_;
};

std::string utc_iso_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// FNV-1a, 64 bits: a short id for the page (the key of its saved progress).
std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::string weights_fingerprint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read '" + path + "'");
  std::uint64_t h = 0xcbf29ce484222325ull;
  std::vector<char> buf(1 << 16);
  while (f) {
    f.read(buf.data(), std::streamsize(buf.size()));
    const std::streamsize n = f.gcount();
    for (std::streamsize i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(buf[std::size_t(i)]);
      h *= 0x100000001b3ull;
    }
  }
  if (f.bad()) throw std::runtime_error("cannot read '" + path + "'");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string("fnv1a64:") + hex;
}

HumanModel human_model(const ModelSpec& spec) {
  HumanModel m;
  m.name = spec.kind;
  if (spec.weights.empty()) {
    m.fingerprint = "untrained";
  } else {
    m.weights = fs::path(spec.weights).filename().string();
    m.fingerprint = weights_fingerprint(spec.weights);
  }
  return m;
}

std::vector<HumanPair> human_pairs(const std::vector<HumanTestImage>& images, std::uint64_t seed) {
  std::vector<HumanPair> pairs;
  for (std::size_t i = 0; i < images.size(); ++i)
    for (std::size_t f = 0; f < images[i].fakes.size(); ++f) {
      HumanPair p;
      p.image = i;
      p.fake = f;
      p.model = images[i].fakes[f].first;
      pairs.push_back(p);
    }
  SplitMix64 rng(seed);
  // Fisher-Yates: every order equally likely, so neighbouring pairs rarely
  // share a photo and a model's fakes are spread over the session.
  for (std::size_t i = pairs.size(); i > 1; --i) std::swap(pairs[i - 1], pairs[rng.below(i)]);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    pairs[i].id = static_cast<int>(i);
    pairs[i].real_left = (rng.next() >> 63) != 0;
  }
  return pairs;
}

data::Image fit_max_side(const data::Image& img, int max_side) {
  const int side = std::max(img.width, img.height);
  if (max_side < 1 || side <= max_side) return img;
  const double s = double(max_side) / double(side);
  const int w = std::max(1, int(std::lround(img.width * s)));
  const int h = std::max(1, int(std::lround(img.height * s)));
  return data::resize(img, w, h);
}

std::string base64(const std::uint8_t* data, std::size_t size) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size - i == 1) {
    const std::uint32_t v = std::uint32_t(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (size - i == 2) {
    const std::uint32_t v = (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// ===========================================================================
// The page

namespace {

// The page's template, styles and script: models/eval/assets/, compiled in.
std::string asset(const unsigned char* bytes, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(bytes), size);
}

// `tmpl` with each @NAME@ of `values` replaced by its value. One pass, left to
// right: inserted text is not scanned again, so a title or a script that
// holds "@DATA@" stays as it is.
std::string fill_template(const std::string& tmpl, const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  std::size_t pos = 0;
  for (std::size_t a; (a = tmpl.find('@', pos)) != std::string::npos;) {
    const std::size_t b = tmpl.find('@', a + 1);
    if (b == std::string::npos) break;
    const std::string name = tmpl.substr(a + 1, b - a - 1);
    const auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == name; });
    if (it == values.end()) {
      out.append(tmpl, pos, a + 1 - pos);
      pos = a + 1;
      continue;
    }
    out.append(tmpl, pos, a - pos);
    out += it->second;
    pos = b + 1;
  }
  out.append(tmpl, pos, std::string::npos);
  return out;
}

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + with.size()))
    s.replace(p, what.size(), with);
}


std::string png_data_uri(const data::Image& img) {
  const std::vector<std::uint8_t> png = data::encode_png(img);
  return "data:image/png;base64," + base64(png.data(), png.size());
}

}  // namespace

std::string human_test_html(const std::vector<HumanTestImage>& images, const HumanPageOptions& o) {
  const std::vector<HumanPair> pairs = human_pairs(images, o.seed);
  if (pairs.empty()) throw std::invalid_argument("human test: no (photo, colorized) pair to show");

  // Each photo once in the image table (a real photo serves every pair of
  // its image); pairs refer to it by index.
  json::Value::Array uris;
  std::vector<std::size_t> real_index(images.size());
  std::vector<std::vector<std::size_t>> fake_index(images.size());
  std::vector<std::pair<int, int>> shown(images.size());  // size of the embedded photos
  std::vector<std::string> models;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const HumanTestImage& im = images[i];
    if (im.fakes.empty()) continue;
    real_index[i] = uris.size();
    const data::Image real = fit_max_side(im.real, o.max_side);
    shown[i] = {real.width, real.height};
    uris.emplace_back(png_data_uri(real));
    for (const auto& [model, fake] : im.fakes) {
      if (fake.width != im.real.width || fake.height != im.real.height)
        throw std::invalid_argument("human test: the " + model + " output of " + im.name + " is " +
                                    std::to_string(fake.width) + "x" + std::to_string(fake.height) +
                                    ", the photo " + std::to_string(im.real.width) + "x" +
                                    std::to_string(im.real.height));
      fake_index[i].push_back(uris.size());
      uris.emplace_back(png_data_uri(fit_max_side(fake, o.max_side)));
      if (std::find(models.begin(), models.end(), model) == models.end()) models.push_back(model);
    }
  }

  const std::string created = utc_iso_now();
  std::uint64_t id = fnv1a(created + "/" + std::to_string(o.seed));
  json::Value::Array jpairs;
  for (const HumanPair& p : pairs) {
    const std::string& name = images[p.image].name;
    id = fnv1a(name + "|" + p.model + (p.real_left ? "L" : "R"), id);
    jpairs.emplace_back(json::Value::Object{
        {"id", json::Value(p.id)},
        {"image", json::Value(name)},
        {"model", json::Value(p.model)},
        {"real", json::Value(static_cast<std::int64_t>(real_index[p.image]))},
        {"fake", json::Value(static_cast<std::int64_t>(fake_index[p.image][p.fake]))},
        {"real_side", json::Value(p.real_left ? "left" : "right")},
        {"width", json::Value(shown[p.image].first)},
        {"height", json::Value(shown[p.image].second)}});
  }
  char idhex[17];
  std::snprintf(idhex, sizeof idhex, "%016llx", static_cast<unsigned long long>(id));
  json::Value::Array jmodels;
  for (const std::string& m : models) {
    HumanModel info;
    info.name = m;
    for (const HumanModel& k : o.models)
      if (k.name == m) info = k;
    jmodels.emplace_back(json::Value::Object{{"name", json::Value(info.name)},
                                             {"weights", json::Value(info.weights)},
                                             {"fingerprint", json::Value(info.fingerprint)}});
  }
  json::Value::Array jnames;
  for (const HumanTestImage& im : images)
    if (!im.fakes.empty()) jnames.emplace_back(im.name);

  json::Value page(json::Value::Object{
      {"format", json::Value("tinct-human-page")},
      {"version", json::Value(2)},
      {"page_id", json::Value(std::string(idhex))},
      {"seed", json::Value(static_cast<std::int64_t>(o.seed & 0x7fffffffffffffffull))},
      {"title", json::Value(o.title)},
      {"created", json::Value(created)},
      {"max_side", json::Value(o.max_side)},
      {"models", json::Value(std::move(jmodels))},
      {"image_names", json::Value(std::move(jnames))},
      {"pairs", json::Value(std::move(jpairs))},
      {"images", json::Value(std::move(uris))}});
  // Inside <script>, "</script" or "<!--" in a string (an image name) would
  // end or confuse the element: write every '<' as the JSON escape \u003c.
  std::string data = json::dump(page);
  replace_all(data, "<", "\\u003c");

  return fill_template(asset(assets::human_html, assets::human_html_size),
                       {{"TITLE", xml_escape(o.title)},
                        {"CSS", asset(assets::human_css, assets::human_css_size)},
                        {"JS", asset(assets::human_js, assets::human_js_size)},
                        {"DATA", data}});
}

// ===========================================================================
// `tinct eval --human`

namespace {

// file:// and the absolute path, with what a URL cannot hold percent-encoded.
std::string file_url(const fs::path& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  if (ec) abs = path;
  std::string url = "file://";
  for (unsigned char c : abs.lexically_normal().generic_string()) {
    if (std::isalnum(c) || std::strchr("/-._~", c)) {
      url += char(c);
    } else {
      char esc[4];
      std::snprintf(esc, sizeof esc, "%%%02X", c);
      url += esc;
    }
  }
  return url;
}

}  // namespace

HumanPageResult write_human_page(const EvalOptions& o, const HumanPageOptions& page_options) {
  HumanPageOptions page = page_options;
  const auto t0 = std::chrono::steady_clock::now();
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  check_eval_options(o, "human_test.html");
  const fs::path out(o.out);
  const fs::path path = out / "human_test.html";
  std::error_code ec;

  const std::vector<ImageEntry> entries = list_images(o.data, o.holdout);
  const std::vector<ModelSpec> specs = resolve_models(o.models, o.weights_dir, o.untrained);
  HumanPageResult r;
  std::vector<std::pair<std::string, std::unique_ptr<models::Colorizer>>> loaded;
  for (const ModelSpec& s : specs) {
    try {
      loaded.emplace_back(s.kind, load_model(s, o.device));
      r.models.push_back(s.kind);
      page.models.push_back(human_model(s));
    } catch (const std::exception& e) {
      r.failures.push_back({s.kind, "", e.what()});
      log("cannot load " + s.kind + ": " + e.what());
    }
  }

  models::ColorizeOptions copt;
  copt.size = o.size;
  std::vector<HumanTestImage> images;
  std::size_t index = 0;
  for (const ImageEntry& e : entries) {
    ++index;
    const std::string counter = "[" + std::to_string(index) + "/" + std::to_string(entries.size()) + "] ";
    data::Image photo;
    try {
      photo = load_entry(e);
    } catch (const std::exception& err) {
      r.skipped.push_back({e.name, err.what()});
      log(counter + e.name + ": skipped (" + err.what() + ")");
      continue;
    }
    if (photo.source_channels <= 2) {
      r.skipped.push_back({e.name, "grayscale file: no real colour photo to show"});
      log(counter + e.name + ": skipped (grayscale)");
      continue;
    }
    HumanTestImage item;
    item.name = e.name;
    // Colorize at full size, exactly as `tinct colorize` and the report do,
    // then shrink real and fake alike for the page.
    for (auto& [kind, model] : loaded) {
      try {
        item.fakes.emplace_back(kind, fit_max_side(models::colorize_image(*model, photo, copt), page.max_side));
      } catch (const std::exception& err) {
        r.failures.push_back({kind, e.name, err.what()});
      }
    }
    if (item.fakes.empty()) continue;
    item.real = fit_max_side(photo, page.max_side);
    r.pairs += item.fakes.size();
    images.push_back(std::move(item));
    log(counter + e.name);
  }
  r.images = images.size();
  if (images.empty())
    throw std::runtime_error("no pair could be made: no image of '" + o.data + "' could be colorized");
  const std::string html = human_test_html(images, page);
  fs::create_directories(out, ec);
  if (ec) throw std::runtime_error("cannot create '" + o.out + "': " + ec.message());
  write_file_atomic(path.string(), html.data(), html.size());
  r.path = path.string();
  r.url = file_url(path);
  r.bytes = html.size();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// ===========================================================================
// Results

namespace {

// One answer of a results file; `where` prefixes the messages.
HumanAnswer parse_answer(const json::Value& a, const std::string& where) {
  if (!a.is_object()) throw std::runtime_error(where + "not an object");
  auto str = [&](const char* key, bool required) -> std::string {
    const json::Value* x = a.find(key);
    if (!x) {
      if (required) throw std::runtime_error(where + "no \"" + key + "\"");
      return "";
    }
    if (!x->is_string()) throw std::runtime_error(where + "\"" + key + "\" is not a string");
    return x->as_string();
  };
  HumanAnswer h;
  h.model = str("model", true);
  if (h.model.empty()) throw std::runtime_error(where + "an empty \"model\"");
  h.image = str("image", false);
  h.real_side = str("real_side", true);
  h.choice = str("choice", true);
  for (const std::string* side : {&h.real_side, &h.choice})
    if (*side != "left" && *side != "right")
      throw std::runtime_error(where + "a side must be \"left\" or \"right\", got \"" + *side + "\"");
  if (const json::Value* p = a.find("pair")) {
    if (!p->is_int() || p->as_int() < 0 || p->as_int() > std::numeric_limits<int>::max())
      throw std::runtime_error(where + "\"pair\" is not a pair number");
    h.pair = static_cast<int>(p->as_int());
  }
  if (const json::Value* ms = a.find("ms")) {
    if (!ms->is_number() || !std::isfinite(ms->as_double()) || ms->as_double() < 0)
      throw std::runtime_error(where + "\"ms\" is not a time in milliseconds");
    h.ms = ms->as_double();
  }
  h.fooled = h.choice != h.real_side;
  return h;
}

const json::Value& answers_array(const json::Value& v) {
  if (!v.is_object()) throw std::runtime_error("not a tinct human-test results file (a JSON object expected)");
  if (const json::Value* f = v.find("format"))
    if (!f->is_string() || f->as_string() != "tinct-human-test")
      throw std::runtime_error("not a tinct human-test results file (format is not \"tinct-human-test\")");
  const json::Value* answers = v.find("answers");
  if (!answers || !answers->is_array())
    throw std::runtime_error("not a tinct human-test results file (no \"answers\" array)");
  return *answers;
}

json::Value parse_json(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("not a JSON file: ") + e.what());
  }
}

std::string string_field(const json::Value& v, const char* key) {
  const json::Value* x = v.find(key);
  if (!x || x->is_null()) return "";
  if (!x->is_string()) throw std::runtime_error(std::string("\"") + key + "\" is not a string");
  return x->as_string();
}

bool bool_field(const json::Value& v, const char* key) {
  const json::Value* x = v.find(key);
  if (!x) return false;
  if (!x->is_bool()) throw std::runtime_error(std::string("\"") + key + "\" is not true or false");
  return x->as_bool();
}

}  // namespace

std::vector<HumanAnswer> parse_human_results(const std::string& text) {
  const json::Value v = parse_json(text);
  std::vector<HumanAnswer> out;
  std::size_t i = 0;
  for (const json::Value& a : answers_array(v).as_array())
    out.push_back(parse_answer(a, "answer " + std::to_string(i++) + ": "));
  return out;
}

HumanResults read_human_results(const std::string& text, const std::string& source) {
  const std::string prefix = source.empty() ? "" : source + ": ";
  try {
    const json::Value v = parse_json(text);
    const json::Value& answers = answers_array(v);
    const json::Value* format = v.find("format");
    if (!format) throw std::runtime_error("not a tinct human-test results file (no \"format\")");
    HumanResults r;
    r.source = source;
    const json::Value* version = v.find("version");
    if (!version || !version->is_int() || version->as_int() < 1 || version->as_int() > 2)
      throw std::runtime_error("unknown results version (this tinct reads versions 1 and 2)");
    r.version = int(version->as_int());
    r.page_id = string_field(v, "page_id");
    r.participant = string_field(v, "participant");
    r.started = string_field(v, "started");
    r.finished = string_field(v, "finished");
    r.complete = bool_field(v, "complete");
    r.scripted = bool_field(v, "scripted");
    if (const json::Value* n = v.find("pairs")) {
      if (!n->is_int() || n->as_int() < 1) throw std::runtime_error("\"pairs\" is not a count of pairs");
      r.page_pairs = std::size_t(n->as_int());
    }
    if (r.version >= 2) {
      const json::Value* models = v.find("models");
      const json::Value* images = v.find("images");
      if (!models || !models->is_array() || !images || !images->is_array())
        throw std::runtime_error("a version 2 file names the page's \"models\" and \"images\"; this one does not");
      for (const json::Value& m : models->as_array()) {
        if (!m.is_object()) throw std::runtime_error("\"models\" holds a non-object");
        HumanModel hm;
        hm.name = string_field(m, "name");
        hm.weights = string_field(m, "weights");
        hm.fingerprint = string_field(m, "fingerprint");
        if (hm.name.empty()) throw std::runtime_error("\"models\" holds a model without a name");
        r.models.push_back(hm);
      }
      for (const json::Value& im : images->as_array()) {
        if (!im.is_string()) throw std::runtime_error("\"images\" holds a non-string");
        r.images.push_back(im.as_string());
      }
    }

    std::vector<char> seen;
    std::size_t i = 0;
    for (const json::Value& a : answers.as_array()) {
      const std::string where = "answer " + std::to_string(i++) + ": ";
      HumanAnswer h = parse_answer(a, where);
      if (!a.find("pair")) throw std::runtime_error(where + "no \"pair\"");
      if (r.page_pairs && std::size_t(h.pair) >= r.page_pairs)
        throw std::runtime_error(where + "pair " + std::to_string(h.pair) + " of a page of " +
                                 std::to_string(r.page_pairs) + " pairs");
      if (std::size_t(h.pair) >= seen.size()) seen.resize(std::size_t(h.pair) + 1, 0);
      if (seen[std::size_t(h.pair)]++)
        throw std::runtime_error(where + "pair " + std::to_string(h.pair) + " answered twice");
      if (const json::Value* f = a.find("fooled"))
        if (!f->is_bool() || f->as_bool() != h.fooled)
          throw std::runtime_error(where + "\"fooled\" disagrees with the sides (real " + h.real_side + ", chosen " +
                                   h.choice + "): an edited or corrupted file");
      if (r.version >= 2) {
        if (std::none_of(r.models.begin(), r.models.end(), [&](const HumanModel& m) { return m.name == h.model; }))
          throw std::runtime_error(where + "model \"" + h.model + "\" is not one of the page's models");
        if (std::find(r.images.begin(), r.images.end(), h.image) == r.images.end())
          throw std::runtime_error(where + "photo \"" + h.image + "\" is not one of the page's photos");
      }
      r.answers.push_back(std::move(h));
    }
    if (r.complete && r.page_pairs && r.answers.size() != r.page_pairs)
      throw std::runtime_error("marked complete with " + std::to_string(r.answers.size()) + " answers for " +
                               std::to_string(r.page_pairs) + " pairs");
    return r;
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(prefix + e.what());
  }
}

HumanPool pool_human_results(std::vector<HumanResults> files) {
  HumanPool pool;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const HumanResults& f = files[i];
    for (std::size_t j = 0; j < i; ++j) {
      const HumanResults& g = files[j];
      if (!f.page_id.empty() && f.page_id == g.page_id && f.started == g.started)
        throw std::runtime_error(f.source + ": the same session as " + g.source + " (page " + f.page_id +
                                 ", started " + f.started + "): a file passed twice would count twice");
      for (const HumanModel& m : f.models)
        for (const HumanModel& n : g.models)
          if (m.name == n.name && !m.fingerprint.empty() && !n.fingerprint.empty() && m.fingerprint != n.fingerprint)
            throw std::runtime_error(f.source + " and " + g.source + " judged different weights of " + m.name +
                                     " (" + m.fingerprint + " vs " + n.fingerprint +
                                     "): their fooling rates are not of one model");
    }
    pool.answers.insert(pool.answers.end(), f.answers.begin(), f.answers.end());
  }
  pool.files = std::move(files);
  return pool;
}

HumanPool pool_human_results(const std::vector<std::string>& paths) {
  std::vector<HumanResults> files;
  for (const std::string& path : paths) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot read the file");
    std::ostringstream text;
    text << f.rdbuf();
    files.push_back(read_human_results(text.str(), path));
  }
  return pool_human_results(std::move(files));
}

void check_human_results(const HumanPool& pool, const std::vector<ImageEntry>& images,
                         const std::vector<HumanModel>& evaluated) {
  for (const HumanResults& f : pool.files) {
    std::vector<std::string> missing;
    for (const HumanAnswer& a : f.answers)
      if (std::none_of(images.begin(), images.end(), [&](const ImageEntry& e) { return e.name == a.image; }) &&
          std::find(missing.begin(), missing.end(), a.image) == missing.end())
        missing.push_back(a.image);
    if (!missing.empty()) {
      std::string list;
      for (std::size_t i = 0; i < missing.size() && i < 3; ++i) list += (i ? ", " : "") + ("\"" + missing[i] + "\"");
      if (missing.size() > 3) list += " and " + std::to_string(missing.size() - 3) + " more";
      throw std::invalid_argument(f.source + ": answers about " + list +
                                  ", not in --data: these results come from a page of other photos");
    }
    for (const HumanModel& m : f.models)
      for (const HumanModel& e : evaluated)
        if (m.name == e.name && !m.fingerprint.empty() && m.fingerprint != e.fingerprint)
          throw std::invalid_argument(f.source + ": the answers judged " + m.name + " with weights " +
                                      (m.weights.empty() ? std::string("(untrained)") : m.weights) + " (" +
                                      m.fingerprint + "), this report evaluates " + e.name + " " + e.fingerprint +
                                      ": not the same model (a page from other weights; use their --weights-dir)");
  }
}

std::vector<FoolingRate> fooling_rates(const std::vector<HumanAnswer>& answers) {
  std::vector<FoolingRate> out;
  for (const HumanAnswer& a : answers) {
    auto it = std::find_if(out.begin(), out.end(), [&](const FoolingRate& r) { return r.model == a.model; });
    if (it == out.end()) {
      out.push_back({});
      out.back().model = a.model;
      it = out.end() - 1;
    }
    ++it->pairs;
    if (a.fooled) ++it->fooled;
  }
  for (FoolingRate& r : out) {
    r.rate = r.pairs ? double(r.fooled) / double(r.pairs) : 0.0;
    r.ci95 = wilson_interval(r.fooled, r.pairs);
  }
  return out;
}

std::string fooling_table(const std::vector<FoolingRate>& rates) {
  std::vector<std::vector<std::string>> rows;
  for (const FoolingRate& r : rates)
    rows.push_back({r.model, std::to_string(r.pairs), std::to_string(r.fooled), format_number(100 * r.rate, 1) + "%",
                    format_number(100 * r.ci95.lo, 1) + "% - " + format_number(100 * r.ci95.hi, 1) + "%"});
  return markdown_table({"Model", "Pairs", "Fooled", "Fooling rate", "95% interval (Wilson)"}, rows,
                        {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight});
}

std::string human_report_section(const HumanPool& pool, const std::vector<std::string>& evaluated_models,
                                 const std::string& answers_csv) {
  std::ostringstream md;
  std::size_t scripted = 0;
  for (const HumanResults& f : pool.files) scripted += f.scripted;
  md << "## Human test: real or colorized\n\n"
     << pool.answers.size() << " answers in " << pool.files.size() << (pool.files.size() == 1 ? " file" : " files")
     << " (`tinct eval --human` pages, read with `--human-results`). Each answer is one pair: a real photo and a "
        "model's colorized version side by side, \"which one is real?\". The fooling rate is the share of pairs "
        "in which the colorized photo was taken for the real one: 50% means it could not be told from the real "
        "photo, 0% that it was always spotted. 95% Wilson score interval; the answers of all files pooled.\n\n";
  if (scripted)
    md << "> **" << scripted << " of the files are scripted** (autoplay or the test hooks): their answers are not "
       << "a person's judgement.\n\n";
  // Rows in the pages' model order (the report's), not the shuffled order of the answers.
  std::vector<std::string> order;
  for (const HumanResults& f : pool.files)
    for (const HumanModel& m : f.models)
      if (std::find(order.begin(), order.end(), m.name) == order.end()) order.push_back(m.name);
  std::vector<FoolingRate> rates = fooling_rates(pool.answers);
  auto rank = [&](const FoolingRate& r) { return std::find(order.begin(), order.end(), r.model) - order.begin(); };
  std::stable_sort(rates.begin(), rates.end(),
                   [&](const FoolingRate& a, const FoolingRate& b) { return rank(a) < rank(b); });
  md << fooling_table(rates) << "\n";
  std::vector<std::string> absent;
  for (const FoolingRate& r : rates)
    if (!evaluated_models.empty() &&
        std::find(evaluated_models.begin(), evaluated_models.end(), r.model) == evaluated_models.end())
      absent.push_back(r.model);
  if (!absent.empty()) {
    md << "Not evaluated in this report:";
    for (const std::string& m : absent) md << " " << m;
    md << " (their answers are counted above all the same).\n\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const HumanResults& f : pool.files) {
    double ms = 0;
    for (const HumanAnswer& a : f.answers) ms += a.ms;
    rows.push_back({"`" + f.source + "`", f.participant.empty() ? "-" : f.participant,
                    std::to_string(f.answers.size()) + (f.page_pairs ? " of " + std::to_string(f.page_pairs) : ""),
                    f.complete ? "yes" : "no", f.scripted ? "yes" : "no",
                    f.answers.empty() ? "-" : format_number(ms / double(f.answers.size()) / 1000.0, 2)});
  }
  md << markdown_table({"File", "Participant", "Answers", "Complete", "Scripted", "Mean seconds per answer"}, rows,
                       {Align::kLeft, Align::kLeft, Align::kRight, Align::kLeft, Align::kLeft, Align::kRight})
     << "\n";
  if (!answers_csv.empty()) md << "Every answer is in `" << answers_csv << "`.\n\n";
  return md.str();
}

std::string human_answers_csv(const HumanPool& pool) {
  std::ostringstream csv;
  csv << "file,participant,pair,image,model,real_side,choice,fooled,ms\n";
  for (const HumanResults& f : pool.files)
    for (const HumanAnswer& a : f.answers)
      csv << csv_field(f.source) << "," << csv_field(f.participant) << "," << a.pair << "," << csv_field(a.image)
          << "," << csv_field(a.model) << "," << a.real_side << "," << a.choice << "," << (a.fooled ? 1 : 0) << ","
          << format_number(a.ms, 0) << "\n";
  return csv.str();
}

}  // namespace tinct::eval
