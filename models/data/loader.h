// loader.h — training batches from a pack or a set of packs
// (models/data/pack_set.h), made on worker threads while the previous batch
// trains.
//
// One sample: decode the stored image (JPEG), cut a crop x crop square at a
// random place (or the centre), mirror it left-right with probability 1/2,
// convert sRGB -> CIE LAB and scale:
//   L  -> L / 50 - 1        [0, 100]   -> [-1, 1]       (tinct::color::normalize_L)
//   ab -> ab / 110          about [-110, 110] -> [-1, 1]  (tinct::color::normalize_ab:
//                           the sRGB gamut spans a in [-86, 98], b in [-108, 95],
//                           so tanh outputs can reach every real colour)
// A batch of N samples holds planar float arrays, NCHW:
//   L  [N, 1, crop, crop]    ab [N, 2, crop, crop]
//   ab_raw [N, 2, crop, crop] in LAB units, only with LoaderOptions::raw_ab: what
//                           the classification model soft-encodes over its gamut's bins
//                           (Zhang et al.'s 313 by default, 262 for srgb262 files).
// LoaderOptions::transform runs on the worker thread after a batch is made,
// so that per-batch work such as soft-encoding and rebalancing weights also
// overlaps with training; it may fill Batch::extra_f / extra_i.
//
// Order and randomness are deterministic: the permutation of epoch e and the
// crop/flip of the sample at position p of epoch e come from hashes of
// (seed, e) and (seed, e, p), never from which thread made the batch, so the
// same seed gives the same batches with any number of threads.
//
// Two orders. In memory (shuffle_buffer = 0), each epoch is a full random
// permutation of the images. Streaming (shuffle_buffer = N > 0, for a set
// too large for memory, held as PackSet::Hold::stream), the images are cut
// into blocks of consecutive images of one shard (N / 8 images, at least 1);
// each epoch takes the blocks in a random order, N images' worth at a time
// (a window: whole blocks, at least N images), and permutes each window.
// So at any point of an epoch the loader reads from the blocks of at most
// two windows: the shards' bytes it touches stay within about 2N images,
// while a window mixes 8 places of the set (a shard holds photos sorted by
// name: one block alone would be one folder). Every image still comes once
// an epoch, and the order is still a function of (seed, epoch): resuming
// needs no more state than in memory, and stays exact. The whole
// state is three integers (seed, epoch, position): state() after a batch,
// saved with a checkpoint and given back to set_state(), makes the resumed
// loader hand out exactly the batch that would have come next.
//
// Threads: `threads` workers each make whole batches, into a window of
// `prefetch` batches ahead of the consumer. The destructor stops and joins
// them. An exception in a worker (a pack image that does not decode, the
// transform throwing) is handed to the consumer: next() rethrows it when the
// failed batch's turn comes, and keeps rethrowing it until set_state().
// One consumer: next(), state() and set_state() are meant to be called from
// one thread (the training loop).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "models/data/pack.h"
#include "models/data/pack_set.h"

