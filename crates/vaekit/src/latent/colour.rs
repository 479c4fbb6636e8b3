//! Colouring a map by one column of a typed table (`vaekit latent
//! --colour-by COLUMN`), so a table without a label column can still show
//! how its codes arrange one of its columns.
//!
//! # Choices
//!
//! * **Classes from cells.** Each row is written back in the data's units
//!   (the scaler undone, the cell decoded as `sample` writes it), so the
//!   legend reads in the table's own words and units.
//! * **At most ten colours**, the scatter palette's size: a column of
//!   categories (or of at most ten distinct numbers) gets one class per
//!   value, the most frequent first when there are more than fit, the rest
//!   pooled as "other"; a column of more numbers gets five bins at its
//!   quintiles (fewer where values repeat), named by the smallest and largest
//!   value each holds. A missing cell is a class of its own, "missing".

use std::collections::BTreeMap;

use crate::data::columns::ColumnKind;
use crate::data::{Dataset, TableColumns};
use crate::error::{Error, Result};
use crate::generate::Units;

/// Colours the palette can tell apart.
const MAX_CLASSES: usize = 10;

/// Bins of a numeric column of many values.
const BINS: usize = 5;

/// The class of every mapped row and the legend's names.
#[derive(Debug, Clone, PartialEq)]
pub struct Colouring {
    /// The class of each of the first rows, an index into `names`.
    pub classes: Vec<u32>,
    /// What each class stands for.
    pub names: Vec<String>,
}

/// The index of `column` among the typed columns in `units`, and those.
///
/// # Errors
///
/// As [`by_column`].
pub fn check_column<'a>(units: &Units<'a>, column: &str) -> Result<(usize, &'a TableColumns)> {
    let Some(columns) = units.columns else {
        return Err(Error::setting(
            "--colour-by",
            "colours by a column of a table with typed columns; this run's data has none (its points are coloured by label)",
        ));
    };
    let names = columns.names();
    let c = names
        .iter()
        .position(|name| name == column)
        .ok_or_else(|| {
            Error::setting(
                "--colour-by",
                format!(
                    "'{column}' is not a column of the run's table; the columns are {}",
                    names.join(", ")
                ),
            )
        })?;
    Ok((c, columns))
}

/// Classes of the first `n` rows of `data` by the values of `column`, one of
/// the typed columns in `units`.
///
/// # Errors
///
/// [`Error::Setting`] (`--colour-by`) for a run without typed columns or a
/// column it does not have (the message lists them).
pub fn by_column(units: &Units<'_>, data: &Dataset, column: &str, n: usize) -> Result<Colouring> {
    let (c, columns) = check_column(units, column)?;
    let start: usize = columns.columns[..c].iter().map(|k| k.kind.width()).sum();
    let span = start..start + columns.columns[c].kind.width();
    let n = n.min(data.len());
    // Each row's cell, None where it is missing.
    let cells: Vec<Option<String>> = (0..n)
        .map(|i| {
            let missing = data
                .missing_row(i)
                .is_some_and(|m| m[span.clone()].contains(&true));
            (!missing).then(|| {
                let mut row = data.row(i).to_vec();
                units.inverse(&mut row);
                columns.decode_row(&row).swap_remove(c)
            })
        })
        .collect();
    let numeric = !matches!(
        columns.columns[c].kind,
        ColumnKind::Categorical { .. } | ColumnKind::Binary
    );
    let with_missing = cells.iter().any(Option::is_none);
    let room = MAX_CLASSES - usize::from(with_missing);
    let observed = cells.iter().flatten();
    let mut classes = match numeric {
        true => {
            let values: Vec<f64> = observed.filter_map(|s| s.parse().ok()).collect();
            numeric_classes(&cells, &values, room)
        }
        false => value_classes(&cells, room, |a, b| a.cmp(b)),
    };
    if with_missing {
        let missing = classes.names.len() as u32;
        classes.names.push("missing".to_string());
        for (class, cell) in classes.classes.iter_mut().zip(&cells) {
            if cell.is_none() {
                *class = missing;
            }
        }
    }
    Ok(classes)
}

