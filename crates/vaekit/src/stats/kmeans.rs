//! k-means (Lloyd's algorithm) with k-means++ seeding and restarts, on plain
//! row-major slices.
//!
//! Written here rather than taken from a crate: `linfa-clustering` is the
//! well-kept Rust k-means, but it brings `ndarray` and the `linfa` framework
//! (traits, datasets, its own RNG plumbing) for what is about a hundred lines
//! on the `[n, dim]` slices that [`crate::latent::Encoded`] already holds; the
//! `kmeans` crate needs nightly `portable_simd`. The algorithm follows
//! scikit-learn's `KMeans` (greedy k-means++ with 2 + ln k candidates per
//! centre, Lloyd iterations until no assignment changes, best of several
//! restarts by inertia), so its results can be checked against it.

use rand::RngExt;

use crate::error::{Error, Result};
use crate::random::{self, Rng, Stream};

/// How to run k-means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansConfig {
    /// The number of clusters.
    pub k: usize,
    /// Independent k-means++ starts; the one of lowest inertia is kept.
    pub restarts: usize,
    /// Upper bound on Lloyd iterations per start.
    pub max_iterations: usize,
    /// Seed of the k-means++ draws.
    pub seed: u64,
}

impl KMeansConfig {
    /// `k` clusters, 10 restarts (scikit-learn's classic `n_init`), at most
    /// 300 iterations each, seed 0.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            restarts: 10,
            max_iterations: 300,
            seed: 0,
        }
    }
}

/// A fitted k-means clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Number of clusters.
    pub k: usize,
    /// Width of a point.
    pub dim: usize,
    /// Centroids, row-major `[k, dim]`.
    pub centroids: Vec<f64>,
    /// The cluster of each point, in input order.
    pub assignments: Vec<u32>,
    /// Sum of squared distances of the points to their centroids.
    pub inertia: f64,
    /// Lloyd iterations of the kept start.
    pub iterations: usize,
    /// The inertia after each iteration of the kept start (non-increasing).
    pub inertia_history: Vec<f64>,
}

