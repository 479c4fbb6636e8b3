//! `vaekit report`: one HTML file that shows a whole image or table run.
//!
//! The page holds its settings and data summary, the training curves
//! (drawn by the page's own script, with a read-out under the pointer), the
//! evaluation's numbers (and the importance-weighted estimate when asked),
//! the KL of each latent dimension, and pictures: samples, reconstructions,
//! traversals and a map of the codes whose points show their example under
//! the pointer (one sprite sheet of thumbnails). A table run shows, instead
//! of pictures, each column's histogram for real rows against synthetic
//! ones, and rows beside their reconstructions. Everything is in the file:
//! it opens offline and from a `file://` URL.

use std::path::Path;

use image::{Rgb, RgbImage};
use serde::Serialize;

use super::{escape_html, page, png_data_uri, script_json};
use crate::data::prepare::{PreparedData, Split};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::eval::iw::{IwReport, evaluate_iw};
use crate::eval::{ElboReport, EvalOptions, evaluate_elbo};
use crate::generate::{
    CodeSource, Samples, Units, image_shape, reconstruct, sample_at_shares, sample_prior,
};
use crate::latent::map::map_dataset;
use crate::latent::traverse::{Base, DimChoice, traversal_picture, traverse};
use crate::model::Vae;
use crate::report::grid::{ImageShape, comparison_grid, image_grid};
use crate::run::Run;
use crate::train::EpochMetrics;

/// The page's script.
const SCRIPT: &str = include_str!("assets/report.js");

/// What a report computes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// The split evaluated and mapped (default: test, else validation,
    /// else training).
    pub split: Option<Split>,
    /// Samples of the importance-weighted estimate of -log p(x) (none by
    /// default: it takes K forward passes per example).
    pub iw_samples: Option<usize>,
    /// Examples on the latent map, each with its thumbnail.
    pub map_points: usize,
    /// Seed of the samples.
    pub seed: u64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            split: None,
            iw_samples: None,
            map_points: 2000,
            seed: 0,
        }
    }
}

/// The most examples a report maps: their thumbnails are in the file.
pub const MAX_MAP_POINTS: usize = 10_000;

/// The training curves, one value per epoch (null where an epoch has none).
#[derive(Debug, Serialize)]
pub(super) struct Curves {
    pub(super) epoch: Vec<usize>,
    pub(super) series: Vec<CurveSeries>,
}

#[derive(Debug, Serialize)]
pub(super) struct CurveSeries {
    pub(super) name: &'static str,
    /// Which chart it is drawn on.
    pub(super) chart: &'static str,
    pub(super) values: Vec<Option<f64>>,
}

