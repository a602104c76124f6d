// test_cli_faults.cpp — the `tinct` binary as a careless or unlucky user
// meets it: photos that would share an output name, names that break links,
// a full disk, damaged weights, an infinite learning rate. Each case here
// once ended with exit 0 and a wrong result, or left debris that blocked the
// next run. Runs the real binary ($TINCT_BIN, set by ctest).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "test_support.h"
#include "engine/checkpoint.h"
#include "models/data/image.h"

using namespace tinct;
namespace fs = std::filesystem;

namespace {

fs::path source_dir() {
  const char* s = std::getenv("TINCT_SOURCE_DIR");
  return s ? fs::path(s) : fs::current_path();
}

using testing::Run;
using testing::tinct_bin;

// tinct_cli_*: this file's temporary folders (tests/test_support.h).
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("cli") {}
};

std::string quote(const std::string& s) { return testing::shell_quote(s); }

// `prefix` runs in the same shell before tinct (ulimit, trap).
Run run(const std::string& args, const std::string& prefix = "") {  // stdout and stderr together
  return testing::run_shell("bash -c " + quote(prefix + " exec " + quote(tinct_bin()) + " " + args) + " 2>&1");
}

// A small colour photo cut from a demo image.
data::Image photo(int w, int h) {
  data::Image img = data::load_image((source_dir() / "demo" / "kodim23.png").string());
  return data::resize(img, w, h);
}

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path().lexically_relative(dir).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("colorize: inputs that would share a name get distinct outputs, and the page links every name") {
  TempDir t;
  const fs::path in = t.path / "in";
  fs::create_directories(in / "dup" / "a");
  data::save_jpeg((in / "good.jpg").string(), photo(48, 32));
  data::save_png((in / "good.png").string(), photo(48, 32));
  data::save_png((in / "dup" / "a" / "p.png").string(), photo(40, 40));
  data::save_png((in / "dup" / "a_p.png").string(), photo(40, 40));
  data::save_png((in / "we#ird?.png").string(), photo(32, 32));
  const fs::path out = t.path / "out";
  // The debris of an earlier, killed run (no such process): removed.
  fs::create_directories(out);
  { std::ofstream(out / "good_regression.png.tmp.999999999") << "half a png"; }
  const std::string args = quote((in / "good.jpg").string()) + " " + quote((in / "good.png").string()) + " " +
                           quote((in / "dup").string()) + " " + quote((in / "we#ird?.png").string()) + " -o " +
                           quote(out.string()) + " --model regression --compare --size 32";
  Run r = run("colorize " + args);
  INFO(r.output);
  CHECK(r.code == 0);
  const std::vector<std::string> expected = {"a/p_regression.png",       "a_p_regression.png",
                                             "compare/a/p.png",          "compare/a_p.png",
                                             "compare/good.png",         "compare/good_png.png",
                                             "compare/we#ird?.png",      "good_png_regression.png",
                                             "good_regression.png",      "index.html",
                                             "we#ird?_regression.png"};
  CHECK(files_under(out) == expected);
  std::ifstream f(out / "index.html");
  const std::string html((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(html.find("src=\"compare/we%23ird%3F.png\"") != std::string::npos);
  CHECK(html.find("src=\"compare/a/p.png\"") != std::string::npos);
  CHECK(html.find("src=\"compare/good_png.png\"") != std::string::npos);
  // Each output once on the page.
  size_t figures = 0;
  for (size_t at = 0; (at = html.find("<figure>", at)) != std::string::npos; ++at) ++figures;
  CHECK(figures == 5);
  // A rerun without --overwrite keeps every output and says so; with it, replaces them.
  Run again = run("colorize " + args);
  CHECK(again.code == 1);
  CHECK(again.output.find("0 photo(s) colorized, 5 failed") != std::string::npos);
  CHECK(run("colorize " + args + " --overwrite").code == 0);
}

TEST_CASE("colorize on a full disk: the reason, a non-zero exit, no partial file, and the rerun succeeds") {
  TempDir t;
  const fs::path in = t.path / "photo.png", out = t.path / "out";
  data::save_png(in.string(), photo(320, 200));
  const std::string args = "colorize " + quote(in.string()) + " -o " + quote(out.string()) + " --model regression --compare";
  // Files may grow to 8 KiB only: writes beyond fail with EFBIG, as on a full disk.
  Run r = run(args, "trap '' XFSZ; ulimit -f 8;");
  INFO(r.output);
  CHECK(r.code != 0);
  CHECK(r.output.find("File too large") != std::string::npos);
  CHECK(files_under(out).empty());  // no truncated PNG, no zero-byte file, no temporary file
  Run ok = run(args);
  INFO(ok.output);
  CHECK(ok.code == 0);
  CHECK(files_under(out) == std::vector<std::string>{"compare/photo.png", "index.html", "photo_regression.png"});
}

TEST_CASE("damaged weights: colorize and eval fail loudly instead of writing black photos") {
  TempDir t;
  Checkpoint c = load_checkpoint((source_dir() / "weights" / "regression.safetensors").string());
  std::vector<float> w = c.tensors.at("model.encoder.conv1.weight").to_vector();
  w[3] = NAN;
  c.tensors["model.encoder.conv1.weight"] = Tensor::from_vector(c.tensors.at("model.encoder.conv1.weight").shape(), w);
  fs::create_directories(t.path / "weights");
  save_checkpoint((t.path / "weights" / "regression.safetensors").string(), c.tensors, c.metadata);
  fs::create_directories(t.path / "photos");
  data::save_png((t.path / "photos" / "p.png").string(), photo(64, 48));

  Run r = run("colorize " + quote((t.path / "photos").string()) + " -o " + quote((t.path / "out").string()) +
              " --model regression --weights " + quote((t.path / "weights" / "regression.safetensors").string()));
  INFO(r.output);
  CHECK(r.code != 0);
  CHECK(r.output.find("weights must be finite") != std::string::npos);
  CHECK_FALSE(fs::exists(t.path / "out" / "p_regression.png"));

  Run e = run("eval --data " + quote((t.path / "photos").string()) + " -o " + quote((t.path / "eval").string()) +
              " --model regression --weights-dir " + quote((t.path / "weights").string()));
  INFO(e.output);
  CHECK(e.code != 0);
}

TEST_CASE("train: --lr inf, nan or beyond float is refused (inf passed the 'positive' check)") {
  for (const char* lr : {"inf", "nan", "1e39"}) {
    Run r = run(std::string("train --model regression --data none.tpk --out /nonexistent/run --lr ") + lr);
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK(r.output.find("finite number") != std::string::npos);
  }
}

TEST_CASE("decoding options: out of range, or given to a model without bins, are refused") {
  struct Case {
    const char* args;
    const char* says;
  } cases[] = {
      {"colorize x.png -o /nonexistent/o --model classification --prior-correction 2", "outside [0, 1]"},
      {"colorize x.png -o /nonexistent/o --model classification --temperature 0", "outside (0, 10]"},
      {"colorize x.png -o /nonexistent/o --model classification --temperature nan", "finite number"},
      {"colorize x.png -o /nonexistent/o --model regression --temperature 0.5", "has none"},
      {"eval --data x -o /nonexistent/o --prior-correction -0.5", "outside [0, 1]"},
      {"eval --data x -o /nonexistent/o --decoding vivid", "unknown decoding"},
      {"eval --human --data x -o /nonexistent/o --prior-correction 0.5", "default decoding"},
  };
  for (const Case& c : cases) {
    Run r = run(c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.code == 2);
    CHECK(r.output.find(c.says) != std::string::npos);
  }
}

TEST_CASE("train: recipe values out of range are refused before any work") {
  struct Case {
    const char* args;
    const char* says;
  } cases[] = {
      {"--weight-decay -0.1", "--weight-decay must be 0 or more"},
      {"--ema 1", "--ema must be a decay in (0, 1)"},
      {"--ema -0.5", "--ema must be a decay in (0, 1)"},
      {"--schedule linear", "--schedule must be constant, cosine or step"},
      {"--schedule step", "--schedule step needs --lr-steps"},
      {"--schedule step --lr-steps 500,200", "--lr-steps must be positive steps in increasing order"},
      {"--schedule cosine --lr-steps 200", "--lr-steps is for --schedule step"},
      {"--warmup -5", "--warmup must be an integer"},
      {"--clip-grad -1", "--clip-grad must be 0 or more"},
      {"--time-budget 90x", "--time-budget must be a duration such as 90m"},
      {"--time-budget -2h", "--time-budget must not be negative"},
      {"--time-budget h", "--time-budget must be a duration"},
      {"--resume --config x.json", "--config starts a new run"},
  };
  for (const Case& c : cases) {
    Run r = run(std::string("train --model regression --data none.tpk --out /nonexistent/run ") + c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.code == 2);
    CHECK(r.output.find(c.says) != std::string::npos);
  }
}

TEST_CASE("train: resuming with another thread count says the weights will not be bit-identical") {
  TempDir t;
  fs::create_directories(t.path / "photos");
  data::Image base = data::load_image((source_dir() / "demo" / "kodim23.png").string());
  for (int i = 0; i < 12; ++i)
    data::save_png((t.path / "photos" / ("p" + std::to_string(i) + ".png")).string(),
                   data::crop(base, 20 * i, 10 * i, 64, 64));
  const std::string pack = quote((t.path / "p.tpk").string()), out = quote((t.path / "run").string());
  Run prep = run("prepare " + quote((t.path / "photos").string()) + " -o " + pack +
                 " --size 40 --min-side 32 --min-colorfulness 0 --quiet");
  INFO(prep.output);
  REQUIRE(prep.code == 0);
  const std::string train = "train --model regression --data " + pack + " --out " + out +
                            " --batch 2 --crop 32 --holdout 2 --eval-every 100 --ckpt-every 1 --threads 1";
  Run first = run(train + " --steps 2", "export OMP_NUM_THREADS=1;");
  INFO(first.output);
  REQUIRE(first.code == 0);
  Run same = run(train + " --steps 3 --resume", "export OMP_NUM_THREADS=1;");
  CHECK(same.code == 0);
  CHECK(same.output.find("bit-identical") == std::string::npos);
  Run other = run(train + " --steps 4 --resume", "export OMP_NUM_THREADS=2;");
  INFO(other.output);
  CHECK(other.code == 0);
  CHECK(other.output.find("the run used 1 compute threads and this process has 2") != std::string::npos);
  CHECK(other.output.find("will not be bit-identical") != std::string::npos);
}

TEST_CASE("colorize --batch: a folder gives the same bytes at any batch, a corrupt photo fails alone") {
  TempDir t;
  const fs::path in = t.path / "in";
  fs::create_directories(in);
  data::save_png((in / "a.png").string(), photo(64, 48));
  data::save_jpeg((in / "b.jpg").string(), photo(48, 64));
  { std::ofstream(in / "c_broken.png") << "not a png at all"; }
  data::save_png((in / "d.png").string(), photo(64, 48));
  data::save_png((in / "e.png").string(), photo(50, 50));
  std::vector<std::string> listing[2];
  std::vector<std::string> bytes[2];
  const int batches[2] = {1, 3};
  for (int k = 0; k < 2; ++k) {
    const fs::path out = t.path / ("out" + std::to_string(batches[k]));
    Run r = run("colorize " + quote(in.string()) + " -o " + quote(out.string()) +
                " --model all --compare --size 32 --batch " + std::to_string(batches[k]));
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(r.output.find("c_broken.png  FAILED") != std::string::npos);
    CHECK(r.output.find("4 photo(s) colorized, 1 failed") != std::string::npos);
    listing[k] = files_under(out);
    for (const std::string& f : listing[k]) {
      if (f == "index.html") continue;
      std::ifstream s(out / f, std::ios::binary);
      bytes[k].push_back(std::string((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>()));
    }
  }
  CHECK(listing[0].size() == 4 * 4 + 1);  // 3 models + compare per photo, index.html
  CHECK(listing[0] == listing[1]);
  CHECK(bytes[0] == bytes[1]);
}
