#!/usr/bin/env bash
# human_test.sh TINCT — the human real-vs-fake page of `tinct eval --human`,
# driven in headless Chromium.
#
# 1. writes three small synthetic colour photos (24-bit BMP, from this script:
#    no image tools needed) and builds the page from them with untrained
#    models (`--untrained`: the page's logic is under test, not the models);
# 2. opens the page with ?autoplay=RULE, which answers every pair through the
#    page's own window.tinctAnswer hook, and dumps the DOM (--dump-dom, with
#    a virtual time budget so the script runs to its end);
# 3. takes the exported JSON from <pre id="results"> and checks it: the page
#    finished (data-state="done"), one answer per pair, and the fooling rates,
#    read back by `tinct eval --human-results` (the C++ reader) and compared
#    with what the rule implies: "fake" fools on every pair (100%), "real" on
#    none (0%), "left" on exactly the pairs whose real photo is on the right
#    (counted from the page's own data);
# 4. an unknown rule leaves the page in data-state="error".
#
# Exit 0 pass, 1 fail, 77 skip (no Chromium; ctest reports it as skipped).
# Takes about 15 s (three Chromium starts of 2 to 4 s each, most of the rest
# building the models).
set -euo pipefail

tinct=${1:?usage: human_test.sh path/to/tinct}
[ -x "$tinct" ] || { echo "human_test: '$tinct' is not an executable"; exit 1; }

chromium=""
for c in chromium chromium-browser google-chrome-stable google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
done
if [ -z "$chromium" ]; then
  echo "human_test: SKIP: no chromium on PATH (apt-get install chromium; tools/setup.sh installs it)"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tinct_browser.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "human_test: FAIL: $*"; failures=$((failures + 1)); }

# --- synthetic photos --------------------------------------------------------
# le32 N: N as 4 little-endian bytes, in printf escapes.
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
le16() { printf '\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)); }
# write_bmp FILE W H SEED: a W x H colour gradient (W a multiple of 4, so the
# rows need no padding), bottom-up BGR rows as BMP stores them.
write_bmp() {
  local file=$1 w=$2 h=$3 seed=$4 x y r g b row
  local size=$((w * h * 3))
  {
    printf "BM$(le32 $((54 + size)))$(le32 0)$(le32 54)"
    printf "$(le32 40)$(le32 "$w")$(le32 "$h")$(le16 1)$(le16 24)$(le32 0)$(le32 "$size")$(le32 2835)$(le32 2835)$(le32 0)$(le32 0)"
    for ((y = 0; y < h; y++)); do
      row=""
      for ((x = 0; x < w; x++)); do
        r=$(((40 + 200 * x / (w - 1) + 70 * seed) % 256))
        g=$(((220 - 160 * y / (h - 1) + 50 * seed) % 256))
        b=$(((x + y) % 2 ? 60 + 30 * seed : 180))
        row+=$(printf '\\x%02x\\x%02x\\x%02x' "$b" "$g" "$r")
      done
      printf "$row"
    done
  } >"$file"
}

mkdir -p "$work/photos"
write_bmp "$work/photos/one.bmp" 32 24 0
write_bmp "$work/photos/two.bmp" 24 32 1
write_bmp "$work/photos/three.bmp" 40 24 2

# --- the page ----------------------------------------------------------------
t0=$(date +%s)
if ! "$tinct" eval --human --untrained --data "$work/photos" -o "$work/out" --size 32 --seed 5 --quiet \
  >"$work/eval.log" 2>&1; then
  cat "$work/eval.log"
  fail "tinct eval --human failed"
  exit 1
fi
page="$work/out/human_test.html"
[ -s "$page" ] || { fail "no page written"; exit 1; }
t1=$(date +%s)
echo "human_test: page written in $((t1 - t0)) s ($(wc -c <"$page") bytes)"

# The page's data is compact JSON: count the pairs and the real photos on the right.
pairs=$( (grep -o '"real_side":"[a-z]*"' "$page" || true) | wc -l)
real_right=$( (grep -o '"real_side":"right"' "$page" || true) | wc -l)
[ "$pairs" -eq 9 ] || fail "the page holds $pairs pairs, expected 3 photos x 3 models = 9"
if grep -q -E 'https?://' "$page"; then fail "the page refers to an external URL"; fi

# run_page RULE: dumps the DOM after autoplay=RULE into $work/RULE.html and
# the exported JSON into $work/RULE.json.
run_page() {
  local rule=$1
  timeout 60 "$chromium" --headless --disable-gpu --no-sandbox --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile-$rule" --virtual-time-budget=10000 --dump-dom \
    "file://$page?autoplay=$rule" >"$work/$rule.html" 2>"$work/$rule.err" || {
    tail -5 "$work/$rule.err"
    fail "chromium failed on autoplay=$rule"
    return 1
  }
  # The <pre id="results"> element's text, HTML entities decoded.
  sed -n '/<pre id="results">/,/<\/pre>/p' "$work/$rule.html" |
    sed -e 's/.*<pre id="results">//' -e 's/<\/pre>.*//' |
    sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&#39;/'/g" -e 's/&amp;/\&/g' >"$work/$rule.json"
}

