// classification.cpp — ClassificationNet (Zhang et al. ECCV16).
#include "models/classification.h"

#include <stdexcept>

namespace tinct::models {

ClassificationConfig ClassificationConfig::preset(const std::string& name, int num_bins) {
  ClassificationConfig c;
  c.num_bins = num_bins;
  if (name == "full") {
    c.base = 64;
    c.tie_repeated_convs = true;
  } else if (name == "compact") {
    c.base = 16;  // quarter width
    c.tie_repeated_convs = false;
  } else {
    throw std::invalid_argument("classification: unknown preset '" + name + "' (full, compact)");
  }
  return c;
}

namespace {

// Applies one module `times` times (weights shared), as the reference does.
class Repeat : public nn::Module {
 public:
  Repeat(std::shared_ptr<nn::Module> m, int times) : m_(register_module("0", std::move(m))), times_(times) {}
  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    auto* conv = dynamic_cast<nn::Conv2d*>(m_.get());
    ops::ConvFusion relu;
    relu.has_act = true;
    for (int i = 0; i < times_; ++i) {
      if (!conv)
        h = ops::relu((*m_)(h));
      else if (is_training())  // one op, the ReLU in the convolution's epilogue (ops::conv2d_act)
        h = ops::conv2d_relu(h, conv->weight, conv->bias, conv->stride, conv->padding, conv->dilation);
      else
        h = conv->forward_fused(h, relu);
    }
    return h;
  }

 private:
  std::shared_ptr<nn::Module> m_;
  int times_;
};

std::shared_ptr<nn::Conv2d> conv(int in, int out, int k, int stride, int pad, int dil, Rng& rng) {
  return std::make_shared<nn::Conv2d>(in, out, k, stride, pad, dil, true, rng);
}

}  // namespace

ClassificationNet::ClassificationNet(ClassificationConfig cfg, Rng& rng) : config(cfg) {
  const int c1 = cfg.base, c2 = 2 * c1, c3 = 4 * c1, c4 = 8 * c1;
  check_arg(cfg.num_bins >= 2 && c1 >= 1, "classification", "need base >= 1 and at least 2 bins");
  // {in, out, number of convs, stride of the last conv, dilation}
  struct Block { int in, out, convs, last_stride, dilation; };
  const Block plan[] = {{1, c1, 2, 2, 1},  {c1, c2, 2, 2, 1}, {c2, c3, 3, 2, 1}, {c3, c4, 3, 1, 1},
                        {c4, c4, 3, 1, 2}, {c4, c4, 3, 1, 2}, {c4, c4, 3, 1, 1}};
  for (int b = 0; b < 7; ++b) {
    const Block& p = plan[b];
    auto block = std::make_shared<nn::Sequential>();
    const bool tied = cfg.tie_repeated_convs && b >= 4;
    if (tied) {
      block->add(std::make_shared<Repeat>(conv(p.in, p.out, 3, 1, p.dilation, p.dilation, rng), p.convs));
    } else {
      for (int i = 0; i < p.convs; ++i) {
        const int stride = i == p.convs - 1 ? p.last_stride : 1;
        block->add(conv(i == 0 ? p.in : p.out, p.out, 3, stride, p.dilation, p.dilation, rng));
        block->add(std::make_shared<nn::ReLU>());
      }
    }
    block->add(std::make_shared<nn::BatchNorm2d>(p.out));
    blocks_.push_back(register_module("conv" + std::to_string(b + 1), block));
  }
  auto head = std::make_shared<nn::Sequential>();
  auto up = std::make_shared<nn::ConvTranspose2d>(c4, c3, 4, 2, 1, 0, 1, true, rng);
  deconvs_.add(up);
  head->add(up);
  head->add(std::make_shared<nn::ReLU>());
  head->add(conv(c3, c3, 3, 1, 1, 1, rng));
  head->add(std::make_shared<nn::ReLU>());
  head->add(conv(c3, c3, 3, 1, 1, 1, rng));
  head->add(std::make_shared<nn::ReLU>());
  head->add(conv(c3, cfg.num_bins, 1, 1, 0, 1, rng));
  blocks_.push_back(register_module("conv8", head));
}

void ClassificationNet::set_trunk_frozen(bool on) {
  trunk_frozen_ = on;
  for (size_t b = 0; b + 1 < blocks_.size(); ++b)  // all but conv8
    for (Tensor& p : blocks_[b]->parameters()) p.requires_grad_(!on);
  set_training(is_training());
}

void ClassificationNet::set_training(bool on) {
  train(on);
  if (trunk_frozen_)
    for (size_t b = 0; b + 1 < blocks_.size(); ++b) blocks_[b]->eval();
}

Tensor ClassificationNet::forward(const Tensor& x) {
  check_arg(x.dim() == 4 && x.size(1) == 1 && x.size(2) % 8 == 0 && x.size(3) % 8 == 0, "classification",
            "input must be [N,1,H,W] with H and W multiples of 8, got " + shape_str(x.shape()));
  Tensor h = ops::layout_in(x);  // channels-last inside when the engine's layout asks (engine/layout.h)
  // nn::Sequential runs each Conv2d and its ReLU as one op (ops::conv2d_act)
  // in training, and fuses each conv with what follows it in eval mode.
  for (auto& b : blocks_) h = (*b)(h);
  return ops::layout_out(h);
}

}  // namespace tinct::models