namespace tinct::data {

struct Batch {
  int n = 0;      // samples in this batch
  int size = 0;   // crop side: every plane is size x size
  std::vector<float> L;       // [n, 1, size, size], L/50 - 1
  std::vector<float> ab;      // [n, 2, size, size], ab/110
  std::vector<float> ab_raw;  // [n, 2, size, size], LAB units (only with raw_ab)
  std::vector<std::uint32_t> index;  // [n] the set's image behind each sample
  std::uint64_t epoch = 0;     // where the batch starts: epoch ...
  std::uint64_t position = 0;  // ... and position in that epoch's order
  // Free slots for LoaderOptions::transform (e.g. soft targets, pixel weights).
  std::map<std::string, std::vector<float>> extra_f;
  std::map<std::string, std::vector<std::int32_t>> extra_i;
};

struct LoaderOptions {
  int batch_size = 64;
  int crop = 128;            // side of the square training crop (<= the pack's image size)
  bool random_crop = true;   // false: always the centre (validation)
  bool flip = true;          // mirror left-right with probability 1/2
  bool shuffle = true;       // false: pack order, every epoch (validation)
  bool drop_last = true;     // true: every batch has batch_size samples; the last
                             // incomplete one of an epoch is skipped (not the
                             // images: the next epoch's permutation differs)
  bool raw_ab = false;       // also fill Batch::ab_raw
  std::uint64_t seed = 1;
  int threads = 2;           // worker threads (>= 1)
  int prefetch = 4;          // batches made ahead of the consumer (>= 1)
  // Data parallelism: of every batch of batch_size samples, make only rows
  // [part * batch_size / parts, (part + 1) * batch_size / parts) — one
  // rank's share. The order, crops and flips are those of the whole batch,
  // so the parts of all ranks together are exactly a one-process batch, and
  // each rank decodes only its own images. batch_size must divide by parts.
  int part = 0;
  int parts = 1;
  // Streaming order (see the top): shuffle within windows of this many
  // images; 0: a full permutation of every epoch.
  std::size_t shuffle_buffer = 0;
  // Keep every image decoded in memory after its first use when the whole
  // set, decoded, fits in this many bytes (0: never). Decoding the JPEG is
  // most of a sample's cost; a 144x144 image takes 62 KB decoded, so the
  // default 4 GB holds 69,000 images (train256: 113 MB). Larger packs are
  // decoded afresh every time, on the workers.
  std::size_t cache_bytes = std::size_t(4) << 30;
  // The pack images this loader draws from (e.g. from split_holdout); empty = all.
  std::vector<std::uint32_t> indices;
  // Runs on the worker thread on each finished batch.
  std::function<void(Batch&)> transform;
};

// Where the loader stands: the next batch starts at `position` in epoch
// `epoch`'s order (the order itself follows from `seed`).
struct LoaderState {
  std::uint64_t seed = 1;
  std::uint64_t epoch = 0;
  std::uint64_t position = 0;
  bool operator==(const LoaderState& o) const {
    return seed == o.seed && epoch == o.epoch && position == o.position;
  }
};

// Splits a pack into training and validation images: the `holdout` images
// with the smallest name hashes (ties: lower index) go to validation, the
// rest to training, both lists in pack order. Hashing the name (the relative
// path) spreads the validation images over every source folder (the pack is
// sorted by path, so "the last K images" would all come from one folder),
// and a file keeps its side of the split when others are added or removed.
struct Split {
  std::vector<std::uint32_t> train;
  std::vector<std::uint32_t> validation;
};
Split split_holdout(const PackSet& set, std::size_t holdout);
Split split_holdout(const Pack& pack, std::size_t holdout);

class Loader {
 public:
  Loader(std::shared_ptr<const PackSet> set, LoaderOptions options);
  Loader(std::shared_ptr<const Pack> pack, LoaderOptions options)
      : Loader(PackSet::of(std::move(pack)), std::move(options)) {}
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch (blocks until a worker has made it). Rethrows a worker's
  // exception.
  Batch next();

  // The state after the last batch next() returned (before the first: the
  // start state). Restoring it resumes with the batch that would come next.
  LoaderState state() const;
  // Drops the batches made ahead and restarts the workers from `s`.
  void set_state(const LoaderState& s);

  std::size_t size() const { return indices_.size(); }  // images drawn from
  std::size_t batches_per_epoch() const;
  const LoaderOptions& options() const { return opt_; }

  // Makes one sample, deterministically, into the planes of sample `slot` of
  // `batch` (allocated by the caller): what the workers call. Exposed for
  // tests and tools. `scratch` is decode space.
  void make_sample(std::uint64_t epoch, std::uint64_t position, Batch& batch, int slot,
                   Image& scratch) const;
  // The set's image at `position` of epoch `epoch`'s order.
  std::uint32_t image_at(std::uint64_t epoch, std::uint64_t position) const;
  // The whole order of epoch `epoch` (tests, tools).
  std::vector<std::uint32_t> epoch_order(std::uint64_t epoch) const;
  // Streaming: the images of a block (see the top); 0 in memory.
  std::size_t block_length() const { return block_length_; }

