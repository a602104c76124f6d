// test_human.cpp — the human test's answers coming back (models/eval/human.h):
// a results file as the page saves it read back into fooling rates checked by
// hand, every kind of malformed or mismatched file refused with a message
// that says what is wrong, several people pooled, and the answers folded into
// the report of `tinct eval --human-results`. The page itself in a browser is
// tests/browser/human_test.sh.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "engine/json.h"
#include "models/data/image.h"
#include "models/eval/human.h"
#include "models/eval/report.h"

using namespace tinct;
using namespace tinct::eval;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("tinct_human_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// One answer: the real photo on `real`, the participant picked `choice`.
struct A {
  int pair;
  const char* image;
  const char* model;
  const char* real;
  const char* choice;
};

// A version 2 results file as the page writes it (page of 6 pairs, photos
// a.png and b.png, models regression and gan, untrained).
std::string results_file(const std::vector<A>& answers, const std::string& started = "2026-01-01T10:00:00.000Z",
                         const std::string& participant = "Ann", const std::string& gan_fingerprint = "untrained") {
  std::string s = R"({"format": "tinct-human-test", "version": 2, "page_id": "00112233aabbccdd", "seed": 1,
    "participant": ")" + participant + R"(", "pairs": 6, "started": ")" + started + R"(",
    "finished": "2026-01-01T10:05:00.000Z", "complete": false, "scripted": false,
    "models": [{"name": "regression", "weights": "", "fingerprint": "untrained"},
               {"name": "gan", "weights": "", "fingerprint": ")" + gan_fingerprint + R"("}],
    "images": ["a.png", "b.png"], "answers": [)";
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const A& a = answers[i];
    const bool fooled = std::string(a.real) != a.choice;
    s += std::string(i ? "," : "") + R"({"pair": )" + std::to_string(a.pair) + R"(, "image": ")" + a.image +
         R"(", "model": ")" + a.model + R"(", "real_side": ")" + a.real + R"(", "choice": ")" + a.choice +
         R"(", "fooled": )" + (fooled ? "true" : "false") + R"(, "ms": )" + std::to_string(1000 + 100 * i) + "}";
  }
  return s + "]}";
}

// Ann: fooled by gan on 2 of 3 pairs, by regression on 0 of 3.
const std::vector<A> kAnn = {{0, "a.png", "gan", "left", "right"},        {1, "a.png", "regression", "left", "left"},
                             {2, "b.png", "gan", "right", "left"},        {3, "b.png", "regression", "right", "right"},
                             {4, "a.png", "gan", "right", "right"},       {5, "b.png", "regression", "left", "left"}};
// Ben: fooled by gan on 1 of 2 pairs, by regression on 1 of 1.
const std::vector<A> kBen = {{0, "a.png", "gan", "left", "left"},
                             {2, "b.png", "gan", "right", "left"},
                             {3, "b.png", "regression", "right", "left"}};

std::string refusal(const std::string& text) {
  try {
    read_human_results(text, "x.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(accepted)";
}

data::Image photo(int w, int h, int seed) {
  data::Image img(w, h, 3);
  img.source_channels = 3;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = img.at(x, y);
      p[0] = std::uint8_t((40 + 180 * x / (w - 1) + 37 * seed) % 256);
      p[1] = std::uint8_t((220 - 150 * y / (h - 1) + 53 * seed) % 256);
      p[2] = std::uint8_t((x > w / 2 && y > h / 2) ? 30 + 20 * seed : 180);
    }
  return img;
}

}  // namespace

