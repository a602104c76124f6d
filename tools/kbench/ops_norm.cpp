// ops_norm.cpp — tinct-kbench's batch norm (plain and fused with ReLU),
// per-channel bias and max pooling families (kernels/batchnorm/, bias/, pool/).
#include <array>
#include <stdexcept>
#include <vector>

#include "tools/kbench/kbench.h"

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif

namespace tinct::kbench {

namespace {

constexpr float kEps = 1e-5f, kMomentum = 0.1f;

// N, C, HW from --n --c --h --w.
std::array<int, 3> nchw(const Shape& s) {
  const auto d = nchw_of(s);
  return {d[0], d[1], d[2] * d[3]};
}
size_t numel(const std::array<int, 3>& d) { return size_t(d[0]) * d[1] * d[2]; }

// The batch statistics of buffer 0 (x) into buffers `mean`, `invstd`, as a training forward saves them.
std::function<void(Host&)> saved_stats(const Shape& s, int mean, int invstd) {
  const auto d = nchw(s);
  return [d, mean, invstd](Host& h) {
    std::vector<float> y(numel(d));
    cpu::batchnorm_fwd_train_ref(d[0], d[1], d[2], reinterpret_cast<const float*>(h[0].data()), nullptr, nullptr, kEps,
                                 kMomentum, nullptr, nullptr, y.data(), reinterpret_cast<float*>(h[mean].data()),
                                 reinterpret_cast<float*>(h[invstd].data()));
  };
}

#define F(i) at<float>(p, i)

}  // namespace

void register_norm() {
  const char* bn_shape = "(--n --c --h --w)";
  auto dims = [](const Shape& s) { return nchw(s); };
  // --- batchnorm ---------------------------------------------------------------
  auto fwd_train = [](const Shape& s) {
    const auto d = nchw(s);
    const size_t n = numel(d), c = size_t(d[1]);
    Problem pr;
    pr.bufs = {{"x", n, Buf::In, Type::F32, -1.f, 3.f},
               {"gamma", c},
               {"beta", c},
               {"run_mean", c, Buf::InOut},
               {"run_var", c, Buf::InOut, Type::F32, 0.5f, 2.f},
               {"y", n, Buf::Out},
               {"save_mean", c, Buf::Out},
               {"save_invstd", c, Buf::Out}};
    pr.flops = 8.0 * n;
    return pr;
  };
  auto fwd_eval = [](const Shape& s) {
    const auto d = nchw(s);
    const size_t n = numel(d), c = size_t(d[1]);
    Problem pr;
    pr.bufs = {{"x", n},  {"gamma", c}, {"beta", c}, {"run_mean", c}, {"run_var", c, Buf::In, Type::F32, 0.5f, 2.f},
               {"y", n, Buf::Out}};
    pr.flops = 2.0 * n;
    return pr;
  };
  {
    Op& op = add_op("batchnorm", "batchnorm_fwd_train", std::string("batch statistics, y, running stats ") + bn_shape,
                    fwd_train, [dims](const Shape& s, const Ptrs& p) {
                      const auto d = dims(s);
                      cpu::batchnorm_fwd_train_ref(d[0], d[1], d[2], F(0), F(1), F(2), kEps, kMomentum, F(3), F(4), F(5),
                                                   F(6), F(7));
                    });
    op.variants.push_back({"cpu", "kernels/batchnorm/cpu.cpp", false, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cpu::batchnorm_fwd_train(d[0], d[1], d[2], F(0), F(1), F(2), kEps, kMomentum, F(3), F(4),
                                                      F(5), F(6), F(7));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/batchnorm/cuda_1_channel_reduce.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::batchnorm_fwd_train(d[0], d[1], d[2], F(0), F(1), F(2), kEps, kMomentum, F(3), F(4),
                                                       F(5), F(6), F(7));
                           }});
#endif
  }
  {
    [[maybe_unused]] Op& op = add_op("batchnorm", "batchnorm_relu_fwd_train", std::string("relu(batch norm), training ") + bn_shape,
                    fwd_train, [dims](const Shape& s, const Ptrs& p) {
                      const auto d = dims(s);
                      cpu::batchnorm_relu_fwd_train_ref(d[0], d[1], d[2], F(0), F(1), F(2), kEps, kMomentum, F(3), F(4),
                                                        F(5), F(6), F(7));
                    });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/batchnorm/cuda_1_channel_reduce.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::batchnorm_relu_fwd_train(d[0], d[1], d[2], F(0), F(1), F(2), kEps, kMomentum, F(3),
                                                            F(4), F(5), F(6), F(7));
                           }});
