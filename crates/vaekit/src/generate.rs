//! Generation: samples from the prior and reconstructions, as values and as
//! files (an image grid for images; a CSV in the data's own units for tables).

use std::path::Path;

use burn::tensor::Tensor;
use rand::RngExt;

use crate::batch::{check_width, model_device, model_input, noise, one_hot};
use crate::data::{DataKind, Dataset, Scaler, TableColumns};
use crate::error::{Error, Result};
use crate::io::write_atomic_with;
use crate::model::Vae;
use crate::random::{self, Stream};
use crate::report::{ImageShape, comparison_grid, image_grid, save_png};
use crate::stats::gmm::DiagonalGmm;

/// Largest number of examples one call generates.
pub const MAX_EXAMPLES: usize = 100_000;

fn check_count(n: usize) -> Result<()> {
    if n == 0 || n > MAX_EXAMPLES {
        return Err(Error::setting(
            "--n",
            format!("{n} is not a usable count; give between 1 and {MAX_EXAMPLES}"),
        ));
    }
    Ok(())
}

fn to_values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap_or_default()
}

/// How a table's model values become a CSV's cells: the scaler undone, then
/// typed columns written as their cells (categories as their names, counts
/// as whole numbers).
#[derive(Debug, Clone, Copy, Default)]
pub struct Units<'a> {
    /// The run's fitted scaler.
    pub scaler: Option<&'a Scaler>,
    /// The run's typed columns.
    pub columns: Option<&'a TableColumns>,
    /// A typed table's label column; without it labels are written as a
    /// `label` column of class numbers.
    pub label: Option<LabelColumn<'a>>,
}

/// A label column written back as the table had it.
#[derive(Debug, Clone, Copy)]
pub struct LabelColumn<'a> {
    /// The header's name.
    pub name: &'a str,
    /// Class `i`'s name.
    pub class_names: &'a [String],
}

impl<'a> From<Option<&'a Scaler>> for Units<'a> {
    fn from(scaler: Option<&'a Scaler>) -> Units<'a> {
        Units {
            scaler,
            ..Units::default()
        }
    }
}

impl Units<'_> {
    /// The values in the data's units, in place.
    pub fn inverse(&self, values: &mut [f32]) {
        if let Some(scaler) = self.scaler {
            scaler.inverse(values);
        }
    }

    /// The header of a table's values and each row's cells (values in the
    /// data's units already).
    pub(crate) fn cells(&self, kind: &DataKind, values: &[f32]) -> (Vec<String>, Vec<Vec<String>>) {
        let dim = kind.dim().max(1);
        match self.columns {
            Some(c) => (
                c.names(),
                values.chunks(dim).map(|row| c.decode_row(row)).collect(),
            ),
            None => (
                column_names(kind),
                values
                    .chunks(dim)
                    .map(|row| row.iter().map(f32::to_string).collect())
                    .collect(),
            ),
        }
    }
}

/// Samples from the model, and how a picture of them is laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// Row-major `[n, input_dim]` means of p(x|z) (draws from it for typed
    /// table columns, whose means are no row of the table).
    pub values: Vec<f32>,
    /// The class each sample was drawn for (conditional models).
    pub labels: Option<Vec<u32>>,
    /// Columns of the image grid: one row per class for a per-class grid.
    pub columns: usize,
    /// Number of samples.
    pub count: usize,
}

/// Codes drawn from the prior (z ~ N(0, I); z2 ~ N(0, I) then
/// z1 ~ p(z1|z2) in a hierarchical VAE; a component by the mixing weights,
/// then z from it, for a mixture prior) decoded to the mean of p(x|z).
///
/// An unconditional model gives `n` samples (`class` must be None). A
/// conditional model gives `n` samples of `class`, or, without one, `n` of
/// every class, class after class (a grid with one row per class).
pub fn sample_prior(model: &Vae, n: usize, seed: u64, class: Option<u32>) -> Result<Samples> {
    sample_from(model, CodeSource::Prior, n, seed, class)
}

/// Where drawn samples take their codes from.
#[derive(Debug, Clone, Copy, Default)]
pub enum CodeSource<'a> {
    /// The model's prior p(z).
    #[default]
    Prior,
    /// Mixtures fitted to the codes of the training rows ([`FittedCodes`]).
    Fitted(&'a FittedCodes),
}

