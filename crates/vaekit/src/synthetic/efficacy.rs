//! Machine-learning efficacy: what a synthetic table is worth as training
//! data. A classifier learns one column (the target) from the others on the
//! synthetic rows and is tested on real rows that neither the generator nor
//! the classifier saw; the same classifier trained on the real training rows
//! is the reference. SDMetrics' `BinaryLogisticRegression` /
//! `MulticlassDecisionTreeClassifier` efficacy metrics and SDGym's leaderboard
//! report this F1.
//!
//! The classifier is [`crate::classify::LogisticRegression`] (L2, C = 1, on
//! standardized features, as scikit-learn's `LogisticRegression` defaults),
//! the features every other column: numbers as they are, a missing number as
//! 0 beside a missing-flag feature, categories one-hot (a missing one all
//! zeros). For a binary target the score is the F1 of the rarer class of the
//! real training rows (`>50K` on Adult); for more classes the macro F1.

use burn::tensor::Device;
use serde::Serialize;

use super::{ColumnCells, column_cells};
use crate::classify::{LogisticConfig, LogisticRegression};
use crate::data::Dataset;
use crate::data::columns::{ColumnKind, TableColumns};
use crate::error::{Error, Result};

/// F1 of a classifier trained on synthetic rows and on real ones.
#[derive(Debug, Clone, Serialize)]
pub struct Efficacy {
    /// The column predicted.
    pub target: String,
    /// The class whose F1 is reported (binary targets); None for the macro F1.
    pub positive: Option<String>,
    /// The classifier.
    pub classifier: &'static str,
    /// Test rows (the held-out real rows with a target).
    pub test_rows: usize,
    /// Trained on the synthetic rows.
    pub synthetic_f1: f64,
    /// Trained on the real training rows.
    pub real_f1: f64,
}

/// Features and target classes of the rows of `data` whose target is present.
fn features(cells: &[ColumnCells], widths: &[usize], target: usize) -> (Vec<f32>, Vec<u32>, usize) {
    let ColumnCells::Categorical(y) = &cells[target] else {
        unreachable!("the target is checked to be categorical")
    };
    let dim: usize = (0..cells.len())
        .filter(|&j| j != target)
        .map(|j| match &cells[j] {
            ColumnCells::Numeric(_) => 2,
            ColumnCells::Categorical(_) => widths[j],
        })
        .sum();
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for (i, class) in y.iter().enumerate() {
        let Some(class) = class else { continue };
        labels.push(*class as u32);
        for (j, column) in cells.iter().enumerate() {
            match column {
                _ if j == target => {}
                ColumnCells::Numeric(v) => {
                    x.push(v[i].unwrap_or(0.0) as f32);
                    x.push(if v[i].is_some() { 0.0 } else { 1.0 });
                }
                ColumnCells::Categorical(v) => {
                    x.extend((0..widths[j]).map(|k| if v[i] == Some(k) { 1.0 } else { 0.0 }));
                }
            }
        }
    }
    (x, labels, dim)
}

/// F1 of `class` (binary) or the macro F1 over `classes`.
fn f1(predicted: &[u32], truth: &[u32], classes: usize, positive: Option<u32>) -> f64 {
    let of = |c: u32| {
        let tp = predicted
            .iter()
            .zip(truth)
            .filter(|&(&p, &t)| p == c && t == c)
            .count();
        let fp = predicted
            .iter()
            .zip(truth)
            .filter(|&(&p, &t)| p == c && t != c)
            .count();
        let fn_ = predicted
            .iter()
            .zip(truth)
            .filter(|&(&p, &t)| p != c && t == c)
            .count();
        match 2 * tp + fp + fn_ {
            0 => 0.0,
            d => 2.0 * tp as f64 / d as f64,
        }
    };
    match positive {
        Some(c) => of(c),
        None => (0..classes as u32).map(of).sum::<f64>() / classes as f64,
    }
}

/// Trains on `synthetic` and on `real`, tests on `holdout`, predicting the
/// column named `target` (binary or categorical) from the others.
///
/// # Errors
///
/// [`Error::Setting`] for a target that is not a binary or categorical
/// column; [`Error::Data`] for tables that do not fit the columns or hold
/// no rows with a target.
pub fn efficacy(
    columns: &TableColumns,
    target: &str,
    real: &Dataset,
    synthetic: &Dataset,
    holdout: &Dataset,
    device: &Device,
) -> Result<Efficacy> {
    let at = columns
        .columns
        .iter()
        .position(|c| c.name == target)
        .ok_or_else(|| {
            Error::setting(
                "--target",
                format!(
                    "'{target}' is not a column of the run; the columns are {}",
                    columns.names().join(", ")
                ),
            )
        })?;
    let class_names: Vec<String> = match &columns.columns[at].kind {
        ColumnKind::Categorical { categories } => categories.clone(),
        ColumnKind::Binary => vec!["0".into(), "1".into()],
        _ => {
            return Err(Error::setting(
                "--target",
                format!(
                    "'{target}' is a numeric column; efficacy is measured on a binary or categorical one"
                ),
            ));
        }
    };
    let widths: Vec<usize> = columns.columns.iter().map(|c| c.kind.width()).collect();
    let classes = class_names.len();
    let prepared = |data: &Dataset, what: &str| -> Result<(Vec<f32>, Vec<u32>, usize)> {
        let (x, y, dim) = features(&column_cells(data, columns)?, &widths, at);
        match y.is_empty() {
            true => Err(Error::Data(format!(
                "the {what} rows have no '{target}' to learn or test"
            ))),
            false => Ok((x, y, dim)),
        }
    };
    let (real_x, real_y, dim) = prepared(real, "real")?;
    let (synth_x, synth_y, _) = prepared(synthetic, "synthetic")?;
    let (test_x, test_y, _) = prepared(holdout, "held-out")?;
    let positive = (classes == 2).then(|| {
        let ones = real_y.iter().filter(|&&c| c == 1).count();
        u32::from(2 * ones <= real_y.len())
    });
    let score = |x: &[f32], y: &[u32]| -> Result<f64> {
        // A table with one class only teaches nothing: every prediction is it.
        let model = LogisticRegression::fit(x, y, dim, &LogisticConfig::default(), device)?;
        let predicted = model.predict(&test_x, device)?;
        Ok(f1(&predicted, &test_y, classes, positive))
    };
    Ok(Efficacy {
        target: target.to_string(),
        positive: positive.map(|c| class_names[c as usize].clone()),
        classifier: "logistic regression (L2, C = 1, standardized features)",
        test_rows: test_y.len(),
        synthetic_f1: score(&synth_x, &synth_y)?,
        real_f1: score(&real_x, &real_y)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_counts_hits_false_alarms_and_misses() {
        let truth = [1, 1, 1, 0, 0, 0, 0, 2];
        let predicted = [1, 1, 0, 1, 0, 0, 0, 2];
        // Class 1: tp 2, fp 1, fn 1: F1 = 4 / 6.
        assert!((f1(&predicted, &truth, 3, Some(1)) - 4.0 / 6.0).abs() < 1e-12);
        // Class 0: tp 3, fp 1, fn 1: 6 / 8; class 2: 1.
        let macro_f1 = (4.0 / 6.0 + 6.0 / 8.0 + 1.0) / 3.0;
        assert!((f1(&predicted, &truth, 3, None) - macro_f1).abs() < 1e-12);
        assert_eq!(f1(&[0, 0], &[0, 0], 2, Some(1)), 0.0);
    }
}
