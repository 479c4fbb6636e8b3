"""Runs vaekit and the PyTorch reference side by side and prints one table.

Started by bench/run (which makes the virtual environment and the release build).
Each workload runs for both, alternating vaekit / PyTorch, `--repeats` times, on the same
number of threads. The vaekit side is the real `vaekit` command; its timings come from what
the command itself reports (metrics.jsonl for training, `eval --json`, `encode`'s summary), and
the PyTorch side times the same stretch of work. FLOP counts are derived in bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# FLOP per example, derived in bench/README.md.
MLP_FORWARD_MAC = 784 * 400 + 400 * 40 + 20 * 400 + 400 * 784
MLP_TRAIN_FLOP = 6 * MLP_FORWARD_MAC - 2 * 784 * 400
CONV_FORWARD_MAC = (32 * 14 * 14 * 16 + 64 * 7 * 7 * 32 * 16 + 2 * 3136 * 16
                    + 16 * 3136 + 64 * 7 * 7 * 32 * 16 + 32 * 14 * 14 * 16)
CONV_TRAIN_FLOP = 6 * CONV_FORWARD_MAC - 2 * 32 * 14 * 14 * 16
ENCODE_FLOP = 2 * (784 * 400 + 400 * 40)
SCORE_FLOP = 2 * MLP_FORWARD_MAC
# Importance-weighted -log p(x), K = 5000: the encoder once, the decoder K times.
IW_SAMPLES = 5000
IW_EVAL_FLOP = 2 * (784 * 400 + 400 * 40 + IW_SAMPLES * (20 * 400 + 400 * 784))
# IWAE training, K = 50, the IWAE paper's 784-200-200-50 network: the encoder once and the
# decoder K times forward, twice that backward, less the first layer's input gradient.
IWAE_SAMPLES = 50
IWAE_FORWARD_MAC = (784 * 200 + 200 * 200 + 200 * 100) + IWAE_SAMPLES * (50 * 200 + 200 * 200 + 200 * 784)
IWAE_TRAIN_FLOP = 6 * IWAE_FORWARD_MAC - 2 * 784 * 200
# The IWAE paper's two-stochastic-layer model (vaekit's --model hvae): q(z1|x), q(z2|z1),
# p(z1|z2), p(x|z1); the heads are two products each.
HVAE_FORWARD_MAC = ((784 * 200 + 200 * 200 + 2 * 200 * 100) + (100 * 100 + 100 * 100 + 2 * 100 * 50)
                    + (50 * 100 + 100 * 100 + 2 * 100 * 100) + (100 * 200 + 200 * 200 + 200 * 784))
HVAE_TRAIN_FLOP = 6 * HVAE_FORWARD_MAC - 2 * 784 * 200
# Time to quality: the validation -ELBO to reach, nats.
QUALITY_TARGET = 110.0


def run(cmd, env, cwd):
    """Runs a command; returns (stdout, wall seconds, spawn time, peak RSS in MiB).

    Output goes to files, not pipes, so a chatty child can never block; os.wait4 gives the
    child's own peak resident memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.time()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.time() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stdout}\n{stderr}")
    return stdout, wall, started, usage.ru_maxrss / 1024.0


