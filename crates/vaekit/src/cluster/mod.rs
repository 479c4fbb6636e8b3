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

pub mod islands;

pub use crate::stats::gmm::{self, DiagonalGmm, fit_diagonal_gmm};
pub use crate::stats::kmeans::{self, KMeans, KMeansConfig, kmeans};
pub use crate::stats::metrics::{self, Agreement, agreement};
pub use islands::islands;

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::batch::{model_device, model_input};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::write_atomic_with;
use crate::latent::encode_dataset;
use crate::latent::map::{MapMethod, TSNE_MIN_POINTS, latent_map};
use crate::model::Vae;

/// How examples are put into clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// k-means on the posterior means E[z|x].
    Kmeans,
    /// The model's own clusters: argmax_c q(c|x) under its Gaussian mixture prior.
    Prior,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Kmeans => "kmeans",
            Method::Prior => "prior",
        })
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "kmeans" => Ok(Method::Kmeans),
            "prior" => Ok(Method::Prior),
            _ => Err(format!(
                "'{s}' is not a clustering method; use kmeans or prior"
            )),
        }
    }
}

/// Where k-means looks for the clusters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Space {
    /// The posterior means themselves.
    #[default]
    Latent,
    /// A 2-D t-SNE map of the posterior means. t-SNE keeps each example
    /// beside its nearest neighbours, so a class that is curved or stretched
    /// in the latent space becomes one island of the map: the manifold step
    /// that N2D (McConville et al. 2020) puts between an autoencoder and its
    /// clustering, there with UMAP. The islands are found by k-means into
    /// many pieces merged along neighbour links ([`islands`]), which, unlike
    /// k-means alone, does not split a large island or join two small ones.
    Tsne,
}

impl std::fmt::Display for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Space::Latent => "latent",
            Space::Tsne => "tsne",
        })
    }
}

impl std::str::FromStr for Space {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "latent" => Ok(Space::Latent),
            "tsne" | "t-sne" => Ok(Space::Tsne),
            _ => Err(format!(
                "'{s}' is not a clustering space; use latent or tsne"
            )),
        }
    }
}

/// What [`cluster_dataset`] does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterOptions {
    /// The method [default: prior for a Gaussian-mixture-prior model, else kmeans].
    pub method: Option<Method>,
    /// Number of clusters [default: the mixture's components for `prior`;
    /// for k-means the number of distinct labels of labelled data].
    pub k: Option<usize>,
    /// Where k-means runs.
    pub space: Space,
    /// k-means restarts.
    pub restarts: usize,
    /// Seed of k-means.
    pub seed: u64,
    /// Examples per forward pass.
    pub batch_size: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            method: None,
            k: None,
            space: Space::Latent,
            restarts: 10,
            seed: 0,
            batch_size: 1000,
        }
    }
}

/// The clusters of a dataset's examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clustering {
    /// How they were found.
    pub method: Method,
    /// Number of clusters.
    pub k: usize,
    /// Where k-means ran (the latent space for the model's own clusters).
    pub space: Space,
    /// The cluster of each example, in input order.
    #[serde(skip)]
    pub clusters: Vec<u32>,
    /// The labels in the same order, where the data has them.
    #[serde(skip)]
    pub labels: Option<Vec<u32>>,
    /// Agreement with the labels, where the data has them.
    pub agreement: Option<Agreement>,
    /// k-means inertia (sum of squared distances to the centroids), in the
    /// latent space.
    pub inertia: Option<f64>,
    /// Number of examples.
    pub examples: usize,
    /// Seconds for encoding and clustering.
    pub seconds: f64,
}

