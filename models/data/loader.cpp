// loader.cpp — see loader.h.
#include "models/data/loader.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "models/color/lab.h"

// Built without AVX, GCC warns that functions taking or returning 32-byte
// vectors (FastLab's helpers below) have an ABI that changed in GCC 4.6.
// They are internal to this file, so no ABI is involved; the warning is
// reported at the end of the file, hence disabled for the whole file.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace tinct::data {

// ---------------------------------------------------------------------------
// FastLab

FastLab::FastLab() {
  for (int v = 0; v < 256; ++v) lin_[v] = float(color::srgb_to_linear(v / 255.0));
  // Fold the division by the white point into the matrix rows: t = X / Xn etc.
  const color::Mat3& M = color::linear_rgb_to_xyz_matrix();
  const double white[3] = {color::kWhiteX, color::kWhiteY, color::kWhiteZ};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) m_[3 * r + c] = float(M.m[r][c] / white[r]);
}

namespace {

// Eight floats / ints at a time, with GCC's portable vector extensions: the
// compiler maps them onto AVX (one instruction each) or pairs of SSE/NEON
// instructions, with no intrinsics and no per-target code here. (Without
// AVX, GCC warns that passing 32-byte vectors changes the ABI: see the
// pragma at the top of this file.)
typedef float f32x8 __attribute__((vector_size(32)));
typedef std::int32_t i32x8 __attribute__((vector_size(32)));

inline f32x8 splat(float v) { return f32x8{v, v, v, v, v, v, v, v}; }
inline f32x8 load8(const float* p) {
  f32x8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, const f32x8& v) { std::memcpy(p, &v, sizeof v); }

// The CIE f(t) of 8 values t >= 0 (see FastLab in loader.h).
inline f32x8 lab_f8(const f32x8& t) {
  constexpr float d = 6.0f / 29.0f;
  const f32x8 d3 = splat(d * d * d);
  const i32x8 above = t > d3;            // all ones where the cube root applies
  const f32x8 tc = above ? t : d3;       // the cube root is only needed (and valid) above d^3
  // First guess: the float's bits, read as an integer, divided by 3 (this
  // divides the exponent by 3), plus a bias that centres the error (Kahan's
  // constant). The division is done in float: a 5% guess needs no more.
  const f32x8 bits = __builtin_convertvector((i32x8)tc, f32x8);
  f32x8 y = (f32x8)(__builtin_convertvector(bits * splat(1.0f / 3.0f), i32x8) + 709921077);
  // Two steps of Halley's method for y^3 = tc.
  f32x8 y3 = y * y * y;
  y = y * (y3 + splat(2.0f) * tc) / (splat(2.0f) * y3 + tc);
  y3 = y * y * y;
  y = y * (y3 + splat(2.0f) * tc) / (splat(2.0f) * y3 + tc);
  const f32x8 line = t * splat(1.0f / (3.0f * d * d)) + splat(4.0f / 29.0f);
  return above ? y : line;
}

}  // namespace

void FastLab::convert_span(const std::uint8_t* rgb, std::ptrdiff_t stride, int n, float* L, float* a,
                           float* b) const {
  // In chunks of 64 pixels: the table lookups of the sRGB curve first
  // (scalar), then 8 pixels per step of vector arithmetic. The last chunk is
  // padded with black to a multiple of 8; only n values are stored.
  constexpr int kChunk = 64;
  alignas(32) float lr[kChunk], lg[kChunk], lb[kChunk], Lt[kChunk], at[kChunk], bt[kChunk];
  const f32x8 m0 = splat(m_[0]), m1 = splat(m_[1]), m2 = splat(m_[2]);
  const f32x8 m3 = splat(m_[3]), m4 = splat(m_[4]), m5 = splat(m_[5]);
  const f32x8 m6 = splat(m_[6]), m7 = splat(m_[7]), m8 = splat(m_[8]);
  for (int start = 0; start < n; start += kChunk) {
    const int m = n - start < kChunk ? n - start : kChunk;
    const int padded = (m + 7) & ~7;
    const std::uint8_t* p = rgb + stride * start;
    for (int i = 0; i < m; ++i, p += stride) {
      lr[i] = lin_[p[0]];
      lg[i] = lin_[p[1]];
      lb[i] = lin_[p[2]];
    }
    for (int i = m; i < padded; ++i) lr[i] = lg[i] = lb[i] = 0.0f;
    for (int i = 0; i < padded; i += 8) {
      const f32x8 r = load8(lr + i), g = load8(lg + i), bl = load8(lb + i);
      const f32x8 fx = lab_f8(m0 * r + m1 * g + m2 * bl);
      const f32x8 fy = lab_f8(m3 * r + m4 * g + m5 * bl);
      const f32x8 fz = lab_f8(m6 * r + m7 * g + m8 * bl);
      store8(Lt + i, splat(116.0f) * fy - splat(16.0f));
      store8(at + i, splat(500.0f) * (fx - fy));
      store8(bt + i, splat(200.0f) * (fy - fz));
    }
    std::memcpy(L + start, Lt, sizeof(float) * m);
    std::memcpy(a + start, at, sizeof(float) * m);
    std::memcpy(b + start, bt, sizeof(float) * m);
  }
}

