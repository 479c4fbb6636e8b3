//! [`Dataset`]: the examples every source is read into, with their labels.

use super::DataKind;
use crate::error::{Error, Result};

/// Row-major examples with optional class labels.
///
/// # Shapes
///
/// `values` holds `len() * dim()` numbers: example `i` is
/// `values[i * dim .. (i + 1) * dim]`. Images are stored channel-first, so
/// within an example of [`DataKind::Image`] the value of channel `c`, row `y`,
/// column `x` is at `c * height * width + y * width + x`. Table rows are the
/// columns in [`DataKind::Table`] order. Values are as given by the source
/// format's convention (see the module documentation); all are finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    values: Vec<f32>,
    kind: DataKind,
    labels: Option<Vec<u32>>,
    /// One flag per value, `true` where the cell was missing (its value is
    /// a placeholder): tables with holes only.
    missing: Option<Vec<bool>>,
}

impl Dataset {
    /// Builds a data set, checking that it is well formed.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when an example would have no values, when
    /// `values.len()` is not a multiple of [`DataKind::dim`], when the number of
    /// labels differs from the number of examples, or when a value is NaN or
    /// infinite (the message names the first such row and column, 1-based).
    pub fn new(values: Vec<f32>, kind: DataKind, labels: Option<Vec<u32>>) -> Result<Dataset> {
        let dim = kind.checked_dim().ok_or_else(|| {
            Error::Data(format!(
                "{} are too large: the values per example overflow the address space",
                kind.describe()
            ))
        })?;
        if dim == 0 {
            return Err(Error::Data(format!(
                "each example must have at least one value, but the data is {}",
                kind.describe()
            )));
        }
        if !values.len().is_multiple_of(dim) {
            return Err(Error::Data(format!(
                "{} values do not divide into whole examples of {dim} values each ({})",
                values.len(),
                kind.describe()
            )));
        }
        let rows = values.len() / dim;
        if let Some(labels) = &labels
            && labels.len() != rows
        {
            return Err(Error::Data(format!(
                "the data has {rows} examples but {} labels; there must be exactly one label per example",
                labels.len()
            )));
        }
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            let what = if values.get(at).is_some_and(|v| v.is_nan()) {
                "NaN"
            } else {
                "infinite"
            };
            return Err(Error::Data(format!(
                "the value at row {}, column {} is {what}; NaN and infinity are not allowed in training data: fill in or drop that example",
                at / dim + 1,
                at % dim + 1
            )));
        }
        Ok(Dataset {
            values,
            kind,
            labels,
            missing: None,
        })
    }

    /// The same rows with `missing` marking the values that were missing
    /// cells (None or no flag set: a complete table).
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when there is not one flag per value.
    pub fn with_missing(mut self, missing: Option<Vec<bool>>) -> Result<Dataset> {
        if let Some(m) = &missing
            && m.len() != self.values.len()
        {
            return Err(Error::Data(format!(
                "{} missing-cell flags for {} values; there must be one per value",
                m.len(),
                self.values.len()
            )));
        }
        self.missing = missing.filter(|m| m.contains(&true));
        Ok(self)
    }

    /// Per value, `true` where the cell was missing (None when none was).
    pub fn missing(&self) -> Option<&[bool]> {
        self.missing.as_deref()
    }

    /// The missing-cell flags of example `i` (None for a complete table).
    pub fn missing_row(&self, i: usize) -> Option<&[bool]> {
        let dim = self.dim();
        self.missing.as_ref().map(|m| &m[i * dim..(i + 1) * dim])
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.dim()).unwrap_or(0)
    }

    /// `true` when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Values per example ([`DataKind::dim`]).
    pub fn dim(&self) -> usize {
        self.kind.dim()
    }

    /// How each example is shaped.
    pub fn kind(&self) -> &DataKind {
        &self.kind
    }

    /// All values, row-major (see [`Dataset`] for the layout).
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// All values, mutable (used to scale a table in place). Keep them finite.
    pub fn values_mut(&mut self) -> &mut [f32] {
        &mut self.values
    }

    /// Example `i`, `dim()` values.
    ///
    /// # Panics
    ///
    /// When `i >= len()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f32] {
        let dim = self.dim();
        &self.values[i * dim..(i + 1) * dim]
    }

    /// The class label of each example, when the source has them.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// Examples per label `0..=largest` (None without labels).
    pub fn label_counts(&self) -> Option<Vec<usize>> {
        let labels = self.labels.as_deref()?;
        let mut counts = vec![0; labels.iter().max().map_or(0, |&m| m as usize + 1)];
        for &l in labels {
            counts[l as usize] += 1;
        }
        Some(counts)
    }

    /// A new data set holding the given rows in the given order (repeats allowed).
    ///
    /// # Panics
    ///
    /// When an index is `>= len()`; the indices come from the program (for
    /// example [`validation_split`]), never from user data.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let dim = self.dim();
        let mut values = Vec::with_capacity(indices.len().saturating_mul(dim));
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        let labels = self
            .labels
            .as_ref()
            .map(|labels| indices.iter().map(|&i| labels[i]).collect());
        let missing = self.missing.as_ref().map(|m| {
            let mut out = Vec::with_capacity(indices.len().saturating_mul(dim));
            for &i in indices {
                out.extend_from_slice(&m[i * dim..(i + 1) * dim]);
            }
            out
        });
        Dataset {
            values,
            kind: self.kind.clone(),
            labels,
            missing: missing.filter(|m| m.contains(&true)),
        }
    }

    /// Splits off the rows at `held_out` (sorted ascending, in range) into a
    /// second data set, keeping the others in order, without holding two
    /// copies of the data: the held-out rows are copied out, then the kept rows
    /// are moved down in place. Returns `(kept, held_out)`.
    pub fn partition(mut self, held_out: &[usize]) -> (Dataset, Dataset) {
        let dim = self.dim();
        let held = self.subset(held_out);
        let mut next = held_out.iter().peekable();
        let mut kept = 0;
        for row in 0..self.len() {
            if next.peek() == Some(&&row) {
                next.next();
                continue;
            }
            if kept != row {
                self.values
                    .copy_within(row * dim..(row + 1) * dim, kept * dim);
                if let Some(labels) = self.labels.as_mut() {
                    labels[kept] = labels[row];
                }
                if let Some(m) = self.missing.as_mut() {
                    m.copy_within(row * dim..(row + 1) * dim, kept * dim);
                }
            }
            kept += 1;
        }
        self.values.truncate(kept * dim);
        self.values.shrink_to_fit();
        if let Some(labels) = self.labels.as_mut() {
            labels.truncate(kept);
        }
        if let Some(m) = self.missing.as_mut() {
            m.truncate(kept * dim);
        }
        self.missing = self.missing.take().filter(|m| m.contains(&true));
        (self, held)
    }

    /// The rows of `self` followed by the rows of `other` (same kind). Labels are
    /// kept only when both have them.
    pub fn concat(&self, other: &Dataset) -> Result<Dataset> {
        if self.kind.dim() != other.kind.dim() {
            return Err(Error::Data(format!(
                "cannot join {} with {}",
                self.kind.describe(),
                other.kind.describe()
            )));
        }
        let mut values = self.values.clone();
        values.extend_from_slice(&other.values);
        let labels = match (&self.labels, &other.labels) {
            (Some(a), Some(b)) => Some(a.iter().chain(b).copied().collect()),
            _ => None,
        };
        let missing = match (&self.missing, &other.missing) {
            (None, None) => None,
            (a, b) => {
                let flags =
                    |m: &Option<Vec<bool>>, n: usize| m.clone().unwrap_or_else(|| vec![false; n]);
                let mut m = flags(a, self.values.len());
                m.extend(flags(b, other.values.len()));
                Some(m)
            }
        };
        Ok(Dataset {
            values,
            kind: self.kind.clone(),
            labels,
            missing,
        })
    }

    /// A 64-bit FNV-1a-style hash of the values' bit patterns (two per word), the shape of the kind
    /// and the labels: equal data gives equal fingerprints, so a run can tell
    /// whether it is resumed on the data it was trained on. Column names are
    /// not included (renaming a header does not change the data).
    pub fn fingerprint(&self) -> u64 {
        let mut hash = Fnv1a::new();
        match &self.kind {
            DataKind::Image {
                channels,
                height,
                width,
            } => {
                hash.write(&[0]);
                for d in [channels, height, width] {
                    hash.write(&(*d as u64).to_le_bytes());
                }
            }
            DataKind::Table { columns } => {
                hash.write(&[1]);
                hash.write(&(columns.len() as u64).to_le_bytes());
            }
        }
        hash.write(&(self.values.len() as u64).to_le_bytes());
        // Two values per 64-bit word: a byte at a time took a fifth of a
        // second on MNIST, before every run.
        let mut pairs = self.values.chunks_exact(2);
        for pair in &mut pairs {
            hash.word(u64::from(pair[0].to_bits()) | (u64::from(pair[1].to_bits()) << 32));
        }
        for v in pairs.remainder() {
            hash.word(u64::from(v.to_bits()));
        }
        if let Some(m) = &self.missing {
            hash.write(&[2]);
            for chunk in m.chunks(64) {
                hash.word(
                    chunk
                        .iter()
                        .enumerate()
                        .fold(0u64, |w, (i, &b)| w | (u64::from(b) << i)),
                );
            }
        }
        match &self.labels {
            None => hash.write(&[0]),
            Some(labels) => {
                hash.write(&[1]);
                for l in labels {
                    hash.write(&l.to_le_bytes());
                }
            }
        }
        hash.finish()
    }

    /// The smallest and largest value over all examples; `(0.0, 0.0)` when empty.
    pub fn value_range(&self) -> (f32, f32) {
        let mut iter = self.values.iter().copied();
        match iter.next() {
            None => (0.0, 0.0),
            Some(first) => iter.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))),
        }
    }

    /// Replaces the labels, checking the count (and everything else) again.
    pub(crate) fn with_labels(self, labels: Option<Vec<u32>>) -> Result<Dataset> {
        let missing = self.missing;
        Dataset::new(self.values, self.kind, labels)?.with_missing(missing)
    }
}

/// FNV-1a, 64-bit.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Mixes in a whole 64-bit word in one step (FNV-1a's step over words
    /// rather than bytes: weaker mixing, ample for telling data sets apart).
    fn word(&mut self, word: u64) {
        self.0 ^= word;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
