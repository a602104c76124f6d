// human.cpp — the real-vs-fake page of `tinct eval --human`, the Wilson
// interval, and the reader of the page's exported results. See human.h.
#include "models/eval/human.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "engine/json.h"
#include "models/eval/plot.h"
#include "models/inference.h"

namespace tinct::eval {

namespace fs = std::filesystem;

// ===========================================================================
// Wilson interval

Interval wilson_interval(std::size_t successes, std::size_t trials, double z) {
  if (successes > trials)
    throw std::invalid_argument("wilson_interval: " + std::to_string(successes) + " successes in " +
                                std::to_string(trials) + " trials");
  if (trials == 0) return {0.0, 1.0};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denom;
  const double half = z / denom * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  // In exact arithmetic 0/n gives lo = 0 and n/n gives hi = 1; floating point
  // lands a hair off, so those ends are set exactly.
  Interval i{std::max(0.0, centre - half), std::min(1.0, centre + half)};
  if (successes == 0) i.lo = 0.0;
  if (successes == trials) i.hi = 1.0;
  return i;
}

// ===========================================================================
// Pairs

namespace {

// SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose output is
// fixed by its definition, so a seed gives the same page everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), without modulo bias (rejection of the top remainder).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }

 private:
  std::uint64_t state_;
};

std::string utc_iso_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// FNV-1a, 64 bits: a short id for the page (the key of its saved progress).
std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::vector<HumanPair> human_pairs(const std::vector<HumanTestImage>& images, std::uint64_t seed) {
  std::vector<HumanPair> pairs;
  for (std::size_t i = 0; i < images.size(); ++i)
    for (std::size_t f = 0; f < images[i].fakes.size(); ++f) {
      HumanPair p;
      p.image = i;
      p.fake = f;
      p.model = images[i].fakes[f].first;
      pairs.push_back(p);
    }
  SplitMix64 rng(seed);
  // Fisher-Yates: every order equally likely, so neighbouring pairs rarely
  // share a photo and a model's fakes are spread over the session.
  for (std::size_t i = pairs.size(); i > 1; --i) std::swap(pairs[i - 1], pairs[rng.below(i)]);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    pairs[i].id = static_cast<int>(i);
    pairs[i].real_left = (rng.next() >> 63) != 0;
  }
  return pairs;
}

data::Image fit_max_side(const data::Image& img, int max_side) {
  const int side = std::max(img.width, img.height);
  if (max_side < 1 || side <= max_side) return img;
  const double s = double(max_side) / double(side);
  const int w = std::max(1, int(std::lround(img.width * s)));
  const int h = std::max(1, int(std::lround(img.height * s)));
  return data::resize(img, w, h);
}

