// make_seeds.cpp — writes the seed corpus of each fuzz target into
// tests/fuzz/corpus/<target>/: small valid files and broken variants of
// them, made with tinct's own writers so the corpus is reproducible. Run by
// tools/fuzz.sh --seeds (the output is committed).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "models/data/image.h"
#include "models/data/pack.h"
#include "models/data/pack_set.h"

namespace fs = std::filesystem;
using namespace tinct;

namespace {

void put(const fs::path& file, const std::vector<uint8_t>& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

data::Image gradient(int w, int h, int channels) {
  data::Image img(w, h, channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) img.at(x, y)[c] = uint8_t((x * 37 + y * 11 + c * 80) & 255);
  return img;
}

// A valid file, and that file cut in half and with a byte flipped in the middle.
void with_broken(const fs::path& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  put(dir / name, bytes);
  put(dir / ("cut_" + name), std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(bytes.size() / 2)));
  std::vector<uint8_t> flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x5a;
  put(dir / ("flip_" + name), flipped);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
    return 2;
  }
  const fs::path root(argv[1]);
  const fs::path tmp = fs::temp_directory_path() / "tinct_make_seeds";
  fs::create_directories(tmp);

  // image: each format and channel layout the decoder takes.
  const fs::path img = root / "image";
  with_broken(img, "rgb.png", data::encode_png(gradient(9, 7, 3)));
  with_broken(img, "gray_alpha.png", data::encode_png(gradient(5, 6, 2)));
  with_broken(img, "rgba.png", data::encode_png(gradient(6, 5, 4)));
  with_broken(img, "q90.jpg", data::encode_jpeg(gradient(17, 9, 3), 90));
  with_broken(img, "q95.jpg", data::encode_jpeg(gradient(8, 16, 3), 95));
  with_broken(img, "gray.jpg", data::encode_jpeg(gradient(8, 8, 1), 80));
  with_broken(img, "rgb.bmp", data::encode_bmp(gradient(5, 3, 3)));

  // safetensors: checkpoints as tinct writes them (F32, F16), and plain.
  const fs::path st = root / "safetensors";
  std::map<std::string, Tensor> tensors{{"conv.weight", Tensor::from_vector({2, 1, 2, 2}, {1, -2, 3, 4, 5, 6, -7, 8})},
                                        {"bn.running_var", Tensor::from_vector({2}, {0.5f, 2.f})},
                                        {"scalar", Tensor::from_vector({}, {3.f})}};
  for (auto [name, dt] : {std::pair{"f32.safetensors", DType::F32}, std::pair{"f16.safetensors", DType::F16},
                          std::pair{"bf16.safetensors", DType::BF16}}) {
    save_checkpoint((tmp / name).string(), tensors, {{"kind", "regression"}, {"preset", "compact"}}, dt);
    with_broken(st, name, slurp(tmp / name));
  }
  save_safetensors((tmp / "plain.safetensors").string(), {{"a", {3}, {1, 2, 3}}});
  with_broken(st, "plain.safetensors", slurp(tmp / "plain.safetensors"));

  // pack: JPEG and raw packs of three small images.
  const fs::path pk = root / "pack";
  for (auto [name, enc] : {std::pair{"jpeg.tpk", data::PackEncoding::jpeg}, std::pair{"raw.tpk", data::PackEncoding::raw}}) {
    data::PackWriter w((tmp / name).string(), 8, 8, enc, 90);
    for (int i = 0; i < 3; ++i) w.add_image(gradient(8, 8, 3), "dir/img" + std::to_string(i) + ".png", 20.f);
    w.finish();
    with_broken(pk, name, slurp(tmp / name));
  }
  // A sharded set's manifest (models/data/pack_set.h): fuzz_pack parses
  // inputs that start with '{' as one.
  {
    data::SetManifest m;
    m.width = m.height = 8;
    m.quality = 90;
    m.settings = {{"size", "8"}, {"quality", "90"}};
    m.shards = {{"set-00000.tpk", 3, 400, 0x89abcdefu}, {"set-00001.tpk", 2, 300, 0x01234567u}};
    const std::string text = data::set_manifest_text(m);
    with_broken(pk, "set.json", std::vector<uint8_t>(text.begin(), text.end()));
  }

  // cli: the first byte picks the command (prepare, train, eval, colorize,
  // export: 0..4), then NUL-separated arguments.
  const fs::path cli = root / "cli";
  auto args = [](int cmd, std::vector<std::string> a) {
    std::vector<uint8_t> b{uint8_t(cmd)};
    for (size_t i = 0; i < a.size(); ++i) {
      if (i) b.push_back(0);
      b.insert(b.end(), a[i].begin(), a[i].end());
    }
    return b;
  };
  put(cli / "prepare", args(0, {".", "-o", "p.tpk", "--size", "64", "--min-side", "32", "--quality", "90", "--threads", "1"}));
  put(cli / "train", args(1, {"--model", "gan", "--data", "p.tpk", "--out", "run", "--batch", "4", "--steps", "3",
                              "--lr", "1e-3", "--crop", "64", "--resume"}));
  put(cli / "eval", args(2, {"--data", ".", "-o", "ev", "--model", "regression,gan", "--size", "64", "--no-save-images"}));
  put(cli / "eval_human", args(2, {"--human", "--data", ".", "-o", "h", "--model", "all"}));
  put(cli / "colorize", args(3, {".", "-o", "out", "--model", "classification", "--size", "64", "--compare", "--overwrite"}));
  put(cli / "export", args(4, {"ckpt.safetensors", "-o", "w.safetensors", "--dtype", "bf16"}));
  put(cli / "help", args(3, {"--help"}));
  fs::remove_all(tmp);
  std::printf("seed corpus written to %s\n", root.string().c_str());
  return 0;
}
