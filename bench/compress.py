"""vaekit's bits-back compression of MNIST against the general-purpose and image coders.

    python3 bench/compress.py [--run RUN] [--run8 RUN8] [--data ../shared/data/mnist]
        [--seed 0] [--vaekit target/release/vaekit] [--threads 2] [--out bench/COMPRESS.md]

RUN is a Bernoulli MLP VAE trained on MNIST (`vaekit train --data ../shared/data/mnist
--likelihood bernoulli --binarize dynamic ...`, any prior or two stochastic layers that
`vaekit compress` takes). The 10,000 test images are binarized once (`vaekit compress
--binarize-seed SEED`: a pixel is 1 when a uniform draw of that seed falls below its grey
value), compressed and decompressed by vaekit; the decompressed pixels (which the file's
checksum proves equal to the binarized ones) are what every other coder gets: gzip -9,
bzip2 -9, xz -9e and zstd --ultra -22 on the pixels packed eight to a byte, as the
command-line tools ship them, and PNG (1-bit, Pillow's optimize) of each image.

RUN8 is an MLP VAE trained with `--likelihood logistic` on the 8-bit images; the 10,000 test
images are compressed as they are, and the other coders get the same bytes: the four tools on
the raw pixels (784 bytes an image, one after another), and each image as an optimized 8-bit
PNG and as a lossless WebP (Pillow, method 6), every file's whole size counted, as a folder
of image files would hold them.

Each one-layer run also codes with K codes an image (`vaekit compress --iw-samples K`,
bits-back with importance sampling: the file costs the K-sample importance-weighted bound).
The model's own -ELBO and importance-weighted -log p(x) (`vaekit eval --iw-samples K`) on
the same pixels are printed beside them, in bits per pixel of the unpadded 28 x 28 images;
every coder's figure counts its whole output (vaekit's: header, initial bits and checksum
included), and so do the speeds (images per second, compressing and decompressing). Needs
numpy and Pillow (bench/requirements-compress.txt).
"""

import argparse
import datetime
import io
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

# Published for reference: Townsend et al. 2019 (BB-ANS) on binarized MNIST; on 8-bit
# MNIST, the table of Bit-Swap's README (Kingma et al. 2019), whose models and scripts pad
# the images to 32 x 32.
PUBLISHED = [("BB-ANS (Townsend et al. 2019, published)", 0.19)]
PUBLISHED8 = [("gzip (Bit-Swap's table)", 1.65), ("bzip2 (Bit-Swap's table)", 1.59),
              ("LZMA (Bit-Swap's table)", 1.49), ("PNG (Bit-Swap's table)", 2.80),
              ("WebP (Bit-Swap's table)", 2.10), ("BB-ANS (Bit-Swap's table)", 1.48),
              ("Bit-Swap (Kingma et al. 2019, its table; 32 x 32 padded)", 1.29)]
TOOLS = [("gzip -9", "gzip", ["-9"]), ("bzip2 -9", "bzip2", ["-9"]), ("xz -9e", "xz", ["-9e"]),
         ("zstd --ultra -22", "zstd", ["--ultra", "-22", "-q"])]


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


def image_files_bytes(images, **save):
    """The summed sizes of each image saved as its own file by Pillow."""
    from PIL import Image
    total = 0
    for image in images:
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, **save)
        total += buf.tell()
    return total


def tool_rows(data, total, work, what):
    rows = []
    for name, tool, flags in TOOLS:
        size = tool_bytes(tool, flags, data, work)
        if size is None:
            print(f"bench/compress.py: {tool} did not run here; its row is left out",
                  file=sys.stderr)
            continue
        rows.append((f"{name} ({what})", 8 * size / total))
    return rows


