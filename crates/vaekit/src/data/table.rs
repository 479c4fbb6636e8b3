//! CSV, TSV and text tables.
//!
//! The `csv` crate splits records (quotes, line ends, blank lines); this module
//! decides what the records mean, so that every problem can be reported with
//! its line and column:
//!
//! * **Header.** The first row is a header when it holds a cell that is not a
//!   number (nor a missing-value marker) in a column whose next row holds a
//!   number, or when all its cells are text. That is the plain rule "a header
//!   has a non-numeric cell", refined so that a headerless table whose label
//!   column holds class names (`5.1,3.5,setosa`) does not lose its first row.
//! * **scikit-learn form.** A first row with fewer fields than the data rows,
//!   starting with the row count and the feature count and followed by class
//!   names (`569,30,malignant,benign`), is recognised: it is skipped, the row
//!   count is checked, the class names are kept, and the last column is the
//!   label column unless `--label-column` says otherwise.
//! * **Labels.** Without that form there is no label column unless one is
//!   named. Label cells that are all non-negative integers are the labels;
//!   otherwise they are class names, numbered in sorted order.
//! * **Values.** Feature cells must be numbers; they are kept raw (the trainer
//!   scales tables later). Missing values (an empty cell, `NA`, `N/A`, `NaN`,
//!   `null`, `?`) and infinities are errors rather than silently imputed: a
//!   VAE needs complete rows, and the user should decide how to fill or drop.
//!   The one exception is [`load_with_missing`], the loader of `vaekit impute`:
//!   it keeps each missing cell as an explicit mark beside a finite placeholder
//!   (0), so no NaN ever reaches a [`Dataset`] or a tensor.

use std::collections::BTreeMap;
use std::path::Path;

use super::columns::{ColumnOptions, TableColumns, TextCells};
use super::{DataKind, Dataset, Format, LoadOptions, Source, in_file};
use crate::error::{Error, Result};

mod delimiter;
pub use delimiter::csv_delimiter;
pub(crate) use delimiter::delimiter_for;
use delimiter::{DELIMITERS, sniffed_counts};

/// A parsed table: the examples and, where known, the names of the classes.
#[derive(Debug)]
pub(crate) struct Table {
    pub dataset: Dataset,
    pub class_names: Option<Vec<String>>,
    /// Row-major, one flag per feature cell, `true` where the cell was missing
    /// (its value in `dataset` is the placeholder 0). Empty unless missing
    /// cells were allowed (numbers) or the columns are typed.
    pub missing: Vec<bool>,
    /// The typed columns, when the table was read through them.
    pub columns: Option<TableColumns>,
}

/// What to do with a missing feature cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingCells {
    /// Refuse the table, naming the cell (every command but `impute`).
    Refuse,
    /// Keep a placeholder 0 and mark the cell.
    Mark,
}

/// Value stored for a missing cell: finite, so scalers and tensors never see NaN.
pub const MISSING_PLACEHOLDER: f32 = 0.0;

/// Loads a source like [`super::load`], except that a CSV/TSV table may have
/// missing cells (empty, `NA`, `N/A`, `NaN`, `null`, `none`, `?`).
///
/// Returns the source and, for a table, one flag per feature cell of
/// `source.train` (row-major, `true` = missing; the cell holds
/// [`MISSING_PLACEHOLDER`]). Other formats load exactly as [`super::load`]
/// loads them and come with `None`. Missing labels are still errors.
///
/// # Errors
///
/// As [`super::load`].
pub fn load_with_missing(spec: &str, options: &LoadOptions) -> Result<(Source, Option<Vec<bool>>)> {
    let path = Path::new(spec);
    let is_csv_file = match options.format {
        Some(format) => format == Format::Csv,
        None => spec != "digits" && path.is_file(),
    };
    if !is_csv_file {
        return Ok((super::load(spec, options)?, None));
    }
    let bytes = super::read_data_file(path)?;
    let format = match options.format {
        Some(f) => f,
        None => super::detect_file(path, &bytes)?,
    };
    if format != Format::Csv {
        return Ok((super::load(spec, options)?, None));
    }
    super::check_options(format, options)?;
    let bytes = skip_lines(bytes, options.skip_lines);
    let table = parse_csv(
        path,
        &bytes,
        delimiter_for(path, &bytes, options.delimiter),
        options.label_column.as_deref(),
        Cells::Numbers(MissingCells::Mark),
    )?;
    let source = Source {
        spec: spec.to_string(),
        format,
        train: table.dataset,
        test: None,
        class_names: table.class_names,
        columns: None,
    };
    Ok((source, Some(table.missing)))
}

