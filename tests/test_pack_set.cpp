// test_pack_set.cpp — sharded sets (models/data/pack_set.h): prepare writes
// the same images as one pack, deterministically with any thread count;
// append adds shards, drops duplicates and keeps the prior right; the
// streaming loader visits every training image once an epoch from a bounded
// window; a streamed run resumes bit for bit; damaged, missing and
// mismatched shards are refused by name (exit 2 from the CLI).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "doctest/doctest.h"
#include "test_support.h"
#include "engine/checkpoint.h"
#include "models/color/prior.h"
#include "models/data/loader.h"
#include "models/data/pack_set.h"
#include "models/data/prepare.h"
#include "models/train.h"
#include "tiny_pack.h"

using namespace tinct;
using namespace tinct::data;
namespace fs = std::filesystem;

namespace {

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("pack_set") {}
};

// `count` colourful 48x48 PNGs, smooth gradients that differ per image, in
// `dir` as p<first+i>.png.
void make_photos(const fs::path& dir, int first, int count) {
  fs::create_directories(dir);
  for (int i = first; i < first + count; ++i) {
    Image img(48, 48, 3);
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) {
        std::uint8_t* p = img.at(x, y);
        p[0] = std::uint8_t((x * 5 + i * 13) % 256);
        p[1] = std::uint8_t((y * 4 + i * 7) % 256);
        p[2] = std::uint8_t(((x + y) * 3 + i * 29) % 256);
      }
    char name[32];
    std::snprintf(name, sizeof name, "p%03d.png", i);
    save_png((dir / name).string(), img);
  }
}

PrepareOptions options(const fs::path& src, const fs::path& out, int threads) {
  PrepareOptions o;
  o.sources = {src.string()};
  o.output = out.string();
  o.size = 48;
  o.min_side = 32;
  o.threads = threads;
  o.progress = false;
  return o;
}

// DIR/set.tpk: `count` photos in shards of `shard_size`, no prior.
std::string make_set(const fs::path& dir, int count, std::size_t shard_size) {
  make_photos(dir / "src", 0, count);
  auto o = options(dir / "src", dir / "set.tpk", 2);
  o.shard_size = shard_size;
  o.prior = false;
  REQUIRE(prepare(o).kept == std::size_t(count));
  return (dir / "set.tpk").string();
}

std::vector<std::uint8_t> bytes_of(const fs::path& p) { return read_file(p.string()); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a sharded prepare holds the single pack's images in its order; same prior, same batches") {
  TempDir dir;
  make_photos(dir.path / "src", 0, 20);
  REQUIRE(prepare(options(dir.path / "src", dir.path / "one.tpk", 2)).kept == 20);
  auto so = options(dir.path / "src", dir.path / "set.tpk", 2);
  so.shard_size = 6;
  const PrepareResult r = prepare(so);
  CHECK(r.kept == 20);
  CHECK(r.shard_files.size() == 4);  // 6 + 6 + 6 + 2
  CHECK(fs::exists(dir.path / "set-00003.tpk"));
  CHECK(is_set_manifest((dir.path / "set.tpk").string()));
  CHECK(read_set_manifest((dir.path / "set.tpk").string()).settings.at("shard_size") == "6");

  const auto one = Pack::open(dir.path / "one.tpk");
  for (PackSet::Hold hold : {PackSet::Hold::memory, PackSet::Hold::stream}) {
    const auto set = PackSet::open((dir.path / "set.tpk").string(), hold);
    REQUIRE(set->size() == one->size());
    CHECK(set->shards().size() == 4);
    CHECK((set->resident_bytes() > 0) == (hold == PackSet::Hold::memory));
    for (std::size_t i = 0; i < one->size(); ++i) {
      CHECK(set->entry(i).name == one->entry(i).name);
      CHECK(set->entry(i).crc == one->entry(i).crc);
      CHECK(set->shard_of(i) == i / 6);
    }
    CHECK(set->decode(13).pixels == one->decode(13).pixels);
    CHECK(set_fingerprint(*set) == color::pack_fingerprint(*one));
  }
  CHECK(PackSet::open((dir.path / "set.tpk").string(), PackSet::Hold::stream)->resident_bytes() == 0);
  // The prior over the set is the pack's, bit for bit.
  const auto p1 = color::load_pack_prior(color::prior_path((dir.path / "one.tpk").string()));
  const auto p2 = color::load_pack_prior(color::prior_path((dir.path / "set.tpk").string()));
  CHECK(p1.prior.weights == p2.prior.weights);
  CHECK(p1.pack_fingerprint == p2.pack_fingerprint);

  // In memory, the same seed gives the same batches from either.
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.crop = 32;
  lo.seed = 5;
  Loader a(one, lo);
  Loader b(PackSet::open((dir.path / "set.tpk").string(), PackSet::Hold::memory), lo);
  for (int i = 0; i < 8; ++i) {  // past an epoch (5 batches)
    const Batch x = a.next(), y = b.next();
    CHECK(x.index == y.index);
    CHECK(x.L == y.L);
    CHECK(x.ab == y.ab);
  }
  // --shards K: K shards of even runs of the files.
  auto ko = options(dir.path / "src", dir.path / "k.tpk", 2);
  ko.shards = 3;
  CHECK(prepare(ko).shard_files.size() == 3);
  const auto k = PackSet::open((dir.path / "k.tpk").string(), PackSet::Hold::stream);
  CHECK(k->shards()[0].count == 7);  // files 0..6 of 20: i * 3 / 20 < 1
  CHECK(set_fingerprint(*k) == color::pack_fingerprint(*one));
}

