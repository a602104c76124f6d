// replay_main.cpp — the main() of a fuzz target built without libFuzzer (any
// compiler): runs LLVMFuzzerTestOneInput on every file given, or under every
// folder given (the committed seed corpus and the inputs of past findings),
// so that each is a regression test in ctest. Prints how many ran.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  size_t ran = 0;
  auto one = [&](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++ran;
  };
  std::vector<fs::path> args;  // absolute: the CLI target changes the working directory
  for (int i = 1; i < argc; ++i) args.push_back(fs::absolute(argv[i]));
  for (const fs::path& p : args) {
    if (fs::is_directory(p)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) one(f);
    } else {
      one(p);
    }
  }
  std::printf("%zu passed, 0 failed\n", ran);
  return ran > 0 ? 0 : 1;
}
