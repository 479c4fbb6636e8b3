"""vaekit against SDV's TVAE on the UCI Adult table, side by side on this machine.

    bench/.venv/bin/python bench/adult.py [--vaekit target/release/vaekit]
        [--data ../shared/data/tabular/adult] [--seeds 0 1] [--epochs 300] [--out FILE]

For each seed, both synthesizers learn adult-train.csv (32,561 rows, 15 columns, the label
`income` among them) and write as many synthetic rows; each is timed (wall seconds, peak
resident memory of its own process, VmHWM polled from /proc) and every synthetic table is judged
the same ways:

* SDMetrics' QualityReport (column shapes, column pair trends, their mean), from the
  installed `sdmetrics` package, and vaekit's own `vaekit eval --synthetic` (the same
  definitions, written in docs/TABLES.md) side by side, so the two implementations check
  each other;
* machine-learning efficacy: scikit-learn classifiers (logistic regression, a decision tree,
  a random forest) trained on the synthetic rows to predict `income`, tested on adult-test.csv
  (16,281 real rows never trained on); binary F1 of `>50K`, beside the same classifiers
  trained on the real training rows;
* distance to the closest record (vaekit eval --synthetic: the median over 1,000 synthetic
  rows, beside the same median for real adult-test rows).

TVAE runs with its defaults as the ctgan package ships them (300 epochs, batch 500,
mode-specific normalization); vaekit with its defaults for a mixed table and the same epochs
and batch size, two ways: one joint model of every column ("vaekit"), and a conditional model
on the label, `--label-column income --model cvae`, sampled with `--class-shares` (income at
its training shares, then the rest given it: "vaekit cvae"). Each of the two is also sampled
with its codes from a 50-component Gaussian mixture fitted to the training rows' codes
(`sample --code-mixture 50`, ", fitted codes"), from the same trained run. Then the imputation benchmark: adult-test's complete rows with 20 % of cells
hidden at random (seed 0), filled by vaekit (the run of the first seed), by column
mean/mode, by k-NN and by scikit-learn's IterativeImputer (MICE); RMSE over each numeric
column's range and the error rate on categorical cells, as HI-VAE reports them.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
LABEL = "income"

TVAE_SCRIPT = """
import sys, pandas as pd, torch
from ctgan import TVAE
torch.set_num_threads(int(sys.argv[4]))
df = pd.read_csv(sys.argv[1], keep_default_na=False, na_values=[''])
discrete = [c for c in df.columns if df[c].dtype == object]
model = TVAE(epochs=int(sys.argv[5]), batch_size=500, cuda=False)
torch.manual_seed(int(sys.argv[3]))
model.fit(df, discrete_columns=discrete)
model.sample(len(df)).to_csv(sys.argv[2], index=False)
"""


def timed(cmd, env=None):
    """Runs cmd; returns (stdout, wall seconds, peak RSS MiB).

    The peak is the process's own high-water mark (VmHWM in /proc/PID/status), read every
    50 ms until it exits. The rusage maximum from wait4 is no use here: Linux carries it
    over fork and exec, so every child would report at least this Python's own size."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.time()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        peak_kib = 0
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak_kib = max(peak_kib, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.05)
        wall = time.time() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{stdout}\n{stderr}")
    return stdout, wall, peak_kib / 1024.0


def read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def sdmetrics_quality(real, synthetic):
    from sdmetrics.reports.single_table import QualityReport

    metadata = {"columns": {c: {"sdtype": "numerical" if c in NUMERIC else "categorical"}
                            for c in real.columns}}
    report = QualityReport()
    report.generate(real, synthetic, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"column_shapes": float(props["Column Shapes"]),
            "column_pair_trends": float(props["Column Pair Trends"]),
            "quality": float(report.get_score())}


def features(frames, columns):
    joined = pd.get_dummies(pd.concat(frames, keys=range(len(frames))), columns=columns)
    return [joined.xs(i).astype(float).to_numpy() for i in range(len(frames))]