/// `bytes` with its first `n` lines blanked (`--skip-lines`: a title line
/// such as the `|1x3 Cross validator` that opens UCI's adult.test). The
/// line breaks stay, so messages keep naming the file's own line numbers;
/// the CSV reader skips empty lines.
pub(crate) fn skip_lines(mut bytes: Vec<u8>, n: usize) -> Vec<u8> {
    let mut left = n;
    bytes.retain(|&b| match (left, b) {
        (0, _) => true,
        (_, b'\n') => {
            left -= 1;
            true
        }
        _ => false,
    });
    bytes
}

/// What a cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Number(f64),
    Missing,
    Text,
}

fn classify(cell: &str) -> Cell {
    if cell.len() <= 4
        && matches!(
            cell.to_ascii_lowercase().as_str(),
            "" | "na" | "n/a" | "nan" | "-nan" | "+nan" | "null" | "none" | "?"
        )
    {
        return Cell::Missing;
    }
    match cell.parse::<f64>() {
        Ok(v) => Cell::Number(v),
        Err(_) => Cell::Text,
    }
}

/// How the first row is to be read.
enum Layout {
    /// No header: the first row is data.
    Plain,
    /// A header of column names.
    Header,
    /// The scikit-learn header: row count, feature count, class names.
    Sklearn {
        rows: usize,
        class_names: Vec<String>,
    },
}

/// How the feature cells of a table are read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cells<'a> {
    /// Numbers only, as every table was read before typed columns: a text
    /// cell is an error, a missing one as [`MissingCells`] says.
    Numbers(MissingCells),
    /// Numbers when every cell is one and the options ask for nothing
    /// else; otherwise typed columns fitted on the file (text cells,
    /// missing cells, `--column-types` or `--drop-columns`).
    Auto(&'a ColumnOptions),
    /// Typed columns already fitted (a run's), to encode another file alike.
    Typed(&'a TableColumns),
}

/// The first row's reading and the columns it names.
struct Header {
    names: Vec<String>,
    label: Option<usize>,
    layout: Layout,
}

/// What [`scan`] read besides the feature cells.
struct Scanned {
    header: Header,
    label_cells: Vec<(u64, String)>,
    rows: usize,
    /// `on_row` asked to stop.
    stopped: bool,
}

/// Parses a delimited table. `path` is only used in messages; `label_column`
/// is a header name or a 0-based index.
///
/// # Errors
///
/// [`Error::Format`] for unreadable CSV, ragged rows ("line L has K fields,
/// expected N"), non-numeric cells (when reading numbers) and a table without
/// data rows; [`Error::Data`] for missing values (when reading numbers and
/// refusing them), infinite values and labels that do not fit the header's
/// class names; [`Error::Setting`] for an unknown `--label-column`; the
/// errors of [`TableColumns::fit`] and [`TableColumns::encode`] for typed
/// columns.
pub(crate) fn parse_csv(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    label_column: Option<&str>,
    cells: Cells<'_>,
) -> Result<Table> {
    parse_csv_as_given(path, bytes, delimiter, label_column, cells).map_err(|e| {
        // A file read as one column whose records another delimiter splits
        // was most likely given the wrong --delimiter: say which would do.
        let sniffed = delimiter_for(Path::new(""), bytes, None);
        let first = sniffed_counts(bytes).first().copied().unwrap_or_default();
        let fields = |d: u8| DELIMITERS.iter().position(|&x| x == d).map_or(0, |i| first[i]);
        match sniffed != delimiter && fields(delimiter) == 0 && fields(sniffed) > 0 {
            true => Error::Data(format!(
                "{e}. With the delimiter {:?} the file is one column, but its records split on {:?}: pass --delimiter '{}'",
                delimiter as char, sniffed as char, sniffed as char
            )),
            false => e,
        }
    })
}

fn parse_csv_as_given(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    label_column: Option<&str>,
    cells: Cells<'_>,
) -> Result<Table> {
    let missing = match cells {
        Cells::Numbers(m) => m,
        Cells::Auto(o) if o.wants_types() || !o.drop_columns.is_empty() => {
            return parse_typed(path, bytes, delimiter, label_column, None, o);
        }
        Cells::Auto(_) => MissingCells::Refuse,
        Cells::Typed(t) => {
            return parse_typed(
                path,
                bytes,
                delimiter,
                label_column,
                Some(t),
                &ColumnOptions::default(),
            );
        }
    };
    let probing = matches!(cells, Cells::Auto(_));
    let mut values = Vec::new();
    let mut missing_cells = Vec::new();
    let mut on_row = |header: &Header, line: u64, record: &csv::StringRecord| -> Result<bool> {
        for (i, cell) in record.iter().enumerate() {
            if Some(i) == header.label {
                continue;
            }
            let column_name = header.names.get(i).map_or("", String::as_str);
            let where_ = || format!("line {line}, column {} ({column_name})", i + 1);
            match classify(cell) {
                Cell::Missing | Cell::Text if probing => return Ok(false),
                Cell::Number(v) if v.is_infinite() => {
                    return Err(Error::Data(format!(
                        "{}: infinite value '{cell}' at {}; vaekit needs finite numbers",
                        path.display(),
                        where_()
                    )));
                }
                Cell::Number(v) => {
                    let v32 = v as f32;
                    if !v32.is_finite() {
                        return Err(Error::Data(format!(
                            "{}: value {cell} at {} is too large for 32-bit floats; rescale that column",
                            path.display(),
                            where_()
                        )));
                    }
                    values.push(v32);
                    if missing == MissingCells::Mark {
                        missing_cells.push(false);
                    }
                }
                Cell::Missing if missing == MissingCells::Mark => {
                    values.push(MISSING_PLACEHOLDER);
                    missing_cells.push(true);
                }
                Cell::Missing => {
                    return Err(Error::Data(format!(
                        "{}: missing value at {}; this run reads complete tables of numbers: fill in or drop the rows with missing values, or fill them in with `vaekit impute`",
                        path.display(),
                        where_()
                    )));
                }
                Cell::Text => {
                    return Err(Error::format(
                        path,
                        format!("{}: '{cell}' is not a number", where_()),
                    ));
                }
            }
        }
        Ok(true)
    };
    let scanned = scan(path, bytes, delimiter, label_column, &mut on_row)?;
    if scanned.stopped {
        let options = match cells {
            Cells::Auto(o) => o,
            _ => unreachable!("only probing stops"),
        };
        return parse_typed(path, bytes, delimiter, label_column, None, options);
    }
    let columns = feature_names(&scanned.header);
    let kind = DataKind::Table { columns };
    finish(
        path,
        scanned,
        label_column,
        values,
        kind,
        missing_cells,
        None,
    )
}

/// The names of the feature columns (all but the label column).
fn feature_names(header: &Header) -> Vec<String> {
    header
        .names
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != header.label)
        .map(|(_, n)| n.clone())
        .collect()
}

