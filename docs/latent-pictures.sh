#!/usr/bin/env bash
# Example pictures of the latent space on MNIST (docs/img/latent-*): a model
# with a 2-D code for the map and the decoded manifold, and one with a 16-D
# code for the PCA and t-SNE maps, an interpolation and a traversal. Prints the
# wall time of every step.
#
# Every picture is kept under 200 KB (fewer points, a 10x10 manifold).
#
# Usage: docs/latent-pictures.sh [MNIST_DIR] [OUT_DIR]
#   EPOCHS=N sets the training length of both models (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist}
out=${2:-docs/img}
epochs=${EPOCHS:-10}
cargo build --release --quiet -p vaekit-cli
vaekit=target/release/vaekit
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
mkdir -p "$out"
step() {
  local start=$SECONDS
  "$@"
  echo "  ($((SECONDS - start)) s)"
}
common=(--data "$data" --val-fraction 0 --epochs "$epochs" --seed 0 --quiet)
step $vaekit train "${common[@]}" --latent 2 --out "$runs/z2"
step $vaekit train "${common[@]}" --latent 16 --out "$runs/z16"
step $vaekit latent --run "$runs/z2" --out "$out/latent-map-2d.png" --manifold "$out/latent-manifold.png" --grid 10 --limit 2000
step $vaekit latent --run "$runs/z16" --out "$out/latent-map-pca.png" --limit 800
step $vaekit latent --run "$runs/z16" --out "$out/latent-map-tsne.png" --method tsne --limit 2000
# t-SNE's run time on the whole test split (the picture is not kept).
step $vaekit latent --run "$runs/z16" --out "$runs/tsne-10000.png" --method tsne --limit 10000
step $vaekit interpolate --run "$runs/z16" --from 0 --to 1 --steps 10 --path slerp --originals \
  --out "$out/latent-interpolation.png" --gif "$out/latent-interpolation.gif"
step $vaekit traverse --run "$runs/z16" --index 0 --dims 8 --out "$out/latent-traversal.png"
step $vaekit eval --run "$runs/z16"
