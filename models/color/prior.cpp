// prior.cpp — the rebalancing prior of a pack. See prior.h.
#include "models/color/prior.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <thread>

#include "engine/checkpoint.h"
#include "models/color/lab.h"
#include "models/data/loader.h"
#include "models/data/pack.h"
#include "models/data/pack_set.h"

namespace tinct::color {

namespace {

constexpr const char* kPriorFormat = "tinct-prior-1";

std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A float as the shortest text that reads back as the same float.
std::string shortest(float v) {
  char buf[32];
  for (int p = 1; p <= 9; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, double(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

const std::string& need(const std::map<std::string, std::string>& m, const char* key, const std::string& path) {
  auto it = m.find(key);
  if (it == m.end()) throw std::runtime_error(path + ": not a tinct prior (no '" + key + "' in its metadata)");
  return it->second;
}

std::uint64_t to_u64(const std::string& s, const char* key, const std::string& path, int base = 10) {
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(s, &used, base);
    if (used != s.size()) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw std::runtime_error(path + ": bad '" + key + "' in its metadata: '" + s + "'");
  }
}

}  // namespace

std::string prior_path(const std::string& pack_path) { return pack_path + ".prior.safetensors"; }
std::string prior_picture_path(const std::string& pack_path) { return pack_path + ".prior.svg"; }

namespace {

// A pack as a set of one shard, for the calls that take a Pack (the pack
// outlives the call; nothing is copied but its index).
std::shared_ptr<const data::PackSet> as_set(const data::Pack& pack) {
  return data::PackSet::of(std::shared_ptr<const data::Pack>(&pack, [](const data::Pack*) {}));
}

}  // namespace

std::uint64_t pack_fingerprint(const data::PackSet& set) { return data::set_fingerprint(set); }
std::uint64_t pack_fingerprint(const data::Pack& pack) { return data::set_fingerprint(*as_set(pack)); }

PackPrior compute_pack_prior(const data::Pack& pack, const AbGamut& gamut, const std::vector<std::uint32_t>& indices,
                             int threads) {
  return compute_pack_prior(*as_set(pack), gamut, indices, threads);
}

PackPrior load_prior_for_pack(const data::Pack& pack, bool* found) { return load_prior_for_pack(*as_set(pack), found); }

PackPrior compute_pack_prior(const data::PackSet& pack, const AbGamut& gamut,
                             const std::vector<std::uint32_t>& indices_in, int threads) {
  std::vector<std::uint32_t> indices = indices_in;
  if (indices.empty())
    for (std::size_t i = 0; i < pack.size(); ++i) indices.push_back(std::uint32_t(i));
  for (std::uint32_t i : indices)
    if (i >= pack.size()) throw std::out_of_range("compute_pack_prior: image index out of range");
  int T = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  T = int(std::min<std::size_t>(std::size_t(T), std::max<std::size_t>(indices.size(), 1)));

  // One histogram per thread (integer counts: the sum is the same whatever
  // the split), merged at the end.
  std::vector<BinHistogram> hist(static_cast<std::size_t>(T), BinHistogram(gamut.size()));
  std::vector<std::exception_ptr> error(static_cast<std::size_t>(T));
  const std::size_t n = std::size_t(pack.width()) * std::size_t(pack.height());
  auto work = [&](int t) {
    try {
      const data::FastLab lab;
      std::vector<std::uint8_t> rgb;
      std::vector<float> L(n), ab(2 * n);
      for (std::size_t k = std::size_t(t); k < indices.size(); k += std::size_t(T)) {
        pack.decode(indices[k], rgb);
        lab.convert(rgb.data(), n, L.data(), ab.data());
        hist[std::size_t(t)].add_ab(gamut, ab.data(), n);
      }
    } catch (...) {
      error[std::size_t(t)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < T; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : error)
    if (e) std::rethrow_exception(e);
  for (int t = 1; t < T; ++t) hist[0].merge(hist[std::size_t(t)]);

  PackPrior out;
  out.gamut = gamut.name();
  out.centres = gamut.centres();
  out.prior = RebalancePrior::from_histogram(gamut, hist[0], out.sigma, out.lambda);
  out.images = indices.size();
  out.pixels = hist[0].total();
  out.pack_images = pack.size();
  out.pack_fingerprint = pack_fingerprint(pack);
  return out;
}

void save_pack_prior(const std::string& path, const PackPrior& pr) {
  const std::int64_t Q = std::int64_t(pr.centres.size());
  if (pr.prior.p.size() != std::size_t(Q) || pr.prior.p_smooth.size() != std::size_t(Q) ||
      pr.prior.weights.size() != std::size_t(Q))
    throw std::invalid_argument("save_pack_prior: the distributions and the centres differ in size");
  std::vector<float> centres;
  for (const AbBin& c : pr.centres) centres.insert(centres.end(), {c.a, c.b});
  std::map<std::string, Tensor> t = {{"p", Tensor::from_vector({Q}, pr.prior.p)},
                                     {"p_smooth", Tensor::from_vector({Q}, pr.prior.p_smooth)},
                                     {"weights", Tensor::from_vector({Q}, pr.prior.weights)},
                                     {"centres", Tensor::from_vector({Q, 2}, centres)}};
  std::map<std::string, std::string> m = {{"format", kPriorFormat},
                                          {"gamut", pr.gamut},
                                          {"bins", std::to_string(Q)},
                                          {"images", std::to_string(pr.images)},
                                          {"pixels", std::to_string(pr.pixels)},
                                          {"sigma", shortest(pr.sigma)},
                                          {"lambda", shortest(pr.lambda)},
                                          {"pack_images", std::to_string(pr.pack_images)},
                                          {"pack_fingerprint", hex64(pr.pack_fingerprint)}};
  save_checkpoint(path, t, m);
}

PackPrior load_pack_prior(const std::string& path) {
  const Checkpoint c = load_checkpoint(path);
  if (need(c.metadata, "format", path) != kPriorFormat)
    throw std::runtime_error(path + ": not a tinct prior (format '" + c.metadata.at("format") + "')");
  PackPrior pr;
  pr.gamut = need(c.metadata, "gamut", path);
  const AbGamut* g = nullptr;
  try {
    g = &AbGamut::named(pr.gamut);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  const std::size_t Q = std::size_t(g->size());
  auto get = [&](const char* name, std::size_t numel) {
    auto it = c.tensors.find(name);
    if (it == c.tensors.end()) throw std::runtime_error(path + ": no tensor '" + name + "'");
    if (std::size_t(it->second.numel()) != numel)
      throw std::runtime_error(path + ": '" + name + "' has " + std::to_string(it->second.numel()) +
                               " values; gamut " + pr.gamut + " needs " + std::to_string(numel));
    return it->second.to_vector();
  };
  pr.prior.p = get("p", Q);
  pr.prior.p_smooth = get("p_smooth", Q);
  pr.prior.weights = get("weights", Q);
  const std::vector<float> centres = get("centres", 2 * Q);
  for (std::size_t q = 0; q < Q; ++q) {
    pr.centres.push_back({centres[2 * q], centres[2 * q + 1]});
    if (pr.centres[q].a != g->centre(int(q)).a || pr.centres[q].b != g->centre(int(q)).b)
      throw std::runtime_error(path + ": its bin " + std::to_string(q) + " is not the " + pr.gamut + " gamut's");
  }
  for (float w : pr.prior.weights)
    if (!(w > 0.0f)) throw std::runtime_error(path + ": a rebalancing weight is not positive");
  pr.images = to_u64(need(c.metadata, "images", path), "images", path);
  pr.pixels = to_u64(need(c.metadata, "pixels", path), "pixels", path);
  pr.pack_images = to_u64(need(c.metadata, "pack_images", path), "pack_images", path);
  pr.pack_fingerprint = to_u64(need(c.metadata, "pack_fingerprint", path), "pack_fingerprint", path, 16);
  pr.sigma = std::strtof(need(c.metadata, "sigma", path).c_str(), nullptr);
  pr.lambda = std::strtof(need(c.metadata, "lambda", path).c_str(), nullptr);
  return pr;
}

PackPrior load_prior_for_pack(const data::PackSet& pack, bool* found) {
  *found = false;
  const std::string path = prior_path(pack.path());
  std::error_code ec;
  if (pack.path().empty() || !std::filesystem::exists(path, ec)) return {};
  PackPrior pr = load_pack_prior(path);
  if (pr.pack_images != pack.size() || pr.pack_fingerprint != pack_fingerprint(pack))
    throw std::runtime_error(path + " is the prior of another pack than " + pack.path() +
                             " (rewritten since?): rerun `tinct prepare`, or delete it to compute the prior "
                             "from the training images");
  *found = true;
  return pr;
}

const AbGamut& prior_gamut(const PackPrior& pr) {
  const AbGamut& g = AbGamut::named(pr.gamut);
  if (std::size_t(g.size()) != pr.centres.size())
    throw std::runtime_error("prior: " + std::to_string(pr.centres.size()) + " bins, gamut " + pr.gamut +
                             " has " + std::to_string(g.size()));
  return g;
}

// ---------------------------------------------------------------------------
// The picture.

namespace {

// Viridis at 9 stops, interpolated linearly: perceptually even, colour-blind
// safe, and never mistaken for the bins' own colours in panel 1.
std::string viridis(double t) {
  static const double stops[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                     {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                     {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 8.0;
  const int i = std::min(7, int(t));
  const double f = t - i;
  char buf[8];
  int rgb[3];
  for (int k = 0; k < 3; ++k) rgb[k] = int(std::lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

// The displayed colour of a bin: (L, a, b) at the sRGB L nearest to 60 (so
// the hue shows at its most natural lightness), or, for a bin that no L
// makes an sRGB colour, L 60 with each channel clipped.
std::string bin_colour(const AbBin& c) {
  double best_L = -1;
  for (int k = 0; k <= 100; ++k) {
    const double L = k;
    if (lab_in_srgb_gamut(L, c.a, c.b) && (best_L < 0 || std::abs(L - 60) < std::abs(best_L - 60))) best_L = L;
  }
  const Rgb rgb = lab_to_srgb({best_L < 0 ? 60.0 : best_L, double(c.a), double(c.b)});
  const double v[3] = {rgb.r, rgb.g, rgb.b};
  char buf[8];
  int out[3];
  for (int k = 0; k < 3; ++k) out[k] = int(std::lround(std::clamp(v[k], 0.0, 1.0) * 255.0));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", out[0], out[1], out[2]);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string text(double x, double y, const std::string& s, int size = 12, const char* anchor = "middle",
                 const char* extra = "") {
  return "<text x=\"" + num(x, 1) + "\" y=\"" + num(y, 1) + "\" font-size=\"" + std::to_string(size) +
         "\" text-anchor=\"" + anchor + "\"" + extra + ">" + xml_escape(s) + "</text>\n";
}

}  // namespace

std::string prior_svg(const PackPrior& pr, const std::string& title) {
  const std::size_t Q = pr.centres.size();
  if (pr.prior.p_smooth.size() != Q || pr.prior.weights.size() != Q)
    throw std::invalid_argument("prior_svg: sizes differ");
  constexpr double cell = 14;             // pixels per bin
  constexpr double side = 23 * cell;      // the ab square, [-115, 115]^2
  constexpr double left = 46, top = 74, gap = 70;
  const double panel_w = side + gap;
  const double W = left + 3 * panel_w + 10, H = top + side + 120;
  auto px = [&](double a) { return (a + 115.0) / 10.0 * cell; };  // a -> x in the panel
  auto py = [&](double b) { return (115.0 - b) / 10.0 * cell; };  // b -> y (b up)

  // log10 ranges of p~ and w, for the colour scales.
  double lp_lo = 1e9, lp_hi = -1e9, lw_lo = 1e9, lw_hi = -1e9;
  for (std::size_t q = 0; q < Q; ++q) {
    const double lp = std::log10(std::max(double(pr.prior.p_smooth[q]), 1e-12));
    const double lw = std::log10(std::max(double(pr.prior.weights[q]), 1e-12));
    lp_lo = std::min(lp_lo, lp), lp_hi = std::max(lp_hi, lp);
    lw_lo = std::min(lw_lo, lw), lw_hi = std::max(lw_hi, lw);
  }
  lp_lo = std::max(lp_lo, lp_hi - 8.0);  // eight decades are enough to see
  auto scale = [](double v, double lo, double hi) { return hi > lo ? (v - lo) / (hi - lo) : 0.5; };

  const AbGamut& srgb = AbGamut::standard();
  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W, 0) + "\" height=\"" + num(H, 0) +
       "\" viewBox=\"0 0 " + num(W, 0) + " " + num(H, 0) + "\" font-family=\"sans-serif\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += text(W / 2, 24, "Rebalancing prior of " + title, 16);
  s += text(W / 2, 44,
            std::to_string(pr.images) + " images, " + std::to_string(pr.pixels) + " pixels, gamut " + pr.gamut +
                " (" + std::to_string(Q) + " bins); smoothed with sigma " + shortest(pr.sigma) +
                ", mixed with uniform at lambda " + shortest(pr.lambda) + ", E[w] = 1",
            12);
  const char* titles[3] = {"the bins in their colours (L near 60)", "smoothed prior p~ (log10)",
                           "rebalancing weight w (log10)"};
  for (int panel = 0; panel < 3; ++panel) {
    const double x0 = left + panel * panel_w, y0 = top;
    s += "<g transform=\"translate(" + num(x0, 1) + "," + num(y0, 1) + ")\">\n";
    s += text(side / 2, -10, titles[panel], 13);
    s += "<rect width=\"" + num(side, 0) + "\" height=\"" + num(side, 0) + "\" fill=\"#f2f2f2\"/>\n";
    for (std::size_t q = 0; q < Q; ++q) {
      const AbBin& c = pr.centres[q];
      std::string fill;
      if (panel == 0) fill = bin_colour(c);
      else if (panel == 1)
        fill = viridis(scale(std::log10(std::max(double(pr.prior.p_smooth[q]), 1e-12)), lp_lo, lp_hi));
      else fill = viridis(scale(std::log10(std::max(double(pr.prior.weights[q]), 1e-12)), lw_lo, lw_hi));
      s += "<rect x=\"" + num(px(c.a - 5), 1) + "\" y=\"" + num(py(c.b + 5), 1) + "\" width=\"" + num(cell, 0) +
           "\" height=\"" + num(cell, 0) + "\" fill=\"" + fill + "\"><title>bin " + std::to_string(q) + " (a " +
           num(c.a, 0) + ", b " + num(c.b, 0) + "): p " + shortest(pr.prior.p[q]) + ", p~ " +
           shortest(pr.prior.p_smooth[q]) + ", w " + shortest(pr.prior.weights[q]) + "</title></rect>\n";
      // Panel 1: a dot on the bins no sRGB colour is nearest to.
      const int ia = int(std::lround((c.a - kGridMin) / kBinSpacing));
      const int ib = int(std::lround((c.b - kGridMin) / kBinSpacing));
      if (panel == 0 && srgb.bin_at_grid(ia, ib) < 0)
        s += "<circle cx=\"" + num(px(c.a), 1) + "\" cy=\"" + num(py(c.b), 1) +
             "\" r=\"2\" fill=\"white\" stroke=\"#333\" stroke-width=\"0.6\"/>\n";
    }
    // Axes through a = 0 and b = 0, ticks every 50.
    s += "<line x1=\"" + num(px(0), 1) + "\" y1=\"0\" x2=\"" + num(px(0), 1) + "\" y2=\"" + num(side, 0) +
         "\" stroke=\"#000\" stroke-opacity=\"0.35\" stroke-width=\"0.8\"/>\n";
    s += "<line x1=\"0\" y1=\"" + num(py(0), 1) + "\" x2=\"" + num(side, 0) + "\" y2=\"" + num(py(0), 1) +
         "\" stroke=\"#000\" stroke-opacity=\"0.35\" stroke-width=\"0.8\"/>\n";
    s += "<rect width=\"" + num(side, 0) + "\" height=\"" + num(side, 0) +
         "\" fill=\"none\" stroke=\"#555\" stroke-width=\"1\"/>\n";
    for (int v = -100; v <= 100; v += 50) {
      s += text(px(v), side + 15, std::to_string(v), 10);
      s += text(-5, py(v) + 3.5, std::to_string(v), 10, "end");
    }
    s += text(side / 2, side + 30, "a (green - red)", 11);
    s += text(-32, side / 2, "b (blue - yellow)", 11, "middle",
              (" transform=\"rotate(-90 -32 " + num(side / 2, 1) + ")\"").c_str());
    // Colour bar under panels 2 and 3.
    if (panel > 0) {
      const double lo = panel == 1 ? lp_lo : lw_lo, hi = panel == 1 ? lp_hi : lw_hi;
      const double by = side + 44, bw = side;
      for (int k = 0; k < 64; ++k)
        s += "<rect x=\"" + num(bw * k / 64.0, 2) + "\" y=\"" + num(by, 1) + "\" width=\"" + num(bw / 64.0 + 0.3, 2) +
             "\" height=\"10\" fill=\"" + viridis((k + 0.5) / 64.0) + "\"/>\n";
      // Ticks at the powers of ten, and at 2 and 5 times them over less
      // than three decades (the weights span about two).
      const bool fine = hi - lo < 3.0;
      for (int k = int(std::floor(lo)); k <= int(std::ceil(hi)); ++k)
        for (double m : {1.0, 2.0, 5.0}) {
          if (m != 1.0 && !fine) continue;
          const double v = k + std::log10(m);
          if (v < lo - 1e-9 || v > hi + 1e-9) continue;
          const double x = bw * scale(v, lo, hi);
          s += "<line x1=\"" + num(x, 1) + "\" y1=\"" + num(by + 10, 1) + "\" x2=\"" + num(x, 1) + "\" y2=\"" +
               num(by + 14, 1) + "\" stroke=\"#333\"/>\n";
          char label[32];
          if (fine) std::snprintf(label, sizeof label, "%g", m * std::pow(10.0, k));
          else std::snprintf(label, sizeof label, "1e%d", k);
          s += text(x, by + 25, label, 10);
        }
      char range[96];
      std::snprintf(range, sizeof range, "min %.3g", std::pow(10.0, lo));
      s += text(0, by + 40, range, 10, "start");
      std::snprintf(range, sizeof range, "max %.3g", std::pow(10.0, hi));
      s += text(bw, by + 40, range, 10, "end");
    } else {
      s += text(0, side + 50, "dot: a bin no sRGB colour is nearest to", 10, "start");
      s += text(0, side + 64, "(it gets no pixel, only the smoothing's spill)", 10, "start");
    }
    s += "</g>\n";
  }
  s += "</svg>\n";
  return s;
}

std::string describe_prior(const PackPrior& pr) {
  const std::size_t Q = pr.centres.size();
  std::size_t top = 0, empty = 0, wmin = 0, wmax = 0;
  for (std::size_t q = 0; q < Q; ++q) {
    if (pr.prior.p[q] > pr.prior.p[top]) top = q;
    if (pr.prior.p[q] == 0.0f) ++empty;
    if (pr.prior.weights[q] < pr.prior.weights[wmin]) wmin = q;
    if (pr.prior.weights[q] > pr.prior.weights[wmax]) wmax = q;
  }
  auto ab = [&](std::size_t q) {
    return "(" + num(pr.centres[q].a, 0) + ", " + num(pr.centres[q].b, 0) + ")";
  };
  std::string s;
  s += "  prior: gamut " + pr.gamut + " (" + std::to_string(Q) + " bins), " + std::to_string(pr.images) +
       " images, " + std::to_string(pr.pixels) + " pixels; sigma " + shortest(pr.sigma) + ", lambda " +
       shortest(pr.lambda) + "\n";
  s += "    most common bin " + ab(top) + ": p " + num(100.0 * pr.prior.p[top], 2) + "% of the pixels; " +
       std::to_string(empty) + " bins hold no pixel\n";
  s += "    weights w from " + num(pr.prior.weights[wmin], 3) + " at " + ab(wmin) + " to " +
       num(pr.prior.weights[wmax], 2) + " at " + ab(wmax) + " (E_p~[w] = 1)\n";
  return s;
}

void store_prior(std::map<std::string, Tensor>& state, const AbGamut& gamut, const std::vector<float>& weights,
                 const std::vector<float>& p) {
  state["prior.weights"] = Tensor::from_vector({gamut.size()}, weights);
  state["prior.p"] = Tensor::from_vector({gamut.size()}, p);
}

std::optional<StoredPrior> read_stored_prior(const std::map<std::string, Tensor>& state, const std::string& who) {
  const auto w = state.find("prior.weights"), p = state.find("prior.p");
  if (w == state.end() && p == state.end()) return std::nullopt;
  if (w == state.end() || p == state.end())
    throw std::runtime_error(who + ": a broken rebalancing prior (prior.weights and prior.p must both be there)");
  const int64_t Q = w->second.numel();
  StoredPrior out;
  out.gamut = AbGamut::with_bins(int(Q));
  if (!out.gamut || p->second.numel() != Q)
    throw std::runtime_error(who + ": a prior of " + std::to_string(Q) + " and " + std::to_string(p->second.numel()) +
                             " bins; the gamuts are " + kGamutZhang313 + " (313 bins) and " + kGamutSrgb262 +
                             " (262)");
  out.weights = w->second.to_vector();
  out.p = p->second.to_vector();
  return out;
}

}  // namespace tinct::color
