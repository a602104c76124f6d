// ops_train.cpp — tinct-kbench's loss and optimizer families (kernels/loss/,
// kernels/optim/): a loss's value (one double) and gradient; one optimizer
// step over n weights, single-tensor and multi-tensor (one launch for a table
// of parameter chunks).
#include <algorithm>
#include <array>
#include <stdexcept>
#include <vector>

#include "tools/kbench/kbench.h"

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif

namespace tinct::kbench {

namespace {

constexpr float kG = 0.7f;  // the upstream gradient of the loss


#define F(i) at<float>(p, i)
#define D(i) at<double>(p, i)

Problem pair_problem(const Shape& s, bool constant) {
  const size_t n = count_of(s);
  Problem pr;
  if (constant)
    pr.bufs = {{"pred", n}, {"grad", n, Buf::Out}, {"loss", 1, Buf::Out, Type::F64}};
  else
    pr.bufs = {{"pred", n}, {"target", n}, {"grad", n, Buf::Out}, {"loss", 1, Buf::Out, Type::F64}};
  pr.flops = 4.0 * n;
  pr.tol = 1e-5;
  return pr;
}

std::array<int, 3> nqhw(const Shape& s) {
  const int N = s.i("n", 2), Q = s.i("q", 13), HW = s.i("h", 5) * s.i("w", 7);
  if (N < 1 || Q < 1 || HW < 1) throw std::invalid_argument("--n --q --h --w must be >= 1");
  return {N, Q, HW};
}

#ifdef TINCT_HAS_CUDA
// Chunk sizes for the multi-tensor steps: n cut into 3 awkward pieces (as a
// model's weights, biases and batch-norm parameters).
std::vector<size_t> chunks_of(size_t n) {
  const size_t a = std::min(n, n / 2 + 1), b = (n - a) / 3;
  return {a, b, n - a - b};
}

// The chunk table of w, g, m, v (m, v may be null) in device memory.
int64_t upload_table(const Ptrs& p, size_t n, bool adam, const cuda::ParamChunk** dev) {
  std::vector<cuda::ParamChunk> t;
  size_t off = 0;
  for (size_t c : chunks_of(n)) {
    cuda::ParamChunk k;
    k.w = F(0) + off, k.g = F(1) + off, k.m = F(2) + off, k.v = adam ? F(3) + off : nullptr;
    k.n = int64_t(c);
    t.push_back(k);
    off += c;
  }
  const int64_t tiles = cuda::plan_param_tiles(t.data(), int(t.size()));
  void* d = gpu_scratch(t.size() * sizeof(cuda::ParamChunk));
  TINCT_CUDA_CHECK(cudaMemcpy(d, t.data(), t.size() * sizeof(cuda::ParamChunk), cudaMemcpyHostToDevice));
  *dev = static_cast<const cuda::ParamChunk*>(d);
  return tiles;
}
#endif

}  // namespace

void register_train() {
  // --- loss -----------------------------------------------------------------------
  {
    [[maybe_unused]] Op& op = add_op("loss", "mse", "mean (pred - target)^2 and its gradient x 0.7 (--n)",
                    [](const Shape& s) { return pair_problem(s, false); },
                    [](const Shape& s, const Ptrs& p) { *D(3) = cpu::mse_ref(count_of(s), F(0), F(1), kG, F(2)); });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/loss/cuda_1_fused.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::mse(count_of(s), F(0), F(1), kG, F(2), D(3)); }});
#endif
  }
  {
    [[maybe_unused]] Op& op = add_op("loss", "l1", "mean |pred - target| and its gradient x 0.7 (--n)",
                    [](const Shape& s) { return pair_problem(s, false); },
                    [](const Shape& s, const Ptrs& p) { *D(3) = cpu::l1_ref(count_of(s), F(0), F(1), kG, F(2)); });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/loss/cuda_1_fused.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::l1(count_of(s), F(0), F(1), kG, F(2), D(3)); }});
#endif
  }
  {
    [[maybe_unused]] Op& op = add_op("loss", "mse_const", "mean (pred - 1)^2 (the LSGAN loss) and its gradient x 0.7 (--n)",
                    [](const Shape& s) { return pair_problem(s, true); },
                    [](const Shape& s, const Ptrs& p) { *D(2) = cpu::mse_const_ref(count_of(s), F(0), 1.f, kG, F(1)); });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/loss/cuda_1_fused.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::mse_const(count_of(s), F(0), 1.f, kG, F(1), D(2)); }});
