// colorizer.cpp — the factory, the batch-to-tensor helpers, metadata.
#include "models/colorizer.h"

#include <stdexcept>

namespace tinct::models {

std::unique_ptr<Colorizer> make_regression_colorizer(const ColorizerOptions& o);
std::unique_ptr<Colorizer> make_classification_colorizer(const ColorizerOptions& o);
std::unique_ptr<Colorizer> make_gan_colorizer(const ColorizerOptions& o);

std::unique_ptr<Colorizer> make_colorizer(const ColorizerOptions& o) {
  if (o.preset != "full" && o.preset != "compact")
    throw std::invalid_argument("unknown preset '" + o.preset + "' (full, compact)");
  if (o.kind == "regression") return make_regression_colorizer(o);
  if (o.kind == "classification") return make_classification_colorizer(o);
  if (o.kind == "gan") return make_gan_colorizer(o);
  throw std::invalid_argument("unknown model '" + o.kind + "' (regression, classification, gan)");
}

std::map<std::string, std::string> Colorizer::metadata() const {
  return {{"format", "tinct-colorizer-1"}, {"kind", opt_.kind}, {"preset", opt_.preset},
          {"parameters", std::to_string(num_parameters())}};
}

Tensor batch_L(const data::Batch& b, Device d) { return Tensor::from_vector({b.n, 1, b.size, b.size}, b.L, d); }
Tensor batch_ab(const data::Batch& b, Device d) { return Tensor::from_vector({b.n, 2, b.size, b.size}, b.ab, d); }

}  // namespace tinct::models
