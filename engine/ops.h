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

// --- convolutions (ops/conv.cpp, ops/conv_transpose.cpp) --------------------
// x[N,C,H,W], w[K,C,R,S], b[K] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride = 1, int padding = 0,
              int dilation = 1);
// x[N,Cin,H,W], w[Cin,Cout,R,S] (PyTorch's layout), b[Cout] or undefined.
// Output size (H-1)*stride - 2*padding + dilation*(R-1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride = 1,
                        int padding = 0, int output_padding = 0, int dilation = 1);

// --- normalisation (ops/batchnorm.cpp) ---------------------------------------
// training: normalise with batch statistics and update running_mean/var in
// place (momentum as PyTorch); eval: normalise with the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);
// relu(batch_norm(...)), the same values and gradients. On the GPU in
// training, one fused kernel each way, and the pre-activation is never
// stored (the backward recomputes the ReLU mask from x and the statistics).
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
Tensor concat(const std::vector<Tensor>& xs);  // along channels (dim 1)
Tensor reshape(const Tensor& x, const Shape& shape);  // shares storage

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
