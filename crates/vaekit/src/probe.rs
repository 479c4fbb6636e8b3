//! Probing the latent space: how well a simple classifier predicts the label
//! from the posterior means, against the same classifier on the raw values.
//!
//! A linear or nearest-neighbour probe is the usual way to ask whether an
//! unsupervised representation made the classes easier to tell apart; with
//! only a few labelled training examples (`train_limit`) it also shows the
//! "few labels" use of a VAE trained on many unlabelled ones. Both feature
//! sets go through the same classifier, the same training rows and the same
//! test rows, so the only difference is the representation.

use std::time::Instant;

use serde::Serialize;

use crate::batch::model_device;
use crate::classify::{Classifier, accuracy};
use crate::data::prepare::{PreparedData, Split};
use crate::data::{Dataset, LoadOptions};
use crate::error::{Error, Result};
use crate::latent::encode_dataset;
use crate::model::Vae;
use crate::random::{self, Stream};
use crate::run::Run;

/// What to probe with.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOptions {
    /// The classifier, trained once per feature set.
    pub classifier: Classifier,
    /// Examples per encoder pass (memory only).
    pub batch_size: usize,
}

/// One feature set's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeRow {
    /// `latent mean` (posterior means) or `raw` (the values the model reads).
    pub features: String,
    /// Features per example.
    pub dims: usize,
    /// The classifier, as [`Classifier::describe`] names it.
    pub classifier: String,
    /// Labelled training examples (extra examples included).
    pub train_n: usize,
    /// Test examples.
    pub test_n: usize,
    /// Share of test examples classified correctly.
    pub accuracy: f64,
    /// Seconds to train and predict (encoding included for latent features).
    pub seconds: f64,
}

/// Both rows of a probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    /// Latent features first, then raw.
    pub rows: Vec<ProbeRow>,
    /// Extra labelled examples added to the training rows (such as synthetic
    /// ones from `vaekit augment`).
    pub extra_n: usize,
}

fn labels_of<'a>(data: &'a Dataset, what: &str) -> Result<&'a [u32]> {
    data.labels().ok_or_else(|| {
        Error::Data(format!(
            "the {what} examples have no labels, and a probe measures how well the label is predicted; \
             give labelled data (an IDX folder with label files, --label-column for a CSV, class \
             subfolders for images, --labels FILE for IDX and NPY files)"
        ))
    })
}

/// `n` examples of `data` spread as evenly as possible over the classes that
/// occur (`n / classes` of each, one more for the lowest classes when it does
/// not divide), drawn at random with `seed`, kept in their original order.
/// A class with too few examples gives all it has and the rest come from the
/// others. `n` at or above the size gives every example.
///
/// # Errors
///
/// [`Error::Data`] when `data` has no labels; [`Error::Setting`]
/// (`--train-limit`) when `n` is 0.
pub fn labelled_subset(data: &Dataset, n: usize, seed: u64) -> Result<Dataset> {
    let labels = labels_of(data, "training")?;
    if n == 0 {
        return Err(Error::setting(
            "--train-limit",
            "0 labelled examples cannot train a classifier; give at least 1",
        ));
    }
    if n >= data.len() {
        return Ok(data.clone());
    }
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let mut present: Vec<usize> = vec![0; classes];
    labels.iter().for_each(|&l| present[l as usize] += 1);
    let present: Vec<usize> = (0..classes).filter(|&c| present[c] > 0).collect();
    let mut quota = vec![0usize; classes];
    for (i, &c) in present.iter().enumerate() {
        quota[c] = n / present.len() + usize::from(i < n % present.len());
    }
    let order = random::permutation(data.len(), &mut random::seeded(seed, Stream::Eval));
    let mut chosen = vec![false; data.len()];
    let mut taken = 0;
    for &i in &order {
        let c = labels[i] as usize;
        if quota[c] > 0 {
            quota[c] -= 1;
            chosen[i] = true;
            taken += 1;
        }
    }
    for &i in &order {
        if taken == n {
            break;
        }
        if !chosen[i] {
            chosen[i] = true;
            taken += 1;
        }
    }
    let indices: Vec<usize> = (0..data.len()).filter(|&i| chosen[i]).collect();
    Ok(data.subset(&indices))
}

/// The split a probe tests on: `requested`, else the test split where the
/// source has one, else validation, as `vaekit eval` chooses.
///
/// # Errors
///
/// [`Error::Setting`] (`--split`) when that would be the training split: a
/// classifier scored on the rows it was trained on says nothing.
pub fn test_split(data: &PreparedData, requested: Option<Split>) -> Result<Split> {
    match requested.unwrap_or_else(|| data.default_eval_split()) {
        Split::Train => Err(Error::setting(
            "--split",
            "a probe cannot be scored on the rows it is trained on, and this data has no test or \
             validation split; use a source with a test split, or a run trained with --val-fraction above 0",
        )),
        split => Ok(split),
    }
}

