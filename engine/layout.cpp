// layout.cpp — the process-wide layout setting (layout.h).
#include "engine/layout.h"

#include <atomic>
#include <stdexcept>

namespace tinct {

namespace {
std::atomic<Layout> g_layout{Layout::nchw};
}  // namespace

Layout layout() { return g_layout.load(std::memory_order_relaxed); }
void set_layout(Layout l) { g_layout.store(l, std::memory_order_relaxed); }

Layout parse_layout(const std::string& name, const std::string& option) {
  if (name == "nchw") return Layout::nchw;
  if (name == "nhwc") return Layout::nhwc;
  throw std::invalid_argument(option + " must be nchw or nhwc, got '" + name + "'");
}

const char* layout_name(Layout l) { return l == Layout::nhwc ? "nhwc" : "nchw"; }

void check_layout(Layout l, Precision p) {
  if (l == Layout::nhwc && p == Precision::fp32)
    throw std::invalid_argument(
        "--layout nhwc needs --precision tf32 or bf16 (the channels-last convolutions run on the tensor cores)");
}

bool channels_last_on(Device d) { return layout() == Layout::nhwc && d == Device::CUDA; }

}  // namespace tinct