TEST_CASE("a results file read back: the fooling rate per model, pooled over people") {
  const HumanResults ann = read_human_results(results_file(kAnn), "ann.json");
  CHECK(ann.version == 2);
  CHECK(ann.participant == "Ann");
  CHECK(ann.page_pairs == 6);
  CHECK(ann.answers.size() == 6);
  CHECK(ann.models.size() == 2);
  CHECK(ann.images.size() == 2);
  CHECK(ann.answers[5].ms == 1500.0);

  const HumanPool pool = pool_human_results({ann, read_human_results(results_file(kBen, "2026-01-02T09:00:00Z",
                                                                                    "Ben"), "ben.json")});
  CHECK(pool.answers.size() == 9);
  const std::vector<FoolingRate> rates = fooling_rates(pool.answers);
  REQUIRE(rates.size() == 2);
  CHECK(rates[0].model == "gan");
  CHECK(rates[0].pairs == 5);
  CHECK(rates[0].fooled == 3);
  CHECK(rates[0].rate == doctest::Approx(0.6));
  // Wilson, 3 of 5: centre (0.6 + 0.38415) / 1.76829 = 0.55655, half = 1.95996 / 1.76829 *
  // sqrt(0.048 + 0.038415) = 0.32582: [0.2307, 0.8824].
  CHECK(rates[0].ci95.lo == doctest::Approx(0.2307).epsilon(1e-3));
  CHECK(rates[0].ci95.hi == doctest::Approx(0.8824).epsilon(1e-3));
  CHECK(rates[1].model == "regression");
  CHECK(rates[1].pairs == 4);
  CHECK(rates[1].fooled == 1);

  const std::string md = human_report_section(pool, {"regression", "gray"}, "human_answers.csv");
  CHECK(md.find("## Human test") != std::string::npos);
  CHECK(md.find("9 answers in 2 files") != std::string::npos);
  CHECK(md.find(" 60.0% |") != std::string::npos);
  CHECK(md.find(" 25.0% |") != std::string::npos);
  // The rows follow the pages' model order (regression, gan), not the answers'.
  CHECK(md.find("| regression ") < md.find("| gan "));
  CHECK(md.find("Not evaluated in this report: gan") != std::string::npos);
  CHECK(md.find("| Ben ") != std::string::npos);
  CHECK(md.find("human_answers.csv") != std::string::npos);
  CHECK(md.find("scripted**") == std::string::npos);

  const std::string csv = human_answers_csv(pool);
  CHECK(csv.rfind("file,participant,pair,image,model,real_side,choice,fooled,ms\n", 0) == 0);
  CHECK(csv.find("ben.json,Ben,3,b.png,regression,right,left,1,1200\n") != std::string::npos);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 10);
}

TEST_CASE("malformed results files are refused, and say why") {
  const std::string good = results_file(kAnn);
  CHECK(refusal(good) == "(accepted)");
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const std::size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  CHECK(refusal("{").find("x.json: not a JSON file") == 0);
  CHECK(refusal("[1, 2]").find("a JSON object expected") != std::string::npos);
  CHECK(refusal(edit(R"("format": "tinct-human-test", )", "")).find("no \"format\"") != std::string::npos);
  CHECK(refusal(edit("tinct-human-test", "tinct-human-page")).find("format is not") != std::string::npos);
  CHECK(refusal(edit(R"("version": 2)", R"("version": 9)")).find("unknown results version") != std::string::npos);
  CHECK(refusal(edit(R"("answers": [)", R"("answerz": [)")).find("no \"answers\" array") != std::string::npos);
  CHECK(refusal(edit(R"("real_side": "left")", R"("real_side": "up")")).find("\"left\" or \"right\"") !=
        std::string::npos);
  CHECK(refusal(edit(R"("model": "gan")", R"("model": 3)")).find("answer 0: \"model\" is not a string") !=
        std::string::npos);
  CHECK(refusal(edit(R"("pair": 1,)", R"("pair": 0,)")).find("pair 0 answered twice") != std::string::npos);
  CHECK(refusal(edit(R"("pair": 5,)", R"("pair": 6,)")).find("pair 6 of a page of 6 pairs") != std::string::npos);
  CHECK(refusal(edit(R"("pair": 5,)", R"("pair": -1,)")).find("not a pair number") != std::string::npos);
  CHECK(refusal(edit(R"("ms": 1000)", R"("ms": -5)")).find("\"ms\"") != std::string::npos);
  // An edited answer: the file says fooled, the sides say not.
  CHECK(refusal(edit(R"("choice": "left", "fooled": false)", R"("choice": "left", "fooled": true)"))
            .find("disagrees with the sides") != std::string::npos);
  // Answers about a model or a photo that the page did not have.
  CHECK(refusal(edit(R"("model": "gan")", R"("model": "classification")")).find("not one of the page's models") !=
        std::string::npos);
  CHECK(refusal(edit(R"("image": "a.png")", R"("image": "z.png")")).find("not one of the page's photos") !=
        std::string::npos);
  CHECK(refusal(edit(R"("images": ["a.png", "b.png"], )", "")).find("names the page's") != std::string::npos);
  // Complete with a missing answer.
  CHECK(refusal(edit(R"("complete": false)", R"("complete": true)")) == "(accepted)");
  std::vector<A> five(kAnn.begin(), kAnn.end() - 1);
  std::string partial = results_file(five);
  partial.replace(partial.find(R"("complete": false)"), 17, R"("complete": true)");
  CHECK(refusal(partial).find("marked complete with 5 answers for 6 pairs") != std::string::npos);
  // Version 1 (no models or photos named) is still read.
  CHECK(read_human_results(R"({"format": "tinct-human-test", "version": 1, "answers": [
      {"pair": 0, "image": "a.png", "model": "gan", "real_side": "left", "choice": "right", "fooled": true}]})")
            .answers.size() == 1);
}

