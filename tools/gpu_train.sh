#!/usr/bin/env bash
# gpu_train.sh — trains the three shipped `compact` models on a GPU and
# exports their fp16 weights, for weights/ (issue: better shipped weights).
#
#   tools/gpu_train.sh OUT_DIR PACK [SECONDS_PER_MODEL]
#
# PACK is `tinct prepare ../shared/data/train256 -o PACK` (carry it: ../shared
# does not travel). Each model trains with `tinct train --device cuda` for
# SECONDS_PER_MODEL (default 100) and is then stopped with SIGINT, which
# saves a checkpoint (Ctrl-C semantics); a checkpoint is exported to
# OUT_DIR/<model>.safetensors (fp16) — regression and classification: the one
# with the lowest validation loss (every EVERY steps, default 250); gan: the
# last — beside its validation log (val_log.csv) as <model>.csv.
# Seven files come back through the device tool: three weights, three logs,
# summary.txt, which ends with the exported models' `tinct eval` table on the
# held-out photos. Budget: 3 x SECONDS_PER_MODEL plus about 30 s.
# VAL=val.tpk validates on all of that pack (--val-data) instead of 64 photos
# held out of PACK: photos of other subjects, made with tools/val_split.sh
# (PACK must then not hold them: tinct refuses a photo in both).
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR PACK [SECONDS_PER_MODEL]" >&2
  exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
PACK=$2
SECS=${3:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# TINCT, DEVICE, BATCH: overrides, for a dry run on the CPU. Without TINCT:
# build-gpu/tinct (gpu_check.sh's build), else build-gpu/bin/tinct (gpu_prebuild.sh).
TINCT=${TINCT:-$ROOT/build-gpu/tinct}
if [ ! -x "$TINCT" ] && [ ! -d "$ROOT/build-gpu/bin" ] && [ -f "$ROOT/build-gpu/bin.tgz" ]; then
  tar -xzf "$ROOT/build-gpu/bin.tgz" -C "$ROOT/build-gpu"
fi
[ -x "$TINCT" ] || TINCT=$ROOT/build-gpu/bin/tinct
# the CUDA runtime of a tinct that gpu_check.sh built here (dynamically linked;
# gpu_prebuild.sh's binaries carry theirs), wherever this image keeps it
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
[ -x "$TINCT" ] || { echo "no tinct binary: run tools/gpu_check.sh or carry tools/gpu_prebuild.sh's build-gpu/bin.tgz" >&2; exit 2; }
[ -f "$PACK" ] || { echo "$PACK: no such pack" >&2; exit 2; }
[ -z "${VAL:-}" ] || [ -f "$VAL" ] || { echo "VAL=$VAL: no such pack" >&2; exit 2; }
RUNS=/tmp/tinct-gpu-runs
EVERY=${EVERY:-250}  # validation and checkpoint interval (steps)
{
  for m in regression classification gan; do
    rm -rf "$RUNS/$m"
    S=$(date +%s)
    # SIGINT after SECS: tinct saves a checkpoint and exits 0; KILL 60 s later if not.
    timeout -s INT -k 60 "$SECS" "$TINCT" train --model "$m" --data "$PACK" --out "$RUNS/$m" --device "${DEVICE:-cuda}" \
      --batch "${BATCH:-64}" --crop 128 --steps 1000000 --threads 8 --eval-every "$EVERY" --ckpt-every "$EVERY" \
      --keep 1000 ${VAL:+--val-data "$VAL" --holdout 1048576} --quiet
    rc=$?
    last=$(ls "$RUNS/$m"/ckpt-*.safetensors 2>/dev/null | sort | tail -1)
    # rc 124: timeout stopped it at the deadline (tinct saved on the SIGINT and exited 0)
    echo "$m: train rc $rc after $(( $(date +%s) - S )) s, last checkpoint ${last:-none}"
    # Exported: regression and classification at their lowest validation loss
    # (1,766 photos overfit within minutes at batch 64); the GAN's last step
    # (its L1 falls as its colours fade, so it is no guide).
    pick=$last
    if [ "$m" != gan ] && [ -f "$RUNS/$m/val_log.csv" ]; then
      best=$(awk -F, 'NR > 1 && (b == "" || $2 < b) { b = $2; s = $1 } END { print s }' "$RUNS/$m/val_log.csv")
      f=$(printf '%s/ckpt-%08d.safetensors' "$RUNS/$m" "${best:-0}")
      [ -n "$best" ] && [ -f "$f" ] && pick=$f
    fi
    echo "$m: exporting ${pick:-none}"
    if [ -n "$pick" ]; then
      "$TINCT" export "$pick" -o "$OUT/$m.safetensors" && ls -l "$OUT/$m.safetensors"
      cp "$RUNS/$m/val_log.csv" "$OUT/$m.csv" 2>/dev/null
      tail -2 "$RUNS/$m/train_log.csv" 2>/dev/null
    fi
  done
  # The exported models on the photos they did not train on, with Kodak's
  # metrics (raw / rebalanced AuC, colourfulness and its error per photo):
  # VAL whole, or the 64 photos held out of PACK, at their own size.
  if ls "$OUT"/*.safetensors >/dev/null 2>&1; then
    if [ -n "${VAL:-}" ]; then held=(--data "$VAL"); else held=(--data "$PACK" --holdout 64); fi
    echo "held-out photos: ${held[*]}"
    "$TINCT" eval "${held[@]}" --weights-dir "$OUT" --size 144 --device "${DEVICE:-cuda}" --no-save-images \
      --quiet -o "$RUNS/heldout" --overwrite | grep -v '^$'
  fi
} 2>&1 | tee "$OUT/summary.txt"
