//! Filling in missing values with a trained VAE, and judging how well it does.
//!
//! # Design
//!
//! * **The mask is explicit.** Missing values never travel as NaN: a data set
//!   with holes is an [`Incomplete`], finite values (a placeholder, then a fill)
//!   beside a [`Mask`] that says which are missing. A table's empty cells are
//!   read by [`crate::data::load_with_missing`]; images get a rule
//!   ([`MaskSpec`]: `top-half`, `left-half`, `random:P`) or a mask file
//!   ([`read_mask_file`]).
//! * **Imputation happens in the model's units.** Values go through the run's
//!   preprocessing (its fitted scaler for tables: missing cells take no part,
//!   the scaler is never refitted), the missing ones start at the training
//!   rows' column means, the VAE fills them in ([`impute_with_vae`]), and only
//!   the imputed values are mapped back to the source's units
//!   ([`Incomplete::completed`]); observed values are copied from the input,
//!   bit for bit.
//! * **Baselines and a score.** [`evaluate`] hides values of complete data,
//!   imputes them with both VAE methods, the column mean and k-NN over the
//!   observed values, and reports the RMSE on the hidden values of each.

mod baseline;
mod output;
mod vae;

pub use crate::data::mask::{Mask, MaskSpec, column_means, read_mask_file};
pub use baseline::{knn_impute, mean_impute, rmse_on_missing};
pub use output::{comparison_picture, write_completed, write_output};
pub use vae::{Draw, EncoderReads, ImputeOptions, Method, check_model, impute_with_vae};

use std::path::Path;

use serde::Serialize;

use crate::batch::model_device;
use crate::data::prepare::Split;
use crate::data::{DataKind, Dataset, LoadOptions, Scaler, TableColumns, load_with_missing};
use crate::error::{Error, Result};
use crate::model::Vae;
use crate::run::Run;

/// A data set with missing values.
#[derive(Debug, Clone)]
pub struct Incomplete {
    /// The values as read, in the source's units; missing positions hold a
    /// finite placeholder. Observed outputs are copied from here.
    pub raw: Dataset,
    /// The same rows in the model's units (the run's preprocessing), missing
    /// positions holding the starting fill.
    pub data: Dataset,
    /// Which values are missing.
    pub mask: Mask,
    /// The run's typed columns, which write the completed rows as cells.
    pub columns: Option<TableColumns>,
}

impl Incomplete {
    /// Joins values in the source's units (`raw`) and the same rows in the
    /// model's units (`data`), and puts `fill` (one value per column, model
    /// units) into every missing position of `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the shapes of `raw`, `data`, `mask` and `fill` disagree.
    pub fn new(raw: Dataset, mut data: Dataset, mask: Mask, fill: &[f32]) -> Result<Incomplete> {
        let dim = data.dim();
        if raw.dim() != dim
            || raw.len() != data.len()
            || mask.dim() != dim
            || mask.rows() != data.len()
            || fill.len() != dim
        {
            return Err(Error::Data(format!(
                "the mask ({} rows of {}) does not fit the data ({} rows of {dim})",
                mask.rows(),
                mask.dim(),
                data.len()
            )));
        }
        let filled = mean_impute(&data, &mask, fill);
        data.values_mut().copy_from_slice(&filled);
        Ok(Incomplete {
            raw,
            data,
            mask,
            columns: None,
        })
    }

    /// The completed rows in the source's units: observed values copied from
    /// [`Incomplete::raw`], missing ones taken from `imputed` (model units)
    /// and mapped back through `scaler` where the run has one.
    ///
    /// # Shapes
    /// - `imputed`: as many values as `raw`; returns the same number
    pub fn completed(&self, imputed: &[f32], scaler: Option<&Scaler>) -> Vec<f32> {
        let mut back = imputed.to_vec();
        if let Some(scaler) = scaler {
            scaler.inverse(&mut back);
        }
        self.raw
            .values()
            .iter()
            .zip(back)
            .zip(self.mask.missing())
            .map(|((&raw, imputed), &missing)| if missing { imputed } else { raw })
            .collect()
    }
}

/// Settings of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvaluateOptions {
    /// The VAE methods' settings (their `method` is set by [`evaluate`]).
    pub vae: ImputeOptions,
    /// Neighbours of the k-NN baseline.
    pub neighbours: usize,
}

/// How one method did on the hidden values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// `gibbs`, `miwae`, `mean` or `knn`.
    pub method: String,
    /// RMSE over the hidden values in the model's units (pixels in [0, 1];
    /// a table's scaled units).
    pub rmse: f64,
    /// RMSE in the source's units, for tables with a scaler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rmse_original_units: Option<f64>,
    /// Seconds the imputation took.
    pub seconds: f64,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Examples imputed.
    pub examples: usize,
    /// Values hidden.
    pub hidden: usize,
    /// Share of the values hidden.
    pub hidden_fraction: f64,
    /// One score per method: the VAE's (gibbs, and miwae where the model
    /// allows it), then mean and k-NN imputation.
    pub scores: Vec<Score>,
}

