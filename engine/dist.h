// dist.h — data-parallel communication between the processes of one
// training run: who am I (rank), how many are we (size), and the collectives
// a data-parallel step needs (all-reduce, broadcast, barrier).
//
// Three implementations, one interface:
//   single       one process, no MPI at run time: every collective is a no-op
//   mpi          launched by `mpirun -np N` (engine/dist_mpi.cpp, built when
//                CMake finds MPI); host buffers go through MPI
//   mpi + nccl   the same, and buffers on the GPU go through NCCL
//                (engine/dist_nccl.cpp, built when CMake finds NCCL), set up
//                with an id that MPI broadcasts
// from_environment() picks: MPI only when a launcher started this process
// (OMPI_COMM_WORLD_SIZE or PMI_SIZE in the environment), so a plain
// `tinct train` never initialises MPI.
//
// No collective waits forever: each one that has not completed after the
// timeout prints which rank waited, in what, at which step, and ends the
// process with kTimeoutExit (mpirun then ends the other ranks). A rank killed
// outright (SIGKILL) is seen by mpirun itself, which ends the job at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace tinct::dist {

// The exit status of a rank that gave up waiting for the others.
constexpr int kTimeoutExit = 4;

enum class Reduce { Sum, Mean };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "single", "mpi", "mpi+nccl": for logs.
  virtual std::string backend() const = 0;
  // In place over every rank: p[i] = sum (or mean) over ranks of p[i]. p
  // holds n floats on device d (the GPU needs the NCCL backend).
  virtual void allreduce(float* p, size_t n, Device d, Reduce op) = 0;
  // Rank `root`'s bytes to every rank (host memory).
  virtual void broadcast(void* p, size_t bytes, int root) = 0;
  virtual void barrier() = 0;

  // A collective started by start_allreduce and not yet waited for.
  class Pending {
   public:
    virtual ~Pending() = default;
    // Lets the collective progress (MPI moves data only inside its calls);
    // true once it has completed. Never blocks.
    virtual bool test() = 0;
    // Blocks until it has completed (with the communicator's timeout); then
    // the buffer holds the result.
    virtual void wait() = 0;
  };
  // Starts allreduce(p, n, d, op) and returns while it runs where the
  // backend can (MPI, NCCL); p must not be touched until wait() returns.
  // Collectives must be started in the same order on every rank. The
  // default runs allreduce() at once.
  virtual std::unique_ptr<Pending> start_allreduce(float* p, size_t n, Device d, Reduce op);

  // Says what a timeout message reports: the step being run.
  void set_step(int64_t step) { step_ = step; }
  int64_t step() const { return step_; }
  void set_timeout(double seconds) { timeout_s_ = seconds; }
  double timeout() const { return timeout_s_; }
  // Seconds spent in collectives so far: moving the data and waiting for the
  // slowest rank.
  double seconds_in_collectives() const { return waited_s_; }
  void add_seconds_in_collectives(double s) { waited_s_ += s; }

 protected:
  // A Pending that has completed: for work done at once.
  static std::unique_ptr<Pending> completed();
  int64_t step_ = 0;
  double timeout_s_ = 300;
  double waited_s_ = 0;
};

// The single-process communicator (rank 0 of 1).
std::unique_ptr<Communicator> single_process();

// True when an MPI launcher started this process (OMPI_COMM_WORLD_SIZE or
// PMI_SIZE set); `size` then gets the launcher's rank count.
bool launched_by_mpi(int* size = nullptr);

// The MPI communicator when launched by mpirun, else single_process().
// Throws std::runtime_error when launched by mpirun but this build has no
// MPI. Rank r of a CUDA build picks GPU (local rank % GPUs) first.
std::unique_ptr<Communicator> from_environment(double timeout_s);

// The gradients of `params` (those that have one: the same on every rank),
// averaged over ranks in place, flattened into buckets of at most
// kBucketFloats per device (one collective per bucket, not per tensor).
// TINCT_DIST_TEST_REDUCE=sum|skip (tests only) sums instead, or skips the
// reduction, to show the tests catch a wrong one.
constexpr size_t kBucketFloats = size_t(4) << 20;  // 16 MB
void allreduce_mean_grads(Communicator& c, const std::vector<Tensor>& params);
// Averages a network's gradients over the ranks while its backward pass
// runs, as PyTorch DDP does. The parameters are cut into buckets of about
// `bucket_floats`, in reverse order (a backward pass completes the last
// layers' gradients first). Through an OnLeafGrad hook (engine/autograd.h),
// ready() hears of each gradient as it becomes complete; a bucket's
// all-reduce starts once all its gradients are complete and every bucket
// before it has started, so every rank starts the same collectives in the
// same order. finish() starts the buckets still waiting (parameters that
// got no gradient are left out, as allreduce_mean_grads leaves them), waits
// for all and writes the averages back. The bits are those of
// allreduce_mean_grads after the backward pass (each value's sum over the
// ranks is the same sum).
// TINCT_DIST_TEST_REDUCE=sum|skip as above, and =early (tests only): a
// bucket starts at its first complete gradient, the others left unreduced,
// to show the tests catch a bucket started too soon.
constexpr size_t kOverlapBucketFloats = size_t(256) << 10;  // 1 MB
class GradAverager {
 public:
  GradAverager(Communicator& c, const std::vector<Tensor>& params, size_t bucket_floats = kOverlapBucketFloats);
  ~GradAverager();
  void ready(const TensorImpl* param);
  void finish();

 private:
  struct Bucket;
  void start_ready_buckets();
  Communicator& comm_;
  std::vector<Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<const TensorImpl*, size_t>> bucket_of_;  // sorted by param
  size_t next_ = 0;                                             // the first bucket not started
  Reduce op_ = Reduce::Mean;
  bool early_ = false;
};
// Whether training overlaps the all-reduce with the backward pass
// (GradAverager) or runs allreduce_mean_grads after it: TINCT_DIST_OVERLAP=0
// turns it off; TINCT_DIST_BUCKET_FLOATS sets the bucket size (for tests and
// tuning; default kOverlapBucketFloats).
bool overlap_enabled();
size_t overlap_bucket_floats();

// The tensors themselves averaged over ranks, in place (batch-norm running
// statistics), bucketed the same way.
void allreduce_mean(Communicator& c, const std::vector<Tensor>& tensors);
// Rank 0's values of `tensors` copied into every rank's, in place.
void broadcast(Communicator& c, const std::vector<Tensor>& tensors);

// 64-bit FNV-1a of a tensor's values (its bytes, on the host).
uint64_t hash_values(const Tensor& t);
// Compares the tensors' hashes with rank 0's. Every rank learns whether any
// rank differs; a rank that differs names its first differing tensor (from
// `names`, parallel to `tensors`) in *what. Returns true when all agree.
bool same_on_all_ranks(Communicator& c, const std::vector<std::string>& names, const std::vector<Tensor>& tensors,
                       std::string* what);

// --- for the backends (engine/dist_mpi.cpp, engine/dist_nccl.cpp) -----------
// Waits until done() is true, politely (spins briefly, then sleeps in short
// naps), adding the time to c.seconds_in_collectives(); after c.timeout()
// seconds prints what the rank waited for and ends the process with
// kTimeoutExit, after calling on_timeout (if given).
void wait_or_exit(Communicator& c, const char* what, bool (*done)(void*), void* ctx,
                  void (*on_timeout)(void*) = nullptr);

}  // namespace tinct::dist