void FastLab::convert(const std::uint8_t* rgb, std::size_t n, float* L, float* ab) const {
  // Spans of at most 2^20 pixels keep the int count of convert_span safe.
  for (std::size_t i = 0; i < n; i += std::size_t(1) << 20) {
    const int m = int(std::min<std::size_t>(n - i, std::size_t(1) << 20));
    convert_span(rgb + 3 * i, 3, m, L + i, ab + i, ab + n + i);
  }
}

namespace {

const FastLab& fast_lab() {
  static const FastLab lab;  // built once, thread-safe (C++11 static init)
  return lab;
}

// SplitMix64's finaliser: a well-mixed 64-bit hash of a 64-bit value. All the
// loader's randomness comes from it, so the same seed gives the same batches
// on every platform and standard library (std::shuffle and the std
// distributions are not specified bit for bit).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A uniform integer in [0, n) from 64 random bits (Lemire's multiply-shift;
// the bias, n / 2^64, is far below anything measurable).
std::uint64_t below(std::uint64_t bits, std::uint64_t n) {
  return std::uint64_t((unsigned __int128)bits * n >> 64);
}

}  // namespace

// ---------------------------------------------------------------------------
// Split

namespace {

template <class Set>
Split split_by_name_hash(const Set& pack, std::size_t holdout) {
  const std::size_t n = pack.size();
  if (holdout > n)
    throw std::invalid_argument("split: holding out " + std::to_string(holdout) + " images of " +
                                std::to_string(n));
  std::vector<std::uint32_t> by_hash(n);
  std::iota(by_hash.begin(), by_hash.end(), 0u);
  std::sort(by_hash.begin(), by_hash.end(), [&](std::uint32_t a, std::uint32_t b) {
    const std::uint64_t ha = pack.entry(a).name_hash, hb = pack.entry(b).name_hash;
    return ha != hb ? ha < hb : a < b;
  });
  std::vector<bool> held(n, false);
  for (std::size_t i = 0; i < holdout; ++i) held[by_hash[i]] = true;
  Split s;
  for (std::uint32_t i = 0; i < n; ++i) (held[i] ? s.validation : s.train).push_back(i);
  return s;
}

}  // namespace

Split split_holdout(const PackSet& set, std::size_t holdout) { return split_by_name_hash(set, holdout); }
Split split_holdout(const Pack& pack, std::size_t holdout) { return split_by_name_hash(pack, holdout); }

// ---------------------------------------------------------------------------
// Loader

struct Loader::Slot {
  Batch batch;
  std::uint64_t taken = 0;  // samples of the order this batch used up (all parts')
  std::exception_ptr error;
};

