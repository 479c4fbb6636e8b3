//! Small classifiers for features: multinomial logistic regression and
//! k-nearest neighbours, on plain row-major `Vec<f32>` features.
//!
//! They exist to measure what a representation is worth (`vaekit probe`:
//! latent codes against raw values) and what synthetic examples add
//! (`vaekit augment`), so they are the two standard, well-understood probes
//! rather than anything tuned.
//!
//! # Why written here rather than taken from a crate
//!
//! The candidate was linfa (`linfa-logistic` for the regression, `linfa-nn`
//! for neighbour search), which is pure Rust and well kept. Checked against
//! version 0.8.1: it brings `linfa`, `argmin`, `argmin-math`, `ndarray` 0.16,
//! `ndarray-stats` and their dependencies, wants its data as `ndarray`
//! arrays (a copy of every feature matrix), multiplies matrices with
//! `matrixmultiply` where vaekit already has burn's `gemm` kernels, and
//! `linfa-nn` returns neighbours but no vote. What the two methods need is
//! one matrix product each way per step and a short L-BFGS loop (about 200
//! lines here, tested against scikit-learn below), so they are written on
//! burn's tensors instead of adding a second numerics stack.
//!
//! # Logistic regression
//!
//! Features are standardized with the training rows' mean and standard
//! deviation (a constant column is only centred). The weights `W` and
//! intercepts `b` minimise
//!
//! ```text
//! (1/n) Σ_i -log softmax(x_i W + b)[y_i]  +  (l2 / (2n)) ||W||²
//! ```
//!
//! with full-batch L-BFGS, which is scikit-learn's `LogisticRegression`
//! (multinomial, `lbfgs`) with `C = 1 / l2` and an unpenalised intercept, so
//! results can be checked against it. The gradient is computed in closed form
//! (`Xᵀ (P - Y) / n + l2 W / n`), with the two matrix products on burn.
//!
//! # k-nearest neighbours
//!
//! Euclidean distance on the features as given (no standardization: for pixels
//! and for latent codes the raw geometry is the meaningful one). Neighbours at
//! equal distance are taken in training order. The prediction is the class with
//! the most votes among the `k` nearest; a tie between classes goes to the tied
//! class whose member is nearest (so `k = 1` is the nearest neighbour's class,
//! and a 2-2 split goes to the class of the closer pair member).

use burn::tensor::{Device, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which classifier to use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Classifier {
    /// Multinomial logistic regression with an L2 penalty.
    Logreg(LogisticConfig),
    /// k-nearest neighbours, Euclidean, majority vote.
    Knn {
        /// Neighbours that vote.
        k: usize,
    },
}

impl Classifier {
    /// A short name for tables: `logreg` or `knn (k=5)`.
    pub fn describe(&self) -> String {
        match self {
            Classifier::Logreg(_) => "logreg".into(),
            Classifier::Knn { k } => format!("{k}-nn"),
        }
    }

    /// Trains on `train` and predicts the classes of `test`.
    ///
    /// # Shapes
    /// - `train`: `[train_labels.len(), dim]` row-major; `test`: `[m, dim]`
    /// - returns `m` predicted classes
    pub fn fit_predict(
        &self,
        train: &[f32],
        train_labels: &[u32],
        test: &[f32],
        dim: usize,
        device: &Device,
    ) -> Result<Vec<u32>> {
        match self {
            Classifier::Logreg(config) => {
                LogisticRegression::fit(train, train_labels, dim, config, device)?
                    .predict(test, device)
            }
            Classifier::Knn { k } => knn_predict(train, train_labels, test, dim, *k, device),
        }
    }
}

/// Settings of [`LogisticRegression::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticConfig {
    /// L2 penalty on the weights (not the intercepts), scikit-learn's `1 / C`.
    pub l2: f64,
    /// Most L-BFGS iterations.
    pub max_iterations: usize,
    /// Stop when every gradient component of the objective is below this.
    pub tolerance: f64,
}

