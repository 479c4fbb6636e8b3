//! Principal component analysis of latent codes, for maps of the latent space.
//!
//! Latent codes are short (a few to a few hundred values), so PCA is done on
//! the `d x d` covariance matrix, accumulated in f64, and diagonalized with the
//! cyclic Jacobi method written here. A linear-algebra crate (nalgebra,
//! faer) would bring tens of thousands of lines for one small symmetric
//! eigenproblem; Jacobi is short, unconditionally stable, and accurate to
//! machine precision on symmetric matrices, which is all this needs.
//!
//! Conventions follow scikit-learn's `PCA`: the variance of a component uses
//! the `n - 1` denominator, components are sorted by decreasing variance, and
//! the explained-variance ratio is a component's share of the total variance.
//! Eigenvectors are defined up to sign; here the entry of largest magnitude of
//! each component is made positive, so results do not depend on the solver.

use crate::error::{Error, Result};

/// Sweeps of the Jacobi method before giving up (it converges quadratically:
/// a few sweeps reach machine precision on any matrix of the sizes used here).
const MAX_SWEEPS: usize = 100;

/// A fitted PCA.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Size of the rows the PCA was fitted on.
    pub dim: usize,
    /// Mean of each column, subtracted before projecting.
    pub mean: Vec<f64>,
    /// Principal axes, unit length, row-major `[dim, dim]`: row `k` is component `k`.
    pub components: Vec<f64>,
    /// Variance along each component (`n - 1` denominator), decreasing.
    pub variance: Vec<f64>,
    /// Each component's share of the total variance (sums to 1, or all 0 for
    /// data with no variance).
    pub explained_ratio: Vec<f64>,
}

impl Pca {
    /// Fits a PCA to `rows`, row-major `[n, dim]`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for fewer than two rows, a length that is not a whole
    /// number of rows, or non-finite values.
    pub fn fit(rows: &[f32], dim: usize) -> Result<Pca> {
        if dim == 0 || !rows.len().is_multiple_of(dim) {
            return Err(Error::Data(format!(
                "cannot fit a PCA: {} values are not a whole number of rows of {dim}",
                rows.len()
            )));
        }
        let n = rows.len() / dim;
        if n < 2 {
            return Err(Error::Data(format!(
                "cannot fit a PCA to {n} example(s): it needs at least 2"
            )));
        }
        if rows.iter().any(|v| !v.is_finite()) {
            return Err(Error::Data(
                "cannot fit a PCA: the codes hold NaN or infinite values".into(),
            ));
        }
        let mut mean = vec![0.0f64; dim];
        for row in rows.chunks_exact(dim) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = vec![0.0f64; dim * dim];
        let mut centred = vec![0.0f64; dim];
        for row in rows.chunks_exact(dim) {
            for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = f64::from(v) - m;
            }
            for i in 0..dim {
                for j in i..dim {
                    cov[i * dim + j] += centred[i] * centred[j];
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let v = cov[i * dim + j] / (n - 1) as f64;
                cov[i * dim + j] = v;
                cov[j * dim + i] = v;
            }
        }
        let (values, vectors) = symmetric_eigen(&cov, dim);
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let variance: Vec<f64> = order.iter().map(|&k| values[k].max(0.0)).collect();
        let total: f64 = variance.iter().sum();
        let explained_ratio = variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        let mut components = Vec::with_capacity(dim * dim);
        for &k in &order {
            // Column k of the eigenvector matrix, sign fixed.
            let mut axis: Vec<f64> = (0..dim).map(|i| vectors[i * dim + k]).collect();
            let largest = axis
                .iter()
                .copied()
                .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(0.0);
            if largest < 0.0 {
                axis.iter_mut().for_each(|a| *a = -*a);
            }
            components.extend(axis);
        }
        Ok(Pca {
            dim,
            mean,
            components,
            variance,
            explained_ratio,
        })
    }

    /// Coordinates of `rows` (row-major `[n, dim]`) on the first `k` components,
    /// row-major `[n, k]`.
    pub fn project(&self, rows: &[f32], k: usize) -> Vec<f64> {
        let k = k.min(self.dim);
        let mut out = Vec::with_capacity(rows.len() / self.dim.max(1) * k);
        for row in rows.chunks_exact(self.dim) {
            for axis in self.components.chunks_exact(self.dim).take(k) {
                out.push(
                    row.iter()
                        .zip(&self.mean)
                        .zip(axis)
                        .map(|((&v, m), a)| (f64::from(v) - m) * a)
                        .sum(),
                );
            }
        }
        out
    }
}

