// precision.cpp — the process-wide precision setting (precision.h).
#include "engine/precision.h"

#include <atomic>
#include <stdexcept>

namespace tinct {

namespace {
std::atomic<Precision> g_precision{Precision::fp32};
}  // namespace

Precision precision() { return g_precision.load(std::memory_order_relaxed); }
void set_precision(Precision p) { g_precision.store(p, std::memory_order_relaxed); }

Precision parse_precision(const std::string& name, const std::string& option) {
  if (name == "fp32") return Precision::fp32;
  if (name == "tf32") return Precision::tf32;
  if (name == "bf16") return Precision::bf16;
  throw std::invalid_argument(option + " must be fp32, tf32 or bf16, got '" + name + "'");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::tf32: return "tf32";
    case Precision::bf16: return "bf16";
    default: return "fp32";
  }
}

}  // namespace tinct
