#!/usr/bin/env bash
# The settings against posterior collapse, each measured on its own (the
# table "Against posterior collapse" of docs/TEXT.md): sentence VAEs of the
# same size trained on the first LIMIT training sentences of the shared
# WordNet corpus for EPOCHS epochs, two at a time (one thread each), then
# evaluated on the validation file with the importance-weighted bound
# (K samples): perplexity, KL, mutual information and active units.
#
#   docs/text-ablation.sh [TEXT_DIR] [WORK_DIR]   # LIMIT=8000 EPOCHS=3 K=100
#   ONLY="1 8" docs/text-ablation.sh ...           # only those rows (from 0)
set -euo pipefail
TEXT=${1:-../shared/data/text}
WORK=${2:-runs/text-ablation}
LIMIT=${LIMIT:-8000}
EPOCHS=${EPOCHS:-3}
K=${K:-100}
ONLY=${ONLY:-}
VAEKIT=${VAEKIT:-target/release/vaekit}
TRAIN="$TEXT/wordnet-examples.train.txt"
mkdir -p "$WORK"
[ -x "$VAEKIT" ] || cargo build --release -p vaekit-cli

# name|flags
VARIANTS=(
  "no remedy (beta 1 throughout)|--kl-anneal constant"
  "linear KL annealing (the default)|"
  "cyclical KL annealing, 4 cycles|--kl-anneal cyclical"
  "word dropout 0.3|--word-dropout 0.3"
  "free bits 0.2 per dimension|--free-bits 0.2"
  "BN-VAE, gamma 0.7|--mu-batch-norm 0.7"
  "LSTM cells, free bits 0.2|--cell lstm --free-bits 0.2"
  "bidirectional encoder, free bits 0.2|--bidirectional --free-bits 0.2"
  "aggressive encoder updates (He et al.)|--aggressive"
  "language model (no z)|--model lm"
)
train() {
  local i=$1 flags=$2
  rm -rf "$WORK/v$i"
  # shellcheck disable=SC2086
  "$VAEKIT" --threads 1 train --data "$TRAIN" --out "$WORK/v$i" --limit "$LIMIT" \
    --epochs "$EPOCHS" --kl-warmup 2 -q $flags
  "$VAEKIT" --threads 1 eval --run "$WORK/v$i" --split val --iw-samples "$K" --json \
    > "$WORK/v$i.json"
}
chosen=()
for i in "${!VARIANTS[@]}"; do
  if [ -z "$ONLY" ] || [[ " $ONLY " == *" $i "* ]]; then chosen+=("$i"); fi
done
for j in "${!chosen[@]}"; do
  i=${chosen[$j]}
  train "$i" "${VARIANTS[$i]#*|}" &
  if (( j % 2 == 1 )); then wait; fi
done
wait

echo "| setting | IW perplexity | ELBO perplexity | KL (nats) | MI (nats) | active units |"
echo "|---|---|---|---|---|---|"
for i in "${chosen[@]}"; do
  python3 - "$WORK/v$i.json" "${VARIANTS[$i]%%|*}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda k, d=2: "-" if r.get(k) is None else f"{r[k]:.{d}f}"
au = "-" if r.get("active_units") is None else str(r["active_units"])
print(f"| {sys.argv[2]} | {f('perplexity')} | {f('elbo_perplexity')} | {f('kl')} | {f('mutual_information')} | {au} |")
PY
done