impl Default for LogisticConfig {
    /// scikit-learn's defaults (`C = 1`, `tol = 1e-4`), with more iterations
    /// than its 100 so that unregularised-looking problems (many features,
    /// few examples) still converge.
    fn default() -> Self {
        Self {
            l2: 1.0,
            max_iterations: 1000,
            tolerance: 1e-4,
        }
    }
}

/// Per-feature mean and scale of the training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    mean: Vec<f32>,
    scale: Vec<f32>,
}

impl Standardizer {
    /// Fits on row-major `[n, dim]` features: the population standard
    /// deviation, or 1 for a constant column.
    pub fn fit(x: &[f32], dim: usize) -> Standardizer {
        let n = (x.len() / dim.max(1)).max(1) as f64;
        let mut sum = vec![0.0f64; dim];
        let mut square = vec![0.0f64; dim];
        for row in x.chunks_exact(dim.max(1)) {
            for (j, &v) in row.iter().enumerate() {
                sum[j] += f64::from(v);
                square[j] += f64::from(v) * f64::from(v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let scale = square
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let sd = (s / n - m * m).max(0.0).sqrt();
                if sd > 1e-8 { sd as f32 } else { 1.0 }
            })
            .collect();
        Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale,
        }
    }

    /// `(x - mean) / scale`, row by row.
    pub fn transform(&self, x: &[f32]) -> Vec<f32> {
        let dim = self.mean.len().max(1);
        x.chunks_exact(dim)
            .flat_map(|row| {
                row.iter()
                    .zip(self.mean.iter().zip(&self.scale))
                    .map(|(v, (m, s))| (v - m) / s)
            })
            .collect()
    }
}

/// A fitted multinomial logistic regression (see the module documentation).
#[derive(Debug, Clone)]
pub struct LogisticRegression {
    standardizer: Standardizer,
    /// `[dim, classes]` row-major, on standardized features.
    weights: Vec<f32>,
    /// `[classes]`.
    intercepts: Vec<f32>,
    classes: usize,
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// Whether the gradient tolerance was reached (rather than the iteration
    /// limit or a stalled line search).
    pub converged: bool,
}

/// Checks a feature matrix and its labels; returns the number of rows.
fn check_rows(x: &[f32], labels: Option<&[u32]>, dim: usize, what: &str) -> Result<usize> {
    if dim == 0 || !x.len().is_multiple_of(dim) {
        return Err(Error::Data(format!(
            "the {what} features ({} values) are not whole rows of {dim}",
            x.len()
        )));
    }
    let n = x.len() / dim;
    if let Some(labels) = labels
        && labels.len() != n
    {
        return Err(Error::Data(format!(
            "the {what} set has {n} examples but {} labels",
            labels.len()
        )));
    }
    if n == 0 {
        return Err(Error::Data(format!("the {what} set has no examples")));
    }
    Ok(n)
}

fn matrix(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

fn to_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap_or_default()
}

/// The objective and its gradient at one point, for L-BFGS.
struct Objective<'a> {
    x: Tensor<2>,
    labels: &'a [u32],
    n: usize,
    dim: usize,
    classes: usize,
    l2: f64,
    device: &'a Device,
}

