// train.cpp — the training loop: data, steps, logs, evaluation, checkpoints.
#include "models/train.h"

#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include "engine/atomic_file.h"
#include "engine/checkpoint.h"
#include "engine/device.h"
#include "engine/dist.h"
#include "engine/layout.h"
#include "engine/precision.h"
#include "models/color/lab.h"
#include "models/data/image.h"
#include "models/eval/plot.h"
#include "models/ema.h"
#include "models/init_weights.h"
#include "models/train_config.h"

namespace tinct::models {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string ckpt_name(int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "ckpt-%08lld.safetensors", (long long)step);
  return buf;
}

// Checkpoints in `dir`, oldest first.
std::vector<std::pair<int64_t, fs::path>> list_checkpoints(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  if (!fs::is_directory(dir)) return out;
  static const std::regex re("ckpt-([0-9]{8})\\.safetensors");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, re)) out.emplace_back(std::stoll(m[1]), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string meta(const std::map<std::string, std::string>& m, const std::string& key, const std::string& file) {
  auto it = m.find(key);
  if (it == m.end()) throw std::runtime_error(file + ": not a tinct training checkpoint (no '" + key + "' in its metadata)");
  return it->second;
}

// Keeps the CSV rows up to `step` (a resumed run rewrites what came after
// its checkpoint); creates the file with `header` if needed.
void trim_csv(const fs::path& path, const std::string& header, int64_t step) {
  std::vector<std::string> keep{header};
  std::ifstream in(path);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first) { first = false; continue; }
    if (!line.empty() && std::stoll(line.substr(0, line.find(','))) <= step) keep.push_back(line);
  }
  in.close();
  std::string text;
  for (auto& l : keep) text += l + "\n";
  write_file_atomic(path.string(), text.data(), text.size());
}

std::string losses_str(const Losses& l) {
  std::ostringstream os;
  os.precision(5);
  for (size_t i = 0; i < l.size(); ++i) os << (i ? " " : "") << l[i].first << " " << l[i].second;
  return os.str();
}

// A row of K held-out images: gray | prediction | truth, one row per image.
data::Image sample_grid(Colorizer& c, const data::Batch& b, int K) {
  const int S = b.size;
  const size_t n = size_t(S) * S;
  K = std::min(K, b.n);
  Tensor L = Tensor::from_vector({K, 1, S, S}, std::vector<float>(b.L.begin(), b.L.begin() + long(K * n)));
  Tensor pred = c.predict_ab(L);
  data::Image grid(3 * S, K * S, 3);
  std::vector<float> Lraw(n), ab(2 * n), zero(2 * n, 0.f);
  std::vector<uint8_t> rgb(3 * n);
  for (int k = 0; k < K; ++k) {
    for (size_t i = 0; i < n; ++i) Lraw[i] = color::denormalize_L(b.L[k * n + i]);
    for (size_t i = 0; i < 2 * n; ++i) ab[i] = color::denormalize_ab(b.ab[k * 2 * n + i]);
    const float* cols[3] = {zero.data(), pred.data() + size_t(k) * 2 * n, ab.data()};
    for (int col = 0; col < 3; ++col) {
      color::lab_to_srgb_image(Lraw.data(), cols[col], n, rgb.data());
      for (int y = 0; y < S; ++y)
        std::copy(rgb.begin() + long(y) * S * 3, rgb.begin() + long(y + 1) * S * 3, grid.at(col * S, k * S + y));
    }
  }
  return grid;
}

struct Series {
  std::vector<double> steps;
  std::map<std::string, std::vector<double>> values;
};

// Reads a log CSV (step first, then named columns) into curves.
Series read_csv(const fs::path& path) {
  Series s;
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> cols;
  if (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) cols.push_back(c);
  }
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string v;
    for (size_t i = 0; std::getline(ss, v, ',') && i < cols.size(); ++i) {
      if (i == 0) s.steps.push_back(std::stod(v));
      else if (cols[i] != "epoch" && cols[i] != "images_per_s" && cols[i] != "lr" && cols[i].rfind("grad_norm", 0) != 0)
        s.values[cols[i]].push_back(std::stod(v));
    }
  }
  return s;
}

void write_loss_plot(const fs::path& out, const std::string& kind) {
  Series tr = read_csv(out / "train_log.csv"), va = read_csv(out / "val_log.csv");
  std::vector<eval::Curve> curves;
  for (auto& [name, v] : tr.values) curves.push_back({"train " + name, tr.steps, v});
  for (auto& [name, v] : va.values) curves.push_back({"validation " + name, va.steps, v});
  if (curves.empty()) return;
  eval::PlotOptions po;
  po.title = kind + ": training and validation losses";
  po.x_label = "step";
  po.y_label = "loss";
  po.log_y = true;
  const std::string svg = eval::svg_line_plot(curves, po);
  write_file_atomic((out / "loss.svg").string(), svg.data(), svg.size());
}

