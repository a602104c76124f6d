// ops_pointwise.cpp — tinct-kbench's activation, elementwise, concat,
// upsample, deconv_phases and reduce families (kernels/activation/,
// elementwise/, concat/, upsample/, deconv_phases/, reduce/): memory-bound
// ops, timed against the copy bandwidth.
#include <array>
#include <stdexcept>

#include "tools/kbench/kbench.h"

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif

namespace tinct::kbench {

namespace {



#define F(i) at<float>(p, i)

// An elementwise op over n floats: its buffers (inputs then y), 1 flop an element.
std::function<Problem(const Shape&)> ew(std::vector<std::string> ins, bool y_inout) {
  return [ins, y_inout](const Shape& s) {
    const size_t n = count_of(s);
    Problem pr;
    for (const auto& name : ins) pr.bufs.push_back({name, n});
    pr.bufs.push_back({"y", n, y_inout ? Buf::InOut : Buf::Out});
    pr.flops = double(n);
    return pr;
  };
}

}  // namespace

void register_pointwise() {
  // --- activation -----------------------------------------------------------------
  {
    auto problem = [](const Shape& s) {
      act_of(s);
      const size_t n = count_of(s);
      Problem pr;
      pr.bufs = {{"x", n, Buf::In, Type::F32, -4.f, 4.f}, {"y", n, Buf::Out}};
      return pr;
    };
    Op& op = add_op("activation", "act_fwd", "y = act(x) (--n --act relu|leaky|tanh|sigmoid; slope 0.2)", problem,
                    [](const Shape& s, const Ptrs& p) { cpu::act_fwd_ref(act_of(s), 0.2f, count_of(s), F(0), F(1)); });
    op.variants.push_back({"cpu", "kernels/activation/cpu.cpp", false,
                           [](const Shape& s, const Ptrs& p) { cpu::act_fwd(act_of(s), 0.2f, count_of(s), F(0), F(1)); }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/activation/cuda_1_vec4.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::act_fwd(act_of(s), 0.2f, count_of(s), F(0), F(1)); }});
#endif
  }
  {
    auto problem = [](const Shape& s) {
      act_of(s);
      const size_t n = count_of(s);
      Problem pr;
      pr.bufs = {{"x", n, Buf::In, Type::F32, -4.f, 4.f}, {"y", n}, {"dy", n}, {"dx", n, Buf::Out}};
      pr.init = [s, n](Host& h) {  // y = act(x), as the forward saved it
        cpu::act_fwd_ref(act_of(s), 0.2f, n, reinterpret_cast<float*>(h[0].data()), reinterpret_cast<float*>(h[1].data()));
      };
      return pr;
    };
    Op& op = add_op("activation", "act_bwd", "dx = dy act'(x or y) (--n --act)", problem,
                    [](const Shape& s, const Ptrs& p) { cpu::act_bwd_ref(act_of(s), 0.2f, count_of(s), F(0), F(1), F(2), F(3)); });
    op.variants.push_back({"cpu", "kernels/activation/cpu.cpp", false, [](const Shape& s, const Ptrs& p) {
                             cpu::act_bwd(act_of(s), 0.2f, count_of(s), F(0), F(1), F(2), F(3));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/activation/cuda_1_vec4.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::act_bwd(act_of(s), 0.2f, count_of(s), F(0), F(1), F(2), F(3));
                           }});
#endif
  }

  // --- elementwise ------------------------------------------------------------------
  {
    Op& op = add_op("elementwise", "add", "y = a + b (--n)", ew({"a", "b"}, false),
                    [](const Shape& s, const Ptrs& p) { cpu::add_ref(count_of(s), F(0), F(1), F(2)); });
    op.variants.push_back({"cpu", "kernels/elementwise/cpu.cpp", false,
                           [](const Shape& s, const Ptrs& p) { cpu::add(count_of(s), F(0), F(1), F(2)); }});
    // Test-only (hidden): one element off, to prove the runner fails a wrong kernel (ctest kbench_catches_wrong_kernel).
    op.variants.push_back({"broken_for_test", "tools/kbench/ops_pointwise.cpp", false,
                           [](const Shape& s, const Ptrs& p) {
                             const size_t n = count_of(s);
                             cpu::add(n, F(0), F(1), F(2));
                             F(2)[n / 2] += 1e-3f;
                           },
                           nullptr, true});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/elementwise/cuda_1_vec4.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::add(count_of(s), F(0), F(1), F(2)); }});
