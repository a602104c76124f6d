// tensor.cpp — storage allocation and the Tensor handle's plumbing.
#include "engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/device.h"

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
float* Tensor::data() { return need(impl_).storage->ptr + impl_->offset; }
const float* Tensor::data() const { return need(impl_).storage->ptr + impl_->offset; }

std::vector<float> Tensor::to_vector() const {
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
  return Tensor(impl);
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), device());
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device d) const {
  if (device() == d) return *this;
  Tensor t = empty(shape(), d);
  t.copy_from(*this);
  return t;
}

void Tensor::move_to_(Device d) {
  TensorImpl& impl = need(impl_);
  if (impl.storage->device == d) return;
  check_arg(!impl.grad_fn, "move_to_", "only leaves (parameters, buffers) move in place; use to()");
  auto s = std::make_shared<Storage>(size_t(numel()), d);
  device::copy(s->ptr, d, data(), impl.storage->device, size_t(numel()) * sizeof(float));
  impl.storage = std::move(s);
  impl.offset = 0;
  impl.grad = Tensor();
}

void Tensor::copy_from(const Tensor& src) {
  check_arg(numel() == src.numel(), "copy_from",
            "shape " + shape_str(src.shape()) + " into " + shape_str(shape()));
  device::copy(data(), device(), src.data(), src.device(), size_t(numel()) * sizeof(float));
}

void Tensor::fill_(float v) { device::fill(device(), data(), size_t(numel()), v); }

}  // namespace tinct