 private:
  struct Slot;
  static constexpr std::uint8_t kEmpty = 0, kFilling = 1, kReady = 2;
  // The decoded pixels of pack image idx: from the cache (null if not there
  // yet), or decoded into scratch (and copied into the cache if it is on).
  const std::uint8_t* cached(std::uint32_t idx) const;
  const std::uint8_t* pixels(std::uint32_t idx, Image& scratch) const;
  void start_workers();
  void stop_workers();
  void worker_loop();
  std::shared_ptr<const std::vector<std::uint32_t>> order_for(std::uint64_t epoch) const;
  void advance(LoaderState& cursor, int* count) const;

  std::shared_ptr<const PackSet> pack_;
  LoaderOptions opt_;
  std::vector<std::uint32_t> indices_;
  // Streaming: [begin, end) of each block within indices_.
  std::vector<std::pair<std::size_t, std::size_t>> blocks_;
  std::size_t block_length_ = 0;
  std::unique_ptr<std::uint8_t[]> cache_;  // [pack size, H, W, 3] or null
  std::unique_ptr<std::atomic<std::uint8_t>[]> cache_state_;  // kEmpty / kFilling / kReady

  mutable std::mutex mu_;
  std::condition_variable cv_work_;   // workers wait for room / a stop
  std::condition_variable cv_ready_;  // the consumer waits for its batch
  bool stop_ = false;
  LoaderState consumed_;  // after the last batch handed out
  LoaderState cursor_;    // where the next job starts
  std::uint64_t next_job_ = 0;     // sequence number of the next job to hand to a worker
  std::uint64_t next_out_ = 0;     // sequence number next() returns next
  std::map<std::uint64_t, std::unique_ptr<Slot>> done_;  // finished batches, by sequence
  std::exception_ptr failed_;      // sticky after a worker error reached the consumer
  std::vector<std::thread> workers_;
  // The permutation of the most recent epochs (workers near an epoch
  // boundary need two at once).
  mutable std::map<std::uint64_t, std::shared_ptr<const std::vector<std::uint32_t>>> orders_;
};

// sRGB bytes -> CIE LAB in single precision: the loader's hot path, more
// than 10x faster than tinct::color::srgb_to_lab_image (the double-precision
// reference, one std::cbrt per channel). Over all 2^24 8-bit colours it stays
// within 3e-5 of the reference in L and 2e-4 in a and b (tests/test_data.cpp
// checks 1e-3 on every grey, the cube's corners and 100,000 random colours).
//   - the sRGB curve: a 256-entry table of the reference's srgb_to_linear;
//   - linear RGB -> XYZ / white: the reference's matrix, rows divided by the white;
//   - f(t) = cbrt(t) above (6/29)^3: a bit-level first guess (the float
//     exponent divided by 3) refined by two Halley steps, y <- y (y^3 + 2t) /
//     (2 y^3 + t), each of which triples the correct digits (5% -> 1e-4 ->
//     float precision). Plain arithmetic with no table or branch, written
//     with GCC vector extensions: 8 pixels per AVX instruction.
class FastLab {
 public:
  FastLab();
  // n pixels starting at rgb, the next pixel `stride` bytes further (3: left
  // to right; -3: right to left, for a mirrored crop), into L, a, b.
  void convert_span(const std::uint8_t* rgb, std::ptrdiff_t stride, int n, float* L, float* a,
                    float* b) const;
  // n interleaved pixels -> L [n] and ab [2n] (the a plane, then the b plane).
  void convert(const std::uint8_t* rgb, std::size_t n, float* L, float* ab) const;

 private:
  float lin_[256];
  float m_[9];  // linear RGB -> XYZ / white, row-major
};

}  // namespace tinct::data
