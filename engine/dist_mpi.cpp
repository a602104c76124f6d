// dist_mpi.cpp — the MPI communicator (built when CMake finds MPI): ranks
// launched by `mpirun -np N tinct ...`, collectives on host buffers through
// MPI's non-blocking calls, waited on with a timeout (dist::wait_or_exit).
// Buffers on the GPU go through NCCL when it is built (engine/dist_nccl.cpp
// wraps this communicator); without NCCL they are staged through the host.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <stdexcept>
#include <vector>

#include "engine/device.h"
#include "engine/dist.h"

namespace tinct::dist {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + ": " + std::string(msg, size_t(len)));
}

// The MPI_Iallreduce calls (one per INT_MAX floats) of one start_allreduce;
// wait() scales the sums for a mean.
struct MpiAllreduce : Communicator::Pending {
  MpiAllreduce(Communicator& c, float* p, size_t n, float scale) : comm(c), p(p), n(n), scale(scale) {}
  bool test() override {
    int flag = 0;
    check(MPI_Testall(int(requests.size()), requests.data(), &flag, MPI_STATUSES_IGNORE), "MPI_Testall");
    return flag != 0;
  }
  void wait() override {
    wait_or_exit(comm, "an all-reduce", [](void* self) { return static_cast<MpiAllreduce*>(self)->test(); }, this);
    if (scale != 1.f)
      for (size_t i = 0; i < n; ++i) p[i] *= scale;
  }
  Communicator& comm;
  float* p;
  size_t n;
  float scale;
  std::vector<MPI_Request> requests;
};

bool request_done(void* ctx) {
  int flag = 0;
  check(MPI_Test(static_cast<MPI_Request*>(ctx), &flag, MPI_STATUS_IGNORE), "MPI_Test");
  return flag != 0;
}

class Mpi : public Communicator {
 public:
  explicit Mpi(double timeout_s) {
    timeout_s_ = timeout_s;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      // Only the main thread calls MPI (the loader's workers never do).
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~Mpi() override {
    // After an error on this rank the others may be inside a collective:
    // MPI_Finalize could wait for them forever. The process exits non-zero
    // instead and mpirun ends the job.
    if (owns_ && std::uncaught_exceptions() == 0) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void allreduce(float* p, size_t n, Device d, Reduce op) override { start_allreduce(p, n, d, op)->wait(); }

  std::unique_ptr<Pending> start_allreduce(float* p, size_t n, Device d, Reduce op) override {
    if (d != Device::CPU) {  // staged through the host (a build without NCCL), at once
      std::vector<float> h(n);
      device::copy(h.data(), Device::CPU, p, d, n * sizeof(float));
      allreduce(h.data(), n, Device::CPU, op);
      device::copy(p, d, h.data(), Device::CPU, n * sizeof(float));
      return completed();
    }
    auto pending = std::make_unique<MpiAllreduce>(*this, p, n, op == Reduce::Mean ? 1.f / float(size_) : 1.f);
    for (size_t at = 0; at < n; at += size_t(INT_MAX)) {
      const int m = int(std::min(n - at, size_t(INT_MAX)));
      pending->requests.emplace_back();
      check(MPI_Iallreduce(MPI_IN_PLACE, p + at, m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &pending->requests.back()),
            "MPI_Iallreduce");
    }
    return pending;
  }

  void broadcast(void* p, size_t bytes, int root) override {
    auto* b = static_cast<char*>(p);
    for (size_t at = 0; at < bytes; at += size_t(INT_MAX)) {
      const int m = int(std::min(bytes - at, size_t(INT_MAX)));
      MPI_Request r;
      check(MPI_Ibcast(b + at, m, MPI_BYTE, root, MPI_COMM_WORLD, &r), "MPI_Ibcast");
      wait_or_exit(*this, "a broadcast", request_done, &r);
    }
  }

  void barrier() override {
    MPI_Request r;
    check(MPI_Ibarrier(MPI_COMM_WORLD, &r), "MPI_Ibarrier");
    wait_or_exit(*this, "a barrier", request_done, &r);
  }

 private:
  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s) { return std::make_unique<Mpi>(timeout_s); }

}  // namespace tinct::dist