/// Imputes the values `data.mask` hides in complete rows with each method and
/// scores each by the RMSE on the hidden values: against `truth` (the same
/// rows, complete, in the model's units) and, for tables with a `scaler`,
/// against `data.raw` in the source's units. `reference` (the run's complete
/// training rows, model units) gives the column means and the neighbours.
///
/// # Errors
///
/// [`Error::Data`] when nothing is hidden; errors of the methods.
pub fn evaluate(
    model: &Vae,
    data: &Incomplete,
    truth: &Dataset,
    reference: &Dataset,
    scaler: Option<&Scaler>,
    options: &EvaluateOptions,
) -> Result<Evaluation> {
    let hidden = data.mask.count();
    if hidden == 0 {
        return Err(Error::setting(
            "--mask",
            "the mask hides nothing, so there is nothing to score; hide values with --mask or --mask-file",
        ));
    }
    check_model(model, Method::Gibbs)?;
    if truth.len() != data.data.len() || truth.dim() != data.data.dim() {
        return Err(Error::Data(
            "the true rows do not match the rows to impute".into(),
        ));
    }
    let mut scores = Vec::new();
    let mut score = |method: &str, imputed: Vec<f32>, started: std::time::Instant| {
        let seconds = started.elapsed().as_secs_f64();
        let rmse = rmse_on_missing(&imputed, truth.values(), &data.mask).unwrap_or(f64::NAN);
        let rmse_original_units = scaler.map(|s| {
            let completed = data.completed(&imputed, Some(s));
            rmse_on_missing(&completed, data.raw.values(), &data.mask).unwrap_or(f64::NAN)
        });
        scores.push(Score {
            method: method.to_string(),
            rmse,
            rmse_original_units,
            seconds,
        });
    };
    for method in [Method::Gibbs, Method::Miwae] {
        if check_model(model, method).is_err() {
            continue;
        }
        let started = std::time::Instant::now();
        let options = ImputeOptions {
            method,
            ..options.vae
        };
        let imputed = impute_with_vae(model, &data.data, &data.mask, &options)?;
        score(&method.to_string(), imputed, started);
    }
    let started = std::time::Instant::now();
    let means = column_means(reference);
    score("mean", mean_impute(&data.data, &data.mask, &means), started);
    let started = std::time::Instant::now();
    let imputed = knn_impute(
        &data.data,
        &data.mask,
        reference,
        options.neighbours,
        &model_device(model),
    )?;
    score("knn", imputed, started);
    Ok(Evaluation {
        examples: data.data.len(),
        hidden,
        hidden_fraction: data.mask.fraction(),
        scores,
    })
}

/// Where the rows to complete come from, and what hides their values.
#[derive(Debug, Clone, Default)]
pub struct InputRequest<'a> {
    /// Another source than the run's own (a CSV table may have empty cells).
    pub other: Option<(&'a str, &'a LoadOptions)>,
    /// The split of the run's own data [default: test, else validation, else train].
    pub split: Option<Split>,
    /// Keep only the first N rows.
    pub limit: Option<usize>,
    /// Hide values by a rule.
    pub mask: Option<MaskSpec>,
    /// Hide values by a mask file ([`read_mask_file`]).
    pub mask_file: Option<&'a Path>,
    /// Seed of a random mask.
    pub seed: u64,
}

/// Rows ready to be completed, with what the baselines need.
#[derive(Debug, Clone)]
pub struct Input {
    /// The rows, their mask (missing in the source, or hidden), the fill.
    pub incomplete: Incomplete,
    /// The rows complete in the model's units, when the source had no
    /// missing values (so the hidden ones are known).
    pub truth: Option<Dataset>,
    /// The run's complete training rows in the model's units: the column
    /// means and the k-NN neighbours come from here.
    pub reference: Dataset,
    /// Values missing in the source itself (empty table cells).
    pub missing_in_source: usize,
    /// Class names of the labels, where known.
    pub class_names: Option<Vec<String>>,
    /// What was read, for messages: `test split of digits`, a path.
    pub description: String,
}

impl Input {
    /// The complete rows, which scoring an imputation needs.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`--evaluate`) when the source has missing values
    /// of its own, whose truth is unknown.
    pub fn known_truth(&self) -> Result<&Dataset> {
        self.truth.as_ref().ok_or_else(|| {
            Error::setting(
                "--evaluate",
                format!(
                    "{} has {} missing values of its own, whose truth is unknown; evaluate on complete data",
                    self.description, self.missing_in_source
                ),
            )
        })
    }
}