#endif
  }
  {
    Op& op = add_op("batchnorm", "batchnorm_fwd_eval", std::string("y from the running statistics ") + bn_shape,
                    fwd_eval, [dims](const Shape& s, const Ptrs& p) {
                      const auto d = dims(s);
                      cpu::batchnorm_fwd_eval_ref(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5));
                    });
    op.variants.push_back({"cpu", "kernels/batchnorm/cpu.cpp", false, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cpu::batchnorm_fwd_eval(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/batchnorm/cuda_1_channel_reduce.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::batchnorm_fwd_eval(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5));
                           }});
#endif
  }
  {
    [[maybe_unused]] Op& op = add_op("batchnorm", "batchnorm_relu_fwd_eval", std::string("relu(batch norm), eval ") + bn_shape,
                    fwd_eval, [dims](const Shape& s, const Ptrs& p) {
                      const auto d = dims(s);
                      cpu::batchnorm_relu_fwd_eval_ref(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5));
                    });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/batchnorm/cuda_1_channel_reduce.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::batchnorm_relu_fwd_eval(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5));
                           }});
#endif
  }
  {
    // x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta
    auto problem = [](const Shape& s) {
      const auto d = nchw(s);
      const size_t n = numel(d), c = size_t(d[1]);
      Problem pr;
      pr.bufs = {{"x", n, Buf::In, Type::F32, -1.f, 3.f}, {"dy", n}, {"gamma", c}, {"save_mean", c}, {"save_invstd", c},
                 {"dx", n, Buf::Out}, {"dgamma", c, Buf::InOut}, {"dbeta", c, Buf::InOut}};
      pr.flops = 10.0 * n;
      pr.tol = 1e-3;  // dx subtracts two sums: cancellation
      pr.init = saved_stats(s, 3, 4);
      return pr;
    };
    Op& op = add_op("batchnorm", "batchnorm_bwd_train", std::string("dx, dgamma += , dbeta += (training) ") + bn_shape,
                    problem, [dims](const Shape& s, const Ptrs& p) {
                      const auto d = dims(s);
                      cpu::batchnorm_bwd_train_ref(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7));
                    });
    op.variants.push_back({"cpu", "kernels/batchnorm/cpu.cpp", false, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cpu::batchnorm_bwd_train(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/batchnorm/cuda_1_channel_reduce.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::batchnorm_bwd_train(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7));
                           }});
#endif
  }
  {
    // x, dy, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta
    auto problem = [](const Shape& s) {
      const auto d = nchw(s);
      const size_t n = numel(d), c = size_t(d[1]);
      Problem pr;
      pr.bufs = {{"x", n, Buf::In, Type::F32, -1.f, 3.f}, {"dy", n}, {"gamma", c}, {"beta", c}, {"save_mean", c},
                 {"save_invstd", c}, {"dx", n, Buf::Out}, {"dgamma", c, Buf::InOut}, {"dbeta", c, Buf::InOut}};
      pr.flops = 12.0 * n;
      pr.tol = 1e-3;
      pr.init = saved_stats(s, 4, 5);
      return pr;
    };
    [[maybe_unused]] Op& op = add_op("batchnorm", "batchnorm_relu_bwd_train",
                    std::string("backward of relu(batch norm), the mask recomputed ") + bn_shape, problem,
                    [dims](const Shape& s, const Ptrs& p) {
                      const auto d = dims(s);
                      cpu::batchnorm_relu_bwd_train_ref(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7),
                                                        F(8));
                    });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/batchnorm/cuda_1_channel_reduce.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::batchnorm_relu_bwd_train(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), F(5), F(6),
                                                            F(7), F(8));
                           }});