TEST_CASE("pooling refuses a file twice and answers about different weights") {
  TempDir t;
  write_text(t.path / "ann.json", results_file(kAnn));
  write_text(t.path / "ben.json", results_file(kBen, "2026-01-02T09:00:00Z", "Ben"));
  write_text(t.path / "ben_other.json", results_file(kBen, "2026-01-03T09:00:00Z", "Ben", "fnv1a64:0000000000000001"));
  write_text(t.path / "bad.json", "{\"format\": \"tinct-human-test\"");
  const std::string ann = (t.path / "ann.json").string(), ben = (t.path / "ben.json").string();
  CHECK(pool_human_results(std::vector<std::string>{ann, ben}).answers.size() == 9);
  CHECK_THROWS_WITH_AS(pool_human_results(std::vector<std::string>{ann, ann}), doctest::Contains("the same session"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(pool_human_results(std::vector<std::string>{ann, (t.path / "ben_other.json").string()}),
                       doctest::Contains("different weights of gan"), std::runtime_error);
  CHECK_THROWS_WITH_AS(pool_human_results(std::vector<std::string>{ann, (t.path / "bad.json").string()}),
                       doctest::Contains("bad.json: not a JSON file"), std::runtime_error);
  CHECK_THROWS_WITH_AS(pool_human_results(std::vector<std::string>{(t.path / "missing.json").string()}),
                       doctest::Contains("cannot read"), std::runtime_error);

  // Against an evaluation: photos and fingerprints must match.
  const HumanPool pool = pool_human_results(std::vector<std::string>{ann, ben});
  const std::vector<ImageEntry> both = {{"a.png", "", ""}, {"b.png", "", ""}}, one = {{"a.png", "", ""}};
  const HumanModel gan_untrained{"gan", "", "untrained"}, gan_trained{"gan", "gan.safetensors", "fnv1a64:12"};
  CHECK_NOTHROW(check_human_results(pool, both, {gan_untrained}));
  CHECK_NOTHROW(check_human_results(pool, both, {}));  // gan not evaluated: nothing to compare
  CHECK_THROWS_WITH_AS(check_human_results(pool, one, {gan_untrained}), doctest::Contains("\"b.png\", not in --data"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(check_human_results(pool, both, {gan_trained}), doctest::Contains("not the same model"),
                       std::invalid_argument);
}

TEST_CASE("weights fingerprints: the same bytes, the same fingerprint") {
  TempDir t;
  write_text(t.path / "a", "abc");
  write_text(t.path / "b", "abc");
  write_text(t.path / "c", "abd");
  // FNV-1a 64 of "abc", from the reference definition.
  CHECK(weights_fingerprint((t.path / "a").string()) == "fnv1a64:e71fa2190541574b");
  CHECK(weights_fingerprint((t.path / "b").string()) == weights_fingerprint((t.path / "a").string()));
  CHECK(weights_fingerprint((t.path / "c").string()) != weights_fingerprint((t.path / "a").string()));
  CHECK_THROWS_AS(weights_fingerprint((t.path / "none").string()), std::runtime_error);
  CHECK(human_model({"gan", ""}).fingerprint == "untrained");
  const HumanModel m = human_model({"gan", (t.path / "a").string()});
  CHECK(m.weights == "a");
  CHECK(m.fingerprint == weights_fingerprint((t.path / "a").string()));
}

TEST_CASE("the page names its photos and models, and its template is filled once") {
  std::vector<HumanTestImage> images(2);
  for (int i = 0; i < 2; ++i) {
    images[i].name = i ? "b.png" : "a.png";
    images[i].real = photo(48, 32, i);
    images[i].fakes.emplace_back("gan", photo(48, 32, i + 3));
  }
  HumanPageOptions po;
  po.title = "Real @DATA@ <or> fake";
  po.models = {{"gan", "gan.safetensors", "fnv1a64:00000000000000ff"}};
  const std::string html = human_test_html(images, po);
  // The title is escaped and not scanned again: @DATA@ in it stays text.
  CHECK(html.find("<title>Real @DATA@ &lt;or&gt; fake</title>") != std::string::npos);
  CHECK(html.find("@CSS@") == std::string::npos);
  CHECK(html.find("@JS@") == std::string::npos);
  CHECK(html.find("Save my answers") != std::string::npos);  // the assets are in
  const std::string open = "<script type=\"application/json\" id=\"tinct-data\">";
  const std::size_t a = html.find(open), b = html.find("</script>", a);
  REQUIRE(a != std::string::npos);
  const json::Value page = json::parse(html.substr(a + open.size(), b - a - open.size()));
  CHECK(page.find("version")->as_int() == 2);
  const auto& models = page.find("models")->as_array();
  REQUIRE(models.size() == 1);
  CHECK(models[0].find("fingerprint")->as_string() == "fnv1a64:00000000000000ff");
  CHECK(page.find("image_names")->as_array().size() == 2);
  for (const json::Value& p : page.find("pairs")->as_array()) {
    CHECK(p.find("width")->as_int() == 48);
    CHECK(p.find("height")->as_int() == 32);
  }
}

TEST_CASE("tinct eval --human-results: the answers in the report, mismatches refused before any work") {
  TempDir t;
  const fs::path data = t.path / "data", out = t.path / "out";
  fs::create_directories(data);
  data::save_png((data / "a.png").string(), photo(48, 40, 1));
  data::save_png((data / "b.png").string(), photo(40, 48, 2));
  write_text(t.path / "ann.json", results_file(kAnn));
  write_text(t.path / "ben.json", results_file(kBen, "2026-01-02T09:00:00Z", "Ben"));

  EvalOptions o;
  o.data = data.string();
  o.out = out.string();
  o.size = 32;
  o.untrained = true;
  o.models = {"regression", "gan"};
  o.human_results = {(t.path / "ann.json").string(), (t.path / "ben.json").string()};
  const EvalResult r = run_evaluation(o);
  CHECK(r.exit_code() == 0);
  CHECK(r.human_answers == 9);
  const std::string md = read_text(out / "report.md");
  CHECK(md.find("## Human test: real or colorized") != std::string::npos);
  CHECK(md.find(" 60.0% |") != std::string::npos);
  CHECK(md.find("Not evaluated in this report") == std::string::npos);
  CHECK(read_text(out / "human_answers.csv").find("ann.json,Ann,0,a.png,gan,left,right,1,1000") !=
        std::string::npos);

  // Answers about a photo the data does not hold: refused, nothing written.
  fs::remove(data / "b.png");
  o.out = (t.path / "out2").string();
  CHECK_THROWS_WITH_AS(run_evaluation(o), doctest::Contains("not in --data"), std::invalid_argument);
  CHECK_FALSE(fs::exists(t.path / "out2" / "report.md"));
  // A malformed file: refused as a bad argument.
  write_text(t.path / "bad.json", "[]");
  o.human_results = {(t.path / "bad.json").string()};
  CHECK_THROWS_WITH_AS(run_evaluation(o), doctest::Contains("--human-results: "), std::invalid_argument);
}