/// Clusters the `n = points.len() / dim` rows of `points` into `config.k`
/// clusters.
///
/// Errors when there are fewer points than clusters, `k` or `restarts` is 0, the
/// slice is not a whole number of rows, or a value is not finite.
pub fn kmeans(points: &[f32], dim: usize, config: &KMeansConfig) -> Result<KMeans> {
    let n = check_points(points, dim)?;
    if config.k == 0 {
        return Err(Error::setting(
            "--k",
            "the number of clusters must be at least 1",
        ));
    }
    if config.k > n {
        return Err(Error::setting(
            "--k",
            format!(
                "asks for {} clusters of {n} examples; give at most as many clusters as examples",
                config.k
            ),
        ));
    }
    if config.restarts == 0 {
        return Err(Error::setting(
            "--restarts",
            "k-means needs at least 1 start",
        ));
    }
    let points: Vec<f64> = points.iter().map(|&v| v as f64).collect();
    let mut rng = random::seeded(config.seed, Stream::Train);
    let mut best: Option<KMeans> = None;
    for _ in 0..config.restarts {
        let start = kmeans_plus_plus(&points, dim, config.k, &mut rng);
        let fit = lloyd(&points, dim, start, config.max_iterations);
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    Ok(best.expect("at least one restart"))
}

/// The number of rows of `points`, after checking it is a finite `[n, dim]` array.
pub(crate) fn check_points(points: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 || !points.len().is_multiple_of(dim) {
        return Err(Error::Data(format!(
            "{} values do not make rows of {dim}",
            points.len()
        )));
    }
    if let Some(i) = points.iter().position(|v| !v.is_finite()) {
        return Err(Error::Data(format!(
            "value {} of row {} is not finite; clustering needs finite codes",
            points[i],
            i / dim
        )));
    }
    Ok(points.len() / dim)
}

pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The index and squared distance of the centroid nearest to `point`.
pub(crate) fn nearest(point: &[f64], centroids: &[f64], dim: usize) -> (usize, f64) {
    centroids
        .chunks_exact(dim)
        .map(|c| squared_distance(point, c))
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |best, (j, d)| {
                if d < best.1 { (j, d) } else { best }
            },
        )
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's
/// 2 + ln k candidates per centre, keeping the one that lowers the potential
/// most): the first centre uniformly, each next one drawn with probability
/// proportional to the squared distance to the nearest centre so far.
fn kmeans_plus_plus(points: &[f64], dim: usize, k: usize, rng: &mut Rng) -> Vec<f64> {
    let n = points.len() / dim;
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let candidates = 2 + (k as f64).ln() as usize;
    let first = rng.random_range(0..n);
    let mut centroids = row(first).to_vec();
    let mut closest: Vec<f64> = (0..n)
        .map(|i| squared_distance(row(i), row(first)))
        .collect();
    for _ in 1..k {
        let total: f64 = closest.iter().sum();
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..candidates {
            let pick = if total > 0.0 {
                let mut target = rng.random::<f64>() * total;
                let mut pick = n - 1;
                for (i, &d) in closest.iter().enumerate() {
                    if target < d {
                        pick = i;
                        break;
                    }
                    target -= d;
                }
                pick
            } else {
                // Every point sits on a centre already: any point will do.
                rng.random_range(0..n)
            };
            let updated: Vec<f64> = (0..n)
                .map(|i| closest[i].min(squared_distance(row(i), row(pick))))
                .collect();
            let potential: f64 = updated.iter().sum();
            if best.as_ref().is_none_or(|b| potential < b.0) {
                best = Some((potential, pick, updated));
            }
        }
        let (_, pick, updated) = best.expect("at least two candidates");
        centroids.extend_from_slice(row(pick));
        closest = updated;
    }
    centroids
}

/// Lloyd's iterations from the given centroids until no point changes
/// cluster (or `max_iterations`). A cluster left empty takes the point
/// farthest from its centroid, so every cluster keeps a member.
fn lloyd(points: &[f64], dim: usize, mut centroids: Vec<f64>, max_iterations: usize) -> KMeans {
    let n = points.len() / dim;
    let k = centroids.len() / dim;
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let mut assignments = vec![u32::MAX; n];
    let mut distances = vec![0.0; n];
    let mut history = Vec::new();
    let mut iterations = 0;
    loop {
        let mut changed = false;
        for i in 0..n {
            let (j, d) = nearest(row(i), &centroids, dim);
            if assignments[i] != j as u32 {
                assignments[i] = j as u32;
                changed = true;
            }
            distances[i] = d;
        }
        history.push(distances.iter().sum());
        if !changed || iterations >= max_iterations {
            break;
        }
        iterations += 1;
        let mut sums = vec![0.0; k * dim];
        let mut counts = vec![0usize; k];
        for (i, &cluster) in assignments.iter().enumerate() {
            let j = cluster as usize;
            counts[j] += 1;
            for (s, v) in sums[j * dim..(j + 1) * dim].iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        for j in 0..k {
            if counts[j] == 0 {
                let far = (0..n)
                    .max_by(|&a, &b| distances[a].total_cmp(&distances[b]))
                    .unwrap_or(0);
                distances[far] = 0.0;
                centroids[j * dim..(j + 1) * dim].copy_from_slice(row(far));
                continue;
            }
            for (c, s) in centroids[j * dim..(j + 1) * dim]
                .iter_mut()
                .zip(&sums[j * dim..(j + 1) * dim])
            {
                *c = s / counts[j] as f64;
            }
        }
    }
    KMeans {
        k,
        dim,
        centroids,
        assignments,
        inertia: *history.last().unwrap_or(&0.0),
        iterations,
        inertia_history: history,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `per` points around each of `centres`, spread `spread` (deterministic).
    pub(crate) fn blobs(centres: &[[f32; 2]], per: usize, spread: f32) -> (Vec<f32>, Vec<u32>) {
        let mut rng = random::seeded(7, Stream::Eval);
        let noise = random::normal(&mut rng, centres.len() * per * 2);
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for (c, centre) in centres.iter().enumerate() {
            for p in 0..per {
                let e = &noise[(c * per + p) * 2..(c * per + p) * 2 + 2];
                points.extend([centre[0] + spread * e[0], centre[1] + spread * e[1]]);
                labels.push(c as u32);
            }
        }
        (points, labels)
    }

    #[test]
    fn well_separated_blobs_are_recovered_exactly() {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]];
        let (points, labels) = blobs(&centres, 50, 0.5);
        let fit = kmeans(&points, 2, &KMeansConfig::new(4)).unwrap();
        let agreement = crate::stats::metrics::agreement(&labels, &fit.assignments).unwrap();
        assert_eq!(agreement.accuracy, 1.0);
        for centre in centres {
            let c = [centre[0] as f64, centre[1] as f64];
            let (_, d) = nearest(&c, &fit.centroids, 2);
            assert!(d < 0.1, "no centroid near {centre:?}");
        }
    }

    #[test]
    fn inertia_never_increases_and_restarts_keep_the_lowest() {
        // Overlapping blobs give Lloyd something to do.
        let (points, _) = blobs(&[[0.0, 0.0], [2.0, 0.5], [1.0, 2.0]], 60, 1.0);
        for seed in 0..5 {
            let config = KMeansConfig {
                restarts: 1,
                seed,
                ..KMeansConfig::new(5)
            };
            let fit = kmeans(&points, 2, &config).unwrap();
            assert!(fit.inertia_history.len() >= 2);
            for w in fit.inertia_history.windows(2) {
                assert!(w[1] <= w[0] + 1e-9, "{:?}", fit.inertia_history);
            }
            let many = kmeans(
                &points,
                2,
                &KMeansConfig {
                    restarts: 8,
                    ..config
                },
            )
            .unwrap();
            assert!(many.inertia <= fit.inertia + 1e-9);
        }
    }

    #[test]
    fn agrees_with_scikit_learn_on_a_fixed_dataset() {
        // The 20 points below and the reference inertia, from scikit-learn 1.9.1:
        //
        //   import numpy as np
        //   from sklearn.cluster import KMeans
        //   X = np.array([[(i * 37 % 17) / 4.0, (i * 11 % 13) / 3.0 + (i % 3)] for i in range(20)])
        //   for k in (2, 3, 4):
        //       km = KMeans(k, n_init=50, random_state=0).fit(X)
        //       print(k, repr(km.inertia_))
        let points: Vec<f32> = (0..20)
            .flat_map(|i| {
                [
                    (i * 37 % 17) as f32 / 4.0,
                    (i * 11 % 13) as f32 / 3.0 + (i % 3) as f32,
                ]
            })
            .collect();
        for (k, expected) in SKLEARN_INERTIA {
            let config = KMeansConfig {
                restarts: 50,
                ..KMeansConfig::new(k)
            };
            let fit = kmeans(&points, 2, &config).unwrap();
            assert!(
                (fit.inertia - expected).abs() < 1e-4 * expected,
                "k = {k}: {} vs scikit-learn's {expected}",
                fit.inertia
            );
        }
    }

    const SKLEARN_INERTIA: [(usize, f64); 3] = [
        (2, 37.902_612_433_862_43),
        (3, 11.417_824_074_074_073),
        (4, 7.972_800_925_925_925),
    ];

    #[test]
    fn bad_requests_are_errors() {
        let points = [0.0f32, 1.0, 2.0, 3.0];
        let err = kmeans(&points, 2, &KMeansConfig::new(3)).unwrap_err();
        assert!(err.to_string().contains("--k"), "{err}");
        assert!(kmeans(&points, 2, &KMeansConfig::new(0)).is_err());
        assert!(kmeans(&points, 3, &KMeansConfig::new(1)).is_err());
        assert!(kmeans(&[0.0, f32::NAN], 1, &KMeansConfig::new(1)).is_err());
        let fit = kmeans(&points, 2, &KMeansConfig::new(2)).unwrap();
        assert_eq!(fit.inertia, 0.0);
    }
}
