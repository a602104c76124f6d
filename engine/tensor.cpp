// tensor.cpp — storage allocation and the Tensor handle's plumbing.
#include "engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/device.h"
#ifdef TINCT_HAS_CUDA
#include "kernels/cuda.h"
#endif

namespace tinct {

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(s));
    n *= d;
  }
  return n;
}

void check_arg(bool cond, const char* op, const std::string& what) {
  if (!cond) throw std::invalid_argument(std::string(op) + ": " + what);
}

Storage::Storage(size_t n, Device d) : numel(n), device(d) {
  ptr = static_cast<float*>(device::allocate(d, n * sizeof(float)));
}

Storage::~Storage() { device::deallocate(device, ptr); }

static std::shared_ptr<TensorImpl> make_impl(const Shape& shape, Device d) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)), d);
  return impl;
}

Tensor Tensor::empty(const Shape& shape, Device d) { return Tensor(make_impl(shape, d)); }

Tensor Tensor::zeros(const Shape& shape, Device d) { return full(shape, 0.f, d); }

Tensor Tensor::empty_like(const Tensor& t) {
  Tensor r = empty(t.shape(), t.device());
  r.impl_->channels_last = t.channels_last();
  return r;
}

Tensor Tensor::empty_like_shape(const Tensor& t, const Shape& shape) {
  Tensor r = empty(shape, t.device());
  r.impl_->channels_last = t.channels_last() && shape.size() == 4;
  return r;
}

Tensor Tensor::zeros_like(const Tensor& t) {
  Tensor r = empty_like(t);
  r.fill_(0.f);
  return r;
}

Tensor Tensor::full(const Shape& shape, float value, Device d) {
  Tensor t = empty(shape, d);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values, Device d) {
  check_arg(int64_t(values.size()) == shape_numel(shape), "from_vector",
            std::to_string(values.size()) + " values do not fill shape " + shape_str(shape));
  Tensor t = empty(shape, d);
  device::copy(t.data(), d, values.data(), Device::CPU, values.size() * sizeof(float));
  return t;
}

static TensorImpl& need(const std::shared_ptr<TensorImpl>& p) {
  if (!p) throw std::logic_error("use of an undefined Tensor");
  return *p;
}

const Shape& Tensor::shape() const { return need(impl_).shape; }
int64_t Tensor::size(int d) const {
  int n = dim();
  if (d < 0) d += n;
  check_arg(d >= 0 && d < n, "size", "dimension out of range for shape " + shape_str(shape()));
  return shape()[size_t(d)];
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
Device Tensor::device() const { return need(impl_).storage->device; }
bool Tensor::channels_last() const { return need(impl_).channels_last; }
float* Tensor::data() { return need(impl_).storage->ptr + impl_->offset; }
const float* Tensor::data() const { return need(impl_).storage->ptr + impl_->offset; }

std::vector<float> Tensor::to_vector() const {
  if (channels_last()) return as_layout(false).to_vector();
  std::vector<float> v(static_cast<size_t>(numel()));
  device::copy(v.data(), Device::CPU, data(), device(), v.size() * sizeof(float));
  return v;
}

float Tensor::item() const {
  check_arg(numel() == 1, "item", "tensor of shape " + shape_str(shape()) + " is not a single value");
  if (device() == Device::CPU) return data()[0];
  float v;
  device::copy(&v, Device::CPU, data(), device(), sizeof v);
  return v;
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }
Tensor& Tensor::requires_grad_(bool on) {
  check_arg(!need(impl_).grad_fn || on, "requires_grad_", "cannot turn off grad on a non-leaf; use detach()");
  impl_->requires_grad = on;
  return *this;
}
Tensor Tensor::grad() const { return need(impl_).grad; }
void Tensor::zero_grad() { need(impl_).grad = Tensor(); }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return need(impl_).grad_fn; }

void Tensor::backward(const Tensor& seed) const {
  Tensor s = seed;
  if (!s.defined()) {
    check_arg(numel() == 1, "backward", "a seed is needed for a non-scalar output of shape " + shape_str(shape()));
    s = Tensor::full(shape(), 1.f, device());
  }
  run_backward(*this, s);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = need(impl_).storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->channels_last = impl_->channels_last;
  return Tensor(impl);
}

Tensor Tensor::clone() const {
  Tensor t = empty_like(*this);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device d) const {
  if (device() == d) return *this;
  Tensor t = empty(shape(), d);  // NCHW: channels-last lives on the GPU only
  t.copy_from(*this);
  return t;
}

Tensor Tensor::as_layout(bool cl) const {
  if (channels_last() == cl) return *this;
  check_arg(dim() == 4 && device() == Device::CUDA, "as_layout",
            "channels-last is for 4-D CUDA tensors, got a " + std::string(device_name(device())) + " tensor of shape " +
                shape_str(shape()));
  Tensor t = empty(shape(), device());
  t.impl_->channels_last = cl;
#ifdef TINCT_HAS_CUDA
  const int N = int(size(0)), C = int(size(1)), HW = int(size(2) * size(3));
  if (cl)
    cuda::nchw_to_nhwc(data(), t.data(), N, C, HW);
  else
    cuda::nhwc_to_nchw(data(), t.data(), N, C, HW);
#endif
  return t;
}

void Tensor::move_to_(Device d) {
  TensorImpl& impl = need(impl_);
  if (impl.storage->device == d) return;
  check_arg(!impl.grad_fn, "move_to_", "only leaves (parameters, buffers) move in place; use to()");
  check_arg(!impl.channels_last, "move_to_", "a channels-last tensor stays on the GPU; use to()");
  auto s = std::make_shared<Storage>(size_t(numel()), d);
  device::copy(s->ptr, d, data(), impl.storage->device, size_t(numel()) * sizeof(float));
  impl.storage = std::move(s);
  impl.offset = 0;
  impl.grad = Tensor();
}

void Tensor::copy_from(const Tensor& src) {
  check_arg(numel() == src.numel(), "copy_from",
            "shape " + shape_str(src.shape()) + " into " + shape_str(shape()));
  if (src.channels_last() != channels_last()) {
    // Converted on the GPU, where the channels-last side lives: src there, or
    // (src on the CPU, so NCHW) after it is moved there.
    if (src.device() == Device::CUDA) return copy_from(src.as_layout(channels_last()));
    return copy_from(src.to(Device::CUDA));
  }
  device::copy(data(), device(), src.data(), src.device(), size_t(numel()) * sizeof(float));
}

void Tensor::fill_(float v) { device::fill(device(), data(), size_t(numel()), v); }

}  // namespace tinct