// One run per folder: an exclusive flock on DIR/.lock, held for the run and
// released by the kernel however the process ends (no stale lock after a
// crash or kill -9). A second `tinct train` into the same folder is refused
// instead of interleaving its logs and overwriting the other's checkpoints.
class RunLock {
 public:
  explicit RunLock(const fs::path& dir) {
    const std::string path = (dir / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      const int err = errno;
      throw std::runtime_error(path + ": cannot create the run's lock file: " + std::strerror(err));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char pid[32] = {0};
      const ssize_t got = ::pread(fd_, pid, sizeof pid - 1, 0);
      ::close(fd_);
      if (err == EWOULDBLOCK)
        throw std::runtime_error(dir.string() + " is in use by another tinct train" +
                                 (got > 0 ? " (pid " + std::string(pid, size_t(got)) + ")" : std::string()) +
                                 "; wait for it to finish or choose another --out");
      throw std::runtime_error(path + ": cannot lock: " + std::strerror(err));
    }
    // The pid only serves the message above; the lock is what counts, so a
    // failure to record it is ignored.
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) == 0) {
      const ssize_t put = ::pwrite(fd_, me.data(), me.size(), 0);
      (void)put;
    }
  }
  ~RunLock() { ::close(fd_); }  // closing releases the lock
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// What the set holds, independent of where it lies or how it is cut into
// shards: its size, count and every image's CRC and name hash. A resumed run
// must see the same data, or its loader position and its rebalancing prior
// would silently mean something else.
std::string pack_fingerprint(const data::PackSet& p) {
  uint32_t crc = 0;
  auto mix = [&crc](uint64_t v) { crc = data::crc32(&v, sizeof v, crc); };
  mix(p.size());
  mix(uint64_t(p.width()) << 32 | uint32_t(p.height()));
  for (size_t i = 0; i < p.size(); ++i) {
    mix(p.entry(i).crc);
    mix(p.entry(i).name_hash);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zu-%08x", p.size(), crc);
  return buf;
}

// A training or validation set (`sets`: --data or --val-data), held in
// memory when its decoded images fit the cache (then decoded once, as
// always), else streamed from its files. A set that cannot be read, or of
// images smaller than the crop, is bad input (exit 2); `label` names it.
std::shared_ptr<const data::PackSet> open_set(const std::string& sets, const std::string& label, int64_t cache_mb,
                                              int crop) {
  using Hold = data::PackSet::Hold;
  std::shared_ptr<const data::PackSet> set;
  try {
    set = data::PackSet::open(sets, Hold::stream);  // the indexes only
    if (set->decoded_bytes() <= uint64_t(cache_mb) << 20) set = data::PackSet::open(sets, Hold::memory);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
  if (set->width() < crop || set->height() < crop)
    throw std::invalid_argument(label + ": its images are " + std::to_string(set->width()) + "x" +
                                std::to_string(set->height()) + ", smaller than the crop " + std::to_string(crop));
  return set;
}

// A validation image that is also a training image (the same stored
// bytes: the same photo packed with the same settings) would make the
// held-out loss a training loss.
void check_disjoint(const data::PackSet& train, const data::PackSet& val, const std::vector<uint32_t>& chosen,
                    const std::string& val_name) {
  std::unordered_set<uint32_t> crcs;
  for (size_t i = 0; i < train.size(); ++i) crcs.insert(train.entry(i).crc);
  size_t shared = 0;
  std::string first;
  for (uint32_t i : chosen)
    if (crcs.count(val.entry(i).crc) && shared++ == 0) first = val.entry(i).name;
  if (shared)
    throw std::invalid_argument("--val-data " + val_name + ": " + std::to_string(shared) + " of its " +
                                std::to_string(chosen.size()) + " validation images are also in --data (" + first +
                                (shared > 1 ? ", ..." : "") +
                                "); validate on photos the run does not train on");
}

// Whether every set of `val` (a --val-data spec) is also one of `data`'s:
// the same file, however it is spelled.
bool is_among_sets(const std::string& val, const std::string& data) {
  auto canonical = [](const std::string& f) {
    std::error_code ec;
    const fs::path p = fs::weakly_canonical(f, ec);
    return ec ? fs::path(f).lexically_normal() : p;
  };
  std::vector<fs::path> given;
  for (const std::string& f : data::PackSet::split_spec(data)) given.push_back(canonical(f));
  for (const std::string& f : data::PackSet::split_spec(val))
    if (std::find(given.begin(), given.end(), canonical(f)) == given.end()) return false;
  return true;
}

// The images of `train` that are none of the chosen validation images (by
// their stored bytes, so a copy of a validation photo elsewhere in --data
// is left out too).
std::vector<uint32_t> all_but(const data::PackSet& train, const data::PackSet& val,
                              const std::vector<uint32_t>& chosen) {
  std::unordered_set<uint32_t> crcs;
  for (uint32_t i : chosen) crcs.insert(val.entry(i).crc);
  std::vector<uint32_t> kept;
  for (uint32_t i = 0; i < uint32_t(train.size()); ++i)
    if (!crcs.count(train.entry(i).crc)) kept.push_back(i);
  return kept;
}

// Tells a loss that has run away from one that is merely noisy. The
// reference of each loss is its value at the first step of this process
// (fresh or resumed); a loss that is not finite, or more than kFactor times
// its reference, has diverged. Healthy training, the GAN's seesaw included,
// moves a loss by far less than 10^4 from where it started, while a learning
// rate far too large does so within a few steps (--lr 1e6: 1e23).
class DivergenceGuard {
 public:
  static constexpr double kFactor = 1e4;
  static constexpr double kFloor = 1e-2;  // a reference near 0 must not make every step "diverged"

  // "" when every loss is sane, else what is wrong in words.
  std::string check(const Losses& l) {
    if (ref_.empty())
      for (auto& [n, v] : l) ref_[n] = std::isfinite(v) ? std::max(std::fabs(double(v)), kFloor) : kFloor;
    for (auto& [n, v] : l) {
      if (!std::isfinite(v)) return "the " + n + " loss became " + std::to_string(v);
      auto it = ref_.find(n);
      if (it != ref_.end() && std::fabs(double(v)) > kFactor * it->second) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "the %s loss reached %.3g, over %.0e times its first value (%.3g)",
                      n.c_str(), double(v), kFactor, it->second);
        return buf;
      }
    }
    return {};
  }

 private:
  std::map<std::string, double> ref_;
};

