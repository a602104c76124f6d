// train_step.cpp — one training step of the regression colorizer, from an
// image file on disk to the Adam update, through tinct's public API only.
// Read it top to bottom: each step names the file that holds the piece, so
// this is also a map of the engine (apps -> models -> engine -> kernels).
//
//   build:  cmake --build build --target example_train_step
//   run:    ./build/examples/example_train_step docs/demo_kodim05.jpg [steps]   (any JPEG, PNG or BMP)
//
// What `tinct train --model regression` does per step is the same, with a
// loader thread pool, random crops of a pack and logging around it
// (models/train.cpp, models/colorizer_regression.cpp).
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "engine/nn.h"           // nn::Module, Conv2d, BatchNorm2d, ...; NoGrad (engine/nn/*.cpp)
#include "engine/ops.h"          // differentiable ops: mse_loss, conv2d, ... (engine/ops/*.cpp)
#include "engine/optim.h"        // Adam (engine/optim.cpp -> kernels/optim/cpu.cpp, kernels/optim/cuda_1_multi_tensor.cu)
#include "engine/random.h"       // Rng: the seeded weight initialisation
#include "engine/tensor.h"       // Tensor: shape, device, storage, autograd node (engine/tensor.cpp)
#include "models/color/lab.h"    // sRGB <-> CIE LAB (models/color/lab.cpp)
#include "models/data/image.h"   // decode, resize, crop (models/data/image.cpp, stb_image under checks)
#include "models/regression.h"   // RegressionNet: ResNet-18 encoder + decoder (models/regression.cpp, resnet.cpp)

using namespace tinct;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s IMAGE [steps=3]\n", argv[0]);
    return 2;
  }
  const int steps = argc > 2 ? std::atoi(argv[2]) : 3;
  try {
    // 1. Decode the file. load_image reads the header first and refuses
    //    corrupt, truncated or huge files with a clear message
    //    (models/data/image.cpp); the pixels are 8-bit interleaved RGB.
    data::Image photo = data::load_image(argv[1]);
    std::printf("1. %s: %dx%d\n", argv[1], photo.width, photo.height);

    // 2. The training crop: the short side resized to 128 (antialiased) and
    //    the centred square cut, as `tinct prepare` + the loader do
    //    (models/data/prepare.cpp, loader.cpp).
    const int S = 128;
    const data::Image crop = data::resize_short_side_center_crop(photo, S);
    const size_t n = size_t(S) * S;

    // 3. Colour: sRGB -> CIE LAB, planar L [n] and ab [2n]
    //    (models/color/lab.cpp). The network sees L / 50 - 1 in [-1, 1] and
    //    predicts ab / 110 (models/data/loader.h says why these scales).
    std::vector<float> L(n), ab(2 * n);
    color::srgb_to_lab_image(crop.pixels.data(), n, L.data(), ab.data());
    for (float& v : L) v = v / 50.0f - 1.0f;
    for (float& v : ab) v = v / 110.0f;

    // 4. Tensors [N, C, H, W] on the CPU (engine/tensor.h). Tensor::to(Device::CUDA)
    //    would move them; every op runs where its inputs are.
    const Tensor x = Tensor::from_vector({1, 1, S, S}, L);
    const Tensor target = Tensor::from_vector({1, 2, S, S}, ab);

    // 5. The model: the write-up's regression colorizer at the compact
    //    preset (half width), weights drawn from a seeded Rng so a run is
    //    reproducible (models/regression.cpp builds it from nn modules).
    Rng rng(1);
    models::RegressionNet net(models::RegressionConfig::preset("compact"), rng);
    net.train();  // batch norm uses the batch's statistics
    std::printf("5. RegressionNet compact: %lld parameters\n", (long long)net.num_parameters());

    // 6. The optimizer holds the parameters (shared storage: it updates the
    //    model's own tensors) and its moment estimates (engine/optim.cpp).
    optim::AdamOptions ao;
    ao.lr = 1e-3f;
    optim::Adam opt(net.parameters(), ao);

    const std::vector<float> before = net.parameters().front().to_vector();
    float first = 0, last = 0;
    for (int step = 0; step < steps; ++step) {
      // 7. Forward: each nn module calls differentiable ops (engine/ops/*.cpp),
      //    which record a node on the autograd tape (engine/autograd.cpp) and
      //    call a kernel: on the CPU conv2d is im2col + a blocked GEMM or a
      //    direct convolution (kernels/conv/cpu.cpp, gemm/cpu.cpp,
      //    conv/cpu_direct.cpp), on CUDA an implicit GEMM or Winograd
      //    (kernels/conv/dispatch.cu: cuda_2_igemm.cu, cuda_3_winograd.cu).
      const Tensor pred = net(x);  // [1, 2, S, S], ab / 110
      // 8. The loss: mean squared error on ab (ops::mse_loss, kernels/loss/ref.cpp).
      Tensor loss = ops::mse_loss(pred, target);
      // 9. Backward: the tape is walked in reverse, each node's backward
      //    kernel adding into its inputs' gradients (engine/autograd.cpp).
      opt.zero_grad();
      loss.backward();
      // 10. The update: Adam on every parameter (kernels/optim/cpu.cpp; ref.cpp its specification).
      opt.step();
      last = loss.item();
      if (step == 0) first = last;
      std::printf("step %d: MSE on ab/110 = %.6f\n", step + 1, last);
    }

    // 11. What changed: the first conv's weights moved, and the loss fell.
    const std::vector<float> after = net.parameters().front().to_vector();
    double moved = 0;
    for (size_t i = 0; i < after.size(); ++i) moved = std::fmax(moved, std::fabs(after[i] - before[i]));
    std::printf("largest change of a conv1 weight: %.3g; loss %.6f -> %.6f\n", moved, first, last);
    if (!(moved > 0) || !std::isfinite(last)) {
      std::fprintf(stderr, "the step did not update the weights\n");
      return 1;
    }
    if (steps > 1 && !(last < first)) {
      std::fprintf(stderr, "the loss did not fall over %d steps on one image\n", steps);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
