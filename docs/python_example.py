"""The example of docs/python.md; its output there comes from running this:

    crates/vaekit-py/dev.sh install --release
    target/python/bin/python docs/python_example.py
"""

import pickle
import tempfile

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

import vaekit

digits = load_digits()  # shipped with scikit-learn: 1,797 8x8 images
x, y = digits.images / 16.0, digits.target

# A scikit-learn transformer and density model.
vae = vaekit.VAE(latent_dim=8, hidden=(128,), epochs=100, verbose=0).fit(x)
print("epochs:", vae.n_epochs_, "| last train -ELBO:", round(vae.history_[-1]["train_neg_elbo"], 2))
codes = vae.transform(x)
print("codes:", codes.shape, codes.dtype)
print("mean ELBO (nats):", round(vae.score(x), 2))
print("mean IW log p(x), K=100:", round(vae.set_params(iw_samples=100).score(x), 2))
print("samples:", vae.sample(16, random_state=0).shape)
parts = vae.elbo(x[:3])
print("ELBO = log-likelihood - KL:", np.round(parts.elbo, 2), np.round(parts.log_likelihood, 2),
      np.round(parts.kl, 2))

# In a pipeline: a linear probe on the codes, cross-validated.
probe = make_pipeline(vaekit.VAE(latent_dim=8, hidden=(128,), epochs=100, verbose=0),
                      LogisticRegression(max_iter=2000))
print("probe accuracy (5-fold):", round(cross_val_score(probe, x, y, cv=5).mean(), 3))

# Grid search by the held-out ELBO.
search = GridSearchCV(vaekit.VAE(hidden=(128,), epochs=50, verbose=0),
                      {"latent_dim": [2, 8, 16]}, cv=3).fit(x)
print("best latent_dim:", search.best_params_["latent_dim"])

# Anomalies with PyOD's interface: trained on zeros, tested on everything.
det = vaekit.VAEDetector(contamination=0.05, hidden=(128,), latent_dim=8, epochs=200,
                         verbose=0).fit(x[y == 0])
print("AUROC zeros against the rest:", round(roc_auc_score(y != 0, det.decision_function(x)), 4))
print("flagged in training:", det.labels_.mean().round(3), "| threshold:", round(det.threshold_, 2))

# The run directory is the command line's: save, load, pickle.
with tempfile.TemporaryDirectory() as tmp:
    vae.save(f"{tmp}/digits-run")  # `vaekit eval --run {tmp}/digits-run` reads it
    again = vaekit.load(f"{tmp}/digits-run")
    print("loaded run, same codes:", np.allclose(again.transform(x), codes))
print("pickled, same codes:", np.allclose(pickle.loads(pickle.dumps(vae)).transform(x), codes))

# A DataFrame of mixed types, with holes: typed columns, missing cells left out.
rng = np.random.default_rng(0)
people = pd.DataFrame({
    "age": rng.integers(18, 90, 1000),
    "job": rng.choice(["nurse", "clerk", "farmer"], 1000, p=[0.5, 0.3, 0.2]),
    "smoker": rng.choice(["yes", "no"], 1000),
})
people["income"] = (20_000 + 400 * people["age"] + rng.normal(0, 5_000, 1000)).round(0)
people.loc[::10, "income"] = np.nan
table = vaekit.VAE(latent_dim=4, hidden=(64,), epochs=100, verbose=0).fit(people)
print(table.sample(5, random_state=0).to_string(index=False))
