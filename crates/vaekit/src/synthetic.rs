//! Judging a synthetic table against real rows, as SDMetrics judges it.
//!
//! The definitions follow SDMetrics 0.32's single-table `QualityReport`
//! (written out in docs/TABLES.md, and checked against SDMetrics itself by
//! `bench/adult.py`):
//!
//! * **Column shapes**, one score per column: for a real or count column the
//!   KS complement, 1 - sup_x |F_real(x) - F_synth(x)| over the two empirical
//!   distributions; for a binary or categorical column the TV complement,
//!   1 - (1/2) sum_k |p_real(k) - p_synth(k)| over the categories' shares.
//! * **Column pair trends**, one score per pair of columns: for two numeric
//!   columns the correlation similarity, 1 - |r_real - r_synth| / 2 with
//!   Pearson's r; for any other pair the contingency similarity, the TV
//!   complement of the pair's joint shares, a numeric column cut into 10
//!   equal-width bins over each table's own range (see `binned` for the
//!   exact rule, quirks included).
//!   Only the pairs whose real columns are associated count, as in
//!   SDMetrics 0.32: |r| > 0.5 for two numbers, Cramer's V > 0.3 otherwise
//!   (the mean over every pair, the older definition, is reported too).
//! * **Quality**, the mean of the mean column shape and the mean pair trend.
//! * **Distance to the closest record** (privacy): per synthetic row, the
//!   smallest distance to a real row, the distance being the mean over the
//!   columns of |a - b| / (the real column's range, capped at 1) for numbers
//!   and 0 or 1 (same category or not) for categories; a missing cell is at 0
//!   from another missing one and at 1 from a value. Its median is reported
//!   beside the same median for real rows held out of training, which shows
//!   how close new rows from the same source fall by nature: a synthetic
//!   median far below it means copies of training rows.
//!
//! * **Machine-learning efficacy** ([`efficacy`]): F1 of a classifier of a
//!   target column trained on the synthetic rows and tested on held-out real
//!   rows, beside the same classifier trained on the real rows.
//!
//! Missing cells are left out of the column shapes and correlations and are
//! a category of their own in a contingency table, as SDMetrics counts them.

use std::collections::BTreeMap;

use burn::tensor::Device;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::Serialize;

use crate::data::columns::{ColumnKind, TableColumns, likeliest};
use std::path::Path;

use crate::data::{Dataset, Format, LoadOptions, TableReading, load};
use crate::error::{Error, Result};
use crate::random::{self, Stream};
use crate::run::Run;

pub mod efficacy;

/// Number of bins a numeric column is cut into for contingency similarity.
pub const CONTINGENCY_BINS: usize = 10;

/// Synthetic rows (at most) whose closest real record is looked for.
pub const DCR_ROWS: usize = 1000;

/// The cells of one column, by its type.
#[derive(Debug, Clone)]
enum ColumnCells {
    /// Numbers (None: missing).
    Numeric(Vec<Option<f64>>),
    /// Category indices (None: missing).
    Categorical(Vec<Option<usize>>),
}

/// Reads each column's cells out of rows encoded by `columns` (raw units,
/// as [`crate::run::Run::load_source`] reads them).
fn column_cells(data: &Dataset, columns: &TableColumns) -> Result<Vec<ColumnCells>> {
    if data.dim() != columns.width() {
        return Err(Error::Data(format!(
            "the table has {} values per row but the run's columns take {}",
            data.dim(),
            columns.width()
        )));
    }
    let mut out = Vec::with_capacity(columns.columns.len());
    let mut at = 0;
    for c in &columns.columns {
        let w = c.kind.width();
        let missing = |r: usize| data.missing_row(r).is_some_and(|m| m[at]);
        let cells = match &c.kind {
            // Judged tables are read with their modes as reals
            // (TableColumns::for_judging); a column still coded by
            // modes is read as the values it codes.
            ColumnKind::Modes(modes) => ColumnCells::Numeric(
                (0..data.len())
                    .map(|r| {
                        (!missing(r)).then(|| f64::from(modes.value_of(&data.row(r)[at..at + w])))
                    })
                    .collect(),
            ),
            ColumnKind::Real { .. } | ColumnKind::Count { .. } => ColumnCells::Numeric(
                (0..data.len())
                    .map(|r| (!missing(r)).then(|| f64::from(data.row(r)[at])))
                    .collect(),
            ),
            ColumnKind::Binary => ColumnCells::Categorical(
                (0..data.len())
                    .map(|r| (!missing(r)).then(|| usize::from(data.row(r)[at] >= 0.5)))
                    .collect(),
            ),
            ColumnKind::Categorical { .. } => ColumnCells::Categorical(
                (0..data.len())
                    .map(|r| (!missing(r)).then(|| likeliest(&data.row(r)[at..at + w])))
                    .collect(),
            ),
        };
        out.push(cells);
        at += w;
    }
    Ok(out)
}

