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

use super::{DataKind, Dataset, Format, LoadOptions, Source, extension, in_file};
use crate::error::{Error, Result};

/// A parsed table: the examples and, where known, the names of the classes.
#[derive(Debug)]
pub(crate) struct Table {
    pub dataset: Dataset,
    pub class_names: Option<Vec<String>>,
    /// Row-major, one flag per feature cell, `true` where the cell was missing
    /// (its value in `dataset` is the placeholder 0). Empty unless missing
    /// cells were allowed.
    pub missing: Vec<bool>,
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
    let table = parse_csv(
        path,
        &bytes,
        delimiter_for(path, &bytes),
        options.label_column.as_deref(),
        MissingCells::Mark,
    )?;
    let source = Source {
        spec: spec.to_string(),
        format,
        train: table.dataset,
        test: None,
        class_names: table.class_names,
    };
    Ok((source, Some(table.missing)))
}

/// The field delimiter for a file: tab for `.tsv`, otherwise a tab when the
/// first line has tabs and no commas, otherwise a comma.
pub(crate) fn delimiter_for(path: &Path, bytes: &[u8]) -> u8 {
    if extension(path) == "tsv" {
        return b'\t';
    }
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    if first_line.contains(&b'\t') && !first_line.contains(&b',') {
        b'\t'
    } else {
        b','
    }
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

/// Parses a delimited table. `path` is only used in messages; `label_column`
/// is a header name or a 0-based index.
///
/// # Errors
///
/// [`Error::Format`] for unreadable CSV, ragged rows ("line L has K fields,
/// expected N"), non-numeric cells and a table without data rows;
/// [`Error::Data`] for missing values (unless `missing` is
/// [`MissingCells::Mark`]), infinite values and labels that do not fit
/// the header's class names; [`Error::Setting`] for an unknown
/// `--label-column`.
pub(crate) fn parse_csv(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    label_column: Option<&str>,
    missing: MissingCells,
) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.records();
    let mut next = || -> Result<Option<(u64, csv::StringRecord)>> {
        match records.next() {
            None => Ok(None),
            Some(Ok(r)) => Ok(Some((r.position().map_or(0, |p| p.line()), r))),
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
    let columns: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != label)
        .map(|(_, n)| n.clone())
        .collect();
    if columns.is_empty() {
        return Err(Error::format(
            path,
            "has no feature columns besides the label column; vaekit needs at least one",
        ));
    }
    let column_name = |i: usize| names.get(i).map_or("", String::as_str);

    let mut values = Vec::new();
    let mut missing_cells = Vec::new();
    let mut label_cells: Vec<(u64, String)> = Vec::new();
    let mut rows = 0usize;
    let mut handle = |line: u64, record: &csv::StringRecord| -> Result<()> {
        if record.len() != width {
            return Err(Error::format(
                path,
                format!(
                    "line {line} has {} fields, expected {width} (as in the first row); check for missing or extra delimiters",
                    record.len()
                ),
            ));
        }
        for (i, cell) in record.iter().enumerate() {
            if Some(i) == label {
                if cell.is_empty() {
                    return Err(Error::Data(format!(
                        "{}: missing label at line {line}, column {} ({}); every row needs a label",
                        path.display(),
                        i + 1,
                        column_name(i)
                    )));
                }
                label_cells.push((line, cell.to_string()));
                continue;
            }
            let where_ = || format!("line {line}, column {} ({})", i + 1, column_name(i));
            match classify(cell) {
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
                        "{}: missing value at {}; vaekit needs complete tables: fill in or drop the rows with missing values, or fill them in with `vaekit impute`",
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
        rows += 1;
        Ok(())
    };
    if matches!(layout, Layout::Plain) {
        handle(first.0, &first.1)?;
    }
    if let Some((line, record)) = &second {
        handle(*line, record)?;
    }
    while let Some((line, record)) = next()? {
        handle(line, &record)?;
    }
    if rows == 0 {
        return Err(Error::format(
            path,
            "has a header but no data rows; expected rows of numbers after it",
        ));
    }
    let (labels, mut class_names) = labels_from_cells(path, label.is_some(), label_cells)?;
    if let Layout::Sklearn {
        rows: declared,
        class_names: header_names,
    } = layout
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
    let dataset =
        Dataset::new(values, DataKind::Table { columns }, labels).map_err(|e| in_file(path, e))?;
    Ok(Table {
        dataset,
        class_names,
        missing: missing_cells,
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p() -> &'static Path {
        Path::new("tables/t.csv")
    }

    fn parse(text: &str, label: Option<&str>) -> Result<Table> {
        parse_csv(p(), text.as_bytes(), b',', label, MissingCells::Refuse)
    }

    fn columns(t: &Table) -> Vec<String> {
        match t.dataset.kind() {
            DataKind::Table { columns } => columns.clone(),
            other => panic!("not a table: {other:?}"),
        }
    }

    #[test]
    fn headerless_numbers() {
        let t = parse("1,2,3\n4,5,6\n", None).unwrap();
        assert_eq!(t.dataset.len(), 2);
        assert_eq!(t.dataset.values(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(columns(&t), vec!["x0", "x1", "x2"]);
        assert!(t.dataset.labels().is_none());
        assert!(t.class_names.is_none());
    }

    #[test]
    fn header_and_label_column_by_name_and_index() {
        let text = "a, b ,class\n1.5,-2,1\n3,4e1,0\n";
        let t = parse(text, None).unwrap();
        assert_eq!(columns(&t), vec!["a", "b", "class"]);
        assert_eq!(t.dataset.values(), &[1.5, -2.0, 1.0, 3.0, 40.0, 0.0]);

        let t = parse(text, Some("class")).unwrap();
        assert_eq!(columns(&t), vec!["a", "b"]);
        assert_eq!(t.dataset.values(), &[1.5, -2.0, 3.0, 40.0]);
        assert_eq!(t.dataset.labels(), Some(&[1, 0][..]));
        assert!(t.class_names.is_none());

        // Non-integer label cells are class names.
        let t = parse(text, Some("0")).unwrap();
        assert_eq!(columns(&t), vec!["b", "class"]);
        assert_eq!(t.dataset.labels(), Some(&[0, 1][..]));
        assert_eq!(
            t.class_names,
            Some(vec!["1.5".to_string(), "3".to_string()])
        );

        let e = parse(text, Some("kind")).unwrap_err();
        assert!(matches!(e, Error::Setting { ref name, .. } if name == "--label-column"));
        let m = e.to_string();
        assert!(m.contains("'kind'") && m.contains("a, b, class"), "{m}");
        let e = parse(text, Some("3")).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let t = parse("1,2\n3,4\n", Some("x1")).unwrap();
        assert_eq!(t.dataset.labels(), Some(&[2, 4][..]));
        let e = parse("1,2\n3,4\n", Some("y")).unwrap_err();
        assert!(e.to_string().contains("no header"), "{e}");
    }

    #[test]
    fn string_labels_become_sorted_class_names() {
        let t = parse(
            "5.1,3.5,setosa\n6.0,2.2,virginica\n5.5,2.4,setosa\n",
            Some("2"),
        )
        .unwrap();
        // The first row is data, not a header: its only text cell is in a text column.
        assert_eq!(t.dataset.len(), 3);
        assert_eq!(t.dataset.labels(), Some(&[0, 1, 0][..]));
        assert_eq!(
            t.class_names,
            Some(vec!["setosa".to_string(), "virginica".to_string()])
        );
        let t = parse("x,y,kind\n1,2,b\n3,4,a\n", Some("kind")).unwrap();
        assert_eq!(t.dataset.len(), 2);
        assert_eq!(t.dataset.labels(), Some(&[1, 0][..]));
        assert_eq!(t.class_names, Some(vec!["a".to_string(), "b".to_string()]));
        // Integer-valued floats are integer labels.
        let t = parse("1,2.0\n3,0.0\n", Some("1")).unwrap();
        assert_eq!(t.dataset.labels(), Some(&[2, 0][..]));
    }

    #[test]
    fn sklearn_header() {
        let text = "3,2,no,yes\n1,2,0\n3,4,1\n5,6,1\n";
        let t = parse(text, None).unwrap();
        assert_eq!(t.dataset.len(), 3);
        assert_eq!(columns(&t), vec!["x0", "x1"]);
        assert_eq!(t.dataset.labels(), Some(&[0, 1, 1][..]));
        assert_eq!(
            t.class_names,
            Some(vec!["no".to_string(), "yes".to_string()])
        );

        let e = parse("4,2,no,yes\n1,2,0\n3,4,1\n5,6,1\n", None).unwrap_err();
        assert!(
            e.to_string()
                .contains("says the table has 4 rows but it has 3"),
            "{e}"
        );
        let e = parse("3,2,no,yes\n1,2,0\n3,4,2\n5,6,1\n", None).unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        assert!(e.to_string().contains("row 2 has label 2"), "{e}");
        let e = parse("3,5,no\n1,2,0,4\n3,4,1,4\n5,6,1,4\n", None).unwrap_err();
        assert!(e.to_string().contains("scikit-learn header"), "{e}");

        // The iris form: as many header fields as data fields.
        // (More class names than data fields is fine too.)
        let text = "2,2,setosa,versicolor,virginica\n5.1,3.5,0\n4.9,3.0,2\n";
        assert_eq!(parse(text, None).unwrap().dataset.dim(), 2);
        let text = "2,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,2\n";
        let t = parse(text, None).unwrap();
        assert_eq!(t.dataset.dim(), 4);
        assert_eq!(t.dataset.labels(), Some(&[0, 2][..]));
        assert_eq!(t.class_names.unwrap().len(), 3);

        // Two integers alone are data, not a header, when the rows are as wide.
        let t = parse("3,1\n1,0\n2,0\n", None).unwrap();
        assert_eq!(t.dataset.len(), 3);
    }

    #[test]
    fn ragged_rows_name_the_line() {
        let e = parse("a,b,c\n1,2,3\n4,5\n", None).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        let m = e.to_string();
        assert!(
            m.contains("t.csv") && m.contains("line 3 has 2 fields, expected 3"),
            "{m}"
        );
    }

    #[test]
    fn missing_infinite_and_text_cells() {
        for (text, needle) in [
            ("a,b\n1,\n", "missing value at line 2, column 2 (b)"),
            ("a,b\n1,2\nNA,3\n", "missing value at line 3, column 1 (a)"),
            ("1,2\n3,nan\n", "missing value at line 2, column 2 (x1)"),
            ("1,2\n3,NaN\n", "missing value at line 2, column 2"),
        ] {
            let e = parse(text, None).unwrap_err();
            assert!(matches!(e, Error::Data(_)), "{text}");
            let m = e.to_string();
            assert!(m.contains(needle) && m.contains("complete tables"), "{m}");
            assert!(m.contains("vaekit impute"), "{m}");
            assert!(m.contains("t.csv"), "{m}");
        }
        let e = parse("1,2\n3,inf\n", None).unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        assert!(
            e.to_string()
                .contains("infinite value 'inf' at line 2, column 2"),
            "{e}"
        );
        let e = parse("1,2\n3,1e300\n", None).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        let e = parse("a,b\n1,2\n3,abc\n", None).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        let m = e.to_string();
        assert!(
            m.contains("line 3, column 2 (b)") && m.contains("'abc'"),
            "{m}"
        );
        let e = parse("a,b,y\n1,2,\n", Some("y")).unwrap_err();
        assert!(e.to_string().contains("missing label at line 2"), "{e}");
    }

    #[test]
    fn missing_cells_are_marked_when_allowed() {
        let text = "a,b,c,y\n1.5,,3,0\nNA,2.25,nan,1\n?,null,-7e-3,1\n";
        let t = parse_csv(p(), text.as_bytes(), b',', Some("y"), MissingCells::Mark).unwrap();
        assert_eq!(
            t.missing,
            [false, true, false, true, false, true, true, true, false]
        );
        // Observed cells keep their parsed value; missing ones hold the placeholder.
        assert_eq!(
            t.dataset.values(),
            &[1.5, 0.0, 3.0, 0.0, 2.25, 0.0, 0.0, 0.0, -7e-3]
        );
        assert_eq!(t.dataset.labels(), Some(&[0, 1, 1][..]));
        // A complete table has no marks set; refusing gives no marks at all.
        let t = parse_csv(p(), b"1,2\n3,4\n", b',', None, MissingCells::Mark).unwrap();
        assert_eq!(t.missing, [false; 4]);
        let t = parse_csv(p(), b"1,2\n3,4\n", b',', None, MissingCells::Refuse).unwrap();
        assert!(t.missing.is_empty());
        // A missing label is still an error, and so is an infinite value.
        let e = parse_csv(p(), b"a,y\n1,\n", b',', Some("y"), MissingCells::Mark).unwrap_err();
        assert!(e.to_string().contains("missing label"), "{e}");
        let e = parse_csv(p(), b"1,inf\n", b',', None, MissingCells::Mark).unwrap_err();
        assert!(e.to_string().contains("infinite"), "{e}");
    }

    #[test]
    fn load_with_missing_reads_tables_and_passes_other_sources_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b\n1,\n,4\n5,6\n").unwrap();
        let spec = path.to_str().unwrap();
        let (source, missing) = load_with_missing(spec, &LoadOptions::default()).unwrap();
        assert_eq!(source.format, Format::Csv);
        assert_eq!(source.train.values(), &[1.0, 0.0, 0.0, 4.0, 5.0, 6.0]);
        assert_eq!(missing.unwrap(), [false, true, true, false, false, false]);
        // The ordinary loader still refuses the table, and points to impute.
        let e = super::super::load(spec, &LoadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("vaekit impute"), "{e}");
        let (source, missing) = load_with_missing("digits", &LoadOptions::default()).unwrap();
        assert_eq!(source.format, Format::Digits);
        assert!(missing.is_none());
    }

    #[test]
    fn no_data_rows_and_no_features() {
        let e = parse("a,b,c\n", None).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        assert!(e.to_string().contains("no data rows"), "{e}");
        let e = parse("", None).unwrap_err();
        assert!(e.to_string().contains("no rows"), "{e}");
        let e = parse("1\n2\n", Some("0")).unwrap_err();
        assert!(e.to_string().contains("no feature columns"), "{e}");
    }

    #[test]
    fn quoting_blank_lines_and_tabs() {
        let t = parse("\"a\",\"b\"\n\"1\",2\n\n3,4\n", None).unwrap();
        assert_eq!(t.dataset.values(), &[1.0, 2.0, 3.0, 4.0]);
        let t = parse_csv(p(), b"a\tb\n1\t2\n", b'\t', None, MissingCells::Refuse).unwrap();
        assert_eq!(columns(&t), vec!["a", "b"]);
        assert_eq!(delimiter_for(Path::new("x.tsv"), b"a,b"), b'\t');
        assert_eq!(delimiter_for(Path::new("x.txt"), b"a\tb\n"), b'\t');
        assert_eq!(delimiter_for(Path::new("x.csv"), b"a,b\tc\n"), b',');
    }

    #[test]
    fn invalid_utf8_is_a_format_error() {
        let e = parse_csv(p(), b"a,b\n1,\xff\xfe\n", b',', None, MissingCells::Refuse).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                       label in proptest::option::of("[a-c0-3]{1,2}")) {
            let _ = parse_csv(p(), &bytes, b',', label.as_deref(), MissingCells::Refuse);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "[0-9a-c.,\\-\n\"? eE]{0,200}",
                                       label in proptest::option::of("[a-c0-3]{1,2}")) {
            for missing in [MissingCells::Refuse, MissingCells::Mark] {
                let _ = parse_csv(p(), text.as_bytes(), b',', label.as_deref(), missing);
            }
        }

        #[test]
        fn numeric_tables_round_trip(rows in proptest::collection::vec(
            proptest::collection::vec(-1e6f32..1e6, 3), 1..20)) {
            let text: String = rows
                .iter()
                .map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n")
                .collect();
            let t = parse_csv(p(), text.as_bytes(), b',', None, MissingCells::Refuse).unwrap();
            let flat: Vec<f32> = rows.concat();
            prop_assert_eq!(t.dataset.values(), flat.as_slice());
        }
    }
}
