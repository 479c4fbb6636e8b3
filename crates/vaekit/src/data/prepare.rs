//! From a loaded [`Source`] to the splits a run trains and evaluates on.
//!
//! The same function rebuilds the splits for every later command (eval, encode,
//! reconstruct) from the run's saved settings, so preprocessing is written once:
//! hold out validation rows by seed, fit the table scaler on the training rows
//! only, apply it everywhere, binarize by threshold if asked, and check that the
//! values suit the likelihood.

use serde::{Deserialize, Serialize};

use super::{DataKind, Dataset, Scaler, ScalerKind, Source, validation_split};
use crate::error::{Error, Result};

/// How pixel values become binary (or stay as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binarize {
    /// Use the values in [0, 1] as they are.
    #[default]
    None,
    /// A fresh Bernoulli draw of each value every time an example is used in
    /// training; evaluation draws once with a fixed seed.
    Dynamic,
    /// 1 where the value exceeds 0.5, else 0, once.
    Threshold,
}

impl std::str::FromStr for Binarize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "dynamic" => Ok(Self::Dynamic),
            "threshold" => Ok(Self::Threshold),
            other => Err(format!(
                "unknown binarization '{other}'; use none, dynamic or threshold"
            )),
        }
    }
}

impl std::fmt::Display for Binarize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Dynamic => "dynamic",
            Self::Threshold => "threshold",
        })
    }
}

/// The preprocessing settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessing {
    /// Keep only the first N examples of the source's training rows.
    pub limit: Option<usize>,
    /// Keep only the training rows of these classes (before `limit` and the
    /// validation split, so both hold only these classes; the test split is
    /// kept whole, as one-class anomaly detection needs).
    pub only_class: Option<Vec<u32>>,
    /// Share of the training examples held out for validation, in [0, 1).
    pub val_fraction: f64,
    /// Seed of the validation split.
    pub seed: u64,
    /// Binarization of the values.
    pub binarize: Binarize,
    /// Scaler for tables (ignored for images).
    pub scaler: ScalerKind,
    /// Whether the likelihood needs values in [0, 1] (Bernoulli).
    pub unit_interval: bool,
    /// Whether the model needs counts (non-negative integers): the Poisson
    /// likelihood.
    pub counts: bool,
    /// Whether the model needs 8-bit values (k / 255 in [0, 1]): the
    /// discretized logistic.
    pub eight_bit: bool,
}

/// Which part of a source to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// The rows trained on.
    Train,
    /// The held-out validation rows.
    Val,
    /// The source's own test split.
    Test,
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "train" => Ok(Self::Train),
            "val" | "validation" => Ok(Self::Val),
            "test" => Ok(Self::Test),
            other => Err(format!("unknown split '{other}'; use train, val or test")),
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
        })
    }
}

/// A source split and preprocessed for a run.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// The rows trained on.
    pub train: Dataset,
    /// Held-out rows, where `val_fraction` > 0.
    pub val: Option<Dataset>,
    /// The source's test split, where it has one.
    pub test: Option<Dataset>,
    /// The scaler fitted on the training rows (tables only).
    pub scaler: Option<Scaler>,
    /// Class names, where the source has them.
    pub class_names: Option<Vec<String>>,
}

impl PreparedData {
    /// The requested split, or an error saying which splits exist.
    pub fn split(&self, split: Split) -> Result<&Dataset> {
        let found = match split {
            Split::Train => Some(&self.train),
            Split::Val => self.val.as_ref(),
            Split::Test => self.test.as_ref(),
        };
        found.ok_or_else(|| {
            let hint = match split {
                Split::Val => "the run was trained with --val-fraction 0; use --split train or a source with a test split",
                _ => "this source has no test split; use --split val or --split train",
            };
            Error::setting("--split", format!("there is no '{split}' split: {hint}"))
        })
    }

    /// The split evaluations use by default: test where the source has one, else
    /// validation, else train.
    pub fn default_eval_split(&self) -> Split {
        if self.test.is_some() {
            Split::Test
        } else if self.val.is_some() {
            Split::Val
        } else {
            Split::Train
        }
    }
}

