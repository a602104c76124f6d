// optim.cpp — the optimizers; the arithmetic lives in the kernels
// (cpu::sgd_step per parameter, cpu::adam_step_many for all at once; on the
// GPU cuda::sgd_step per parameter and cuda::adam_step_multi for all at once).
#include "engine/optim.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <utility>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace tinct::optim {

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
  NoGrad ng;
  Tensor total;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    Tensor sq = ops::sum(ops::mul(g, g));
    total = total.defined() ? ops::add(total, sq) : sq;
  }
  if (!total.defined()) return 0.f;
  const float norm = std::sqrt(total.item());
  if (max_norm > 0.f && norm > max_norm) {
    const float scale = float(double(max_norm) / (double(norm) + 1e-6));
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.copy_from(ops::mul(g, scale));
    }
  }
  return norm;
}

static Tensor state_tensor(const std::map<std::string, Tensor>& sd, const std::string& key, const Tensor& like) {
  auto it = sd.find(key);
  if (it == sd.end()) throw std::runtime_error("optimizer state: missing " + key);
  if (it->second.shape() != like.shape())
    throw std::runtime_error("optimizer state: " + key + " has shape " + shape_str(it->second.shape()) +
                             ", the parameter has " + shape_str(like.shape()));
  Tensor t = Tensor::empty(like.shape(), like.device());
  t.copy_from(it->second);
  return t;
}

static int64_t state_count(const std::map<std::string, Tensor>& sd, const std::string& key) {
  auto it = sd.find(key);
  if (it == sd.end() || it->second.numel() != 1) throw std::runtime_error("optimizer state: missing " + key);
  return int64_t(it->second.item());  // exact up to 2^24 steps
}

SGD::SGD(std::vector<Tensor> params, SGDOptions o)
    : Optimizer(std::move(params)), o_(o), momentum_(params_.size()), started_(params_.size(), false) {
  lr_ = o.lr;
}

void SGD::step() {
  ProfileRange range("sgd step");
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (o_.momentum != 0.f && !momentum_[i].defined()) momentum_[i] = Tensor::zeros(p.shape(), p.device());
    const size_t n = size_t(p.numel());
    float* m = momentum_[i].defined() ? momentum_[i].data() : nullptr;
    TINCT_DISPATCH(p.device(),
                   cuda::sgd_step(n, p.data(), g.data(), m, lr_, o_.momentum, o_.weight_decay, o_.nesterov,
                                  !started_[i]),
                   cpu::sgd_step(n, p.data(), g.data(), m, lr_, o_.momentum, o_.weight_decay, o_.nesterov,
                                 !started_[i]));
    started_[i] = true;
  }
}

std::map<std::string, Tensor> SGD::state_dict() const {
  std::map<std::string, Tensor> sd;
  sd["step"] = Tensor::scalar(float(step_));
  for (size_t i = 0; i < params_.size(); ++i)
    if (momentum_[i].defined()) sd["state." + std::to_string(i) + ".momentum_buffer"] = momentum_[i];
  return sd;
}

void SGD::load_state_dict(const std::map<std::string, Tensor>& sd) {
  step_ = state_count(sd, "step");
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string key = "state." + std::to_string(i) + ".momentum_buffer";
    started_[i] = sd.count(key) > 0;
    momentum_[i] = started_[i] ? state_tensor(sd, key, params_[i]) : Tensor();
  }
}

Adam::Adam(std::vector<Tensor> params, AdamOptions o)
    : Optimizer(std::move(params)), o_(o), m_(params_.size()), v_(params_.size()), param_steps_(params_.size(), 0) {
  lr_ = o.lr;
}

void Adam::set_decoupled_weight_decay(float wd) {
  o_.weight_decay = wd;
  o_.decoupled = true;
  o_.decay_vectors = false;
}