/// The latent map with what the page needs to show a point's example.
#[derive(Debug, Serialize)]
pub(super) struct MapData {
    pub(super) title: String,
    pub(super) axis_labels: Vec<String>,
    pub(super) x: Vec<f64>,
    pub(super) y: Vec<f64>,
    pub(super) labels: Option<Vec<u32>>,
    pub(super) class_names: Option<Vec<String>>,
    /// The thumbnails, tiled row by row at their own size (images only).
    pub(super) sprite: Option<Sprite>,
    /// Each point's sentence (text runs).
    pub(super) texts: Option<Vec<String>>,
    /// What the colours say (default: the label).
    pub(super) legend: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Sprite {
    uri: String,
    columns: usize,
    width: usize,
    height: usize,
}

/// A column's histogram, real rows against synthetic ones (shares).
#[derive(Debug, Serialize)]
pub(super) struct ColumnHistogram {
    name: String,
    numeric: bool,
    /// Bin edges' labels (numeric) or the categories.
    bins: Vec<String>,
    real: Vec<f64>,
    synthetic: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub(super) struct TableRows {
    header: Vec<String>,
    original: Vec<Vec<String>>,
    reconstruction: Vec<Vec<String>>,
}

/// The evaluation as the page shows it: named figures, the KL of each
/// latent dimension, and a table's reconstruction by column.
#[derive(Debug, Serialize)]
pub(super) struct EvalView {
    pub(super) numbers: Vec<(String, serde_json::Value)>,
    pub(super) kl_per_dim: Vec<f64>,
    pub(super) active_units: usize,
    pub(super) by_block: Vec<crate::eval::BlockRecon>,
    pub(super) note: String,
}

/// Lines of text (samples), or pairs (sentences and their decodings).
#[derive(Debug, Serialize)]
pub(super) struct TextBlock {
    pub(super) title: String,
    pub(super) caption: String,
    pub(super) lines: Vec<String>,
    pub(super) pairs: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub(super) struct ReportData {
    pub(super) title: String,
    pub(super) kind: &'static str,
    pub(super) settings: serde_json::Value,
    pub(super) data: serde_json::Value,
    pub(super) curves: Curves,
    pub(super) eval: EvalView,
    pub(super) pictures: Vec<Picture>,
    pub(super) texts: Vec<TextBlock>,
    pub(super) map: MapData,
    pub(super) histograms: Vec<ColumnHistogram>,
    pub(super) rows: Option<TableRows>,
}

#[derive(Debug, Serialize)]
pub(super) struct Picture {
    pub(super) title: String,
    pub(super) caption: String,
    pub(super) uri: String,
}

/// A built report: the page, and how large its pieces are.
#[derive(Debug, Clone)]
pub struct Report {
    /// The whole HTML file.
    pub html: String,
    /// The split evaluated.
    pub split: Split,
    /// -ELBO on it, nats per example.
    pub neg_elbo: f64,
    /// Examples on the map.
    pub map_points: usize,
}

/// Builds the report of an image or table run.
///
/// # Errors
///
/// A setting out of range ([`Error::Setting`]), and any error of the
/// evaluation, sampling or drawing it runs.
pub fn build_report(
    run: &Run,
    model: &Vae,
    data: &PreparedData,
    options: &ReportOptions,
) -> Result<Report> {
    check_map_points(options.map_points)?;
    let split = options.split.unwrap_or_else(|| data.default_eval_split());
    let rows = data.split(split)?;
    let kind = &run.config.model.input;
    let settings = &run.config.settings;
    let eval_options = EvalOptions::for_run(settings);
    let eval = evaluate_elbo(model, rows, &eval_options)?;
    let iw = match options.iw_samples {
        Some(k) => Some(evaluate_iw(model, rows, &eval_options, k, &mut |_| {})?),
        None => None,
    };
    let source = settings.data.clone().unwrap_or_default();
    let what = format!("the {split} split of {}", short_name(&source));
    let map = map_dataset(model, rows, &what, Some(options.map_points), 2, None)?;
    let n = map.map.len();
    let (x, y) = map.map.coords.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
    let shape = image_shape(kind);
    let sprite = match shape {
        Some(shape) => Some(sprite(&rows.values()[..n * kind.dim()], shape)?),
        None => None,
    };
    let units = run.units();
    let (pictures, histograms, table_rows) = match shape {
        Some(shape) => (
            image_pictures(run, model, rows, shape, options.seed)?,
            Vec::new(),
            None,
        ),
        None => {
            // The histograms compare with the training rows: the model's
            // target, and more rows than a held-out split.
            let real = &data.train;
            let synthetic = synthetic_rows(run, model, real.len().min(5000), options.seed)?;
            (
                Vec::new(),
                histograms(kind, &units, real, &synthetic.values)?,
                Some(table_rows(kind, &units, model, rows)?),
            )
        }
    };
    let title = format!("vaekit report: {}", run.dir.display());
    let report = ReportData {
        title: title.clone(),
        kind: if shape.is_some() { "image" } else { "table" },
        settings: serde_json::to_value(settings).unwrap_or_default(),
        data: serde_json::to_value(&run.config.data).unwrap_or_default(),
        curves: curves(&run.metrics::<EpochMetrics>()?),
        eval: eval_view(&eval, iw.as_ref(), split),
        pictures,
        texts: Vec::new(),
        map: MapData {
            title: map.title,
            axis_labels: map.map.axis_labels.clone(),
            x,
            y,
            labels: map.labels,
            class_names: run.config.data.class_names.clone(),
            sprite,
            texts: None,
            legend: None,
        },
        histograms,
        rows: table_rows,
    };
    Ok(Report {
        html: report_page(&report)?,
        split,
        neg_elbo: eval.neg_elbo,
        map_points: n,
    })
}

/// The page of `report`.
pub(super) fn report_page(report: &ReportData) -> Result<String> {
    let body = format!(
        "<header><h1>{}</h1><p class=\"sub\">made by vaekit {} from the run's own files; \
         everything below is in this one file</p></header>\n<main id=\"report\"></main>",
        escape_html(&report.title),
        env!("CARGO_PKG_VERSION"),
    );
    Ok(page(&report.title, &body, &script_json(report)?, SCRIPT))
}

/// The figures of an image or table run's evaluation on `split`.
fn eval_view(e: &ElboReport, iw: Option<&IwReport>, split: Split) -> EvalView {
    let mut numbers: Vec<(String, serde_json::Value)> = vec![
        ("examples".into(), e.n.into()),
        ("-ELBO (nats per example)".into(), e.neg_elbo.into()),
        ("reconstruction".into(), e.recon.into()),
        ("KL".into(), e.kl.into()),
        ("-ELBO, bits per dimension".into(), e.bits_per_dim.into()),
        (
            "active units".into(),
            format!("{} of {}", e.active_units, e.kl_per_dim.len()).into(),
        ),
    ];
    if let Some(iw) = iw {
        numbers.push((
            format!("-log p(x), importance-weighted, K = {}", iw.samples),
            format!("{:.3} ± {:.3}", iw.nll, iw.std_error).into(),
        ));
        numbers.push((
            "-log p(x), bits per dimension".into(),
            iw.bits_per_dim.into(),
        ));
    }
    EvalView {
        numbers,
        kl_per_dim: e.kl_per_dim.clone(),
        active_units: e.active_units,
        by_block: e.recon_by_block.clone(),
        note: iw_note(split, iw.is_some()),
    }
}

/// What the evaluation was run on, and how to add the IW estimate.
pub(super) fn iw_note(split: Split, has_iw: bool) -> String {
    let hint = match has_iw {
        true => "",
        false => {
            "; `vaekit report --iw-samples K` adds the importance-weighted estimate of -log p(x)"
        }
    };
    format!("On the {split} split, one sample of z per example{hint}.")
}

/// Checks the number of examples on a report's map.
pub(super) fn check_map_points(n: usize) -> Result<()> {
    match (1..=MAX_MAP_POINTS).contains(&n) {
        true => Ok(()),
        false => Err(Error::setting(
            "--map-points",
            format!(
                "a report maps 1 to {MAX_MAP_POINTS} examples (their thumbnails are in the file), not {n}; `vaekit explore` shows up to 70,000"
            ),
        )),
    }
}

impl MapData {
    /// No map (a model without a code).
    pub(super) fn empty() -> MapData {
        MapData {
            title: String::new(),
            axis_labels: Vec::new(),
            x: Vec::new(),
            y: Vec::new(),
            labels: None,
            class_names: None,
            sprite: None,
            texts: None,
            legend: None,
        }
    }
}

/// Writes `html` at `path` atomically; an existing file is refused unless
/// `force`.
pub fn write_report(path: &Path, html: &str, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(Error::setting(
            "--out",
            format!(
                "{} exists; give another path or --force to replace it",
                path.display()
            ),
        ));
    }
    if path.is_dir() {
        return Err(Error::setting(
            "--out",
            format!(
                "{} is a folder; give a file such as report.html",
                path.display()
            ),
        ));
    }
    crate::io::write_atomic(path, html.as_bytes())
}

/// The last part of a path.
fn short_name(source: &str) -> String {
    Path::new(source)
        .file_name()
        .map_or(source.to_string(), |n| n.to_string_lossy().into_owned())
}

/// Each epoch's curves: the -ELBO, reconstruction and KL on the training
/// and validation examples, the learning rate and beta.
fn curves(metrics: &[EpochMetrics]) -> Curves {
    let series = |name, chart, f: &dyn Fn(&EpochMetrics) -> Option<f64>| CurveSeries {
        name,
        chart,
        values: metrics.iter().map(f).collect(),
    };
    Curves {
        epoch: metrics.iter().map(|m| m.epoch).collect(),
        series: vec![
            series("train -ELBO", "elbo", &|m| Some(m.train_neg_elbo)),
            series("validation -ELBO", "elbo", &|m| {
                m.val.as_ref().map(|v| v.neg_elbo)
            }),
            series("train reconstruction", "parts", &|m| Some(m.train_recon)),
            series("validation reconstruction", "parts", &|m| {
                m.val.as_ref().map(|v| v.recon)
            }),
            series("train KL", "kl", &|m| Some(m.train_kl)),
            series("validation KL", "kl", &|m| m.val.as_ref().map(|v| v.kl)),
            series("learning rate", "lr", &|m| Some(m.lr)),
            series("beta", "beta", &|m| Some(m.beta)),
        ],
    }
}

/// The first images of `values` tiled at their own size, as many columns
/// as make the sheet about square.
fn sprite(values: &[f32], shape: ImageShape) -> Result<Sprite> {
    let pixels = shape.channels * shape.height * shape.width;
    let n = values.len() / pixels.max(1);
    let columns = (n as f64).sqrt().ceil().max(1.0) as usize;
    let rows = n.div_ceil(columns).max(1);
    let mut sheet = RgbImage::new((columns * shape.width) as u32, (rows * shape.height) as u32);
    let level = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    for (i, image) in values.chunks_exact(pixels).enumerate() {
        let (ox, oy) = ((i % columns) * shape.width, (i / columns) * shape.height);
        let plane = shape.height * shape.width;
        for y in 0..shape.height {
            for x in 0..shape.width {
                let at = |c: usize| level(image[c * plane + y * shape.width + x]);
                let rgb = match shape.channels {
                    3 => [at(0), at(1), at(2)],
                    _ => [at(0); 3],
                };
                sheet.put_pixel((ox + x) as u32, (oy + y) as u32, Rgb(rgb));
            }
        }
    }
    Ok(Sprite {
        uri: png_data_uri(&sheet)?,
        columns,
        width: shape.width,
        height: shape.height,
    })
}

/// Samples, reconstructions and a traversal of an image run.
fn image_pictures(
    run: &Run,
    model: &Vae,
    rows: &Dataset,
    shape: ImageShape,
    seed: u64,
) -> Result<Vec<Picture>> {
    let samples = match model.classes() {
        Some(_) => sample_prior(model, 8, seed, None)?,
        None => sample_prior(model, 64, seed, None)?,
    };
    let (originals, recons) = reconstruct(model, rows, 32)?;
    let kl = crate::latent::space::kl_on_data(model, run, rows, Some(1000))?;
    let dims = DimChoice::Top(kl.len().min(10));
    let traversal = traverse(model, Some(rows), Base::Example(0), &kl, dims, 3.0, 9, None)?;
    let per_class = match model.classes() {
        Some(c) => format!(", one row per class (of {c})"),
        None => String::new(),
    };
    Ok(vec![
        Picture {
            title: "Samples".into(),
            caption: format!(
                "{} draws from the prior, decoded to the mean of p(x|z) (seed {seed}){per_class}",
                samples.count
            ),
            uri: png_data_uri(&image_grid(&samples.values, shape, samples.columns)?)?,
        },
        Picture {
            title: "Reconstructions".into(),
            caption: "the first examples of the split (left of each pair) and the mean of p(x|z) at their posterior mean (right)".into(),
            uri: png_data_uri(&comparison_grid(&originals, &recons, shape, 8)?)?,
        },
        Picture {
            title: "Traversals".into(),
            caption: format!(
                "the first example's code with one dimension at a time swept from -3 to 3 (one row each, the {} with the most KL first)",
                traversal.dims.len()
            ),
            uri: png_data_uri(&traversal_picture(&traversal, &run.config.model.input)?)?,
        },
    ])
}

/// `n` synthetic rows: at the training shares of the classes for a
/// conditional model, else from the prior.
fn synthetic_rows(run: &Run, model: &Vae, n: usize, seed: u64) -> Result<Samples> {
    match (model.classes(), run.config.data.class_counts.as_deref()) {
        (Some(_), Some(counts)) => {
            sample_at_shares(model, CodeSource::Prior, n.max(1), seed, counts)
        }
        (Some(_), None) => sample_prior(model, (n / 10).max(1), seed, None),
        (None, _) => sample_prior(model, n.max(1), seed, None),
    }
}

/// The cells of `values` (model units) in the table's own units.
fn cells(kind: &DataKind, units: &Units<'_>, values: &[f32]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut values = values.to_vec();
    units.inverse(&mut values);
    units.cells(kind, &values)
}

/// Bins of a numeric column.
const NUMERIC_BINS: usize = 20;
/// Categories shown per column; the rest are one bar.
const MAX_CATEGORIES: usize = 20;

/// Each column's histogram over the real rows and the synthetic ones.
fn histograms(
    kind: &DataKind,
    units: &Units<'_>,
    real: &Dataset,
    synthetic: &[f32],
) -> Result<Vec<ColumnHistogram>> {
    let (names, real_rows) = cells(kind, units, real.values());
    let (_, fake_rows) = cells(kind, units, synthetic);
    let column = |rows: &[Vec<String>], c: usize| -> Vec<String> {
        rows.iter()
            .filter_map(|r| r.get(c).cloned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    Ok(names
        .iter()
        .enumerate()
        .map(|(c, name)| histogram(name, &column(&real_rows, c), &column(&fake_rows, c)))
        .collect())
}

/// One column's histogram: numeric when every real cell is a number.
fn histogram(name: &str, real: &[String], synthetic: &[String]) -> ColumnHistogram {
    let numbers = |cells: &[String]| -> Option<Vec<f64>> {
        cells
            .iter()
            .map(|c| c.parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect()
    };
    let shares = |counts: Vec<f64>| {
        let total: f64 = counts.iter().sum::<f64>().max(1.0);
        counts.into_iter().map(|c| c / total).collect::<Vec<f64>>()
    };
    if let (Some(r), Some(s)) = (numbers(real), numbers(synthetic))
        && !r.is_empty()
    {
        let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let width = ((hi - lo) / NUMERIC_BINS as f64).max(f64::MIN_POSITIVE);
        let count = |values: &[f64]| {
            let mut bins = vec![0.0; NUMERIC_BINS];
            for v in values {
                let b = (((v - lo) / width).floor().max(0.0) as usize).min(NUMERIC_BINS - 1);
                bins[b] += 1.0;
            }
            bins
        };
        return ColumnHistogram {
            name: name.to_string(),
            numeric: true,
            bins: (0..NUMERIC_BINS)
                .map(|b| format_number(lo + width * b as f64))
                .collect(),
            real: shares(count(&r)),
            synthetic: shares(count(&s)),
        };
    }
    let mut frequent: Vec<(String, usize)> = Vec::new();
    for c in real {
        match frequent.iter_mut().find(|(k, _)| k == c) {
            Some((_, n)) => *n += 1,
            None => frequent.push((c.clone(), 1)),
        }
    }
    frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut bins: Vec<String> = frequent
        .iter()
        .take(MAX_CATEGORIES)
        .map(|(k, _)| k.clone())
        .collect();
    let other = frequent.len() > MAX_CATEGORIES;
    if other {
        bins.push("(other)".into());
    }
    let count = |cells: &[String]| {
        let mut counts = vec![0.0; bins.len()];
        for c in cells {
            match bins.iter().position(|b| b == c) {
                Some(i) => counts[i] += 1.0,
                None if other => *counts.last_mut().expect("other is a bin") += 1.0,
                None => {}
            }
        }
        counts
    };
    ColumnHistogram {
        name: name.to_string(),
        numeric: false,
        real: shares(count(real)),
        synthetic: shares(count(synthetic)),
        bins,
    }
}

/// A bin edge, to four significant digits.
fn format_number(v: f64) -> String {
    let text = format!("{v:.4}");
    let short = format!("{:.4e}", v);
    match v.abs() {
        a if a != 0.0 && !(1e-3..1e6).contains(&a) => short,
        _ => text.trim_end_matches('0').trim_end_matches('.').to_string(),
    }
}

/// The first rows beside their reconstructions, in the table's units.
fn table_rows(
    kind: &DataKind,
    units: &Units<'_>,
    model: &Vae,
    rows: &Dataset,
) -> Result<TableRows> {
    let (originals, recons) = reconstruct(model, rows, 8)?;
    let (header, original) = cells(kind, units, &originals);
    let (_, reconstruction) = cells(kind, units, &recons);
    Ok(TableRows {
        header,
        original,
        reconstruction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_compare_shares_by_bin_and_by_category() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let h = histogram(
            "age",
            &s(&["0", "10", "10", "20"]),
            &s(&["0", "0", "30", "-5"]),
        );
        assert!(h.numeric);
        assert_eq!(h.bins.len(), NUMERIC_BINS);
        assert_eq!((h.real[0], h.real[10], h.real[19]), (0.25, 0.5, 0.25));
        // Outside the real range: into the edge bins.
        assert_eq!((h.synthetic[0], h.synthetic[19]), (0.75, 0.25));
        let h = histogram(
            "colour",
            &s(&["red", "blue", "red"]),
            &s(&["blue", "green"]),
        );
        assert!(!h.numeric);
        assert_eq!(h.bins, ["red", "blue"]);
        assert_eq!(h.real, [2.0 / 3.0, 1.0 / 3.0]);
        // A category the real rows lack is in no bin (there is no other).
        assert_eq!(h.synthetic, [0.0, 1.0]);
        assert_eq!(format_number(12.5), "12.5");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(1.5e7), "1.5000e7");
    }
}