/// Loads extra labelled training examples (for instance `vaekit augment`'s
/// output) and puts them through the run's preprocessing: every example of
/// the source, test files included.
///
/// # Errors
///
/// What [`Run::input_rows`] returns (unreadable data, another shape than the
/// run's), and [`Error::Data`] when the examples have no labels.
pub fn load_extra(run: &Run, spec: &str, options: &LoadOptions) -> Result<Dataset> {
    let rows = run.input_rows(Some((spec, options)))?;
    labels_of(&rows, "extra")?;
    Ok(rows)
}

/// Trains `options.classifier` on the labelled rows of `train` (for few
/// labels, a [`labelled_subset`]) followed by `extra`, and scores it on
/// `test`, once on the posterior means and once on the raw values.
///
/// # Errors
///
/// [`Error::Data`] when a split has no labels, [`Error::Setting`] (`--run`)
/// for a conditional model (its encoder reads the label, so its codes would
/// give the answer away), and the classifier's errors.
pub fn probe(
    model: &Vae,
    train: &Dataset,
    test: &Dataset,
    extra: Option<&Dataset>,
    options: &ProbeOptions,
) -> Result<ProbeReport> {
    if model.classes().is_some() {
        return Err(Error::setting(
            "--run",
            "the model is conditional on the label (cvae): its encoder reads the label, so its \
             codes cannot be used to predict it; probe a run trained without --model cvae",
        ));
    }
    labels_of(train, "training")?;
    let test_labels = labels_of(test, "test")?;
    let train = match extra {
        Some(extra) => {
            labels_of(extra, "extra")?;
            train.concat(extra)?
        }
        None => train.clone(),
    };
    let train_labels = labels_of(&train, "training")?;
    let device = model_device(model);
    let mut rows = Vec::new();
    for latent in [true, false] {
        let started = Instant::now();
        let (train_x, test_x, dims) = if latent {
            let a = encode_dataset(model, &train, options.batch_size)?;
            let b = encode_dataset(model, test, options.batch_size)?;
            (a.mu, b.mu, a.latent_dim)
        } else {
            (train.values().to_vec(), test.values().to_vec(), train.dim())
        };
        let predicted =
            options
                .classifier
                .fit_predict(&train_x, train_labels, &test_x, dims, &device)?;
        rows.push(ProbeRow {
            features: if latent { "latent mean" } else { "raw" }.into(),
            dims,
            classifier: options.classifier.describe(),
            train_n: train.len(),
            test_n: test.len(),
            accuracy: accuracy(&predicted, test_labels),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(ProbeReport {
        rows,
        extra_n: extra.map_or(0, Dataset::len),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataKind;

    fn labelled(labels: Vec<u32>) -> Dataset {
        let values = (0..labels.len()).map(|i| i as f32).collect();
        let kind = DataKind::Table {
            columns: vec!["x".into()],
        };
        Dataset::new(values, kind, Some(labels)).unwrap()
    }

    #[test]
    fn subset_is_balanced_seeded_and_in_order() {
        // 30 of class 0, 20 of class 1, 5 of class 2.
        let labels: Vec<u32> = (0..55)
            .map(|i| [0, 1, 2][usize::from(i >= 30) + usize::from(i >= 50)])
            .collect();
        let data = labelled(labels);
        let s = labelled_subset(&data, 9, 4).unwrap();
        let counts = |d: &Dataset| {
            let mut c = [0; 3];
            d.labels().unwrap().iter().for_each(|&l| c[l as usize] += 1);
            c
        };
        assert_eq!(counts(&s), [3, 3, 3]);
        assert!(s.values().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s, labelled_subset(&data, 9, 4).unwrap());
        assert_ne!(s, labelled_subset(&data, 9, 5).unwrap());
        // 10 does not divide by 3: one more of class 0.
        assert_eq!(counts(&labelled_subset(&data, 10, 4).unwrap()), [4, 3, 3]);
        // Class 2 has only 5: the rest comes from the others.
        let s = labelled_subset(&data, 24, 4).unwrap();
        assert_eq!(s.len(), 24);
        assert_eq!(counts(&s)[2], 5);
        assert_eq!(labelled_subset(&data, 100, 4).unwrap(), data);
        assert!(labelled_subset(&data, 0, 4).is_err());
    }
}