/// Splits, scales and binarizes a loaded source for a run.
///
/// `scaler` is the run's fitted scaler when one exists (later commands); when it
/// is `None` and the data is a table, a new one is fitted on the training rows.
pub fn prepare(source: Source, p: &Preprocessing, scaler: Option<Scaler>) -> Result<PreparedData> {
    if !(0.0..1.0).contains(&p.val_fraction) {
        return Err(Error::setting(
            "--val-fraction",
            format!(
                "{} is outside [0, 1); give the share of training examples to hold out, such as 0.1, or 0 for none",
                p.val_fraction
            ),
        ));
    }
    if source.train.is_empty() {
        return Err(Error::Data(format!("{} holds no examples", source.spec)));
    }
    let rows = match &p.only_class {
        Some(classes) => only_classes(source.train, classes, &source.spec)?,
        None => source.train,
    };
    let rows = match p.limit {
        Some(limit) if limit < rows.len() => {
            let beyond: Vec<usize> = (limit..rows.len()).collect();
            rows.partition(&beyond).0
        }
        _ => rows,
    };
    let (_, val_idx) = validation_split(rows.len(), p.val_fraction, p.seed);
    let (mut train, held_out) = rows.partition(&val_idx);
    let mut val = (!held_out.is_empty()).then_some(held_out);
    let mut test = source.test;
    let is_table = matches!(train.kind(), DataKind::Table { .. });
    let scaler = match (is_table, scaler) {
        (false, _) => None,
        (true, Some(s)) => Some(s),
        (true, None) if p.scaler == ScalerKind::None => None,
        (true, None) => {
            // Typed columns scale only their reals.
            let selected = source.columns.as_ref().map(|c| c.scaled_values());
            Some(Scaler::fit_columns(p.scaler, &train, selected.as_deref())?)
        }
    };
    for dataset in std::iter::once(&mut train)
        .chain(val.iter_mut())
        .chain(test.iter_mut())
    {
        preprocess(dataset, scaler.as_ref(), p, &source.spec)?;
    }
    Ok(PreparedData {
        train,
        val,
        test,
        scaler,
        class_names: source.class_names,
    })
}

/// The rows of `data` whose label is one of `classes`, in order; an error when
/// the data has no labels or a class has no rows.
fn only_classes(data: Dataset, classes: &[u32], spec: &str) -> Result<Dataset> {
    let Some(labels) = data.labels() else {
        return Err(Error::setting(
            "--only-class",
            format!(
                "{spec} has no labels to choose classes by; give labelled data (an IDX folder with label files, --labels FILE or --label-column) or drop --only-class"
            ),
        ));
    };
    if let Some(missing) = classes.iter().find(|c| !labels.contains(c)) {
        let mut present = labels.to_vec();
        present.sort_unstable();
        present.dedup();
        return Err(Error::setting(
            "--only-class",
            format!(
                "no training example of {spec} has label {missing}; its labels are {present:?}"
            ),
        ));
    }
    let others: Vec<usize> = (0..labels.len())
        .filter(|&i| !classes.contains(&labels[i]))
        .collect();
    Ok(data.partition(&others).0)
}

