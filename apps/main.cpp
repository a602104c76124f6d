// main.cpp — `tinct`: dispatch to the subcommands; --help, --version.
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "apps/cli.h"
#include "engine/device.h"

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

}  // namespace tinct::cli

static const char* kUsage =
    "tinct " TINCT_VERSION " — image colorization on a from-scratch deep-learning engine\n"
    "\n"
    "usage: tinct <command> [options]\n"
    "\n"
    "commands:\n"
    "  colorize  colorize photos with the three models (or one); --compare writes a comparison page\n"
    "  demo      train a small conv net on a fixed mapping on the CPU and show the loss fall\n"
    "  export    write a checkpoint's weights alone (fp16 by default), as shipped in weights/\n"
    "  prepare   pack folders of photos into one training file (resize, crop, filter)\n"
    "  train     train a colorizer (regression, classification, gan) on a prepared pack\n"
    "  eval      measure colorizers on a folder of photos (report, plot), or the human test page\n"
    "\n"
    "options:\n"
    "  -h, --help     this help (also: tinct <command> --help)\n"
    "  --version      the version and the backends this build has\n";

int main(int argc, char** argv) {
  using namespace tinct::cli;
  Args args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
#ifdef TINCT_HAS_CUDA
    std::string why;
    const bool gpu = tinct::cuda_available(&why);
    std::printf("tinct %s (backends: cpu, cuda; %s)\n", TINCT_VERSION,
                gpu ? tinct::describe_device(tinct::Device::CUDA).c_str() : ("no usable GPU: " + why).c_str());
#else
    std::printf("tinct %s (backends: cpu)\n", TINCT_VERSION);
#endif
    return 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "demo") return cmd_demo(args);
    if (cmd == "prepare") return cmd_prepare(args);
    if (cmd == "train") return cmd_train(args);
    if (cmd == "eval") return cmd_eval(args);
    if (cmd == "colorize") return cmd_colorize(args);
    if (cmd == "export") return cmd_export(args);
    std::fprintf(stderr, "tinct: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tinct %s: %s\n", cmd.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinct %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