def last_epoch_seconds(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return json.loads(f.read().strip().splitlines()[-1])["seconds"]


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="vaekit-bench-")
        self.env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
                        MKL_NUM_THREADS=str(args.threads), PYTHONWARNINGS="ignore")
        self.count = 0
        self.mlp_run = None
        self.torch_version = "unknown"

    def vaekit(self, *args):
        cmd = [self.args.vaekit, "--threads", str(self.args.threads), "--quiet", *args]
        return run(cmd, self.env, self.work)

    def torch(self, workload, *extra):
        cmd = [sys.executable, os.path.join(HERE, "reference.py"), "--workload", workload,
               "--data", self.args.data, "--threads", str(self.args.threads), *extra]
        out, wall, started, rss = run(cmd, self.env, self.work)
        return json.loads(out.strip().splitlines()[-1]), wall, started, rss

    def fresh(self, name):
        self.count += 1
        return os.path.join(self.work, f"{name}-{self.count}")

    # Each workload returns (vaekit value, PyTorch value[, extra]) for one repeat.
    def mlp_epoch(self):
        out = self.fresh("mlp")
        _, _, _, rss_v = self.vaekit("train", "--data", self.args.data, "--out", out, "--epochs", "1",
                                     "--val-fraction", "0", "--hidden", "400", "--latent", "20",
                                     "--batch-size", "128", "--lr", "1e-3")
        if self.mlp_run is None:
            self.mlp_run = out
        v = last_epoch_seconds(out)
        result, _, _, rss_t = self.torch("mlp-epoch")
        self.torch_version = result["torch"]
        return v, result["seconds"], (rss_v, rss_t)

    def conv_steps(self):
        out = self.fresh("conv")
        steps = self.args.conv_steps
        self.vaekit("train", "--data", self.args.data, "--out", out, "--arch", "conv",
                    "--conv-channels", "32,64", "--latent", "16", "--limit", str(128 * steps),
                    "--epochs", "1", "--val-fraction", "0", "--batch-size", "128")
        result, _, _, _ = self.torch("conv-steps", "--steps", str(steps))
        return last_epoch_seconds(out), result["seconds"]

    def encode(self):
        text, _, _, _ = self.vaekit("encode", "--run", self.mlp_run, "--split", "test",
                                    "--out", os.path.join(self.work, "codes.npy"))
        v = float(re.search(r"encoded in ([0-9.]+) s", text).group(1))
        result, _, _, _ = self.torch("encode")
        return v, result["seconds"]

    def score(self):
        text, _, _, _ = self.vaekit("eval", "--run", self.mlp_run, "--split", "test", "--json")
        v = json.loads(text)["seconds"]
        result, _, _, _ = self.torch("score")
        return v, result["seconds"]

    def first_step(self):
        # vaekit: spawn to exit of a run of exactly one step (it also loads the test split and
        # writes its run directory, so this overstates its time). PyTorch: spawn to the end of
        # its first step, read from the timestamp the script prints.
        out = self.fresh("first")
        _, v, _, _ = self.vaekit("train", "--data", self.args.data, "--out", out, "--limit", "128",
                                 "--epochs", "1", "--val-fraction", "0", "--batch-size", "128")
        result, _, started, _ = self.torch("first-step")
        return v, result["first_step_at"] - started


    def iw_eval(self):
        text, _, _, _ = self.vaekit("eval", "--run", self.mlp_run, "--split", "test", "--limit",
                                    "1000", "--iw-samples", str(IW_SAMPLES), "--json")
        v = json.loads(text)["iw"]["seconds"]
        result, _, _, _ = self.torch("iw-eval", "--samples", str(IW_SAMPLES), "--limit", "1000")
        return v, result["seconds"]

    def iwae_epoch(self):
        out = self.fresh("iwae")
        self.vaekit("train", "--data", self.args.data, "--out", out, "--epochs", "1",
                    "--val-fraction", "0", "--hidden", "200,200", "--activation", "tanh",
                    "--latent", "50", "--model", "iwae", "--train-samples", str(IWAE_SAMPLES),
                    "--batch-size", "100")
        result, _, _, _ = self.torch("iwae-epoch", "--samples", str(IWAE_SAMPLES))
        return last_epoch_seconds(out), result["seconds"]

    def hvae(self, batch_norm):
        out = self.fresh("hvae")
        self.vaekit("train", "--data", self.args.data, "--out", out, "--epochs", "1",
                    "--val-fraction", "0", "--model", "hvae", "--batch-size", "100",
                    *(["--batch-norm"] if batch_norm else []))
        result, _, _, _ = self.torch("hvae-bn-epoch" if batch_norm else "hvae-epoch")
        return last_epoch_seconds(out), result["seconds"]

    def hvae_epoch(self):
        return self.hvae(False)

    def hvae_bn_epoch(self):
        return self.hvae(True)

    def time_to_quality(self):
        # pytorch/examples' setting (784-400-20, batch 128, Adam 1e-3), a tenth held out:
        # training seconds until the epoch after which the validation -ELBO is below the
        # target (validation passes not counted on either side).
        out = self.fresh("quality")
        epochs = self.args.quality_epochs
        self.vaekit("train", "--data", self.args.data, "--out", out, "--epochs", str(epochs),
                    "--val-fraction", "0.1", "--hidden", "400", "--latent", "20",
                    "--batch-size", "128", "--lr", "1e-3")
        with open(os.path.join(out, "metrics.jsonl")) as f:
            epochs_seen = [json.loads(line) for line in f if line.strip()]
        v, reached = 0.0, None
        for m in epochs_seen:
            v += m["seconds"]
            if m["val"]["neg_elbo"] < QUALITY_TARGET:
                reached = m["epoch"]
                break
        result, _, _, _ = self.torch("time-to-quality", "--target", str(QUALITY_TARGET),
                                     "--max-epochs", str(epochs))
        if reached is None or not result["reached"]:
            sys.exit(f"time-to-quality: {QUALITY_TARGET} nats not reached in {epochs} epochs "
                     f"(vaekit: epoch {reached}; PyTorch: {result['curve']}); "
                     "raise --quality-epochs")
        return v, result["seconds"], (reached, result["epochs"])


