//! The UCI optical recognition of handwritten digits data set, embedded in
//! the library so that `vaekit` can train and be tested with no download.
//!
//! The file is scikit-learn's `digits.csv.gz`: 1,797 rows of 64 pixel values
//! (an 8x8 image, row by row, each 0..16) followed by the digit 0..9. It is
//! parsed with the ordinary CSV reader, divided by 16 so that pixels lie in
//! `[0, 1]`, and split at a fixed point: the first 1,500 rows are the training
//! set and the last 297 the test set. The split is fixed (not shuffled) so that
//! every run and every machine sees the same test examples; the rows of the
//! original file are already in no particular class order.

use std::path::Path;

use super::{DataKind, Dataset, gunzip, table};
use crate::error::{Error, Result};

/// The compressed CSV, as shipped by scikit-learn.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// Rows in the file.
pub(crate) const DIGITS_ROWS: usize = 1_797;

/// Rows in the training split; the rest are the test split.
pub(crate) const DIGITS_TRAIN_ROWS: usize = 1_500;

/// Loads the embedded digits as `(train, test)`: 1,500 and 297 grayscale 8x8
/// images with values in `[0, 1]` and labels 0..9.
pub(crate) fn load_digits() -> Result<(Dataset, Dataset)> {
    let name = Path::new("<embedded digits.csv.gz>");
    let csv = gunzip(name, DIGITS_CSV_GZ)?;
    let table = table::parse_csv(
        name,
        &csv,
        b',',
        Some("64"),
        table::Cells::Numbers(table::MissingCells::Refuse),
    )?;
    let data = table.dataset;
    if data.len() != DIGITS_ROWS || data.dim() != 64 {
        return Err(Error::format(
            name,
            format!(
                "holds {} rows of {} values; expected {DIGITS_ROWS} rows of 64 (the library was built with a damaged data file)",
                data.len(),
                data.dim()
            ),
        ));
    }
    let labels = data.labels().map(<[u32]>::to_vec);
    let values = data.values().iter().map(|v| v / 16.0).collect();
    let kind = DataKind::Image {
        channels: 1,
        height: 8,
        width: 8,
    };
    let all = Dataset::new(values, kind, labels)?;
    let train: Vec<usize> = (0..DIGITS_TRAIN_ROWS).collect();
    let test: Vec<usize> = (DIGITS_TRAIN_ROWS..DIGITS_ROWS).collect();
    Ok((all.subset(&train), all.subset(&test)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_digits_split_and_values() {
        let (train, test) = load_digits().unwrap();
        assert_eq!(train.len(), 1_500);
        assert_eq!(test.len(), 297);
        assert_eq!(train.dim(), 64);
        let all_labels: Vec<u32> = train
            .labels()
            .unwrap()
            .iter()
            .chain(test.labels().unwrap())
            .copied()
            .collect();
        for digit in 0..10 {
            assert!(all_labels.contains(&digit), "digit {digit} missing");
        }
        assert!(all_labels.iter().all(|&l| l < 10));
        let (lo, hi) = train.value_range();
        assert_eq!((lo, hi), (0.0, 1.0));
        // Every value is a multiple of 1/16.
        assert!(train.values().iter().all(|v| (v * 16.0).fract() == 0.0));
    }
}