/// Gaussian mixtures fitted to the codes q(z|x) gives the training rows:
/// their aggregate posterior, one mixture for an unconditional model and one
/// per class for a conditional one (Ghosh et al. 2020's ex-post density
/// estimation). A decoder has only ever seen codes from that aggregate; the
/// prior also puts mass where no training row's code lies (its "holes"), and
/// rows decoded from there are rows of no kind the data has.
/// [`crate::latent::fitted::fit_codes`] fits them.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedCodes {
    /// One mixture, or one per class in class order.
    pub mixtures: Vec<DiagonalGmm>,
}

impl FittedCodes {
    /// One code per entry of `labels` (each from its class's mixture), or
    /// `count` codes of the one mixture.
    ///
    /// # Shapes
    /// - returns `[count, latent_dim]`
    fn draw(
        &self,
        labels: Option<&[u32]>,
        count: usize,
        rng: &mut random::Rng,
        device: &burn::tensor::Device,
    ) -> Result<Tensor<2>> {
        let dim = self.mixtures.first().map_or(0, |m| m.dim);
        let mut codes = Vec::with_capacity(count * dim);
        for i in 0..count {
            let m = match (labels, self.mixtures.len()) {
                (Some(labels), k) if k > 1 => labels[i] as usize,
                _ => 0,
            };
            let Some(mixture) = self.mixtures.get(m) else {
                return Err(Error::Data(format!(
                    "the fitted codes have {} mixtures and no class {m}",
                    self.mixtures.len()
                )));
            };
            mixture.sample_into(rng, &mut codes);
        }
        Ok(Tensor::from_data(
            burn::tensor::TensorData::new(codes, [count, dim]),
            device,
        ))
    }
}

/// [`sample_prior`] with the codes from `codes`.
pub fn sample_from(
    model: &Vae,
    codes: CodeSource,
    n: usize,
    seed: u64,
    class: Option<u32>,
) -> Result<Samples> {
    check_count(n)?;
    let labels: Option<Vec<u32>> = match (model.classes(), class) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(Error::setting(
                "--class",
                "the model is not conditional on a label; train it with --model cvae, or drop --class",
            ));
        }
        (Some(classes), Some(c)) if c as usize >= classes => {
            return Err(Error::setting(
                "--class",
                format!("the model has classes 0 to {}; {c} is not one", classes - 1),
            ));
        }
        (Some(_), Some(c)) => Some(vec![c; n]),
        (Some(classes), None) => {
            check_count(n * classes)?;
            Some(
                (0..classes as u32)
                    .flat_map(|c| std::iter::repeat_n(c, n))
                    .collect(),
            )
        }
    };
    let columns = match (&labels, class) {
        (Some(_), None) => n,
        _ => grid_columns(labels.as_ref().map_or(n, Vec::len)),
    };
    draw(model, codes, n, labels, seed, columns)
}

/// `n` samples of a conditional model with its classes at the shares of
/// `counts` (its training rows per class: [`crate::run::DataSummary::class_counts`]),
/// class after class: a synthetic table of the whole data, as p(y) p(x|y).
/// Each class gets its quota n * share rounded by largest remainder, so the
/// shares are kept to one row.
///
/// # Errors
///
/// [`Error::Setting`] for an unconditional model or a bad count,
/// [`Error::Data`] when `counts` does not fit the model's classes.
pub fn sample_at_shares(
    model: &Vae,
    codes: CodeSource,
    n: usize,
    seed: u64,
    counts: &[usize],
) -> Result<Samples> {
    check_count(n)?;
    let Some(classes) = model.classes() else {
        return Err(Error::setting(
            "--class-shares",
            "the model is not conditional on a label; train it with --model cvae and --label-column, or drop --class-shares",
        ));
    };
    let total: usize = counts.iter().sum();
    if counts.len() != classes || total == 0 {
        return Err(Error::Data(format!(
            "the run records {} classes with {total} training rows for a model of {classes} classes (runs trained before vaekit counted them record none); retrain it to draw at the class shares",
            counts.len()
        )));
    }
    let labels = apportion(counts, n);
    draw(model, codes, n, Some(labels), seed, grid_columns(n))
}

/// Class after class, `n` labels with class c's count as near n * counts[c] /
/// sum as whole numbers allow (largest remainder, ties to the lower class).
fn apportion(counts: &[usize], n: usize) -> Vec<u32> {
    let total: usize = counts.iter().sum();
    let mut quota: Vec<usize> = counts.iter().map(|&c| c * n / total).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(counts[c] * n % total));
    let short = n - quota.iter().sum::<usize>();
    for &c in order.iter().take(short) {
        quota[c] += 1;
    }
    (0..counts.len() as u32)
        .flat_map(|c| std::iter::repeat_n(c, quota[c as usize]))
        .collect()
}