TEST_CASE("sharded prepare is byte-identical with 1 or 3 threads") {
  TempDir dir;
  make_photos(dir.path / "src", 0, 17);
  for (int threads : {1, 3}) {
    auto o = options(dir.path / "src", dir.path / ("t" + std::to_string(threads) + ".tpk"), threads);
    o.shard_size = 5;
    CHECK(prepare(o).kept == 17);
  }
  for (int k = 0; k < 4; ++k) {
    char a[32], b[32];
    std::snprintf(a, sizeof a, "t1-%05d.tpk", k);
    std::snprintf(b, sizeof b, "t3-%05d.tpk", k);
    CHECK_MESSAGE(bytes_of(dir.path / a) == bytes_of(dir.path / b), "shard " << k);
  }
  // The manifests differ only in the shards' names.
  auto m1 = read_set_manifest((dir.path / "t1.tpk").string()), m3 = read_set_manifest((dir.path / "t3.tpk").string());
  REQUIRE(m1.shards.size() == m3.shards.size());
  for (std::size_t i = 0; i < m1.shards.size(); ++i) {
    CHECK(m1.shards[i].bytes == m3.shards[i].bytes);
    CHECK(m1.shards[i].index_crc == m3.shards[i].index_crc);
  }
}

TEST_CASE("append: new shards, duplicates dropped, settings checked, the prior over everything") {
  TempDir dir;
  make_photos(dir.path / "a", 0, 12);
  make_photos(dir.path / "b", 12, 9);
  auto o = options(dir.path / "a", dir.path / "set.tpk", 2);
  o.shard_size = 5;
  REQUIRE(prepare(o).kept == 12);  // shards 0, 1, 2

  // b holds 9 new photos, and a copy of one of a's under another name.
  fs::copy_file(dir.path / "a" / "p003.png", dir.path / "b" / "copy.png");
  auto ap = options(dir.path / "b", dir.path / "set.tpk", 2);
  ap.append = true;
  ap.sources = {(dir.path / "a").string(), (dir.path / "b").string()};  // a again: all duplicates
  const PrepareResult r = prepare(ap);
  CHECK(r.kept == 9);
  CHECK(r.drops.at(DropReason::duplicate) == 13);  // a's 12 by name, copy.png by its bytes
  CHECK(r.set_images == 21);
  CHECK(r.set_shards == 5);  // the set's shard size, 5: 5 + 4 more
  CHECK(fs::exists(dir.path / "set-00004.tpk"));
  bool copy_named = false;
  for (const Dropped& d : r.dropped)
    if (d.name == "b/copy.png") copy_named = contains(d.detail, "a/p003.png");
  CHECK(copy_named);

  // The prior is the prior of the whole set, as a fresh prepare makes it.
  auto fresh = options(dir.path / "a", dir.path / "fresh.tpk", 1);
  fresh.sources.push_back((dir.path / "b").string());
  fs::remove(dir.path / "b" / "copy.png");
  REQUIRE(prepare(fresh).kept == 21);
  const auto set = PackSet::open((dir.path / "set.tpk").string(), PackSet::Hold::stream);
  CHECK(set_fingerprint(*set) == color::pack_fingerprint(*Pack::open(dir.path / "fresh.tpk")));
  const auto pa = color::load_pack_prior(color::prior_path((dir.path / "set.tpk").string()));
  const auto pf = color::load_pack_prior(color::prior_path((dir.path / "fresh.tpk").string()));
  CHECK(pa.images == 21);
  CHECK(pa.prior.weights == pf.prior.weights);
  bool found = false;
  color::load_prior_for_pack(*set, &found);  // checked against the set
  CHECK(found);

  // Other settings: refused, and the set is as it was.
  const auto manifest = bytes_of(dir.path / "set.tpk");
  make_photos(dir.path / "c", 40, 2);
  auto other = options(dir.path / "c", dir.path / "set.tpk", 1);
  other.append = true;
  other.size = 40;
  CHECK(contains(error_of([&] { prepare(other); }), "was made with size 48, this run asks 40"));
  other.size = 48;
  other.quality = 80;
  CHECK(contains(error_of([&] { prepare(other); }), "quality 95"));
  CHECK(bytes_of(dir.path / "set.tpk") == manifest);
  CHECK(!fs::exists(dir.path / "set-00005.tpk"));
  auto missing = options(dir.path / "c", dir.path / "none.tpk", 1);
  missing.append = true;
  CHECK_THROWS_AS(prepare(missing), std::invalid_argument);

  // A single pack becomes shard 0 of a set.
  auto single = options(dir.path / "a", dir.path / "single.tpk", 1);
  REQUIRE(prepare(single).kept == 12);
  const auto pack_bytes = bytes_of(dir.path / "single.tpk");
  auto more = options(dir.path / "c", dir.path / "single.tpk", 1);
  more.append = true;
  CHECK(prepare(more).kept == 2);
  CHECK(bytes_of(dir.path / "single-00000.tpk") == pack_bytes);
  const auto grown = PackSet::open((dir.path / "single.tpk").string(), PackSet::Hold::memory);
  CHECK(grown->size() == 14);
  CHECK(grown->shards().size() == 2);
}

