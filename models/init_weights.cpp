// init_weights.cpp — see init_weights.h.
#include "models/init_weights.h"

#include <cmath>
#include <stdexcept>

#include "engine/checkpoint.h"
#include "models/color/gamut.h"
#include "models/state_names.h"

namespace tinct::models {

namespace {

// The gamut named by a file's prior (its size), or null for a file without one.
const color::AbGamut* prior_gamut_of(const std::map<std::string, Tensor>& t) {
  auto p = t.find("prior.p");
  return p == t.end() ? nullptr : color::AbGamut::with_bins(int(p->second.numel()));
}

// Rows of `from` ([Q_old, ...]) picked per new bin: row q of the result is
// row j = nearest(new centre q) of `from`. For the head's bias (`is_bias`),
// row q is b_j - log(n_j), n_j the number of new bins nearest old bin j: the
// n_j logits then share old bin j's probability (the softmax over the new
// bins, summed over j's copies, is the old model's softmax at j), where
// plain copies would give j's colour n_j times its weight.
Tensor map_bin_rows(const Tensor& from, const color::AbGamut& old_g, const color::AbGamut& new_g, const Shape& shape,
                    bool is_bias) {
  const int64_t row = from.numel() / from.shape()[0];
  const std::vector<float> src = from.to_vector();
  std::vector<int> nearest(size_t(new_g.size())), copies(size_t(old_g.size()), 0);
  for (int q = 0; q < new_g.size(); ++q) {
    nearest[size_t(q)] = old_g.nearest(new_g.centre(q).a, new_g.centre(q).b);
    ++copies[size_t(nearest[size_t(q)])];
  }
  std::vector<float> dst(size_t(shape_numel(shape)));
  for (int q = 0; q < new_g.size(); ++q) {
    const int j = nearest[size_t(q)];
    std::copy_n(src.begin() + j * row, row, dst.begin() + q * row);
    if (is_bias) dst[size_t(q)] -= std::log(float(copies[size_t(j)]));
  }
  return Tensor::from_vector(shape, dst);
}

}  // namespace

std::string init_weights_from(Colorizer& model, const std::string& path) {
  Checkpoint c = load_checkpoint(path);
  const std::string kind = c.metadata.count("kind") ? c.metadata["kind"] : "";
  if (kind != model.options().kind)
    throw std::runtime_error("--init " + path + " holds a " + (kind.empty() ? std::string("file without a kind") : kind + " model") +
                             ", not " + model.options().kind);
  if (c.metadata.count("preset") && c.metadata["preset"] != model.options().preset)
    throw std::runtime_error("--init " + path + " holds a " + kind + "/" + c.metadata["preset"] + " model, not " + kind + "/" +
                             model.options().preset + " (pass --preset " + c.metadata["preset"] + ")");
  std::map<std::string, Tensor> merged = model.state(false);
  const color::AbGamut* old_g = prior_gamut_of(c.tensors);
  const color::AbGamut* new_g = prior_gamut_of(merged);
  int copied = 0, mapped = 0, fresh = 0;
  std::string first_fresh;
  for (auto& [name, t] : merged) {
    if (name.rfind("model.", 0) != 0) continue;  // the prior stays the run's own
    auto f = c.tensors.find(name);
    if (f != c.tensors.end() && f->second.shape() == t.shape()) {
      t = f->second;
      ++copied;
      continue;
    }
    Shape rest_new(t.shape().begin() + (t.shape().empty() ? 0 : 1), t.shape().end());
    if (f != c.tensors.end() && old_g && new_g && old_g != new_g && !t.shape().empty() && !f->second.shape().empty() &&
        t.shape()[0] == new_g->size() && f->second.shape()[0] == old_g->size() &&
        Shape(f->second.shape().begin() + 1, f->second.shape().end()) == rest_new) {
      t = map_bin_rows(f->second, *old_g, *new_g, t.shape(), t.dim() == 1 && ends_with(name, ".bias"));
      ++mapped;
      continue;
    }
    if (first_fresh.empty()) first_fresh = name.substr(6);
    ++fresh;
  }
  if (copied == 0)
    throw std::runtime_error("--init " + path + ": none of its weights fits this " + model.options().kind + "/" +
                             model.options().preset + " model (another preset?)");
  model.load_state(merged, false);
  std::string line = "init: " + std::to_string(copied) + " tensors from " + path;
  if (mapped) line += ", " + std::to_string(mapped) + " mapped from " + std::to_string(old_g->size()) + " to " +
                      std::to_string(new_g->size()) + " bins (nearest centre, sharing its probability)";
  if (fresh) line += ", " + std::to_string(fresh) + " left fresh (" + first_fresh + (fresh > 1 ? ", ..." : "") + ")";
  return line;
}

}  // namespace tinct::models
