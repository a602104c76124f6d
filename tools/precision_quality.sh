#!/usr/bin/env bash
# precision_quality.sh — does training at tf32 / bf16 reach FP32's validation
# loss in the same number of steps? (issue 12 item 4, the CPU side: the CPU
# rounds the convolutions' operands exactly as the tensor cores do,
# engine/precision.h, so a small model's training at each precision can be
# compared without a GPU.)
#
#   tools/precision_quality.sh PACK OUT_DIR [SEEDS] [STEPS] [DEVICE]
#
# For each seed (default "5 6 7 8 9 10") trains the compact regression model
# at fp32, tf32 and bf16 with the same seed (weights and data order), batch 8,
# crop 32, 32 images held out, STEPS steps (default 1000), on DEVICE (default
# cpu), and reads each run's final validation MSE (val_log.csv, evaluated at
# the run's precision). Prints one line per run, then per precision the mean,
# standard deviation, standard error and range of (loss / fp32's loss - 1)
# over the seeds. One run's loss moves by several per cent from seed to seed
# (the held-out set is small), so a 2% question needs tens of seeds.
# PACK: e.g. `tinct prepare ../shared/data/train256/bsds500_train -o bsds.tpk --size 64`.
# TINCT (default: build/tinct) is the binary; each run uses one thread.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 PACK OUT_DIR [SEEDS] [STEPS] [DEVICE]" >&2
  exit 2
fi
pack=$1 out=$2 seeds=${3:-5 6 7 8 9 10} steps=${4:-1000} device=${5:-cpu}
root=$(cd "$(dirname "$0")/.." && pwd)
tinct=${TINCT:-$root/build/tinct}
[ -x "$tinct" ] || { echo "$0: no binary at $tinct (build first, or set TINCT)" >&2; exit 2; }
[ -f "$pack" ] || { echo "$0: no pack $pack" >&2; exit 2; }
mkdir -p "$out"
results="$out/results.txt"
: > "$results"
for seed in $seeds; do
  for p in fp32 tf32 bf16; do
    d="$out/s${seed}_$p"
    rm -rf "$d"
    start=$(date +%s)
    if ! OMP_NUM_THREADS=1 "$tinct" train --model regression --preset compact --data "$pack" --out "$d" \
        --batch 8 --crop 32 --holdout 32 --steps "$steps" --eval-every "$steps" --seed "$seed" --precision "$p" \
        --device "$device" --threads 1 --quiet > "$d.log" 2>&1; then
      echo "$0: seed $seed $p failed; see $d.log" >&2
      exit 1
    fi
    loss=$(tail -1 "$d/val_log.csv" | cut -d, -f2)
    echo "$seed $p $loss $(( $(date +%s) - start ))s" | tee -a "$results"
  done
done
awk '
  { loss[$1, $2] = $3; seen[$1] = 1 }
  END {
    n = split("tf32 bf16", ps, " ")
    for (i = 1; i <= n; ++i) {
      p = ps[i]; k = 0; s = 0; ss = 0; lo = 1e9; hi = -1e9
      for (seed in seen) {
        r = loss[seed, p] / loss[seed, "fp32"] - 1
        k++; s += r; ss += r * r; if (r < lo) lo = r; if (r > hi) hi = r
      }
      m = s / k; sd = k > 1 ? sqrt((ss - k * m * m) / (k - 1)) : 0
      printf "%s vs fp32 over %d seeds: mean %+.2f%%, sd %.2f%%, standard error %.2f%%, range %+.2f%% .. %+.2f%%\n",
             p, k, 100 * m, 100 * sd, 100 * sd / sqrt(k), 100 * lo, 100 * hi
    }
  }' "$results"