TEST_CASE("streaming: every training image once an epoch, from a window of the buffer's size") {
  TempDir dir;
  const auto set = PackSet::open(make_set(dir.path, 40, 8), PackSet::Hold::stream);
  const Split split = split_holdout(*set, 4);
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.crop = 32;
  lo.indices = split.train;  // 36 images
  lo.shuffle_buffer = 8;
  lo.cache_bytes = 0;
  lo.drop_last = false;
  Loader loader(set, lo);
  CHECK(loader.block_length() == 1);
  // Blocks of 8 / 8 = 1 are too small to show the window's bound: the same
  // with buffer 16 (blocks of 2) below.
  for (std::size_t buffer : {std::size_t(8), std::size_t(16)}) {
    lo.shuffle_buffer = buffer;
    Loader l(set, lo);
    const std::size_t block = l.block_length();
    CHECK(block == buffer / 8);
    std::vector<std::uint32_t> prev;
    for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
      const std::vector<std::uint32_t> order = l.epoch_order(epoch);
      std::vector<std::uint32_t> sorted = order;
      std::sort(sorted.begin(), sorted.end());
      CHECK(sorted == split.train);  // each training image once, no validation image
      CHECK(order != prev);          // a new order each epoch
      prev = order;
      // The window: a block's images (consecutive training images of one
      // shard, `block` at most) all come within the window that took the
      // block. Bound: 2 windows of (buffer + block) images, at any point.
      std::map<std::size_t, std::pair<std::size_t, std::size_t>> span;  // block start -> first, last position
      std::vector<std::size_t> block_of(40, 0);
      for (std::size_t i = 0, start = 0; i < split.train.size(); ++i) {
        if (i > 0 && (i - start == block || set->shard_of(split.train[i]) != set->shard_of(split.train[i - 1])))
          start = i;
        block_of[split.train[i]] = start;
      }
      for (std::size_t p = 0; p < order.size(); ++p) {
        auto it = span.find(block_of[order[p]]);
        if (it == span.end()) span[block_of[order[p]]] = {p, p};
        else it->second.second = p;
      }
      std::size_t widest = 0;
      for (const auto& kv : span) widest = std::max(widest, kv.second.second - kv.second.first + 1);
      CHECK_MESSAGE(widest <= buffer + block, "a block spread over " << widest << " positions");
    }
  }
  // A whole epoch of batches hands out exactly the order, once each.
  std::vector<std::uint32_t> seen;
  for (std::size_t b = 0; b < loader.batches_per_epoch(); ++b) {
    const Batch batch = loader.next();
    seen.insert(seen.end(), batch.index.begin(), batch.index.end());
  }
  CHECK(seen == loader.epoch_order(0));
  CHECK(set->resident_bytes() == 0);  // no image bytes held: each read when needed

  // The samples are those of the set held in memory (the same pixels, crops, flips).
  LoaderOptions mo = lo;
  mo.shuffle_buffer = 8;
  Loader streamed(set, mo);
  mo.cache_bytes = std::size_t(1) << 30;
  Loader in_memory(PackSet::open((dir.path / "set.tpk").string(), PackSet::Hold::memory), mo);
  const Batch s = streamed.next(), m = in_memory.next();
  CHECK(s.index == m.index);  // the order is the loader's choice, not the holding's
  CHECK(s.L == m.L);
  CHECK(s.ab == m.ab);
}

