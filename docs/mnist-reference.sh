#!/usr/bin/env bash
# The foundation's quality bar: the PyTorch reference setting (pytorch/examples
# vae/main.py) on MNIST, trained and scored by vaekit.
#   MLP 784-400-20, Bernoulli likelihood on non-binarized MNIST, Adam 1e-3,
#   batch 128, 10 epochs on all 60,000 training images, one z sample per example.
# Usage: docs/mnist-reference.sh [MNIST_DIR] [SEED...]   (defaults: ../shared/data/mnist, seeds 0 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist}
shift || true
seeds=("${@:-0 1 2}")
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| seed | test -ELBO (nats) | recon | KL | training time (s) |"
echo "| --- | --- | --- | --- | --- |"
for seed in ${seeds[@]}; do
  start=$(date +%s.%N)
  target/release/vaekit train --data "$data" --out "$out/run$seed" --epochs 10 --batch-size 128 \
    --lr 1e-3 --hidden 400 --latent 20 --likelihood bernoulli --binarize none \
    --val-fraction 0 --seed "$seed" --quiet >/dev/null
  end=$(date +%s.%N)
  json=$(target/release/vaekit eval --run "$out/run$seed" --split test --json)
  python3 - "$seed" "$json" "$start" "$end" <<'PY'
import json, sys
seed, report, start, end = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"| {seed} | {report['neg_elbo']:.2f} | {report['recon']:.2f} | {report['kl']:.2f} | {end - start:.0f} |")
PY
done
