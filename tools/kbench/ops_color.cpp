// ops_color.cpp — tinct-kbench's colour family (kernels/color/): sRGB bytes
// <-> CIE LAB and the soft-encoding of ab over Q bin centres (here a grid of
// spacing 10 over [-110, 110]^2, the first --q of its 529 points). The fast
// CPU paths of the conversions live in models/ (the image functions of
// models/color/lab.cpp, the loader's FastLab): they run here as cpu variants.
#include <stdexcept>

#include "kernels/color/ref.h"
#include "models/color/lab.h"
#include "models/data/loader.h"
#include "tools/kbench/kbench.h"

#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif

namespace tinct::kbench {

namespace {


int bins(const Shape& s) {
  const int q = s.i("q", 313);
  if (q < 5 || q > 529) throw std::invalid_argument("--q must be in 5..529");
  return q;
}

#define F(i) at<float>(p, i)
#define U8(i) at<uint8_t>(p, i)

}  // namespace

void register_color() {
  {
    Op& op = add_op(
        "color", "srgb8_to_lab", "interleaved sRGB bytes [3n] -> L [n], ab [2, n] (--n)",
        [](const Shape& s) {
          const size_t n = count_of(s);
          Problem pr;
          pr.bufs = {{"rgb", 3 * n, Buf::In, Type::U8, 0.f, 256.f}, {"L", n, Buf::Out}, {"ab", 2 * n, Buf::Out}};
          pr.tol = 2e-3;  // the GPU works in float: ~1e-4 on a, b (500 x the rounding of f)
          return pr;
        },
        [](const Shape& s, const Ptrs& p) { cpu::srgb8_to_lab_ref(count_of(s), U8(0), F(1), F(2)); });
    op.variants.push_back({"cpu", "models/color/lab.cpp (srgb_to_lab_image: a byte table, threads)", false,
                           [](const Shape& s, const Ptrs& p) { color::srgb_to_lab_image(U8(0), count_of(s), F(1), F(2)); }});
    op.variants.push_back({"cpu_fastlab", "models/data/loader.cpp (FastLab: float, vectorised)", false,
                           [](const Shape& s, const Ptrs& p) {
                             static const data::FastLab lab;
                             lab.convert(U8(0), count_of(s), F(1), F(2));
                           }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/color/cuda_1_pixel.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::srgb8_to_lab(count_of(s), U8(0), F(1), F(2)); }});
#endif
  }
  {
    Op& op = add_op(
        "color", "lab_to_srgb8", "L [n], ab [2, n] -> sRGB bytes [3n], clamped and rounded (--n)",
        [](const Shape& s) {
          const size_t n = count_of(s);
          Problem pr;
          pr.bufs = {{"L", n, Buf::In, Type::F32, 0.f, 100.f},
                     {"ab", 2 * n, Buf::In, Type::F32, -110.f, 110.f},
                     {"rgb", 3 * n, Buf::Out, Type::U8}};
          pr.int_tol = 1;  // float on the GPU: a channel on a rounding boundary may differ by 1
          return pr;
        },
        [](const Shape& s, const Ptrs& p) { cpu::lab_to_srgb8_ref(count_of(s), F(0), F(1), U8(2)); });
    op.variants.push_back({"cpu", "models/color/lab.cpp (lab_to_srgb_image to bytes: float, vectorised, threads)", false,
                           [](const Shape& s, const Ptrs& p) { color::lab_to_srgb_image(F(0), F(1), count_of(s), U8(2)); }});
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/color/cuda_1_pixel.cu", true,
                           [](const Shape& s, const Ptrs& p) { cuda::lab_to_srgb8(count_of(s), F(0), F(1), U8(2)); }});
#endif
  }
  {
    [[maybe_unused]] Op& op = add_op(
        "color", "soft_encode_dense", "ab [2, n] -> weights of the 5 nearest of Q bins, dense [Q, n] (--n --q)",
        [](const Shape& s) {
          const size_t n = count_of(s);
          const int q = bins(s);
          Problem pr;
          pr.bufs = {{"ab", 2 * n, Buf::In, Type::F32, -120.f, 120.f}, {"centres", 2 * size_t(q)},
                     {"out", size_t(q) * n, Buf::Out}};
          pr.flops = 3.0 * q * n;
          pr.init = [q](Host& h) {
            float* c = reinterpret_cast<float*>(h[1].data());
            for (int i = 0; i < q; ++i) c[2 * i] = -110.f + 10.f * (i % 23), c[2 * i + 1] = -110.f + 10.f * (i / 23);
          };
          return pr;
        },
        [](const Shape& s, const Ptrs& p) {
          cpu::soft_encode_dense_ref(count_of(s), F(0), F(1), bins(s), F(2), 5.0f);
        });
#ifdef TINCT_HAS_CUDA
    op.variants.push_back({"1", "kernels/color/cuda_1_pixel.cu", true, [](const Shape& s, const Ptrs& p) {
                             cuda::soft_encode_dense(count_of(s), F(0), F(1), bins(s), F(2), 5.0f);
                           }});
#endif
  }
}

}  // namespace tinct::kbench
