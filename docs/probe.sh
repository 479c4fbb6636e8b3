#!/usr/bin/env bash
# The latent-space probe of docs/RESULTS.md: a VAE trained on MNIST without
# labels (the default MLP, 784-400-20), then logistic regression and 5-NN on
# its posterior means and on the raw pixels, with all, 1,000 and 100 labels.
#
#   docs/probe.sh [MNIST_DIR] [WORK_DIR]
#
# Uses the vaekit on PATH, or VAEKIT=path/to/vaekit.
set -euo pipefail
MNIST=${1:-../shared/data/mnist}
WORK=${2:-probe-work}
VAEKIT=${VAEKIT:-vaekit}
THREADS=${THREADS:-2}
mkdir -p "$WORK"
RUN=$WORK/mnist-vae
if [ ! -f "$RUN/best.safetensors" ]; then
  time "$VAEKIT" --threads "$THREADS" -q train --data "$MNIST" --out "$RUN" --seed 0
fi
for limit in all 1000 100; do
  for classifier in logreg knn; do
    extra=()
    [ "$limit" != all ] && extra=(--train-limit "$limit" --seed 0)
    echo "== $classifier, $limit labels"
    time "$VAEKIT" --threads "$THREADS" probe --run "$RUN" --classifier "$classifier" --k 5 "${extra[@]}"
  done
done
