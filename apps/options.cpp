// options.cpp — option parsing shared by the subcommands, and the dispatch
// from a subcommand's name to its function with the exit codes of errors
// (main.cpp and the CLI fuzz target, tests/fuzz/, both call run_command).
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "apps/cli.h"

namespace tinct::cli {

bool take_option(Args& args, const std::string& name, std::string& value) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      if (i + 1 >= args.size()) throw std::invalid_argument(name + " needs a value");
      value = args[i + 1];
      args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
      return true;
    }
    if (args[i].rfind(name + "=", 0) == 0) {
      value = args[i].substr(name.size() + 1);
      args.erase(args.begin() + long(i));
      return true;
    }
  }
  return false;
}

bool take_flag(Args& args, const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == name) {
      args.erase(args.begin() + long(i));
      return true;
    }
  return false;
}

long parse_int(const std::string& option, const std::string& value, long lo, long hi) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || v < lo || v > hi)
    throw std::invalid_argument(option + " must be an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got '" + value + "'");
  return v;
}

double parse_double(const std::string& option, const std::string& value) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty()) throw std::invalid_argument(option + " must be a number, got '" + value + "'");
  // No option means anything by inf or nan ("--lr inf" would pass a "> 0" check).
  if (!std::isfinite(v)) throw std::invalid_argument(option + " must be a finite number, got '" + value + "'");
  return v;
}

double parse_duration(const std::string& option, const std::string& value) {
  const std::string bad = option + " must be a duration such as 90m, 2h, 3600s or 3600 (seconds), got '" + value + "'";
  if (value.empty()) throw std::invalid_argument(bad);
  double unit = 1;
  std::string number = value;
  switch (value.back()) {
    case 's': unit = 1; number.pop_back(); break;
    case 'm': unit = 60; number.pop_back(); break;
    case 'h': unit = 3600; number.pop_back(); break;
    default: break;
  }
  double v = 0;
  try {
    v = parse_double(option, number);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(bad);
  }
  if (v < 0) throw std::invalid_argument(option + " must not be negative, got '" + value + "'");
  return v * unit;
}

DecodingArgs take_decoding(Args& args) {
  DecodingArgs d;
  std::string v;
  if (take_option(args, "--decoding", v)) d.named = models::Decoding::named(v);
  if (take_option(args, "--temperature", v)) d.temperature = float(parse_double("--temperature", v));
  if (take_option(args, "--prior-correction", v)) d.prior_correction = float(parse_double("--prior-correction", v));
  return d;
}

models::Decoding DecodingArgs::over(models::Decoding d) const {
  if (named) d = *named;
  if (temperature) d.temperature = *temperature;
  if (prior_correction) d.prior_correction = *prior_correction;
  models::check_decoding(d);
  return d;
}

int run_command(const std::string& cmd, const Args& args) {
  try {
    if (cmd == "demo") return cmd_demo(args);
    if (cmd == "prepare") return cmd_prepare(args);
    if (cmd == "train") return cmd_train(args);
    if (cmd == "eval") return cmd_eval(args);
    if (cmd == "colorize") return cmd_colorize(args);
    if (cmd == "export") return cmd_export(args);
    std::fprintf(stderr, "tinct: unknown command '%s'\n\n", cmd.c_str());
    return kUnknownCommand;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tinct %s: %s\n", cmd.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinct %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}

Precision take_precision(Args& args) {
  std::string v;
  return take_option(args, "--precision", v) ? parse_precision(v) : Precision::fp32;
}

Layout take_layout(Args& args, Precision p) {
  std::string v;
  const Layout l = take_option(args, "--layout", v) ? parse_layout(v) : Layout::nchw;
  check_layout(l, p);
  return l;
}

}  // namespace tinct::cli
