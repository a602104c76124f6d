// profile.cpp — the op table of profile.h: wall time per range name.
#include "engine/profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include <time.h>

#include "engine/device.h"

namespace tinct::profile {

namespace {

using Clock = std::chrono::steady_clock;

double cpu_ms(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return 1e3 * double(ts.tv_sec) + 1e-6 * double(ts.tv_nsec);
}

struct Frame {
  const char* name;
  Clock::time_point start;
  double child_ms;  // time of the ranges opened inside this one
  double thread_cpu_start, process_cpu_start;
  double child_thread_cpu_ms = 0, child_process_cpu_ms = 0;
};

struct Totals {
  std::int64_t calls = 0;
  double total_ms = 0, self_ms = 0, self_thread_cpu_ms = 0, self_process_cpu_ms = 0;
};

bool g_sync = false;
std::mutex g_mu;
// Never destroyed: the table is printed by an atexit handler, which may run
// after static objects made later than its registration are gone.
std::map<std::string, Totals>& totals() {
  static auto* t = new std::map<std::string, Totals>;
  return *t;
}
thread_local std::vector<Frame> t_stack;

void print_at_exit() {
  const std::vector<Row> rows = table();
  if (rows.empty()) return;
  std::fprintf(stderr, "\nTINCT_PROFILE: wall time per op (%s)\n%s", g_sync ? "device synchronised per op" : "host",
               format(rows).c_str());
}

bool from_environment() {
  const char* v = std::getenv("TINCT_PROFILE");
  if (!v || !*v || std::strcmp(v, "0") == 0) return false;
  g_sync = std::strcmp(v, "sync") == 0;
  std::atexit(print_at_exit);
  return true;
}

}  // namespace

bool g_enabled = from_environment();

void enable(bool sync) {
  g_sync = sync;
  g_enabled = true;
}

void disable() { g_enabled = false; }

void reset() {
  std::lock_guard<std::mutex> lock(g_mu);
  totals().clear();
}

std::int64_t begin(const char* name) {
  if (g_sync) device::synchronize();  // the work queued before this range is not its time
  t_stack.push_back(Frame{name, Clock::now(), 0.0, cpu_ms(CLOCK_THREAD_CPUTIME_ID),
                           cpu_ms(CLOCK_PROCESS_CPUTIME_ID)});
  return std::int64_t(t_stack.size()) - 1;
}

void end(std::int64_t token) {
  // A range enabled while another was open has no frame below it: pop only ours.
  if (token != std::int64_t(t_stack.size()) - 1) return;
  if (g_sync) device::synchronize();
  const Frame f = t_stack.back();
  t_stack.pop_back();
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - f.start).count();
  const double thread_cpu = cpu_ms(CLOCK_THREAD_CPUTIME_ID) - f.thread_cpu_start;
  const double process_cpu = cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - f.process_cpu_start;
  if (!t_stack.empty()) {
    t_stack.back().child_ms += ms;
    t_stack.back().child_thread_cpu_ms += thread_cpu;
    t_stack.back().child_process_cpu_ms += process_cpu;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  Totals& t = totals()[f.name];
  ++t.calls;
  t.total_ms += ms;
  t.self_ms += std::max(0.0, ms - f.child_ms);
  t.self_thread_cpu_ms += std::max(0.0, thread_cpu - f.child_thread_cpu_ms);
  t.self_process_cpu_ms += std::max(0.0, process_cpu - f.child_process_cpu_ms);
}

std::vector<Row> table() {
  std::vector<Row> rows;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (const auto& kv : totals()) rows.push_back(Row{kv.first, kv.second.calls, kv.second.total_ms, kv.second.self_ms,
                                                         kv.second.self_thread_cpu_ms, kv.second.self_process_cpu_ms});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.self_ms != b.self_ms ? a.self_ms > b.self_ms : a.name < b.name;
  });
  return rows;
}

std::string format(const std::vector<Row>& rows) {
  double all = 0;
  for (const Row& r : rows) all += r.self_ms;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-32s %8s %11s %11s %7s\n", "op", "calls", "total ms", "self ms", "self %");
  out += line;
  for (const Row& r : rows) {
    std::snprintf(line, sizeof line, "%-32s %8lld %11.2f %11.2f %6.1f%%\n", r.name.c_str(), (long long)r.calls,
                  r.total_ms, r.self_ms, all > 0 ? 100.0 * r.self_ms / all : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-32s %8s %11s %11.2f\n", "all ops", "", "", all);
  out += line;
  return out;
}

}  // namespace tinct::profile
