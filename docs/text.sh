#!/usr/bin/env bash
# The text figures of docs/TEXT.md: the sentence VAE and the language model of
# the same size on the shared WordNet corpus, trained side by side (one thread
# each), then evaluated on the test file with the importance-weighted bound.
#
#   docs/text.sh [TEXT_DIR] [WORK_DIR]      # EPOCHS=20 FREE_BITS=0.2 by default
set -euo pipefail
TEXT=${1:-../shared/data/text}
WORK=${2:-runs/text}
EPOCHS=${EPOCHS:-20}
FREE_BITS=${FREE_BITS:-0.2}
K=${K:-500}
VAEKIT=${VAEKIT:-target/release/vaekit}
TRAIN="$TEXT/wordnet-examples.train.txt"
mkdir -p "$WORK"
[ -x "$VAEKIT" ] || cargo build --release -p vaekit-cli

"$VAEKIT" --threads 1 train --data "$TRAIN" --out "$WORK/lm" --model lm --epochs "$EPOCHS" -q &
"$VAEKIT" --threads 1 train --data "$TRAIN" --out "$WORK/vae" --epochs "$EPOCHS" \
  --free-bits "$FREE_BITS" -q &
wait

for run in lm vae; do
  "$VAEKIT" eval --run "$WORK/$run" --iw-samples "$K" --batch-size 500 --json > "$WORK/$run-test.json"
  cat "$WORK/$run-test.json"
done
"$VAEKIT" sample --run "$WORK/vae" --n 20 --seed 0 --out "$WORK/samples-greedy.txt"
"$VAEKIT" sample --run "$WORK/vae" --n 20 --seed 0 --beam 5 --out "$WORK/samples-beam.txt"
"$VAEKIT" sample --run "$WORK/vae" --n 20 --seed 0 --temperature 0.7 --out "$WORK/samples-t07.txt"
"$VAEKIT" sample --run "$WORK/lm" --n 20 --seed 0 --out "$WORK/samples-lm.txt"
"$VAEKIT" reconstruct --run "$WORK/vae" --n 10 --out "$WORK/reconstructions.txt"
"$VAEKIT" interpolate --run "$WORK/vae" --from 0 --to 1 --steps 6 --out "$WORK/homotopy.txt"
"$VAEKIT" impute --run "$WORK/vae" --evaluate --mask random:0.2 --json > "$WORK/fill-vae.json"
"$VAEKIT" impute --run "$WORK/lm" --evaluate --mask random:0.2 --json > "$WORK/fill-lm.json"
"$VAEKIT" latent --run "$WORK/vae" --out "$WORK/map.png"
for f in samples-greedy samples-beam samples-t07 samples-lm reconstructions homotopy; do
  echo "== $f"; cat "$WORK/$f.txt"
done
cat "$WORK/fill-vae.json" "$WORK/fill-lm.json"
