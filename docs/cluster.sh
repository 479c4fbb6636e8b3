#!/usr/bin/env bash
# Unsupervised clustering of MNIST (docs/RESULTS.md, "Clusters"): all 70,000
# images (train and test, as clustering papers report), scored against the
# labels by accuracy under the best cluster-to-label matching, NMI and ARI.
#   kmeans: k-means (k = 10, 10 restarts) on the posterior means of a standard
#           VAE (the PyTorch reference setting, 784-400-20, 10 epochs);
#   gmm:    the model's own clusters, argmax q(c|x), of a VAE with a
#           10-component Gaussian-mixture prior (VaDE's 500-500-2000 network,
#           10-d latent), pretrained as an autoencoder, then the mixture fitted
#           to the codes, then trained as a whole.
#
# Usage: docs/cluster.sh [MNIST_DIR] [WORK_DIR] [kmeans|gmm ...]
#   EPOCHS=N and PRETRAIN=N set the gmm run's length (defaults 30 and 10).
set -euo pipefail
cd "$(dirname "$0")/.."
mnist=${1:-../shared/data/mnist}
work=${2:-cluster-runs}
shift $(( $# < 2 ? $# : 2 ))
rows=("$@")
[ ${#rows[@]} -eq 0 ] && rows=(kmeans gmm)
cargo build --release --quiet
vaekit=target/release/vaekit
mkdir -p "$work"

for row in "${rows[@]}"; do
  start=$(date +%s)
  case "$row" in
    kmeans)
      $vaekit train --data "$mnist" --out "$work/vae" --epochs 10 --val-fraction 0 --quiet >/dev/null
      ;;
    gmm)
      $vaekit train --data "$mnist" --out "$work/gmm" --hidden 500,500,2000 --latent 10 \
        --prior gmm --components 10 --epochs "${EPOCHS:-30}" --pretrain-epochs "${PRETRAIN:-10}" \
        --val-fraction 0 --quiet >/dev/null
      ;;
    *) echo "unknown row $row (kmeans or gmm)" >&2; exit 2 ;;
  esac
  trained=$(( $(date +%s) - start ))
  run=$work/$([ "$row" = kmeans ] && echo vae || echo gmm)
  echo "== $row (training $trained s)"
  $vaekit cluster --run "$run" --out "$work/$row.csv"
done