std::string base64(const std::uint8_t* data, std::size_t size) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size - i == 1) {
    const std::uint32_t v = std::uint32_t(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (size - i == 2) {
    const std::uint32_t v = (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// ===========================================================================
// The page

namespace {

// The page's styles and script. Plain ES5-level JavaScript with no library,
// so that any browser of the last ten years runs it, from a file.
//
// Design notes: the surroundings are neutral grays (no coloured accents near
// the photos, which would shift how their colours are seen); one pair fills
// the screen at a time; a new pair fades in over 150 ms and answers in its
// first 250 ms are ignored, so a double click cannot answer the next pair
// unseen; the participant gets no feedback until the end (as in Zhang et
// al.'s test pairs), and can undo the last answer after a slip.
const char* kPageHead = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tinct eval --human">
<title>@TITLE@</title>
<style>
  :root { --bg: #eeeeee; --card: #ffffff; --ink: #1f1f1f; --muted: #666666; --line: #d6d6d6;
          --button: #2b2b2b; --focus: #000000; }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  html, body { margin: 0; background: var(--bg); color: var(--ink); }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
  main { max-width: 1000px; margin: 0 auto; padding: 28px 20px 56px; }
  h1 { font-size: 1.7rem; margin: 0 0 4px; letter-spacing: -0.01em; }
  h2 { font-size: 1.2rem; margin: 28px 0 8px; }
  p { margin: 8px 0; }
  .muted { color: var(--muted); }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 14px; padding: 28px 32px; }
  .intro { max-width: 640px; margin: 40px auto 0; }
  .intro ul { padding-left: 1.2em; }
  .intro li { margin: 4px 0; }
  kbd { display: inline-block; min-width: 1.6em; padding: 1px 6px; border: 1px solid #bbbbbb; border-bottom-width: 2px;
        border-radius: 5px; background: #fafafa; font: 0.85em/1.4 ui-monospace, Menlo, Consolas, monospace;
        text-align: center; color: #333333; }
  button { font: inherit; }
  .btn { appearance: none; border: 1px solid var(--button); background: var(--button); color: #ffffff; border-radius: 9px;
         padding: 10px 22px; cursor: pointer; font-weight: 600; }
  .btn:hover { background: #000000; }
  .btn.secondary { background: transparent; color: var(--button); }
  .btn.secondary:hover { background: #e4e4e4; }
  .btn:disabled { opacity: 0.35; cursor: default; }
  .btn:focus-visible, .photo:focus-visible { outline: 3px solid var(--focus); outline-offset: 3px; }
  .actions { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 20px; align-items: center; }
  .top { display: flex; justify-content: space-between; align-items: baseline; gap: 16px; }
  .progress { height: 6px; background: #dddddd; border-radius: 3px; overflow: hidden; margin: 10px 0 18px; }
  .progress > div { height: 100%; width: 0; background: #555555; transition: width 0.2s; }
  .question { text-align: center; font-size: 1.35rem; font-weight: 650; margin: 4px 0 16px; }
  .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 22px; align-items: start; }
  .photo { appearance: none; display: flex; flex-direction: column; align-items: center; gap: 10px; width: 100%;
           padding: 10px; border: 2px solid transparent; border-radius: 14px; background: var(--card); cursor: pointer;
           color: var(--ink); }
  .photo:hover { border-color: #9a9a9a; }
  .photo img { display: block; max-width: 100%; height: auto; border-radius: 4px; background: #cccccc; }
  .photo .caption { font-size: 0.95rem; color: var(--muted); }
  .photo .caption strong { color: var(--ink); }
  .fresh img { animation: fadein 150ms ease-out; }
  @keyframes fadein { from { opacity: 0; } to { opacity: 1; } }
  @media (prefers-reduced-motion: reduce) { .fresh img { animation: none; } }
  .below { display: flex; justify-content: space-between; align-items: center; margin-top: 14px; gap: 12px; }
  .linkish { appearance: none; background: none; border: none; color: var(--muted); cursor: pointer; padding: 4px 0;
             text-decoration: underline; }
  .linkish:disabled { opacity: 0.4; cursor: default; text-decoration: none; }
  table { border-collapse: collapse; width: 100%; margin: 8px 0; font-variant-numeric: tabular-nums; }
  th, td { padding: 9px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { font-size: 0.85rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); font-weight: 600; }
  td.chart { width: 40%; min-width: 180px; }
  .track { position: relative; height: 18px; background: #f0f0f0; border-radius: 3px; }
  .track .fill { position: absolute; left: 0; top: 3px; bottom: 3px; background: #8a8a8a; border-radius: 2px; }
  .track .ci { position: absolute; top: 8px; height: 2px; background: #1f1f1f; }
  .track .ci::before, .track .ci::after { content: ""; position: absolute; top: -5px; width: 2px; height: 12px;
                                          background: #1f1f1f; }
  .track .ci::before { left: 0; } .track .ci::after { right: 0; }
  .track .chance { position: absolute; left: 50%; top: -3px; bottom: -3px; border-left: 1px dashed #555555; }
  .scale { display: flex; justify-content: space-between; font-size: 0.75rem; color: var(--muted); }
  details { margin-top: 18px; }
  summary { cursor: pointer; color: var(--muted); }
  pre { background: #f7f7f7; border: 1px solid var(--line); border-radius: 8px; padding: 12px; max-height: 320px;
        overflow: auto; font-size: 0.8rem; }
  .note { font-size: 0.9rem; color: var(--muted); }
  @media (max-width: 700px) { .pair { grid-template-columns: 1fr; } .card { padding: 20px; } }
</style>
</head>
<body data-state="loading">
<main>
)HTML";

const char* kPageBody = R"HTML(
<section id="intro" class="card intro" hidden>
  <h1>@TITLE@</h1>
  <p class="muted">A perceptual test of automatic colorization.</p>
  <p>You will see <strong id="intro-count"></strong> pairs of photos. In each pair, one photo is a real colour
     photograph. The other is the same photo, turned black and white and colorized again by a computer.</p>
  <ul>
    <li>Pick the photo you believe is <strong>real</strong>: click it, or press <kbd>1</kbd> / <kbd>&larr;</kbd>
        for the left one and <kbd>2</kbd> / <kbd>&rarr;</kbd> for the right one.</li>
    <li>Go with your impression; there is no time limit, and no feedback until the end.</li>
    <li>Made a slip? <em>Undo</em> (or <kbd>Backspace</kbd>) takes back the last answer.</li>
    <li>Your answers stay in this browser. If you close the page, you can resume later; at the end you can
        export them as a file.</li>
  </ul>
  <div class="actions">
    <button id="start" class="btn" type="button">Start</button>
    <button id="resume" class="btn" type="button" hidden></button>
    <span class="note" id="start-hint">or press <kbd>Enter</kbd></span>
  </div>
</section>

<section id="trial" hidden>
  <div class="top">
    <strong id="counter"></strong>
    <span class="note">Press <kbd>1</kbd> or <kbd>2</kbd></span>
  </div>
  <div class="progress"><div id="bar"></div></div>
  <p class="question">Which photo is real?</p>
  <div class="pair" id="pair">
    <button class="photo" id="left" type="button" aria-label="The left photo is real">
      <img id="img-left" alt="Left photo">
      <span class="caption"><kbd>1</kbd> <strong>Left</strong> is real</span>
    </button>
    <button class="photo" id="right" type="button" aria-label="The right photo is real">
      <img id="img-right" alt="Right photo">
      <span class="caption"><kbd>2</kbd> <strong>Right</strong> is real</span>
    </button>
  </div>
  <div class="below">
    <button class="linkish" id="undo" type="button">Undo last answer</button>
    <span class="note" id="saved-note"></span>
  </div>
</section>

<section id="done" class="card" hidden>
  <h1>Thank you!</h1>
  <p id="done-summary"></p>
  <h2>Fooling rate per model</h2>
  <p class="note">The fooling rate is the fraction of pairs in which the colorized photo was taken for the real one.
     50% (the dashed line) means the colorized photos could not be told from real ones; 0% means they were always
     spotted. The interval is the 95% Wilson score interval.</p>
  <table>
    <thead><tr><th>Model</th><th>Pairs</th><th>Fooled</th><th>Fooling rate</th><th>95% interval</th>
      <th class="chart"><div class="scale"><span>0%</span><span>50%</span><span>100%</span></div></th></tr></thead>
    <tbody id="rates"></tbody>
  </table>
  <div class="actions">
    <button id="export" class="btn" type="button">Export results</button>
    <button id="copy" class="btn secondary" type="button">Copy as JSON</button>
    <button id="restart" class="btn secondary" type="button">Start over</button>
    <span class="note" id="export-note"></span>
  </div>
  <details>
    <summary>Results as JSON</summary>
    <pre id="results"></pre>
  </details>
</section>

<noscript><p class="card">This test needs JavaScript.</p></noscript>
</main>
<script type="application/json" id="tinct-data">@DATA@</script>
<script>
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("tinct-data").textContent);
  var PAIRS = DATA.pairs, N = PAIRS.length;
  var KEY = "tinct-human-" + DATA.page_id;
  var Z95 = 1.959963984540054;
  var state = null;       // {answers: [], started, finished, scripted}
  var persist = true;     // false in scripted runs: they must not touch a participant's saved answers
  var shownAt = 0, acceptAfter = 0;

  function $(id) { return document.getElementById(id); }
  function now() { return (window.performance && performance.now) ? performance.now() : Date.now(); }
  function fresh() { return { answers: [], started: new Date().toISOString(), finished: null, scripted: false }; }

  function show(screen) {
    ["intro", "trial", "done"].forEach(function (s) { $(s).hidden = (s !== screen); });
    document.body.setAttribute("data-state", screen);
  }

  function save() {
    if (!persist) return;
    try { localStorage.setItem(KEY, JSON.stringify(state)); $("saved-note").textContent = "Progress saved in this browser"; }
    catch (e) { $("saved-note").textContent = ""; }
  }
  function loadSaved() {
    try {
      var s = JSON.parse(localStorage.getItem(KEY));
      if (s && s.answers && s.answers.length <= N) return s;
    } catch (e) { /* no storage (private mode, file:// policy): start fresh */ }
    return null;
  }

  // The Wilson score interval, as wilson_interval() in models/eval/human.cpp.
  function wilson(k, n) {
    if (n === 0) return [0, 1];
    var p = k / n, z2 = Z95 * Z95, d = 1 + z2 / n;
    var c = (p + z2 / (2 * n)) / d;
    var h = Z95 / d * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    return [k === 0 ? 0 : Math.max(0, c - h), k === n ? 1 : Math.min(1, c + h)];
  }

  function summarize(answers) {
    var order = DATA.models.slice(), by = {};
    answers.forEach(function (a) {
      if (order.indexOf(a.model) < 0) order.push(a.model);
      var s = by[a.model] || (by[a.model] = { pairs: 0, fooled: 0 });
      s.pairs += 1;
      if (a.fooled) s.fooled += 1;
    });
    return order.filter(function (m) { return by[m]; }).map(function (m) {
      var s = by[m], ci = wilson(s.fooled, s.pairs);
      return { model: m, pairs: s.pairs, fooled: s.fooled, rate: s.fooled / s.pairs, ci95: ci };
    });
  }

  function results() {
    return {
      format: "tinct-human-test", version: 1, page_id: DATA.page_id, seed: DATA.seed, title: DATA.title,
      page_created: DATA.created, pairs: N, started: state.started, finished: state.finished,
      complete: state.answers.length === N, scripted: state.scripted,
      user_agent: navigator.userAgent, answers: state.answers.slice(), summary: summarize(state.answers)
    };
  }

  function present() {
    var i = state.answers.length, p = PAIRS[i];
    var left = p.real_side === "left" ? p.real : p.fake, right = p.real_side === "left" ? p.fake : p.real;
    $("img-left").src = DATA.images[left];
    $("img-right").src = DATA.images[right];
    $("counter").textContent = "Pair " + (i + 1) + " of " + N;
    $("bar").style.width = (100 * i / N) + "%";
    $("undo").disabled = (i === 0);
    var pair = $("pair");
    pair.classList.remove("fresh");
    void pair.offsetWidth;  // restart the fade-in
    pair.classList.add("fresh");
    shownAt = now();
    acceptAfter = shownAt + 250;
  }

  function answer(choice, scripted) {
    if (!state || $("trial").hidden || state.answers.length >= N) return false;
    if (choice === 1 || choice === "1") choice = "left";
    if (choice === 2 || choice === "2") choice = "right";
    if (choice !== "left" && choice !== "right") return false;
    var t = now();
    if (!scripted && t < acceptAfter) return false;
    var p = PAIRS[state.answers.length];
    state.answers.push({ pair: p.id, image: p.image, model: p.model, real_side: p.real_side, choice: choice,
                         fooled: choice !== p.real_side, ms: Math.round(t - shownAt) });
    if (scripted) state.scripted = true;
    if (state.answers.length === N) { finish(); return true; }
    save();
    present();
    return true;
  }

  function undo() {
    if (!state || $("trial").hidden || state.answers.length === 0) return;
    state.answers.pop();
    save();
    present();
  }

  function pct(x) { return (100 * x).toFixed(1) + "%"; }

  function finish() {
    if (!state.finished) state.finished = new Date().toISOString();
    save();
    var r = results(), body = $("rates");
    body.textContent = "";
    r.summary.forEach(function (s) {
      var tr = document.createElement("tr");
      [s.model, String(s.pairs), String(s.fooled), pct(s.rate), pct(s.ci95[0]) + " \u2013 " + pct(s.ci95[1])]
        .forEach(function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
      var td = document.createElement("td"); td.className = "chart";
      var track = document.createElement("div"); track.className = "track";
      var fill = document.createElement("div"); fill.className = "fill"; fill.style.width = (100 * s.rate) + "%";
      var ci = document.createElement("div"); ci.className = "ci";
      ci.style.left = (100 * s.ci95[0]) + "%"; ci.style.width = (100 * (s.ci95[1] - s.ci95[0])) + "%";
      var chance = document.createElement("div"); chance.className = "chance";
      track.appendChild(fill); track.appendChild(ci); track.appendChild(chance);
      td.appendChild(track); tr.appendChild(td); body.appendChild(tr);
    });
    var fooled = state.answers.filter(function (a) { return a.fooled; }).length;
    $("done-summary").textContent = (state.scripted ? "Scripted run. " : "") + "You answered all " + N + " pairs and picked the colorized photo as the real one " +
      fooled + " time" + (fooled === 1 ? "" : "s") + ". Please export your results and send the file to whoever gave " +
      "you this page.";
    $("results").textContent = JSON.stringify(r, null, 2);
    show("done");
  }

  function exportResults() {
    var text = JSON.stringify(results(), null, 2);
    $("results").textContent = text;
    try {
      var blob = new Blob([text], { type: "application/json" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "tinct-human-results-" + DATA.page_id + "-" + state.finished.replace(/[:.]/g, "-") + ".json";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.parentNode.removeChild(a); }, 2000);
      $("export-note").textContent = "Downloaded " + a.download;
    } catch (e) {
      $("export-note").textContent = "Download failed; copy the JSON below instead.";
      $("results").parentNode.open = true;
    }
  }

  function copyResults() {
    var text = JSON.stringify(results(), null, 2);
    $("results").textContent = text;
    var done = function () { $("export-note").textContent = "Copied to the clipboard"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { $("results").parentNode.open = true; });
    } else {
      $("results").parentNode.open = true;
    }
  }

  function start(s) {
    state = s || fresh();
    save();
    if (state.answers.length >= N) { finish(); return; }
    show("trial");
    present();
  }

  // --- wiring ---------------------------------------------------------------
  $("intro-count").textContent = String(N);
  $("start").addEventListener("click", function () { start(null); });
  $("resume").addEventListener("click", function () { start(loadSaved()); });
  $("left").addEventListener("click", function () { answer("left", false); });
  $("right").addEventListener("click", function () { answer("right", false); });
  $("undo").addEventListener("click", undo);
  $("export").addEventListener("click", exportResults);
  $("copy").addEventListener("click", copyResults);
  $("restart").addEventListener("click", function () {
    if (window.confirm("Discard these answers and start again?")) {
      try { localStorage.removeItem(KEY); } catch (e) { /* nothing saved */ }
      state = null;
      show("intro");
      $("resume").hidden = true;
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var screen = document.body.getAttribute("data-state");
    if (screen === "trial") {
      if (e.key === "1" || e.key === "ArrowLeft") { e.preventDefault(); answer("left", false); }
      else if (e.key === "2" || e.key === "ArrowRight") { e.preventDefault(); answer("right", false); }
      else if (e.key === "Backspace" || e.key === "u") { e.preventDefault(); undo(); }
    } else if (screen === "intro" && e.key === "Enter" && document.activeElement === document.body) {
      e.preventDefault();
      if (!$("resume").hidden) $("resume").click(); else $("start").click();
    }
  });

  // Hooks for scripts and tests.
  window.tinctAnswer = function (choice) { return answer(choice, true); };
  window.tinctResults = function () { return state ? results() : null; };

  var params = new URLSearchParams(window.location.search);
  var rule = params.get("autoplay");
  if (rule) {
    persist = false;
    var picks = {
      left: function () { return "left"; },
      right: function () { return "right"; },
      real: function (p) { return p.real_side; },
      fake: function (p) { return p.real_side === "left" ? "right" : "left"; },
      alternate: function (p, i) { return i % 2 === 0 ? "left" : "right"; }
    };
    if (!picks[rule]) {
      document.body.setAttribute("data-state", "error");
      $("results").textContent = JSON.stringify({ error: "unknown autoplay rule '" + rule +
        "' (left, right, real, fake, alternate)" });
      $("done").hidden = false;
      return;
    }
    start(null);
    while (state.answers.length < N) {
      var i = state.answers.length;
      window.tinctAnswer(picks[rule](PAIRS[i], i));
    }
    return;
  }

  var saved = loadSaved();
  if (saved && saved.answers.length === N && saved.finished) { state = saved; finish(); return; }
  if (saved && saved.answers.length > 0) {
    $("resume").hidden = false;
    $("resume").textContent = "Resume (" + saved.answers.length + " of " + N + " answered)";
    $("start").textContent = "Start over";
    $("start").className = "btn secondary";
  }
  show("intro");
})();
</script>
</body>
</html>
)HTML";

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + with.size()))
    s.replace(p, what.size(), with);
}


std::string png_data_uri(const data::Image& img) {
  const std::vector<std::uint8_t> png = data::encode_png(img);
  return "data:image/png;base64," + base64(png.data(), png.size());
}

}  // namespace

std::string human_test_html(const std::vector<HumanTestImage>& images, const HumanPageOptions& o) {
  const std::vector<HumanPair> pairs = human_pairs(images, o.seed);
  if (pairs.empty()) throw std::invalid_argument("human test: no (photo, colorized) pair to show");

  // Each photo once in the image table (a real photo serves every pair of
  // its image); pairs refer to it by index.
  json::Value::Array uris;
  std::vector<std::size_t> real_index(images.size());
  std::vector<std::vector<std::size_t>> fake_index(images.size());
  std::vector<std::string> models;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const HumanTestImage& im = images[i];
    if (im.fakes.empty()) continue;
    real_index[i] = uris.size();
    uris.emplace_back(png_data_uri(fit_max_side(im.real, o.max_side)));
    for (const auto& [model, fake] : im.fakes) {
      if (fake.width != im.real.width || fake.height != im.real.height)
        throw std::invalid_argument("human test: the " + model + " output of " + im.name + " is " +
                                    std::to_string(fake.width) + "x" + std::to_string(fake.height) +
                                    ", the photo " + std::to_string(im.real.width) + "x" +
                                    std::to_string(im.real.height));
      fake_index[i].push_back(uris.size());
      uris.emplace_back(png_data_uri(fit_max_side(fake, o.max_side)));
      if (std::find(models.begin(), models.end(), model) == models.end()) models.push_back(model);
    }
  }

  const std::string created = utc_iso_now();
  std::uint64_t id = fnv1a(created + "/" + std::to_string(o.seed));
  json::Value::Array jpairs;
  for (const HumanPair& p : pairs) {
    const std::string& name = images[p.image].name;
    id = fnv1a(name + "|" + p.model + (p.real_left ? "L" : "R"), id);
    jpairs.emplace_back(json::Value::Object{
        {"id", json::Value(p.id)},
        {"image", json::Value(name)},
        {"model", json::Value(p.model)},
        {"real", json::Value(static_cast<std::int64_t>(real_index[p.image]))},
        {"fake", json::Value(static_cast<std::int64_t>(fake_index[p.image][p.fake]))},
        {"real_side", json::Value(p.real_left ? "left" : "right")}});
  }
  char idhex[17];
  std::snprintf(idhex, sizeof idhex, "%016llx", static_cast<unsigned long long>(id));
  json::Value::Array jmodels;
  for (const std::string& m : models) jmodels.emplace_back(m);

  json::Value page(json::Value::Object{
      {"format", json::Value("tinct-human-page")},
      {"version", json::Value(1)},
      {"page_id", json::Value(std::string(idhex))},
      {"seed", json::Value(static_cast<std::int64_t>(o.seed & 0x7fffffffffffffffull))},
      {"title", json::Value(o.title)},
      {"created", json::Value(created)},
      {"max_side", json::Value(o.max_side)},
      {"models", json::Value(std::move(jmodels))},
      {"pairs", json::Value(std::move(jpairs))},
      {"images", json::Value(std::move(uris))}});
  // Inside <script>, "</script" or "<!--" in a string (an image name) would
  // end or confuse the element: write every '<' as the JSON escape \u003c.
  std::string data = json::dump(page);
  replace_all(data, "<", "\\u003c");

  std::string head = kPageHead, body = kPageBody;
  replace_all(head, "@TITLE@", xml_escape(o.title));
  replace_all(body, "@TITLE@", xml_escape(o.title));
  const std::size_t at = body.find("@DATA@");
  return head + body.substr(0, at) + data + body.substr(at + 6);
}

// ===========================================================================
// `tinct eval --human`

HumanPageResult write_human_page(const EvalOptions& o, const HumanPageOptions& page) {
  const auto t0 = std::chrono::steady_clock::now();
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  check_eval_options(o, "human_test.html");
  const fs::path out(o.out);
  const fs::path path = out / "human_test.html";
  std::error_code ec;

  const std::vector<ImageEntry> entries = list_images(o.data);
  const std::vector<ModelSpec> specs = resolve_models(o.models, o.weights_dir, o.untrained);
  HumanPageResult r;
  std::vector<std::pair<std::string, std::unique_ptr<models::Colorizer>>> loaded;
  for (const ModelSpec& s : specs) {
    try {
      loaded.emplace_back(s.kind, load_model(s));
      r.models.push_back(s.kind);
    } catch (const std::exception& e) {
      r.failures.push_back({s.kind, "", e.what()});
      log("cannot load " + s.kind + ": " + e.what());
    }
  }

  models::ColorizeOptions copt;
  copt.size = o.size;
  std::vector<HumanTestImage> images;
  std::size_t index = 0;
  for (const ImageEntry& e : entries) {
    ++index;
    const std::string counter = "[" + std::to_string(index) + "/" + std::to_string(entries.size()) + "] ";
    data::Image photo;
    try {
      photo = data::load_image(e.path);
    } catch (const std::exception& err) {
      r.skipped.push_back({e.name, err.what()});
      log(counter + e.name + ": skipped (" + err.what() + ")");
      continue;
    }
    if (photo.source_channels <= 2) {
      r.skipped.push_back({e.name, "grayscale file: no real colour photo to show"});
      log(counter + e.name + ": skipped (grayscale)");
      continue;
    }
    HumanTestImage item;
    item.name = e.name;
    // Colorize at full size, exactly as `tinct colorize` and the report do,
    // then shrink real and fake alike for the page.
    for (auto& [kind, model] : loaded) {
      try {
        item.fakes.emplace_back(kind, fit_max_side(models::colorize_image(*model, photo, copt), page.max_side));
      } catch (const std::exception& err) {
        r.failures.push_back({kind, e.name, err.what()});
      }
    }
    if (item.fakes.empty()) continue;
    item.real = fit_max_side(photo, page.max_side);
    r.pairs += item.fakes.size();
    images.push_back(std::move(item));
    log(counter + e.name);
  }
  r.images = images.size();
  if (images.empty())
    throw std::runtime_error("no pair could be made: no image of '" + o.data + "' could be colorized");
  const std::string html = human_test_html(images, page);
  fs::create_directories(out, ec);
  if (ec) throw std::runtime_error("cannot create '" + o.out + "': " + ec.message());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << html;
  f.flush();
  if (!f) throw std::runtime_error("cannot write '" + path.string() + "'");
  r.path = path.string();
  r.bytes = html.size();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// ===========================================================================
// Results

std::vector<HumanAnswer> parse_human_results(const std::string& text) {
  json::Value v;
  try {
    v = json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("not a JSON file: ") + e.what());
  }
  if (!v.is_object()) throw std::runtime_error("not a tinct human-test results file (a JSON object expected)");
  if (const json::Value* f = v.find("format"))
    if (!f->is_string() || f->as_string() != "tinct-human-test")
      throw std::runtime_error("not a tinct human-test results file (format is not \"tinct-human-test\")");
  const json::Value* answers = v.find("answers");
  if (!answers || !answers->is_array())
    throw std::runtime_error("not a tinct human-test results file (no \"answers\" array)");
  std::vector<HumanAnswer> out;
  std::size_t i = 0;
  for (const json::Value& a : answers->as_array()) {
    const std::string where = "answer " + std::to_string(i++) + ": ";
    if (!a.is_object()) throw std::runtime_error(where + "not an object");
    auto str = [&](const char* key, bool required) -> std::string {
      const json::Value* x = a.find(key);
      if (!x) {
        if (required) throw std::runtime_error(where + "no \"" + key + "\"");
        return "";
      }
      if (!x->is_string()) throw std::runtime_error(where + "\"" + key + "\" is not a string");
      return x->as_string();
    };
    HumanAnswer h;
    h.model = str("model", true);
    h.image = str("image", false);
    h.real_side = str("real_side", true);
    h.choice = str("choice", true);
    for (const std::string* side : {&h.real_side, &h.choice})
      if (*side != "left" && *side != "right")
        throw std::runtime_error(where + "a side must be \"left\" or \"right\", got \"" + *side + "\"");
    if (const json::Value* p = a.find("pair")) {
      if (!p->is_int()) throw std::runtime_error(where + "\"pair\" is not an integer");
      h.pair = static_cast<int>(p->as_int());
    }
    if (const json::Value* ms = a.find("ms"))
      if (ms->is_number()) h.ms = ms->as_double();
    h.fooled = h.choice != h.real_side;
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<FoolingRate> fooling_rates(const std::vector<HumanAnswer>& answers) {
  std::vector<FoolingRate> out;
  for (const HumanAnswer& a : answers) {
    auto it = std::find_if(out.begin(), out.end(), [&](const FoolingRate& r) { return r.model == a.model; });
    if (it == out.end()) {
      out.push_back({});
      out.back().model = a.model;
      it = out.end() - 1;
    }
    ++it->pairs;
    if (a.fooled) ++it->fooled;
  }
  for (FoolingRate& r : out) {
    r.rate = r.pairs ? double(r.fooled) / double(r.pairs) : 0.0;
    r.ci95 = wilson_interval(r.fooled, r.pairs);
  }
  return out;
}

std::string fooling_table(const std::vector<FoolingRate>& rates) {
  std::vector<std::vector<std::string>> rows;
  for (const FoolingRate& r : rates)
    rows.push_back({r.model, std::to_string(r.pairs), std::to_string(r.fooled), format_number(100 * r.rate, 1) + "%",
                    format_number(100 * r.ci95.lo, 1) + "% - " + format_number(100 * r.ci95.hi, 1) + "%"});
  return markdown_table({"Model", "Pairs", "Fooled", "Fooling rate", "95% interval (Wilson)"}, rows,
                        {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight});
}

}  // namespace tinct::eval
