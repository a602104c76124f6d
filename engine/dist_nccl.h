// dist_nccl.h — NCCL for the gradients that live on the GPU (built when CMake
// finds NCCL with the CUDA backend; TINCT_HAS_NCCL).
#pragma once

#include <memory>

#include "engine/dist.h"

namespace tinct::dist {

// `host` (MPI, or single_process()) with buffers on the GPU all-reduced by
// NCCL; everything else goes to `host`. The NCCL communicator is made at the
// first GPU all-reduce (a collective: every rank reaches it at the same
// step), from an id rank 0 makes and `host` broadcasts. Its wait has the
// same timeout as `host`'s collectives (the NCCL communicator is aborted).
std::unique_ptr<Communicator> with_nccl(std::unique_ptr<Communicator> host);

// Makes GPU (local_rank % GPUs) this process's device; no-op without a GPU.
void select_local_gpu(int local_rank);

}  // namespace tinct::dist
