#!/usr/bin/env bash
# The figures of docs/COMPRESSION.md: trains the three kinds of model that
# `vaekit compress` codes with on MNIST, then runs bench/compress.py on the
# 10,000 test images with each (raw output bench/COMPRESS.md):
#   vamp      one stochastic layer with a VampPrior of 100 pseudo-inputs,
#             784-500-500-50 ReLU, Bernoulli, dynamically binarized, KL
#             warm-up over 25 epochs, 300 epochs with the learning rate on a
#             cosine to 0 (docs/iwae-paper.sh's vamp60 row);
#   hvae      two stochastic layers (the IWAE paper's 784-200-200-100-100-50
#             tanh), Bernoulli, on the ELBO with the KL warmed up over 10
#             epochs, 100 epochs, coded in Bit-Swap's order;
#   logistic  the 8-bit images under a discretized logistic per pixel,
#             784-500-500-50 ReLU, 100 epochs, the learning rate on a cosine.
# Every run trains on all 60,000 training images in batches of 100, seed 0.
#
# Usage: docs/compress.sh [MNIST_DIR] [WORK_DIR]
#   MNIST_DIR defaults to ../shared/data/mnist; runs already in WORK_DIR
#   (default: a new temporary folder) are reused, not trained again.
#   THREADS=N sets the threads (default 2); EPOCHS_SCALE=F multiplies every
#   row's epochs (for a quick look: 0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist}
work=${2:-$(mktemp -d)}
threads=${THREADS:-2}
scale=${EPOCHS_SCALE:-1}
[ -d "$data" ] || { echo "docs/compress.sh: no MNIST folder at $data" >&2; exit 2; }
[ -x bench/.venv/bin/python ] || { echo "docs/compress.sh: make bench/.venv first (bench/run, then pip install -r bench/requirements-compress.txt)" >&2; exit 2; }
cargo build --release --quiet
vaekit=target/release/vaekit
common=(--data "$data" --val-fraction 0 --batch-size 100 --seed 0 --quiet)
train() {
  local name=$1 epochs=$2
  shift 2
  epochs=$(python3 -c "print(max(1, round($epochs * $scale)))")
  if [ -e "$work/$name/config.json" ]; then
    echo "$name: reusing $work/$name"
    return
  fi
  local start=$(date +%s)
  "$vaekit" --threads "$threads" train "${common[@]}" --epochs "$epochs" --out "$work/$name" "$@"
  echo "$name: $epochs epochs trained in $(( $(date +%s) - start )) s"
}
train vamp 300 --binarize dynamic --hidden 500,500 --latent 50 --prior vamp --pseudo-inputs 100 \
  --kl-warmup 25 --lr-schedule cosine
train hvae 100 --binarize dynamic --model hvae --kl-warmup 10
train logistic 100 --likelihood logistic --hidden 500,500 --latent 50 --lr-schedule cosine
bench/.venv/bin/python bench/compress.py --run "$work/vamp" --run "$work/hvae" \
  --run8 "$work/logistic" --data "$data" --threads "$threads"
