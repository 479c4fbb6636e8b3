"""vaekit's Python package against the vaekit command and against PyOD's VAE.

    bench/.venv/bin/python bench/python.py [--data ../shared/data/mnist] [--threads 2]
        [--epochs 10] [--repeats 2] [--classes 0 1 ... 9] [--out bench/PYTHON.md]

Needs the package built in release into the same venv (`VENV=bench/.venv
crates/vaekit-py/dev.sh install --release`) and PyOD (`pip install -r
bench/requirements-python.txt`).

1. The PyTorch example's MNIST model (784-400-20 ReLU, Bernoulli, batch 128,
   Adam at 1e-3, no validation split) trained on the 60,000 training images,
   once by `vaekit train --data MNIST_DIR` and once by `vaekit.VAE(...).fit(x)`
   from a uint8 numpy array already in memory, alternating, `--repeats` times
   each: whole wall time and the median epoch (the run's metrics), side by side.
2. One-class MNIST: for each class, a detector trained on that class's
   training images (pixels in [0, 1], flattened) and tested on the 10,000 test
   images (the class normal, the other nine anomalies): PyOD's
   `pyod.models.vae.VAE` with its defaults against `vaekit.VAEDetector` with
   its defaults; fit time and AUROC of each, and their means over the classes.
"""

import argparse
import datetime
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from provenance import commit, cpu_name

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
    sys.exit(f"bench/python.py: no {stem} in {folder}")


def cli_fit(args, work):
    out = os.path.join(work, f"cli-{time.time_ns()}")
    cmd = [args.vaekit, "--threads", str(args.threads), "train", "--data", args.data, "--out", out,
           "--epochs", str(args.epochs), "--val-fraction", "0", "--hidden", "400", "--latent",
           "20", "--batch-size", "128", "--quiet"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    with open(os.path.join(out, "metrics.jsonl")) as f:
        epochs = [json.loads(line)["seconds"] for line in f]
    return wall, statistics.median(epochs)


def python_fit(args, x):
    import vaekit
    vae = vaekit.VAE(latent_dim=20, hidden=(400,), epochs=args.epochs, batch_size=128,
                     val_fraction=0.0, verbose=0)
    start = time.perf_counter()
    vae.fit(x)
    wall = time.perf_counter() - start
    return wall, statistics.median(m["seconds"] for m in vae.history_)


def one_class(args, train_x, train_y, test_x, test_y):
    import torch
    from pyod.models.vae import VAE as PyodVAE
    from sklearn.metrics import roc_auc_score

    import vaekit
    torch.set_num_threads(args.threads)
    rows = []
    for c in args.classes:
        normal = train_x[train_y == c]
        truth = (test_y != c).astype(int)
        row = {"class": c, "n": len(normal)}
        for name, make in (("vaekit", lambda: vaekit.VAEDetector(verbose=0)),
                           ("pyod", lambda: PyodVAE(verbose=0))):
            det = make()
            start = time.perf_counter()
            det.fit(normal)
            row[f"{name}_fit"] = time.perf_counter() - start
            row[f"{name}_auroc"] = roc_auc_score(truth, det.decision_function(test_x))
        rows.append(row)
        print(f"class {c}: vaekit {row['vaekit_fit']:.1f} s AUROC {row['vaekit_auroc']:.4f}; "
              f"PyOD {row['pyod_fit']:.1f} s AUROC {row['pyod_auroc']:.4f}", file=sys.stderr)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
    p.add_argument("--vaekit", default=os.path.join(ROOT, "target", "release", "vaekit"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    p.add_argument("--skip-fit", action="store_true", help="part 2 only")
    p.add_argument("--out", default=os.path.join(HERE, "PYTHON.md"))
    args = p.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    import vaekit  # noqa: F401  (fails early when the package is not built)

    train_x = read_idx(args.data, "train-images-idx3-ubyte")
    train_y = read_idx(args.data, "train-labels-idx1-ubyte")
    test_x = read_idx(args.data, "t10k-images-idx3-ubyte")
    test_y = read_idx(args.data, "t10k-labels-idx1-ubyte")
    lines = [f"# vaekit from Python ({datetime.date.today()}, commit {commit()}, {cpu_name()}, "
             f"{args.threads} threads)", "",
             f"Made by `bench/.venv/bin/python bench/python.py {' '.join(sys.argv[1:])}`.", ""]

    if not args.skip_fit:
        cli, py = [], []
        with tempfile.TemporaryDirectory() as work:
            for _ in range(args.repeats):
                cli.append(cli_fit(args, work))
                py.append(python_fit(args, train_x))
        wall_c = statistics.median(w for w, _ in cli)
        wall_p = statistics.median(w for w, _ in py)
        ep_c = statistics.median(e for _, e in cli)
        ep_p = statistics.median(e for _, e in py)
        lines += [f"## The PyTorch example's MNIST model, {args.epochs} epochs on 60,000 images "
                  f"(median of {args.repeats})", "",
                  "| | wall seconds | median epoch seconds |", "|---|---|---|",
                  f"| `vaekit train --data MNIST_DIR` (reads the IDX files) | {wall_c:.1f} | "
                  f"{ep_c:.2f} |",
                  f"| `vaekit.VAE(...).fit(x)` (uint8 array in memory) | {wall_p:.1f} | "
                  f"{ep_p:.2f} |",
                  f"| Python / command | {wall_p / wall_c:.3f} | {ep_p / ep_c:.3f} |", "",
                  "Every run: " + "; ".join(f"command {c[0]:.1f} s, Python {q[0]:.1f} s"
                                            for c, q in zip(cli, py)), ""]

    flat = lambda a: (a.reshape(len(a), -1) / np.float32(255)).astype(np.float32)  # noqa: E731
    rows = one_class(args, flat(train_x), train_y, flat(test_x), test_y)
    import pyod
    lines += [f"## One-class MNIST: each class's training images, tested on the 10,000 test "
              f"images (PyOD {pyod.__version__})", "",
              "| class | training images | vaekit fit s | vaekit AUROC | PyOD VAE fit s | "
              "PyOD VAE AUROC |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['class']} | {r['n']} | {r['vaekit_fit']:.1f} | "
                     f"{r['vaekit_auroc']:.4f} | {r['pyod_fit']:.1f} | {r['pyod_auroc']:.4f} |")
    mean = lambda k: statistics.mean(r[k] for r in rows)  # noqa: E731
    lines += [f"| mean | | {mean('vaekit_fit'):.1f} | **{mean('vaekit_auroc'):.4f}** | "
              f"{mean('pyod_fit'):.1f} | **{mean('pyod_auroc'):.4f}** |", "",
              f"vaekit fits in {mean('vaekit_fit') / mean('pyod_fit'):.3f} of PyOD's time. "
              "vaekit.VAEDetector's defaults: 784-400-20 ReLU, Bernoulli, 10 epochs, batch 128; "
              "PyOD's: 784-128-64-32-2, identity output under a squared error, standardized "
              "inputs, dropout 0.2, 30 epochs, batch 32.", ""]
    text = "\n".join(lines)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    print(text)


if __name__ == "__main__":
    main()
