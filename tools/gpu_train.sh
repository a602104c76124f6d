#!/usr/bin/env bash
# gpu_train.sh — trains the three shipped `compact` models on a GPU and
# exports their fp16 weights, for weights/ (issue: better shipped weights).
#
#   tools/gpu_train.sh OUT_DIR PACK[,PACK...] [SECONDS_PER_MODEL]
#
# PACK is `tinct prepare ../shared/data/train256 -o PACK` (carry it: ../shared
# does not travel), or several packs comma-separated (a mix, e.g.
# imagenette.tpk,train256_144.tpk; what travels to the device machine is
# 64 MiB with the tree and the binaries, so pack with --quality 85: train256
# is then 11.6 MB, against 23.9 at the default 95; imagenette144 with
# --max-per-source as well). Each model trains with `tinct train --device
# cuda` and the recipe below for SECONDS_PER_MODEL (default 100) of its
# process (--time-budget: a checkpoint and exit 0; SIGINT 60 s later, which
# also saves one, and KILL after that). OUT_DIR/<model>.safetensors
# (fp16) is exported from best.safetensors (regression, classification: the
# lowest validation loss; with EMA, of the average) or, for the gan, from
# the last checkpoint (its L1 falls as its colours fade, so it is no guide;
# with EMA, the average), beside its validation log (val_log.csv) as
# <model>.csv. Seven files come back through the device tool: three weights,
# three logs, summary.txt, which ends with the exported models' `tinct eval`
# table on the held-out photos. Budget: 3 x SECONDS_PER_MODEL plus about 30 s.
#
# RECIPE: the `tinct train` recipe options (default: phases equalized, the
# function inference runs, and a 0.999 moving average of the weights,
# docs/quality.md; cosine decay over STEPS steps when STEPS is given, e.g.
# STEPS=4000 RECIPE="--phases equalized --ema 0.999 --warmup 200 --schedule cosine").
# VAL=val.tpk validates on that pack (--val-data): all of it, made with
# tools/val_split.sh, when PACK does not hold it (tinct refuses a photo in
# both); when it is one of PACK's packs, its HOLDOUT (default 64) photos are
# held out of the training, the ones runs on it alone held out, so that a run
# on a larger mix is compared with the shipped weights on the same photos.
# Without VAL, HOLDOUT photos of PACK are held out.
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR PACK[,PACK...] [SECONDS_PER_MODEL]" >&2
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
IFS=, read -r -a packs <<< "$PACK"
for p in "${packs[@]}"; do [ -f "$p" ] || { echo "$p: no such pack" >&2; exit 2; }; done
[ -z "${VAL:-}" ] || [ -f "$VAL" ] || { echo "VAL=$VAL: no such pack" >&2; exit 2; }
RUNS=/tmp/tinct-gpu-runs
EVERY=${EVERY:-250}  # validation and checkpoint interval (steps)
RECIPE=${RECIPE:---phases equalized --ema 0.999 --warmup 200}
HOLDOUT=${HOLDOUT:-64}
# VAL beside PACK: all of it validates; VAL among PACK's packs: HOLDOUT of it.
if [ -n "${VAL:-}" ]; then
  among=()  # HOLDOUT photos of VAL, for train and eval alike, when VAL is one of PACK's
  for p in "${packs[@]}"; do [ "$(realpath "$p")" = "$(realpath "$VAL")" ] && among=(--holdout "$HOLDOUT"); done
  if [ ${#among[@]} -gt 0 ]; then val=(--val-data "$VAL" "${among[@]}"); else val=(--val-data "$VAL" --holdout 1048576); fi
  held=(--data "$VAL" "${among[@]}")
else
  val=(--holdout "$HOLDOUT")
  held=(--data "$PACK" --holdout "$HOLDOUT")
fi
{
  for m in regression classification gan; do
    rm -rf "$RUNS/$m"
    S=$(date +%s)
    # --time-budget ends the run with a checkpoint; SIGINT 60 s later (which
    # saves one too), KILL 60 s after that.
    # shellcheck disable=SC2086  # RECIPE is a list of options
    timeout -s INT -k 60 "$((SECS + 60))" "$TINCT" train --model "$m" --data "$PACK" --out "$RUNS/$m" \
      --device "${DEVICE:-cuda}" --batch "${BATCH:-64}" --crop 128 --steps "${STEPS:-1000000}" --threads 8 \
      --eval-every "$EVERY" --ckpt-every "$EVERY" --keep 1000 --time-budget "$SECS" "${val[@]}" $RECIPE --quiet
    rc=$?
    last=$(ls "$RUNS/$m"/ckpt-*.safetensors 2>/dev/null | sort | tail -1)
    echo "$m: train rc $rc after $(( $(date +%s) - S )) s, last checkpoint ${last:-none}"
    # Regression and classification: best.safetensors (the lowest validation
    # loss; 1,766 photos overfit within minutes at batch 64). The gan: the
    # last step. With a moving average, the average is exported.
    pick=$last
    ema=()
    case " $RECIPE " in *" --ema "*) ema=(--ema) ;; esac
    # best.safetensors holds the average itself
    [ "$m" != gan ] && [ -f "$RUNS/$m/best.safetensors" ] && pick=$RUNS/$m/best.safetensors && ema=()
    echo "$m: exporting ${pick:-none}"
    if [ -n "$pick" ]; then
      "$TINCT" export "$pick" "${ema[@]}" -o "$OUT/$m.safetensors" && ls -l "$OUT/$m.safetensors"
      cp "$RUNS/$m/val_log.csv" "$OUT/$m.csv" 2>/dev/null
      tail -2 "$RUNS/$m/train_log.csv" 2>/dev/null
    fi
  done
  # The exported models on the photos they did not train on, with Kodak's
  # metrics (raw / rebalanced AuC, colourfulness and its error per photo):
  # the photos the runs validated on, at their own size.
  if ls "$OUT"/*.safetensors >/dev/null 2>&1; then
    echo "held-out photos: ${held[*]}"
    "$TINCT" eval "${held[@]}" --weights-dir "$OUT" --size 144 --device "${DEVICE:-cuda}" --no-save-images \
      --quiet -o "$RUNS/heldout" --overwrite | grep -v '^$'
  fi
} 2>&1 | tee "$OUT/summary.txt"