#endif
  }
  {
    Op& op = add_op("elementwise", "mul", "y = a * b (--n)", ew({"a", "b"}, false),
                    [](const Shape& s, const Ptrs& p) { cpu::mul_ref(count_of(s), F(0), F(1), F(2)); });
    op.variants.push_back({"cpu", "kernels/elementwise/cpu.cpp", false,
                           [](const Shape& s, const Ptrs& p) { cpu::mul(count_of(s), F(0), F(1), F(2)); }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/elementwise/cuda_1_vec4.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::mul(count_of(s), F(0), F(1), F(2)); }});
#endif
  }
  {
    Op& op = add_op("elementwise", "scale", "y = 0.37 x (--n)", ew({"x"}, false),
                    [](const Shape& s, const Ptrs& p) { cpu::scale_ref(count_of(s), 0.37f, F(0), F(1)); });
    op.variants.push_back({"cpu", "kernels/elementwise/cpu.cpp", false,
                           [](const Shape& s, const Ptrs& p) { cpu::scale(count_of(s), 0.37f, F(0), F(1)); }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/elementwise/cuda_1_vec4.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::scale(count_of(s), 0.37f, F(0), F(1)); }});
#endif
  }
  {
    Op& op = add_op("elementwise", "axpy", "y += -1.3 x (--n)", ew({"x"}, true),
                    [](const Shape& s, const Ptrs& p) { cpu::axpy_ref(count_of(s), -1.3f, F(0), F(1)); });
    op.variants.push_back({"cpu", "kernels/elementwise/cpu.cpp", false,
                           [](const Shape& s, const Ptrs& p) { cpu::axpy(count_of(s), -1.3f, F(0), F(1)); }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/elementwise/cuda_1_vec4.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::axpy(count_of(s), -1.3f, F(0), F(1)); }});
#endif
  }
  {
    Op& op = add_op("elementwise", "fill", "y = 2.5 (--n)", ew({}, false),
                    [](const Shape& s, const Ptrs& p) { cpu::fill_ref(count_of(s), 2.5f, F(0)); });
    op.variants.push_back({"cpu", "kernels/elementwise/cpu.cpp", false,
                           [](const Shape& s, const Ptrs& p) { cpu::fill(count_of(s), 2.5f, F(0)); }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/elementwise/cuda_1_vec4.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::fill(count_of(s), 2.5f, F(0)); }});
#endif
  }
#ifdef TINCT_HAS_CUDA
  {
    // GPU only: how the engine scales by a device scalar without a host copy.
    auto problem = [](const Shape& s) {
      const size_t n = count_of(s);
      Problem pr;
      pr.bufs = {{"s", 1}, {"x", n}, {"y", n, Buf::Out}};
      pr.flops = 2.0 * n;
      return pr;
    };
    Op& op = add_op("elementwise", "scale_by_scalar", "y = 0.37 s[0] x, s a device scalar (--n)", problem,
                    [](const Shape& s, const Ptrs& p) { cpu::scale_ref(count_of(s), 0.37f * F(0)[0], F(1), F(2)); });
    op.variants.push_back({"1", "kernels/elementwise/cuda_1_vec4.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::scale_by_scalar(count_of(s), F(0), 0.37f, F(1), F(2));
                           }});
  }
