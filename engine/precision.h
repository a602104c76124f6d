// precision.h — the arithmetic of the engine's convolutions (issue 12): one
// process-wide setting that every conv2d / conv_transpose2d pass reads.
//
//   fp32  operands as stored (the default)
//   tf32  each operand of a product rounded to TF32 (10 mantissa bits)
//   bf16  each operand rounded to BF16 (7 mantissa bits): mixed precision
// In every setting the products are accumulated in fp32 and everything else
// stays fp32: weights (the master copy), optimizer state, batch norm, losses,
// softmax, activations in memory. Convolutions are the engine's only matrix
// products. On the GPU, tf32 / bf16 run the tensor-core convolutions (CUDA
// conv variants 4 / 5); on the CPU the same maths: the operands are rounded
// into a copy and the fp32 kernels run on it (products of rounded operands
// are exact, so only the order of the fp32 additions differs), which is what
// lets a small model's training at each precision be compared without a GPU.
// Where the processor has AMX-BF16 or AVX-512 BF16 (cpu::cpu_bf16_gemm()),
// bf16 on the CPU instead runs the convolutions on the bf16 GEMM (kernels/gemm/
// cpu_amx.cpp or cpu_avx512bf16.cpp), whose packing does the same rounding:
// the same maths, about 4x (AMX) or 2x the fp32 GEMM's rate
// (engine/ops/conv_precision.cpp).
#pragma once

#include <string>

#include "kernels/kernels.h"  // enum class tinct::Precision

namespace tinct {

Precision precision();
void set_precision(Precision p);
// "fp32" | "tf32" | "bf16"; anything else: std::invalid_argument naming `option`.
Precision parse_precision(const std::string& name, const std::string& option = "--precision");
const char* precision_name(Precision p);

// Sets the precision for a scope and restores the previous one (tests).
class PrecisionScope {
 public:
  explicit PrecisionScope(Precision p) : saved_(precision()) { set_precision(p); }
  ~PrecisionScope() { set_precision(saved_); }
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision saved_;
};

}  // namespace tinct
