#!/usr/bin/env bash
# val_split.sh — splits a folder of photo sources into a training and a
# validation folder of symlinks, for `tinct train --val-data` (issue 14):
# validation photos drawn from every source, so that the best checkpoint is
# one that does well on varied photos, not on the training set's subjects.
#
#   tools/val_split.sh SRC OUT [PERCENT] [SKIP_SOURCES]
#
# SRC holds one folder per source (../shared/data/train256: bsds500_test,
# imagenet_sample, ...). From each source, PERCENT (default 8) of its images,
# at least one, go to OUT/val, chosen by the MD5 of their path under SRC (the
# same split on every machine, a file keeps its side when others are added);
# the rest go to OUT/train. Sources named in SKIP_SOURCES (comma-separated,
# e.g. gcompris: drawings, not photos) give no validation images. Link names
# are the path with / as __. Then, e.g.:
#   tools/val_split.sh ../shared/data/train256 split 8 gcompris
#   tinct prepare split/val -o val129.tpk
#   tinct prepare split/train ../shared/data/imagenette144 --max-per-source 1701 -o mix_v2.tpk
#   tinct train --model regression --data mix_v2.tpk --val-data val129.tpk --holdout 129 ...
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 SRC OUT [PERCENT] [SKIP_SOURCES]" >&2
  exit 2
fi
SRC=$(cd "$1" && pwd)
OUT=$2
PCT=${3:-8}
SKIP=",${4:-},"
[ -e "$OUT/train" ] || [ -e "$OUT/val" ] && { echo "$OUT/train or $OUT/val exists: choose another OUT" >&2; exit 2; }
mkdir -p "$OUT/train" "$OUT/val"
nval=0
ntrain=0
for dir in "$SRC"/*/; do
  src=$(basename "$dir")
  # the source's images, as "md5 relative-path", in hash order
  list=$(cd "$SRC" && find "$src" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.bmp' \) |
    while IFS= read -r f; do printf '%s %s\n' "$(printf '%s' "$f" | md5sum | cut -c1-32)" "$f"; done | sort)
  n=$(printf '%s\n' "$list" | grep -c . || true)
  [ "$n" -gt 0 ] || continue
  k=$(( (n * PCT + 50) / 100 ))
  [ "$k" -ge 1 ] || k=1
  case "$SKIP" in *",$src,"*) k=0 ;; esac
  i=0
  while IFS=' ' read -r _ f; do
    side=train
    [ "$i" -lt "$k" ] && side=val
    ln -s "$SRC/$f" "$OUT/$side/${f//\//__}"
    i=$((i + 1))
  done <<< "$list"
  echo "$src: $n images, $k to validation"
  nval=$((nval + k))
  ntrain=$((ntrain + n - k))
done
echo "$OUT/val: $nval images; $OUT/train: $ntrain"
