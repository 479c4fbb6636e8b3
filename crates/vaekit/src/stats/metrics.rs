//! Agreement between a clustering and the true labels.
//!
//! All three measures work on the contingency table (counts of each
//! label-cluster pair), so the numbers of clusters and classes may differ.
//! Accuracy uses the Hungarian algorithm from `pathfinding` on integer counts,
//! which makes the matching exact (no float ties).

use std::collections::BTreeMap;

use pathfinding::prelude::{Matrix, kuhn_munkres};
use serde::Serialize;

use crate::error::{Error, Result};

/// How well a clustering agrees with the labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agreement {
    /// Share of examples whose cluster is matched to their label, under the
    /// one-to-one matching of clusters to labels that makes it largest.
    /// Clusters left without a label (more clusters than labels) count as wrong.
    pub accuracy: f64,
    /// Mutual information over the mean of the two entropies, in [0, 1].
    pub nmi: f64,
    /// Rand index corrected for chance: 0 in expectation for a random
    /// clustering, 1 for a perfect one.
    pub ari: f64,
}

/// Counts of each (label, cluster) pair, with the distinct labels and clusters
/// renumbered 0.. in increasing order.
struct Contingency {
    counts: Vec<Vec<u64>>,
    n: u64,
}

impl Contingency {
    fn new(labels: &[u32], clusters: &[u32]) -> Contingency {
        let index = |values: &[u32]| -> BTreeMap<u32, usize> {
            let mut map = BTreeMap::new();
            for &v in values {
                map.insert(v, 0);
            }
            for (i, slot) in map.values_mut().enumerate() {
                *slot = i;
            }
            map
        };
        let (rows, cols) = (index(labels), index(clusters));
        let mut counts = vec![vec![0u64; cols.len()]; rows.len()];
        for (l, c) in labels.iter().zip(clusters) {
            counts[rows[l]][cols[c]] += 1;
        }
        Contingency {
            counts,
            n: labels.len() as u64,
        }
    }

    fn row_sums(&self) -> Vec<u64> {
        self.counts.iter().map(|r| r.iter().sum()).collect()
    }

    fn col_sums(&self) -> Vec<u64> {
        let cols = self.counts.first().map_or(0, Vec::len);
        (0..cols)
            .map(|j| self.counts.iter().map(|r| r[j]).sum())
            .collect()
    }

    /// The largest number of examples on the diagonal of any one-to-one matching.
    fn matched(&self) -> u64 {
        let (rows, cols) = (self.counts.len(), self.counts[0].len());
        // kuhn_munkres needs rows <= columns: put the shorter side on the rows.
        let weights = if rows <= cols {
            Matrix::from_fn(rows, cols, |(i, j)| self.counts[i][j] as i64)
        } else {
            Matrix::from_fn(cols, rows, |(i, j)| self.counts[j][i] as i64)
        };
        kuhn_munkres(&weights).0 as u64
    }
}

fn entropy(sums: &[u64], n: f64) -> f64 {
    sums.iter()
        .filter(|&&s| s > 0)
        .map(|&s| {
            let p = s as f64 / n;
            -p * p.ln()
        })
        .sum()
}

fn pairs(count: u64) -> f64 {
    let c = count as f64;
    c * (c - 1.0) / 2.0
}

