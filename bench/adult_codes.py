"""Samples of one vaekit model of UCI Adult, with codes from the prior and from fitted
mixtures of several sizes, judged as bench/adult.py judges them (SDMetrics quality and the
scikit-learn efficacy F1s): the measurements behind `sample --code-mixture` in
docs/TABLES.md.

    EPOCHS=300 bench/.venv/bin/python bench/adult_codes.py SEED NAME 'TRAIN FLAGS' \
        'SAMPLE FLAGS' K [K ...]

for example `... 0 cvae '--label-column income --model cvae' --class-shares 0 50 100 200`
(K = 0: the prior). The run is trained once into $WORK/NAME-SEED-eEPOCHS[TAG] (WORK
defaults to /tmp/vaekit-adult-codes) and reused by later calls; each K prints one JSON line.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import adult  # noqa: E402

VAEKIT = os.path.join(adult.ROOT, "target/release/vaekit")
DATA = os.path.join(adult.ROOT, "../shared/data/tabular/adult")


def main():
    seed, name, extra, sample_extra = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ks = [int(k) for k in sys.argv[5:]]
    epochs = os.environ.get("EPOCHS", "300")
    train_csv, test_csv = os.path.join(DATA, "adult-train.csv"), os.path.join(DATA, "adult-test.csv")
    real, test = adult.read(train_csv), adult.read(test_csv)
    env = dict(os.environ, RAYON_NUM_THREADS="2")
    work = os.environ.get("WORK", "/tmp/vaekit-adult-codes")
    run = os.path.join(work, f"{name}-{seed}-e{epochs}{os.environ.get('TAG', '')}")
    if not os.path.exists(os.path.join(run, "model.safetensors")):
        started = time.time()
        subprocess.run([VAEKIT, "--threads", "2", "train", "--data", train_csv, "--out", run,
                        "--epochs", epochs, "--batch-size", "500", "--seed", str(seed), "-q"]
                       + extra.split(), check=True, env=env)
        print("train", time.time() - started, flush=True)
    for k in ks:
        out = f"{run}-k{k}.csv"
        started = time.time()
        cmd = [VAEKIT, "--threads", "2", "sample", "--run", run, "--n", str(len(real)), "--seed",
               str(seed), "--out", out] + sample_extra.split()
        if k:
            cmd += ["--code-mixture", str(k)]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        seconds = time.time() - started
        frame = adult.read(out)
        scores = {**adult.sdmetrics_quality(real, frame), **adult.efficacy(frame, test)}
        print(json.dumps({"name": name, "seed": seed, "epochs": int(epochs), "k": k,
                          "sample_s": round(seconds, 1),
                          **{a: round(b, 4) for a, b in scores.items()}}), flush=True)


if __name__ == "__main__":
    main()
