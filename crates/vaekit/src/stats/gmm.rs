//! A Gaussian mixture with diagonal covariances fitted by EM from a k-means
//! start: how a mixture prior is initialized from the latent means after
//! pretraining (as VaDE does with scikit-learn's `GaussianMixture`).
//!
//! Written by hand for the same reason as [`super::kmeans`]: a few dozen lines
//! on plain slices, where the crates that have it (`linfa-clustering`) bring
//! `ndarray` and a framework.

use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::kmeans::KMeans;
use crate::error::{Error, Result};
use crate::random::Rng;

/// log(2 pi).
const LOG_2PI: f64 = 1.837_877_066_409_345_5;

/// A fitted mixture sum_c weight_c N(mean_c, diag(variance_c)).
#[derive(Debug, Clone, PartialEq)]
pub struct DiagonalGmm {
    /// Number of components.
    pub k: usize,
    /// Width of a point.
    pub dim: usize,
    /// Mixing weights, summing to 1, `[k]`.
    pub weights: Vec<f64>,
    /// Component means, row-major `[k, dim]`.
    pub means: Vec<f64>,
    /// Component variances, row-major `[k, dim]`.
    pub variances: Vec<f64>,
    /// Mean log-likelihood per point before each EM step and after the last
    /// (non-decreasing).
    pub log_likelihood: Vec<f64>,
}

impl DiagonalGmm {
    /// The logarithms [`Self::log_joint`] needs, taken once per E step rather
    /// than once per point (they were most of a fit's time).
    fn logs(&self) -> Logs {
        Logs {
            weights: self.weights.iter().map(|w| w.ln()).collect(),
            variances: self.variances.iter().map(|v| v.ln()).collect(),
        }
    }

    /// log weight_c + log N(point; mean_c, var_c) of each component.
    fn log_joint(&self, logs: &Logs, point: &[f64], out: &mut [f64]) {
        for (c, o) in out.iter_mut().enumerate() {
            let span = c * self.dim..(c + 1) * self.dim;
            let quad: f64 = point
                .iter()
                .zip(&self.means[span.clone()])
                .zip(&self.variances[span.clone()])
                .zip(&logs.variances[span])
                .map(|(((x, m), v), log_v)| (x - m) * (x - m) / v + log_v + LOG_2PI)
                .sum();
            *o = logs.weights[c] - 0.5 * quad;
        }
    }

    /// The component of highest posterior probability of each row of `points`.
    pub fn predict(&self, points: &[f32]) -> Vec<u32> {
        let logs = self.logs();
        let mut joint = vec![0.0; self.k];
        points
            .chunks_exact(self.dim)
            .map(|p| {
                let p: Vec<f64> = p.iter().map(|&v| v as f64).collect();
                self.log_joint(&logs, &p, &mut joint);
                argmax(&joint) as u32
            })
            .collect()
    }
}

/// log weight_c and log var_cd of a mixture.
struct Logs {
    weights: Vec<f64>,
    variances: Vec<f64>,
}

impl DiagonalGmm {
    /// One draw appended to `out`: a component by the mixing weights, then a
    /// point from its Gaussian.
    pub fn sample_into(&self, rng: &mut Rng, out: &mut Vec<f32>) {
        let u: f64 = rng.random();
        // The last component takes what rounding leaves above the weights' sum.
        let mut c = self.k - 1;
        let mut below = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            below += w;
            if u < below {
                c = i;
                break;
            }
        }
        let mean = &self.means[c * self.dim..(c + 1) * self.dim];
        let var = &self.variances[c * self.dim..(c + 1) * self.dim];
        for (m, v) in mean.iter().zip(var) {
            let eps: f64 = rng.sample(StandardNormal);
            out.push((m + v.sqrt() * eps) as f32);
        }
    }
}

fn argmax(values: &[f64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &v)| if v > b.1 { (i, v) } else { b },
        )
        .0
}

/// Fits a diagonal mixture to the rows of `points` by `steps` EM steps from
/// the clusters of `start` (weights the cluster shares, means the centroids,
/// variances the within-cluster variances). Every variance is at least
/// `min_variance`, which keeps a component on a single point finite
/// (scikit-learn's `reg_covar`, added to the variances, plays this role).
pub fn fit_diagonal_gmm(
    points: &[f32],
    start: &KMeans,
    steps: usize,
    min_variance: f64,
) -> Result<DiagonalGmm> {
    let (k, dim) = (start.k, start.dim);
    let n = points.len() / dim.max(1);
    if n != start.assignments.len() || n == 0 {
        return Err(Error::Data(format!(
            "the mixture is fitted to the {} points k-means clustered, given {n}",
            start.assignments.len()
        )));
    }
    let points: Vec<f64> = points.iter().map(|&v| v as f64).collect();
    // Hard responsibilities of the k-means clusters give the first M step.
    let mut resp = vec![0.0; n * k];
    for (i, &c) in start.assignments.iter().enumerate() {
        resp[i * k + c as usize] = 1.0;
    }
    let mut gmm = DiagonalGmm {
        k,
        dim,
        weights: vec![0.0; k],
        means: vec![0.0; k * dim],
        variances: vec![0.0; k * dim],
        log_likelihood: Vec::new(),
    };
    maximize(&mut gmm, &points, &resp, min_variance);
    for _ in 0..steps {
        let ll = expect(&gmm, &points, &mut resp);
        gmm.log_likelihood.push(ll);
        maximize(&mut gmm, &points, &resp, min_variance);
    }
    let ll = expect(&gmm, &points, &mut resp);
    gmm.log_likelihood.push(ll);
    Ok(gmm)
}

/// Points per parallel task of the E step: a fixed size, so that the
/// partial sums, added in task order, do not depend on the threads.
const POINTS_PER_TASK: usize = 4096;

