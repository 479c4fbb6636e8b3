//! Generation: samples from the prior and reconstructions, as values and as
//! files (an image grid for images; a CSV in the data's own units for tables).

use std::path::Path;

use burn::tensor::Tensor;
use rand::RngExt;

use crate::batch::{check_width, model_device, model_input, noise, one_hot};
use crate::data::{DataKind, Dataset, Scaler};
use crate::error::{Error, Result};
use crate::io::write_atomic_with;
use crate::model::Vae;
use crate::random::{self, Stream};
use crate::report::{ImageShape, comparison_grid, image_grid, save_png};

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

/// Samples from the model, and how a picture of them is laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// Row-major `[n, input_dim]` means of p(x|z).
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
    let count = labels.as_ref().map_or(n, Vec::len);
    let device = model_device(model);
    let mut rng = random::seeded(seed, Stream::Sample);
    let eps = noise(&mut rng, count, model.noise_dim(), &device);
    // A mixture prior's component of each sample, by the mixing weights.
    let choice: Vec<usize> = match model.prior_weights() {
        Some(w) => match rand::distr::weighted::WeightedIndex::new(&w) {
            Ok(pick) => (0..count).map(|_| rng.sample(&pick)).collect(),
            Err(_) => (0..count).map(|_| rng.random_range(0..w.len())).collect(),
        },
        None => Vec::new(),
    };
    let z = model.prior_codes(eps, &choice);
    let y = match (&labels, model.classes()) {
        (Some(labels), Some(classes)) => Some(one_hot(labels, classes, &device)),
        _ => None,
    };
    let values = to_values(model.likelihood_mean(model.decode(model.decoder_input(z, y))));
    let columns = match (&labels, class) {
        (Some(_), None) => n,
        _ => grid_columns(count),
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
pub fn write_examples(
    path: &Path,
    values: &[f32],
    kind: &DataKind,
    scaler: Option<&Scaler>,
) -> Result<()> {
    let n = values.len() / kind.dim().max(1);
    write_output(path, kind, scaler, &[("", values)], None, |shape| {
        image_grid(values, shape, grid_columns(n))
    })
}

/// Writes samples: a grid (one row per class for a conditional model's
/// per-class samples) or a CSV with a `label` column when they have labels.
pub fn write_samples(
    path: &Path,
    samples: &Samples,
    kind: &DataKind,
    scaler: Option<&Scaler>,
) -> Result<()> {
    let labels = samples.labels.as_deref();
    write_output(
        path,
        kind,
        scaler,
        &[("", &samples.values)],
        labels,
        |shape| image_grid(&samples.values, shape, samples.columns),
    )
}

/// Writes originals beside their reconstructions: a grid of pairs for images,
/// or a CSV with `original_*` and `reconstruction_*` columns for tables.
pub fn write_comparison(
    path: &Path,
    originals: &[f32],
    reconstructions: &[f32],
    kind: &DataKind,
    scaler: Option<&Scaler>,
) -> Result<()> {
    let blocks = [
        ("original_", originals),
        ("reconstruction_", reconstructions),
    ];
    write_output(path, kind, scaler, &blocks, None, |shape| {
        comparison_grid(originals, reconstructions, shape, 8)
    })
}

/// Writes `blocks` of rows as the picture `grid` draws (`.png`, images only) or
/// as a CSV whose columns are each block's columns with its prefix.
fn write_output(
    path: &Path,
    kind: &DataKind,
    scaler: Option<&Scaler>,
    blocks: &[(&str, &[f32])],
    labels: Option<&[u32]>,
    grid: impl FnOnce(ImageShape) -> Result<image::RgbImage>,
) -> Result<()> {
    match (output_kind(path, kind)?, image_shape(kind)) {
        (OutputKind::Png, Some(shape)) => save_png(path, &grid(shape)?),
        _ => {
            let names = column_names(kind);
            let mut header: Vec<String> = blocks
                .iter()
                .flat_map(|(prefix, _)| names.iter().map(move |c| format!("{prefix}{c}")))
                .collect();
            let mut values: Vec<Vec<f32>> = blocks
                .iter()
                .map(|(_, values)| {
                    let mut values = values.to_vec();
                    if let Some(scaler) = scaler {
                        scaler.inverse(&mut values);
                    }
                    values
                })
                .collect();
            if let Some(labels) = labels {
                header.push("label".into());
                values.push(labels.iter().map(|&l| l as f32).collect());
            }
            let rows = blocks
                .first()
                .map_or(0, |(_, b)| b.len() / names.len().max(1));
            let refs: Vec<&[f32]> = values.iter().map(Vec::as_slice).collect();
            write_rows_csv(path, &header, &refs, rows)
        }
    }
}

/// Writes a CSV of `rows` rows whose columns are those of `blocks` side by side.
fn write_rows_csv(path: &Path, header: &[String], blocks: &[&[f32]], rows: usize) -> Result<()> {
    let widths: Vec<usize> = blocks.iter().map(|b| b.len() / rows.max(1)).collect();
    write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(header)?;
        for r in 0..rows {
            let record: Vec<String> = blocks
                .iter()
                .zip(&widths)
                .flat_map(|(block, &width)| {
                    block[r * width..(r + 1) * width]
                        .iter()
                        .map(|v| v.to_string())
                })
                .collect();
            out.write_record(&record)?;
        }
        out.flush()
    })
}
