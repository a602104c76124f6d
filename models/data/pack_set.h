// pack_set.h — a training set: one pack, a sharded set, or several of either,
// seen as one list of images.
//
// What `tinct train --data` takes:
//   - one pack file (pack.h);
//   - a sharded set: a small manifest file SET (JSON, below) naming shard
//     packs that lie in its folder, SET's name without its extension plus
//     "-00000.tpk", "-00001.tpk", ... (`tinct prepare --shard-size N` or
//     `--shards K` writes one; `--append` adds shards). Each shard is an
//     ordinary pack, usable on its own;
//   - several of either, comma-separated: their images in the order given.
// Images are numbered shard by shard, each shard in its own order. A sharded
// set from `tinct prepare` holds the same images in the same order as the
// single pack it makes of the same sources, so the same seed trains alike
// (when the loader holds the set in memory; streaming orders by shard).
//
// The manifest:
//   {"format": "tinct-set-1", "width": 144, "height": 144,
//    "encoding": "jpeg", "quality": 95,
//    "settings": {"size": "144", "min_side": "128", ...},   what prepare was
//                 asked (an --append must ask the same)
//    "images": 3000,
//    "shards": [{"file": "set-00000.tpk", "images": 1000, "bytes": 12345678,
//                "index_crc": "89abcdef"}, ...]}
// Opening a set checks every shard against its line: there, the same image
// count, byte size and index CRC (header field 44, which covers every
// image's CRC and name). A shard that is missing, truncated, rewritten or
// swapped is refused by name before any training.
//
// Two ways to hold a set:
//   memory  every shard read whole and verified (Pack::open, image CRCs
//           included): for sets whose decoded images fit the loader's cache;
//   stream  only the indexes (names, offsets, CRCs: about 100 bytes an
//           image); each image is read from its shard with one pread when it
//           is needed, its CRC checked, then decoded. Memory does not grow
//           with the images.
// Immutable after open: any number of threads may decode at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/data/pack.h"

namespace tinct::data {

struct SetManifest {
  int width = 0, height = 0, quality = 0;
  PackEncoding encoding = PackEncoding::jpeg;
  std::map<std::string, std::string> settings;
  struct Shard {
    std::string file;  // a file name in the manifest's folder (no '/')
    std::uint64_t images = 0, bytes = 0;
    std::uint32_t index_crc = 0;
  };
  std::vector<Shard> shards;
  std::uint64_t images() const;
};

// True when the file at `path` starts like a manifest ('{'), not a pack.
bool is_set_manifest(const std::string& path);
// Throws std::runtime_error "<name>: not a tinct set manifest (...)" for
// anything but a well-formed manifest (fields, types, ranges, file names,
// the image total).
SetManifest parse_set_manifest(std::string_view text, const std::string& name);
std::string set_manifest_text(const SetManifest& m);
SetManifest read_set_manifest(const std::string& path);
void write_set_manifest(const std::string& path, const SetManifest& m);  // atomic
// The file name of shard k of the set at `set_path`: "set-00007.tpk" for "dir/set.tpk".
std::string shard_file_name(const std::string& set_path, std::size_t k);

class PackSet {
 public:
  enum class Hold { memory, stream };
  struct Shard {
    std::string path;
    std::size_t first = 0, count = 0;  // its images are first .. first + count - 1
    PackEncoding encoding = PackEncoding::jpeg;
    int quality = 0;
    std::uint32_t index_crc = 0;
    std::uint64_t bytes = 0;
    std::shared_ptr<const Pack> pack;  // Hold::memory only
  };

  // `spec`: a pack, a manifest, or several of either separated by commas.
  // Throws std::runtime_error naming the file and what is wrong.
  static std::shared_ptr<const PackSet> open(const std::string& spec, Hold hold);
  // A pack already in memory, as a set of one shard.
  static std::shared_ptr<const PackSet> of(std::shared_ptr<const Pack> pack);
  static std::vector<std::string> split_spec(const std::string& spec);

  std::size_t size() const { return entries_.size(); }
  int width() const { return width_; }
  int height() const { return height_; }
  Hold hold() const { return hold_; }
  // The one file given (pack or manifest): where its prior lies beside it.
  // Empty when several were given.
  const std::string& path() const { return path_; }
  const std::string& spec() const { return spec_; }
  const std::vector<Shard>& shards() const { return shards_; }
  std::size_t shard_of(std::size_t i) const;
  const PackEntry& entry(std::size_t i) const { return entries_.at(i); }
  // width * height * 3 bytes an image, for every image.
  std::uint64_t decoded_bytes() const { return std::uint64_t(size()) * width_ * height_ * 3; }
  // Image bytes held in memory (0 when streaming).
  std::uint64_t resident_bytes() const;

  // Decodes image i into `out` (reusing its buffer). Throws
  // std::runtime_error naming the shard, the image and why.
  void decode(std::size_t i, Image& out) const;
  void decode(std::size_t i, std::vector<std::uint8_t>& out) const;
  Image decode(std::size_t i) const;
  std::string describe(std::size_t i) const;  // "set-00003.tpk: image 17 (train256/a.jpg)"

 private:
  PackSet() = default;
  void add_shard(Shard s, std::vector<PackEntry> entries, int width, int height);
  std::string path_, spec_;
  Hold hold_ = Hold::memory;
  int width_ = 0, height_ = 0;
  std::vector<Shard> shards_;
  std::vector<PackEntry> entries_;  // offsets are within each image's shard
};

// A hash of what a set holds (its size, image size, every image's CRC,
// length and name hash), independent of how it is cut into shards: a
// sharded set and the single pack of the same images have the same one.
// (color::pack_fingerprint, which a prior records, is this.)
std::uint64_t set_fingerprint(const PackSet& set);

}  // namespace tinct::data