/// E step: fills the responsibilities `[n, k]` and returns the mean
/// log-likelihood per point. The points are split between rayon's threads
/// (the E step was most of a table's loading: a mixture per numeric
/// column, 32,561 points of UCI Adult each).
fn expect(gmm: &DiagonalGmm, points: &[f64], resp: &mut [f64]) -> f64 {
    let (k, dim) = (gmm.k, gmm.dim);
    let logs = gmm.logs();
    let partials: Vec<f64> = points
        .par_chunks(POINTS_PER_TASK * dim)
        .zip(resp.par_chunks_mut(POINTS_PER_TASK * k))
        .map(|(points, resp)| {
            let mut total = 0.0;
            for (p, r) in points.chunks_exact(dim).zip(resp.chunks_exact_mut(k)) {
                gmm.log_joint(&logs, p, r);
                let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = r.iter().map(|v| (v - max).exp()).sum();
                let log_sum = max + sum.ln();
                for v in r.iter_mut() {
                    *v = (*v - log_sum).exp();
                }
                total += log_sum;
            }
            total
        })
        .collect();
    partials.iter().sum::<f64>() / (points.len() / dim) as f64
}

/// M step: weights, means and variances from the responsibilities.
fn maximize(gmm: &mut DiagonalGmm, points: &[f64], resp: &[f64], min_variance: f64) {
    let (k, dim) = (gmm.k, gmm.dim);
    let n = points.len() / dim;
    let mut mass = vec![0.0; k];
    let mut first = vec![0.0; k * dim];
    let mut second = vec![0.0; k * dim];
    for (p, r) in points.chunks_exact(dim).zip(resp.chunks_exact(k)) {
        for c in 0..k {
            mass[c] += r[c];
            for d in 0..dim {
                first[c * dim + d] += r[c] * p[d];
                second[c * dim + d] += r[c] * p[d] * p[d];
            }
        }
    }
    for c in 0..k {
        // A component with no mass keeps its place with a tiny weight.
        let m = mass[c].max(1e-10);
        gmm.weights[c] = m / n as f64;
        for d in 0..dim {
            let mean = first[c * dim + d] / m;
            let var = second[c * dim + d] / m - mean * mean;
            gmm.means[c * dim + d] = mean;
            gmm.variances[c * dim + d] = var.max(min_variance);
        }
    }
    let total: f64 = gmm.weights.iter().sum();
    for w in &mut gmm.weights {
        *w /= total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::kmeans::tests::blobs;
    use crate::stats::kmeans::{KMeansConfig, kmeans};

    #[test]
    fn draws_follow_the_weights_means_and_variances() {
        // Two components far apart in 2-D, weights 0.3 and 0.7.
        let gmm = DiagonalGmm {
            k: 2,
            dim: 2,
            weights: vec![0.3, 0.7],
            means: vec![-10.0, 5.0, 10.0, -5.0],
            variances: vec![0.25, 4.0, 1.0, 9.0],
            log_likelihood: Vec::new(),
        };
        let mut rng = crate::random::seeded(1, crate::random::Stream::Sample);
        let n = 40_000;
        let mut draws = Vec::new();
        for _ in 0..n {
            gmm.sample_into(&mut rng, &mut draws);
        }
        assert_eq!(draws.len(), 2 * n);
        for c in 0..2 {
            let mine: Vec<&[f32]> = draws
                .chunks_exact(2)
                .filter(|p| (p[0] > 0.0) == (c == 1))
                .collect();
            let share = mine.len() as f64 / n as f64;
            // The share's standard error is sqrt(0.21 / n) = 0.0023.
            assert!((share - gmm.weights[c]).abs() < 0.01, "{c}: {share}");
            for d in 0..2 {
                let xs: Vec<f64> = mine.iter().map(|p| p[d] as f64).collect();
                let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
                let (m, v) = (gmm.means[c * 2 + d], gmm.variances[c * 2 + d]);
                assert!(
                    (mean - m).abs() < 5.0 * (v / xs.len() as f64).sqrt(),
                    "{c} {d}: {mean}"
                );
                assert!((var / v - 1.0).abs() < 0.05, "{c} {d}: {var} vs {v}");
            }
        }
    }

    #[test]
    fn em_raises_the_likelihood_and_finds_the_blobs() {
        // Blobs of unequal spread: EM's variances should follow them.
        let (mut points, labels) = blobs(&[[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], 200, 1.0);
        for (i, v) in points.iter_mut().enumerate() {
            if labels[i / 2] == 1 {
                let centre = if i % 2 == 0 { 6.0 } else { 0.0 };
                *v = centre + (*v - centre) * 0.3;
            }
        }
        let start = kmeans(&points, 2, &KMeansConfig::new(3)).unwrap();
        let gmm = fit_diagonal_gmm(&points, &start, 20, 1e-6).unwrap();
        for w in gmm.log_likelihood.windows(2) {
            assert!(w[1] >= w[0] - 1e-9, "{:?}", gmm.log_likelihood);
        }
        assert!((gmm.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let agreement = crate::stats::metrics::agreement(&labels, &gmm.predict(&points)).unwrap();
        assert!(agreement.accuracy > 0.99, "{agreement:?}");
        // The narrow blob has variances near 0.3^2, the others near 1.
        let narrow = (0..3)
            .min_by(|&a, &b| gmm.variances[a * 2].total_cmp(&gmm.variances[b * 2]))
            .unwrap();
        for c in 0..3 {
            let expected = if c == narrow { 0.09 } else { 1.0 };
            for d in 0..2 {
                let v = gmm.variances[c * 2 + d];
                assert!((v / expected - 1.0).abs() < 0.25, "component {c}: {v}");
            }
        }
    }
}
