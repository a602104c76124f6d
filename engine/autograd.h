// autograd.h — the tape: nodes, gradient accumulation, the NoGrad guard.
//
// Every differentiable op that sees an input requiring grad creates a Node:
// the inputs (for the reverse topological walk) and a backward function that
// receives d loss / d output and accumulates d loss / d input into each
// input's .grad through accumulate_grad(). backward() walks the nodes in
// reverse topological order, so a tensor's gradient is complete (all its uses
// summed) before its producer's backward runs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace tinct {

struct Node {
  std::string name;            // the op, for error messages and profiles
  std::vector<Tensor> inputs;  // tensors whose grads this node may produce
  std::function<void(const Tensor& grad_out)> backward;
  // Tears the graph below down iteratively: a chain of thousands of ops
  // would otherwise be freed by recursion deep enough to overflow the stack.
  ~Node();
};

// True unless a NoGrad guard is alive on this thread.
bool grad_enabled();

class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

// True when an op with these inputs must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Makes `out` the result of a node (sets requires_grad and grad_fn).
void record(Tensor& out, const char* name, std::vector<Tensor> inputs,
            std::function<void(const Tensor& grad_out)> backward);

// t.grad += g (takes g's storage when nothing else holds it). No-op when t
// does not require grad. Shapes must have the same number of elements; g is
// put in t's layout first (tensor.h), so a gradient always has its tensor's.
void accumulate_grad(const Tensor& t, const Tensor& g);

// Runs the backward pass from `root`, seeded with `seed`.
void run_backward(const Tensor& root, const Tensor& seed);

// While one is alive on this thread, run_backward calls `hook` with each leaf
// (a parameter) as soon as its gradient is complete: every op that used it
// has run its backward. Data-parallel training starts the gradients'
// all-reduce from it while the rest of the backward pass runs
// (dist::GradAverager).
class OnLeafGrad {
 public:
  explicit OnLeafGrad(std::function<void(TensorImpl*)> hook);
  ~OnLeafGrad();
  OnLeafGrad(const OnLeafGrad&) = delete;
  OnLeafGrad& operator=(const OnLeafGrad&) = delete;

 private:
  std::function<void(TensorImpl*)> hook_;
  const std::function<void(TensorImpl*)>* prev_;
};

}  // namespace tinct
