// deconv_phases.cpp — a transposed convolution's phase projection, in place on
// the tensor's device (kernels/deconv_phases/): `--phases equalized` applies
// it to weights and gradients every step, so on the GPU it must not round-trip
// through the host.
#include "engine/ops.h"
#include "engine/ops/op_util.h"

namespace tinct::ops {

void equalize_deconv_phases_(Tensor& w) {
  const char* op = "equalize_deconv_phases_";
  ProfileRange range(op);
  check_arg(w.defined() && w.dim() == 4 && w.size(2) == 4 && w.size(3) == 4, op,
            "expected [in, out, 4, 4] weights, got " + (w.defined() ? shape_str(w.shape()) : std::string("undefined")));
  check_arg(!w.channels_last(), op, "expected NCHW weights, got a channels-last tensor");
  const size_t n = size_t(w.size(0)) * size_t(w.size(1));
  TINCT_DISPATCH(w.device(), cuda::deconv_phase_equalize(n, w.data()), cpu::deconv_phase_equalize_ref(n, w.data()));
}

}  // namespace tinct::ops
