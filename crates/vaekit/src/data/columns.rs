//! Typed table columns: what each column of a mixed table holds, and how its
//! cells become the numbers a model reads and come back as cells.
//!
//! A table with words in it ("Private", "Married-civ-spouse"), or with holes,
//! is read through [`TableColumns`], the one list that every stage reads (as
//! TVAE's data transformer keeps one list of output spans): the schema's
//! blocks and their likelihoods, the encoder's inputs, the missing-cell mask
//! and the inverse transform that writes generated rows as CSV all come from
//! it, so a column type is one variant here and never a branch elsewhere.
//!
//! * **Encoding.** A real or count column is one value (reals are
//!   standardized later by the run's scaler, fitted on the observed training
//!   cells; counts stay counts for their count likelihood); a binary column is
//!   0 or 1; a categorical column of K categories is K one-hot values. A
//!   missing cell is a placeholder 0 in each of its values, marked missing.
//! * **Inference** (on the observed cells of the whole file): a column with
//!   any cell that is not a number is categorical; numbers that are all 0 or 1
//!   are binary; whole numbers with at most [`FEW_DISTINCT`] distinct values
//!   are categorical (a year, a rating, a level of education); other whole
//!   numbers from 0 up that reach 0 are counts (visits, capital gains);
//!   everything else is real, whole numbers written back as whole numbers
//!   (an age, a length in millimetres, hours worked). A real or count column
//!   of at least [`MODES_MIN_VALUES`] observed values is then coded by its
//!   modes (TVAE's mode-specific normalization, [`modes`]), which measured
//!   better on Adult than either (docs/TABLES.md). A count likelihood's
//!   variance is never below its mean, too wide for measurements far from
//!   zero: on UCI Adult, reading age, fnlwgt, education_num and
//!   hours_per_week as counts gave a quality of 0.882, as reals 0.907
//!   (docs/TABLES.md). A text column whose every value is
//!   different (at least [`ID_MIN_ROWS`] rows) is an identifier, refused with
//!   a hint to drop it, since a model can learn nothing from it.
//! * **Categories are fixed at training.** Their order (numeric where every
//!   category is a number, else sorted text) defines the one-hot layout saved
//!   with the run; a category unseen in training is an error at scoring time.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub mod modes;

pub use modes::Modes;

use super::DataKind;
use super::schema::{Block, Schema, ValueType};
use crate::error::{Error, Result};

/// Whole-number columns with at most this many distinct values are read as
/// categorical.
pub const FEW_DISTINCT: usize = 20;

/// A real or count column with at least this many observed values is coded
/// by its modes ([`modes`]); with fewer, a mixture of up to ten Gaussians
/// would be fitted to too few points, and the column keeps one Gaussian (or
/// its count likelihood).
pub const MODES_MIN_VALUES: usize = 1000;

/// A text column is refused as an identifier only from this many rows up
/// (in a tiny table every value may be different by chance).
pub const ID_MIN_ROWS: usize = 20;

/// The missing-value markers used unless `--missing-values` gives others
/// (compared without regard to case; an empty cell is always missing).
pub const DEFAULT_MISSING: [&str; 8] = ["", "na", "n/a", "nan", "null", "none", "?", "-nan"];

/// A column type as the user names it in `--column-types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnType {
    /// Any real number.
    Real,
    /// Whole numbers from 0 up, with a count likelihood.
    Count,
    /// Whole numbers on a real scale (an age, a year, a weight in grams):
    /// a Gaussian (or its modes, given enough values), written back whole.
    Integer,
    /// 0 or 1.
    Binary,
    /// One of a fixed set of values.
    Categorical,
    /// A real number coded by mode ([`modes`]: TVAE's mode-specific
    /// normalization).
    Modes,
}

impl ColumnType {
    fn parse(s: &str) -> Option<ColumnType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "real" | "numeric" | "float" => Some(ColumnType::Real),
            "count" | "poisson" | "negative-binomial" => Some(ColumnType::Count),
            "integer" | "int" | "whole" => Some(ColumnType::Integer),
            "binary" | "bool" => Some(ColumnType::Binary),
            "categorical" | "category" | "cat" => Some(ColumnType::Categorical),
            "modes" | "mode-specific" => Some(ColumnType::Modes),
            _ => None,
        }
    }
}

