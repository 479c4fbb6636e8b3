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
