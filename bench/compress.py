"""vaekit's bits-back compression of binarized MNIST against the general-purpose coders.

    python3 bench/compress.py --run RUN [--data ../shared/data/mnist] [--seed 0]
        [--vaekit target/release/vaekit] [--threads 2] [--out bench/COMPRESS.md]

RUN is a Bernoulli MLP VAE trained on MNIST (`vaekit train --data ../shared/data/mnist
--likelihood bernoulli --binarize dynamic ...`). The 10,000 test images are binarized once
(`vaekit compress --binarize-seed SEED`: a pixel is 1 when a uniform draw of that seed falls
below its grey value), compressed and decompressed by vaekit; the decompressed pixels (which
the file's checksum proves equal to the binarized ones) are what every other coder gets:
gzip -9, bzip2 -9, xz -9e and zstd --ultra -22 on the pixels packed eight to a byte, as the
command-line tools ship them. The model's own -ELBO and importance-weighted -log p(x)
(`vaekit eval --iw-samples K`) on the same pixels are printed beside them, in bits per pixel
of the unpadded 28 x 28 images; every coder's figure counts its whole output (vaekit's:
header, initial bits and checksum included). Only the standard library and numpy (bench/run's
environment) are needed.
"""

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Published for reference (Townsend et al. 2019, BB-ANS on binarized MNIST).
PUBLISHED = [("BB-ANS (Townsend et al. 2019, published)", 0.19)]


def vaekit(args, cmd):
    out = subprocess.run([args.vaekit, "--threads", str(args.threads)] + cmd,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"vaekit {' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def tool_bytes(tool, flags, data, work):
    path = os.path.join(work, "pixels.bin")
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run([tool] + flags + ["-c", path], capture_output=True)
    if out.returncode != 0:
        return None
    return len(out.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--data", default=os.path.join(ROOT, "../shared/data/mnist"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--iw-samples", type=int, default=1000)
    p.add_argument("--vaekit", default=os.path.join(ROOT, "target/release/vaekit"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=os.path.join(HERE, "COMPRESS.md"))
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="vaekit-compress-")
    vkz, back = os.path.join(work, "test.vkz"), os.path.join(work, "test.npy")
    made = json.loads(vaekit(args, ["compress", "--run", args.run, "--data", args.data,
                                    "--split", "test", "--binarize-seed", str(args.seed),
                                    "--out", vkz, "--json"]))
    decoded = vaekit(args, ["decompress", "--run", args.run, vkz, "--out", back,
                            "--format", "npy"])
    decode_rate = float(decoded.split(" images/s")[0].split(", ")[-1])
    pixels = np.load(back).reshape(made["images"], -1)
    n, dim = pixels.shape
    assert set(np.unique(pixels)) <= {0.0, 1.0}
    total = n * dim
    rows = [("vaekit compress (BB-ANS, this run)", 8 * os.path.getsize(vkz) / total)]
    packed = np.packbits(pixels.astype(np.uint8).ravel()).tobytes()
    for name, tool, flags in [("gzip -9", "gzip", ["-9"]), ("bzip2 -9", "bzip2", ["-9"]),
                              ("xz -9e", "xz", ["-9e"]),
                              ("zstd --ultra -22", "zstd", ["--ultra", "-22", "-q"])]:
        size = tool_bytes(tool, flags, packed, work)
        if size is None:
            print(f"bench/compress.py: {tool} did not run here; its row is left out",
                  file=sys.stderr)
            continue
        rows.append((f"{name} (packed bits)", 8 * size / total))
    ev = json.loads(vaekit(args, ["eval", "--run", args.run, "--data", back, "--json"]))
    iw = json.loads(vaekit(args, ["eval", "--run", args.run, "--data", back, "--json",
                                  "--iw-samples", str(args.iw_samples)]))
    to_bpd = lambda nats: nats / dim / math.log(2)
    model_rows = [("model -ELBO on these pixels (nats per image: %.2f)" % ev["neg_elbo"],
                   to_bpd(ev["neg_elbo"])),
                  (f"model IW -log p(x), K = {args.iw_samples} (nats: %.2f)" % iw["iw"]["nll"],
                   to_bpd(iw["iw"]["nll"]))]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    coded_nats = made["mean_bits_per_image"] * math.log(2)
    lines = [f"# Lossless compression of binarized MNIST ({datetime.date.today()}, commit {commit}, "
             f"{platform.processor() or platform.machine()}, {args.threads} threads)", "",
             f"Made by `python3 bench/compress.py --run {args.run} --seed {args.seed}`: the "
             f"{n:,} test images of {args.data}, binarized once with seed {args.seed}, "
             f"{dim} pixels each (unpadded).", "",
             "| coder | bits per pixel |", "|---|---|"]
    lines += [f"| {name} | {bpd:.4f} |" for name, bpd in rows + model_rows + PUBLISHED]
    lines += ["", f"vaekit's coder stack grew by {coded_nats:.2f} nats per image against the "
              f"model's -ELBO of {ev['neg_elbo']:.2f} on the same pixels "
              f"({100 * (coded_nats / ev['neg_elbo'] - 1):+.2f} %); the whole file is "
              f"{os.path.getsize(vkz):,} bytes. Speed: {made['images_per_second']:,.0f} images/s "
              f"compressing, {decode_rate:,.0f} images/s decompressing."]
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
