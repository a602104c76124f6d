// human.js — the script of the real-vs-fake page (models/eval/human.h says
// what the page is; tinct compiles this file in, see cmake/embed_assets.cmake).
// Plain ES5 with no library, so that any browser of the last ten years runs
// it, from a file: nothing is fetched.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("tinct-data").textContent);
  var PAIRS = DATA.pairs, N = PAIRS.length;
  var MODELS = DATA.models.map(function (m) { return m.name; });
  var KEY = "tinct-human-" + DATA.page_id;        // the session in progress (or just finished)
  var ARCHIVE = KEY + "-finished";                // earlier participants' results, kept until downloaded
  var Z95 = 1.959963984540054;
  var state = null;       // {participant, answers: [], started, finished, scripted, exported}
  var persist = true;     // false in scripted runs: they must not touch a participant's saved answers
  var shownAt = 0, acceptAfter = 0;

  function $(id) { return document.getElementById(id); }
  function now() { return (window.performance && performance.now) ? performance.now() : Date.now(); }
  function fresh(participant) {
    return { participant: participant || "", answers: [], started: new Date().toISOString(), finished: null,
             scripted: false, exported: false };
  }

  function show(screen) {
    ["intro", "trial", "done"].forEach(function (s) { $(s).hidden = (s !== screen); });
    document.body.setAttribute("data-state", screen);
  }

  // --- storage: progress survives a reload; finished sessions survive the next participant
  function readJson(key) {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  }
  function writeJson(key, value) {
    if (!persist) return false;
    try { localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; }
  }
  function save() {
    $("saved-note").textContent = writeJson(KEY, state) ? "Progress saved in this browser" : "";
  }
  function loadSaved() {
    var s = readJson(KEY);
    return (s && s.answers && s.answers.length <= N) ? s : null;
  }
  function archive() {
    var a = persist ? readJson(ARCHIVE) : null;
    return (a && a.length !== undefined) ? a : [];
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
    var order = MODELS.slice(), by = {};
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

  // The exported file: what `tinct eval --human-results` reads (format in
  // models/eval/human.h). It names the page's photos and models (with their
  // weights' fingerprints), so that tinct can refuse answers about other ones.
  function results(s) {
    s = s || state;
    return {
      format: "tinct-human-test", version: 2, page_id: DATA.page_id, seed: DATA.seed, title: DATA.title,
      page_created: DATA.created, participant: s.participant || "", pairs: N, started: s.started,
      finished: s.finished, complete: s.answers.length === N, scripted: !!s.scripted,
      user_agent: navigator.userAgent, models: DATA.models, images: DATA.image_names,
      answers: s.answers.slice(), summary: summarize(s.answers)
    };
  }

  function present() {
    var i = state.answers.length, p = PAIRS[i];
    var left = p.real_side === "left" ? p.real : p.fake, right = p.real_side === "left" ? p.fake : p.real;
    $("img-left").src = DATA.images[left];
    $("img-right").src = DATA.images[right];
    $("pair").style.setProperty("--aspect", String(p.width / p.height));
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

  // A new pair fades in over 150 ms and answers in its first 250 ms are
  // ignored, so that a double click cannot answer the next pair unseen.
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
    $("done-summary").textContent = (state.scripted ? "Scripted run. " : "") +
      (state.participant ? state.participant + ", you" : "You") + " answered all " + N +
      " pairs and took the colorized photo for the real one " + fooled + " time" + (fooled === 1 ? "" : "s") + ".";
    $("results").textContent = JSON.stringify(r, null, 2);
    exportNote();
    show("done");
  }

  function exportNote() {
    $("export-note").textContent = state.exported ? "Saved as " + fileName(state) +
      " (in your Downloads folder). Send that file to whoever gave you this page." : "";
    $("export").textContent = state.exported ? "Save again" : "Save my answers";
  }

  // --- export ------------------------------------------------------------------
  function fileName(s) {
    var who = (s.participant || "anonymous").replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40) || "anonymous";
    return "tinct-human-results-" + who + "-" + DATA.page_id + "-" +
      String(s.finished || s.started).replace(/[:.]/g, "-") + ".json";
  }

  function download(s) {
    var text = JSON.stringify(results(s), null, 2);
    var blob = new Blob([text], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = fileName(s);
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.parentNode.removeChild(a); }, 2000);
    return text;
  }

  function exportResults() {
    try {
      $("results").textContent = download(state);
      state.exported = true;
      save();
      exportNote();
    } catch (e) {
      $("export-note").textContent = "The download failed; copy the text under \u201cResults as JSON\u201d instead.";
      $("results").parentNode.open = true;
    }
  }

  function copyResults() {
    var text = JSON.stringify(results(), null, 2);
    $("results").textContent = text;
    var done = function () { $("export-note").textContent = "Copied to the clipboard."; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { $("results").parentNode.open = true; });
    } else {
      $("results").parentNode.open = true;
    }
  }

  // --- participants ------------------------------------------------------------
  // The next person on the same browser: the finished session goes to the
  // archive (until its file is saved), and the intro starts a fresh one.
  function nextPerson() {
    if (state && state.answers.length === N && !state.exported) {
      var kept = archive();
      kept.push(state);
      writeJson(ARCHIVE, kept);
    }
    try { if (persist) localStorage.removeItem(KEY); } catch (e) { /* nothing saved */ }
    state = null;
    $("participant").value = "";
    showIntro();
  }

  function showArchive() {
    var kept = archive(), list = $("archive-list");
    list.textContent = "";
    $("archive").hidden = kept.length === 0;
    kept.forEach(function (s, i) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "linkish";
      b.textContent = "Save the answers of " + (s.participant || "an anonymous participant") + " (" +
        String(s.finished).slice(0, 16).replace("T", " ") + ")";
      b.addEventListener("click", function () {
        download(s);
        var rest = archive();
        rest.splice(i, 1);
        writeJson(ARCHIVE, rest);
        showArchive();
      });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function showIntro() {
    var saved = loadSaved();
    $("resume").hidden = true;
    $("start").textContent = "Start";
    $("start").className = "btn";
    if (saved && saved.answers.length > 0 && saved.answers.length < N) {
      $("resume").hidden = false;
      $("resume").textContent = "Resume" + (saved.participant ? " as " + saved.participant : "") + " (" +
        saved.answers.length + " of " + N + " answered)";
      $("start").textContent = "Start as someone new";
      $("start").className = "btn secondary";
    }
    showArchive();
    show("intro");
  }

  function start(s) {
    if (!s) {
      var saved = loadSaved();
      if (saved && saved.answers.length > 0 && saved.answers.length < N &&
          !window.confirm("Discard the " + saved.answers.length + " answers saved" +
                          (saved.participant ? " for " + saved.participant : "") + " and start anew?")) return;
      s = fresh($("participant").value.replace(/^\s+|\s+$/g, ""));
    }
    state = s;
    save();
    if (state.answers.length >= N) { finish(); return; }
    show("trial");
    present();
  }

  // --- wiring ------------------------------------------------------------------
  $("intro-count").textContent = String(N);
  $("intro-minutes").textContent = String(Math.max(1, Math.round(N * 4 / 60)));
  $("start").addEventListener("click", function () { start(null); });
  $("resume").addEventListener("click", function () { start(loadSaved()); });
  $("left").addEventListener("click", function () { answer("left", false); });
  $("right").addEventListener("click", function () { answer("right", false); });
  $("undo").addEventListener("click", undo);
  $("export").addEventListener("click", exportResults);
  $("copy").addEventListener("click", copyResults);
  $("next").addEventListener("click", nextPerson);
  $("participant").addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); start(null); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var screen = document.body.getAttribute("data-state");
    if (screen === "trial") {
      if (e.key === "1" || e.key === "ArrowLeft") { e.preventDefault(); answer("left", false); }
      else if (e.key === "2" || e.key === "ArrowRight") { e.preventDefault(); answer("right", false); }
      else if (e.key === "Backspace" || e.key === "u") { e.preventDefault(); undo(); }
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
    start(fresh("autoplay-" + rule));
    while (state.answers.length < N) {
      var i = state.answers.length;
      window.tinctAnswer(picks[rule](PAIRS[i], i));
    }
    return;
  }

  var saved = loadSaved();
  if (saved && saved.answers.length === N && saved.finished) { state = saved; finish(); return; }
  showIntro();
  $("participant").focus();
})();
