// prior.h — the rebalancing prior of a training pack (Zhang et al. 2016,
// section 2.2, computed from our own photos as the paper does from
// ImageNet's): the distribution of the pixels' nearest ab bins over every
// image of the pack, smoothed (sigma 5), and the rebalancing weights
// (lambda 0.5, E_p~[w] = 1); rebalance.h has the formulas.
//
// `tinct prepare` computes it after writing the pack and stores it beside
// it, PACK.prior.safetensors, with a picture of the ab plane, PACK.prior.svg
// (the bins in their colours, log p~, w). `tinct train --model
// classification` on PACK uses that prior and its gamut (so the gamut of a
// model is chosen at prepare time: `tinct prepare --gamut srgb262`); without
// the file, training computes the same prior from its training split.
//
// The file: tensors "p" (empirical), "p_smooth", "weights" ([Q] each) and
// "centres" ([Q, 2], the bins' (a, b)); metadata "format" = "tinct-prior-1",
// "gamut", "bins", "images", "pixels", "sigma", "lambda", and the pack's
// "pack_images" and "pack_fingerprint" (a hash of its index: a prior is
// refused for any other pack, e.g. one rewritten since).
//
// The pixels are those the loader gives training (the pack's decoded squares,
// converted by data::FastLab), all of them, holdout included: the prior is a
// property of the data set, and the 64 held-out images of a pack of
// thousands move it by less than its smoothing does.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/tensor.h"

#include "models/color/gamut.h"
#include "models/color/rebalance.h"

namespace tinct::data {
class Pack;
class PackSet;
}

namespace tinct::color {

struct PackPrior {
  std::string gamut;                  // the gamut's name ("zhang313", "srgb262")
  std::vector<AbBin> centres;         // its bins, in order
  RebalancePrior prior;               // p, p_smooth, weights
  std::uint64_t images = 0, pixels = 0;
  float sigma = kRebalanceSigma, lambda = kRebalanceLambda;
  std::uint64_t pack_images = 0, pack_fingerprint = 0;
};

// Where the prior of a pack lives: PACK + ".prior.safetensors" (".prior.svg").
// For a sharded set (data/pack_set.h), beside its manifest: SET + ".prior...",
// over the images of every shard.
std::string prior_path(const std::string& pack_path);
std::string prior_picture_path(const std::string& pack_path);

// A hash of the pack's index (size, count, every image's CRC and name hash):
// data::set_fingerprint, the same for a sharded set and the single pack of
// the same images.
std::uint64_t pack_fingerprint(const data::Pack& pack);
std::uint64_t pack_fingerprint(const data::PackSet& set);

// The prior over the images `indices` of the pack (all of them when empty),
// on `threads` threads (0: all cores). The result does not depend on the
// number of threads.
PackPrior compute_pack_prior(const data::PackSet& set, const AbGamut& gamut,
                             const std::vector<std::uint32_t>& indices = {}, int threads = 0);
PackPrior compute_pack_prior(const data::Pack& pack, const AbGamut& gamut,
                             const std::vector<std::uint32_t>& indices = {}, int threads = 0);

// Writes atomically. Throws std::runtime_error on failure.
void save_pack_prior(const std::string& path, const PackPrior& prior);
// Throws std::runtime_error "<path>: ..." for a file that is not a prior, an
// unknown gamut or centres that do not match it, or sizes that disagree.
PackPrior load_pack_prior(const std::string& path);
// The prior stored beside `pack` (prior_path(pack.path())), checked against
// the pack; found = false (and nothing else set) when there is none. Throws
// std::runtime_error naming both files when it belongs to another pack.
PackPrior load_prior_for_pack(const data::PackSet& set, bool* found);
PackPrior load_prior_for_pack(const data::Pack& pack, bool* found);

// The gamut a prior was computed over (the named one; its centres checked).
const AbGamut& prior_gamut(const PackPrior& prior);

// The prior a colorizer's checkpoint keeps, tensors "prior.weights" and
// "prior.p" ([Q] each): the classification loss's (always there) and the
// rebalanced regression loss's (there when it trained rebalanced), so a
// resumed run and `tinct eval` weigh colours as the training did.
struct StoredPrior {
  const AbGamut* gamut = nullptr;  // the named gamut of Q bins
  std::vector<float> weights, p;
};
// Puts the two tensors into a checkpoint's state.
void store_prior(std::map<std::string, Tensor>& state, const AbGamut& gamut, const std::vector<float>& weights,
                 const std::vector<float>& p);
// nullopt when the state holds neither tensor. Throws std::runtime_error
// "<who>: ..." when it holds one without the other, their sizes differ, or
// no gamut has that many bins.
std::optional<StoredPrior> read_stored_prior(const std::map<std::string, Tensor>& state, const std::string& who);

// The picture: three panels over the ab plane (a across, b up), one square
// per bin: its colour, log10 p~, and log10 w, with colour bars and a title
// that names `title` (e.g. the pack). A standalone SVG element.
std::string prior_svg(const PackPrior& prior, const std::string& title);

// A few lines for prepare's summary: the gamut, pixels, the most common bin,
// the empty bins, the range of w.
std::string describe_prior(const PackPrior& prior);

}  // namespace tinct::color
