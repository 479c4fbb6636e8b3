//! What a VAE's imputation has to beat: the column mean, and the mean of the
//! k nearest complete rows measured on the observed values; and the score
//! both are judged by, the RMSE over the missing values.

use burn::tensor::{Device, Tensor, TensorData};

use super::{Mask, column_means};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// `data`'s values with every missing value replaced by its column's entry of
/// `fill`; observed values are copied unchanged.
///
/// # Shapes
/// - `fill`: `data.dim()` values; returns `data.len() * data.dim()` values
pub fn mean_impute(data: &Dataset, mask: &Mask, fill: &[f32]) -> Vec<f32> {
    let dim = data.dim();
    data.values()
        .iter()
        .zip(mask.missing())
        .enumerate()
        .map(|(i, (&v, &missing))| if missing { fill[i % dim] } else { v })
        .collect()
}

/// k-nearest-neighbour imputation: for each row, the `k` rows of the complete
/// `reference` closest in squared Euclidean distance over the row's observed
/// values (ties to the earlier reference row) give the mean of their values
/// at the row's missing positions. A row with nothing observed gets the
/// column means. Because the reference is complete, the neighbours are those
/// of scikit-learn's `KNNImputer` (uniform weights) fitted on it.
///
/// The distances are computed as `sum(o q^2) - 2 (o q) r^T + o (r^2)^T`
/// (`o` the observed flags, `q` the row, `r` the reference) with two matrix
/// products on `device`, a block of rows at a time.
///
/// # Errors
///
/// [`Error::Setting`] for `k == 0`; [`Error::Data`] when `reference` is empty
/// or shaped unlike `data`.
pub fn knn_impute(
    data: &Dataset,
    mask: &Mask,
    reference: &Dataset,
    k: usize,
    device: &Device,
) -> Result<Vec<f32>> {
    if k == 0 {
        return Err(Error::setting(
            "--neighbours",
            "k-NN imputation needs at least 1 neighbour (5 is usual)",
        ));
    }
    let dim = data.dim();
    if reference.is_empty() || reference.dim() != dim {
        return Err(Error::Data(format!(
            "k-NN imputation needs complete reference rows of {dim} values, but has {} rows of {}",
            reference.len(),
            reference.dim()
        )));
    }
    let m = reference.len();
    let k = k.min(m);
    let r = Tensor::<2>::from_data(
        TensorData::new(reference.values().to_vec(), [m, dim]),
        device,
    );
    let r_t = r.clone().transpose();
    let r2_t = r.powi_scalar(2).transpose();
    let means = column_means(reference);
    let mut out = data.values().to_vec();
    let batch = (4_000_000 / m).clamp(1, 1024);
    let rows: Vec<usize> = (0..data.len()).collect();
    for chunk in rows.chunks(batch) {
        let b = chunk.len();
        let q_values: Vec<f32> = chunk.iter().flat_map(|&i| data.row(i)).copied().collect();
        let o_values: Vec<f32> = chunk
            .iter()
            .flat_map(|&i| mask.row(i).iter().map(|&miss| if miss { 0.0 } else { 1.0 }))
            .collect();
        let q = Tensor::<2>::from_data(TensorData::new(q_values, [b, dim]), device);
        let o = Tensor::<2>::from_data(TensorData::new(o_values, [b, dim]), device);
        // The row's own term sum(o q^2) is the same for every candidate
        // neighbour, so it is left out: it changes no ranking.
        let oq = o.clone() * q;
        let dist = o.matmul(r2_t.clone()) - oq.matmul(r_t.clone()).mul_scalar(2.0);
        let dist = dist.into_data().try_into_vec::<f32>().unwrap_or_default();
        let mut order: Vec<usize> = Vec::with_capacity(m);
        for (j, &i) in chunk.iter().enumerate() {
            let missing = mask.row(i);
            if !missing.contains(&true) {
                continue;
            }
            let row_out = &mut out[i * dim..(i + 1) * dim];
            if !missing.contains(&false) {
                row_out.copy_from_slice(&means);
                continue;
            }
            let d = &dist[j * m..(j + 1) * m];
            order.clear();
            order.extend(0..m);
            let closer = |a: &usize, b: &usize| d[*a].total_cmp(&d[*b]).then(a.cmp(b));
            if k < m {
                order.select_nth_unstable_by(k - 1, closer);
            }
            for (c, _) in missing.iter().enumerate().filter(|(_, miss)| **miss) {
                let sum: f64 = order[..k]
                    .iter()
                    .map(|&n| f64::from(reference.row(n)[c]))
                    .sum();
                row_out[c] = (sum / k as f64) as f32;
            }
        }
    }
    Ok(out)
}

