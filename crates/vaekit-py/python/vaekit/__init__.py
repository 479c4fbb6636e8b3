"""vaekit: variational autoencoders at Rust speed, from Python.

    >>> import numpy as np, vaekit
    >>> vae = vaekit.VAE(latent_dim=2, hidden=(64,), epochs=2, verbose=0)
    >>> codes = vae.fit_transform(np.random.default_rng(0).random((200, 8, 8)))
    >>> codes.shape
    (200, 2)

`VAE` is a scikit-learn estimator (a transformer and a density model),
`VAEDetector` an anomaly detector with PyOD's interface, and `load` opens any
run the `vaekit` command trained. Every model is a run directory, the same one
`vaekit train --out` writes: `save` writes it, `load` reads it, and pickling
goes through it.
"""

from ._estimator import VAE, ElboParts, VAEDetector, load
from ._vaekit import version as _version

__version__ = _version()
__all__ = ["VAE", "VAEDetector", "ElboParts", "load", "__version__"]
