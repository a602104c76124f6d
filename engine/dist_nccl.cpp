// dist_nccl.cpp — all-reduce of GPU buffers with NCCL (ncclAllReduce, sum or
// ncclAvg). allreduce() runs on CUDA's legacy default stream, where the
// engine queues all its work, so the reduction runs after the backward pass
// that wrote the gradients and before the optimizer that reads them.
// start_allreduce() runs on a stream of its own that waits for an event of
// the default stream: the reduction of the last layers' gradients overlaps
// the backward pass of the first (dist::GradAverager). Built when CMake finds
// nccl.h and libnccl (the CUDA toolkit's, or the nvidia-nccl package's).
// Benchmark: mpirun -np 2 tinct train --device cuda ... (images/s in
// train_log.csv); tests/gpu/test_nccl.cpp checks a 1-rank all-reduce.
#include "engine/dist_nccl.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <stdexcept>
#include <string>

namespace tinct::dist {

namespace {

void check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw std::runtime_error(std::string(what) + ": " + ncclGetErrorString(rc));
}

void check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(rc));
}

// A stream's or an event's query: false while the work runs, true once
// done; an error is thrown.
bool finished(cudaError_t query) {
  if (query == cudaErrorNotReady) return false;
  check(query, "NCCL all-reduce");
  return true;
}

bool event_done(void* ev) { return finished(cudaEventQuery(static_cast<cudaEvent_t>(ev))); }
bool stream_done(void*) { return finished(cudaStreamQuery(nullptr)); }

class Nccl : public Communicator {
 public:
  explicit Nccl(std::unique_ptr<Communicator> host) : host_(std::move(host)) { timeout_s_ = host_->timeout(); }
  ~Nccl() override {
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  std::string backend() const override { return host_->backend() + "+nccl"; }

  void allreduce(float* p, size_t n, Device d, Reduce op) override {
    if (d == Device::CPU) return on_host([&] { host_->allreduce(p, n, d, op); });
    ensure_comm();
    check(ncclAllReduce(p, p, n, ncclFloat, op == Reduce::Mean ? ncclAvg : ncclSum, comm_, nullptr),
          "ncclAllReduce");
    wait_or_exit(*this, "an NCCL all-reduce", stream_done, this, abort);
  }

  std::unique_ptr<Pending> start_allreduce(float* p, size_t n, Device d, Reduce op) override {
    if (d == Device::CPU) return std::make_unique<OnHost>(*this, host_->start_allreduce(p, n, d, op));
    ensure_comm();
    if (!stream_) check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    auto pending = std::make_unique<OnStream>(*this);
    // The gradients (and their copy into a bucket) are queued on the default
    // stream: the reduction waits for them there, not on the host.
    check(cudaEventRecord(pending->written, nullptr), "cudaEventRecord");
    check(cudaStreamWaitEvent(stream_, pending->written, 0), "cudaStreamWaitEvent");
    check(ncclAllReduce(p, p, n, ncclFloat, op == Reduce::Mean ? ncclAvg : ncclSum, comm_, stream_),
          "ncclAllReduce");
    check(cudaEventRecord(pending->reduced, stream_), "cudaEventRecord");
    return pending;
  }

  void broadcast(void* p, size_t bytes, int root) override {
    on_host([&] { host_->broadcast(p, bytes, root); });
  }
  void barrier() override {
    on_host([&] { host_->barrier(); });
  }

 private:
  // A host buffer's collective on the host communicator, its time counted here.
  struct OnHost : Pending {
    OnHost(Nccl& c, std::unique_ptr<Pending> inner) : c(c), inner(std::move(inner)) {}
    bool test() override { return inner->test(); }
    void wait() override {
      c.on_host([&] { inner->wait(); });
    }
    Nccl& c;
    std::unique_ptr<Pending> inner;
  };
  // A GPU buffer's all-reduce on stream_, between two events.
  struct OnStream : Pending {
    explicit OnStream(Nccl& c) : c(c) {
      check(cudaEventCreateWithFlags(&written, cudaEventDisableTiming), "cudaEventCreate");
      check(cudaEventCreateWithFlags(&reduced, cudaEventDisableTiming), "cudaEventCreate");
    }
    ~OnStream() override {
      cudaEventDestroy(written);
      cudaEventDestroy(reduced);
    }
    bool test() override { return event_done(reduced); }
    void wait() override {
      wait_or_exit(
          c, "an NCCL all-reduce", [](void* self) { return event_done(static_cast<OnStream*>(self)->reduced); },
          this, [](void* self) { abort(&static_cast<OnStream*>(self)->c); });
    }
    Nccl& c;
    cudaEvent_t written = nullptr, reduced = nullptr;
  };

  static void abort(void* self) { ncclCommAbort(static_cast<Nccl*>(self)->comm_); }

  // The NCCL communicator, made at the first GPU all-reduce from an id rank
  // 0 makes and the host communicator broadcasts.
  void ensure_comm() {
    if (comm_) return;
    ncclUniqueId id{};
    if (rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    on_host([&] { host_->broadcast(&id, sizeof id, 0); });
    check(ncclCommInitRank(&comm_, size(), id, rank()), "ncclCommInitRank");
  }

  // Runs f on the host communicator, which reports this one's step, waits
  // as long, and whose time in collectives is counted here too.
  template <class F>
  void on_host(F f) {
    host_->set_step(step_);
    host_->set_timeout(timeout_s_);
    const double before = host_->seconds_in_collectives();
    f();
    waited_s_ += host_->seconds_in_collectives() - before;
  }
  std::unique_ptr<Communicator> host_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> with_nccl(std::unique_ptr<Communicator> host) {
  return std::make_unique<Nccl>(std::move(host));
}

void select_local_gpu(int local_rank) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    cudaGetLastError();  // clears the error: a CPU run goes on
    return;
  }
  cudaSetDevice(local_rank % n);
}

}  // namespace tinct::dist