def coded(args, run, pick, work, name, codes=1):
    """Compresses the test split with `run` (`codes` codes per image); returns the compress
    report, the decoded pixels as an (n, 784) array and the decompression rate."""
    vkz, back = os.path.join(work, f"{name}.vkz"), os.path.join(work, f"{name}.npy")
    made = json.loads(vaekit(args, ["compress", "--run", run, "--data", args.data, "--split",
                                    "test", "--out", vkz, "--json", "--iw-samples", str(codes)]
                             + pick))
    decoded = vaekit(args, ["decompress", "--run", run, vkz, "--out", back, "--format", "npy"])
    decode_rate = float(decoded.split(" images/s")[0].split(", ")[-1])
    pixels = np.load(back).reshape(made["images"], -1)
    made["bytes_on_disk"] = os.path.getsize(vkz)
    return made, pixels, decode_rate, back


def model_rows(args, run, back, dim):
    ev = json.loads(vaekit(args, ["eval", "--run", run, "--data", back, "--json"]))
    iw = json.loads(vaekit(args, ["eval", "--run", run, "--data", back, "--json",
                                  "--iw-samples", str(args.iw_samples)]))
    to_bpd = lambda nats: nats / dim / math.log(2)
    return ev, [("model -ELBO on these pixels (nats per image: %.2f)" % ev["neg_elbo"],
                 to_bpd(ev["neg_elbo"])),
                (f"model IW -log p(x), K = {args.iw_samples} (nats: %.2f)" % iw["iw"]["nll"],
                 to_bpd(iw["iw"]["nll"]))]


def section(title, rows, made, ev, decode_rate, weighted):
    coded_nats = made["mean_bits_per_image"] * math.log(2)
    lines = [title, "", "| coder | bits per pixel |", "|---|---|"]
    lines += [f"| {name} | {bpd:.4f} |" for name, bpd in rows]
    lines += ["", f"vaekit's coder stack grew by {coded_nats:.2f} nats per image against the "
              f"model's -ELBO of {ev['neg_elbo']:.2f} on the same pixels "
              f"({100 * (coded_nats / ev['neg_elbo'] - 1):+.2f} %); the whole file is "
              f"{made['bytes_on_disk']:,} bytes. Speed: {made['images_per_second']:,.0f} "
              f"images/s compressing, {decode_rate:,.0f} images/s decompressing."]
    for k, w, rate in weighted:
        lines.append(f"With {k} codes an image: {w['mean_bits_per_image'] * math.log(2):.2f} nats "
                     f"per image, {w['bytes_on_disk']:,} bytes; {w['images_per_second']:,.0f} "
                     f"images/s compressing, {rate:,.0f} images/s decompressing.")
    return lines + [""]


def weighted_rows(args, run, pick, work, name, total, pixels):
    """The importance-weighted coding rows of a one-layer run: each K of --codes, its
    bits per pixel and its report, after checking it decodes to the same pixels."""
    rows, reports = [], []
    with open(os.path.join(run, "config.json")) as f:
        if json.load(f)["settings"]["model"] == "hvae":
            return rows, reports
    for k in args.codes:
        made, back, rate, _ = coded(args, run, pick, work, f"{name}-k{k}", codes=k)
        assert np.array_equal(back, pixels), "the weighted file decodes to other pixels"
        rows.append((f"vaekit compress --iw-samples {k} (bits-back with importance sampling)",
                     8 * made["bytes_on_disk"] / total))
        reports.append((k, made, rate))
    return rows, reports


