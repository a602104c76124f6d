// ops.h — the differentiable ops of tinct (forward + backward each).
//
// Each op checks its arguments (a wrong shape is an std::invalid_argument
// naming the op and the shapes), runs the forward kernel, and, when an input
// requires grad, records a node whose backward calls the backward kernels.
// One op family a file in engine/ops/.
#pragma once

#include <vector>

#include "engine/tensor.h"
#include "kernels/kernels.h"

namespace tinct::ops {

// --- convolutions (ops/conv.cpp, ops/conv_transpose.cpp, ops/deconv_phases.cpp)
// x[N,C,H,W], w[K,C,R,S], b[K] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride = 1, int padding = 0,
              int dilation = 1);
// act(conv2d(x, w, b)) for act ReLU, or leaky ReLU with slope >= 0: the
// same values and gradients as the two ops. On the CPU (unless TINCT_FUSE=0)
// one op: the activation runs in the convolution's epilogue, one node is
// recorded, and its backward masks gy by the output's sign in one pass
// before the convolution's backward passes (the pre-activation is never
// stored). On the GPU, or with TINCT_FUSE=0, conv2d then relu / leaky_relu.
// Another activation is an std::invalid_argument.
Tensor conv2d_act(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding, int dilation, Act act,
                  float slope = 0.f);
Tensor conv2d_relu(const Tensor& x, const Tensor& w, const Tensor& b, int stride = 1, int padding = 0,
                   int dilation = 1);  // conv2d_act with Act::Relu
// x[N,Cin,H,W], w[Cin,Cout,R,S] (PyTorch's layout), b[Cout] or undefined.
// Output size (H-1)*stride - 2*padding + dilation*(R-1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride = 1,
                        int padding = 0, int output_padding = 0, int dilation = 1);

// The [Cin, Cout, 4, 4] weights of a stride-2, padding-1 transposed
// convolution, or their gradient, projected IN PLACE on their device so that
// each 4x4 kernel's four output phases have the same tap sum
// (cpu::deconv_phase_equalize_ref; models/deconv_phases.h says why). Not
// recorded by autograd: it edits parameters and gradients between steps.
// Another shape, or a channels-last tensor: std::invalid_argument.
void equalize_deconv_phases_(Tensor& w);

// --- fused inference convolutions (ops/conv_fused.cpp) ----------------------
// The eval-mode layers that follow a convolution, run as its epilogue while
// each strip of the output is in cache (kernels.h, struct Epilogue):
//   y = post_bn(act(bn(conv(x, w) + b) + residual))
// Every part is optional. On the CPU, when no input needs a gradient and
// fusion is on, one pass does it all (batch norm folded into a per-channel
// scale and shift); otherwise (CUDA, autograd, TINCT_FUSE=0) the same ops are
// composed, so the result is the same up to float rounding.
struct EvalBatchNorm {  // batch norm with its running statistics
  Tensor gamma, beta, mean, var;
  float eps = 1e-5f;
  bool defined() const { return mean.defined(); }
};
struct ConvFusion {
  EvalBatchNorm bn;          // before the activation
  Tensor residual;           // added before the activation; the output's shape
  bool has_act = false;
  Act act = Act::Relu;
  float slope = 0.0f;        // LeakyRelu
  EvalBatchNorm post_bn;     // after the activation
};
Tensor conv2d_fused(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding, int dilation,
                    const ConvFusion& f);
Tensor conv_transpose2d_fused(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int padding,
                              int output_padding, int dilation, const ConvFusion& f);
// False when TINCT_FUSE=0 is in the environment (read once): the fused ops
// then compose, to measure what fusion buys.
bool fusion_enabled();

// --- normalisation (ops/batchnorm.cpp) ---------------------------------------
// training: normalise with batch statistics and update running_mean/var in
// place (momentum as PyTorch); eval: normalise with the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);
// Ghost batch norm: TINCT_BN_GROUPS=G in the environment (read once) makes
// training-mode batch_norm normalise each of G equal slices of the batch
// (samples [g N/G, (g+1) N/G)) with its own statistics and set the running
// statistics to the mean of the slices' updates: what G data-parallel ranks
// with per-rank statistics compute when their running statistics are
// averaged (engine/dist.h). 1 (plain batch norm) without it; tests use it to
// compare 1 process with G ranks exactly in maths.
int batch_norm_groups();
// act(batch_norm(...)), the same values and gradients (to float rounding).
// In training (without ghost batches), one fused kernel each way and the
// pre-activation is never stored: on the CPU for ReLU and leaky ReLU with
// slope >= 0 (the backward reads the mask off the output; TINCT_FUSE=0
// composes instead), on the GPU for ReLU (the backward recomputes the mask
// from x and the statistics). Otherwise the two ops run one after the other.
Tensor batch_norm_act(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                      Tensor& running_var, bool training, Act act, float slope = 0.f, float momentum = 0.1f,
                      float eps = 1e-5f);
// batch_norm_act with Act::Relu.
Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                       Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);

// --- activations (ops/activation.cpp) ----------------------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float slope = 0.2f);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);

// --- pooling, resampling, concat, shape (ops/pool.cpp, ops/upsample.cpp, ...) -
Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding = 0);
Tensor upsample(const Tensor& x, int out_h, int out_w, Upsample mode);
Tensor concat(const std::vector<Tensor>& xs);  // along channels (dim 1), in xs[0]'s layout
Tensor reshape(const Tensor& x, const Shape& shape);  // shares storage (of an NCHW copy if channels-last)

// --- memory layout (ops/layout.cpp; engine/layout.h) -------------------------
// The same values in channels-last / NCHW memory (4-D CUDA tensors for
// channels-last); gradients come back in the input's layout. Each returns
// its input when it is in that layout already.
Tensor to_channels_last(const Tensor& x);
Tensor to_nchw(const Tensor& x);
// A network's edges: layout_in makes a 4-D input channels-last where the
// engine's layout asks for it (channels_last_on), layout_out returns NCHW.
Tensor layout_in(const Tensor& x);
Tensor layout_out(const Tensor& y);
// t in ref's layout (converted, with its gradient, when they differ).
Tensor like_layout(const Tensor& t, const Tensor& ref);

// --- elementwise (ops/elementwise.cpp) ---------------------------------------
// b has a's shape, or holds one value per channel ([C] or [1,C,1,1]) and is
// broadcast over N, H, W.
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);  // same shapes
Tensor mul(const Tensor& a, float s);

// --- reductions (ops/reduce.cpp) ---------------------------------------------
Tensor sum(const Tensor& x);   // a scalar
Tensor mean(const Tensor& x);  // a scalar

// --- losses, each a scalar (ops/loss.cpp) ------------------------------------
Tensor mse_loss(const Tensor& pred, const Tensor& target);
Tensor l1_loss(const Tensor& pred, const Tensor& target);
// logits[N,Q,H,W], soft targets[N,Q,H,W], per-pixel weights [N,1,H,W] or undefined.
Tensor soft_cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight);
// LSGAN: mean((pred - 1)^2) when real, mean(pred^2) when fake.
Tensor lsgan_loss(const Tensor& pred, bool real);

}  // namespace tinct::ops
