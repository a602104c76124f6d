#!/usr/bin/env bash
# human_test.sh TINCT — the human real-vs-fake page of `tinct eval --human`,
# driven in headless Chromium, and its answers folded back into the report.
#
# 1. writes three small synthetic colour photos (24-bit BMP, from this script:
#    no image tools needed) and builds the page from them with untrained
#    models (`--untrained`: the page's logic is under test, not the models);
# 2. drive_human_page.py plays two people on it with real key presses and
#    clicks (Ann: the colorized photo for every gan pair, the real one
#    otherwise, a guarded double press, an undo; Ben: after "Next person", a
#    reload and a resume, the real photo every time); each saves her or his
#    answers, and the downloaded files are checked: read back by `tinct eval
#    --human-results` (gan fooled 3 of 6, the others 0 of 6), folded into a
#    report (its fooling table and human_answers.csv), and refused when they
#    do not match: other photos, other weights, an edited answer, a file
#    passed twice;
# 3. the scripting hook ?autoplay=RULE: "fake" fools on every pair, "left" on
#    exactly the pairs whose real photo is on the right (counted from the
#    page's own data), and the page's summary (JavaScript) agrees with the C++
#    reader; an unknown rule leaves the page in data-state="error".
#
# Exit 0 pass, 1 fail, 77 skip (no Chromium or no Python 3; ctest reports it
# as skipped). Takes about 30 s.
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
python=$(command -v python3 || true)
if [ -z "$python" ]; then
  echo "human_test: SKIP: no python3 on PATH (it drives Chromium: tests/browser/drive_human_page.py)"
  exit 77
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

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

# --- two people, real input, real downloads ---------------------------------
if ! "$python" "$here/drive_human_page.py" "$chromium" "$page" "$work/people"; then
  fail "the page could not be played through"
  exit 1
fi
ann=$work/people/ann.json
ben=$work/people/ben.json
# The C++ reader on the downloaded files: Ann was fooled on the 3 gan pairs, Ben never.
if ! "$tinct" eval --human-results "$ann" "$ben" >"$work/pooled.txt" 2>"$work/pooled.err"; then
  cat "$work/pooled.err"
  fail "tinct eval --human-results cannot read the downloaded files"
fi
row() { grep -E "^\| $1 +\|" "$2" | tr -s ' ' | sed 's/^| //; s/ |$//'; }
[ "$(row gan "$work/pooled.txt")" = "gan | 6 | 3 | 50.0% | 18.8% - 81.2%" ] ||
  fail "pooled gan row: '$(row gan "$work/pooled.txt")', expected 3 of 6 fooled, 50.0%, Wilson 18.8% - 81.2%"
[ "$(row regression "$work/pooled.txt")" = "regression | 6 | 0 | 0.0% | 0.0% - 39.0%" ] ||
  fail "pooled regression row: '$(row regression "$work/pooled.txt")', expected 0 of 6 fooled"
grep -q '| Ann *|' "$work/pooled.txt" || fail "the participant's name is not in the summary"

# Folded into the report of the same photos and (untrained) models.
if ! "$tinct" eval --untrained --data "$work/photos" -o "$work/report" --size 32 --quiet \
  --human-results "$ann" "$ben" >"$work/report.log" 2>&1; then
  cat "$work/report.log"
  fail "tinct eval --human-results with --data failed"
else
  grep -q '^## Human test' "$work/report/report.md" || fail "report.md has no human-test section"
  sed -n '/^## Human test/,/^## [^H]/p' "$work/report/report.md" >"$work/report_human.md"
  [ "$(row gan "$work/report_human.md")" = "gan | 6 | 3 | 50.0% | 18.8% - 81.2%" ] ||
    fail "report gan row: '$(row gan "$work/report_human.md")'"
  [ "$(wc -l <"$work/report/human_answers.csv")" -eq $((2 * pairs + 1)) ] ||
    fail "human_answers.csv: expected a header and $((2 * pairs)) answers"
fi

# refuse CASE EXPECTED_MESSAGE ARGS...: tinct eval must exit non-zero and say EXPECTED_MESSAGE.
refuse() {
  local name=$1 message=$2
  shift 2
  if "$tinct" eval "$@" >"$work/$name.out" 2>"$work/$name.err"; then
    fail "$name: accepted"
  elif ! grep -q "$message" "$work/$name.err"; then
    fail "$name: the message does not say '$message': $(cat "$work/$name.err")"
  fi
}
mkdir -p "$work/other"
cp "$work/photos/one.bmp" "$work/other/"
refuse other_photos "not in --data" --untrained --data "$work/other" -o "$work/r2" --size 32 --quiet --human-results "$ann"
sed 's/"fingerprint": "untrained"/"fingerprint": "fnv1a64:0123456789abcdef"/' "$ann" >"$work/ann_other_weights.json"
refuse other_weights "not the same model" --untrained --data "$work/photos" -o "$work/r3" --size 32 --quiet \
  --human-results "$work/ann_other_weights.json"
sed '0,/"fooled": false/s//"fooled": true/' "$ann" >"$work/ann_edited.json"
refuse edited "disagrees with the sides" --human-results "$work/ann_edited.json"
refuse twice "the same session" --human-results "$ann" "$ann"
echo "not json" >"$work/bad.json"
refuse not_json "not a JSON file" --human-results "$work/bad.json"
[ -e "$work/r2/report.md" ] && fail "a refused run still wrote a report"
echo "human_test: two people: files downloaded, read back, folded into the report, mismatches refused"

# --- the scripting hook --------------------------------------------------------
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
  grep -q 'scripted' "$work/$rule.txt" || fail "autoplay=$rule: the summary does not say the answers are scripted"
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