#endif
  }
  {
    auto problem = [](const Shape& s) {
      const auto d = nqhw(s);
      const size_t n = size_t(d[0]) * d[1] * d[2];
      Problem pr;
      pr.bufs = {{"logits", n, Buf::In, Type::F32, -4.f, 4.f}, {"target", n, Buf::In, Type::F32, 0.f, 1.f},
                 {"weight", size_t(d[0]) * d[2], Buf::In, Type::F32, 0.5f, 2.f}, {"grad", n, Buf::Out},
                 {"loss", 1, Buf::Out, Type::F64}};
      pr.flops = 30.0 * n;  // an exp and a few FMAs per logit, twice
      pr.tol = 1e-4;
      return pr;
    };
    Op& op = add_op("loss", "soft_ce", "soft-target cross-entropy over logits [N,Q,HW], per-pixel weights (--n --q --h --w)",
                    problem, [](const Shape& s, const Ptrs& p) {
                      const auto d = nqhw(s);
                      *D(4) = cpu::soft_ce_ref(d[0], d[1], d[2], F(0), F(1), F(2), kG, F(3));
                    });
    op.variants.push_back({"cpu", "kernels/loss/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                             const auto d = nqhw(s);
                             *D(4) = cpu::soft_ce(d[0], d[1], d[2], F(0), F(1), F(2), kG, F(3));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/loss/cuda_1_fused.cu", true, [](const Shape& s, const Ptrs& p) {
                             const auto d = nqhw(s);
                             cuda::soft_ce(d[0], d[1], d[2], F(0), F(1), F(2), kG, F(3), D(4));
                           }});
#endif
  }

  // --- optim -----------------------------------------------------------------------
  // SGD: lr 0.1, momentum 0.9, weight decay 1e-4, Nesterov, not the first step.
  // Adam: lr 1e-3, betas 0.9 / 0.999, eps 1e-8, AdamW decay 0.01, step 7.
  auto sgd_problem = [](const Shape& s) {
    const size_t n = count_of(s);
    Problem pr;
    pr.bufs = {{"w", n, Buf::InOut}, {"g", n}, {"m", n, Buf::InOut}};
    pr.flops = 6.0 * n;
    pr.tol = 1e-6;
    return pr;
  };
  auto adam_problem = [](const Shape& s) {
    const size_t n = count_of(s);
    Problem pr;
    pr.bufs = {{"w", n, Buf::InOut}, {"g", n}, {"m", n, Buf::InOut}, {"v", n, Buf::InOut, Type::F32, 0.f, 1.f}};
    pr.flops = 16.0 * n;
    pr.tol = 1e-6;
    return pr;
  };
  auto sgd_ref = [](const Shape& s, const Ptrs& p) { cpu::sgd_step_ref(count_of(s), F(0), F(1), F(2), 0.1f, 0.9f, 1e-4f, true, false); };
  auto adam_ref = [](const Shape& s, const Ptrs& p) {
    cpu::adam_step_ref(count_of(s), F(0), F(1), F(2), F(3), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 7);
  };
  {
    Op& op = add_op("optim", "sgd_step", "SGD, momentum 0.9, Nesterov, L2 1e-4 (--n)", sgd_problem, sgd_ref);
    op.variants.push_back({"cpu", "kernels/optim/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                             cpu::sgd_step(count_of(s), F(0), F(1), F(2), 0.1f, 0.9f, 1e-4f, true, false);
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/optim/cuda_1_multi_tensor.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::sgd_step(count_of(s), F(0), F(1), F(2), 0.1f, 0.9f, 1e-4f, true, false);
                           }});
#endif
  }
  {
    Op& op = add_op("optim", "adam_step", "AdamW, step 7 (--n)", adam_problem, adam_ref);
    op.variants.push_back({"cpu", "kernels/optim/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                             cpu::adam_step(count_of(s), F(0), F(1), F(2), F(3), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 7);
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/optim/cuda_1_multi_tensor.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::adam_step(count_of(s), F(0), F(1), F(2), F(3), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 7);
                           }});
#endif
  }
#ifdef TINCT_HAS_CUDA
  {
    Op& op = add_op("optim", "sgd_step_multi", "sgd_step over 3 parameter chunks in one launch (--n)", sgd_problem, sgd_ref);
    op.variants.push_back({"1", "kernels/optim/cuda_1_multi_tensor.cu", true, [](const Shape& s, const Ptrs& p) {
                             const cuda::ParamChunk* t = nullptr;
                             const int64_t tiles = upload_table(p, count_of(s), false, &t);
                             cuda::sgd_step_multi(t, 3, tiles, 0.1f, 0.9f, 1e-4f, true, false);
                           }});
  }
  {
    Op& op = add_op("optim", "adam_step_multi", "adam_step over 3 parameter chunks in one launch (--n)", adam_problem,
                    adam_ref);
    op.variants.push_back({"1", "kernels/optim/cuda_1_multi_tensor.cu", true, [](const Shape& s, const Ptrs& p) {
                             const cuda::ParamChunk* t = nullptr;
                             const int64_t tiles = upload_table(p, count_of(s), true, &t);
                             cuda::adam_step_multi(t, 3, tiles, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 7);
                           }});
  }
#endif
}

}  // namespace tinct::kbench