#endif
  }
  {
    auto problem = [](const Shape& s) {
      const auto d = nchw(s);
      const size_t n = numel(d), c = size_t(d[1]);
      Problem pr;
      pr.bufs = {{"x", n}, {"dy", n}, {"gamma", c}, {"run_mean", c}, {"run_var", c, Buf::In, Type::F32, 0.5f, 2.f},
                 {"dx", n, Buf::Out}, {"dgamma", c, Buf::InOut}, {"dbeta", c, Buf::InOut}};
      pr.flops = 6.0 * n;
      return pr;
    };
    Op& op = add_op("batchnorm", "batchnorm_bwd_eval", std::string("dx, dgamma += , dbeta += (eval) ") + bn_shape,
                    problem, [dims](const Shape& s, const Ptrs& p) {
                      const auto d = dims(s);
                      cpu::batchnorm_bwd_eval_ref(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5), F(6), F(7));
                    });
    op.variants.push_back({"cpu", "kernels/batchnorm/cpu.cpp", false, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cpu::batchnorm_bwd_eval(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5), F(6), F(7));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/batchnorm/cuda_1_channel_reduce.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::batchnorm_bwd_eval(d[0], d[1], d[2], F(0), F(1), F(2), F(3), F(4), kEps, F(5), F(6),
                                                      F(7));
                           }});
#endif
  }

  // --- bias ---------------------------------------------------------------------
  {
    Op& op = add_op(
        "bias", "bias_add", "y[n,c,i] += b[c] (--n --c --h --w)",
        [](const Shape& s) {
          const auto d = nchw(s);
          Problem pr;
          pr.bufs = {{"b", size_t(d[1])}, {"y", numel(d), Buf::InOut}};
          pr.flops = double(numel(d));
          return pr;
        },
        [dims](const Shape& s, const Ptrs& p) {
          const auto d = dims(s);
          cpu::bias_add_ref(d[0], d[1], d[2], F(0), F(1));
        });
    op.variants.push_back({"cpu", "kernels/bias/cpu.cpp", false, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cpu::bias_add(d[0], d[1], d[2], F(0), F(1));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/bias/cuda_1_vec4.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::bias_add(d[0], d[1], d[2], F(0), F(1));
                           }});
#endif
  }
  {
    Op& op = add_op(
        "bias", "bias_grad", "db[c] += sum over n, i of dy[n,c,i] (--n --c --h --w)",
        [](const Shape& s) {
          const auto d = nchw(s);
          Problem pr;
          pr.bufs = {{"dy", numel(d)}, {"db", size_t(d[1]), Buf::InOut}};
          pr.flops = double(numel(d));
          return pr;
        },
        [dims](const Shape& s, const Ptrs& p) {
          const auto d = dims(s);
          cpu::bias_grad_ref(d[0], d[1], d[2], F(0), F(1));
        });
    op.variants.push_back({"cpu", "kernels/bias/cpu.cpp", false, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cpu::bias_grad(d[0], d[1], d[2], F(0), F(1));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/bias/cuda_1_vec4.cu", true, [dims](const Shape& s, const Ptrs& p) {
                             const auto d = dims(s);
                             cuda::bias_grad(d[0], d[1], d[2], F(0), F(1));
                           }});
