// profile.cpp — the CPU wall-clock table of profile.h: a stack of open ranges
// per thread, their exclusive times summed per name under one lock.
#include "engine/profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include <time.h>

namespace tinct::profile {

namespace {

bool from_environment() {
  const char* e = std::getenv("TINCT_PROFILE");
  return e && *e && std::strcmp(e, "0") != 0;
}

struct Times {
  double wall = 0, thread = 0, process = 0;
  Times operator-(const Times& o) const { return {wall - o.wall, thread - o.thread, process - o.process}; }
  Times& operator+=(const Times& o) {
    wall += o.wall, thread += o.thread, process += o.process;
    return *this;
  }
};

double clock_seconds(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

Times now_times() {
  return {now_seconds(), clock_seconds(CLOCK_THREAD_CPUTIME_ID), clock_seconds(CLOCK_PROCESS_CPUTIME_ID)};
}

struct Open {
  const char* name;
  Times start;
  Times nested;  // time of the ranges closed inside this one
};

thread_local std::vector<Open> t_stack;

std::mutex g_mutex;
std::map<std::string, Entry>& totals() {
  static std::map<std::string, Entry> m;
  return m;
}

}  // namespace

std::atomic<bool> g_enabled{from_environment()};

void enable(bool on) { g_enabled.store(on, std::memory_order_relaxed); }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void push(const char* name) { t_stack.push_back({name, now_times(), {}}); }

void pop() {
  if (t_stack.empty()) return;  // enabled while a range was open
  const Open o = t_stack.back();
  t_stack.pop_back();
  const Times total = now_times() - o.start;
  if (!t_stack.empty()) t_stack.back().nested += total;
  const Times own = total - o.nested;
  std::lock_guard<std::mutex> lock(g_mutex);
  Entry& e = totals()[o.name];
  e.name = o.name;
  e.seconds += own.wall;
  e.thread_cpu += own.thread;
  e.process_cpu += own.process;
  ++e.calls;
}

std::vector<Entry> take() {
  std::vector<Entry> out;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (auto& kv : totals()) out.push_back(kv.second);
    totals().clear();
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.seconds > b.seconds; });
  return out;
}

std::string table(const std::vector<Entry>& entries, int runs) {
  Entry sum;
  for (const Entry& e : entries) {
    sum.seconds += e.seconds;
    sum.thread_cpu += e.thread_cpu;
    sum.process_cpu += e.process_cpu;
  }
  runs = std::max(runs, 1);
  std::string out;
  char line[200];
  std::snprintf(line, sizeof line, "%-34s %9s %9s %9s %8s %7s\n", "range (ms per run)", "wall", "cpu this",
                "cpu all", "calls", "share");
  out += line;
  auto row = [&](const std::string& name, const Entry& e, bool with_calls) {
    std::snprintf(line, sizeof line, "%-34s %9.3f %9.3f %9.3f %8s %6.1f%%\n", name.c_str(), 1e3 * e.seconds / runs,
                  1e3 * e.thread_cpu / runs, 1e3 * e.process_cpu / runs,
                  with_calls ? std::to_string(e.calls / runs).c_str() : "",
                  sum.seconds > 0 ? 100.0 * e.seconds / sum.seconds : 0.0);
    out += line;
  };
  for (const Entry& e : entries) row(e.name, e, true);
  row("total", sum, false);
  return out;
}

}  // namespace tinct::profile