Loader::Loader(std::shared_ptr<const PackSet> pack, LoaderOptions options)
    : pack_(std::move(pack)), opt_(std::move(options)) {
  if (!pack_) throw std::invalid_argument("loader: no pack");
  if (opt_.batch_size < 1) throw std::invalid_argument("loader: batch_size must be >= 1");
  if (opt_.threads < 1) throw std::invalid_argument("loader: threads must be >= 1");
  if (opt_.prefetch < 1) throw std::invalid_argument("loader: prefetch must be >= 1");
  if (opt_.parts < 1 || opt_.part < 0 || opt_.part >= opt_.parts)
    throw std::invalid_argument("loader: part " + std::to_string(opt_.part) + " of " + std::to_string(opt_.parts));
  if (opt_.parts > 1 && (opt_.batch_size % opt_.parts != 0 || !opt_.drop_last))
    throw std::invalid_argument("loader: a batch of " + std::to_string(opt_.batch_size) + " does not split into " +
                                std::to_string(opt_.parts) + " equal parts (it must divide, with drop_last)");
  if (opt_.crop < 1 || opt_.crop > pack_->width() || opt_.crop > pack_->height())
    throw std::invalid_argument("loader: crop " + std::to_string(opt_.crop) + " does not fit the pack's " +
                                std::to_string(pack_->width()) + "x" + std::to_string(pack_->height()) +
                                " images");
  if (opt_.indices.empty()) {
    indices_.resize(pack_->size());
    std::iota(indices_.begin(), indices_.end(), 0u);
  } else {
    indices_ = opt_.indices;
    for (std::uint32_t i : indices_)
      if (i >= pack_->size())
        throw std::invalid_argument("loader: image index " + std::to_string(i) + " beyond the pack's " +
                                    std::to_string(pack_->size()));
  }
  if (indices_.empty()) throw std::invalid_argument("loader: the pack has no images");
  if (opt_.drop_last && indices_.size() < std::size_t(opt_.batch_size))
    throw std::invalid_argument("loader: " + std::to_string(indices_.size()) +
                                " images, fewer than one batch of " + std::to_string(opt_.batch_size) +
                                " (use a smaller batch or drop_last = false)");
  if (opt_.shuffle_buffer > 0) {
    // Blocks: runs of consecutive images (in indices_ order) of one shard.
    block_length_ = std::max<std::size_t>(1, opt_.shuffle_buffer / 8);
    for (std::size_t i = 0; i < indices_.size();) {
      const std::size_t shard = pack_->shard_of(indices_[i]);
      std::size_t j = i + 1;
      while (j < indices_.size() && j - i < block_length_ && pack_->shard_of(indices_[j]) == shard)
        ++j;
      blocks_.emplace_back(i, j);
      i = j;
    }
  }
  const std::size_t decoded = pack_->size() * std::size_t(pack_->width()) * pack_->height() * 3;
  if (decoded <= opt_.cache_bytes) {
    // Not value-initialised: pages are touched only as images are decoded.
    cache_.reset(new std::uint8_t[decoded]);
    cache_state_.reset(new std::atomic<std::uint8_t>[pack_->size()]);
    for (std::size_t i = 0; i < pack_->size(); ++i) cache_state_[i].store(kEmpty, std::memory_order_relaxed);
  }
  consumed_ = cursor_ = LoaderState{opt_.seed, 0, 0};
  start_workers();
}

Loader::~Loader() { stop_workers(); }

std::size_t Loader::batches_per_epoch() const {
  const std::size_t n = indices_.size(), b = std::size_t(opt_.batch_size);
  return opt_.drop_last ? n / b : (n + b - 1) / b;
}

std::shared_ptr<const std::vector<std::uint32_t>> Loader::order_for(std::uint64_t epoch) const {
  // Called with mu_ held (by workers taking a job, and by image_at).
  auto it = orders_.find(epoch);
  if (it != orders_.end()) return it->second;
  auto order = std::make_shared<std::vector<std::uint32_t>>(indices_);
  if (opt_.shuffle && opt_.shuffle_buffer > 0) {
    // Streaming (see loader.h): the blocks in a random order, whole blocks
    // gathered into windows of at least shuffle_buffer images, each window
    // permuted; one SplitMix64 stream keyed on (seed, epoch) drives it all.
    std::uint64_t state = mix(mix(opt_.seed ^ 0xb10cb10cb10cb10cull) ^ epoch);
    std::vector<std::size_t> blocks(blocks_.size());
    std::iota(blocks.begin(), blocks.end(), std::size_t(0));
    for (std::size_t i = blocks.size(); i > 1; --i) {
      state = mix(state);
      std::swap(blocks[i - 1], blocks[below(state, i)]);
    }
    std::size_t out = 0, window = 0;
    auto shuffle_window = [&](std::size_t end) {
      for (std::size_t i = end - window; i > 1; --i) {
        state = mix(state);
        std::swap((*order)[window + i - 1], (*order)[window + below(state, i)]);
      }
      window = end;
    };
    for (std::size_t b : blocks) {
      for (std::size_t k = blocks_[b].first; k < blocks_[b].second; ++k) (*order)[out++] = indices_[k];
      if (out - window >= opt_.shuffle_buffer) shuffle_window(out);
    }
    if (out > window) shuffle_window(out);
  } else if (opt_.shuffle) {
    // Fisher-Yates, driven by a SplitMix64 stream keyed on (seed, epoch).
    std::uint64_t state = mix(mix(opt_.seed ^ 0x5eed5eed5eed5eedull) ^ epoch);
    for (std::size_t i = order->size(); i > 1; --i) {
      state = mix(state);
      std::swap((*order)[i - 1], (*order)[below(state, i)]);
    }
  }
  // Keep a few epochs: workers straddle at most one boundary at a time.
  while (orders_.size() >= 3) orders_.erase(orders_.begin());
  orders_[epoch] = order;
  return order;
}