/// What a column holds, with what its encoding needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum ColumnKind {
    /// A real number; `integer` when every training value was whole, so that
    /// generated values are written as whole numbers too.
    Real {
        /// Every training value was a whole number.
        integer: bool,
    },
    /// A count. The encoder reads (log(1 + x) - `log_mean`) / `log_sd`, so
    /// that counts of any size give inputs of unit scale.
    Count {
        /// Mean of log(1 + x) over the observed training cells.
        log_mean: f32,
        /// Its standard deviation (1 when there is no spread).
        log_sd: f32,
        /// The negative binomial's dispersion r that matches the column's
        /// mean m and variance v (r = m^2 / (v - m), within [0.01, 10^4]):
        /// where its learned dispersion starts.
        #[serde(default = "default_dispersion")]
        dispersion: f32,
    },
    /// 0 or 1.
    Binary,
    /// One of `categories`, one-hot.
    Categorical {
        /// The categories as written in the file, in one-hot order.
        categories: Vec<String>,
    },
    /// A real number coded by mode: its offset within its likeliest mode
    /// (one value, Gaussian), then the mode (one-hot, categorical).
    Modes(Modes),
}

impl ColumnKind {
    /// Values this column takes in a model's row.
    pub fn width(&self) -> usize {
        match self {
            ColumnKind::Categorical { categories } => categories.len(),
            ColumnKind::Modes(modes) => 1 + modes.len(),
            _ => 1,
        }
    }

    /// The schema's blocks of a column named `name` whose values start at
    /// `start`: one, or for a column coded by modes its offset (real) and
    /// its mode (`name:mode`, categorical).
    fn blocks(&self, name: &str, start: usize) -> Vec<Block> {
        let block = |name: String, at: usize, width: usize, values| Block {
            name,
            columns: at..at + width,
            values,
        };
        let one = |values| vec![block(name.to_string(), start, self.width(), values)];
        match self {
            ColumnKind::Real { .. } => one(ValueType::Real),
            ColumnKind::Count { .. } => one(ValueType::Count),
            ColumnKind::Binary => one(ValueType::Binary),
            ColumnKind::Categorical { .. } => one(ValueType::Categorical),
            ColumnKind::Modes(modes) => vec![
                block(name.to_string(), start, 1, ValueType::Real),
                block(
                    format!("{name}:mode"),
                    start + 1,
                    modes.len(),
                    ValueType::Categorical,
                ),
            ],
        }
    }
}

/// One typed column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The header's name.
    pub name: String,
    /// What it holds.
    pub kind: ColumnKind,
}

/// The typed columns of a table, in order, and its missing-value markers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableColumns {
    /// The columns (without the label column and dropped columns).
    pub columns: Vec<Column>,
    /// Cells that mean "missing", lower-cased (the empty cell always does).
    pub missing_values: Vec<String>,
}

/// How to read a table's columns: the user's choices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnOptions {
    /// `name=type` overrides; `auto` alone (or any override) types every
    /// column even of an all-numeric table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_types: Option<String>,
    /// Columns to leave out, by header name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_columns: Vec<String>,
    /// Missing-value markers replacing [`DEFAULT_MISSING`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_values: Option<Vec<String>>,
}

impl ColumnOptions {
    /// `true` when the user asked for typed columns.
    pub fn wants_types(&self) -> bool {
        self.column_types.is_some() || self.missing_values.is_some()
    }

    /// The markers in force, lower-cased, with the empty cell.
    pub fn markers(&self) -> Vec<String> {
        let mut markers: Vec<String> = match &self.missing_values {
            Some(list) => list.iter().map(|m| m.trim().to_ascii_lowercase()).collect(),
            None => DEFAULT_MISSING.iter().map(|m| m.to_string()).collect(),
        };
        if !markers.iter().any(String::is_empty) {
            markers.push(String::new());
        }
        markers
    }

