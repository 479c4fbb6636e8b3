"""The Python package against the built module: scikit-learn's estimator
checks, pipelines and grid search, DataFrames, the command line's runs in
both directions, Ctrl-C, pickling and bad input.

Run with `crates/vaekit-py/dev.sh test` (builds the package into a venv
first). The command-line tests need the `vaekit` binary (target/debug or
target/release, or $VAEKIT_BIN) and skip with the reason when it is missing.
"""

import csv
import os
import pickle
import signal
import subprocess
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import vaekit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SMALL = dict(latent_dim=2, hidden=(16,), epochs=2, batch_size=32, verbose=0)


def digits():
    """UCI digits as scikit-learn ships them (no download): 1,797 8x8
    images in [0, 1], and their classes."""
    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target


def vaekit_binary():
    for path in (os.environ.get("VAEKIT_BIN"), f"{ROOT}/target/release/vaekit",
                 f"{ROOT}/target/debug/vaekit"):
        if path and os.access(path, os.X_OK):
            return path
    pytest.skip("no vaekit binary (build it with `cargo build`, or set VAEKIT_BIN)")


# Checks that do not apply, and why (scikit-learn's own list of expected failures).
EXPECTED_FAILED = {
    # score_samples (and so score) is a Monte Carlo estimate: one draw of z an
    # example, each draw following the example's position, as `vaekit score`
    # draws them; a subset or a reordering gets other draws.
    "check_methods_subset_invariance": "the ELBO's draws of z follow the examples' positions",
    "check_methods_sample_order_invariance": "the ELBO's draws of z follow the examples' order",
}