// Faults for the data-parallel tests: TINCT_DIST_TEST_FAULT=RANK:STEP:WHAT
// makes rank RANK, at step STEP, "die" (SIGKILL itself), "hang" (sleep
// forever), or "desync" (returns true: the caller nudges a weight).
bool test_fault(int rank, int64_t step) {
  static const char* spec = std::getenv("TINCT_DIST_TEST_FAULT");
  if (!spec) return false;
  int r = -1;
  long long s = -1;
  char what[16] = {0};
  if (std::sscanf(spec, "%d:%lld:%15s", &r, &s, what) != 3 || r != rank || s != step) return false;
  if (std::strcmp(what, "die") == 0) ::raise(SIGKILL);
  if (std::strcmp(what, "hang") == 0)
    for (;;) ::sleep(1000);
  return std::strcmp(what, "desync") == 0;
}

class Progress {
 public:
  Progress(bool quiet, int64_t total) : quiet_(quiet), tty_(isatty(2)), total_(total) {}
  void update(int64_t step, const Losses& l, double img_s, double eta_s, bool force) {
    if (quiet_) return;
    if (!tty_ && !force) return;
    char bar[32];
    const int filled = int(30.0 * double(step) / double(std::max<int64_t>(1, total_)));
    for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '#' : '.';
    bar[30] = 0;
    std::fprintf(stderr, "%s[%s] %lld/%lld  %s  %.1f img/s  eta %02d:%02d%s", tty_ ? "\r" : "", bar,
                 (long long)step, (long long)total_, losses_str(l).c_str(), img_s, int(eta_s / 60),
                 int(eta_s) % 60, tty_ ? "   " : "\n");
    std::fflush(stderr);
  }
  void line(const std::string& s) {
    if (quiet_) return;
    std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", s.c_str());
  }

 private:
  bool quiet_, tty_;
  int64_t total_;
};

}  // namespace

void check_recipe(const TrainOptions& o) {
  check_schedule(o.schedule);
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
    throw std::invalid_argument("--weight-decay must be 0 or more");
  if (o.ema != 0 && !(o.ema > 0 && o.ema < 1))
    throw std::invalid_argument("--ema must be a decay in (0, 1), such as 0.999");
  if (!(o.clip_grad >= 0) || !std::isfinite(o.clip_grad)) throw std::invalid_argument("--clip-grad must be 0 or more");
  check_layout(parse_layout(o.layout), parse_precision(o.precision));
  if (!(o.rebalance >= 0 && o.rebalance <= 1))
    throw std::invalid_argument("--rebalance-strength must be in (0, 1] (1: the classification loss's weights)");
  if (o.trainable != "all" && o.trainable != "head")
    throw std::invalid_argument("--trainable must be all or head, got '" + o.trainable + "'");
  if (o.phases != "free" && o.phases != "equalized")
    throw std::invalid_argument("--phases must be free or equalized, got '" + o.phases + "'");
}