// Moves a cursor to where a batch can start, and says how many samples it takes.
void Loader::advance(LoaderState& c, int* count) const {
  const std::uint64_t n = indices_.size(), b = std::uint64_t(opt_.batch_size);
  if (c.position >= n || (opt_.drop_last && n - c.position < b)) {
    ++c.epoch;
    c.position = 0;
  }
  if (count) *count = int(std::min<std::uint64_t>(b, n - c.position));
}

std::uint32_t Loader::image_at(std::uint64_t epoch, std::uint64_t position) const {
  std::lock_guard<std::mutex> lock(mu_);
  return order_for(epoch)->at(position);
}

std::vector<std::uint32_t> Loader::epoch_order(std::uint64_t epoch) const {
  std::lock_guard<std::mutex> lock(mu_);
  return *order_for(epoch);
}

const std::uint8_t* Loader::cached(std::uint32_t idx) const {
  if (!cache_ || cache_state_[idx].load(std::memory_order_acquire) != kReady) return nullptr;
  return cache_.get() + std::size_t(idx) * pack_->width() * pack_->height() * 3;
}

const std::uint8_t* Loader::pixels(std::uint32_t idx, Image& scratch) const {
  pack_->decode(idx, scratch);  // throws for an image that does not decode
  if (!cache_) return scratch.pixels.data();
  // Each image is decoded once, by the first worker to need it, and copied
  // into its cache slot. A worker that finds the slot being filled by
  // another uses its own copy rather than wait.
  const std::size_t bytes = std::size_t(pack_->width()) * pack_->height() * 3;
  std::uint8_t* slot = cache_.get() + std::size_t(idx) * bytes;
  std::uint8_t expected = kEmpty;
  if (cache_state_[idx].compare_exchange_strong(expected, kFilling, std::memory_order_acq_rel)) {
    std::memcpy(slot, scratch.pixels.data(), bytes);
    cache_state_[idx].store(kReady, std::memory_order_release);
  }
  return scratch.pixels.data();
}

