//! Clusters of the latent space and how well they agree with labels.
//!
//! Two ways to cluster a trained model's data: k-means on the posterior means
//! ([`kmeans`]), which works for any model, or the model's own clusters when
//! its prior is a Gaussian mixture (VaDE, Jiang et al. 2017), each example
//! going to the component of highest q(c|x) = p(c|z) at its posterior mean.
//! [`gmm`] fits the diagonal mixture that initializes such a prior.
//!
//! The agreement measures are the ones clustering papers report, so that
//! figures can be set beside theirs: accuracy under the best one-to-one
//! matching of clusters to labels, normalized mutual information (arithmetic
//! normalization, as scikit-learn's default) and the adjusted Rand index.

pub mod gmm;
pub mod kmeans;
pub mod metrics;

pub use gmm::{DiagonalGmm, fit_diagonal_gmm};
pub use kmeans::{KMeans, KMeansConfig, kmeans};
pub use metrics::{Agreement, agreement};

use burn::module::Module;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::latent::encode_dataset;
use crate::model::Vae;

/// EM steps of the diagonal mixture after k-means, when a mixture prior is
/// fitted to the codes.
const PRIOR_EM_STEPS: usize = 20;

/// Sets a Gaussian-mixture-prior model's prior from its codes, as VaDE
/// initializes it after pretraining: k-means (10 restarts, seeded by `seed`)
/// on the posterior means of `data`, then a few EM steps of a diagonal
/// mixture, whose weights, means and variances become pi, mu_c and var_c.
pub fn fit_mixture_prior(model: Vae, data: &Dataset, seed: u64) -> Result<Vae> {
    let Some(k) = model.mixture().map(|m| m.len()) else {
        return Ok(model);
    };
    let codes = encode_dataset(&model.valid(), data, 1000)?;
    if codes.len() < k {
        return Err(Error::Data(format!(
            "the mixture prior has {k} components and the training data only {} examples; give more data or fewer --components",
            codes.len()
        )));
    }
    let config = KMeansConfig {
        seed,
        ..KMeansConfig::new(k)
    };
    let start = kmeans(&codes.mu, codes.latent_dim, &config)?;
    let gmm = fit_diagonal_gmm(&codes.mu, &start, PRIOR_EM_STEPS, 1e-4)?;
    Ok(model.with_mixture(&gmm.weights, &gmm.means, &gmm.variances))
}