#ifdef TINCT_HAS_CUDA
// The chunk tables of the fused update, kept on the device between steps and
// uploaded again only when a pointer changed (gradients are new tensors each
// step, but the caching allocator often hands back the same blocks). One per
// weight-decay group: [0] without decay, [1] with it.
namespace {
struct ChunkTable {
  std::vector<cuda::ParamChunk> host;
  Tensor dev;  // raw bytes of the table
  void launch(std::vector<cuda::ParamChunk>& chunks, const AdamOptions& o, float wd, float lr, int64_t step) {
    const int64_t tiles = cuda::plan_param_tiles(chunks.data(), int(chunks.size()));
    const size_t bytes = chunks.size() * sizeof(cuda::ParamChunk);
    const bool same = host.size() == chunks.size() && std::memcmp(host.data(), chunks.data(), bytes) == 0;
    if (!same) {
      if (!dev.defined() || size_t(dev.numel()) * sizeof(float) < bytes)
        dev = Tensor::empty({int64_t((bytes + sizeof(float) - 1) / sizeof(float))}, Device::CUDA);
      host = chunks;
      // Async from pageable memory: staged at once, no wait for the GPU.
      TINCT_CUDA_CHECK(cudaMemcpyAsync(dev.data(), host.data(), bytes, cudaMemcpyHostToDevice, 0));
    }
    cuda::adam_step_multi(reinterpret_cast<const cuda::ParamChunk*>(dev.data()), int(chunks.size()), tiles, lr,
                          o.beta1, o.beta2, o.eps, wd, o.decoupled, step);
  }
};
}  // namespace
struct Adam::FusedTable {
  ChunkTable group[2];
};
#else
struct Adam::FusedTable {};
#endif

void Adam::step() {
  ProfileRange range("adam step");
  ++step_;
#ifdef TINCT_HAS_CUDA
  // Parameters with the same step count and weight decay share one launch
  // (normally all; two with decay on: the decayed weights and the rest).
  std::map<std::pair<int64_t, bool>, std::vector<cuda::ParamChunk>> fused;
#endif
  std::vector<cpu::AdamTensor> host;  // the CPU parameters, updated in one call
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (!m_[i].defined()) {
      m_[i] = Tensor::zeros(p.shape(), p.device());
      v_[i] = Tensor::zeros(p.shape(), p.device());
    }
    const int64_t t = ++param_steps_[i];
    const bool decays = o_.weight_decay != 0.f && (o_.decay_vectors || p.dim() >= 2);
    const float wd = decays ? o_.weight_decay : 0.f;
#ifdef TINCT_HAS_CUDA
    if (p.device() == Device::CUDA) {
      cuda::ParamChunk c;
      c.w = p.data();
      c.g = g.data();
      c.m = m_[i].data();
      c.v = v_[i].data();
      c.n = p.numel();
      fused[{t, decays}].push_back(c);
      continue;
    }
#endif
    host.push_back({p.data(), g.data(), m_[i].data(), v_[i].data(), size_t(p.numel()), wd, t});
  }
  if (!host.empty()) cpu::adam_step_many(host.data(), host.size(), lr_, o_.beta1, o_.beta2, o_.eps, o_.decoupled);
#ifdef TINCT_HAS_CUDA
  int64_t counts = 0;  // distinct step counts
  for (auto it = fused.begin(); it != fused.end(); ++it)
    counts += it == fused.begin() || std::prev(it)->first.first != it->first.first;
  for (auto& [key, chunks] : fused) {
    const auto [t, decays] = key;
    const float wd = decays ? o_.weight_decay : 0.f;
    if (!fused_) fused_ = std::make_shared<FusedTable>();
    if (counts == 1)
      fused_->group[decays].launch(chunks, o_, wd, lr_, t);
    else  // rare: tables of different step counts must not overwrite each other
      ChunkTable().launch(chunks, o_, wd, lr_, t);
  }
#endif
}

std::map<std::string, Tensor> Adam::state_dict() const {
  std::map<std::string, Tensor> sd;
  sd["step"] = Tensor::scalar(float(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!m_[i].defined()) continue;
    const std::string k = "state." + std::to_string(i) + ".";
    sd[k + "exp_avg"] = m_[i];
    sd[k + "exp_avg_sq"] = v_[i];
    sd[k + "step"] = Tensor::scalar(float(param_steps_[i]));
  }
  return sd;
}

void Adam::load_state_dict(const std::map<std::string, Tensor>& sd) {
  step_ = state_count(sd, "step");
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string k = "state." + std::to_string(i) + ".";
    if (!sd.count(k + "exp_avg")) {
      m_[i] = v_[i] = Tensor();
      param_steps_[i] = 0;
      continue;
    }
    m_[i] = state_tensor(sd, k + "exp_avg", params_[i]);
    v_[i] = state_tensor(sd, k + "exp_avg_sq", params_[i]);
    param_steps_[i] = state_count(sd, k + "step");
  }
}

}  // namespace tinct::optim