    /// The `name=type` overrides, checked against the table's `names`.
    fn overrides(&self, names: &[String]) -> Result<BTreeMap<usize, ColumnType>> {
        let mut out = BTreeMap::new();
        let Some(spec) = &self.column_types else {
            return Ok(out);
        };
        let text = match std::path::Path::new(spec.trim()) {
            p if p.is_file() => String::from_utf8_lossy(&crate::io::read_file(p)?).into_owned(),
            _ => spec.clone(),
        };
        for item in text.split([',', '\n']).map(str::trim) {
            if item.is_empty() || item.eq_ignore_ascii_case("auto") || item.starts_with('#') {
                continue;
            }
            let Some((name, ty)) = item.split_once('=') else {
                return Err(Error::setting(
                    "--column-types",
                    format!(
                        "'{item}' is not name=type; write for example age=count,sex=categorical"
                    ),
                ));
            };
            let name = name.trim();
            let column = names.iter().position(|n| n == name).ok_or_else(|| {
                Error::setting(
                    "--column-types",
                    format!(
                        "'{name}' is not a column; the columns are {}",
                        names.join(", ")
                    ),
                )
            })?;
            let ty = ColumnType::parse(ty).ok_or_else(|| {
                Error::setting(
                    "--column-types",
                    format!(
                        "'{}' is not a column type; use real, integer, count, binary, categorical or modes",
                        ty.trim()
                    ),
                )
            })?;
            out.insert(column, ty);
        }
        Ok(out)
    }
}

/// A table's feature cells as text, for typing and encoding.
#[derive(Debug, Clone)]
pub struct TextCells<'a> {
    /// Column names, one per column of `cells`' rows.
    pub names: &'a [String],
    /// Row-major cells, `names.len()` per row.
    pub cells: &'a [String],
    /// The file's line of each row, for messages.
    pub lines: &'a [u64],
    /// The file, for messages.
    pub origin: &'a str,
}

impl TextCells<'_> {
    fn rows(&self) -> usize {
        self.lines.len()
    }

    fn cell(&self, row: usize, column: usize) -> &str {
        &self.cells[row * self.names.len() + column]
    }

    fn at(&self, row: usize, column: usize) -> String {
        format!(
            "{}: line {}, column {} ({})",
            self.origin,
            self.lines[row],
            column + 1,
            self.names[column]
        )
    }
}

fn number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn is_whole(v: f64) -> bool {
    v.fract() == 0.0
}