# check_rule RULE EXPECTED_FOOLED_TOTAL: the page finished, answered every
# pair, and the C++ reader finds EXPECTED_FOOLED_TOTAL fooled answers.
check_rule() {
  local rule=$1 expected=$2 answers fooled
  run_page "$rule" || return 0
  grep -q 'data-state="done"' "$work/$rule.html" || { fail "autoplay=$rule: the page did not reach its end"; return 0; }
  answers=$(grep -c '"choice":' "$work/$rule.json" || true)
  [ "$answers" -eq "$pairs" ] || fail "autoplay=$rule: $answers answers exported, expected $pairs"
  grep -q '"complete": true' "$work/$rule.json" || fail "autoplay=$rule: results not marked complete"
  grep -q '"scripted": true' "$work/$rule.json" || fail "autoplay=$rule: results not marked scripted"
  if ! "$tinct" eval --human-results "$work/$rule.json" >"$work/$rule.txt" 2>"$work/$rule.err2"; then
    cat "$work/$rule.err2"
    fail "autoplay=$rule: tinct eval --human-results cannot read the export"
    return 0
  fi
  # Table rows: | model | pairs | fooled | rate | interval |
  fooled=$(awk -F'|' '$2 ~ /regression|classification|gan/ { s += $4 } END { print s + 0 }' "$work/$rule.txt")
  [ "$fooled" -eq "$expected" ] || fail "autoplay=$rule: $fooled fooled answers, expected $expected"
  local models
  models=$(awk -F'|' '$2 ~ /regression|classification|gan/ && $3 + 0 == 3 { n++ } END { print n + 0 }' "$work/$rule.txt")
  [ "$models" -eq 3 ] || fail "autoplay=$rule: expected 3 models with 3 pairs each"
  echo "human_test: autoplay=$rule: $answers answers, $fooled fooled (expected $expected)"
}

check_rule fake "$pairs"
grep -q '| *100.0% | *43.9% - 100.0% |' "$work/fake.txt" ||
  fail "autoplay=fake: the rate of 3/3 should read 100.0% with Wilson interval 43.9% - 100.0% (hand-computed: 0.43850)"
check_rule real 0
check_rule left "$real_right"
# The page's own summary (JavaScript) agrees with the C++ reader.
js_fooled=$(awk '/"summary"/ { s = 1 } s && /"fooled":/ { gsub(/[^0-9]/, ""); t += $0 } END { print t + 0 }' "$work/left.json")
[ "$js_fooled" -eq "$real_right" ] || fail "autoplay=left: the page's summary counts $js_fooled fooled, expected $real_right"

run_page bogus || true
grep -q 'data-state="error"' "$work/bogus.html" || fail "autoplay=bogus: the page should refuse an unknown rule"

echo "human_test: $(($(date +%s) - t0)) s in all"
if [ "$failures" -gt 0 ]; then
  echo "human_test: $failures check(s) failed (files kept in $work)"
  trap - EXIT
  exit 1
fi
echo "human_test: PASS"