def efficacy(train, test):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    categorical = [c for c in train.columns if c not in NUMERIC and c != LABEL]
    x = [f.drop(columns=[LABEL]).fillna({c: "?" for c in categorical}) for f in (train, test)]
    for f in x:
        for c in NUMERIC:
            f[c] = pd.to_numeric(f[c], errors="coerce").fillna(0.0)
    xtr, xte = features(x, categorical)
    scaler = StandardScaler().fit(xtr)
    xtr, xte = scaler.transform(xtr), scaler.transform(xte)
    ytr = (train[LABEL].astype(str) == ">50K").to_numpy()
    yte = (test[LABEL].astype(str) == ">50K").to_numpy()
    if ytr.all() or not ytr.any():
        return {"logistic": 0.0, "tree": 0.0, "forest": 0.0, "mean": 0.0}
    scores = {}
    for name, clf in [("logistic", LogisticRegression(max_iter=2000)),
                      ("tree", DecisionTreeClassifier(max_depth=20, random_state=0)),
                      ("forest", RandomForestClassifier(n_estimators=100, n_jobs=-1,
                                                        random_state=0))]:
        clf.fit(xtr, ytr)
        scores[name] = float(f1_score(yte, clf.predict(xte)))
    scores["mean"] = float(np.mean([scores[k] for k in ("logistic", "tree", "forest")]))
    return scores


def vaekit_judge(vaekit, run, synthetic, holdout):
    out, _, _ = timed([vaekit, "eval", "--run", run, "--synthetic", synthetic,
                       "--holdout", holdout, "--target", LABEL, "--json"])
    return json.loads(out)


