// test_support.h — small pieces several test files share: a temporary
// folder removed at the end of its scope, and running a shell command (the
// tinct binary) with its exit code and output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "doctest/doctest.h"

namespace tinct::testing {

// A fresh folder under the system's temp dir, named tinct_<tag>_<pid>_<n>.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() /
           ("tinct_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// The tinct binary: $TINCT_BIN (set by ctest), else ../tinct from the tests' folder.
inline std::string tinct_bin() {
  const char* b = std::getenv("TINCT_BIN");
  return b ? b : (std::filesystem::current_path() / ".." / "tinct").string();
}

// s in single quotes for the shell.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Run {
  int code = -1;
  std::string output;  // what the command printed (stdout, and stderr if redirected)
};

// Runs `cmd` in /bin/sh; the code is the exit status, or 128 + the signal.
inline Run run_shell(const std::string& cmd) {
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// The tinct binary with `args` (already quoted where needed), stdout and stderr together.
inline Run run_tinct(const std::string& args) { return run_shell(shell_quote(tinct_bin()) + " " + args + " 2>&1"); }

}  // namespace tinct::testing