def describe(run):
    """The run's model in a few words, from its config.json."""
    with open(os.path.join(run, "config.json")) as f:
        settings = json.load(f)["settings"]
    hidden = ",".join(str(h) for h in settings["hidden"])
    words = [f"{settings['model']}, MLP {hidden} {settings['activation']}, z {settings['latent']}"]
    if settings.get("prior") == "vamp":
        words.append(f"VampPrior of {settings.get('pseudo-inputs')}")
    if settings["model"] == "hvae":
        words.append(f"z2 {settings.get('top-latent')} (Bit-Swap's order)")
    words.append(f"{settings['epochs']} epochs")
    return "; ".join(words)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", action="append", default=[],
                   help="a Bernoulli run: the binarized rows (repeat for several runs)")
    p.add_argument("--run8", help="a run trained with --likelihood logistic: the 8-bit rows")
    p.add_argument("--data", default=os.path.join(ROOT, "../shared/data/mnist"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--iw-samples", type=int, default=1000,
                   help="K of the model's importance-weighted -log p(x) row")
    p.add_argument("--codes", type=int, nargs="*", default=[16],
                   help="codes per image of the importance-weighted coding rows (vaekit "
                        "compress --iw-samples K) beside plain BB-ANS, for one-layer runs")
    p.add_argument("--vaekit", default=os.path.join(ROOT, "target/release/vaekit"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=os.path.join(HERE, "COMPRESS.md"))
    args = p.parse_args()
    if not (args.run or args.run8):
        sys.exit("bench/compress.py: give --run (binarized), --run8 (8-bit) or both")
    work = tempfile.mkdtemp(prefix="vaekit-compress-")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    given = " ".join([f"--run {r}" for r in args.run] + [f"--run8 {args.run8}"] * bool(args.run8))
    lines = [f"# Lossless compression of MNIST ({datetime.date.today()}, commit {commit}, "
             f"{platform.processor() or platform.machine()}, {args.threads} threads)", "",
             f"Made by `python3 bench/compress.py {given} --seed {args.seed}` on the test "
             f"images of {args.data}, 784 pixels each (unpadded).", ""]
    for k, run in enumerate(args.run):
        made, pixels, decode_rate, back = coded(args, run, ["--binarize-seed", str(args.seed)],
                                                work, f"b{k}")
        n, dim = pixels.shape
        assert set(np.unique(pixels)) <= {0.0, 1.0}
        total = n * dim
        rows = [(f"vaekit compress (BB-ANS, {describe(run)})", 8 * made["bytes_on_disk"] / total)]
        if k == 0:
            # Every run codes the same pixels (the same seed's binarization).
            bits = pixels.astype(np.uint8)
            others = tool_rows(np.packbits(bits.ravel()).tobytes(), total, work, "packed bits")
            png = image_files_bytes(bits.reshape(n, 28, 28).astype(bool), format="PNG",
                                    optimize=True)
            others.append(("PNG, 1-bit, one optimized file an image (Pillow)", 8 * png / total))
            rows += others
        wrows, weighted = weighted_rows(args, run, ["--binarize-seed", str(args.seed)], work,
                                        f"b{k}", total, pixels)
        ev, mrows = model_rows(args, run, back, dim)
        lines += section(f"## Binarized: the {n:,} test images, binarized once with seed "
                         f"{args.seed}; {describe(run)}",
                         rows[:1] + wrows + rows[1:] + mrows + (PUBLISHED if k == 0 else []),
                         made, ev, decode_rate, weighted)
    if args.run8:
        made, pixels, decode_rate, back = coded(args, args.run8, [], work, "g")
        n, dim = pixels.shape
        levels = np.rint(pixels * 255).astype(np.uint8)
        assert np.allclose(levels / 255.0, pixels)
        total = n * dim
        rows = [(f"vaekit compress (BB-ANS, discretized logistic; {describe(args.run8)})",
                 8 * made["bytes_on_disk"] / total)]
        rows += tool_rows(levels.tobytes(), total, work, "raw bytes")
        images = levels.reshape(n, 28, 28)
        png = image_files_bytes(images, format="PNG", optimize=True)
        webp = image_files_bytes(images, format="WEBP", lossless=True, quality=100, method=6)
        rows += [("PNG, one optimized file an image (Pillow)", 8 * png / total),
                 ("WebP lossless, one file an image (Pillow, method 6)", 8 * webp / total)]
        wrows, weighted = weighted_rows(args, args.run8, [], work, "g", total, pixels)
        ev, mrows = model_rows(args, args.run8, back, dim)
        lines += section(f"## 8-bit: the {n:,} test images as they are",
                         rows[:1] + wrows + rows[1:] + mrows + PUBLISHED8, made, ev,
                         decode_rate, weighted)
    text = "\n".join(lines)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