/// Reads the rows to complete: the run's own split or another source (whose
/// table cells may be empty), through the run's preprocessing (its scaler is
/// applied, never refitted), with the source's missing cells, the `mask`
/// rule and the `mask_file` joined into one mask, and every missing value
/// starting at the training rows' column mean.
///
/// # Errors
///
/// [`Error::Setting`] for `--split` with another source, a mask that does
/// not fit, or nothing missing at all; errors of loading and preprocessing.
pub fn prepare_input(run: &Run, request: &InputRequest) -> Result<Input> {
    let own = run.prepare_data(None)?;
    let (raw, rows, source_missing, class_names, description) = match request.other {
        None => {
            let split = request.split.unwrap_or_else(|| own.default_eval_split());
            let rows = own.split(split)?.clone();
            let mut raw = rows.clone();
            if let Some(scaler) = &run.scaler {
                scaler.inverse(raw.values_mut());
            }
            let spec = run.config.settings.data.clone().unwrap_or_default();
            let names = own.class_names.clone();
            let missing = rows.missing().map(<[bool]>::to_vec);
            (
                raw,
                rows,
                missing,
                names,
                format!("{split} split of {spec}"),
            )
        }
        Some((spec, options)) => {
            if request.split.is_some() {
                return Err(Error::setting(
                    "--split",
                    "a split applies to the run's own data; another source (--data) is used whole",
                ));
            }
            let (source, missing) = match &run.config.model.table {
                // Typed columns read holes as they train on them.
                Some(_) => {
                    let source = run.load_source(Some((spec, options)))?;
                    let missing = source.train.missing().map(<[bool]>::to_vec);
                    (source, missing)
                }
                None => load_with_missing(spec, options)?,
            };
            let mut raw = source.train;
            if let Some(test) = &source.test {
                raw = raw.concat(test)?;
            }
            let want = run.config.model.input.dim();
            if raw.dim() != want {
                return Err(Error::Data(format!(
                    "{spec} holds {}, but the run was trained on {}; give data of the same shape",
                    raw.kind().describe(),
                    run.config.model.input.describe()
                )));
            }
            let mut rows = raw.clone();
            run.preprocess(&mut rows, spec)?;
            (raw, rows, missing, source.class_names, spec.to_string())
        }
    };
    let (raw, rows, source_missing) = match request.limit {
        Some(limit) if limit < rows.len() => {
            let first: Vec<usize> = (0..limit).collect();
            let head = source_missing.map(|m| m[..limit * rows.dim()].to_vec());
            (raw.subset(&first), rows.subset(&first), head)
        }
        _ => (raw, rows, source_missing),
    };
    let (n, dim) = (rows.len(), rows.dim());
    let mut mask = match source_missing {
        Some(flags) => Mask::new(flags, dim)?,
        None => Mask::none(n, dim),
    };
    let missing_in_source = mask.count();
    if let Some(spec) = request.mask {
        let built = match &run.config.model.table {
            // Typed columns hide whole cells: a category's one-hot values
            // together.
            Some(table) => {
                let cells = DataKind::Table {
                    columns: table.names(),
                };
                cell_mask_to_values(&spec.build(&cells, n, request.seed)?, table)?
            }
            None => spec.build(rows.kind(), n, request.seed)?,
        };
        mask = mask.union(&built)?;
    }
    if let Some(path) = request.mask_file {
        mask = mask.union(&read_mask_file(path, rows.kind(), n)?)?;
    }
    if mask.count() == 0 {
        return Err(Error::setting(
            "--mask",
            format!("nothing is missing in {description}; hide values with --mask or --mask-file"),
        ));
    }
    let truth = (missing_in_source == 0).then(|| rows.clone());
    let reference = own.train;
    let fill = column_means(&reference);
    let mut incomplete = Incomplete::new(raw, rows, mask, &fill)?;
    incomplete.columns = run.config.model.table.clone();
    Ok(Input {
        incomplete,
        truth,
        reference,
        missing_in_source,
        class_names,
        description,
    })
}

/// A mask over a typed table's cells as a mask over its values: each
/// cell's flag repeated over its values (a category's one-hot ones).
fn cell_mask_to_values(cells: &Mask, table: &TableColumns) -> Result<Mask> {
    let widths: Vec<usize> = table.columns.iter().map(|c| c.kind.width()).collect();
    let mut values = Vec::with_capacity(cells.rows() * table.width());
    for r in 0..cells.rows() {
        for (&m, &w) in cells.row(r).iter().zip(&widths) {
            values.extend(std::iter::repeat_n(m, w));
        }
    }
    Mask::new(values, table.width())
}