/// Reads a table's feature cells as text and types them: with `fitted`
/// columns when given, else columns fitted on this file.
fn parse_typed(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    label_column: Option<&str>,
    fitted: Option<&TableColumns>,
    options: &ColumnOptions,
) -> Result<Table> {
    let mut texts: Vec<String> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut on_row = |header: &Header, line: u64, record: &csv::StringRecord| -> Result<bool> {
        for (i, cell) in record.iter().enumerate() {
            if Some(i) != header.label {
                texts.push(cell.to_string());
            }
        }
        lines.push(line);
        Ok(true)
    };
    let scanned = scan(path, bytes, delimiter, label_column, &mut on_row)?;
    let names = feature_names(&scanned.header);
    let origin = path.display().to_string();
    let cells = TextCells {
        names: &names,
        cells: &texts,
        lines: &lines,
        origin: &origin,
    };
    let columns = match fitted {
        Some(t) => t.clone(),
        None => TableColumns::fit(&cells, options)?,
    };
    let (values, missing) = columns.encode(&cells)?;
    let kind = columns.kind();
    finish(
        path,
        scanned,
        label_column,
        values,
        kind,
        missing,
        Some(columns),
    )
}

/// Splits the records of a table into its header and rows, checks every
/// row's width, keeps the label cells and hands each row to `on_row`
/// (which returns `false` to stop reading).
fn scan(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    label_column: Option<&str>,
    on_row: &mut dyn FnMut(&Header, u64, &csv::StringRecord) -> Result<bool>,
) -> Result<Scanned> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.records();
    // The reader skips empty lines but dates a record from where the one
    // before it ended, so each record's line is counted here from its first
    // byte that is not a line break (`--skip-lines` leaves empty lines).
    let mut cursor = (0usize, 1u64);
    let mut line_of = |start: u64| {
        let mut at = (start as usize).clamp(cursor.0, bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
            at += 1;
        }
        cursor.1 += bytes[cursor.0..at].iter().filter(|&&b| b == b'\n').count() as u64;
        cursor.0 = at;
        cursor.1
    };
    let mut next = || -> Result<Option<(u64, csv::StringRecord)>> {
        match records.next() {
            None => Ok(None),
            Some(Ok(r)) => Ok(Some((line_of(r.position().map_or(0, |p| p.byte())), r))),
            Some(Err(e)) => Err(Error::format(
                path,
                format!(
                    "cannot be read as a delimited table: {e}; vaekit reads UTF-8 CSV/TSV text"
                ),
            )),
        }
    };

    let Some(first) = next()? else {
        return Err(Error::format(
            path,
            "holds no rows; expected a table of numbers",
        ));
    };
    let second = next()?;
    let layout = layout_of(path, &first.1, second.as_ref().map(|(_, r)| r))?;

    let width = match (&layout, &second) {
        (Layout::Sklearn { .. }, Some((_, r))) => r.len(),
        _ => first.1.len(),
    };
    let names: Vec<String> = match layout {
        Layout::Header => first
            .1
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if n.is_empty() {
                    format!("x{i}")
                } else {
                    n.to_string()
                }
            })
            .collect(),
        _ => (0..width).map(|i| format!("x{i}")).collect(),
    };
    let label = match label_column {
        Some(spec) => Some(resolve_label_column(spec, &names, &layout)?),
        None if matches!(layout, Layout::Sklearn { .. }) => Some(width - 1),
        None => None,
    };
    if names.len() <= usize::from(label.is_some()) {
        return Err(Error::format(
            path,
            "has no feature columns besides the label column; vaekit needs at least one",
        ));
    }
    let header = Header {
        names,
        label,
        layout,
    };

    let mut label_cells: Vec<(u64, String)> = Vec::new();
    let mut rows = 0usize;
    let mut handle = |line: u64, record: &csv::StringRecord| -> Result<bool> {
        if record.len() != width {
            return Err(Error::format(
                path,
                format!(
                    "line {line} has {} fields, expected {width} (as in the first row); check for missing or extra delimiters{}",
                    record.len(),
                    match width {
                        1 =>
                            "; if the first row is a title, not a header, skip it with --skip-lines 1",
                        _ => "",
                    }
                ),
            ));
        }
        if let Some(i) = header.label {
            let cell = &record[i];
            if cell.is_empty() {
                return Err(Error::Data(format!(
                    "{}: missing label at line {line}, column {} ({}); every row needs a label",
                    path.display(),
                    i + 1,
                    header.names[i]
                )));
            }
            label_cells.push((line, cell.to_string()));
        }
        rows += 1;
        on_row(&header, line, record)
    };
    let mut stopped = false;
    if matches!(header.layout, Layout::Plain) {
        stopped = !handle(first.0, &first.1)?;
    }
    if !stopped && let Some((line, record)) = &second {
        stopped = !handle(*line, record)?;
    }
    while !stopped && let Some((line, record)) = next()? {
        stopped = !handle(line, &record)?;
    }
    Ok(Scanned {
        header,
        label_cells,
        rows,
        stopped,
    })
}