#endif

  // --- concat -------------------------------------------------------------------------
  // src [N, C, HW] at channel offset c0 = 3 of dst [N, C + 5, HW]; slice_add reads it back.
  {
    auto problem = [](const Shape& s) {
      const auto d = nchw_of(s);
      const size_t hw = size_t(d[2]) * d[3];
      Problem pr;
      pr.bufs = {{"src", size_t(d[0]) * d[1] * hw}, {"dst", size_t(d[0]) * (d[1] + 5) * hw, Buf::InOut}};
      return pr;
    };
    auto args = [](const Shape& s) { return nchw_of(s); };
    Op& op = add_op("concat", "channel_copy", "dst[n, 3 + c] = src[n, c], dst has C + 5 channels (--n --c --h --w)",
                    problem, [args](const Shape& s, const Ptrs& p) {
                      const auto d = args(s);
                      cpu::channel_copy_ref(d[0], d[2] * d[3], d[1], F(0), d[1] + 5, 3, F(1));
                    });
    op.variants.push_back({"cpu", "kernels/concat/cpu.cpp", false, [args](const Shape& s, const Ptrs& p) {
                             const auto d = args(s);
                             cpu::channel_copy(d[0], d[2] * d[3], d[1], F(0), d[1] + 5, 3, F(1));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/concat/cuda_1_vec4.cu", true, [args](const Shape& s, const Ptrs& p) {
                             const auto d = args(s);
                             cuda::channel_copy(d[0], d[2] * d[3], d[1], F(0), d[1] + 5, 3, F(1));
                           }});
#endif
    auto problem2 = [](const Shape& s) {
      const auto d = nchw_of(s);
      const size_t hw = size_t(d[2]) * d[3];
      Problem pr;
      pr.bufs = {{"src", size_t(d[0]) * (d[1] + 5) * hw}, {"dst", size_t(d[0]) * d[1] * hw, Buf::InOut}};
      pr.flops = double(d[0]) * d[1] * hw;
      return pr;
    };
    Op& op2 = add_op("concat", "channel_slice_add", "dst[n, c] += src[n, 3 + c], src has C + 5 channels (--n --c --h --w)",
                     problem2, [args](const Shape& s, const Ptrs& p) {
                       const auto d = args(s);
                       cpu::channel_slice_add_ref(d[0], d[2] * d[3], d[1] + 5, F(0), 3, d[1], F(1));
                     });
    op2.variants.push_back({"cpu", "kernels/concat/cpu.cpp", false, [args](const Shape& s, const Ptrs& p) {
                              const auto d = args(s);
                              cpu::channel_slice_add(d[0], d[2] * d[3], d[1] + 5, F(0), 3, d[1], F(1));
                            }});
#ifdef TINCT_HAS_CUDA
    op2.variants.push_back({"1", "kernels/concat/cuda_1_vec4.cu", true, [args](const Shape& s, const Ptrs& p) {
                              const auto d = args(s);
                              cuda::channel_slice_add(d[0], d[2] * d[3], d[1] + 5, F(0), 3, d[1], F(1));
                            }});
#endif
  }

  // --- layout -------------------------------------------------------------------------
  // x [N][C][H][W] -> [N][H][W][C] (nchw_to_nhwc) and back (engine/layout.h).
  for (const bool to_nhwc : {true, false}) {
    using Transpose = void (*)(const float*, float*, int, int, int);
    const Transpose ref = to_nhwc ? cpu::nchw_to_nhwc : cpu::nhwc_to_nchw;
    auto problem = [](const Shape& s) {
      const auto d = nchw_of(s);
      const size_t n = size_t(d[0]) * d[1] * d[2] * d[3];
      Problem pr;
      pr.bufs = {{"x", n}, {"y", n, Buf::Out}};
      return pr;
    };
    [[maybe_unused]] Op& op = add_op("layout", to_nhwc ? "nchw_to_nhwc" : "nhwc_to_nchw",
                    to_nhwc ? "y[n, h, w, c] = x[n, c, h, w] (--n --c --h --w)" : "y[n, c, h, w] = x[n, h, w, c] (--n --c --h --w)",
                    problem, [ref](const Shape& s, const Ptrs& p) {
                      const auto d = nchw_of(s);
                      ref(F(0), F(1), d[0], d[1], d[2] * d[3]);
                    });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/layout/cuda_1_tiled.cu", true, [to_nhwc](const Shape& s, const Ptrs& p) {
                             const auto d = nchw_of(s);
                             (to_nhwc ? cuda::nchw_to_nhwc : cuda::nhwc_to_nchw)(F(0), F(1), d[0], d[1], d[2] * d[3],
                                                                                nullptr);
                           }});
