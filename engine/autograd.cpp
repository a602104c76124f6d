// autograd.cpp — recording nodes and the reverse topological walk.
#include "engine/autograd.h"

#include <stdexcept>
#include <unordered_set>

#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace tinct {

static thread_local bool g_grad_enabled = true;
static thread_local const std::function<void(TensorImpl*)>* g_leaf_hook = nullptr;

OnLeafGrad::OnLeafGrad(std::function<void(TensorImpl*)> hook) : hook_(std::move(hook)), prev_(g_leaf_hook) {
  g_leaf_hook = &hook_;
}
OnLeafGrad::~OnLeafGrad() { g_leaf_hook = prev_; }

// Moves out the producer nodes that only this node keeps alive.
static void release_inputs(Node& n, std::vector<std::shared_ptr<Node>>& pending) {
  n.backward = nullptr;  // its captures hold the inputs too
  for (Tensor& t : n.inputs) {
    const auto& impl = t.impl_ptr();
    if (impl && impl.use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1)
      pending.push_back(std::move(impl->grad_fn));
  }
  n.inputs.clear();
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  release_inputs(*this, pending);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    release_inputs(*n, pending);
  }
}

bool grad_enabled() { return g_grad_enabled; }
NoGrad::NoGrad() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGrad::~NoGrad() { g_grad_enabled = prev_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->requires_grad()) return true;
  return false;
}

void record(Tensor& out, const char* name, std::vector<Tensor> inputs,
            std::function<void(const Tensor&)> backward) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
}

void accumulate_grad(const Tensor& t, const Tensor& g_in) {
  if (!t.requires_grad() || !g_in.defined()) return;
  check_arg(g_in.numel() == t.numel(), "accumulate_grad",
            "gradient of shape " + shape_str(g_in.shape()) + " for a tensor of shape " + shape_str(t.shape()));
  // A gradient has its tensor's layout (tensor.h).
  const Tensor g = g_in.channels_last() == t.channels_last() ? g_in : g_in.as_layout(t.channels_last());
  TensorImpl* impl = t.impl();
  if (!impl->grad.defined()) {
    // Take the buffer when only `g` holds it; else copy, so that two tensors
    // never share one gradient buffer (add() passes its grad to both inputs).
    if (g.impl()->storage.use_count() == 1 && g.impl()->offset == 0) {
      Tensor view = g.detach();
      view.impl()->shape = t.shape();
      impl->grad = view;
    } else {
      impl->grad = Tensor::empty_like(t);
      impl->grad.copy_from(g);
    }
    return;
  }
  check_arg(g.device() == impl->grad.device(), "accumulate_grad", "gradient on another device than the tensor's");
  const size_t n = size_t(t.numel());
  TINCT_DISPATCH(g.device(), cuda::axpy(n, 1.f, g.data(), impl->grad.data()),
                 cpu::axpy(n, 1.f, g.data(), impl->grad.data()));
}

void run_backward(const Tensor& root, const Tensor& seed) {
  check_arg(root.requires_grad(), "backward",
            "the tensor does not require grad (no parameter or input with requires_grad reached it)");
  check_arg(seed.numel() == root.numel(), "backward", "seed shape " + shape_str(seed.shape()) +
                                                          " does not match output " + shape_str(root.shape()));
  // Iterative DFS post-order: a node comes after every node that consumes it
  // once the order is reversed. A leaf, too, comes after all its consumers:
  // its gradient is complete when the walk reaches it.
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<TensorImpl*, size_t>> stack;
  stack.push_back({root.impl(), 0});
  seen.insert(root.impl());
  while (!stack.empty()) {
    auto& [impl, next] = stack.back();
    Node* node = impl->grad_fn.get();
    if (node && next < node->inputs.size()) {
      TensorImpl* in = node->inputs[next++].impl();
      if (in && in->requires_grad && seen.insert(in).second) stack.push_back({in, 0});
      continue;
    }
    order.push_back(impl);
    stack.pop_back();
  }
  accumulate_grad(root, seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* impl = *it;
    if (!impl->grad_fn) {
      if (g_leaf_hook && impl->grad.defined()) (*g_leaf_hook)(impl);
      continue;
    }
    if (!impl->grad.defined()) continue;
    Tensor g = impl->grad;
    impl->grad = Tensor();  // non-leaf gradients are not kept
    const std::string range_name = impl->grad_fn->name + " backward";
    ProfileRange range(range_name.c_str());
    impl->grad_fn->backward(g);
  }
}

}  // namespace tinct