impl TableColumns {
    /// Types the columns of `table` (inferred, or as `options` say) and drops
    /// those `options` name.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for an unknown column in the options or a type
    /// that the cells do not fit; [`Error::Data`] for a column with no
    /// values or an identifier-like column.
    pub fn fit(table: &TextCells<'_>, options: &ColumnOptions) -> Result<TableColumns> {
        let markers = options.markers();
        for name in &options.drop_columns {
            if !table.names.contains(name) {
                return Err(Error::setting(
                    "--drop-columns",
                    format!(
                        "'{name}' is not a column; the columns are {}",
                        table.names.join(", ")
                    ),
                ));
            }
        }
        let overrides = options.overrides(table.names)?;
        let missing = |cell: &str| markers.iter().any(|m| m.eq_ignore_ascii_case(cell));
        let mut columns = Vec::new();
        for (c, name) in table.names.iter().enumerate() {
            if options.drop_columns.contains(name) {
                continue;
            }
            let observed: Vec<(usize, &str)> = (0..table.rows())
                .map(|r| (r, table.cell(r, c)))
                .filter(|(_, cell)| !missing(cell))
                .collect();
            if observed.is_empty() {
                return Err(Error::Data(format!(
                    "{}: column {} ({name}) has no values, only missing cells; drop it with --drop-columns {name}",
                    table.origin,
                    c + 1
                )));
            }
            let numbers: Option<Vec<f64>> = observed.iter().map(|(_, s)| number(s)).collect();
            let distinct: BTreeSet<&str> = observed.iter().map(|(_, s)| *s).collect();
            let ty = match (overrides.get(&c), &numbers) {
                (Some(ty), _) => *ty,
                (None, None) => {
                    if distinct.len() == observed.len() && observed.len() >= ID_MIN_ROWS {
                        return Err(Error::Data(format!(
                            "{}: column {} ({name}) looks like an identifier: each of its {} values is different, so a model can learn nothing from it; drop it with --drop-columns {name} (or keep it with --column-types {name}=categorical)",
                            table.origin,
                            c + 1,
                            observed.len()
                        )));
                    }
                    ColumnType::Categorical
                }
                (None, Some(v)) if v.iter().all(|&x| x == 0.0 || x == 1.0) => ColumnType::Binary,
                (None, Some(v))
                    if v.iter().all(|&x| is_whole(x)) && distinct.len() <= FEW_DISTINCT =>
                {
                    ColumnType::Categorical
                }
                (None, Some(v))
                    if v.contains(&0.0) && v.iter().all(|&x| is_whole(x) && x >= 0.0) =>
                {
                    ColumnType::Count
                }
                (None, Some(_)) => ColumnType::Real,
            };
            // Enough values for a mixture: a number is coded by its modes
            // (also a column the user typed `integer`, which names how its
            // values are written, not which likelihood reads them).
            let by_modes = observed.len() >= MODES_MIN_VALUES
                && matches!(
                    (overrides.get(&c), ty),
                    (None, ColumnType::Real | ColumnType::Count)
                        | (Some(ColumnType::Integer), ColumnType::Integer)
                )
                || ty == ColumnType::Modes;
            let bad = |row: usize, cell: &str, need: &str| {
                Error::setting(
                    "--column-types",
                    format!(
                        "{}: '{cell}' is not {need}, so the column cannot be {}; give it another type",
                        table.at(row, c),
                        match ty {
                            ColumnType::Real => "real",
                            ColumnType::Count => "a count",
                            ColumnType::Integer => "integer",
                            ColumnType::Binary => "binary",
                            ColumnType::Categorical => "categorical",
                            ColumnType::Modes => "coded by modes",
                        }
                    ),
                )
            };
            let kind = match ty {
                ColumnType::Categorical => ColumnKind::Categorical {
                    categories: ordered_categories(distinct),
                },
                ColumnType::Real
                | ColumnType::Integer
                | ColumnType::Count
                | ColumnType::Binary
                | ColumnType::Modes => {
                    let mut values = Vec::with_capacity(observed.len());
                    for &(r, cell) in &observed {
                        let v = number(cell).ok_or_else(|| bad(r, cell, "a number"))?;
                        match ty {
                            ColumnType::Count if !(is_whole(v) && v >= 0.0) => {
                                return Err(bad(r, cell, "a whole number from 0 up"));
                            }
                            ColumnType::Integer if !is_whole(v) => {
                                return Err(bad(r, cell, "a whole number"));
                            }
                            ColumnType::Binary if v != 0.0 && v != 1.0 => {
                                return Err(bad(r, cell, "0 or 1"));
                            }
                            _ => values.push(v),
                        }
                    }
                    match ty {
                        _ if by_modes => ColumnKind::Modes(Modes::fit(&values)?),
                        ColumnType::Real | ColumnType::Integer => ColumnKind::Real {
                            integer: values.iter().all(|&v| is_whole(v)),
                        },
                        ColumnType::Binary => ColumnKind::Binary,
                        _ => {
                            let logs: Vec<f64> = values.iter().map(|v| v.ln_1p()).collect();
                            let n = logs.len() as f64;
                            let m = values.iter().sum::<f64>() / n;
                            let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
                            let dispersion = match var > m * 1.001 {
                                true => (m * m / (var - m)).clamp(0.01, 1e4),
                                false => 1e4,
                            };
                            let mean = logs.iter().sum::<f64>() / n;
                            let sd =
                                (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n).sqrt();
                            ColumnKind::Count {
                                log_mean: mean as f32,
                                log_sd: if sd > 1e-6 { sd as f32 } else { 1.0 },
                                dispersion: dispersion as f32,
                            }
                        }
                    }
                }
            };
            columns.push(Column {
                name: name.clone(),
                kind,
            });
        }
        if columns.is_empty() {
            return Err(Error::setting(
                "--drop-columns",
                "every feature column is dropped; keep at least one",
            ));
        }
        Ok(TableColumns {
            columns,
            missing_values: markers,
        })
    }

    /// Values per row in a model's layout.
    pub fn width(&self) -> usize {
        self.columns.iter().map(|c| c.kind.width()).sum()
    }