def impute_benchmark(vaekit, run, test, work, seed=0):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer

    complete = test.dropna().reset_index(drop=True)
    features_ = [c for c in complete.columns]
    rng = np.random.default_rng(seed)
    hide = rng.random(complete.shape) < 0.2
    hidden = complete.copy().astype(object)
    hidden[hide] = ""
    path = os.path.join(work, "hidden.csv")
    hidden.to_csv(path, index=False)
    filled_path = os.path.join(work, "filled.csv")
    _, wall, _ = timed([vaekit, "impute", "--run", run, "--data", path, "--out", filled_path,
                        "--method", "miwae", "--samples", "50", "--iterations", "1"])
    results = {"vaekit": (read(filled_path), wall)}
    categorical = [c for c in features_ if c not in NUMERIC]
    # Baselines on codes: categories as integer codes for MICE / k-NN, rounded back.
    codes = {c: sorted(complete[c].astype(str).unique()) for c in categorical}
    def encode(frame):
        out = pd.DataFrame(index=frame.index)
        for c in features_:
            if c in NUMERIC:
                out[c] = pd.to_numeric(frame[c], errors="coerce")
            else:
                out[c] = frame[c].map(lambda v, c=c: codes[c].index(v) if v in codes[c] else np.nan)
        return out
    def decode(array):
        out = pd.DataFrame(array, columns=features_)
        for c in categorical:
            idx = np.clip(np.round(out[c]).astype(int), 0, len(codes[c]) - 1)
            out[c] = [codes[c][i] for i in idx]
        return out
    coded = encode(hidden.replace("", np.nan))
    started = time.time()
    mean = coded.copy()
    for c in features_:
        fill = coded[c].mean() if c in NUMERIC else coded[c].mode().iloc[0]
        mean[c] = mean[c].fillna(fill)
    results["mean/mode"] = (decode(mean.to_numpy()), time.time() - started)
    # k-NN and MICE on standardized columns (one-hot categories for k-NN distances would
    # be fairer still, but this is how a user calls them on a coded table).
    mu, sd = coded.mean(), coded.std().replace(0, 1)
    z = ((coded - mu) / sd).to_numpy()
    for name, imputer in [("k-NN (k=5)", KNNImputer(n_neighbors=5)),
                          ("MICE", IterativeImputer(max_iter=10, random_state=0))]:
        started = time.time()
        filled = imputer.fit_transform(z) * sd.to_numpy() + mu.to_numpy()
        results[name] = (decode(filled), time.time() - started)
    scores = {}
    for name, (frame, seconds) in results.items():
        errs, rmses = [], []
        for j, c in enumerate(features_):
            rows = hide[:, j]
            if not rows.any():
                continue
            if c in NUMERIC:
                truth = complete[c].to_numpy(float)[rows]
                guess = pd.to_numeric(frame[c], errors="coerce").fillna(0).to_numpy(float)[rows]
                span = complete[c].max() - complete[c].min()
                rmses.append(np.sqrt(np.mean((truth - guess) ** 2)) / span)
            else:
                truth = complete[c].astype(str).to_numpy()[rows]
                guess = frame[c].astype(str).to_numpy()[rows]
                errs.append(np.mean(truth != guess))
        scores[name] = {"rmse_over_range": float(np.mean(rmses)),
                        "categorical_error": float(np.mean(errs)), "seconds": seconds}
    return scores, int(hide.sum()), len(complete)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vaekit", default=os.path.join(ROOT, "target/release/vaekit"))
    p.add_argument("--data", default=os.path.join(ROOT, "../shared/data/tabular/adult"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--tvae-epochs", type=int, default=300)
    p.add_argument("--vaekit-args", default="",
                   help="more `vaekit train` flags, such as '--beta 0.5' (TVAE's loss_factor 2)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-tvae", action="store_true")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="run only these vaekit variants ('vaekit', 'vaekit, fitted codes', "
                        "'vaekit cvae', 'vaekit cvae, fitted codes', 'vaekit cvae beta 0.7')")
    p.add_argument("--out", default=os.path.join(HERE, "ADULT.md"))
    args = p.parse_args()
    train_csv = os.path.join(args.data, "adult-train.csv")
    test_csv = os.path.join(args.data, "adult-test.csv")
    if not os.path.isfile(train_csv):
        sys.exit(f"bench/adult.py: no {train_csv}; pass --data DIR")
    real, test = read(train_csv), read(test_csv)
    work = tempfile.mkdtemp(prefix="vaekit-adult-")
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    rows = []
    real_f1 = efficacy(real, test)
    joint_run = None
    # vaekit's two ways to synthesize the table: one joint model of every
    # column, and p(income) p(rest | income), a conditional model with the
    # label as its condition drawn at the training shares.
    # With beta 0.7 the KL term weighs less against the columns' likelihood
    # (TVAE's loss_factor 2 is beta 0.5): sharper p(rest | income), the
    # efficacy up, the quality a little down (bench/ADULT.md).
    cvae = ["--label-column", LABEL, "--model", "cvae"]
    # Each trained run is sampled one or more ways; a way's time is its
    # run's training plus its own sampling. "fitted codes": the codes drawn
    # from a 50-component mixture fitted to the training rows' codes (per
    # class for the cvae) instead of from N(0, I), `sample --code-mixture 50`.
    fitted = ["--code-mixture", "50"]
    variants = [("vaekit", [], [("vaekit", []), ("vaekit, fitted codes", fitted)]),
                ("vaekit cvae", cvae, [("vaekit cvae", ["--class-shares"]),
                                       ("vaekit cvae, fitted codes", ["--class-shares"] + fitted)]),
                ("vaekit cvae beta 0.7", cvae + ["--beta", "0.7"],
                 [("vaekit cvae beta 0.7", ["--class-shares"])])]
    if args.only:
        variants = [(name, train, [w for w in ways if w[0] in args.only])
                    for name, train, ways in variants]
        variants = [v for v in variants if v[2]]
        if not variants:
            sys.exit(f"bench/adult.py: --only names none of the variants")
    for seed in args.seeds:
        sides = []
        for name, train_extra, ways in variants:
            tag = name.replace(" ", "-")
            run = os.path.join(work, f"{tag}-{seed}")
            _, t_train, m_train = timed([args.vaekit, "--threads", str(args.threads), "train",
                                         "--data", train_csv, "--out", run, "--epochs",
                                         str(args.epochs), "--batch-size", "500", "--seed",
                                         str(seed), "-q"] + train_extra + args.vaekit_args.split(),
                                        env)
            for way, sample_extra in ways:
                synth = os.path.join(work, f"{way.replace(' ', '-').replace(',', '')}-{seed}.csv")
                _, t_sample, m_sample = timed([args.vaekit, "--threads", str(args.threads),
                                               "sample", "--run", run, "--n", str(len(real)),
                                               "--seed", str(seed), "--out", synth]
                                              + sample_extra, env)
                sides.append((way, synth, t_train + t_sample, max(m_train, m_sample)))
            joint_run = joint_run or (run if name == "vaekit" else None)
        if not args.skip_tvae:
            tsynth = os.path.join(work, f"tvae-{seed}.csv")
            script = os.path.join(work, "tvae.py")
            with open(script, "w") as f:
                f.write(TVAE_SCRIPT)
            _, t_tvae, m_tvae = timed([sys.executable, script, train_csv, tsynth, str(seed),
                                       str(args.threads), str(args.tvae_epochs)], env)
            sides.append(("TVAE", tsynth, t_tvae, m_tvae))
        for name, path, wall, mem in sides:
            frame = read(path)
            rows.append({"seed": seed, "synthesizer": name, "seconds": wall, "peak_mib": mem,
                         "sdmetrics": sdmetrics_quality(real, frame),
                         # vaekit's own judge reads the table through a joint run's
                         # columns (a cvae's label is not one of them).
                         "vaekit_judge": (vaekit_judge(args.vaekit, joint_run, path, test_csv)
                                          if joint_run else None),
                         "f1": efficacy(frame, test)})
            print(json.dumps(rows[-1]["sdmetrics"]), name, seed, f"{wall:.1f}s", flush=True)
    # Imputation is judged on the joint model (a run of `--only` others skips it).
    imputation, hidden, complete_rows = (impute_benchmark(args.vaekit, joint_run, test, work)
                                         if joint_run else ({}, 0, 0))
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    lines = [f"# vaekit against TVAE on UCI Adult ({datetime.date.today()}, commit {commit}, "
             f"{platform.processor() or platform.machine()}, {args.threads} threads)", "",
             "Made by `bench/.venv/bin/python bench/adult.py "
             + shlex.join(sys.argv[1:]) + "`.", "",
             "| synthesizer | seed | seconds | peak MiB | shapes | pair trends | quality (SDMetrics) "
             "| quality (vaekit eval) | F1 logistic | F1 logistic (vaekit eval) | F1 tree | F1 forest "
             "| mean F1 | DCR median |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, v, f = r["sdmetrics"], r["vaekit_judge"], r["f1"]
        if v is None:
            v = {"quality": float("nan"), "efficacy": {"synthetic_f1": float("nan")},
                 "closest_records": {"synthetic_median": float("nan"), "holdout_median": float("nan")}}
        lines.append(f"| {r['synthesizer']} | {r['seed']} | {r['seconds']:.1f} | {r['peak_mib']:.0f} "
                     f"| {s['column_shapes']:.4f} | {s['column_pair_trends']:.4f} | {s['quality']:.4f} "
                     f"| {v['quality']:.4f} | {f['logistic']:.3f} | {v['efficacy']['synthetic_f1']:.3f} "
                     f"| {f['tree']:.3f} | {f['forest']:.3f} "
                     f"| {f['mean']:.3f} | {v['closest_records']['synthetic_median']:.4f} |")
    judged = [r["vaekit_judge"] for r in rows if r["vaekit_judge"]]
    holdout = judged[0]["closest_records"]["holdout_median"] if judged else float("nan")
    lines += ["", f"Real training rows: F1 logistic {real_f1['logistic']:.3f}, tree {real_f1['tree']:.3f}, "
              f"forest {real_f1['forest']:.3f}, mean {real_f1['mean']:.3f}. DCR median of real "
              f"adult-test rows to the training rows: {holdout:.4f}."]
    if imputation:
        lines += ["", f"## Imputation: {hidden} cells of {complete_rows} complete adult-test rows "
                  "hidden (20 %, seed 0)", "",
                  "| method | RMSE / range (numeric) | error rate (categorical) | seconds |",
                  "|---|---|---|---|"]
    for name, s in imputation.items():
        lines.append(f"| {name} | {s['rmse_over_range']:.4f} | {s['categorical_error']:.4f} | {s['seconds']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    with open(args.out.replace(".md", ".json"), "w") as f:
        json.dump({"rows": rows, "real_f1": real_f1, "imputation": imputation}, f, indent=1)


if __name__ == "__main__":
    main()