#endif
  }

  // --- pool ---------------------------------------------------------------------
  // NCHW, and channels-last (the _nhwc ops: x [N][H][W][C], engine/layout.h).
  const char* pool_shape = "(--n --c --h --w --kernel --stride --pad)";
  using PoolFwd = void (*)(const Pool2dParams&, const float*, float*, int32_t*);
  using PoolBwd = void (*)(const Pool2dParams&, const float*, const int32_t*, float*);
  for (const bool nhwc : {false, true}) {
    const std::string suffix = nhwc ? "_nhwc" : "", layout = nhwc ? ", channels-last " : " ";
    const PoolFwd fwd_ref = nhwc ? cpu::maxpool2d_fwd_nhwc_ref : cpu::maxpool2d_fwd_ref;
    const PoolBwd bwd_ref = nhwc ? cpu::maxpool2d_bwd_nhwc_ref : cpu::maxpool2d_bwd_ref;
    Op& op = add_op(
        "pool", "maxpool2d_fwd" + suffix, "y = window max, argmax = its h*W + w" + layout + pool_shape,
        [](const Shape& s) {
          const Pool2dParams q = pool_params(s);
          const size_t nx = size_t(q.N) * q.C * q.H * q.W, ny = size_t(q.N) * q.C * q.P * q.Q;
          Problem pr;
          pr.bufs = {{"x", nx}, {"y", ny, Buf::Out}, {"argmax", ny, Buf::Out, Type::I32}};
          return pr;
        },
        [fwd_ref](const Shape& s, const Ptrs& p) { fwd_ref(pool_params(s), F(0), F(1), at<int32_t>(p, 2)); });
    if (!nhwc)
      op.variants.push_back({"cpu", "kernels/pool/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                               cpu::maxpool2d_fwd(pool_params(s), F(0), F(1), at<int32_t>(p, 2));
                             }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/pool/cuda_1_gather.cu", true, [nhwc](const Shape& s, const Ptrs& p) {
                             (nhwc ? cuda::maxpool2d_fwd_nhwc : cuda::maxpool2d_fwd)(pool_params(s), F(0), F(1),
                                                                                    at<int32_t>(p, 2), nullptr);
                           }});
#endif
    Op& op2 = add_op(
        "pool", "maxpool2d_bwd" + suffix, "dx = the dy whose argmax is each input" + layout + pool_shape,
        [fwd_ref](const Shape& s) {
          const Pool2dParams q = pool_params(s);
          const size_t nx = size_t(q.N) * q.C * q.H * q.W, ny = size_t(q.N) * q.C * q.P * q.Q;
          Problem pr;
          pr.bufs = {{"dy", ny}, {"argmax", ny, Buf::In, Type::I32}, {"dx", nx, Buf::Out}};
          pr.init = [q, nx, ny, fwd_ref](Host& h) {  // the argmax of a random input
            std::vector<float> x(nx), y(ny);
            for (size_t i = 0; i < nx; ++i) x[i] = float((i * 2654435761u) % 1000) / 1000.f;
            fwd_ref(q, x.data(), y.data(), reinterpret_cast<int32_t*>(h[1].data()));
          };
          return pr;
        },
        [bwd_ref](const Shape& s, const Ptrs& p) { bwd_ref(pool_params(s), F(0), at<int32_t>(p, 1), F(2)); });
    if (!nhwc)
      op2.variants.push_back({"cpu", "kernels/pool/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                                cpu::maxpool2d_bwd(pool_params(s), F(0), at<int32_t>(p, 1), F(2));
                              }});
#ifdef TINCT_HAS_CUDA
    op2.variants.push_back({"1", "kernels/pool/cuda_1_gather.cu", true, [nhwc](const Shape& s, const Ptrs& p) {
                              (nhwc ? cuda::maxpool2d_bwd_nhwc : cuda::maxpool2d_bwd)(pool_params(s), F(0),
                                                                                     at<int32_t>(p, 1), F(2), nullptr);
                            }});
#endif
  }
}

}  // namespace tinct::kbench
