#!/usr/bin/env bash
# The foundation's quality bar: the PyTorch reference setting (pytorch/examples
# vae/main.py) on MNIST, trained and scored by vaekit, and by PyTorch beside it.
#   MLP 784-400-20, Bernoulli likelihood on non-binarized MNIST, Adam 1e-3,
#   batch 128, 10 epochs on all 60,000 training images, one z sample per test image.
# Usage: docs/mnist-reference.sh [MNIST_DIR] [SEED...]   (defaults: ../shared/data/mnist, seeds 0-4)
# The PyTorch column needs bench/.venv (made by bench/run); without it, it reads "-".
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist}
shift || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2 3 4)
cargo build --release --quiet
torch_python=bench/.venv/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
results="$out/results.jsonl"
for seed in "${seeds[@]}"; do
  start=$(date +%s.%N)
  target/release/vaekit --threads 2 train --data "$data" --out "$out/run$seed" --epochs 10 \
    --batch-size 128 --lr 1e-3 --hidden 400 --latent 20 --likelihood bernoulli --binarize none \
    --val-fraction 0 --seed "$seed" --quiet >/dev/null
  end=$(date +%s.%N)
  vaekit=$(target/release/vaekit eval --run "$out/run$seed" --split test --json)
  torch="null"
  if [ -x "$torch_python" ]; then
    torch=$(OMP_NUM_THREADS=2 "$torch_python" bench/reference.py --workload quality --data "$data" \
      --threads 2 --seed "$seed" --epochs 10 2>/dev/null)
  fi
  echo "{\"seed\": $seed, \"seconds\": $(python3 -c "print($end - $start)"), \"vaekit\": $vaekit, \"torch\": $torch}" >> "$results"
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| seed | vaekit test -ELBO (nats) | recon | KL | vaekit train + load (s) | PyTorch test -ELBO (nats) | PyTorch train (s) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    v, t = r["vaekit"], r["torch"]
    torch = f"{t['test_neg_elbo']:.2f} | {t['seconds']:.0f}" if t else "- | -"
    print(f"| {r['seed']} | {v['neg_elbo']:.2f} | {v['recon']:.2f} | {v['kl']:.2f} | {r['seconds']:.0f} | {torch} |")
def stat(values):
    if len(values) < 2:
        return f"{values[0]:.2f}" if values else "-"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
v = [r["vaekit"]["neg_elbo"] for r in rows]
t = [r["torch"]["test_neg_elbo"] for r in rows if r["torch"]]
print(f"| mean ± sd | {stat(v)} | | | | {stat(t)} | |")
PY
