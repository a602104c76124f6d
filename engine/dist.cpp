// dist.cpp — the single-process communicator, the choice of backend, and the
// bucketed collectives over tensors that every backend shares.
#include "engine/dist.h"

#include <time.h>

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
    if (j == i + 1) {  // one tensor: no copy
      Tensor t = ts[i];
      f(t.data(), n, d);
    } else {
      Tensor bucket = Tensor::empty({int64_t(n)}, d);
      size_t at = 0;
      for (size_t k = i; k < j; ++k) {
        const size_t m = size_t(ts[k].numel());
        device::copy(bucket.data() + at, d, ts[k].data(), d, m * sizeof(float));
        at += m;
      }
      f(bucket.data(), n, d);
      at = 0;
      for (size_t k = i; k < j; ++k) {
        Tensor t = ts[k];
        const size_t m = size_t(t.numel());
        device::copy(t.data(), d, bucket.data() + at, d, m * sizeof(float));
        at += m;
      }
    }
    i = j;
  }
}

}  // namespace

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