/// Eigenvalues and eigenvectors of the symmetric `n x n` matrix `a`
/// (row-major) by the cyclic Jacobi method. Returns the eigenvalues (in no
/// particular order) and the eigenvectors as the columns of a row-major
/// `[n, n]` matrix. Only the upper triangle of `a` is read.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    for i in 0..n {
        for j in 0..i {
            m[i * n + j] = m[j * n + i];
        }
    }
    let mut v = vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j].powi(2))
            .sum::<f64>()
            .sqrt();
        if off <= f64::EPSILON * scale || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation angle that zeroes m[p][q]: tan(2θ) = 2 a_pq / (a_qq - a_pp),
                // taking the smaller root of t² + 2θ' t - 1 = 0 for stability.
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twelve points in 3-D with correlated columns, and scikit-learn's PCA of
    /// them, computed with:
    ///
    /// ```python
    /// import numpy as np
    /// from sklearn.decomposition import PCA
    /// x = np.array(ROWS, dtype=np.float32).astype(np.float64)   # ROWS as below
    /// p = PCA().fit(x)
    /// print(p.explained_variance_, p.explained_variance_ratio_, p.components_)
    /// ```
    const ROWS: [[f32; 3]; 12] = [
        [2.5, 2.4, 0.5],
        [0.5, 0.7, -0.3],
        [2.2, 2.9, 0.1],
        [1.9, 2.2, 0.8],
        [3.1, 3.0, -0.2],
        [2.3, 2.7, 0.4],
        [2.0, 1.6, -0.6],
        [1.0, 1.1, 0.2],
        [1.5, 1.6, 0.9],
        [1.1, 0.9, -0.1],
        [-0.4, 0.2, 0.3],
        [0.7, -0.1, -0.5],
    ];

    fn rows() -> Vec<f32> {
        ROWS.iter().flatten().copied().collect()
    }

    #[test]
    fn jacobi_diagonalizes_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, ∓1)/√2.
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[0] - 1.0).abs() < 1e-12 && (sorted[1] - 3.0).abs() < 1e-12);
        // A v = λ v for every column.
        for k in 0..2 {
            let (x, y) = (vectors[k], vectors[2 + k]);
            assert!((2.0 * x + y - values[k] * x).abs() < 1e-12);
            assert!((x + 2.0 * y - values[k] * y).abs() < 1e-12);
            assert!((x * x + y * y - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn pca_matches_scikit_learn() {
        let pca = Pca::fit(&rows(), 3).unwrap();
        for (got, want) in pca.variance.iter().zip(SKLEARN_VARIANCE) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        for (got, want) in pca.explained_ratio.iter().zip(SKLEARN_RATIO) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        for (k, want) in SKLEARN_COMPONENTS.iter().enumerate() {
            let got = &pca.components[k * 3..(k + 1) * 3];
            // Eigenvectors are defined up to sign.
            let sign = if got.iter().zip(want).map(|(a, b)| a * b).sum::<f64>() < 0.0 {
                -1.0
            } else {
                1.0
            };
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (sign * g - w).abs() < 1e-6,
                    "component {k}: {got:?} vs {want:?}"
                );
            }
        }
        // Projections are uncorrelated with the component variances.
        let coords = pca.project(&rows(), 3);
        for k in 0..3 {
            let var: f64 = coords.chunks(3).map(|c| c[k] * c[k]).sum::<f64>() / 11.0;
            assert!((var - pca.variance[k]).abs() < 1e-9);
        }
    }

    // The printed values of the script above (x as float32, then float64).
    const SKLEARN_VARIANCE: [f64; 3] = [2.018988739017, 0.251096976162, 0.054384010979];
    const SKLEARN_RATIO: [f64; 3] = [0.868580354606, 0.108023336822, 0.023396308572];
    const SKLEARN_COMPONENTS: [[f64; 3]; 3] = [
        [0.676045450036, 0.731405435385, 0.089490997172],
        [-0.35426155018, 0.216125575114, 0.909828824475],
        [-0.64611245426, 0.646788856483, -0.405219535042],
    ];

    #[test]
    fn degenerate_inputs_are_errors_or_zero() {
        assert!(Pca::fit(&[1.0, 2.0], 2).is_err());
        assert!(Pca::fit(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(Pca::fit(&[1.0, f32::NAN, 3.0, 4.0], 2).is_err());
        let flat = Pca::fit(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 2).unwrap();
        assert_eq!(flat.explained_ratio, vec![0.0, 0.0]);
    }
}