/// Root mean squared error over the missing values, in f64; `None` when
/// nothing is missing.
///
/// # Shapes
/// - `imputed`, `truth`: as many values as `mask` has flags
pub fn rmse_on_missing(imputed: &[f32], truth: &[f32], mask: &Mask) -> Option<f64> {
    let (sum, n) = imputed
        .iter()
        .zip(truth)
        .zip(mask.missing())
        .filter(|(_, missing)| **missing)
        .fold((0.0f64, 0usize), |(s, n), ((&a, &b), _)| {
            (s + (f64::from(a) - f64::from(b)).powi(2), n + 1)
        });
    (n > 0).then(|| (sum / n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataKind;

    fn table(rows: &[&[f32]]) -> Dataset {
        let dim = rows[0].len();
        Dataset::new(
            rows.concat(),
            DataKind::Table {
                columns: (0..dim).map(|i| format!("c{i}")).collect(),
            },
            None,
        )
        .unwrap()
    }

    #[test]
    fn means_by_hand() {
        let reference = table(&[&[1.0, 10.0], &[2.0, 20.0], &[6.0, 0.0]]);
        assert_eq!(column_means(&reference), vec![3.0, 10.0]);
        let data = table(&[&[7.0, 0.0], &[0.0, 8.0]]);
        let mask = Mask::new(vec![false, true, true, false], 2).unwrap();
        assert_eq!(
            mean_impute(&data, &mask, &column_means(&reference)),
            vec![7.0, 10.0, 3.0, 8.0]
        );
    }

    #[test]
    fn knn_matches_scikit_learn() {
        // Reference values from scikit-learn 1.x:
        //   import numpy as np; from sklearn.impute import KNNImputer
        //   ref = np.array([[0,0,0],[1,1,10],[2,2,20],[10,10,100],[11,9,90]], float)
        //   q = np.array([[1.2,np.nan,np.nan],[np.nan,9.6,np.nan],[10.4,np.nan,95]], float)
        //   KNNImputer(n_neighbors=2).fit(ref).transform(q)
        //   -> [[1.2, 1.5, 15. ], [10.5, 9.6, 95. ], [10.4, 9.5, 95. ]]
        let reference = table(&[
            &[0.0, 0.0, 0.0],
            &[1.0, 1.0, 10.0],
            &[2.0, 2.0, 20.0],
            &[10.0, 10.0, 100.0],
            &[11.0, 9.0, 90.0],
        ]);
        let data = table(&[&[1.2, 0.0, 0.0], &[0.0, 9.6, 0.0], &[10.4, 0.0, 95.0]]);
        let mask = Mask::new(
            vec![false, true, true, true, false, true, false, true, false],
            3,
        )
        .unwrap();
        let device = Device::flex();
        let got = knn_impute(&data, &mask, &reference, 2, &device).unwrap();
        let want = [1.2, 1.5, 15.0, 10.5, 9.6, 95.0, 10.4, 9.5, 95.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{got:?}");
        }
        // Observed values are copied bit for bit; k = 1 takes the nearest row.
        let got = knn_impute(&data, &mask, &reference, 1, &device).unwrap();
        assert_eq!(got[0].to_bits(), 1.2f32.to_bits());
        assert_eq!(&got[1..3], &[1.0, 10.0]);
        // Nothing observed: the column means.
        let all = Mask::new(vec![true; 9], 3).unwrap();
        let got = knn_impute(&data, &all, &reference, 2, &device).unwrap();
        assert_eq!(&got[..3], &[4.8, 4.4, 44.0]);
        assert!(knn_impute(&data, &mask, &reference, 0, &device).is_err());
    }

    #[test]
    fn rmse_counts_only_missing_values() {
        let mask = Mask::new(vec![true, false, true, false], 2).unwrap();
        // Errors 3 and 4 on the two missing values: sqrt((9 + 16) / 2).
        let rmse = rmse_on_missing(&[4.0, 100.0, 0.0, -5.0], &[1.0, 0.0, 4.0, 0.0], &mask);
        assert!((rmse.unwrap() - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(rmse_on_missing(&[1.0], &[2.0], &Mask::none(1, 1)), None);
    }
}