/// One column's shape score.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnShape {
    /// The column.
    pub column: String,
    /// `KSComplement` or `TVComplement`.
    pub metric: &'static str,
    /// In [0, 1], 1 when the distributions agree.
    pub score: f64,
}

/// One pair's trend score.
#[derive(Debug, Clone, Serialize)]
pub struct PairTrend {
    /// The first column.
    pub a: String,
    /// The second column.
    pub b: String,
    /// `CorrelationSimilarity` or `ContingencySimilarity`.
    pub metric: &'static str,
    /// In [0, 1].
    pub score: f64,
    /// The real rows' own association: |Pearson's r| for two numbers,
    /// Cramer's V of the contingency table otherwise.
    pub real_association: f64,
    /// Whether the pair counts towards the pair-trend score: its real
    /// association is above [`CORRELATION_THRESHOLD`] or
    /// [`ASSOCIATION_THRESHOLD`], as in SDMetrics 0.32.
    pub counted: bool,
}

/// Numeric pairs count towards the pair trends from this |r| up (exclusive).
pub const CORRELATION_THRESHOLD: f64 = 0.5;

/// Other pairs count from this Cramer's V up (exclusive).
pub const ASSOCIATION_THRESHOLD: f64 = 0.3;

/// Distances to the closest real record.
#[derive(Debug, Clone, Serialize)]
pub struct ClosestRecords {
    /// Median over (up to [`DCR_ROWS`]) synthetic rows.
    pub synthetic_median: f64,
    /// The same for held-out real rows, where given.
    pub holdout_median: Option<f64>,
    /// Share of the synthetic rows compared that copy a real row exactly.
    pub exact_copies: f64,
    /// Synthetic rows compared.
    pub rows: usize,
}

/// A synthetic table's scores against real rows.
#[derive(Debug, Clone, Serialize)]
pub struct SyntheticReport {
    /// Real rows compared.
    pub real_rows: usize,
    /// Synthetic rows compared.
    pub synthetic_rows: usize,
    /// The mean of the column shapes.
    pub column_shapes: f64,
    /// The mean of the trends of the pairs that count (whose real columns
    /// are associated, see [`PairTrend::counted`]).
    pub column_pair_trends: f64,
    /// The mean over every pair, as SDMetrics before 0.2x reported it.
    pub column_pair_trends_all_pairs: f64,
    /// The mean of the two: SDMetrics' overall quality score.
    pub quality: f64,
    /// Each column's shape.
    pub shapes: Vec<ColumnShape>,
    /// Each pair's trend.
    pub pairs: Vec<PairTrend>,
    /// Distance to the closest record.
    pub closest_records: ClosestRecords,
    /// Machine-learning efficacy, where a target and held-out rows are given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub efficacy: Option<efficacy::Efficacy>,
}

