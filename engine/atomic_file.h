// atomic_file.h — files that appear whole or not at all.
//
// Every file tinct writes for a user (checkpoints, weights, colorized photos,
// sample grids, logs it rewrites) goes through here: the bytes go to
// PATH.tmp.<pid> in the same folder, are fsync'd, then renamed over PATH. A
// full disk, a crash or a kill leaves PATH as it was (absent, or the old
// file), never a truncated file that a later run would trust or refuse as
// "existing". A failed write removes its temporary file; a killed one leaves
// it behind, and remove_stale_temp_files() cleans those up later.
#pragma once

#include <cstddef>
#include <string>

namespace tinct {

// A temporary file beside `path` that becomes `path` only on commit();
// destroyed uncommitted (an exception on the way), it is deleted. Errors are
// std::runtime_error messages that start with `path` and give the system's
// reason (errno), e.g. "out.png: write failed: No space left on device".
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* src, size_t n);
  // fsync, close, rename over the destination, fsync the folder.
  void commit();
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole of `bytes` as `path`, atomically.
void write_file_atomic(const std::string& path, const void* bytes, size_t n);

// Removes the files NAME.tmp.<pid> in `dir` (not recursive) whose writing
// process no longer runs: the debris of a write that was killed. Returns how
// many were removed. A missing folder has none.
size_t remove_stale_temp_files(const std::string& dir);

}  // namespace tinct