/// The table from its scanned rows and feature values: the labels, the
/// scikit-learn header's checks, the data set.
fn finish(
    path: &Path,
    scanned: Scanned,
    label_column: Option<&str>,
    values: Vec<f32>,
    kind: DataKind,
    missing_cells: Vec<bool>,
    columns: Option<TableColumns>,
) -> Result<Table> {
    let Scanned {
        header,
        label_cells,
        rows,
        ..
    } = scanned;
    if rows == 0 {
        return Err(Error::format(
            path,
            "has a header but no data rows; expected rows of numbers after it",
        ));
    }
    let (labels, mut class_names) = labels_from_cells(path, header.label.is_some(), label_cells)?;
    if let Layout::Sklearn {
        rows: declared,
        class_names: header_names,
    } = header.layout
    {
        if declared != rows {
            return Err(Error::format(
                path,
                format!(
                    "line 1 says the table has {declared} rows but it has {rows}; the file may be truncated or edited"
                ),
            ));
        }
        if class_names.is_none() && !header_names.is_empty() && label_column.is_none() {
            if let Some(labels) = &labels
                && let Some((i, &l)) = labels
                    .iter()
                    .enumerate()
                    .find(|&(_, &l)| l as usize >= header_names.len())
            {
                return Err(Error::Data(format!(
                    "{}: row {} has label {l}, but line 1 names only {} classes ({})",
                    path.display(),
                    i + 1,
                    header_names.len(),
                    header_names.join(", ")
                )));
            }
            class_names = Some(header_names);
        }
    }
    let mut dataset = Dataset::new(values, kind, labels).map_err(|e| in_file(path, e))?;
    if columns.is_some() {
        dataset = dataset.with_missing(Some(missing_cells.clone()))?;
    }
    Ok(Table {
        dataset,
        class_names,
        missing: missing_cells,
        columns,
    })
}

