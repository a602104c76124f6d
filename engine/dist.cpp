// dist.cpp — the single-process communicator, the choice of backend, and the
// bucketed collectives over tensors that every backend shares.
#include "engine/dist.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "engine/device.h"
#ifdef TINCT_HAS_NCCL
#include "engine/dist_nccl.h"
#endif

namespace tinct::dist {

#ifdef TINCT_HAS_MPI
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s);  // dist_mpi.cpp
#endif

namespace {

class Completed : public Communicator::Pending {
 public:
  bool test() override { return true; }
  void wait() override {}
};

class Single : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void allreduce(float*, size_t, Device, Reduce) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
};

// TINCT_DIST_TEST_REDUCE: "" (the right reduction), "sum" or "skip".
const std::string& test_reduce() {
  static const std::string mode = [] {
    const char* e = std::getenv("TINCT_DIST_TEST_REDUCE");
    return std::string(e ? e : "");
  }();
  return mode;
}

// The values of `ts` one after another in a new tensor on device d.
Tensor packed(const std::vector<Tensor>& ts, size_t n, Device d) {
  Tensor flat = Tensor::empty({int64_t(n)}, d);
  size_t at = 0;
  for (const Tensor& t : ts) {
    const size_t m = size_t(t.numel());
    device::copy(flat.data() + at, d, t.data(), d, m * sizeof(float));
    at += m;
  }
  return flat;
}

// packed()'s inverse: flat's values back into `ts`.
void unpack(const Tensor& flat, std::vector<Tensor>& ts) {
  const Device d = flat.device();
  size_t at = 0;
  for (Tensor& t : ts) {
    const size_t m = size_t(t.numel());
    device::copy(t.data(), d, flat.data() + at, d, m * sizeof(float));
    at += m;
  }
}

// Runs f(bucket pointer, floats, device) over `ts` packed into buckets:
// consecutive tensors of one device, up to kBucketFloats each (a larger
// tensor is a bucket of its own, reduced in place). Values are copied into
// the bucket, f runs, and they are copied back.
template <class F>
void over_buckets(const std::vector<Tensor>& ts, F f) {
  size_t i = 0;
  while (i < ts.size()) {
    const Device d = ts[i].device();
    size_t j = i, n = 0;
    while (j < ts.size() && ts[j].device() == d && (j == i || n + size_t(ts[j].numel()) <= kBucketFloats))
      n += size_t(ts[j++].numel());
    std::vector<Tensor> bucket(ts.begin() + long(i), ts.begin() + long(j));
    if (bucket.size() == 1) {  // one tensor: no copy
      f(bucket[0].data(), n, d);
    } else {
      Tensor flat = packed(bucket, n, d);
      f(flat.data(), n, d);
      unpack(flat, bucket);
    }
    i = j;
  }
}

}  // namespace

std::unique_ptr<Communicator::Pending> Communicator::completed() { return std::make_unique<Completed>(); }

std::unique_ptr<Communicator::Pending> Communicator::start_allreduce(float* p, size_t n, Device d, Reduce op) {
  allreduce(p, n, d, op);
  return completed();
}

std::unique_ptr<Communicator> single_process() { return std::make_unique<Single>(); }

bool launched_by_mpi(int* size) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* s = std::getenv(v)) {
      if (size) *size = std::atoi(s);
      return true;
    }
  return false;
}

std::unique_ptr<Communicator> from_environment(double timeout_s) {
  if (!launched_by_mpi()) return single_process();
#ifdef TINCT_HAS_MPI
#ifdef TINCT_HAS_NCCL
  // One GPU per rank on each machine, picked before any CUDA work.
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  if (!local) local = std::getenv("MPI_LOCALRANKID");
  select_local_gpu(local ? std::atoi(local) : 0);
  return with_nccl(make_mpi_communicator(timeout_s));
#else
  return make_mpi_communicator(timeout_s);
#endif
#else
  throw std::runtime_error(
      "this process was started by an MPI launcher (mpirun), but this tinct was built without MPI: install "
      "libopenmpi-dev (tools/setup.sh) and rebuild (CMake option TINCT_MPI)");
#endif
}

