//! Fitting on plain `[n, dim]` slices of numbers, apart from any model:
//! k-means, a diagonal Gaussian mixture by EM, and the agreement of a
//! clustering with labels. Clustering a model's codes ([`crate::cluster`])
//! and starting a mixture prior ([`crate::train`]) both build on these.

pub mod gmm;
pub mod kmeans;
pub mod metrics;
