// fuzz_cli.cpp — libFuzzer target: the option parsing of every subcommand
// (prepare, train, eval, colorize, export), through the same run_command()
// that `tinct` calls. The first byte picks the subcommand; the rest, split at
// NUL bytes or newlines, are its arguments. Any input must end in an exit
// code (0, 1 or 2), never a crash or an uncaught exception.
//
// The commands run for real, so the target keeps them to a scratch folder:
// it works in an empty temporary directory, skips arguments that could
// reach outside it (a '/', a leading '.' other than "." itself, '~'), and
// empties the folder after each input. `demo` is left out: its valid
// options train a network for seconds, which would only slow the search.
// Run: tools/fuzz.sh cli 60 (stderr is closed there: the commands explain
// every refusal at length).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/cli.h"

namespace fs = std::filesystem;

namespace {

const fs::path& scratch() {
  static const fs::path dir = [] {
    char tmpl[] = "/tmp/tinct_fuzz_cli_XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (!d) std::abort();
    return fs::path(d);
  }();
  return dir;
}

bool confined(const std::string& a) {
  if (a.find('/') != std::string::npos || a.find('~') != std::string::npos) return false;
  return a.empty() || a[0] != '.' || a == ".";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kCommands[] = {"prepare", "train", "eval", "colorize", "export"};
  if (size < 1 || size > 512) return 0;
  const std::string cmd = kCommands[data[0] % 5];
  tinct::cli::Args args;
  std::string cur;
  for (size_t i = 1; i <= size; ++i) {
    if (i == size || data[i] == 0 || data[i] == '\n') {
      if (i < size || !cur.empty()) args.push_back(cur);
      cur.clear();
    } else {
      cur += char(data[i]);
    }
  }
  if (args.size() > 24) return 0;
  for (const std::string& a : args)
    if (!confined(a)) return 0;

  std::error_code ec;
  fs::current_path(scratch(), ec);
  if (ec) std::abort();
  const int code = tinct::cli::run_command(cmd, args);
  for (const auto& e : fs::directory_iterator(scratch(), ec)) fs::remove_all(e.path(), ec);
  if (code != 0 && code != 1 && code != 2 && code != 3 && code != 130 && code != tinct::cli::kUnknownCommand)
    __builtin_trap();  // an exit code no subcommand documents
  return 0;
}