def cpu_info():
    model, mhz, flags, vendor, family = "unknown", None, "", None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and model == "unknown":
                    model = value
                elif key == "cpu MHz" and mhz is None:
                    mhz = float(value)
                elif key == "flags" and not flags:
                    flags = value
                elif key == "vendor_id" and vendor is None:
                    vendor = value
                elif key == "cpu family" and family is None:
                    family = int(value)
    except OSError:
        pass
    flop_per_cycle = 64 if "avx512f" in flags.split() else 32 if "fma" in flags.split() else 16
    # Zen 4 (AMD family 25) runs an AVX-512 instruction as two 256-bit halves on its two FMA
    # pipes: 32 FLOP per cycle, as with AVX2. Zen 5 (family 26) has whole 512-bit pipes.
    if vendor == "AuthenticAMD" and family == 25:
        flop_per_cycle = min(flop_per_cycle, 32)
    return model, mhz, flop_per_cycle, os.cpu_count()


def summary(values):
    return statistics.median(values), min(values), max(values)


def fmt_time(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vaekit", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--conv-steps", type=int, default=200)
    parser.add_argument("--quality-epochs", type=int, default=10,
                        help="time-to-quality: epochs each side may take to reach the target")
    parser.add_argument("--only", nargs="*", help="run only these workloads")
    parser.add_argument("--results", help="also write the table to this Markdown file")
    parser.add_argument("--command", default="bench/run", help="the command line to record")
    args = parser.parse_args()
    if args.repeats < 1:
        sys.exit("--repeats must be at least 1")
    args.data = os.path.abspath(args.data)

    # torch is never imported here: a child forked from a process holding it
    # would report torch's memory as its own peak. Its version comes from the
    # reference script's output.
    bench = Bench(args)
    model, mhz, flop_per_cycle, cores = cpu_info()
    peak = args.threads * (mhz or 0) * 1e6 * flop_per_cycle
    workloads = [
        ("mlp-epoch", "1. MLP training epoch (60,000 images)", bench.mlp_epoch, 60000 * MLP_TRAIN_FLOP),
        ("conv-steps", f"2. conv VAE, {args.conv_steps} training steps", bench.conv_steps,
         128 * args.conv_steps * CONV_TRAIN_FLOP),
        ("encode", "3. encode 10,000 test images", bench.encode, 10000 * ENCODE_FLOP),
        ("score", "4. -ELBO of 10,000 test images", bench.score, 10000 * SCORE_FLOP),
        ("first-step", "5. process start to first finished step", bench.first_step, None),
        ("iw-eval", f"7. -log p(x) of 1,000 test images, K = {IW_SAMPLES}", bench.iw_eval,
         1000 * IW_EVAL_FLOP),
        ("iwae-epoch", f"8. IWAE training epoch, K = {IWAE_SAMPLES} (784-200-200-50 tanh, batch 100)",
         bench.iwae_epoch, 60000 * IWAE_TRAIN_FLOP),
        ("time-to-quality", f"9. training time to a validation -ELBO below {QUALITY_TARGET:.0f} nats "
         "(784-400-20, batch 128)", bench.time_to_quality, None),
        ("hvae-epoch", "10. two-stochastic-layer model (hvae) training epoch, batch 100",
         bench.hvae_epoch, 60000 * HVAE_TRAIN_FLOP),
        ("hvae-bn-epoch", "11. the same with batch normalization (--batch-norm)", bench.hvae_bn_epoch,
         60000 * HVAE_TRAIN_FLOP),
    ]
    if args.only:
        unknown = set(args.only) - {w[0] for w in workloads}
        if unknown:
            sys.exit(f"unknown workloads {sorted(unknown)}")
        # encode, score and iw-eval need the MLP run of workload 1.
        wanted = set(args.only) | ({"mlp-epoch"} if {"encode", "score", "iw-eval"} & set(args.only)
                                   else set())
        workloads = [w for w in workloads if w[0] in wanted]

    rows, memory, quality_epochs = [], None, []
    for key, title, fn, flop in workloads:
        v_times, t_times, extras = [], [], []
        for repeat in range(args.repeats):
            result = fn()
            v_times.append(result[0])
            t_times.append(result[1])
            if len(result) > 2:
                extras.append(result[2])
            print(f"  {key} #{repeat + 1}: vaekit {fmt_time(result[0])}, PyTorch {fmt_time(result[1])}",
                  file=sys.stderr, flush=True)
        rows.append((key, title, summary(v_times), summary(t_times), flop))
        if key == "mlp-epoch":
            memory = (summary([e[0] for e in extras]), summary([e[1] for e in extras]))
        if key == "time-to-quality":
            quality_epochs = extras

    lines = [
        f"| workload | vaekit, median (min-max) | PyTorch, median (min-max) | PyTorch / vaekit "
        f"| vaekit GFLOP/s (share of peak) | PyTorch GFLOP/s (share of peak) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, title, (v, v_lo, v_hi), (t, t_lo, t_hi), flop in rows:
        def rate(seconds):
            if flop is None:
                return "-"
            gflops = flop / seconds / 1e9
            share = f" ({100 * gflops * 1e9 / peak:.0f} %)" if peak else ""
            return f"{gflops:.1f}{share}"
        extra = ""
        if key == "encode":
            extra = f" = {10000 / v:,.0f} vs {10000 / t:,.0f} images/s"
        if key == "time-to-quality":
            extra = " (epochs taken, vaekit / PyTorch: " + ", ".join(
                f"{a} / {b}" for a, b in quality_epochs) + ")"
        lines.append(
            f"| {title}{extra} | {fmt_time(v)} ({fmt_time(v_lo)}-{fmt_time(v_hi)}) "
            f"| {fmt_time(t)} ({fmt_time(t_lo)}-{fmt_time(t_hi)}) | {t / v:.2f}x | {rate(v)} | {rate(t)} |"
        )
    medians = {key: (v[0], t[0]) for key, _, v, t, _ in rows}
    if "hvae-epoch" in medians and "hvae-bn-epoch" in medians:
        (v, t), (v_bn, t_bn) = medians["hvae-epoch"], medians["hvae-bn-epoch"]
        lines.append(f"| 12. batch normalization's cost: workload 11 / workload 10 | {v_bn / v:.2f}x "
                     f"| {t_bn / t:.2f}x | - | - | - |")
    if memory:
        (v, v_lo, v_hi), (t, t_lo, t_hi) = memory
        lines.append(
            f"| 6. peak resident memory, workload 1 | {v:.0f} MiB ({v_lo:.0f}-{v_hi:.0f}) "
            f"| {t:.0f} MiB ({t_lo:.0f}-{t_hi:.0f}) | {t / v:.2f}x | - | - |"
        )

    header = [
        f"Machine: {model}, {cores} cores seen, {args.threads} threads used, "
        f"{mhz or 0:.0f} MHz; nominal fp32 peak {peak / 1e9:.0f} GFLOP/s "
        f"({args.threads} x {flop_per_cycle} FLOP/cycle x clock).",
        f"Versions: {version([args.vaekit, '--version'])} "
        f"(git {version(['git', '-C', ROOT, 'describe', '--always', '--dirty'])}), "
        f"torch {bench.torch_version}, Python {platform.python_version()}, "
        f"{version(['rustc', '--version'])}.",
        f"Date: {datetime.date.today().isoformat()}. Repeats: {args.repeats}, alternating vaekit / PyTorch.",
        f"Command: `{args.command}`",
        "",
        "Ratios are PyTorch time / vaekit time (and PyTorch memory / vaekit memory): above 1 means vaekit is faster (smaller).",
    ]
    table = "\n".join(header + [""] + lines)
    print(table)
    if args.results:
        with open(args.results, "w") as f:
            f.write("# Benchmark results\n\nThe latest run of `bench/run`; see bench/README.md for the "
                    "workloads and their FLOP counts, and bench/NOTES.md for what was changed and why.\n\n")
            f.write(table + "\n")
    shutil.rmtree(bench.work, ignore_errors=True)


if __name__ == "__main__":
    main()
