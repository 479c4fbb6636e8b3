#!/usr/bin/env bash
# Imputation of missing values by a VAE against mean and k-NN imputation
# (docs/RESULTS.md, "Imputing missing values"):
#   * MNIST: the default MLP run (784-400-20, Bernoulli, 10 epochs, 10 % held
#     out), the top half of the first 1,000 test images hidden;
#   * the two UCI tables: 128 hidden units, 8 latent, Gaussian likelihood,
#     standardized, 300 epochs on 80 % of the rows; 20 % of the cells of the
#     other 20 % hidden at random.
# Both are trained twice: on whole examples, and with --encoder-mask (the
# mask to be imputed hidden from the encoder in half the training examples).
# Every method imputes the same hidden values; RMSE over them (pixels in
# [0, 1]; tables in standardized units and in the original units).
#
# Usage: docs/impute.sh [SHARED_DATA_DIR]   (default ../shared/data)
#   EPOCHS=N sets the MNIST training length (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
epochs=${EPOCHS:-10}
cargo build --release --quiet
vaekit=target/release/vaekit
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Each model is trained twice: on whole examples, and with the mask to be
# imputed hidden from the encoder in half the training examples
# (--encoder-mask), whose runs' encoders then read the observed values.
for trained in whole masked; do
  start=$(date +%s)
  extra=()
  [ "$trained" = masked ] && extra=(--encoder-mask top-half)
  $vaekit --threads 2 train --data "$data/mnist" --out "$out/mnist-$trained" \
    --epochs "$epochs" --quiet "${extra[@]}" >/dev/null
  echo "MNIST, encoder trained on $trained images: $(( $(date +%s) - start )) s of training"
  $vaekit --threads 2 impute --run "$out/mnist-$trained" --mask top-half --limit 1000 --evaluate
done
for table in breast_cancer wine_data; do
  for trained in whole masked; do
    extra=()
    [ "$trained" = masked ] && extra=(--encoder-mask random:0.2)
    echo "$table, encoder trained on $trained rows:"
    $vaekit --threads 2 train --data "$data/tabular/$table.csv" --out "$out/$table-$trained" \
      --val-fraction 0.2 --hidden 128 --latent 8 --epochs 300 --quiet "${extra[@]}" >/dev/null
    $vaekit --threads 2 impute --run "$out/$table-$trained" --split val --mask random:0.2 --evaluate
  done
done
