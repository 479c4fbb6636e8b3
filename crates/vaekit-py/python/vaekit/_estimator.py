"""The estimators: `VAE` (scikit-learn) and `VAEDetector` (PyOD), and `load`.

Each fitted estimator owns a run directory, the one `vaekit train --out`
writes; the compiled module (`vaekit._vaekit`) trains it and answers every
query from it, so a run gives the same numbers here and on the command line.
Arrays are converted once: uint8 pixels are divided by 255 in Rust (as the
command reads bytes from an NPY file), any other number becomes float32.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
import tempfile
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _vaekit

# The files of a run directory that a model needs (and pickling carries);
# checkpoint.safetensors (Adam's moments, for --resume) is left out.
_RUN_FILES = ("config.json", "model.safetensors", "best.safetensors", "metrics.jsonl",
              "scaler.json")


class ElboParts(NamedTuple):
    """The ELBO of each example and its two terms, in nats:
    `elbo = log_likelihood - kl`."""

    elbo: np.ndarray
    log_likelihood: np.ndarray
    kl: np.ndarray


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "to_csv")


def _needs_typed_columns(frame):
    """True when a DataFrame holds more than complete numbers: words,
    categories, booleans or missing cells, which vaekit reads as typed
    columns (through CSV) instead of a matrix."""
    for dtype in frame.dtypes:
        if getattr(dtype, "kind", "O") not in "iuf":
            return True
    return bool(frame.isna().to_numpy().any())


class _Progress:
    """The training callback: a bar per epoch (tqdm's, which draws in
    terminals and notebooks alike, when installed; a line per epoch on
    stderr otherwise), and the epochs' metrics."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.history = []
        self.bar = None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self.tqdm = tqdm if verbose else None
        # Read by the training: without a bar, no event per step.
        self.wants_steps = self.tqdm is not None

    def __call__(self, event):
        kind = event["event"]
        if kind == "epoch_start" and self.tqdm is not None:
            self.bar = self.tqdm(total=event["steps"], unit="step", leave=self.verbose > 1,
                                 desc=f"epoch {event['epoch']}/{event['epochs']}")
        elif kind == "step" and self.bar is not None:
            self.bar.update(1)
            if event["step"] % 20 == 0:
                self.bar.set_postfix(loss=f"{event['loss']:.2f}", refresh=False)
        elif kind == "epoch_end":
            metrics = json.loads(event["metrics"])
            self.history.append(metrics)
            self.close()
            if self.verbose and (self.tqdm is None or self.verbose > 1):
                val = metrics.get("val")
                shown = f", val -ELBO {val['neg_elbo']:.3f}" if val else ""
                print(f"epoch {metrics['epoch']}: train -ELBO {metrics['train_neg_elbo']:.3f}"
                      f"{shown} ({metrics['seconds']:.1f} s)", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _settings(params, n_examples):
    """vaekit train's settings (by flag name) from an estimator's parameters."""
    likelihood = params["likelihood"]
    settings = {
        "latent": params["latent_dim"],
        "hidden": [int(h) for h in params["hidden"]],
        "arch": params["arch"],
        "model": params["model"],
        "prior": params["prior"],
        "beta": params["beta"],
        "epochs": params["epochs"],
        "batch-size": params["batch_size"],
        "lr": params["lr"],
        "seed": params["random_state"],
    }
    if likelihood != "auto":
        settings["likelihood"] = likelihood
    for name, flag in (("activation", "activation"), ("binarize", "binarize"),
                       ("val_fraction", "val-fraction"), ("kl_warmup", "kl-warmup"),
                       ("early_stop", "early-stop"), ("min_delta", "min-delta")):
        if params[name] is not None:
            settings[flag] = params[name]
    if params["max_time"] is not None:
        # A duration as the command takes it: "2h", "90m", or seconds.
        settings["max-time"] = str(params["max_time"])
    if params["val_fraction"] is None and n_examples < 20:
        # Too few examples to hold any out: train on them all.
        settings["val-fraction"] = 0.0
    return settings


class VAE(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A variational autoencoder, trained and queried by vaekit's Rust library.

    Parameters are `vaekit train`'s settings under scikit-learn's names;
    `None` leaves a setting at vaekit's default. `likelihood="auto"` picks
    Bernoulli for values in [0, 1] (images), Gaussian otherwise, and typed
    columns for a DataFrame of mixed types. `random_state` seeds every draw
    (an int; None draws one). `iw_samples` makes `score_samples` the
    K-sample importance-weighted log p(x) instead of the ELBO.
    `early_stop=N` ends training when the validation -ELBO has not improved
    by more than `min_delta` nats for N epochs, and `max_time` ("2h", "90m",
    or seconds) when another epoch would pass that much training time; the
    last entry of `history_` then says `stopped`.
    `verbose=0` is silent, 1 shows a progress bar per epoch, 2 also keeps
    the bars and prints each epoch's scores.

    Fitted attributes: `n_features_in_`, `feature_names_in_` (DataFrames),
    `history_` (each epoch's metrics), `run_dir_` (the run directory),
    `classes_` (`model="cvae"`), `n_epochs_` (epochs finished).
    """

    def __init__(self, latent_dim=20, hidden=(400,), arch="mlp", likelihood="auto",
                 model="vae", prior="standard", beta=1.0, epochs=10, batch_size=128, lr=1e-3,
                 activation=None, binarize=None, val_fraction=None, kl_warmup=None,
                 early_stop=None, min_delta=None, max_time=None,
                 iw_samples=None, device="cpu", random_state=0, verbose=1):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.arch = arch
        self.likelihood = likelihood
        self.model = model
        self.prior = prior
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.activation = activation
        self.binarize = binarize
        self.val_fraction = val_fraction
        self.kl_warmup = kl_warmup
        self.early_stop = early_stop
        self.min_delta = min_delta
        self.max_time = max_time
        self.iw_samples = iw_samples
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---- fitting -------------------------------------------------------

    def fit(self, X, y=None):
        """Trains a new model on X (images `(n, h, w)`, `(n, c, h, w)` or
        `(n, h, w, c)`; a table `(n, d)` or a DataFrame), with class labels
        y for `model="cvae"`. Returns self."""
        self._forget()
        params = self.get_params()
        if params["random_state"] is None:
            params["random_state"] = int(np.random.SeedSequence().generate_state(1)[0])
        elif not isinstance(params["random_state"], (int, np.integer)):
            raise ValueError("random_state must be an int or None (vaekit seeds its own "
                             f"generators), not {type(params['random_state']).__name__}")
        params["random_state"] = int(params["random_state"])
        labels = self._fit_labels(y)
        workdir = tempfile.mkdtemp(prefix="vaekit-")
        out = os.path.join(workdir, "run")
        progress = _Progress(self.verbose)
        try:
            if _is_dataframe(X) and _needs_typed_columns(X):
                self._fit_typed(X, y, params, out, workdir, progress)
            else:
                x = self._array(X, reset=True)
                settings = _settings(params, x.shape[0])
                description = f"numpy array {tuple(x.shape)}"
                _vaekit.train_array(out, json.dumps(settings), x, labels, description,
                                    progress, self.device)
        except KeyboardInterrupt:
            # The run keeps its last finished epoch: the estimator is that model.
            progress.close()
            if os.path.exists(os.path.join(out, "best.safetensors")):
                self._adopt(out, workdir, progress.history)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        except BaseException:
            progress.close()
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        self._adopt(out, workdir, progress.history)
        return self

    def _fit_typed(self, X, y, params, out, workdir, progress):
        """A DataFrame of mixed types trains through CSV: vaekit types its
        columns (numbers, integers, categories, booleans), and empty cells
        are missing."""
        if self.model == "cvae":
            raise ValueError("model='cvae' takes arrays; for a DataFrame of mixed types give "
                             "the label as a column of X with the command line's --label-column")
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        if X.shape[0] == 0:
            raise ValueError("X holds no rows (0 samples); fitting needs at least one")
        path = os.path.join(workdir, "table.csv")
        X.to_csv(path, index=False)
        settings = _settings(params, X.shape[0])
        settings["data"] = path
        settings["format"] = "csv"
        _vaekit.train_source(out, json.dumps(settings), progress, self.device)

    def _fit_labels(self, y):
        if self.model != "cvae":
            return None
        if y is None:
            raise ValueError("model='cvae' needs class labels: fit(X, y)")
        y = np.asarray(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        return np.ascontiguousarray(codes, dtype=np.uint32)

    def _adopt(self, out, workdir, history):
        self.run_dir_ = out
        self._workdir = workdir
        self.model_ = _vaekit.Model(out, self.device)
        self.history_ = history or _read_history(out)
        self.n_epochs_ = len(self.history_)
        self._n_features_out = self.model_.code_dim

    def _forget(self):
        for name in ("run_dir_", "model_", "history_", "n_epochs_", "classes_",
                     "feature_names_in_", "n_features_in_", "_input_shape", "_n_features_out"):
            self.__dict__.pop(name, None)

    def __del__(self):
        workdir = self.__dict__.get("_workdir")
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    # ---- input ---------------------------------------------------------

    def _array(self, X, reset):
        """X as the float32 or uint8 C-contiguous array vaekit reads, checked
        as scikit-learn checks input (n_features_in_ and names are set by fit)."""
        raw = X if _is_dataframe(X) else np.asarray(X) if not hasattr(X, "toarray") else X
        if getattr(raw, "ndim", 2) > 2:
            x = np.asarray(raw)
            if x.dtype == object or not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
                raise ValueError(f"X must hold numbers, not {x.dtype}")
            if reset:
                self._input_shape = x.shape[1:]
                self.n_features_in_ = int(np.prod(x.shape[1:]))
            elif x.shape[1:] != tuple(self._input_shape):
                raise ValueError(f"X has examples of shape {x.shape[1:]}, but {type(self).__name__}"
                                 f" was fitted on examples of shape {tuple(self._input_shape)}")
            if x.shape[0] == 0:
                raise ValueError("X holds no examples (0 samples)")
        else:
            x = validate_data(self, raw, reset=reset, dtype="numeric", ensure_min_samples=1)
            if reset:
                self._input_shape = x.shape[1:]
        if x.dtype == np.uint8:
            return np.ascontiguousarray(x)
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise ValueError("X contains NaN or infinity; vaekit trains on complete numbers "
                             "(for a table with holes, pass a DataFrame: empty cells are missing)")
        return np.ascontiguousarray(x, dtype=np.float32)

    def _data(self, X, y=None):
        """X through the run's preprocessing, for a query."""
        check_is_fitted(self, "model_")
        if self.model_.typed_table:
            if not _is_dataframe(X):
                raise ValueError("this model was fitted on a DataFrame of typed columns; pass a "
                                 "DataFrame with the same columns")
            with tempfile.TemporaryDirectory(prefix="vaekit-") as tmp:
                path = os.path.join(tmp, "rows.csv")
                X.to_csv(path, index=False)
                return self.model_.input_csv(path)
        x = self._array(X, reset=False)
        labels = None
        if self.model_.classes is not None:
            if y is None:
                raise ValueError("a conditional model (model='cvae') needs the examples' labels: "
                                 "pass y")
            y = np.asarray(y)
            unseen = ~np.isin(y, self.classes_)
            if unseen.any():
                raise ValueError(f"label {y[unseen][0]!r} was not seen in fit; the classes are "
                                 f"{list(self.classes_)}")
            labels = np.ascontiguousarray(np.searchsorted(self.classes_, y), dtype=np.uint32)
        return self.model_.input(x, labels)

    def _examples(self, values, like=None):
        """Model values `(n, d)` back in the shape and type the model was
        fitted on: images, a DataFrame, or an array."""
        if self.model_.typed_table:
            import pandas as pd
            return pd.read_csv(io.StringIO(self.model_.table_csv(values)))
        n = values.shape[0]
        shape = tuple(self._input_shape)
        image = self.model_.image_shape
        if image is not None and len(shape) >= 2:
            c, h, w = image
            values = values.reshape((n, c, h, w))
            if len(shape) == 3 and shape[-1] == c and c in (1, 3):
                values = values.transpose(0, 2, 3, 1)
            values = np.ascontiguousarray(values.reshape((n,) + shape))
        if like is not None and np.asarray(like).dtype == np.float64:
            values = values.astype(np.float64)
        if hasattr(self, "feature_names_in_") and values.ndim == 2:
            import pandas as pd
            return pd.DataFrame(values, columns=list(self.feature_names_in_))
        return values

    def _class_code(self, y):
        if y is None or self.model_.classes is None:
            if y is not None:
                raise ValueError("y is for a conditional model (model='cvae'); this one has none")
            return None
        match = np.flatnonzero(self.classes_ == y)
        if match.size == 0:
            raise ValueError(f"class {y!r} was not seen in fit; the classes are "
                             f"{list(self.classes_)}")
        return int(match[0])

    # ---- queries ---------------------------------------------------------

    def transform(self, X, y=None):
        """The posterior mean of each example's code, `(n, latent_dim)`
        (the top layer's for `model="hvae"`)."""
        data = self._data(X, y)
        codes = self.model_.transform(data)
        if not _is_dataframe(X) and np.asarray(X).dtype == np.float64:
            return codes.astype(np.float64)
        return codes

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).transform(X, y if self.model == "cvae" else None)

    def inverse_transform(self, X, y=None):
        """Codes `(n, latent_dim)` decoded to the mean of p(x|z), in the
        data's shape and units (a class y for a conditional model)."""
        self._fitted()
        z = np.asarray(X)
        if z.ndim != 2 or z.shape[1] != self.model_.code_dim:
            raise ValueError(f"codes must be of shape (n, {self.model_.code_dim}), not {z.shape}")
        values = self.model_.inverse_transform(np.ascontiguousarray(z, dtype=np.float32),
                                               self._class_code(y))
        return self._examples(values, like=z)

    def sample(self, n_samples=1, random_state=None, y=None, code_mixture=None, X=None,
               X_y=None):
        """`n_samples` examples generated from the prior, in the data's
        shape and units (of class y for a conditional model).

        With `code_mixture=K` and rows `X` (the training rows, usually; with
        their labels `X_y` for a conditional model), the codes are drawn
        from a K-component Gaussian mixture fitted to the codes of X instead
        of from the prior (as `vaekit sample --code-mixture K`)."""
        self._fitted()
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, not {n_samples!r}")
        seed = 0 if random_state is None else random_state
        if not isinstance(seed, (int, np.integer)):
            seed = int(np.random.default_rng(seed).integers(2**63))
        data = None
        if code_mixture is not None:
            if not isinstance(code_mixture, (int, np.integer)) or code_mixture < 1:
                raise ValueError(f"code_mixture must be a positive int, not {code_mixture!r}")
            if X is None:
                raise ValueError("code_mixture fits a mixture to the codes of rows X; pass the "
                                 "training rows as X")
            data = self._data(X, X_y)
        elif X is not None:
            raise ValueError("X is for code_mixture; pass code_mixture=K or drop X")
        return self._examples(self.model_.sample(
            int(n_samples), int(seed), self._class_code(y), data,
            None if code_mixture is None else int(code_mixture)))

    def reconstruct(self, X, y=None):
        """Each example decoded at its posterior mean, in its own shape."""
        data = self._data(X, y)
        values = self.model_.reconstruct(data)
        return self._examples(values, like=None if _is_dataframe(X) else X)

    def score_samples(self, X, y=None):
        """The log-likelihood bound of each example in nats: the ELBO (one
        draw of z), or the `iw_samples`-sample importance-weighted log p(x).
        Higher means more like the training data."""
        data = self._data(X, y)
        return self.model_.score_samples(data, self.iw_samples)

    def score(self, X, y=None):
        """The mean of `score_samples(X)`."""
        return float(np.mean(self.score_samples(X, y if self.model == "cvae" else None)))

    def elbo(self, X, y=None):
        """The ELBO of each example with its parts (`ElboParts`)."""
        data = self._data(X, y)
        recon, kl = self.model_.elbo(data)
        return ElboParts(elbo=-(recon + kl), log_likelihood=-recon, kl=kl)

    def _fitted(self):
        check_is_fitted(self, "model_")
        return True

    # ---- the run directory ---------------------------------------------------

    def save(self, path):
        """Writes the model's run directory to `path` (a new or empty
        folder): `vaekit eval --run PATH` and every other command read it."""
        self._fitted()
        if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
            raise ValueError(f"{path} exists and is not an empty folder; vaekit never "
                             "overwrites a run")
        parent = os.path.dirname(os.path.abspath(path))
        tmp = tempfile.mkdtemp(prefix=".vaekit-save-", dir=parent)
        try:
            for name in sorted(os.listdir(self.run_dir_)):
                src = os.path.join(self.run_dir_, name)
                if os.path.isfile(src):
                    shutil.copy2(src, os.path.join(tmp, name))
            if os.path.isdir(path):
                os.rmdir(path)
            os.rename(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    def __getstate__(self):
        state = dict(self.__dict__)
        for name in ("model_", "_workdir", "run_dir_"):
            state.pop(name, None)
        if "model_" in self.__dict__:
            files = {}
            for name in _RUN_FILES:
                p = os.path.join(self.run_dir_, name)
                if os.path.exists(p):
                    with open(p, "rb") as f:
                        files[name] = f.read()
            state["_run_files"] = files
        return state

    def __setstate__(self, state):
        files = state.pop("_run_files", None)
        self.__dict__.update(state)
        if files is not None:
            workdir = tempfile.mkdtemp(prefix="vaekit-")
            out = os.path.join(workdir, "run")
            os.mkdir(out)
            for name, data in files.items():
                with open(os.path.join(out, name), "wb") as f:
                    f.write(data)
            self.run_dir_ = out
            self._workdir = workdir
            self.model_ = _vaekit.Model(out, state.get("device", "cpu"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        return tags


def _read_history(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class VAEDetector(VAE):
    """An anomaly detector with PyOD's interface: a VAE trained on the data,
    each example scored by its negative ELBO (or, with `iw_samples`, its
    negative importance-weighted log p(x)); higher means more abnormal.

    Fitted attributes as PyOD's: `decision_scores_` (the training examples'
    scores), `threshold_` (their `1 - contamination` quantile) and `labels_`
    (1 above the threshold, else 0).
    """

    def __init__(self, contamination=0.1, latent_dim=20, hidden=(400,), arch="mlp",
                 likelihood="auto", model="vae", prior="standard", beta=1.0, epochs=10,
                 batch_size=128, lr=1e-3, activation=None, binarize=None, val_fraction=None,
                 kl_warmup=None, early_stop=None, min_delta=None, max_time=None,
                 iw_samples=None, device="cpu", random_state=0, verbose=1):
        super().__init__(latent_dim=latent_dim, hidden=hidden, arch=arch, likelihood=likelihood,
                         model=model, prior=prior, beta=beta, epochs=epochs,
                         batch_size=batch_size, lr=lr, activation=activation,
                         binarize=binarize, val_fraction=val_fraction, kl_warmup=kl_warmup,
                         early_stop=early_stop, min_delta=min_delta, max_time=max_time,
                         iw_samples=iw_samples, device=device, random_state=random_state,
                         verbose=verbose)
        self.contamination = contamination

    def fit(self, X, y=None):
        """Trains on X (unsupervised: y is ignored, as in PyOD) and sets
        `decision_scores_`, `threshold_` and `labels_`."""
        if not 0 < self.contamination <= 0.5:
            raise ValueError(f"contamination must be in (0, 0.5], not {self.contamination!r}")
        super().fit(X, None)
        self.decision_scores_ = self.decision_function(X)
        self.threshold_ = float(np.percentile(self.decision_scores_,
                                              100 * (1 - self.contamination)))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def decision_function(self, X):
        """The anomaly score of each example: -ELBO in nats (higher = more abnormal)."""
        return -self.score_samples(X)

    def predict(self, X, return_confidence=False):
        """1 for an outlier (score above `threshold_`), 0 for an inlier."""
        labels = (self.decision_function(X) > self.threshold_).astype(int)
        if return_confidence:
            return labels, self.predict_confidence(X)
        return labels

    def predict_proba(self, X, method="linear", return_confidence=False):
        """`(n, 2)` probabilities of inlier and outlier, as PyOD computes
        them: the score min-max scaled by the training scores (`linear`) or
        turned into a probability by the Gaussian error function (`unify`)."""
        scores = self.decision_function(X)
        train = self.decision_scores_
        if method == "linear":
            span = train.max() - train.min()
            outlier = (scores - train.min()) / (span if span > 0 else 1.0)
            outlier = np.clip(outlier, 0, 1)
        elif method == "unify":
            std = train.std()
            z = (scores - train.mean()) / (std if std > 0 else 1.0)
            outlier = np.clip(np.vectorize(math.erf)(z / math.sqrt(2)), 0, 1)
        else:
            raise ValueError(f"method must be 'linear' or 'unify', not {method!r}")
        proba = np.column_stack([1 - outlier, outlier])
        if return_confidence:
            return proba, self.predict_confidence(X)
        return proba

    def predict_confidence(self, X):
        """PyOD's confidence in each prediction (Perini et al. 2020): how
        surely the example falls on its side of the threshold, in [0, 1]."""
        from scipy.stats import binom
        n = len(self.decision_scores_)
        scores = self.decision_function(X)
        count = np.searchsorted(np.sort(self.decision_scores_), scores, side="left")
        posterior = (1 + count) / (2 + n)
        threshold_count = n * (1 - self.contamination)
        confidence = binom.cdf(threshold_count, n, posterior)
        labels = scores > self.threshold_
        return np.where(labels, 1 - confidence, confidence)

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_


def load(path, device="cpu"):
    """A fitted `VAE` from a run directory, whether `vaekit train` or
    `VAE.save` wrote it; its parameters are the run's settings."""
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ValueError(f"{path} holds no vaekit run (no config.json); pass the --out folder "
                         "of `vaekit train` or a folder written by VAE.save")
    model = _vaekit.Model(path, device)
    config = json.loads(model.config_json)
    s = config["settings"]
    vae = VAE(latent_dim=s.get("latent", 20), hidden=tuple(s.get("hidden") or (400,)),
              arch=s.get("arch", "mlp"), likelihood=s.get("likelihood", "auto"),
              model=s.get("model", "vae"), prior=s.get("prior", "standard"),
              beta=s.get("beta", 1.0), epochs=s.get("epochs", 10),
              batch_size=s.get("batch-size", 128), lr=s.get("lr", 1e-3),
              activation=s.get("activation"), binarize=s.get("binarize"),
              val_fraction=s.get("val-fraction"), kl_warmup=s.get("kl-warmup"),
              early_stop=s.get("early-stop"), min_delta=s.get("min-delta"),
              max_time=s.get("max-time"), device=device, random_state=s.get("seed", 0), verbose=0)
    vae.run_dir_ = os.path.abspath(path)
    vae.model_ = model
    vae.history_ = _read_history(path)
    vae.n_epochs_ = len(vae.history_)
    vae._n_features_out = model.code_dim
    image = model.image_shape
    if image is not None:
        c, h, w = image
        vae._input_shape = (h, w) if c == 1 else (c, h, w)
        vae.n_features_in_ = c * h * w
    else:
        columns = model.columns
        vae.n_features_in_ = len(columns)
        vae._input_shape = (len(columns),)
        if model.typed_table:
            vae.feature_names_in_ = np.asarray(columns, dtype=object)
    if config["model"].get("classes"):
        vae.classes_ = np.arange(config["model"]["classes"])
    return vae


__all__ = ["VAE", "VAEDetector", "ElboParts", "load", "NotFittedError"]
