from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

__version__: str

class ElboParts(NamedTuple):
    elbo: npt.NDArray[np.float64]
    log_likelihood: npt.NDArray[np.float64]
    kl: npt.NDArray[np.float64]

class VAE(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    run_dir_: str
    history_: list[dict[str, Any]]
    n_epochs_: int
    n_features_in_: int
    feature_names_in_: npt.NDArray[np.object_]
    classes_: npt.NDArray[Any]
    def __init__(
        self,
        latent_dim: int = 20,
        hidden: tuple[int, ...] = (400,),
        arch: str = "mlp",
        likelihood: str = "auto",
        model: str = "vae",
        prior: str = "standard",
        beta: float = 1.0,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        activation: str | None = None,
        binarize: str | None = None,
        val_fraction: float | None = None,
        kl_warmup: float | None = None,
        iw_samples: int | None = None,
        device: str = "cpu",
        random_state: int | None = 0,
        verbose: int = 1,
    ) -> None: ...
    def fit(self, X: Any, y: Any = None) -> VAE: ...
    def transform(self, X: Any, y: Any = None) -> npt.NDArray[np.floating[Any]]: ...
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> npt.NDArray[np.floating[Any]]: ...
    def inverse_transform(self, X: Any, y: Any = None) -> Any: ...
    def sample(self, n_samples: int = 1, random_state: Any = None, y: Any = None) -> Any: ...
    def reconstruct(self, X: Any, y: Any = None) -> Any: ...
    def score_samples(self, X: Any, y: Any = None) -> npt.NDArray[np.float64]: ...
    def score(self, X: Any, y: Any = None) -> float: ...
    def elbo(self, X: Any, y: Any = None) -> ElboParts: ...
    def save(self, path: str) -> str: ...

class VAEDetector(VAE):
    contamination: float
    decision_scores_: npt.NDArray[np.float64]
    threshold_: float
    labels_: npt.NDArray[np.int_]
    def __init__(self, contamination: float = 0.1, **params: Any) -> None: ...
    def decision_function(self, X: Any) -> npt.NDArray[np.float64]: ...
    def predict(self, X: Any, return_confidence: bool = False) -> Any: ...
    def predict_proba(self, X: Any, method: str = "linear", return_confidence: bool = False) -> Any: ...
    def predict_confidence(self, X: Any) -> npt.NDArray[np.float64]: ...
    def fit_predict(self, X: Any, y: Any = None) -> npt.NDArray[np.int_]: ...

def load(path: str, device: str = "cpu") -> VAE: ...