/// Scores `synthetic` rows against `real` ones (and `holdout` real rows
/// for the privacy baseline), all encoded by `columns`.
///
/// # Errors
///
/// [`Error::Data`] when a table does not fit the columns or is empty.
pub fn judge(
    columns: &TableColumns,
    real: &Dataset,
    synthetic: &Dataset,
    holdout: Option<&Dataset>,
    seed: u64,
) -> Result<SyntheticReport> {
    if real.is_empty() || synthetic.is_empty() {
        return Err(Error::Data(
            "both the real and the synthetic table need rows".into(),
        ));
    }
    let r = column_cells(real, columns)?;
    let s = column_cells(synthetic, columns)?;
    let names = columns.names();
    let shapes: Vec<ColumnShape> = names
        .iter()
        .zip(r.iter().zip(&s))
        .filter_map(|(name, (r, s))| {
            let (metric, score) = match (r, s) {
                (ColumnCells::Numeric(a), ColumnCells::Numeric(b)) => {
                    ("KSComplement", ks_complement(a, b)?)
                }
                (ColumnCells::Categorical(a), ColumnCells::Categorical(b)) => (
                    "TVComplement",
                    tv_complement(a.iter().copied(), b.iter().copied())?,
                ),
                _ => return None,
            };
            Some(ColumnShape {
                column: name.clone(),
                metric,
                score,
            })
        })
        .collect();
    let mut pairs = Vec::new();
    for i in 0..names.len() {
        for j in i + 1..names.len() {
            let trend = match (&r[i], &r[j], &s[i], &s[j]) {
                (
                    ColumnCells::Numeric(ra),
                    ColumnCells::Numeric(rb),
                    ColumnCells::Numeric(sa),
                    ColumnCells::Numeric(sb),
                ) => correlation(ra, rb).zip(correlation(sa, sb)).map(|(x, y)| {
                    let score = 1.0 - (x - y).abs() / 2.0;
                    (
                        "CorrelationSimilarity",
                        score,
                        x.abs(),
                        x.abs() > CORRELATION_THRESHOLD,
                    )
                }),
                _ => {
                    let (ra, sa) = binned(&r[i], &s[i]);
                    let (rb, sb) = binned(&r[j], &s[j]);
                    let joint = |a: &[Option<usize>], b: &[Option<usize>]| -> Vec<Option<usize>> {
                        a.iter()
                            .zip(b)
                            .map(|(x, y)| Some(x.as_ref()? * (MISSING_CODE + 1) + y.as_ref()?))
                            .collect()
                    };
                    let v = cramers_v(&ra, &rb);
                    tv_complement(joint(&ra, &rb), joint(&sa, &sb)).map(|score| {
                        let v = v.unwrap_or(f64::NAN);
                        ("ContingencySimilarity", score, v, v > ASSOCIATION_THRESHOLD)
                    })
                }
            };
            if let Some((metric, score, real_association, counted)) = trend {
                pairs.push(PairTrend {
                    a: names[i].clone(),
                    b: names[j].clone(),
                    metric,
                    score,
                    real_association,
                    counted,
                });
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let column_shapes = mean(&shapes.iter().map(|s| s.score).collect::<Vec<_>>());
    let column_pair_trends = mean(
        &pairs
            .iter()
            .filter(|p| p.counted)
            .map(|p| p.score)
            .collect::<Vec<_>>(),
    );
    let column_pair_trends_all_pairs = mean(&pairs.iter().map(|p| p.score).collect::<Vec<_>>());
    let closest_records = closest_records(
        &r,
        &s,
        holdout.map(|h| column_cells(h, columns)).transpose()?,
        seed,
    );
    Ok(SyntheticReport {
        real_rows: real.len(),
        synthetic_rows: synthetic.len(),
        column_shapes,
        column_pair_trends,
        column_pair_trends_all_pairs,
        quality: (column_shapes + column_pair_trends) / 2.0,
        shapes,
        pairs,
        closest_records,
        efficacy: None,
    })
}

/// [`judge`] on files: the run's real rows (its training file, or `real`),
/// the synthetic CSV and an optional held-out CSV, each read through the
/// run's typed columns.
///
/// # Errors
///
/// [`Error::Setting`] for a run without typed columns; the errors of
/// loading (a synthetic category the run never saw is named with its cell).
pub fn judge_files(
    run: &Run,
    real: Option<(&str, &LoadOptions)>,
    synthetic: &Path,
    holdout: Option<&Path>,
    target: Option<&str>,
    device: &Device,
) -> Result<SyntheticReport> {
    if target.is_some() && holdout.is_none() {
        return Err(Error::setting(
            "--target",
            "efficacy is tested on real rows held out of training; give them with --holdout",
        ));
    }
    let Some(columns) = &run.config.model.table else {
        return Err(Error::setting(
            "--synthetic",
            "the run was not trained on a table with typed columns; judge synthetic tables with a run of a mixed table (or one trained with --column-types auto)",
        ));
    };
    // Counts are judged as numbers, so that another program's synthetic
    // table (TVAE writes negative incomes now and then) can be read.
    let lenient = columns.for_judging();
    let csv = |spec: &str, given: Option<&LoadOptions>| -> Result<Dataset> {
        let mut options = given.cloned().unwrap_or_else(|| LoadOptions {
            format: Some(Format::Csv),
            label_column: run.config.settings.label_column.clone(),
            ..LoadOptions::default()
        });
        options.reading = TableReading::Typed(lenient.clone());
        options.columns = Default::default();
        Ok(load(spec, &options)?.train)
    };
    let real = match real {
        Some((spec, options)) => csv(spec, Some(options))?,
        None => csv(
            run.config.settings.data.as_deref().unwrap_or_default(),
            Some(&run.config.settings.load_options()),
        )?,
    };
    let synthetic = csv(&synthetic.to_string_lossy(), None)?;
    let holdout = holdout
        .map(|h| csv(&h.to_string_lossy(), None))
        .transpose()?;
    let mut report = judge(&lenient, &real, &synthetic, holdout.as_ref(), 0)?;
    if let (Some(target), Some(holdout)) = (target, &holdout) {
        report.efficacy = Some(efficacy::efficacy(
            &lenient, target, &real, &synthetic, holdout, device,
        )?);
    }
    Ok(report)
}

fn observed(v: &[Option<f64>]) -> Vec<f64> {
    let mut out: Vec<f64> = v.iter().flatten().copied().collect();
    out.sort_by(f64::total_cmp);
    out
}

/// 1 - the two-sample Kolmogorov-Smirnov statistic (None without values).
fn ks_complement(a: &[Option<f64>], b: &[Option<f64>]) -> Option<f64> {
    let (a, b) = (observed(a), observed(b));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    Some(1.0 - d)
}

/// 1 - the total variation distance of two samples' category shares.
fn tv_complement(
    a: impl IntoIterator<Item = Option<usize>>,
    b: impl IntoIterator<Item = Option<usize>>,
) -> Option<f64> {
    let shares = |v: &mut dyn Iterator<Item = Option<usize>>| {
        let mut counts: BTreeMap<usize, f64> = BTreeMap::new();
        let mut n = 0.0;
        for k in v.flatten() {
            *counts.entry(k).or_default() += 1.0;
            n += 1.0;
        }
        counts.values_mut().for_each(|c| *c /= n);
        (counts, n)
    };
    let (pa, na) = shares(&mut a.into_iter());
    let (pb, nb) = shares(&mut b.into_iter());
    if na == 0.0 || nb == 0.0 {
        return None;
    }
    let keys: std::collections::BTreeSet<&usize> = pa.keys().chain(pb.keys()).collect();
    let tv: f64 = keys
        .into_iter()
        .map(|k| (pa.get(k).unwrap_or(&0.0) - pb.get(k).unwrap_or(&0.0)).abs())
        .sum::<f64>()
        / 2.0;
    Some(1.0 - tv)
}

/// Cramer's V of two columns' contingency table (scipy's
/// `association(..., method="cramer")`, no continuity correction):
/// sqrt(chi^2 / (n (min(rows, columns) - 1))); None for a table with fewer
/// than two rows or columns.
fn cramers_v(a: &[Option<usize>], b: &[Option<usize>]) -> Option<f64> {
    let mut table: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let (mut rows, mut cols): (BTreeMap<usize, f64>, BTreeMap<usize, f64>) = Default::default();
    let mut n = 0.0;
    for (x, y) in a.iter().zip(b) {
        let (Some(x), Some(y)) = (x, y) else { continue };
        *table.entry((*x, *y)).or_default() += 1.0;
        *rows.entry(*x).or_default() += 1.0;
        *cols.entry(*y).or_default() += 1.0;
        n += 1.0;
    }
    let k = rows.len().min(cols.len());
    if k < 2 {
        return None;
    }
    let mut chi2 = 0.0;
    for (x, rx) in &rows {
        for (y, cy) in &cols {
            let expected = rx * cy / n;
            let observed = table.get(&(*x, *y)).copied().unwrap_or(0.0);
            chi2 += (observed - expected).powi(2) / expected;
        }
    }
    Some((chi2 / (n * (k - 1) as f64)).sqrt())
}

/// Pearson's r over the rows where both are present (None when either
/// has no spread).
fn correlation(a: &[Option<f64>], b: &[Option<f64>]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
        .collect();
    let n = pairs.len() as f64;
    if n < 2.0 {
        return None;
    }
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// The category a missing cell is in a contingency table.
const MISSING_CODE: usize = 1_000_000;

/// A column as categories for a contingency table, as SDMetrics 0.32's
/// `QualityReport` makes them: a category stays itself (a missing cell a
/// category of its own, as `groupby(dropna=False)` counts it); a number
/// becomes `np.digitize(x, np.histogram_bin_edges(column))`, the count of
/// the 11 equal-width edges over *that table's own* range at or below x
/// (so each table is cut at its own edges, the largest value gets a bin of
/// its own, 11, and a missing cell falls in that bin too).
fn binned(real: &ColumnCells, synthetic: &ColumnCells) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
    let digitized = |v: &[Option<f64>]| -> Vec<Option<usize>> {
        let o = observed(v);
        let (mut lo, mut hi) = (
            o.first().copied().unwrap_or(0.0),
            o.last().copied().unwrap_or(0.0),
        );
        if lo == hi {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let step = (hi - lo) / CONTINGENCY_BINS as f64;
        let mut edges: Vec<f64> = (0..=CONTINGENCY_BINS)
            .map(|k| lo + k as f64 * step)
            .collect();
        edges[CONTINGENCY_BINS] = hi;
        v.iter()
            .map(|x| {
                Some(match x {
                    Some(x) => edges.iter().filter(|&&e| e <= *x).count(),
                    None => edges.len(),
                })
            })
            .collect()
    };
    match (real, synthetic) {
        (ColumnCells::Numeric(r), ColumnCells::Numeric(s)) => (digitized(r), digitized(s)),
        (ColumnCells::Categorical(r), ColumnCells::Categorical(s)) => {
            let code = |v: &Option<usize>| Some(v.unwrap_or(MISSING_CODE));
            (r.iter().map(code).collect(), s.iter().map(code).collect())
        }
        _ => (Vec::new(), Vec::new()),
    }
}

/// The distances to the closest record (see the module documentation).
fn closest_records(
    real: &[ColumnCells],
    synthetic: &[ColumnCells],
    holdout: Option<Vec<ColumnCells>>,
    seed: u64,
) -> ClosestRecords {
    let rows = |c: &[ColumnCells]| match c.first() {
        Some(ColumnCells::Numeric(v)) => v.len(),
        Some(ColumnCells::Categorical(v)) => v.len(),
        None => 0,
    };
    let ranges: Vec<f64> = real
        .iter()
        .map(|c| match c {
            ColumnCells::Numeric(v) => {
                let o = observed(v);
                o.last().zip(o.first()).map_or(0.0, |(hi, lo)| hi - lo)
            }
            ColumnCells::Categorical(_) => 0.0,
        })
        .collect();
    let distance = |a: &[ColumnCells], i: usize, j: usize| -> f64 {
        let mut total = 0.0;
        for ((ca, cb), range) in a.iter().zip(real).zip(&ranges) {
            total += match (ca, cb) {
                (ColumnCells::Numeric(x), ColumnCells::Numeric(y)) => match (x[i], y[j]) {
                    (Some(x), Some(y)) if *range > 0.0 => ((x - y).abs() / range).min(1.0),
                    (Some(x), Some(y)) => f64::from(u8::from(x != y)),
                    (None, None) => 0.0,
                    _ => 1.0,
                },
                (ColumnCells::Categorical(x), ColumnCells::Categorical(y)) => {
                    f64::from(u8::from(x[i] != y[j]))
                }
                _ => 1.0,
            };
        }
        total / real.len().max(1) as f64
    };
    let n_real = rows(real);
    let mut rng = random::seeded(seed, Stream::Eval);
    let median_of = |cells: &[ColumnCells], rng: &mut random::Rng| -> (f64, f64, usize) {
        let mut chosen: Vec<usize> = (0..rows(cells)).collect();
        chosen.shuffle(rng);
        chosen.truncate(DCR_ROWS);
        let mut closest: Vec<f64> = chosen
            .par_iter()
            .map(|&i| {
                (0..n_real)
                    .map(|j| distance(cells, i, j))
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        closest.sort_by(f64::total_cmp);
        let copies =
            closest.iter().filter(|&&d| d == 0.0).count() as f64 / closest.len().max(1) as f64;
        (
            closest.get(closest.len() / 2).copied().unwrap_or(0.0),
            copies,
            closest.len(),
        )
    };
    let (synthetic_median, exact_copies, compared) = median_of(synthetic, &mut rng);
    let holdout_median = holdout.map(|h| median_of(&h, &mut rng).0);
    ClosestRecords {
        synthetic_median,
        holdout_median,
        exact_copies,
        rows: compared,
    }
}

#[cfg(test)]
mod tests;