void Loader::make_sample(std::uint64_t epoch, std::uint64_t position, Batch& batch, int slot,
                         Image& scratch) const {
  const std::uint32_t idx = image_at(epoch, position);
  const std::uint8_t* rgb = cached(idx);
  if (!rgb) rgb = pixels(idx, scratch);
  const int W = pack_->width(), H = pack_->height(), C = opt_.crop;

  // Crop and flip from a hash of (seed, epoch, position): the same for a
  // given sample whichever thread makes it.
  const std::uint64_t h = mix(mix(mix(opt_.seed ^ 0xc409c409c409c409ull) ^ epoch) ^ position);
  int x0 = (W - C) / 2, y0 = (H - C) / 2;
  if (opt_.random_crop) {
    x0 = int(below(mix(h ^ 1), std::uint64_t(W - C + 1)));
    y0 = int(below(mix(h ^ 2), std::uint64_t(H - C + 1)));
  }
  const bool flip = opt_.flip && (mix(h ^ 3) >> 63);

  const std::size_t plane = std::size_t(C) * C;
  float* Lp = batch.L.data() + std::size_t(slot) * plane;
  float* ap = batch.ab.data() + std::size_t(slot) * 2 * plane;
  float* bp = ap + plane;
  float* raw = batch.ab_raw.empty() ? nullptr : batch.ab_raw.data() + std::size_t(slot) * 2 * plane;
  const FastLab& lab = fast_lab();
  const float inv_L = 1.0f / color::kLScale, inv_ab = 1.0f / color::kAbScale;
  for (int y = 0; y < C; ++y) {
    const std::uint8_t* row = rgb + (std::size_t(y0 + y) * W + x0) * 3;
    float* Lr = Lp + std::size_t(y) * C;
    float* ar = ap + std::size_t(y) * C;
    float* br = bp + std::size_t(y) * C;
    // A mirrored crop reads its row right to left.
    lab.convert_span(flip ? row + 3 * (C - 1) : row, flip ? -3 : 3, C, Lr, ar, br);
    if (raw) {
      std::memcpy(raw + std::size_t(y) * C, ar, sizeof(float) * C);
      std::memcpy(raw + plane + std::size_t(y) * C, br, sizeof(float) * C);
    }
    for (int x = 0; x < C; ++x) {
      Lr[x] = Lr[x] * inv_L - 1.0f;
      ar[x] *= inv_ab;
      br[x] *= inv_ab;
    }
  }
  batch.index[slot] = idx;
}

void Loader::worker_loop() {
  Image scratch;  // decode space, reused
  while (true) {
    std::uint64_t seq = 0;
    LoaderState start;
    int count = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_work_.wait(lock, [&] { return stop_ || next_job_ < next_out_ + std::uint64_t(opt_.prefetch); });
      if (stop_) return;
      seq = next_job_++;
      advance(cursor_, &count);
      start = cursor_;
      cursor_.position += std::uint64_t(count);
      order_for(start.epoch);  // build the permutation once, under the lock
    }
    auto slot = std::make_unique<Slot>();
    try {
      Batch& b = slot->batch;
      const std::size_t plane = std::size_t(opt_.crop) * opt_.crop;
      slot->taken = std::uint64_t(count);
      // This part's rows of the batch (drop_last: count == batch_size).
      const std::uint64_t first = std::uint64_t(count / opt_.parts) * std::uint64_t(opt_.part);
      count /= opt_.parts;
      b.n = count;
      b.size = opt_.crop;
      b.epoch = start.epoch;
      b.position = start.position;
      b.L.resize(count * plane);
      b.ab.resize(count * 2 * plane);
      if (opt_.raw_ab) b.ab_raw.resize(count * 2 * plane);
      b.index.resize(std::size_t(count));
      for (int i = 0; i < count; ++i)
        make_sample(start.epoch, start.position + first + std::uint64_t(i), b, i, scratch);
      if (opt_.transform) opt_.transform(b);
    } catch (...) {
      slot->error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;  // set_state() or the destructor: this batch is not wanted
      done_[seq] = std::move(slot);
    }
    cv_ready_.notify_all();
  }
}

void Loader::start_workers() {
  stop_ = false;
  for (int i = 0; i < opt_.threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

Batch Loader::next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (failed_) std::rethrow_exception(failed_);
  cv_ready_.wait(lock, [&] { return done_.count(next_out_) > 0; });
  std::unique_ptr<Slot> slot = std::move(done_[next_out_]);
  done_.erase(next_out_);
  if (slot->error) {
    failed_ = slot->error;
    std::rethrow_exception(failed_);
  }
  ++next_out_;
  Batch& b = slot->batch;
  consumed_ = LoaderState{opt_.seed, b.epoch, b.position + slot->taken};
  advance(consumed_, nullptr);  // an epoch that is used up reads as (epoch + 1, 0)
  lock.unlock();
  cv_work_.notify_all();  // room for one more batch ahead
  return std::move(b);
}

LoaderState Loader::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return consumed_;
}

void Loader::set_state(const LoaderState& s) {
  stop_workers();
  std::lock_guard<std::mutex> lock(mu_);
  opt_.seed = s.seed;
  orders_.clear();
  done_.clear();
  failed_ = nullptr;
  next_job_ = next_out_ = 0;
  consumed_ = s;
  advance(consumed_, nullptr);
  cursor_ = consumed_;
  start_workers();
}

}  // namespace tinct::data