void allreduce_mean_grads(Communicator& c, const std::vector<Tensor>& params) {
  // No shortcut for 1 rank: a 1-rank NCCL communicator is tested this way.
  if (test_reduce() == "skip") return;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (Tensor g = p.grad(); g.defined()) grads.push_back(g);
  const Reduce op = test_reduce() == "sum" ? Reduce::Sum : Reduce::Mean;
  over_buckets(grads, [&](float* p, size_t n, Device d) { c.allreduce(p, n, d, op); });
}

struct GradAverager::Bucket {
  std::vector<size_t> members;  // indices into params_
  size_t complete = 0;          // members whose gradient is complete
  std::vector<Tensor> grads;    // what was reduced, in `buffer`'s order
  Tensor buffer;                // the grads packed (undefined: one grad, reduced in place)
  std::unique_ptr<Communicator::Pending> pending;
  bool done = false;  // pending has completed
};

GradAverager::GradAverager(Communicator& c, const std::vector<Tensor>& params, size_t bucket_floats)
    : comm_(c), params_(params) {
  if (test_reduce() == "skip") return;  // no buckets: nothing is reduced
  op_ = test_reduce() == "sum" ? Reduce::Sum : Reduce::Mean;
  early_ = test_reduce() == "early";
  // Reverse order; a bucket closes at the limit or where the device changes.
  size_t floats = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const bool device_changes =
        !buckets_.empty() && params_[buckets_.back().members.back()].device() != params_[k].device();
    if (buckets_.empty() || floats >= bucket_floats || device_changes) {
      buckets_.emplace_back();
      floats = 0;
    }
    buckets_.back().members.push_back(k);
    floats += size_t(params_[k].numel());
    bucket_of_.push_back({params_[k].impl(), buckets_.size() - 1});
  }
  std::sort(bucket_of_.begin(), bucket_of_.end());
}

GradAverager::~GradAverager() = default;

void GradAverager::ready(const TensorImpl* param) {
  auto it = std::lower_bound(bucket_of_.begin(), bucket_of_.end(), std::make_pair(param, size_t(0)));
  if (it == bucket_of_.end() || it->first != param) return;  // not one of this network's parameters
  ++buckets_[it->second].complete;
  start_ready_buckets();
  // MPI moves a started collective's data only inside its calls: give the
  // started ones a turn between the backward pass's ops.
  for (size_t b = 0; b < next_; ++b)
    if (buckets_[b].pending && !buckets_[b].done) buckets_[b].done = buckets_[b].pending->test();
}

void GradAverager::start_ready_buckets() {
  while (next_ < buckets_.size()) {
    Bucket& b = buckets_[next_];
    const bool all = b.complete == b.members.size();
    if (!all && !(early_ && b.complete > 0)) return;
    ++next_;
    for (size_t k : b.members)
      if (Tensor g = params_[k].grad(); g.defined()) b.grads.push_back(g);
    if (b.grads.empty()) continue;
    const Device d = b.grads[0].device();
    size_t n = 0;
    for (const Tensor& g : b.grads) n += size_t(g.numel());
    if (b.grads.size() > 1) b.buffer = packed(b.grads, n, d);  // else reduced in place
    float* p = b.buffer.defined() ? b.buffer.data() : b.grads[0].data();
    b.pending = comm_.start_allreduce(p, n, d, op_);
  }
}

void GradAverager::finish() {
  // Parameters that got no gradient never reported: their buckets start now,
  // with what they have.
  for (Bucket& b : buckets_) b.complete = b.members.size();
  start_ready_buckets();
  for (Bucket& b : buckets_) {
    if (!b.pending) continue;
    b.pending->wait();
    if (b.buffer.defined()) unpack(b.buffer, b.grads);
  }
}