/// Applies a run's preprocessing to one dataset: the fitted scaler (tables),
/// the threshold binarization, and the [0, 1] check of Bernoulli models.
pub fn preprocess(
    data: &mut Dataset,
    scaler: Option<&Scaler>,
    p: &Preprocessing,
    origin: &str,
) -> Result<()> {
    let is_table = matches!(data.kind(), DataKind::Table { .. });
    if let Some(scaler) = scaler {
        scaler.transform(data)?;
    }
    if p.unit_interval && is_table {
        // A min-max scaler maps the training rows into [0, 1]; other rows may
        // fall slightly outside and are clipped, as the Bernoulli model needs.
        for v in data.values_mut() {
            *v = v.clamp(0.0, 1.0);
        }
    }
    if p.binarize == Binarize::Threshold {
        for v in data.values_mut() {
            *v = if *v > 0.5 { 1.0 } else { 0.0 };
        }
    }
    if p.counts {
        let dim = data.dim().max(1);
        if let Some(i) = data
            .values()
            .iter()
            .position(|v| *v < 0.0 || v.fract() != 0.0)
        {
            return Err(Error::Data(format!(
                "{origin}: row {}, column {} holds {}, but the Poisson likelihood needs counts \
                 (whole numbers from 0 up); use --likelihood gaussian for other values",
                i / dim + 1,
                i % dim + 1,
                data.values()[i]
            )));
        }
    }
    if p.eight_bit {
        let dim = data.dim().max(1);
        let off_grid = |v: f32| {
            let level = v * 255.0;
            !(0.0..=255.0).contains(&level) || (level - level.round()).abs() > 1e-3
        };
        if let Some(i) = data.values().iter().position(|&v| off_grid(v)) {
            return Err(Error::Data(format!(
                "{origin}: example {}, value {} is {}, but the discretized logistic models 8-bit \
                 pixels (0..255 divided by 255); give 8-bit images or use --likelihood gaussian",
                i / dim + 1,
                i % dim + 1,
                data.values()[i]
            )));
        }
    }
    if p.unit_interval || p.binarize != Binarize::None {
        let (lo, hi) = data.value_range();
        if lo < 0.0 || hi > 1.0 {
            return Err(Error::Data(format!(
                "{origin}: values range from {lo} to {hi}, but the Bernoulli likelihood and \
                 binarization need values in [0, 1]; rescale the data (for 0..255 pixels divide \
                 by 255) or use --likelihood gaussian"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Format;

    fn table(rows: &[[f32; 2]]) -> Dataset {
        let values = rows.iter().flatten().copied().collect();
        Dataset::new(
            values,
            DataKind::Table {
                columns: vec!["a".into(), "b".into()],
            },
            None,
        )
        .unwrap()
    }

    fn source(train: Dataset, test: Option<Dataset>) -> Source {
        Source {
            spec: "mem".into(),
            format: Format::Csv,
            train,
            test,
            class_names: None,
            columns: None,
        }
    }

    fn prep(val_fraction: f64, unit: bool) -> Preprocessing {
        Preprocessing {
            limit: None,
            only_class: None,
            val_fraction,
            seed: 1,
            binarize: Binarize::None,
            scaler: ScalerKind::MinMax,
            unit_interval: unit,
            counts: false,
            eight_bit: false,
        }
    }

    #[test]
    fn scaler_is_fitted_on_training_rows_only() {
        let rows: Vec<[f32; 2]> = (0..10).map(|i| [i as f32, 100.0 + i as f32]).collect();
        let test = table(&[[100.0, 0.0]]);
        let prepared = prepare(source(table(&rows), Some(test)), &prep(0.2, true), None).unwrap();
        assert_eq!(prepared.train.len(), 8);
        assert_eq!(prepared.val.as_ref().unwrap().len(), 2);
        let (lo, hi) = prepared.train.value_range();
        assert!(lo >= 0.0 && hi <= 1.0);
        // The test row lies outside the training range and is clipped for Bernoulli.
        assert_eq!(prepared.test.as_ref().unwrap().values(), &[1.0, 0.0]);
    }

    #[test]
    fn limit_keeps_the_first_rows_before_the_split() {
        let rows: Vec<[f32; 2]> = (0..10).map(|i| [i as f32, 0.0]).collect();
        let p = Preprocessing {
            limit: Some(4),
            scaler: ScalerKind::Standard,
            ..prep(0.0, false)
        };
        let prepared = prepare(source(table(&rows), None), &p, None).unwrap();
        assert_eq!(prepared.train.len(), 4);
        // Standardized over the first four rows (0, 1, 2, 3) only.
        let first: Vec<f32> = (0..4).map(|i| prepared.train.row(i)[0]).collect();
        assert!(first[0] < 0.0 && first[3] > 0.0 && (first[0] + first[3]).abs() < 1e-5);
    }

    #[test]
    fn only_class_keeps_the_training_rows_of_those_classes() {
        let rows: Vec<[f32; 2]> = (0..12).map(|i| [i as f32, 0.0]).collect();
        let labelled = |d: Dataset, labels: Vec<u32>| {
            Dataset::new(d.values().to_vec(), d.kind().clone(), Some(labels)).unwrap()
        };
        let train = labelled(table(&rows), (0..12).map(|i| i % 3).collect());
        let test = labelled(table(&rows[..6]), (0..6).map(|i| i % 3).collect());
        let p = Preprocessing {
            only_class: Some(vec![1]),
            limit: Some(3),
            ..prep(0.0, false)
        };
        let prepared = prepare(source(train.clone(), Some(test)), &p, None).unwrap();
        // Rows 1, 4, 7 (the first three of class 1), min-max scaled over
        // those three alone; the test split stays whole.
        let firsts: Vec<f32> = (0..3).map(|i| prepared.train.row(i)[0]).collect();
        assert_eq!(firsts, [0.0, 0.5, 1.0]);
        assert_eq!(prepared.train.labels().unwrap(), &[1, 1, 1]);
        assert_eq!(prepared.test.as_ref().unwrap().len(), 6);
        let absent = Preprocessing {
            only_class: Some(vec![7]),
            ..prep(0.0, false)
        };
        let err = prepare(source(train, None), &absent, None).unwrap_err();
        assert!(err.to_string().contains("--only-class") && err.to_string().contains("[0, 1, 2]"));
        let err = prepare(source(table(&rows), None), &absent, None).unwrap_err();
        assert!(err.to_string().contains("no labels"), "{err}");
    }

    #[test]
    fn out_of_range_images_are_refused_for_bernoulli() {
        let image = Dataset::new(
            vec![0.0, 255.0, 3.0, 4.0],
            DataKind::Image {
                channels: 1,
                height: 2,
                width: 2,
            },
            None,
        )
        .unwrap();
        let err = prepare(source(image, None), &prep(0.0, true), None).unwrap_err();
        assert!(err.to_string().contains("--likelihood gaussian"), "{err}");
    }

    #[test]
    fn bad_val_fraction_names_the_flag() {
        for f in [1.0, -0.1, f64::NAN] {
            let err =
                prepare(source(table(&[[1.0, 2.0]]), None), &prep(f, false), None).unwrap_err();
            assert!(err.to_string().contains("--val-fraction"));
        }
    }

    #[test]
    fn missing_splits_say_what_exists() {
        let prepared = prepare(
            source(table(&[[1.0, 2.0]; 5]), None),
            &prep(0.0, false),
            None,
        )
        .unwrap();
        assert_eq!(prepared.default_eval_split(), Split::Train);
        assert!(
            prepared
                .split(Split::Test)
                .unwrap_err()
                .to_string()
                .contains("no 'test' split")
        );
        assert!(
            prepared
                .split(Split::Val)
                .unwrap_err()
                .to_string()
                .contains("--val-fraction 0")
        );
    }
}