/// One class per distinct value (in `order`), the most frequent `room - 1`
/// and "other" when there are more than `room`. Missing cells get class 0
/// for the caller to replace.
fn value_classes(
    cells: &[Option<String>],
    room: usize,
    order: impl Fn(&String, &String) -> std::cmp::Ordering,
) -> Colouring {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for cell in cells.iter().flatten() {
        *counts.entry(cell).or_default() += 1;
    }
    let mut kept: Vec<&String> = counts.keys().copied().collect();
    let pooled = kept.len() > room;
    if pooled {
        kept.sort_by(|a, b| counts[b].cmp(&counts[a]).then(a.cmp(b)));
        kept.truncate(room - 1);
    }
    kept.sort_by(|a, b| order(a, b));
    let mut names: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
    if pooled {
        names.push(format!("other ({} values)", counts.len() - kept.len()));
    }
    let classes = cells
        .iter()
        .map(|cell| match cell {
            Some(v) => kept.iter().position(|k| *k == v).unwrap_or(kept.len()) as u32,
            None => 0,
        })
        .collect();
    Colouring { classes, names }
}

/// Classes of a numeric column: its distinct values when they fit, else up
/// to [`BINS`] bins split at its quintiles.
fn numeric_classes(cells: &[Option<String>], values: &[f64], room: usize) -> Colouring {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    let value = |cell: &Option<String>| cell.as_ref().and_then(|s| s.parse::<f64>().ok());
    if distinct.len() <= room {
        let by_number = |a: &String, b: &String| {
            let (x, y) = (a.parse::<f64>(), b.parse::<f64>());
            match (x, y) {
                (Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => a.cmp(b),
            }
        };
        return value_classes(cells, room, by_number);
    }
    // Bin k holds the values up to its quintile (the last, the rest);
    // repeated quintiles merge their bins, and none is left empty.
    let mut edges: Vec<f64> = (1..BINS)
        .map(|k| sorted[(k * sorted.len() / BINS).max(1) - 1])
        .collect();
    edges.dedup();
    let bin = |v: f64| edges.iter().filter(|&&e| v > e).count();
    let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); edges.len() + 1];
    for &v in values {
        let r = &mut ranges[bin(v)];
        *r = (r.0.min(v), r.1.max(v));
    }
    let names = ranges
        .iter()
        .map(|&(lo, hi)| match lo == hi {
            true => short(lo),
            false => format!("{} to {}", short(lo), short(hi)),
        })
        .collect();
    let classes = cells
        .iter()
        .map(|cell| value(cell).map_or(0, |v| bin(v) as u32))
        .collect();
    Colouring { classes, names }
}

/// A number in a legend: whole numbers as they are, others to 3 significant
/// digits.
fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        let text = format!("{v:.digits$}");
        match text.contains('.') {
            true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
            false => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[&str]) -> Vec<Option<String>> {
        values
            .iter()
            .map(|v| (!v.is_empty()).then(|| v.to_string()))
            .collect()
    }

    #[test]
    fn categories_keep_the_most_frequent_and_pool_the_rest() {
        let c = cells(&["b", "a", "b", "c", "a", "b", "d"]);
        let k = value_classes(&c, 3, |a, b| a.cmp(b));
        // b (3) and a (2) kept, c and d pooled; kept ones in order.
        assert_eq!(k.names, ["a", "b", "other (2 values)"]);
        assert_eq!(k.classes, [1, 0, 1, 2, 0, 1, 2]);
        let k = value_classes(&c, 10, |a, b| a.cmp(b));
        assert_eq!(k.names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn numbers_are_binned_at_their_quintiles() {
        let values: Vec<String> = (1..=100).map(|v| v.to_string()).collect();
        let c: Vec<Option<String>> = values.iter().cloned().map(Some).collect();
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let k = numeric_classes(&c, &v, 10);
        assert_eq!(
            k.names,
            ["1 to 20", "21 to 40", "41 to 60", "61 to 80", "81 to 100"]
        );
        assert_eq!(k.classes[0], 0);
        assert_eq!(k.classes[20], 1);
        assert_eq!(k.classes[99], 4);
        // Few distinct numbers: one class each, in numeric order.
        let c = cells(&["10", "9", "10", "100"]);
        let k = numeric_classes(&c, &[10.0, 9.0, 10.0, 100.0], 10);
        assert_eq!(k.names, ["9", "10", "100"]);
        assert_eq!(k.classes, [1, 0, 1, 2]);
        // A column mostly 0: the repeated quintiles merge.
        let mut v = vec![0.0; 90];
        v.extend((1..=10).map(|x| 1000.0 * f64::from(x)));
        v.push(0.5);
        let c: Vec<Option<String>> = v.iter().map(|x| Some(x.to_string())).collect();
        let k = numeric_classes(&c, &v, 10);
        assert_eq!(k.names, ["0", "0.5 to 10000"]);
        assert_eq!(k.classes[0], 0);
        assert_eq!(k.classes[100], 1);
        assert_eq!(short(0.012345), "0.0123");
        assert_eq!(short(123.456), "123");
    }
}