/// Clusters the examples of `data` with `model`: k-means on their posterior
/// means, or the model's own clusters under a Gaussian mixture prior.
pub fn cluster_dataset(
    model: &Vae,
    data: &Dataset,
    options: &ClusterOptions,
) -> Result<Clustering> {
    let started = Instant::now();
    let components = model.mixture().map(|m| m.len());
    let method = options.method.unwrap_or(match components {
        Some(_) => Method::Prior,
        None => Method::Kmeans,
    });
    if options.k == Some(0) {
        return Err(Error::setting(
            "--k",
            "the number of clusters must be at least 1",
        ));
    }
    if method == Method::Prior && options.space != Space::Latent {
        return Err(Error::setting(
            "--space",
            "the model's own clusters come from its prior in the latent space; use --method kmeans to cluster a t-SNE map",
        ));
    }
    let (clusters, k, inertia) = match method {
        Method::Prior => {
            let Some(components) = components else {
                return Err(Error::setting(
                    "--method prior",
                    "the run's prior is not a Gaussian mixture, so the model has no clusters of its own; use --method kmeans, or train with --prior gmm",
                ));
            };
            if let Some(k) = options.k.filter(|&k| k != components) {
                return Err(Error::setting(
                    "--k",
                    format!(
                        "the model's prior has {components} clusters, not {k}; drop --k, or use --method kmeans for another number"
                    ),
                ));
            }
            (
                model_clusters(model, data, options.batch_size)?,
                components,
                None,
            )
        }
        Method::Kmeans => {
            let k = match (options.k, data.labels()) {
                (Some(k), _) => k,
                (None, Some(labels)) => labels
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
                (None, None) => {
                    return Err(Error::setting(
                        "--k",
                        "the data has no labels to count classes from; give the number of clusters, such as --k 10",
                    ));
                }
            };
            let codes = encode_dataset(model, data, options.batch_size)?;
            let config = KMeansConfig {
                restarts: options.restarts,
                seed: options.seed,
                ..KMeansConfig::new(k)
            };
            match options.space {
                Space::Latent => {
                    let fit = kmeans(&codes.mu, codes.latent_dim, &config)?;
                    (fit.assignments, k, Some(fit.inertia))
                }
                Space::Tsne => {
                    let map = tsne_map(&codes.mu, codes.latent_dim)?;
                    (islands(&map, &config)?, k, None)
                }
            }
        }
    };
    let labels = data.labels().map(<[u32]>::to_vec);
    let agreement = match &labels {
        Some(labels) => Some(agreement(labels, &clusters)?),
        None => None,
    };
    Ok(Clustering {
        method,
        k,
        space: options.space,
        examples: clusters.len(),
        clusters,
        labels,
        agreement,
        inertia,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The 2-D t-SNE map of `codes` (row-major, `dim` columns), as points.
fn tsne_map(codes: &[f32], dim: usize) -> Result<Vec<f32>> {
    if dim < 2 {
        return Err(Error::setting(
            "--space tsne",
            format!(
                "a t-SNE map of a {dim}-d latent space shows nothing new; cluster with --space latent"
            ),
        ));
    }
    let n = codes.len() / dim;
    if n < TSNE_MIN_POINTS {
        return Err(Error::setting(
            "--space tsne",
            format!(
                "t-SNE needs at least {TSNE_MIN_POINTS} examples, not {n}; cluster with --space latent"
            ),
        ));
    }
    let map = latent_map(codes, dim, 2, Some(MapMethod::Tsne), "z")?;
    Ok(map.coords.iter().map(|&v| v as f32).collect())
}

/// argmax_c q(c|x) of every example, in order (see [`Vae::clusters`]).
fn model_clusters(model: &Vae, data: &Dataset, batch_size: usize) -> Result<Vec<u32>> {
    crate::batch::check_width(model, data)?;
    let device = model_device(model);
    let all: Vec<usize> = (0..data.len()).collect();
    let mut out = Vec::with_capacity(data.len());
    for chunk in all.chunks(batch_size.max(1)) {
        let x = model_input(model, data, chunk, None, &device);
        let Some(c) = model.clusters(x) else {
            return Err(Error::setting(
                "--method prior",
                "the model has no mixture prior",
            ));
        };
        let values = c
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap_or_default();
        out.extend(values.into_iter().map(|v| v as u32));
    }
    Ok(out)
}

/// Writes one row per example, in input order: `index,cluster` and `label`
/// where the data has labels, as CSV with a header.
pub fn write_clusters(path: &Path, clustering: &Clustering) -> Result<()> {
    write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        match clustering.labels {
            Some(_) => out.write_record(["index", "cluster", "label"])?,
            None => out.write_record(["index", "cluster"])?,
        }
        for (i, c) in clustering.clusters.iter().enumerate() {
            let mut row = vec![i.to_string(), c.to_string()];
            if let Some(labels) = &clustering.labels {
                row.push(labels[i].to_string());
            }
            out.write_record(&row)?;
        }
        out.flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_too_small_for_t_sne_point_to_the_latent_space() {
        for (codes, dim) in [(vec![0.5f32; 40], 1), (vec![0.5f32; 18], 2)] {
            let err = tsne_map(&codes, dim).unwrap_err().to_string();
            assert!(
                err.contains("--space tsne") && err.contains("--space latent"),
                "{err}"
            );
        }
        let (points, _) = kmeans::tests::blobs(&[[0.0, 0.0], [6.0, 0.0]], 20, 0.5);
        assert_eq!(tsne_map(&points, 2).unwrap().len(), points.len());
    }
}
