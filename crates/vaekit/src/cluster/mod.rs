//! Clusters of the latent space and how well they agree with labels.
//!
//! The agreement measures are the ones clustering papers report, so that
//! figures can be set beside theirs: accuracy under the best one-to-one
//! matching of clusters to labels, normalized mutual information (arithmetic
//! normalization, as scikit-learn's default) and the adjusted Rand index.

pub mod metrics;

pub use metrics::{Agreement, agreement};