/// Decides whether the first row is data, a header, or the scikit-learn header.
fn layout_of(
    path: &Path,
    first: &csv::StringRecord,
    second: Option<&csv::StringRecord>,
) -> Result<Layout> {
    let count = |i: usize| first.get(i).and_then(|c| c.parse::<usize>().ok());
    if let (Some(second), Some(rows), Some(features)) = (second, count(0), count(1))
        && first.iter().skip(2).all(|c| classify(c) == Cell::Text)
        && (first.len() > 2 || second.len() > 2)
    {
        if features.checked_add(1) == Some(second.len()) {
            return Ok(Layout::Sklearn {
                rows,
                class_names: first.iter().skip(2).map(str::to_string).collect(),
            });
        }
        if first.len() < second.len() {
            return Err(Error::format(
                path,
                format!(
                    "line 1 looks like a scikit-learn header (row count, feature count, class names) saying {features} features, but line 2 has {} fields instead of {}",
                    second.len(),
                    features.saturating_add(1)
                ),
            ));
        }
    }
    let cells: Vec<Cell> = first.iter().map(classify).collect();
    let is_text = |c: &Cell| *c == Cell::Text;
    if !cells.iter().any(is_text) {
        return Ok(Layout::Plain);
    }
    let header = match second {
        None => true,
        Some(second) => {
            cells.iter().all(is_text)
                || cells.iter().enumerate().any(|(i, c)| {
                    is_text(c) && second.get(i).is_some_and(|s| classify(s) != Cell::Text)
                })
        }
    };
    Ok(if header {
        Layout::Header
    } else {
        Layout::Plain
    })
}

/// Finds the label column by header name, then by 0-based index.
fn resolve_label_column(spec: &str, names: &[String], layout: &Layout) -> Result<usize> {
    let has_header = matches!(layout, Layout::Header);
    // Without a header the names are the generated x0, x1, ...
    if let Some(i) = names.iter().position(|n| n == spec) {
        return Ok(i);
    }
    if let Ok(i) = spec.trim().parse::<usize>() {
        if i < names.len() {
            return Ok(i);
        }
        return Err(Error::setting(
            "--label-column",
            format!(
                "index {i} is out of range: the table has {} columns (0-based indices 0 to {})",
                names.len(),
                names.len().saturating_sub(1)
            ),
        ));
    }
    let message = if has_header {
        const SHOWN: usize = 20;
        let mut list: Vec<&str> = names.iter().take(SHOWN).map(String::as_str).collect();
        if names.len() > SHOWN {
            list.push("...");
        }
        format!(
            "'{spec}' is not a column; the columns are: {} (or give a 0-based index)",
            list.join(", ")
        )
    } else {
        format!(
            "'{spec}' is not a column: the table has no header, so give a 0-based index from 0 to {}",
            names.len().saturating_sub(1)
        )
    };
    Err(Error::setting("--label-column", message))
}

/// Turns the label column into labels: integers as they are, otherwise class
/// names numbered in sorted order. Returns `(None, None)` without a label column.
type Labels = (Option<Vec<u32>>, Option<Vec<String>>);
fn labels_from_cells(path: &Path, has_label: bool, cells: Vec<(u64, String)>) -> Result<Labels> {
    if !has_label {
        return Ok((None, None));
    }
    let as_index = |s: &str| -> Option<u32> {
        s.parse::<u32>().ok().or_else(|| {
            let v = s.parse::<f64>().ok()?;
            (v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v)).then_some(v as u32)
        })
    };
    if let Some(labels) = cells
        .iter()
        .map(|(_, s)| as_index(s))
        .collect::<Option<Vec<u32>>>()
    {
        return Ok((Some(labels), None));
    }
    let mut index: BTreeMap<&str, u32> = cells.iter().map(|(_, s)| (s.as_str(), 0)).collect();
    if index.len() > u32::MAX as usize {
        return Err(Error::Data(format!(
            "{}: too many distinct class names",
            path.display()
        )));
    }
    for (i, v) in index.values_mut().enumerate() {
        *v = i as u32;
    }
    let labels = cells
        .iter()
        .map(|(_, s)| index.get(s.as_str()).copied().unwrap_or(0))
        .collect();
    let names = index.keys().map(|s| s.to_string()).collect();
    Ok((Some(labels), Some(names)))
}

#[cfg(test)]
mod tests;