/// Draws for `labels` (a conditional model) or `n` codes (an unconditional one).
fn draw(
    model: &Vae,
    codes: CodeSource,
    n: usize,
    labels: Option<Vec<u32>>,
    seed: u64,
    columns: usize,
) -> Result<Samples> {
    let count = labels.as_ref().map_or(n, Vec::len);
    let device = model_device(model);
    let mut rng = random::seeded(seed, Stream::Sample);
    let z = match codes {
        CodeSource::Prior => {
            let eps = noise(&mut rng, count, model.noise_dim(), &device);
            // A mixture prior's component of each sample, by the mixing weights.
            let choice: Vec<usize> = match model.prior_weights() {
                Some(w) => match rand::distr::weighted::WeightedIndex::new(&w) {
                    Ok(pick) => (0..count).map(|_| rng.sample(&pick)).collect(),
                    Err(_) => (0..count).map(|_| rng.random_range(0..w.len())).collect(),
                },
                None => Vec::new(),
            };
            model.prior_codes(eps, &choice)
        }
        CodeSource::Fitted(fitted) => {
            let dim = fitted.mixtures.first().map_or(0, |m| m.dim);
            if dim != model.latent_dim() || model.noise_dim() != dim {
                return Err(Error::Data(format!(
                    "the fitted codes are {dim}-dimensional and the model draws {} noise values for a {}-dimensional code; fit them to this run's model",
                    model.noise_dim(),
                    model.latent_dim()
                )));
            }
            fitted.draw(labels.as_deref(), count, &mut rng, &device)?
        }
    };
    let y = match (&labels, model.classes()) {
        (Some(labels), Some(classes)) => Some(one_hot(labels, classes, &device)),
        _ => None,
    };
    let raw = model.decode(model.decoder_input(z, y));
    // A typed table's synthetic rows are drawn from p(x|z): categories by
    // their probabilities (not the likeliest, which would never write a
    // rare one), counts as counts.
    let values = match model.takes_observed() {
        true => model
            .observation()
            .sample(raw, model.observation_logvar().as_ref(), &mut rng),
        false => to_values(model.likelihood_mean(raw)),
    };
    Ok(Samples {
        values,
        labels,
        columns,
        count,
    })
}

/// The first `n` examples of `data` (fewer if it is smaller) and their
/// reconstructions: decoded at the posterior mean, as the likelihood's mean.
/// Returns `(originals, reconstructions)`, each row-major.
pub fn reconstruct(model: &Vae, data: &Dataset, n: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    check_count(n)?;
    check_width(model, data)?;
    let indices: Vec<usize> = (0..n.min(data.len())).collect();
    if indices.is_empty() {
        return Err(Error::Data("there are no examples to reconstruct".into()));
    }
    let device = model_device(model);
    let x = model_input(model, data, &indices, None, &device);
    let originals = to_values(model.split_input(x.clone()).0);
    Ok((originals, to_values(model.reconstruct(x))))
}

/// Columns of a grid for `n` tiles: about square.
fn grid_columns(n: usize) -> usize {
    (n as f64).sqrt().ceil().max(1.0) as usize
}

pub(crate) fn image_shape(kind: &DataKind) -> Option<ImageShape> {
    match *kind {
        DataKind::Image {
            channels,
            height,
            width,
        } => Some(ImageShape {
            channels,
            height,
            width,
        }),
        DataKind::Table { .. } => None,
    }
}

/// Output kinds chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    Png,
    Csv,
}

fn output_kind(path: &Path, kind: &DataKind) -> Result<OutputKind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") if image_shape(kind).is_some() => Ok(OutputKind::Png),
        Some("png") => Err(Error::setting(
            "--out",
            "the model was trained on a table, which has no picture; write a .csv file instead",
        )),
        Some("csv") => Ok(OutputKind::Csv),
        _ => Err(Error::setting(
            "--out",
            format!(
                "cannot tell what to write from the name {}; end it in .png (images) or .csv",
                path.display()
            ),
        )),
    }
}

/// Column names of `kind`'s values.
fn column_names(kind: &DataKind) -> Vec<String> {
    match kind {
        DataKind::Table { columns } => columns.clone(),
        DataKind::Image { .. } => (0..kind.dim()).map(|i| format!("x{i}")).collect(),
    }
}

