// fuzz_safetensors.cpp — libFuzzer target: the safetensors reader (the
// 8-byte length, the JSON header, offsets, dtypes, the checksum and the
// finiteness checks of load_checkpoint). The input is served as a file from
// memory (memfd), since the reader works on paths. Any input must load or
// throw std::runtime_error. Run: tools/fuzz.sh safetensors 60
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "engine/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ::memfd_create("fuzz.safetensors", MFD_CLOEXEC);
  if (fd < 0) return 0;
  for (size_t done = 0; done < size;) {
    const ssize_t put = ::write(fd, data + done, size - done);
    if (put <= 0) {
      ::close(fd);
      return 0;
    }
    done += size_t(put);
  }
  try {
    tinct::Checkpoint c = tinct::load_checkpoint("/proc/self/fd/" + std::to_string(fd));
    for (auto& [name, t] : c.tensors)
      if (name.empty()) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  ::close(fd);
  return 0;
}