#endif
  }

  // --- upsample -----------------------------------------------------------------------
  {
    // --ho, --wo default to 2x - 1 (an awkward non-integer ratio).
    auto out = [](const Shape& s) {
      const auto d = nchw_of(s);
      const int ho = s.i("ho", 2 * d[2] - 1), wo = s.i("wo", 2 * d[3] + 3);
      if (ho < 1 || wo < 1) throw std::invalid_argument("--ho, --wo must be >= 1");
      return std::array<int, 2>{ho, wo};
    };
    auto problem = [out](bool bwd) {
      return [out, bwd](const Shape& s) {
        mode_of(s);
        const auto d = nchw_of(s);
        const auto o = out(s);
        const size_t small = size_t(d[0]) * d[1] * d[2] * d[3], big = size_t(d[0]) * d[1] * o[0] * o[1];
        Problem pr;
        pr.bufs = bwd ? std::vector<Buf>{{"dy", big}, {"dx", small, Buf::Out}}
                      : std::vector<Buf>{{"x", small}, {"y", big, Buf::Out}};
        pr.flops = 8.0 * big;
        return pr;
      };
    };
    const char* shape = "(--n --c --h --w --ho --wo --mode nearest|bilinear)";
    Op& f = add_op("upsample", "upsample_fwd", std::string("resize x [N,C,H,W] -> y [N,C,Ho,Wo] ") + shape, problem(false),
                   [out](const Shape& s, const Ptrs& p) {
                     const auto d = nchw_of(s);
                     const auto o = out(s);
                     cpu::upsample_fwd_ref(mode_of(s), d[0], d[1], d[2], d[3], o[0], o[1], F(0), F(1));
                   });
    f.variants.push_back({"cpu", "kernels/upsample/cpu.cpp", false, [out](const Shape& s, const Ptrs& p) {
                            const auto d = nchw_of(s);
                            const auto o = out(s);
                            cpu::upsample_fwd(mode_of(s), d[0], d[1], d[2], d[3], o[0], o[1], F(0), F(1));
                          }});
#ifdef TINCT_HAS_CUDA
    f.variants.push_back({"1", "kernels/upsample/cuda_1_tables.cu", true, [out](const Shape& s, const Ptrs& p) {
                            const auto d = nchw_of(s);
                            const auto o = out(s);
                            cuda::upsample_fwd(mode_of(s), d[0], d[1], d[2], d[3], o[0], o[1], F(0), F(1));
                          }});
#endif
    Op& b = add_op("upsample", "upsample_bwd", std::string("dx = the adjoint of the resize ") + shape, problem(true),
                   [out](const Shape& s, const Ptrs& p) {
                     const auto d = nchw_of(s);
                     const auto o = out(s);
                     cpu::upsample_bwd_ref(mode_of(s), d[0], d[1], d[2], d[3], o[0], o[1], F(0), F(1));
                   });
    b.variants.push_back({"cpu", "kernels/upsample/cpu.cpp", false, [out](const Shape& s, const Ptrs& p) {
                            const auto d = nchw_of(s);
                            const auto o = out(s);
                            cpu::upsample_bwd(mode_of(s), d[0], d[1], d[2], d[3], o[0], o[1], F(0), F(1));
                          }});
#ifdef TINCT_HAS_CUDA
    b.variants.push_back({"1", "kernels/upsample/cuda_1_tables.cu", true, [out](const Shape& s, const Ptrs& p) {
                            const auto d = nchw_of(s);
                            const auto o = out(s);
                            cuda::upsample_bwd(mode_of(s), d[0], d[1], d[2], d[3], o[0], o[1], F(0), F(1));
                          }});
#endif
  }

  // --- deconv_phases --------------------------------------------------------------------
  {
    // In place (InOut): the projection is idempotent, so every timed run
    // after the first sees a projected input and does the same work.
    auto problem = [](const Shape& s) {
      const size_t n = count_of(s);
      Problem pr;
      pr.bufs = {{"w", n * 16, Buf::InOut}};
      pr.flops = 32.0 * n;
      pr.tol = 0;  // bit for bit: the same double sums in the same order
      return pr;
    };
    [[maybe_unused]] Op& op = add_op(
        "deconv_phases", "deconv_phase_equalize",
        "a 4x4 stride-2 transposed convolution's phases given equal sums, in place (--n 4x4 kernels)", problem,
        [](const Shape& s, const Ptrs& p) { cpu::deconv_phase_equalize_ref(count_of(s), F(0)); });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/deconv_phases/cuda_1_per_kernel.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::deconv_phase_equalize(count_of(s), F(0));
                           }});
#endif
  }

  // --- reduce ---------------------------------------------------------------------------
  {
    [[maybe_unused]] Op& op = add_op(
        "reduce", "sum", "out = sum x, in double (--n)",
        [](const Shape& s) {
          const size_t n = count_of(s);
          Problem pr;
          pr.bufs = {{"x", n}, {"out", 1, Buf::Out, Type::F64}};
          pr.flops = double(n);
          pr.tol = 1e-6;
          return pr;
        },
        [](const Shape& s, const Ptrs& p) { *at<double>(p, 1) = cpu::sum_ref(count_of(s), F(0)); });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/reduce/cuda_1_two_stage.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::sum(count_of(s), F(0), at<double>(p, 1)); }});
#endif
  }
}

}  // namespace tinct::kbench