    /// The names of a model row's values: a column's name, or
    /// `name=category` for each one-hot value.
    pub fn value_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.width());
        for c in &self.columns {
            match &c.kind {
                ColumnKind::Categorical { categories } => {
                    names.extend(categories.iter().map(|k| format!("{}={k}", c.name)));
                }
                ColumnKind::Modes(modes) => {
                    names.push(c.name.clone());
                    names.extend((1..=modes.len()).map(|k| format!("{}:mode={k}", c.name)));
                }
                _ => names.push(c.name.clone()),
            }
        }
        names
    }

    /// The layout of a model row.
    pub fn kind(&self) -> DataKind {
        DataKind::Table {
            columns: self.value_names(),
        }
    }

    /// The schema: a block per column, as wide as its encoding (two for a
    /// column coded by modes).
    pub fn schema(&self) -> Schema {
        let mut start = 0;
        let mut blocks = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            blocks.extend(c.kind.blocks(&c.name, start));
            start += c.kind.width();
        }
        Schema {
            kind: self.kind(),
            blocks,
        }
    }

    /// `true` for a real column's values: the ones a scaler may scale.
    pub fn scaled_values(&self) -> Vec<bool> {
        let mut out = Vec::with_capacity(self.width());
        for c in &self.columns {
            let real = matches!(c.kind, ColumnKind::Real { .. });
            out.extend(std::iter::repeat_n(real, c.kind.width()));
        }
        out
    }

    /// The encoder's input transform of each value, `(log, shift, scale)`:
    /// it reads `((log ? ln(1 + x) : x) - shift) / scale`.
    pub fn input_transform(&self) -> Vec<(bool, f32, f32)> {
        let mut out = Vec::with_capacity(self.width());
        for c in &self.columns {
            match c.kind {
                ColumnKind::Count {
                    log_mean, log_sd, ..
                } => out.push((true, log_mean, log_sd)),
                _ => out.extend(std::iter::repeat_n((false, 0.0, 1.0), c.kind.width())),
            }
        }
        out
    }

    /// Where the per-value parameter of the observation model starts: the
    /// log-dispersion of a count (see [`ColumnKind::Count`]), 0 (unit
    /// variance) for the others.
    pub fn start_log_scale(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.width());
        for c in &self.columns {
            match c.kind {
                ColumnKind::Count { dispersion, .. } => out.push(dispersion.ln()),
                _ => out.extend(std::iter::repeat_n(0.0, c.kind.width())),
            }
        }
        out
    }

    fn is_missing(&self, cell: &str) -> bool {
        self.missing_values
            .iter()
            .any(|m| m.eq_ignore_ascii_case(cell))
    }

    /// Encodes `table`'s rows (whose columns must include these columns by
    /// name) into a model's values and a mask of missing values.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] naming the cell for a column the table lacks, a
    /// number that does not parse, a count that is not a whole number from
    /// 0 up, a binary cell that is not 0 or 1, or a category not seen in
    /// training.
    pub fn encode(&self, table: &TextCells<'_>) -> Result<(Vec<f32>, Vec<bool>)> {
        let mut at = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let i = table.names.iter().position(|n| *n == c.name).ok_or_else(|| {
                Error::Data(format!(
                    "{} has no column '{}', which the model was trained with; give a table with the training columns",
                    table.origin, c.name
                ))
            })?;
            at.push(i);
        }
        let index: Vec<Option<BTreeMap<&str, usize>>> = self
            .columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Categorical { categories } => Some(
                    categories
                        .iter()
                        .enumerate()
                        .map(|(i, k)| (k.as_str(), i))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        let width = self.width();
        let mut values = Vec::with_capacity(table.rows() * width);
        let mut missing = Vec::with_capacity(table.rows() * width);
        for r in 0..table.rows() {
            for ((c, &i), index) in self.columns.iter().zip(&at).zip(&index) {
                let cell = table.cell(r, i);
                let w = c.kind.width();
                if self.is_missing(cell) {
                    values.extend(std::iter::repeat_n(0.0, w));
                    missing.extend(std::iter::repeat_n(true, w));
                    continue;
                }
                missing.extend(std::iter::repeat_n(false, w));
                let need =
                    |what: &str| Error::Data(format!("{}: '{cell}' is not {what}", table.at(r, i)));
                match (&c.kind, index) {
                    (ColumnKind::Categorical { categories }, Some(index)) => {
                        let k = *index.get(cell).ok_or_else(|| {
                            Error::Data(format!(
                                "{}: '{cell}' is a category the model did not see in training (it knows {}); map it to one of those or leave the cell empty",
                                table.at(r, i),
                                preview(categories)
                            ))
                        })?;
                        one_hot(&mut values, k, w);
                    }
                    (ColumnKind::Modes(modes), _) => {
                        let v = number(cell).ok_or_else(|| need("a number"))?;
                        let (mode, offset) = modes.encode(v);
                        values.push(offset);
                        one_hot(&mut values, mode, modes.len());
                    }
                    _ => {
                        let v = number(cell).ok_or_else(|| need("a number"))?;
                        let ok = match c.kind {
                            ColumnKind::Count { .. } => is_whole(v) && v >= 0.0,
                            ColumnKind::Binary => v == 0.0 || v == 1.0,
                            _ => true,
                        };
                        if !ok {
                            return Err(need(match c.kind {
                                ColumnKind::Count { .. } => "a whole number from 0 up (a count)",
                                _ => "0 or 1",
                            }));
                        }
                        let v32 = v as f32;
                        if !v32.is_finite() {
                            return Err(need("within the range of 32-bit floats"));
                        }
                        values.push(v32);
                    }
                }
            }
        }
        Ok((values, missing))
    }

    /// The cells of one model row in original units (reals already
    /// unscaled): whole numbers for counts and whole-valued reals, 0 or 1 for
    /// binary values (at 0.5), the category of the largest one-hot value.
    ///
    /// # Shapes
    /// - `values`: [`TableColumns::width`] values; returns one cell per column
    pub fn decode_row(&self, values: &[f32]) -> Vec<String> {
        let mut cells = Vec::with_capacity(self.columns.len());
        let mut at = 0;
        for c in &self.columns {
            let w = c.kind.width();
            let part = values.get(at..at + w).unwrap_or(&[]);
            at += w;
            let v = part.first().copied().unwrap_or(0.0);
            cells.push(match &c.kind {
                ColumnKind::Real { integer: false } => format!("{v}"),
                ColumnKind::Real { integer: true } => format!("{}", v.round()),
                ColumnKind::Count { .. } => format!("{}", v.round().max(0.0)),
                ColumnKind::Binary => if v >= 0.5 { "1" } else { "0" }.to_string(),
                ColumnKind::Categorical { categories } => {
                    categories.get(likeliest(part)).cloned().unwrap_or_default()
                }
                ColumnKind::Modes(modes) => format!("{}", modes.value_of(part)),
            });
        }
        cells
    }

    /// The same columns as a judge of synthetic tables reads them: every
    /// count, every column coded by modes and every categorical column of
    /// numbers (education_num's levels) as a real number. Another program's
    /// synthetic table may hold counts that are negative or fractional, or a
    /// level never seen (TVAE writes education_num 0), and SDMetrics judges
    /// such columns as numbers too.
    pub fn for_judging(&self) -> TableColumns {
        let mut out = self.clone();
        for c in &mut out.columns {
            c.kind = match &c.kind {
                ColumnKind::Count { .. } => ColumnKind::Real { integer: true },
                ColumnKind::Modes(modes) => ColumnKind::Real {
                    integer: modes.integer,
                },
                ColumnKind::Categorical { categories }
                    if categories.iter().all(|c| number(c).is_some()) =>
                {
                    ColumnKind::Real {
                        integer: categories.iter().all(|c| number(c).is_some_and(is_whole)),
                    }
                }
                other => other.clone(),
            };
        }
        out
    }

    /// The names of the columns, for a CSV header.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// The index of the largest of a one-hot (or probability) span, the first
/// on a tie: the category, or mode, that the span stands for.
pub fn likeliest(part: &[f32]) -> usize {
    part.iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |b, (i, &p)| if p > b.1 { (i, p) } else { b },
        )
        .0
}

/// `width` values, 1 at `hot` and 0 elsewhere.
fn one_hot(values: &mut Vec<f32>, hot: usize, width: usize) {
    values.extend((0..width).map(|j| if j == hot { 1.0 } else { 0.0 }));
}

fn default_dispersion() -> f32 {
    1.0
}

/// Categories in numeric order when all are numbers, else sorted as text.
fn ordered_categories(distinct: BTreeSet<&str>) -> Vec<String> {
    let mut categories: Vec<&str> = distinct.into_iter().collect();
    if categories.iter().all(|c| number(c).is_some()) {
        categories.sort_by(|a, b| {
            number(a)
                .partial_cmp(&number(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    categories.into_iter().map(str::to_string).collect()
}

/// The first few categories, for messages.
fn preview(categories: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut list: Vec<&str> = categories.iter().take(SHOWN).map(String::as_str).collect();
    if categories.len() > SHOWN {
        list.push("...");
    }
    list.join(", ")
}

#[cfg(test)]
mod tests;