int train(const TrainOptions& opts, const std::atomic<bool>* stop) {
  const auto t_start = Clock::now();  // the time budget counts from here: this process's time
  TrainOptions o = opts;
  if (!(o.model.lr > 0)) o.model.lr = default_lr(o.model.kind);  // made explicit for config.json
  check_recipe(o);
  o.model.device = parse_device(o.device);
  const PrecisionScope precision_scope(parse_precision(o.precision));  // this run's convolutions
  const LayoutScope layout_scope(parse_layout(o.layout));              // its activations on the GPU
  if (o.batch < 2) throw std::invalid_argument("--batch must be at least 2 (batch norm needs a batch)");
  const fs::path out(o.out);

  // Data-parallel when launched by mpirun: rank 0 (the lead) alone writes
  // the folder and prints; every rank takes o.batch / ranks of each batch.
  std::unique_ptr<dist::Communicator> comm = dist::from_environment(o.dist_timeout);
  const int rank = comm->rank(), ranks = comm->size();
  const bool lead = rank == 0;
  if (o.batch % ranks != 0)
    throw std::invalid_argument("--batch " + std::to_string(o.batch) + " does not divide by the " +
                                std::to_string(ranks) + " ranks (each rank takes an equal share of every batch)");
  if (!lead) o.quiet = true;

  if (o.data.empty()) throw std::invalid_argument("--data is required (a pack from tinct prepare)");
  const auto pack = open_set(o.data, o.data, o.cache_mb, o.crop);
  const bool streaming = pack->hold() == data::PackSet::Hold::stream;
  auto model = make_colorizer(o.model);
  model->set_trainable(o.trainable);
  model->set_rebalance(float(o.rebalance));
  if (o.crop % model->size_multiple() != 0)
    throw std::invalid_argument("--crop must be a multiple of " + std::to_string(model->size_multiple()) + " for " +
                                o.model.kind);
  // Validation: --holdout images of --val-data, or held out of --data.
  std::shared_ptr<const data::PackSet> val_pack = pack;
  data::Split split;
  if (!o.val_data.empty()) {
    val_pack = open_set(o.val_data, "--val-data " + o.val_data, o.cache_mb, o.crop);
    split.validation = data::split_holdout(*val_pack, std::min<size_t>(size_t(o.holdout), val_pack->size())).validation;
    if (is_among_sets(o.val_data, o.data)) {
      // One of --data's own sets: its --holdout images are held out of the
      // training, the same ones as a run on that set alone holds out, so
      // runs on larger mixes validate on (and compare on) the same photos.
      split.train = all_but(*pack, *val_pack, split.validation);
    } else {
      split.train.resize(pack->size());
      std::iota(split.train.begin(), split.train.end(), 0u);
      check_disjoint(*pack, *val_pack, split.validation, o.val_data);
    }
  } else {
    const size_t holdout = size_t(std::max(0, std::min<int>(o.holdout, int(pack->size() / 5))));
    split = data::split_holdout(*pack, holdout);
  }
  if (split.train.size() < size_t(o.batch))
    throw std::invalid_argument(o.data + ": " + std::to_string(split.train.size()) + " training images, fewer than one batch of " +
                                std::to_string(o.batch));

  // Where the run starts: fresh, or the newest checkpoint. The folder is
  // locked first, so two runs cannot both find it empty.
  if (!o.resume) {
    if (lead) fs::create_directories(out);
  } else if (!fs::is_directory(out)) throw std::runtime_error(o.out + ": no checkpoint to resume from (no such folder)");
  std::unique_ptr<RunLock> lock;
  if (lead) {
    lock = std::make_unique<RunLock>(out);
    remove_stale_temp_files(o.out);  // a checkpoint write that was killed
  }
  const std::string fingerprint = pack_fingerprint(*pack);
  const std::string val_fingerprint = o.val_data.empty() ? std::string() : pack_fingerprint(*val_pack);
  // How the epochs are ordered (models/data/loader.h): a resume in the other
  // order trains on, but is not the uninterrupted run.
  const std::string data_order = streaming ? "stream " + std::to_string(o.shuffle_buffer) : "memory";
  const int threads = omp_get_max_threads();
  int64_t start = 0;
  data::LoaderState loader_state;
  loader_state.seed = o.model.seed;
  auto ckpts = list_checkpoints(out);
  const fs::path config_path = out / "config.json", best_path = out / "best.safetensors";
  std::string resume_note, init_note, lr_note;
  Checkpoint resumed;  // the checkpoint a resumed run starts from
  std::string init_from = o.init;  // kept in every checkpoint's metadata, across resumes
  if (o.resume && !o.init.empty())
    throw std::invalid_argument("--init starts a new run; a resumed run continues from its own checkpoint");
  if (o.resume) {
    if (ckpts.empty()) throw std::runtime_error(o.out + ": no checkpoint to resume from (ckpt-*.safetensors)");
    const std::string file = ckpts.back().second.string();
    resumed = load_checkpoint(file);
    Checkpoint& c = resumed;
    if (meta(c.metadata, "kind", file) != o.model.kind || meta(c.metadata, "preset", file) != o.model.preset)
      throw std::runtime_error(file + " holds a " + c.metadata["kind"] + "/" + c.metadata["preset"] +
                               " run, not " + o.model.kind + "/" + o.model.preset);
    if (std::stoi(meta(c.metadata, "batch", file)) != o.batch || std::stoi(meta(c.metadata, "crop", file)) != o.crop)
      throw std::runtime_error(file + ": the run used --batch " + c.metadata["batch"] + " --crop " + c.metadata["crop"] +
                               "; resume with the same values");
    // Checkpoints from before the fingerprint was recorded are taken on trust.
    if (c.metadata.count("data_fingerprint") && c.metadata["data_fingerprint"] != fingerprint)
      throw std::runtime_error(file + ": the run was trained on " + c.metadata["data"] + " (" +
                               c.metadata["data_fingerprint"] + " images-crc), but --data " + o.data + " holds other images (" +
                               fingerprint + "); resume with the run's own pack");
    // The best checkpoint so far was chosen on the run's validation images: a
    // resumed run must see the same ones (a path may move, the images not).
    if (c.metadata.count("val_fingerprint") ? c.metadata["val_fingerprint"] != val_fingerprint
                                            : !val_fingerprint.empty())
      throw std::runtime_error(file + ": the run validated on " +
                               (c.metadata.count("val_data") ? c.metadata["val_data"] + " (" +
                                                                   c.metadata["val_fingerprint"] + " images-crc)"
                                                             : std::string("images held out of its --data")) +
                               ", and this process on " +
                               (o.val_data.empty() ? std::string("images held out of --data")
                                                   : o.val_data + " (" + val_fingerprint + ")") +
                               "; resume with the run's own validation set");
    if (c.metadata.count("threads") && c.metadata["threads"] != std::to_string(threads))
      resume_note = "note: the run used " + c.metadata["threads"] + " compute threads and this process has " +
                    std::to_string(threads) +
                    " (OMP_NUM_THREADS): it resumes correctly, but floating-point sums split per thread differ, so "
                    "the weights will not be bit-identical to an uninterrupted run";
    const std::string was = c.metadata.count("data_order") ? c.metadata["data_order"] : "memory";
    if (was != data_order)
      resume_note += (resume_note.empty() ? "" : "\n") + std::string("note: the run ordered its data as '") + was +
                     "' and this process as '" + data_order + "' (--cache-mb, --shuffle-buffer): it resumes, but " +
                     "the batches from here differ from an uninterrupted run's";
    if (c.metadata.count("ranks") ? c.metadata["ranks"] != std::to_string(ranks) : ranks > 1)
      resume_note += (resume_note.empty() ? "" : "\n") + std::string("note: the run used ") +
                     (c.metadata.count("ranks") ? c.metadata["ranks"] : std::string("1")) + " rank(s) and this one " +
                     std::to_string(ranks) + ": it resumes with the same global batch and data order, but the "
                     "gradients are summed in another order and batch norm sees other shares of each batch";
    // Runs from before config.json are resumed with the options given.
    if (fs::exists(config_path)) lr_note = check_resume_recipe(read_config(config_path.string()), o);
    model->load_state(c.tensors, true);
    if (c.metadata.count("init")) init_from = c.metadata["init"];
    start = std::stoll(meta(c.metadata, "step", file));
    loader_state.seed = std::stoull(meta(c.metadata, "loader_seed", file));
    loader_state.epoch = std::stoull(meta(c.metadata, "loader_epoch", file));
    loader_state.position = std::stoull(meta(c.metadata, "loader_position", file));
  } else {
    if (!ckpts.empty())
      throw std::runtime_error(o.out + " already holds a run (" + ckpts.back().second.filename().string() +
                               "); pass --resume to continue it, or choose another --out");
    model->prepare(pack, split.train);
    if (!o.init.empty()) init_note = init_weights_from(*model, o.init);
    if (lead) fs::remove(best_path);  // no run here: a stray best is not this run's
  }

  // Equalized phases: the weights onto the subspace before the average's snapshot.
  model->set_phases(o.phases);
  // The moving average of the weights: from the start, or the checkpoint's.
  std::unique_ptr<WeightAverage> ema;
  if (o.ema > 0) {
    ema = std::make_unique<WeightAverage>(*model, o.ema);
    if (start > 0 && has_ema(resumed.tensors)) ema->load(resumed.tensors, ckpts.back().second.string());
    else if (start > 0) resume_note += (resume_note.empty() ? "" : "\n") + std::string("note: the checkpoint holds no "
                                       "moving average of the weights; the average starts here");
  }
  resumed = Checkpoint();  // its tensors are loaded; free them

  // Every rank starts from rank 0's weights, optimizer state and average.
  // The state's tensors by name, for the broadcast and the sync check.
  std::vector<std::string> state_names;
  std::vector<Tensor> state_tensors, bn_stats;
  auto gather_state = [&]() {
    std::map<std::string, Tensor> st = model->state(true);
    if (ema)
      for (auto& kv : ema->state()) st[kv.first] = kv.second;
    state_names.clear();
    state_tensors.clear();
    for (auto& kv : st) state_names.push_back(kv.first), state_tensors.push_back(kv.second);
    return st;
  };
  if (ranks > 1) {
    std::map<std::string, Tensor> st = gather_state();
    dist::broadcast(*comm, state_tensors);
    model->load_state(st, true);
    if (ema) ema->load(st, "rank 0's state");
    model->set_communicator(comm.get());
    // Batch norm's running statistics, averaged over the ranks after each step.
    for (auto& kv : model->state(false))
      if (is_bn_statistic(kv.first)) bn_stats.push_back(kv.second);
  }
  // --check-sync: every rank's state hashed and compared with rank 0's.
  auto check_sync = [&](int64_t step) {
    gather_state();
    std::string what;
    if (dist::same_on_all_ranks(*comm, state_names, state_tensors, &what)) return;
    std::fprintf(stderr, "error: step %lld: %s\n", (long long)step, what.c_str());
    throw std::runtime_error("the ranks' weights or optimizer state differ at step " + std::to_string(step) +
                             " (--check-sync); the data-parallel reduction is broken");
  };
  if (ranks > 1 && o.check_sync > 0) check_sync(start);

  // Every rank walks the same global batches and makes only its rows of each.
  data::LoaderOptions lo;
  lo.batch_size = o.batch;
  lo.crop = o.crop;
  lo.seed = loader_state.seed;
  lo.threads = o.threads;
  lo.raw_ab = model->needs_raw_ab();
  lo.indices = split.train;
  lo.transform = model->batch_transform();
  lo.cache_bytes = streaming ? 0 : size_t(o.cache_mb) << 20;
  lo.shuffle_buffer = streaming ? size_t(o.shuffle_buffer) : 0;
  lo.part = rank;
  lo.parts = ranks;
  data::Loader loader(pack, lo);
  if (start > 0) loader.set_state(loader_state);  // a fresh loader already starts at (seed, 0, 0)

  const int64_t total = o.steps > 0 ? o.steps
                                    : std::max<int64_t>(1, int64_t(std::ceil(o.epochs * double(loader.batches_per_epoch()))));
  if (start >= total) throw std::runtime_error(o.out + ": the run is already at step " + std::to_string(start) +
                                               " of " + std::to_string(total) + "; raise --steps or --epochs");
  if (lead) {
    // The recipe as this run takes it (a resume may have changed its length or rate).
    TrainOptions recorded = o;
    recorded.init = init_from;
    write_config(config_path.string(), recorded);
  }

  // Validation batches: centre crops of the held-out images, in pack order.
  std::vector<data::Batch> val;
  if (!split.validation.empty() && lead) {
    data::LoaderOptions vo = lo;
    vo.random_crop = vo.flip = vo.shuffle = vo.drop_last = false;
    vo.part = 0;
    vo.parts = 1;  // rank 0 validates on whole batches
    vo.indices = split.validation;
    vo.batch_size = std::min<int>(o.batch, int(split.validation.size()));
    vo.threads = 1;
    if (val_pack != pack) vo.cache_bytes = 0;  // read once: nothing to cache
    data::Loader vl(val_pack, vo);
    try {
      for (size_t i = 0; i < vl.batches_per_epoch(); ++i) val.push_back(vl.next());
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());  // a streamed image that cannot be read: bad input
    }
  }

  Progress progress(o.quiet, total);
  if (!resume_note.empty()) progress.line(resume_note);
  if (!lr_note.empty()) progress.line(lr_note);
  if (!init_note.empty()) progress.line(init_note);
  const int64_t trained = model->num_trainable_parameters();
  progress.line(o.model.kind + "/" + o.model.preset + ": " + std::to_string(model->num_parameters()) + " parameters" +
                (trained == model->num_parameters() ? std::string()
                                                    : " (" + std::to_string(trained) + " trained: --trainable " +
                                                          o.trainable + ")") +
                ", " +
                std::to_string(split.train.size()) + " training and " + std::to_string(split.validation.size()) +
                " validation images" + (o.val_data.empty() ? std::string() : " (of " + o.val_data + ")") +
                ", batch " + std::to_string(o.batch) +
                (ranks > 1 ? " (" + std::to_string(o.batch / ranks) + " on each of " + std::to_string(ranks) +
                                 " ranks, " + comm->backend() + ")"
                           : std::string()) +
                ", " +
                (start ? "resuming at step " + std::to_string(start) + " of " : "") + std::to_string(total) +
                " steps, on " + describe_device(o.model.device) +
                (o.precision == "fp32" ? std::string() : ", convolutions at " + o.precision) +
                (channels_last_on(o.model.device) ? ", channels-last activations" : ""));
  if (streaming)
    progress.line("streaming " + std::to_string(pack->size()) + " images from " + std::to_string(pack->shards().size()) +
                  " shard(s): " + std::to_string(pack->decoded_bytes() >> 20) + " MiB decoded, over --cache-mb " +
                  std::to_string(o.cache_mb) + "; shuffled in windows of " + std::to_string(o.shuffle_buffer) +
                  " images");

  const std::vector<std::string> names = model->loss_names();
  // The recipe's columns appear only when it is on: the default logs stay as they were.
  const bool log_lr = o.schedule.kind != "constant" || o.schedule.warmup > 0;
  const std::vector<std::string> norm_names = o.clip_grad > 0 ? model->grad_norm_names() : std::vector<std::string>{};
  std::string train_header = "step,epoch", val_header = "step";
  for (auto& n : names) train_header += "," + n, val_header += "," + n;
  if (ema)
    for (auto& n : names) val_header += ",ema_" + n;
  if (log_lr) train_header += ",lr";
  for (auto& n : norm_names) train_header += "," + n;
  train_header += ",images_per_s";
  std::ofstream train_log, val_log;
  if (lead) {
    trim_csv(out / "train_log.csv", train_header, start);
    trim_csv(out / "val_log.csv", val_header, start);
    train_log.open(out / "train_log.csv", std::ios::app);
    val_log.open(out / "val_log.csv", std::ios::app);
  }
  val_log.precision(9);  // best.safetensors is the argmin of this file: no ties made by rounding

  // The best checkpoint so far: the lowest headline validation loss (of the
  // moving average when there is one) in val_log.csv up to the start.
  const std::string headline = (ema ? "ema_" : "") + names.front();
  double best_loss = INFINITY;
  if (start > 0 && lead) {
    const Series logged = read_csv(out / "val_log.csv");
    if (auto it = logged.values.find(headline); it != logged.values.end())
      for (double v : it->second) best_loss = std::min(best_loss, v);
  }

  DivergenceGuard guard;
  auto newest_checkpoint = [&]() {
    auto all = list_checkpoints(out);
    return all.empty() ? std::string("No checkpoint was written yet.")
                       : "The last good checkpoint is " + all.back().second.string() + ".";
  };
  auto diverged = [&](const std::string& what) {
    progress.line("error: " + what + "; stopping without saving this state. " + newest_checkpoint() +
                  " Try a lower --lr.");
    return int(kTrainDiverged);
  };

  // The mean validation losses of the current weights (eval mode), or of the
  // last training batch when nothing is held out; {} without either.
  auto held_out_losses = [&](const data::Batch* last) {
    std::vector<double> sum(names.size(), 0.0);
    const std::vector<data::Batch>* set = &val;
    std::vector<data::Batch> one;
    if (val.empty()) {
      if (!last) return Losses{};
      one.push_back(*last);
      set = &one;
    }
    for (auto& b : *set) {
      Losses l = model->eval_losses(b);
      for (size_t i = 0; i < l.size() && i < sum.size(); ++i) sum[i] += l[i].second;
    }
    Losses mean;
    for (size_t i = 0; i < sum.size(); ++i) mean.push_back({names[i], float(sum[i] / double(set->size()))});
    return mean;
  };

  // A checkpoint is written only for weights that are good: every tensor
  // finite and the held-out losses of THESE weights sane (a finite loss
  // before an update says nothing about the weights after it). So "the
  // last good checkpoint" is always one to resume from. Returns "" when
  // saved, else why not.
  auto save = [&](int64_t step, const Losses& checked, const data::Batch* last) -> std::string {
    std::map<std::string, Tensor> state = model->state(true);
    if (ema)
      for (auto& [name, t] : ema->state()) state[name] = t;
    for (auto& [name, t] : state) {
      const std::vector<float> v = t.to_vector();
      if (const int64_t bad = first_non_finite(v.data(), v.size()); bad >= 0)
        return "after step " + std::to_string(step) + " the weights hold " + std::to_string(v[size_t(bad)]) +
               " (" + name + ")";
    }
    const Losses held = checked.empty() ? held_out_losses(last) : checked;
    if (std::string bad = guard.check(held); !bad.empty())
      return "after step " + std::to_string(step) + " on held-out images " + bad;
    auto md = model->metadata();
    data::LoaderState s = loader.state();
    md["step"] = std::to_string(step);
    md["batch"] = std::to_string(o.batch);
    md["crop"] = std::to_string(o.crop);
    md["loader_seed"] = std::to_string(s.seed);
    md["loader_epoch"] = std::to_string(s.epoch);
    md["loader_position"] = std::to_string(s.position);
    md["data"] = o.data;
    md["data_fingerprint"] = fingerprint;
    if (!o.val_data.empty()) md["val_data"] = o.val_data, md["val_fingerprint"] = val_fingerprint;
    md["data_order"] = data_order;
    md["threads"] = std::to_string(threads);
    md["ranks"] = std::to_string(ranks);
    if (!init_from.empty()) md["init"] = init_from;
    try {
      save_checkpoint((out / ckpt_name(step)).string(), state, md);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(e.what()) + " (step " + std::to_string(step) + " is not saved; " +
                               newest_checkpoint() + " Free some space and continue with --resume)");
    }
    auto all = list_checkpoints(out);
    for (size_t i = 0; i + size_t(std::max(1, o.keep)) < all.size(); ++i) fs::remove(all[i].second);
    return {};
  };

  // best.safetensors: the weights evaluated (the average's when there is
  // one), weights only as model.safetensors, atomically.
  auto save_best = [&](int64_t step, double loss) {
    std::unique_ptr<WeightAverage::Swap> swap;
    if (ema) swap = std::make_unique<WeightAverage::Swap>(*model, *ema);
    auto md = model->metadata();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", loss);
    md["step"] = std::to_string(step);
    md["best_loss"] = buf;
    md["best_of"] = "validation " + headline;
    if (!o.val_data.empty()) md["val_data"] = o.val_data;
    md["weights"] = ema ? "moving average" : "trained";
    md["data"] = o.data;
    save_checkpoint(best_path.string(), model->state(false), md);
  };

  // Validation losses, a sample grid and the loss plot. The pictures are
  // for people: a failure to write them (a full disk) is reported and the
  // run goes on to its checkpoint, which says loudly if it cannot be saved.
  auto evaluate = [&](int64_t step) {
    if (val.empty()) return Losses{};
    Losses mean = held_out_losses(nullptr), averaged;
    if (ema) {
      WeightAverage::Swap swap(*model, *ema);
      averaged = held_out_losses(nullptr);
    }
    val_log << step;
    for (auto& [n, v] : mean) val_log << "," << v;
    for (auto& [n, v] : averaged) val_log << "," << v;
    val_log << "\n";
    val_log.flush();
    train_log.flush();
    if (!val_log || !train_log) progress.line("warning: cannot append to the logs in " + o.out + " (disk full?)");
    char name[64];
    std::snprintf(name, sizeof name, "samples-%08lld.png", (long long)step);
    try {
      data::save_png((out / name).string(), sample_grid(*model, val.front(), 8));
      write_loss_plot(out, o.model.kind);
    } catch (const std::exception& e) {
      progress.line(std::string("warning: ") + e.what() + " (training goes on)");
    }
    std::string line = "step " + std::to_string(step) + "  validation " + losses_str(mean);
    if (ema) line += "  average " + losses_str(averaged);
    const double head = double((ema ? averaged : mean).front().second);
    if (head < best_loss) {
      best_loss = head;
      save_best(step, head);
      line += "  (best)";
    }
    progress.line(line + "  -> " + name);
    return mean;
  };

  // model.safetensors: the weights alone, what colorize loads.
  auto save_final = [&](int64_t step) {
    auto md = model->metadata();
    md["step"] = std::to_string(step);
    save_checkpoint((out / "model.safetensors").string(), model->state(false), md);
  };

  const auto t0 = Clock::now();
  auto t_last = t0;
  int64_t since_last = 0;
  double img_s = 0;
  // The batch of the next step. A shard that cannot be read (damaged or
  // removed since the run started) is bad input: the run stops, keeping
  // its last checkpoint.
  auto next_batch = [&]() {
    try {
      return loader.next();
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(std::string(e.what()) + " (the run stops here; " + newest_checkpoint() + ")");
    }
  };
  // Rank 0's verdict on its checkpoint, told to every rank: all go on or stop together.
  auto save_everywhere = [&](int64_t step, const Losses& checked, const data::Batch* last) {
    std::string bad = lead ? save(step, checked, last) : std::string();
    if (ranks > 1) {
      int32_t failed = bad.empty() ? 0 : 1;
      comm->broadcast(&failed, sizeof failed, 0);
      if (failed && bad.empty()) bad = "rank 0 refused the weights of step " + std::to_string(step);
    }
    return bad;
  };
  for (int64_t step = start + 1; step <= total; ++step) {
    comm->set_step(step);
    data::Batch b = next_batch();
    if (test_fault(rank, step)) model->state(false).begin()->second.fill_(0.5f);
    StepRecipe recipe;
    recipe.lr = float(lr_at(o.schedule, step, total, double(o.model.lr)));
    recipe.weight_decay = float(o.weight_decay);
    recipe.clip_grad = float(o.clip_grad);
    model->set_step_recipe(recipe);
    Losses l = model->train_step(b);
    if (ranks > 1) {
      dist::allreduce_mean(*comm, bn_stats);
      // The losses of the whole batch: every rank logs and guards the same values.
      std::vector<float> v;
      for (auto& kv : l) v.push_back(kv.second);
      comm->allreduce(v.data(), v.size(), Device::CPU, dist::Reduce::Mean);
      for (size_t i = 0; i < l.size(); ++i) l[i].second = v[i];
    }
    if (ema) ema->update(*model);
    if (std::string bad = guard.check(l); !bad.empty()) return diverged(bad + " at step " + std::to_string(step));
    ++since_last;
    const bool log_now = step % o.log_every == 0 || step == total;
    if (log_now && lead) {
      const auto now = Clock::now();
      const double dt = std::chrono::duration<double>(now - t_last).count();
      img_s = dt > 0 ? double(since_last * o.batch) / dt : 0;
      t_last = now;
      since_last = 0;
      train_log << step << "," << double(b.epoch) + double(b.position) / double(loader.size());
      for (auto& [n, v] : l) train_log << "," << v;
      if (log_lr) train_log << "," << recipe.lr;
      for (auto& n : norm_names) {
        float norm = 0;
        for (auto& [k, v] : model->grad_norms())
          if (k == n) norm = v;
        train_log << "," << norm;
      }
      train_log << "," << img_s << "\n";
      train_log.flush();  // a run that dies keeps its log up to here
      const double per_step = std::chrono::duration<double>(now - t0).count() / double(step - start);
      // On a terminal the bar redraws at every log; in a log file, a line every 10 logs.
      progress.update(step, l, img_s, per_step * double(total - step), step % (10 * o.log_every) == 0);
    }
    Losses checked;
    if ((step % o.eval_every == 0 || step == total) && lead) checked = evaluate(step);
    bool interrupted = stop && stop->load();
    bool out_of_time =
        o.time_budget >= 0 && std::chrono::duration<double>(Clock::now() - t_start).count() >= o.time_budget;
    if (ranks > 1) {  // one rank interrupted or out of time stops them all, at the same step
      float flags[2] = {interrupted ? 1.f : 0.f, out_of_time ? 1.f : 0.f};
      comm->allreduce(flags, 2, Device::CPU, dist::Reduce::Sum);
      interrupted = flags[0] > 0, out_of_time = flags[1] > 0;
      if (o.check_sync > 0 && step % o.check_sync == 0) check_sync(step);
    }
    if (step % o.ckpt_every == 0 || step == total || interrupted || out_of_time)
      if (std::string bad = save_everywhere(step, checked, &b); !bad.empty()) return diverged(bad);
    if (interrupted) {
      progress.line("interrupted at step " + std::to_string(step) + ": saved " + (out / ckpt_name(step)).string() +
                    "; continue with --resume");
      return kTrainInterrupted;
    }
    if (out_of_time && step < total) {
      if (lead) save_final(step);
      progress.line("time budget reached at step " + std::to_string(step) + " of " + std::to_string(total) +
                    ": saved " + (out / ckpt_name(step)).string() + " and " + (out / "model.safetensors").string() +
                    "; continue with --resume");
      return kTrainDone;
    }
  }
  if (lead) save_final(total);
  if (ranks > 1) {
    char buf[160];
    const double run_s = std::chrono::duration<double>(Clock::now() - t_start).count();
    std::snprintf(buf, sizeof buf, "rank 0 spent %.1f s of %.1f s in collectives (all-reduce, and waiting for the slowest rank)",
                  comm->seconds_in_collectives(), run_s);
    progress.line(buf);
  }
  progress.line("done: " + std::to_string(total) + " steps; weights in " + (out / "model.safetensors").string());
  if (!split.validation.empty())
    progress.line("the " + std::to_string(split.validation.size()) + " photos it validated on, with Kodak's measures: " +
                  "tinct export " + (out / "best.safetensors").string() + " -o DIR/" + o.model.kind +
                  ".safetensors; tinct eval --data " + (o.val_data.empty() ? o.data : o.val_data) + " --holdout " +
                  std::to_string(split.validation.size()) + " --weights-dir DIR --size " +
                  std::to_string(val_pack->width()) + " -o EVALDIR");
  return kTrainDone;
}

}  // namespace tinct::models
