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
#   kmeans-tsne: kmeans's VAE, clustered on the islands of a 2-D t-SNE map of
#           its codes (vaekit cluster --space tsne) instead of the codes.
#   wide-tsne: the same on the codes of the wide one-layer VAE of
#           docs/iwae-paper.sh's wide60 row (500-500 ReLU, 50-d latent,
#           dynamically binarized, 480 epochs: about 36 minutes here);
#           FROM=RUN clusters an existing run of it instead of training one.
#
# Usage: docs/cluster.sh [MNIST_DIR] [WORK_DIR] [kmeans|gmm|kmeans-tsne|wide-tsne ...]
#   (default rows: kmeans gmm kmeans-tsne)
#   EPOCHS=N and PRETRAIN=N set the gmm run's length (defaults 30 and 10).
set -euo pipefail
cd "$(dirname "$0")/.."
mnist=${1:-../shared/data/mnist}
work=${2:-cluster-runs}
shift $(( $# < 2 ? $# : 2 ))
rows=("$@")
[ ${#rows[@]} -eq 0 ] && rows=(kmeans gmm kmeans-tsne)
cargo build --release --quiet
vaekit=target/release/vaekit
mkdir -p "$work"

for row in "${rows[@]}"; do
  start=$(date +%s)
  space=latent
  case "$row" in
    kmeans|kmeans-tsne)
      run=$work/vae
      [ -d "$run" ] || $vaekit train --data "$mnist" --out "$run" --epochs 10 --val-fraction 0 --quiet >/dev/null
      [ "$row" = kmeans-tsne ] && space=tsne
      ;;
    gmm)
      run=$work/gmm
      $vaekit train --data "$mnist" --out "$run" --hidden 500,500,2000 --latent 10 \
        --prior gmm --components 10 --epochs "${EPOCHS:-30}" --pretrain-epochs "${PRETRAIN:-10}" \
        --val-fraction 0 --quiet >/dev/null
      ;;
    wide-tsne)
      run=${FROM:-$work/wide}
      [ -d "$run" ] || $vaekit --threads 2 train --data "$mnist" --out "$run" --binarize dynamic \
        --val-fraction 0 --epochs 480 --batch-size 100 --seed 0 --hidden 500,500 --latent 50 \
        --lr-schedule cosine --quiet >/dev/null
      space=tsne
      ;;
    *) echo "unknown row $row (kmeans, gmm, kmeans-tsne or wide-tsne)" >&2; exit 2 ;;
  esac
  trained=$(( $(date +%s) - start ))
  echo "== $row (training $trained s)"
  $vaekit cluster --run "$run" --space "$space" --out "$work/$row.csv"
done
