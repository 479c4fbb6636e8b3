//! How well scores separate anomalies from normal examples: the area under
//! the ROC curve, average precision, and the threshold that holds a target
//! false-positive rate.
//!
//! Written here rather than taken from a crate: each is a sort and one pass,
//! and what matters is the exact treatment of tied scores, which must match
//! what users compare against (scikit-learn's `roc_auc_score`,
//! `average_precision_score` and numpy's `inverted_cdf` quantile). Anomalies
//! are the positive class and a higher score means more anomalous.

use crate::error::{Error, Result};

/// Checks that `scores` and `is_anomaly` pair up, hold no NaN, and have both
/// classes; returns (anomalies, normal examples).
fn check(scores: &[f64], is_anomaly: &[bool]) -> Result<(usize, usize)> {
    if scores.len() != is_anomaly.len() {
        return Err(Error::Data(format!(
            "{} scores but {} anomaly labels; there must be one label per scored example",
            scores.len(),
            is_anomaly.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::Data(format!(
            "the score of example {i} is NaN, so the examples cannot be ranked; check the model with `vaekit eval`"
        )));
    }
    let anomalies = is_anomaly.iter().filter(|&&a| a).count();
    let normal = is_anomaly.len() - anomalies;
    if anomalies == 0 || normal == 0 {
        return Err(Error::Data(format!(
            "the scored data has {normal} normal examples and {anomalies} anomalies; ranking metrics need at least one of each"
        )));
    }
    Ok((anomalies, normal))
}

/// The area under the ROC curve: the probability that a random anomaly scores
/// higher than a random normal example, ties counting one half. Computed as
/// the Mann-Whitney U statistic from average ranks, U / (anomalies * normal).
///
/// # Errors
/// When the lengths differ, a score is NaN, or either class is absent.
pub fn auroc(scores: &[f64], is_anomaly: &[bool]) -> Result<f64> {
    let (anomalies, normal) = check(scores, is_anomaly)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start..end (0-based) share their average, 1-based.
        let average_rank = (start + end + 1) as f64 / 2.0;
        let tied_anomalies = order[start..end].iter().filter(|&&i| is_anomaly[i]).count();
        rank_sum += average_rank * tied_anomalies as f64;
        start = end;
    }
    let a = anomalies as f64;
    let u = rank_sum - a * (a + 1.0) / 2.0;
    Ok(u / (a * normal as f64))
}

/// Average precision, as scikit-learn defines it: the sum over the distinct
/// score thresholds, from the highest down, of precision at that threshold
/// times the recall it adds, sum_n (R_n - R_{n-1}) P_n. Tied examples enter
/// together (no interpolation).
///
/// # Errors
/// When the lengths differ, a score is NaN, or either class is absent.
pub fn average_precision(scores: &[f64], is_anomaly: &[bool]) -> Result<f64> {
    let (anomalies, _) = check(scores, is_anomaly)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut true_pos, mut flagged, mut ap) = (0usize, 0usize, 0.0);
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let new_true = order[start..end].iter().filter(|&&i| is_anomaly[i]).count();
        true_pos += new_true;
        flagged += end - start;
        ap += (new_true as f64 / anomalies as f64) * (true_pos as f64 / flagged as f64);
        start = end;
    }
    Ok(ap)
}

/// Checks that a target false-positive rate lies in [0, 1).
pub fn check_target_fpr(fpr: f64) -> Result<()> {
    if !(0.0..1.0).contains(&fpr) {
        return Err(Error::setting(
            "--target-fpr",
            format!(
                "{fpr} is not a rate in [0, 1); give the share of normal examples that may be flagged, such as 0.05"
            ),
        ));
    }
    Ok(())
}

/// The threshold above which at most `fpr` of `normal_scores` lie: their
/// empirical (1 - fpr) quantile, the smallest score t with
/// #{s > t} <= fpr * n (numpy's `quantile(..., method="inverted_cdf")`).
/// An example is then flagged as an anomaly when its score exceeds t.
///
/// # Errors
/// When `fpr` is outside [0, 1), or there are no scores, or one is NaN.
pub fn threshold_for_fpr(normal_scores: &[f64], fpr: f64) -> Result<f64> {
    check_target_fpr(fpr)?;
    if normal_scores.is_empty() {
        return Err(Error::Data(
            "there are no normal examples to choose a threshold on; calibrate on a split that holds some (--calibrate-on)".into(),
        ));
    }
    if normal_scores.iter().any(|s| s.is_nan()) {
        return Err(Error::Data(
            "a calibration score is NaN, so no threshold can be chosen; check the model with `vaekit eval`".into(),
        ));
    }
    let mut sorted = normal_scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    // How many may lie above; the small margin keeps 0.1 * 10 at 1, not 0.
    let allowed = ((fpr * n as f64 + 1e-9).floor() as usize).min(n - 1);
    Ok(sorted[n - 1 - allowed])
}