TEST_CASE("missing, damaged and mismatched shards are refused by name") {
  TempDir dir;
  const std::string set = make_set(dir.path, 12, 4);
  const fs::path shard1 = dir.path / "set-00001.tpk";
  const auto good = bytes_of(shard1);
  auto open_error = [&](PackSet::Hold hold) { return error_of([&] { PackSet::open(set, hold); }); };

  fs::rename(shard1, dir.path / "away.tpk");
  CHECK(contains(open_error(PackSet::Hold::stream), "set.tpk: shard set-00001.tpk is missing"));
  fs::rename(dir.path / "away.tpk", shard1);
  CHECK(open_error(PackSet::Hold::stream).empty());

  // Truncated: the index no longer where the header says.
  write_file(shard1.string(), std::vector<std::uint8_t>(good.begin(), good.end() - 3));
  CHECK(contains(open_error(PackSet::Hold::stream), "set-00001.tpk"));
  CHECK(contains(open_error(PackSet::Hold::memory), "set-00001.tpk"));
  // Another (valid) pack under the shard's name.
  fs::copy_file(dir.path / "set-00002.tpk", shard1, fs::copy_options::overwrite_existing);
  CHECK(contains(open_error(PackSet::Hold::stream), "does not match the manifest"));
  // A damaged image: the index is intact, so streaming opens, and the read
  // of that image names it; held in memory, the open refuses it.
  auto flipped = good;
  flipped[200] ^= 0x40;
  write_file(shard1.string(), flipped);
  CHECK(contains(open_error(PackSet::Hold::memory), "CRC mismatch in image 0"));
  const auto streamed = PackSet::open(set, PackSet::Hold::stream);
  const std::string e = error_of([&] { streamed->decode(4); });
  CHECK(contains(e, "set-00001.tpk: image 0 (src/p004.png)"));
  CHECK(contains(e, "CRC mismatch"));
  write_file(shard1.string(), good);

  // The manifest itself.
  auto manifest_error = [&](const std::string& text) {
    return error_of([&] { parse_set_manifest(text, "m.tpk"); });
  };
  const std::string text = set_manifest_text(read_set_manifest(set));
  CHECK(manifest_error(text).empty());
  CHECK(contains(manifest_error("{"), "not a tinct set manifest"));
  CHECK(contains(manifest_error("{}"), "no \"format\""));
  std::string escape = text;
  escape.replace(escape.find("set-00000.tpk"), 13, "../etc/passwd");
  CHECK(contains(manifest_error(escape), "not a plain file name"));
  std::string total = text;
  total.replace(total.find("\"images\":12"), 11, "\"images\":13");
  CHECK(contains(manifest_error(total), "sum of the shards"));
  // A set of different image sizes.
  make_photos(dir.path / "big", 0, 2);
  auto big = options(dir.path / "big", dir.path / "big.tpk", 1);
  big.size = 40;
  big.prior = false;
  REQUIRE(prepare(big).kept == 2);
  CHECK(contains(error_of([&] { PackSet::open(set + "," + (dir.path / "big.tpk").string(), PackSet::Hold::stream); }),
                 "a set holds images of one size"));
  CHECK(contains(error_of([&] { PackSet::split_spec("a.tpk,,b.tpk"); }), "empty name"));
}

namespace {

models::TrainOptions train_options(const std::string& data, const fs::path& out, int64_t steps) {
  models::TrainOptions o = testing::tiny_train_options("regression", data, out, steps, /*eval_every=*/4, /*ckpt_every=*/3);
  o.cache_mb = 0;  // stream
  o.shuffle_buffer = 8;
  return o;
}

}  // namespace