/// Accuracy, NMI and ARI of `clusters` against `labels` (same order, one
/// entry per example; the ids of either need not be contiguous).
pub fn agreement(labels: &[u32], clusters: &[u32]) -> Result<Agreement> {
    if labels.len() != clusters.len() {
        return Err(Error::Data(format!(
            "{} labels but {} cluster assignments; give one of each per example",
            labels.len(),
            clusters.len()
        )));
    }
    if labels.is_empty() {
        return Err(Error::Data(
            "no examples to compare clusters with labels; give at least one".into(),
        ));
    }
    let table = Contingency::new(labels, clusters);
    let n = table.n as f64;
    let (rows, cols) = (table.row_sums(), table.col_sums());

    let accuracy = table.matched() as f64 / n;

    let mutual: f64 = table
        .counts
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.iter().enumerate().map(move |(j, &c)| (i, j, c)))
        .filter(|&(_, _, c)| c > 0)
        .map(|(i, j, c)| {
            let c = c as f64;
            c / n * (n * c / (rows[i] as f64 * cols[j] as f64)).ln()
        })
        .sum();
    let (h_labels, h_clusters) = (entropy(&rows, n), entropy(&cols, n));
    // Two one-group partitions agree perfectly; one single group against a
    // split carries no information (scikit-learn's conventions).
    let nmi = if h_labels == 0.0 && h_clusters == 0.0 {
        1.0
    } else {
        (mutual / ((h_labels + h_clusters) / 2.0)).clamp(0.0, 1.0)
    };

    let index: f64 = table.counts.iter().flatten().map(|&c| pairs(c)).sum();
    let (row_pairs, col_pairs) = (
        rows.iter().map(|&s| pairs(s)).sum::<f64>(),
        cols.iter().map(|&s| pairs(s)).sum::<f64>(),
    );
    let expected = row_pairs * col_pairs / pairs(table.n).max(f64::MIN_POSITIVE);
    let max_index = (row_pairs + col_pairs) / 2.0;
    let ari = if max_index == expected {
        1.0
    } else {
        (index - expected) / (max_index - expected)
    };
    Ok(Agreement { accuracy, nmi, ari })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: [u32; 10] = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];

    // Reference values from scikit-learn 1.9.1 and scipy:
    //   from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_rand_score as ari
    //   from scipy.optimize import linear_sum_assignment
    //   nmi(labels, clusters), ari(labels, clusters)
    //   m = contingency table; r, c = linear_sum_assignment(-m); m[r, c].sum() / n
    #[test]
    fn matches_scikit_learn_with_as_many_clusters_as_labels() {
        let clusters = [1, 1, 0, 0, 0, 0, 2, 2, 2, 1];
        let a = agreement(&LABELS, &clusters).unwrap();
        assert!((a.accuracy - 0.8).abs() < 1e-12, "{a:?}");
        assert!((a.nmi - 0.618_065_646_192_154_3).abs() < 1e-9, "{a:?}");
        assert!((a.ari - 0.431_818_181_818_181_8).abs() < 1e-9, "{a:?}");
    }

    #[test]
    fn matches_scikit_learn_with_more_clusters_than_labels() {
        let clusters = [3, 3, 0, 0, 0, 1, 2, 2, 2, 1];
        let a = agreement(&LABELS, &clusters).unwrap();
        assert!((a.accuracy - 0.7).abs() < 1e-12, "{a:?}");
        assert!((a.nmi - 0.618_572_786_653_965_9).abs() < 1e-9, "{a:?}");
        assert!((a.ari - 0.364_406_779_661_016_9).abs() < 1e-9, "{a:?}");
        // Swapping the roles matches fewer clusters than labels.
        let b = agreement(&clusters, &LABELS).unwrap();
        assert!((b.accuracy - 0.7).abs() < 1e-12);
        assert!((b.nmi - a.nmi).abs() < 1e-12 && (b.ari - a.ari).abs() < 1e-12);
    }

    #[test]
    fn a_renamed_perfect_clustering_scores_one() {
        let clusters: Vec<u32> = LABELS.iter().map(|&l| 40 - 7 * l).collect();
        let a = agreement(&LABELS, &clusters).unwrap();
        assert_eq!(a.accuracy, 1.0);
        assert!((a.nmi - 1.0).abs() < 1e-12 && (a.ari - 1.0).abs() < 1e-12);
    }

    #[test]
    fn one_cluster_carries_no_information() {
        let a = agreement(&LABELS, &[5; 10]).unwrap();
        assert!((a.accuracy - 0.4).abs() < 1e-12);
        assert_eq!(a.nmi, 0.0);
        assert!(a.ari.abs() < 1e-12);
    }

    #[test]
    fn mismatched_or_empty_inputs_are_errors() {
        assert!(agreement(&LABELS, &[0; 9]).is_err());
        assert!(agreement(&[], &[]).is_err());
    }
}