/// The share of `scores` above `threshold` among the examples where
/// `select` is true; `None` when none is selected.
pub fn rate_above(scores: &[f64], select: &[bool], threshold: f64) -> Option<f64> {
    let chosen: Vec<f64> = scores
        .iter()
        .zip(select)
        .filter(|&(_, &s)| s)
        .map(|(&v, _)| v)
        .collect();
    (!chosen.is_empty())
        .then(|| chosen.iter().filter(|&&v| v > threshold).count() as f64 / chosen.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference values come from scikit-learn 1.x and numpy:
    //
    //   from sklearn.metrics import roc_auc_score, average_precision_score
    //   import numpy as np
    //   cases = {
    //    "no_ties": ([0.1, 0.4, 0.35, 0.8, 0.65, 0.2], [0, 0, 1, 1, 1, 0]),
    //    "ties": ([0.5, 0.5, 0.2, 0.9, 0.5, 0.2, 0.7, 0.9], [1, 0, 0, 1, 0, 1, 0, 0]),
    //    "all_tied": ([1.0, 1.0, 1.0, 1.0], [0, 1, 0, 1]),
    //   }
    //   for k, (s, y) in cases.items():
    //       print(k, repr(roc_auc_score(y, s)), repr(average_precision_score(y, s)))
    //   s = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]
    //   for fpr in [0.0, 0.05, 0.1, 0.25, 0.5, 0.75]:
    //       print(fpr, np.quantile(s, 1 - fpr, method="inverted_cdf"))
    //
    // which printed
    //
    //   no_ties 0.888888888888889 0.9166666666666665
    //   ties 0.4666666666666667 0.4027777777777778
    //   all_tied 0.5 0.5
    //   0.0 9.0 / 0.05 9.0 / 0.1 6.0 / 0.25 5.0 / 0.5 3.0 / 0.75 2.0

    fn flags(labels: &[u8]) -> Vec<bool> {
        labels.iter().map(|&l| l == 1).collect()
    }

    #[test]
    fn auroc_and_average_precision_match_scikit_learn() {
        let cases: [(&[f64], &[u8], f64, f64); 3] = [
            (
                &[0.1, 0.4, 0.35, 0.8, 0.65, 0.2],
                &[0, 0, 1, 1, 1, 0],
                0.888888888888889,
                0.9166666666666665,
            ),
            (
                &[0.5, 0.5, 0.2, 0.9, 0.5, 0.2, 0.7, 0.9],
                &[1, 0, 0, 1, 0, 1, 0, 0],
                0.4666666666666667,
                0.4027777777777778,
            ),
            (&[1.0; 4], &[0, 1, 0, 1], 0.5, 0.5),
        ];
        for (scores, labels, want_auc, want_ap) in cases {
            let y = flags(labels);
            let auc = auroc(scores, &y).unwrap();
            let ap = average_precision(scores, &y).unwrap();
            assert!(
                (auc - want_auc).abs() < 1e-12,
                "{scores:?}: {auc} vs {want_auc}"
            );
            assert!(
                (ap - want_ap).abs() < 1e-12,
                "{scores:?}: {ap} vs {want_ap}"
            );
        }
    }

    #[test]
    fn perfect_and_reversed_rankings_give_the_extremes() {
        let scores = [1.0, 2.0, 3.0, 4.0];
        let y = flags(&[0, 0, 1, 1]);
        assert!((auroc(&scores, &y).unwrap() - 1.0).abs() < 1e-12);
        assert!((average_precision(&scores, &y).unwrap() - 1.0).abs() < 1e-12);
        let reversed: Vec<f64> = scores.iter().map(|s| -s).collect();
        assert!(auroc(&reversed, &y).unwrap().abs() < 1e-12);
    }

    #[test]
    fn metrics_refuse_one_class_nan_and_mismatched_lengths() {
        assert!(auroc(&[1.0, 2.0], &[false, false]).is_err());
        assert!(average_precision(&[1.0, 2.0], &[true, true]).is_err());
        assert!(auroc(&[f64::NAN, 2.0], &[true, false]).is_err());
        assert!(auroc(&[1.0], &[true, false]).is_err());
    }

    #[test]
    fn the_threshold_is_numpys_inverted_cdf_quantile() {
        let s = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];
        for (fpr, want) in [
            (0.0, 9.0),
            (0.05, 9.0),
            (0.1, 6.0),
            (0.25, 5.0),
            (0.5, 3.0),
            (0.75, 2.0),
        ] {
            let t = threshold_for_fpr(&s, fpr).unwrap();
            assert!((t - want).abs() < 1e-12, "fpr {fpr}: {t} vs {want}");
            // At most the target share of these scores lies above it.
            let all = [true; 10];
            assert!(rate_above(&s, &all, t).unwrap() <= fpr + 1e-12);
        }
        for bad in [1.0, -0.1, f64::NAN] {
            let err = threshold_for_fpr(&s, bad).unwrap_err();
            assert!(err.to_string().contains("--target-fpr"));
        }
        assert!(threshold_for_fpr(&[], 0.05).is_err());
        assert_eq!(rate_above(&s, &[false; 10], 0.0), None);
    }
}
