#!/usr/bin/env bash
# The MNIST one-class anomaly-detection protocol (as in Ruff et al. 2018,
# "Deep One-Class Classification"): for each digit, train a VAE on that
# digit's training images only, score all 10,000 test images, and measure the
# AUROC with the other nine digits as the anomalies. Prints a table and the mean.
#
# Usage: docs/one-class.sh [MNIST_DIR] [WORK_DIR]
# Settings can be changed through the environment (defaults below), e.g.
#   SCORE=iw-nll K=100 LIKELIHOOD=bernoulli EPOCHS=10 docs/one-class.sh
# The defaults are the best of the settings tried (docs/RESULTS.md): a
# Gaussian likelihood and the reconstruction score separate the digits
# better than the Bernoulli likelihood and -ELBO or the IW estimate.
set -euo pipefail

MNIST=${1:-../data/mnist}
WORK=${2:-one-class-runs}
VAEKIT=${VAEKIT:-target/release/vaekit}
EPOCHS=${EPOCHS:-30}
HIDDEN=${HIDDEN:-400}
LATENT=${LATENT:-20}
LIKELIHOOD=${LIKELIHOOD:-gaussian}
SCORE=${SCORE:-recon}
K=${K:-20}
EXTRA=${EXTRA:-}

mkdir -p "$WORK"
case "$SCORE" in
  iw-nll) samples=(--iw-samples "$K") ;;
  *) samples=() ;;
esac
echo "vaekit one-class MNIST: mlp $HIDDEN, latent $LATENT, $LIKELIHOOD, $EPOCHS epochs, score $SCORE ${samples[*]+${samples[*]}} $EXTRA"
printf '%-6s %-8s %-8s %-9s\n' digit AUROC AP seconds
sum=0
started=$(date +%s)
for digit in 0 1 2 3 4 5 6 7 8 9; do
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$VAEKIT" train --data "$MNIST" --only-class "$digit" --out "$WORK/digit-$digit" \
    --hidden "$HIDDEN" --latent "$LATENT" --likelihood "$LIKELIHOOD" --epochs "$EPOCHS" \
    --quiet $EXTRA >/dev/null
  json=$("$VAEKIT" score --run "$WORK/digit-$digit" --split test --normal-class "$digit" \
    --score "$SCORE" ${samples[@]+"${samples[@]}"} --out "$WORK/digit-$digit/scores.csv" --json --quiet)
  auroc=$(printf '%s' "$json" | sed -E 's/.*"auroc":([0-9.eE+-]+).*/\1/')
  ap=$(printf '%s' "$json" | sed -E 's/.*"average_precision":([0-9.eE+-]+).*/\1/')
  t1=$(date +%s.%N)
  printf '%-6s %-8.4f %-8.4f %-9.1f\n' "$digit" "$auroc" "$ap" "$(awk "BEGIN { print $t1 - $t0 }")"
  sum=$(awk "BEGIN { print $sum + $auroc }")
done
printf '%-6s %-8.4f\n' mean "$(awk "BEGIN { print $sum / 10 }")"
echo "total $(( $(date +%s) - started )) s"