/// Writes generated examples: a grid PNG for images, or a CSV (tables in their
/// original units through the run's scaler).
pub fn write_examples<'a>(
    path: &Path,
    values: &[f32],
    kind: &DataKind,
    units: impl Into<Units<'a>>,
) -> Result<()> {
    let n = values.len() / kind.dim().max(1);
    write_output(path, kind, units.into(), &[("", values)], None, |shape| {
        image_grid(values, shape, grid_columns(n))
    })
}

/// Writes samples: a grid (one row per class for a conditional model's
/// per-class samples) or a CSV with a `label` column when they have labels.
pub fn write_samples<'a>(
    path: &Path,
    samples: &Samples,
    kind: &DataKind,
    units: impl Into<Units<'a>>,
) -> Result<()> {
    let labels = samples.labels.as_deref();
    write_output(
        path,
        kind,
        units.into(),
        &[("", &samples.values)],
        labels,
        |shape| image_grid(&samples.values, shape, samples.columns),
    )
}

/// Writes originals beside their reconstructions: a grid of pairs for images,
/// or a CSV with `original_*` and `reconstruction_*` columns for tables.
pub fn write_comparison<'a>(
    path: &Path,
    originals: &[f32],
    reconstructions: &[f32],
    kind: &DataKind,
    units: impl Into<Units<'a>>,
) -> Result<()> {
    let blocks = [
        ("original_", originals),
        ("reconstruction_", reconstructions),
    ];
    write_output(path, kind, units.into(), &blocks, None, |shape| {
        comparison_grid(originals, reconstructions, shape, 8)
    })
}

/// Writes `blocks` of rows as the picture `grid` draws (`.png`, images only) or
/// as a CSV whose columns are each block's columns with its prefix.
fn write_output(
    path: &Path,
    kind: &DataKind,
    units: Units<'_>,
    blocks: &[(&str, &[f32])],
    labels: Option<&[u32]>,
    grid: impl FnOnce(ImageShape) -> Result<image::RgbImage>,
) -> Result<()> {
    match (output_kind(path, kind)?, image_shape(kind)) {
        (OutputKind::Png, Some(shape)) => save_png(path, &grid(shape)?),
        _ => {
            let mut header: Vec<String> = Vec::new();
            let mut rows: Vec<Vec<String>> = Vec::new();
            for (prefix, values) in blocks {
                let mut values = values.to_vec();
                units.inverse(&mut values);
                let (names, cells) = units.cells(kind, &values);
                header.extend(names.iter().map(|c| format!("{prefix}{c}")));
                rows.resize_with(rows.len().max(cells.len()), Vec::new);
                for (row, cells) in rows.iter_mut().zip(cells) {
                    row.extend(cells);
                }
            }
            if let Some(labels) = labels {
                header.push(units.label.map_or("label", |l| l.name).into());
                for (row, &label) in rows.iter_mut().zip(labels) {
                    row.push(
                        units
                            .label
                            .and_then(|l| l.class_names.get(label as usize))
                            .map_or_else(|| label.to_string(), String::clone),
                    );
                }
            }
            write_atomic_with(path, |w| {
                let mut out = csv::Writer::from_writer(w);
                out.write_record(&header)?;
                for row in &rows {
                    out.write_record(row)?;
                }
                out.flush()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::apportion;

    fn quotas(labels: &[u32], classes: usize) -> Vec<usize> {
        (0..classes as u32)
            .map(|c| labels.iter().filter(|&&l| l == c).count())
            .collect()
    }

    #[test]
    fn classes_are_apportioned_by_largest_remainder() {
        // Penguins' 152, 124, 68 of 344 drawn 688 times: exactly twice each;
        // a class with no training rows gets none.
        let labels = apportion(&[152, 124, 68, 0], 688);
        assert_eq!(quotas(&labels, 4), [304, 248, 136, 0]);
        assert!(labels.windows(2).all(|w| w[0] <= w[1]), "class after class");
        // 10 of 3:3:1 -> 4.29, 4.29, 1.43: floors 4, 4, 1, and the row left
        // goes to the largest remainder, class 2's 0.43.
        assert_eq!(quotas(&apportion(&[3, 3, 1], 10), 3), [4, 4, 2]);
        // Equal remainders go to the lower class.
        assert_eq!(quotas(&apportion(&[1, 1, 1], 2), 3), [1, 1, 0]);
        assert_eq!(apportion(&[5], 3), [0, 0, 0]);
    }
}