bool overlap_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("TINCT_DIST_OVERLAP");
    return !(e && std::string(e) == "0");
  }();
  return on;
}

size_t overlap_bucket_floats() {
  static const size_t n = [] {
    const char* e = std::getenv("TINCT_DIST_BUCKET_FLOATS");
    const long long v = e ? std::atoll(e) : 0;
    return v > 0 ? size_t(v) : kOverlapBucketFloats;
  }();
  return n;
}

void allreduce_mean(Communicator& c, const std::vector<Tensor>& tensors) {
  over_buckets(tensors, [&](float* p, size_t n, Device d) { c.allreduce(p, n, d, Reduce::Mean); });
}

void broadcast(Communicator& c, const std::vector<Tensor>& tensors) {
  if (c.size() == 1) return;
  for (const Tensor& t0 : tensors) {
    Tensor t = t0;
    std::vector<float> v = t.to_vector();
    c.broadcast(v.data(), v.size() * sizeof(float), 0);
    device::copy(t.data(), t.device(), v.data(), Device::CPU, v.size() * sizeof(float));
  }
}

uint64_t hash_values(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  uint64_t h = 1469598103934665603ull;
  const auto* b = reinterpret_cast<const unsigned char*>(v.data());
  for (size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h ^ uint64_t(v.size());
}

bool same_on_all_ranks(Communicator& c, const std::vector<std::string>& names, const std::vector<Tensor>& tensors,
                       std::string* what) {
  if (c.size() == 1) return true;
  std::vector<uint64_t> mine(tensors.size()), root;
  for (size_t i = 0; i < tensors.size(); ++i) mine[i] = hash_values(tensors[i]);
  root = mine;
  c.broadcast(root.data(), root.size() * sizeof(uint64_t), 0);
  size_t first = tensors.size();
  for (size_t i = 0; i < tensors.size() && first == tensors.size(); ++i)
    if (mine[i] != root[i]) first = i;
  float differs = first < tensors.size() ? 1.f : 0.f;  // ranks that differ, summed exactly
  c.allreduce(&differs, 1, Device::CPU, Reduce::Sum);
  if (what && first < tensors.size()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%016llx vs rank 0's %016llx", (unsigned long long)mine[first],
                  (unsigned long long)root[first]);
    *what = "rank " + std::to_string(c.rank()) + " differs from rank 0 in " +
            (first < names.size() ? names[first] : std::to_string(first)) + " (hash " + buf + ")";
  }
  if (what && differs > 0 && first == tensors.size())
    *what = std::to_string(int(differs)) + " rank(s) hold other values than rank 0 (their messages name what)";
  return differs == 0;
}

void wait_or_exit(Communicator& c, const char* what, bool (*done)(void*), void* ctx, void (*on_timeout)(void*)) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  // Spin for the first millisecond (a step's all-reduce usually completes
  // within it), then nap 50 us between checks: a waiting rank must not take
  // a core from the rank it waits for on an oversubscribed machine.
  for (;;) {
    const bool finished = done(ctx);
    const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
    if (finished) {
      c.add_seconds_in_collectives(waited);
      return;
    }
    if (waited > c.timeout()) {
      std::fprintf(stderr,
                   "error: rank %d of %d: waited %.0f s for the other ranks in %s at step %lld; a rank has died or "
                   "hangs (mpirun's message names a rank that died); stopping (--dist-timeout)\n",
                   c.rank(), c.size(), waited, what, (long long)c.step());
      std::fflush(stderr);
      if (on_timeout) on_timeout(ctx);
      std::_Exit(kTimeoutExit);
    }
    if (waited > 1e-3) {
      const timespec nap{0, 50000};
      nanosleep(&nap, nullptr);
    }
  }
}

}  // namespace tinct::dist