@parametrize_with_checks([vaekit.VAE(**SMALL)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_fit_transform_inverse_and_history():
    x, _ = digits()
    vae = vaekit.VAE(**SMALL)
    assert vae.fit(x) is vae
    assert vae.n_features_in_ == 64 and len(vae.history_) == 2 and vae.n_epochs_ == 2
    codes = vae.transform(x[:10])
    assert codes.shape == (10, 2) and codes.dtype == np.float32
    assert np.allclose(vae.fit_transform(x)[:10], codes, atol=1e-6)  # the same seed
    back = vae.inverse_transform(codes)
    assert back.shape == (10, 8, 8)
    assert np.allclose(back, vae.reconstruct(x[:10]), atol=1e-5)
    assert vae.sample(5, random_state=1).shape == (5, 8, 8)
    assert np.array_equal(vae.sample(5, random_state=1), vae.sample(5, random_state=1))
    parts = vae.elbo(x[:10])
    assert np.allclose(parts.elbo, parts.log_likelihood - parts.kl)
    assert np.allclose(parts.elbo, vae.score_samples(x[:10]))
    assert (parts.kl >= 0).all()
    assert np.isclose(vae.score(x[:10]), vae.score_samples(x[:10]).mean())


def test_images_in_every_layout_and_dtype():
    x, _ = digits()
    x = x[:300]
    as_bytes = np.rint(x * 255).astype(np.uint8)
    for layout in (as_bytes, as_bytes[:, None], as_bytes[..., None],
                   np.asfortranarray(as_bytes.astype(np.float64) / 255)):
        vae = vaekit.VAE(**SMALL).fit(layout)
        assert vae.transform(layout).shape == (300, 2)
        assert vae.sample(3).shape == (3,) + layout.shape[1:]
    # uint8 pixels are read as the command reads them: divided by 255.
    a = vaekit.VAE(**SMALL).fit(as_bytes).score_samples(as_bytes)
    b = vaekit.VAE(**SMALL).fit(as_bytes / np.float32(255)).score_samples(as_bytes / 255)
    assert np.allclose(a, b, atol=1e-3)


def test_iw_samples_tighten_the_bound():
    x, _ = digits()
    vae = vaekit.VAE(**SMALL).fit(x)
    elbo = vae.score_samples(x[:100]).mean()
    iw = vae.set_params(iw_samples=64).score_samples(x[:100]).mean()
    assert iw > elbo


def test_pipeline_and_grid_search():
    x, _ = digits()
    table = x.reshape(len(x), -1)[:400]
    pipe = Pipeline([("scale", StandardScaler()), ("vae", vaekit.VAE(**SMALL))])
    assert pipe.fit_transform(table).shape == (400, 2)
    search = GridSearchCV(vaekit.VAE(**SMALL), {"latent_dim": [1, 4]}, cv=2)
    search.fit(table)
    assert search.best_params_["latent_dim"] in (1, 4)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert clone(search.best_estimator_).get_params()["latent_dim"] == search.best_params_[
        "latent_dim"]


def test_dataframes_in_and_out():
    rng = np.random.default_rng(0)
    numbers = pd.DataFrame({"height": rng.normal(170, 10, 300), "weight": rng.normal(70, 8, 300)})
    vae = vaekit.VAE(**SMALL).fit(numbers)
    assert list(vae.feature_names_in_) == ["height", "weight"]
    sampled = vae.sample(50)
    assert list(sampled.columns) == ["height", "weight"]
    assert 120 < sampled["height"].mean() < 220  # in the data's units
    assert vae.transform(numbers).shape == (300, 2)
    assert vae.set_output(transform="pandas").transform(numbers).columns[0] == "vae0"

    mixed = pd.DataFrame({
        "age": rng.integers(18, 90, 400),
        "job": rng.choice(["nurse", "clerk", "farmer"], 400),
        "smoker": rng.choice(["yes", "no"], 400),
        "income": rng.normal(40_000, 9_000, 400).round(2),
    })
    mixed.loc[::7, "income"] = np.nan  # holes are left out of the likelihood
    typed = vaekit.VAE(**SMALL).fit(mixed)
    rows = typed.sample(100)
    assert list(rows.columns) == ["age", "job", "smoker", "income"]
    assert set(rows["job"]) <= {"nurse", "clerk", "farmer"}
    assert set(rows["smoker"]) <= {"yes", "no"}
    assert rows["age"].dtype.kind == "i"
    assert typed.transform(mixed).shape == (400, 2)
    assert np.isfinite(typed.score_samples(mixed)).all()
    with pytest.raises(ValueError, match="DataFrame"):
        typed.transform(mixed.to_numpy())
    # Codes from a mixture fitted to the rows' codes: the same columns and
    # types, reproducible for a seed, and the same as the CLI's flag asks.
    fitted = typed.sample(100, random_state=3, code_mixture=5, X=mixed)
    assert list(fitted.columns) == ["age", "job", "smoker", "income"]
    assert set(fitted["job"]) <= {"nurse", "clerk", "farmer"}
    pd.testing.assert_frame_equal(fitted, typed.sample(100, random_state=3, code_mixture=5,
                                                       X=mixed))
    with pytest.raises(ValueError, match="training rows as X"):
        typed.sample(10, code_mixture=5)
    with pytest.raises(ValueError, match="fewer than the 500"):
        typed.sample(10, code_mixture=500, X=mixed)


def test_codes_from_a_fitted_mixture_stay_where_the_data_is():
    # Two far-apart clusters of rows: prior draws decode between them as
    # often as the prior puts mass there; codes from the fitted mixture land
    # on one cluster or the other, so fewer rows fall in the empty middle.
    rng = np.random.default_rng(0)
    centres = rng.choice([-4.0, 4.0], size=(600, 1))
    x = (centres + rng.normal(0.0, 0.3, (600, 6))).astype(np.float32)
    vae = vaekit.VAE(**dict(SMALL, epochs=30, latent_dim=1)).fit(x)
    middle = lambda rows: float(np.mean(np.abs(rows.mean(axis=1)) < 2.0))
    prior = middle(vae.sample(2000, random_state=0))
    fitted = middle(vae.sample(2000, random_state=0, code_mixture=2, X=x))
    assert fitted < prior, (fitted, prior)


def cli(*args):
    out = subprocess.run([vaekit_binary(), *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def cli_scores(run, data, tmp_path):
    path = tmp_path / "scores.csv"
    cli("score", "--run", str(run), "--data", str(data), "--out", str(path))
    with open(path) as f:
        return np.array([float(r["score"]) for r in csv.DictReader(f)])


def test_a_cli_run_in_python_and_a_python_run_on_the_command_line(tmp_path):
    x, _ = digits()
    data = tmp_path / "digits.npy"
    np.save(data, x)
    run = tmp_path / "cli-run"
    cli("train", "--data", str(data), "--out", str(run), "--epochs", "2", "--hidden", "32",
        "--latent", "3", "--quiet")
    loaded = vaekit.load(str(run))
    assert loaded.get_params()["latent_dim"] == 3 and loaded.get_params()["hidden"] == (32,)
    python_scores = -loaded.score_samples(x)
    assert np.allclose(python_scores, cli_scores(run, data, tmp_path), rtol=1e-5, atol=1e-4)

    vae = vaekit.VAE(**SMALL).fit(x)
    saved = tmp_path / "py-run"
    vae.save(str(saved))
    assert np.allclose(-vae.score_samples(x), cli_scores(saved, data, tmp_path),
                       rtol=1e-5, atol=1e-4)
    cli("info", str(saved))
    with pytest.raises(ValueError, match="never overwrites"):
        vae.save(str(saved))


def test_pickle_goes_through_the_run_directory():
    x, _ = digits()
    vae = vaekit.VAE(**SMALL).fit(x)
    copy = pickle.loads(pickle.dumps(vae))
    assert copy.run_dir_ != vae.run_dir_
    assert np.array_equal(copy.transform(x[:20]), vae.transform(x[:20]))
    unfitted = pickle.loads(pickle.dumps(vaekit.VAE(latent_dim=3)))
    assert unfitted.get_params()["latent_dim"] == 3


def test_ctrl_c_stops_at_the_last_finished_epoch():
    x, _ = digits()
    # max_time bounds the test if no interrupt ever arrives (it then fails
    # here instead of training for an hour).
    vae = vaekit.VAE(**dict(SMALL, epochs=100_000, max_time="120s"))
    # A Ctrl-C every 10 s from 3 s on, until fit returns: one SIGINT was
    # once lost in CI (the fit went on for 24,000 epochs; not reproduced
    # here, cause unknown), and a user would press again.
    done = threading.Event()

    def press():
        if done.wait(3.0):
            return
        while True:
            os.kill(os.getpid(), signal.SIGINT)
            if done.wait(10.0):
                return

    presser = threading.Thread(target=press, daemon=True)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            vae.fit(x)
    finally:
        done.set()
        presser.join()
    # Three seconds are many epochs of this small model: it keeps the last.
    assert 1 <= vae.n_epochs_ < 100_000
    assert vae.transform(x[:5]).shape == (5, 2)


def test_early_stopping_and_max_time_end_fitting_and_are_kept():
    x, _ = digits()
    vae = vaekit.VAE(**dict(SMALL, epochs=400, early_stop=2, min_delta=0.5)).fit(x)
    assert 3 <= vae.n_epochs_ < 400
    assert vae.history_[-1]["stopped"] == "early-stop"
    scores = [m["val"]["neg_elbo"] for m in vae.history_]
    # No epoch of the last two beat the best before them by 0.5 nats.
    assert min(scores[-2:]) >= min(scores[:-2]) - 0.5
    again = vaekit.load(vae.run_dir_)
    assert (again.early_stop, again.min_delta) == (2, 0.5)
    timed = vaekit.VAE(**dict(SMALL, epochs=1_000_000, max_time="1s")).fit(x)
    assert timed.history_[-1]["stopped"] == "max-time"
    with pytest.raises(ValueError, match="--early-stop"):
        vaekit.VAE(**dict(SMALL, early_stop=2, val_fraction=0.0)).fit(x)


def test_bad_input_raises_python_errors():
    x, _ = digits()
    with pytest.raises(NotFittedError):
        vaekit.VAE().transform(x)
    bad = x.reshape(len(x), -1).copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vaekit.VAE(**SMALL).fit(bad)
    with pytest.raises(ValueError, match="latent"):
        vaekit.VAE(**dict(SMALL, latent_dim=0)).fit(x)
    with pytest.raises(ValueError, match="invalid setting"):
        vaekit.VAE(**dict(SMALL, likelihood="cauchy")).fit(x)
    vae = vaekit.VAE(**SMALL).fit(x)
    with pytest.raises(ValueError, match="shape"):
        vae.transform(x[:, :4])
    with pytest.raises(ValueError):
        vae.inverse_transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="could not convert|must hold numbers|string"):
        vaekit.VAE(**SMALL).fit(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="no vaekit run"):
        vaekit.load("/nonexistent")


def test_detector_has_pyods_interface():
    x, y = digits()
    normal = x[y == 0]
    det = vaekit.VAEDetector(contamination=0.1, **dict(SMALL, epochs=20))
    det.fit(normal)
    assert det.decision_scores_.shape == (len(normal),)
    assert abs(det.labels_.mean() - 0.1) < 0.03
    assert np.isclose(det.threshold_, np.percentile(det.decision_scores_, 90))
    others = x[y != 0][:300]
    # Other digits score as more abnormal than the normal ones on average.
    assert det.decision_function(others).mean() > det.decision_scores_.mean()
    proba = det.predict_proba(others)
    assert proba.shape == (300, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(np.unique(det.predict(others))) <= {0, 1}
    labels, confidence = det.predict(others, return_confidence=True)
    assert ((confidence >= 0) & (confidence <= 1)).all()
    assert np.array_equal(det.fit_predict(normal), det.labels_)
    with pytest.raises(ValueError, match="contamination"):
        vaekit.VAEDetector(contamination=0.9, **SMALL).fit(normal)
    assert clone(det).get_params()["contamination"] == 0.1


def test_conditional_model_takes_labels():
    x, y = digits()
    vae = vaekit.VAE(**dict(SMALL, model="cvae")).fit(x, y)
    assert list(vae.classes_) == list(range(10))
    assert vae.sample(4, y=3).shape == (4, 8, 8)
    assert vae.transform(x[:5], y[:5]).shape == (5, 2)
    with pytest.raises(ValueError, match="labels"):
        vae.transform(x[:5])
    with pytest.raises(ValueError, match="needs class labels"):
        vaekit.VAE(**dict(SMALL, model="cvae")).fit(x)


def test_minmax_pipeline_keeps_images_in_unit_interval():
    x, _ = digits()
    pipe = Pipeline([("scale", MinMaxScaler()), ("vae", vaekit.VAE(**SMALL))])
    pipe.fit(x.reshape(len(x), -1))
    assert pipe.score(x.reshape(len(x), -1)) < 0


def test_training_releases_the_gil_and_reports_progress(capsys):
    x, _ = digits()
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    thread = threading.Thread(target=count)
    thread.start()
    try:
        vaekit.VAE(**dict(SMALL, epochs=30, verbose=2)).fit(x)
    finally:
        done.set()
        thread.join()
    # Another Python thread ran all along (a held GIL would starve it).
    assert len(ticks) > 50
    err = capsys.readouterr().err
    assert "epoch 30: train -ELBO" in err
