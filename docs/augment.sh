#!/usr/bin/env bash
# The augmentation measurement of docs/RESULTS.md: a classifier trained on 100
# labelled MNIST images (10 per class, drawn with seed 0), with and without
# 1,000 synthetic images per class from a conditional VAE trained on those same
# 100 images and nothing else; both scored on the 10,000 test images.
#
#   docs/augment.sh [MNIST_DIR] [WORK_DIR]
#
# Uses the vaekit on PATH, or VAEKIT=path/to/vaekit. Reuses WORK_DIR/mnist-vae
# from docs/probe.sh when it is there (it only picks the 100 images and
# supplies the latent rows; the raw-pixel rows do not depend on it).
set -euo pipefail
MNIST=${1:-../shared/data/mnist}
WORK=${2:-probe-work}
VAEKIT=${VAEKIT:-vaekit}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-500}
# Extra settings of the conditional VAE (the second row of RESULTS.md: --latent 4).
CVAE_ARGS=${CVAE_ARGS:-}
mkdir -p "$WORK"
RUN=$WORK/mnist-vae
if [ ! -f "$RUN/best.safetensors" ]; then
  time "$VAEKIT" --threads "$THREADS" -q train --data "$MNIST" --out "$RUN" --seed 0
fi
# The 100 labelled images, as an IDX folder.
rm -rf "$WORK/labelled100"
"$VAEKIT" --threads "$THREADS" probe --run "$RUN" --train-limit 100 --seed 0 \
  --save-labelled "$WORK/labelled100" > /dev/null
# A conditional VAE on those 100 images only.
rm -rf "$WORK/cvae100"
time "$VAEKIT" --threads "$THREADS" -q train --data "$WORK/labelled100" --model cvae \
  --val-fraction 0 --epochs "$EPOCHS" --batch-size 20 --seed 0 $CVAE_ARGS --out "$WORK/cvae100"
# 1,000 synthetic images of each class.
rm -rf "$WORK/synthetic100"
time "$VAEKIT" --threads "$THREADS" augment --run "$WORK/cvae100" --n 1000 --per-class \
  --out "$WORK/synthetic100" --seed 0
"$VAEKIT" sample --run "$WORK/cvae100" --n 10 --out "$WORK/cvae100-samples.png"
for classifier in logreg knn; do
  echo "== $classifier, 100 labels"
  time "$VAEKIT" --threads "$THREADS" probe --run "$RUN" --classifier "$classifier" --k 5 \
    --train-limit 100 --seed 0
  echo "== $classifier, 100 labels + 10,000 synthetic"
  time "$VAEKIT" --threads "$THREADS" probe --run "$RUN" --classifier "$classifier" --k 5 \
    --train-limit 100 --seed 0 --add-train "$WORK/synthetic100"
done
