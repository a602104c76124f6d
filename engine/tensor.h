// tensor.h — the Tensor of tinct: float32, contiguous, shared storage.
//
// A 4-D tensor's logical shape is always [N, C, H, W]; its memory is NCHW
// (a plane per channel, the default) or, on the GPU, channels-last ([N][H][W][C],
// channels_last()), the order the channels-last tensor-core convolutions read
// (engine/layout.h). Ops accept either and give their output the layout of
// their input; to_vector(), to(CPU) and copy_from() convert, so only the
// kernels see the difference.
//
// A Tensor is a cheap handle (a shared pointer) to a TensorImpl: copying a
// Tensor aliases the same data, as in PyTorch. Autograd state lives in the
// impl: requires_grad, the accumulated .grad, and grad_fn (the tape node that
// produced it; null for leaves such as parameters and inputs).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace tinct {

enum class Device { CPU, CUDA };
const char* device_name(Device d);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// A flat float buffer on one device (engine/device.h: 64-byte aligned on the
// host, from the caching allocator on the GPU).
struct Storage {
  float* ptr = nullptr;
  size_t numel = 0;
  Device device = Device::CPU;
  Storage(size_t n, Device d);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- creation (uninitialised, zeros, constant, from host data) ---
  static Tensor empty(const Shape& shape, Device d = Device::CPU);
  static Tensor zeros(const Shape& shape, Device d = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device d = Device::CPU);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values, Device d = Device::CPU);
  static Tensor scalar(float v) { return from_vector({}, {v}); }
  // Uninitialised / zeros of t's shape, device and layout.
  static Tensor empty_like(const Tensor& t);
  static Tensor zeros_like(const Tensor& t);
  // Uninitialised of this shape, on t's device, in t's layout (a 4-D shape).
  static Tensor empty_like_shape(const Tensor& t, const Shape& shape);

  // --- shape ---
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int dim() const { return int(shape().size()); }
  int64_t size(int d) const;  // negative d counts from the end
  int64_t numel() const;
  Device device() const;
  bool channels_last() const;  // memory [N][H][W][C] (4-D CUDA tensors only)

  // --- data (contiguous) ---
  // A pointer on the tensor's device: a device pointer for a CUDA tensor,
  // for the kernels only (in the tensor's layout). to_vector() and item()
  // read any device (a GPU read waits for the queued work); to_vector() gives
  // NCHW order whatever the layout.
  float* data();
  const float* data() const;
  std::vector<float> to_vector() const;
  float item() const;  // the single value of a one-element tensor

  // --- autograd ---
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  Tensor grad() const;  // undefined until a backward pass reached this tensor
  void zero_grad();     // drops the accumulated gradient
  const std::shared_ptr<Node>& grad_fn() const;
  // Backpropagates from this tensor. Without a seed it must hold one element
  // (a loss) and is seeded with 1.
  void backward(const Tensor& seed = Tensor()) const;

  // --- copies and views ---
  Tensor detach() const;  // same storage, cut from the graph
  Tensor clone() const;   // new storage, cut from the graph
  // This tensor on device d: itself when it is there already, else a copy
  // (cut from the graph; data crosses the bus). A channels-last tensor comes
  // to the CPU as NCHW.
  Tensor to(Device d) const;
  // This tensor's values in the other memory order (channels_last: [N][H][W][C]
  // on the GPU, else NCHW): itself when already so, else a new tensor cut
  // from the graph (ops::to_channels_last / ops::to_nchw carry gradients).
  // Channels-last needs a 4-D CUDA tensor.
  Tensor as_layout(bool channels_last) const;
  // Moves the storage to device d IN PLACE, so that every handle of this
  // tensor (a module's member and its parameter list) sees the move. For
  // leaves (parameters, buffers); drops an accumulated gradient.
  void move_to_(Device d);
  void copy_from(const Tensor& src);  // same numel, any devices and layouts; no autograd
  void fill_(float v);

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // in floats
  Shape shape;
  bool channels_last = false;  // tensor.h: 4-D CUDA tensors, memory [N][H][W][C]
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

// Throws std::invalid_argument with a message naming the op when cond fails.
void check_arg(bool cond, const char* op, const std::string& what);

}  // namespace tinct
