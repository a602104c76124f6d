// main.cpp — `tinct`: dispatch to the subcommands; --help, --version.
#include <cstdio>
#include <string>

#include "apps/cli.h"
#include "engine/device.h"
#include "kernels/kernels.h"

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
    // The GEMM / conv kernel set chosen at start-up (TINCT_CPU_KERNELS forces one),
    // and the bf16 GEMM that --precision bf16 runs on (TINCT_CPU_BF16=amx|avx512|on|off).
    std::printf("cpu kernels: %s (bf16: %s)\n", tinct::cpu::cpu_kernels_name(tinct::cpu::cpu_kernels()),
                tinct::cpu::cpu_bf16_gemm_name());
    return 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  const int code = run_command(cmd, args);
  if (code != kUnknownCommand) return code;
  std::fputs(kUsage, stderr);
  return 2;
}