TEST_CASE("a streamed run: N steps, then --resume for N more, equals 2N steps in one go, bit for bit") {
  TempDir dir;
  make_photos(dir.path / "src", 0, 26);
  auto o = options(dir.path / "src", dir.path / "set.tpk", 2);
  o.shard_size = 7;
  REQUIRE(prepare(o).kept == 26);
  const std::string set = (dir.path / "set.tpk").string();
  // 21 training images, 5 batches an epoch: 12 steps cross two epochs; the
  // break at 6 is inside the second.
  CHECK(models::train(train_options(set, dir.path / "straight", 12)) == models::kTrainDone);
  CHECK(models::train(train_options(set, dir.path / "split", 6)) == models::kTrainDone);
  auto resume = train_options(set, dir.path / "split", 12);
  resume.resume = true;
  CHECK(models::train(resume) == models::kTrainDone);
  const auto a = load_checkpoint((dir.path / "straight" / "model.safetensors").string()).tensors;
  const auto b = load_checkpoint((dir.path / "split" / "model.safetensors").string()).tensors;
  REQUIRE(a.size() == b.size());
  for (auto& kv : a) CHECK_MESSAGE(b.at(kv.first).to_vector() == kv.second.to_vector(), kv.first);
  CHECK(load_checkpoint((dir.path / "split" / "ckpt-00000012.safetensors").string()).metadata.at("data_order") ==
        "stream 8");
  // The same run in memory is another order (a full shuffle), but trains too.
  auto mem = train_options(set, dir.path / "memory", 2);
  mem.cache_mb = 4096;
  CHECK(models::train(mem) == models::kTrainDone);
  CHECK(load_checkpoint((dir.path / "memory" / "ckpt-00000002.safetensors").string()).metadata.at("data_order") ==
        "memory");
}

TEST_CASE("tinct train and prepare: a broken set is an input error (exit 2) that names the shard") {
  TempDir dir;
  make_photos(dir.path / "src", 0, 16);
  const std::string bin = testing::tinct_bin();
  auto q = [](const fs::path& p) { return testing::shell_quote(p.string()); };
  const std::string set = q(dir.path / "set.tpk");
  testing::Run made = testing::run_shell(bin + " prepare " + q(dir.path / "src") + " -o " + set +
                                         " --size 48 --min-side 32 --shard-size 5 --no-prior --quiet 2>&1");
  REQUIRE_MESSAGE(made.code == 0, made.output);
  CHECK(contains(made.output, "4 shard(s)"));
  const std::string train = bin + " train --model regression --data " + set + " --out " + q(dir.path / "run") +
                            " --steps 2 --batch 4 --crop 32 --holdout 2 --cache-mb 0 --quiet 2>&1";
  fs::rename(dir.path / "set-00002.tpk", dir.path / "away.tpk");
  testing::Run missing = testing::run_shell(train);
  CHECK(missing.code == 2);
  CHECK(contains(missing.output, "shard set-00002.tpk is missing"));
  fs::rename(dir.path / "away.tpk", dir.path / "set-00002.tpk");
  // Every training image damaged, the validation images intact: the run
  // starts (streaming reads each image when its turn comes), and its first
  // batch names a damaged image, exit 2.
  {
    const auto opened = PackSet::open((dir.path / "set.tpk").string(), PackSet::Hold::stream);
    const Split split = split_holdout(*opened, 2);
    std::map<std::string, std::vector<std::uint8_t>> shards;
    for (std::uint32_t i : split.train) {
      const PackSet::Shard& sh = opened->shards()[opened->shard_of(i)];
      if (!shards.count(sh.path)) shards[sh.path] = bytes_of(sh.path);
      shards[sh.path][opened->entry(i).offset + opened->entry(i).length / 2] ^= 0x55;
    }
    for (const auto& kv : shards) write_file(kv.first, kv.second);
  }
  testing::Run damaged = testing::run_shell(train);
  CHECK(damaged.code == 2);
  CHECK(contains(damaged.output, "CRC mismatch in the image"));
  CHECK(contains(damaged.output, "the run stops here"));
  // Appending with other settings: exit 2, the set unchanged.
  testing::Run other = testing::run_shell(bin + " prepare " + q(dir.path / "src") + " -o " + set +
                                          " --append --size 40 --quiet 2>&1");
  CHECK(other.code == 2);
  CHECK(contains(other.output, "was made with size 48"));
  // Appending the same folder: nothing new, exit 0.
  testing::Run again = testing::run_shell(bin + " prepare " + q(dir.path / "src") + " -o " + set + " --append --quiet 2>&1");
  CHECK_MESSAGE(again.code == 0, again.output);
  CHECK(contains(again.output, "nothing new"));
}
