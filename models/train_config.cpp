// train_config.cpp — config.json, one table of fields both ways.
#include "models/train_config.h"

#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "engine/atomic_file.h"

namespace tinct::models {

namespace {

using json::Value;

struct Field {
  const char* key;
  std::function<Value(const TrainOptions&)> get;
  std::function<void(TrainOptions&, const Value&)> set;
};

template <class T>
Field number(const char* key, T TrainOptions::*member) {
  return {key, [member](const TrainOptions& o) { return Value(o.*member); },
          [member](TrainOptions& o, const Value& v) {
            if constexpr (std::is_floating_point_v<T>) o.*member = T(v.as_double());
            else o.*member = T(v.as_int());
          }};
}

const std::vector<Field>& fields() {
  static const std::vector<Field> f = {
      {"model", [](const TrainOptions& o) { return Value(o.model.kind); },
       [](TrainOptions& o, const Value& v) { o.model.kind = v.as_string(); }},
      {"preset", [](const TrainOptions& o) { return Value(o.model.preset); },
       [](TrainOptions& o, const Value& v) { o.model.preset = v.as_string(); }},
      {"data", [](const TrainOptions& o) { return Value(o.data); },
       [](TrainOptions& o, const Value& v) { o.data = v.as_string(); }},
      {"device", [](const TrainOptions& o) { return Value(o.device); },
       [](TrainOptions& o, const Value& v) { o.device = v.as_string(); }},
      {"precision", [](const TrainOptions& o) { return Value(o.precision); },
       [](TrainOptions& o, const Value& v) { o.precision = v.as_string(); }},
      {"layout", [](const TrainOptions& o) { return Value(o.layout); },
       [](TrainOptions& o, const Value& v) { o.layout = v.as_string(); }},
      number("batch", &TrainOptions::batch),
      number("crop", &TrainOptions::crop),
      number("steps", &TrainOptions::steps),
      number("epochs", &TrainOptions::epochs),
      {"lr", [](const TrainOptions& o) { return Value(double(o.model.lr)); },
       [](TrainOptions& o, const Value& v) { o.model.lr = float(v.as_double()); }},
      // A string: the seed is a 64-bit unsigned number.
      {"seed", [](const TrainOptions& o) { return Value(std::to_string(o.model.seed)); },
       [](TrainOptions& o, const Value& v) { o.model.seed = std::stoull(v.as_string()); }},
      number("holdout", &TrainOptions::holdout),
      {"val_data", [](const TrainOptions& o) { return Value(o.val_data); },
       [](TrainOptions& o, const Value& v) { o.val_data = v.as_string(); }},
      number("eval_every", &TrainOptions::eval_every),
      number("ckpt_every", &TrainOptions::ckpt_every),
      number("log_every", &TrainOptions::log_every),
      number("keep", &TrainOptions::keep),
      number("threads", &TrainOptions::threads),
      number("cache_mb", &TrainOptions::cache_mb),
      number("shuffle_buffer", &TrainOptions::shuffle_buffer),
      {"init", [](const TrainOptions& o) { return Value(o.init); },
       [](TrainOptions& o, const Value& v) { o.init = v.as_string(); }},
      {"trainable", [](const TrainOptions& o) { return Value(o.trainable); },
       [](TrainOptions& o, const Value& v) { o.trainable = v.as_string(); }},
      number("rebalance", &TrainOptions::rebalance),
      {"phases", [](const TrainOptions& o) { return Value(o.phases); },
       [](TrainOptions& o, const Value& v) { o.phases = v.as_string(); }},
      {"schedule", [](const TrainOptions& o) { return Value(o.schedule.kind); },
       [](TrainOptions& o, const Value& v) { o.schedule.kind = v.as_string(); }},
      {"warmup", [](const TrainOptions& o) { return Value(o.schedule.warmup); },
       [](TrainOptions& o, const Value& v) { o.schedule.warmup = v.as_int(); }},
      {"lr_min", [](const TrainOptions& o) { return Value(o.schedule.lr_min); },
       [](TrainOptions& o, const Value& v) { o.schedule.lr_min = v.as_double(); }},
      {"lr_steps",
       [](const TrainOptions& o) {
         Value::Array a;
         for (int64_t s : o.schedule.steps) a.push_back(Value(s));
         return Value(a);
       },
       [](TrainOptions& o, const Value& v) {
         o.schedule.steps.clear();
         for (const Value& s : v.as_array()) o.schedule.steps.push_back(s.as_int());
       }},
      {"lr_gamma", [](const TrainOptions& o) { return Value(o.schedule.gamma); },
       [](TrainOptions& o, const Value& v) { o.schedule.gamma = v.as_double(); }},
      number("weight_decay", &TrainOptions::weight_decay),
      number("ema", &TrainOptions::ema),
      number("clip_grad", &TrainOptions::clip_grad),
  };
  return f;
}

constexpr const char* kFormat = "tinct-train-config-1";

// Keys a resumed run may change (see the header).
bool may_change_on_resume(const std::string& key) {
  for (const char* k : {"data", "val_data", "device", "steps", "epochs", "eval_every", "ckpt_every", "log_every", "keep",
                        "threads", "init", "lr", "cache_mb", "shuffle_buffer", "layout"})
    if (key == k) return true;
  return false;
}

std::string option_name(std::string key) {
  for (char& c : key)
    if (c == '_') c = '-';
  return "--" + key;
}

}  // namespace

json::Value config_json(const TrainOptions& o) {
  Value::Object obj{{"format", Value(kFormat)}};
  for (const Field& f : fields()) obj.emplace_back(f.key, f.get(o));
  return Value(obj);
}

TrainOptions config_from_json(const json::Value& v, const std::string& file) {
  if (!v.is_object()) throw std::runtime_error(file + ": not a tinct train config (not a JSON object)");
  const Value* format = v.find("format");
  if (!format || !format->is_string() || format->as_string() != kFormat)
    throw std::runtime_error(file + ": not a tinct train config (no \"format\": \"" + kFormat + "\")");
  TrainOptions o;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "format") continue;
    const Field* field = nullptr;
    for (const Field& f : fields())
      if (key == f.key) field = &f;
    if (!field) throw std::runtime_error(file + ": unknown key \"" + key + "\"");
    try {
      field->set(o, value);
    } catch (const std::exception& e) {
      throw std::runtime_error(file + ": \"" + key + "\": " + e.what());
    }
  }
  return o;
}

void write_config(const std::string& path, const TrainOptions& o) {
  const std::string text = json::dump(config_json(o)) + "\n";
  write_file_atomic(path, text.data(), text.size());
}

TrainOptions read_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read the run's config");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return config_from_json(json::parse(ss.str()), path);
  } catch (const json::ParseError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::string check_resume_recipe(const TrainOptions& saved, const TrainOptions& now) {
  std::string note;
  for (const Field& f : fields()) {
    const Value a = f.get(saved), b = f.get(now);
    if (a == b) continue;
    const std::string key = f.key;
    if (key == "lr") {
      note = "note: the learning rate changes from the run's " + json::dump(a) + " to " + json::dump(b) +
             " (--lr); config.json now records " + json::dump(b) +
             ", so the run's earlier steps cannot be reproduced from it exactly";
      continue;
    }
    if (may_change_on_resume(key)) continue;
    throw std::invalid_argument(option_name(key) + " " + json::dump(b) + " differs from the run's " + json::dump(a) +
                                " (its config.json): a resumed run keeps its recipe; to change it, start a new "
                                "run with --config DIR/config.json --out NEWDIR");
  }
  return note;
}

}  // namespace tinct::models