impl Objective<'_> {
    /// Parameters are `[W (dim x classes) row-major, b (classes)]`.
    fn eval(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let (d, c, n) = (self.dim, self.classes, self.n);
        let w: Vec<f32> = params[..d * c].iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = params[d * c..].iter().map(|&v| v as f32).collect();
        let logits =
            self.x.clone().matmul(matrix(w, d, c, self.device)) + matrix(b, 1, c, self.device);
        let logp = to_vec(activation::log_softmax(logits, 1));
        let mut loss = 0.0f64;
        let mut residual = vec![0.0f32; n * c];
        let mut grad_b = vec![0.0f64; c];
        for (i, (&y, row)) in self.labels.iter().zip(logp.chunks_exact(c)).enumerate() {
            loss -= f64::from(row[y as usize]);
            for (j, &lp) in row.iter().enumerate() {
                let r = lp.exp() - if j == y as usize { 1.0 } else { 0.0 };
                residual[i * c + j] = r / n as f32;
                grad_b[j] += f64::from(r) / n as f64;
            }
        }
        let grad_w = to_vec(
            self.x
                .clone()
                .transpose()
                .matmul(matrix(residual, n, c, self.device)),
        );
        let penalty = self.l2 / n as f64;
        let squares: f64 = params[..d * c].iter().map(|v| v * v).sum();
        let grad = grad_w
            .iter()
            .zip(&params[..d * c])
            .map(|(&g, &p)| f64::from(g) + penalty * p)
            .chain(grad_b)
            .collect();
        (loss / n as f64 + 0.5 * penalty * squares, grad)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Remembered curvature pairs of L-BFGS.
const HISTORY: usize = 10;

/// Minimises `f` from `start` with L-BFGS (two-loop recursion, backtracking
/// Armijo line search). Returns the point, the iterations and whether the
/// gradient fell below `tolerance`.
fn lbfgs(
    f: impl Fn(&[f64]) -> (f64, Vec<f64>),
    start: Vec<f64>,
    max_iterations: usize,
    tolerance: f64,
) -> (Vec<f64>, usize, bool) {
    let mut x = start;
    let (mut fx, mut g) = f(&x);
    let mut pairs: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let norm_inf = |g: &[f64]| g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for iteration in 0..max_iterations {
        if norm_inf(&g) < tolerance {
            return (x, iteration, true);
        }
        // Two-loop recursion: direction = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(pairs.len());
        for (s, y, rho) in pairs.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = pairs.back().map_or_else(
            || 1.0 / norm_inf(&g).max(1e-12),
            |(s, y, _)| dot(s, y) / dot(y, y),
        );
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let slope = dot(&g, &direction);
        if slope >= 0.0 {
            // Not a descent direction (rounding): restart from the gradient.
            pairs.clear();
            continue;
        }
        let mut step = 1.0;
        let found = loop {
            let candidate: Vec<f64> = x
                .iter()
                .zip(&direction)
                .map(|(a, d)| a + step * d)
                .collect();
            let (fc, gc) = f(&candidate);
            if fc <= fx + 1e-4 * step * slope {
                break Some((candidate, fc, gc));
            }
            step *= 0.5;
            if step < 1e-10 {
                break None;
            }
        };
        let Some((next, f_next, g_next)) = found else {
            // No decrease left at float precision: as converged as it gets.
            return (x, iteration + 1, norm_inf(&g) < tolerance);
        };
        let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_next.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if pairs.len() == HISTORY {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        let decrease = fx - f_next;
        x = next;
        fx = f_next;
        g = g_next;
        if decrease.abs() <= 1e-12 * fx.abs().max(1.0) {
            // The objective no longer moves at float precision.
            return (x, iteration + 1, norm_inf(&g) < tolerance);
        }
    }
    let done = norm_inf(&g) < tolerance;
    (x, max_iterations, done)
}

impl LogisticRegression {
    /// Fits on row-major `[n, dim]` features with labels `0..classes`, where
    /// `classes` is the largest label plus one.
    ///
    /// # Shapes
    /// - `x`: `[labels.len(), dim]`
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for ragged features or a label count that differs from
    /// the rows; [`Error::Setting`] for a negative or non-finite `l2`.
    pub fn fit(
        x: &[f32],
        labels: &[u32],
        dim: usize,
        config: &LogisticConfig,
        device: &Device,
    ) -> Result<LogisticRegression> {
        let n = check_rows(x, Some(labels), dim, "training")?;
        if !(config.l2.is_finite() && config.l2 >= 0.0) {
            return Err(Error::setting(
                "--l2",
                format!("{} is not a usable penalty; give a number >= 0", config.l2),
            ));
        }
        let classes = labels.iter().max().map_or(1, |&m| m as usize + 1);
        let standardizer = Standardizer::fit(x, dim);
        let objective = Objective {
            x: matrix(standardizer.transform(x), n, dim, device),
            labels,
            n,
            dim,
            classes,
            l2: config.l2,
            device,
        };
        let start = vec![0.0; dim * classes + classes];
        let (params, iterations, converged) = lbfgs(
            |p| objective.eval(p),
            start,
            config.max_iterations,
            config.tolerance,
        );
        Ok(LogisticRegression {
            standardizer,
            weights: params[..dim * classes].iter().map(|&v| v as f32).collect(),
            intercepts: params[dim * classes..].iter().map(|&v| v as f32).collect(),
            classes,
            iterations,
            converged,
        })
    }

    /// Number of classes (largest training label plus one).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Class probabilities of each row.
    ///
    /// # Shapes
    /// - `x`: `[m, dim]`; returns `[m, classes]` row-major
    pub fn predict_proba(&self, x: &[f32], device: &Device) -> Result<Vec<f32>> {
        let dim = self.standardizer.mean.len();
        let m = check_rows(x, None, dim, "test")?;
        let c = self.classes;
        let logits = matrix(self.standardizer.transform(x), m, dim, device).matmul(matrix(
            self.weights.clone(),
            dim,
            c,
            device,
        )) + matrix(self.intercepts.clone(), 1, c, device);
        Ok(to_vec(activation::softmax(logits, 1)))
    }

    /// The most probable class of each row (the lower class on a tie).
    ///
    /// # Shapes
    /// - `x`: `[m, dim]`; returns `m` classes
    pub fn predict(&self, x: &[f32], device: &Device) -> Result<Vec<u32>> {
        let p = self.predict_proba(x, device)?;
        Ok(p.chunks_exact(self.classes).map(argmax).collect())
    }
}

fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best as u32
}

/// Test rows whose distances to all training rows are computed at once
/// (bounds the `[rows, n_train]` distance block in memory).
const KNN_CHUNK: usize = 256;

/// Predicts each test row's class by its `k` nearest training rows (see the
/// module documentation for the distance and the tie rule).
///
/// # Shapes
/// - `train`: `[train_labels.len(), dim]`; `test`: `[m, dim]`; returns `m` classes
///
/// # Errors
///
/// [`Error::Setting`] (`--k`) when `k` is 0 or more than the training rows;
/// [`Error::Data`] for ragged features.
pub fn knn_predict(
    train: &[f32],
    train_labels: &[u32],
    test: &[f32],
    dim: usize,
    k: usize,
    device: &Device,
) -> Result<Vec<u32>> {
    let n = check_rows(train, Some(train_labels), dim, "training")?;
    let m = check_rows(test, None, dim, "test")?;
    if k == 0 || k > n {
        return Err(Error::setting(
            "--k",
            format!("{k} neighbours cannot vote among {n} training examples; give 1 to {n}"),
        ));
    }
    let classes = train_labels.iter().max().map_or(1, |&c| c as usize + 1);
    // ||t - x||² = ||t||² - 2 t·x + ||x||²; ||t||² is the same for every x of
    // a test row, so the ranking needs only the last two terms.
    let norms: Vec<f32> = train
        .chunks_exact(dim)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let train_t = matrix(train.to_vec(), n, dim, device).transpose();
    let norms_t = matrix(norms, 1, n, device);
    let mut predictions = Vec::with_capacity(m);
    for chunk in test.chunks(KNN_CHUNK * dim) {
        let rows = chunk.len() / dim;
        let scores = to_vec(
            matrix(chunk.to_vec(), rows, dim, device)
                .matmul(train_t.clone())
                .mul_scalar(-2.0)
                + norms_t.clone(),
        );
        for row in scores.chunks_exact(n) {
            let nearest = nearest_k(row, k);
            predictions.push(vote(&nearest, train_labels, classes));
        }
    }
    Ok(predictions)
}

/// Indices of the `k` smallest values, nearest first, ties by index.
fn nearest_k(distances: &[f32], k: usize) -> Vec<usize> {
    let mut best: Vec<usize> = Vec::with_capacity(k + 1);
    for (i, &d) in distances.iter().enumerate() {
        if best.len() == k && d >= distances[best[k - 1]] {
            continue;
        }
        // Insert after every kept index at a distance <= d (ties by index).
        let at = best.partition_point(|&j| distances[j] <= d);
        best.insert(at, i);
        best.truncate(k);
    }
    best
}

/// The class with most votes; a tie goes to the class of the nearest voter
/// among the tied classes.
fn vote(nearest: &[usize], labels: &[u32], classes: usize) -> u32 {
    let mut counts = vec![0usize; classes];
    for &i in nearest {
        counts[labels[i] as usize] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0);
    nearest
        .iter()
        .map(|&i| labels[i])
        .find(|&c| counts[c as usize] == most)
        .unwrap_or(0)
}

/// Share of `predicted` equal to `truth`.
pub fn accuracy(predicted: &[u32], truth: &[u32]) -> f64 {
    let right = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    right as f64 / truth.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> Device {
        Device::flex()
    }

    #[test]
    fn separable_two_classes_are_learned() {
        // Class 1 exactly where x0 + x1 > 0; weak penalty.
        let points = [
            [-2.0, -1.0],
            [-1.0, -1.5],
            [-0.5, -0.2],
            [-1.5, 0.5],
            [0.3, 0.4],
            [1.0, -0.2],
            [2.0, 1.0],
            [0.5, 1.5],
        ];
        let x: Vec<f32> = points.iter().flatten().copied().collect();
        let y: Vec<u32> = points
            .iter()
            .map(|p| u32::from(p[0] + p[1] > 0.0))
            .collect();
        let config = LogisticConfig {
            l2: 1e-3,
            ..LogisticConfig::default()
        };
        let model = LogisticRegression::fit(&x, &y, 2, &config, &cpu()).unwrap();
        assert_eq!(model.predict(&x, &cpu()).unwrap(), y);
        // Far along the normal (1, 1) the answer is certain either way.
        let p = model
            .predict_proba(&[5.0, 5.0, -5.0, -5.0], &cpu())
            .unwrap();
        assert!(p[1] > 0.999 && p[2] > 0.999, "{p:?}");
        assert!(model.converged, "{} iterations", model.iterations);
    }

    #[test]
    fn with_no_features_the_intercepts_give_the_class_shares() {
        // A constant feature carries nothing: the optimum is p = class share
        // (closed form), here 1/4, 1/4, 1/2.
        let x = vec![3.0f32; 8];
        let y = [0, 1, 2, 2, 0, 1, 2, 2];
        let model = LogisticRegression::fit(&x, &y, 1, &LogisticConfig::default(), &cpu()).unwrap();
        let p = model.predict_proba(&[3.0], &cpu()).unwrap();
        for (got, want) in p.iter().zip([0.25, 0.25, 0.5]) {
            assert!((got - want).abs() < 1e-4, "{p:?}");
        }
    }

    /// Twelve rows of three features and three classes, and what scikit-learn
    /// 1.9 gives on them, computed with:
    ///
    /// ```python
    /// import numpy as np
    /// from sklearn.linear_model import LogisticRegression
    /// from sklearn.preprocessing import StandardScaler
    /// X = np.array(TOY_X, dtype=np.float64).reshape(12, 3); y = np.array(TOY_Y)
    /// s = StandardScaler().fit(X)
    /// m = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(s.transform(X), y)
    /// Q = np.array(QUERY).reshape(3, 3)
    /// print(m.predict_proba(s.transform(Q)).round(6).tolist())
    /// ```
    const TOY_X: [f32; 36] = [
        0.2, 1.1, -0.3, 0.8, 0.9, 0.1, -0.4, 1.5, 0.0, 0.5, 0.3, 0.7, //
        1.9, -0.2, 0.4, 1.4, 0.4, -0.8, 2.2, 0.6, 0.3, 1.0, -0.5, 0.9, //
        -1.2, -0.9, 1.6, -0.3, -1.4, 0.8, 0.1, -0.6, 2.0, -0.9, 0.2, 1.2,
    ];
    const TOY_Y: [u32; 12] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
    const QUERY: [f32; 9] = [0.0, 1.0, 0.0, 2.0, 0.0, 0.0, -1.0, -1.0, 1.5];
    const SKLEARN_PROBA: [f32; 9] = [
        0.817654, 0.107475, 0.074871, //
        0.099985, 0.884925, 0.01509, //
        0.033844, 0.017754, 0.948402,
    ];

    #[test]
    fn agrees_with_scikit_learn() {
        let model =
            LogisticRegression::fit(&TOY_X, &TOY_Y, 3, &LogisticConfig::default(), &cpu()).unwrap();
        let p = model.predict_proba(&QUERY, &cpu()).unwrap();
        for (got, want) in p.iter().zip(SKLEARN_PROBA) {
            assert!((got - want).abs() < 2e-4, "{p:?} vs {SKLEARN_PROBA:?}");
        }
    }

    #[test]
    fn knn_by_hand() {
        // Training points on a line: 0, 1, 2 (class 0), 10, 11 (class 1), 12 (class 2).
        let train = [0.0f32, 1.0, 2.0, 10.0, 11.0, 12.0];
        let labels = [0, 0, 0, 1, 1, 2];
        let test = [1.2f32, 10.4, 11.9, 6.1, 6.0];
        // k = 1: nearest are 1, 10, 12, 10 (distance 3.9 < 4.1), and for 6.0 the
        // tie at distance 4 between 2 (index 2) and 10 (index 3) goes to the
        // earlier training row: class 0.
        let p = knn_predict(&train, &labels, &test, 1, 1, &cpu()).unwrap();
        assert_eq!(p, [0, 1, 2, 1, 0]);
        // k = 3: 1.2 -> {1, 2, 0}: 0; 10.4 -> {10, 11, 12}: 1; 11.9 -> {12, 11, 10}: 1;
        // 6.1 -> {10 (3.9), 2 (4.1), 11 (4.9)}: 1; 6.0 -> {2, 10} at 4, then 1
        // and 11 tie at 5 and the earlier row, 1, is taken: {2, 10, 1}: 0.
        let p = knn_predict(&train, &labels, &test, 1, 3, &cpu()).unwrap();
        assert_eq!(p, [0, 1, 1, 1, 0]);
        // k = 2 at 11.9: {12 (class 2), 11 (class 1)}: a 1-1 tie goes to the
        // nearer, class 2; at 6.1: {10 (1), 2 (0)}: class 1.
        let p = knn_predict(&train, &labels, &test, 1, 2, &cpu()).unwrap();
        assert_eq!(p, [0, 1, 2, 1, 0]);
        assert!(matches!(
            knn_predict(&train, &labels, &test, 1, 7, &cpu()),
            Err(Error::Setting { .. })
        ));
    }

    #[test]
    fn knn_in_two_dimensions() {
        // A unit square of class 0 and a shifted one of class 1.
        let train = [
            0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 5.0, 5.0, 5.0, 6.0, 6.0, 5.0,
        ];
        let labels = [0, 0, 0, 1, 1, 1];
        let test = [0.4f32, 0.4, 5.2, 5.6, 2.0, 2.0];
        let p = knn_predict(&train, &labels, &test, 2, 3, &cpu()).unwrap();
        assert_eq!(p, [0, 1, 0]);
        assert_eq!(accuracy(&p, &[0, 1, 1]), 2.0 / 3.0);
    }
}
