//! Loading training data: the embedded UCI digits, IDX files and folders (MNIST,
//! Fashion-MNIST, KMNIST as shipped), NumPy `.npy` arrays, CSV/TSV tables and
//! folders of PNG/JPEG images, all into one in-memory [`Dataset`].
//!
//! # Design
//!
//! * **One representation.** Every source becomes a [`Dataset`]: a flat,
//!   row-major `Vec<f32>` with a [`DataKind`] that says how a row is shaped
//!   (a channel-first image or a table row) and optional `u32` class labels.
//!   The model code never needs to know which file format the data came from.
//! * **Values follow the format's convention, not a global rule.** 8-bit pixel
//!   data (IDX and NPY `u8`, image files) is divided by 255 so it lies in
//!   `[0, 1]`, the embedded digits are divided by 16, and everything else
//!   (floats, wider integers, CSV cells) is kept as written. Tables are scaled
//!   later by a [`Scaler`] fitted on the training rows only, so that the scaling
//!   can be saved with a run and undone on generated samples.
//! * **Parsing is separate from reading.** Each parser takes the path (only for
//!   messages) and the file's bytes, so every parser can be tested on
//!   hand-built and arbitrary input. gzip is recognised by its magic bytes
//!   (`1f 8b`), not by the file name, and is undone before parsing.
//! * **Untrusted input never panics, and header fields never size an
//!   allocation.** Header fields (IDX dimensions, NPY shapes and header
//!   lengths) are checked against the real number of bytes, with checked
//!   arithmetic, before anything is allocated from them. Every error names the file and, where there is one,
//!   the line, column or byte position, and says what to change.
//! * **Detection is conservative.** Content decides first (gzip, NPY and IDX
//!   magic numbers), then the extension; a file that matches nothing is an
//!   error asking for `--format` rather than a guess.

mod embedded;
mod idx;
mod images;
mod npy;
pub mod prepare;
mod scaler;
mod table;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

pub use scaler::{Scaler, ScalerKind};
pub use table::{MISSING_PLACEHOLDER, load_with_missing};

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
        })
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
        Dataset {
            values,
            kind: self.kind.clone(),
            labels,
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
            }
            kept += 1;
        }
        self.values.truncate(kept * dim);
        self.values.shrink_to_fit();
        if let Some(labels) = self.labels.as_mut() {
            labels.truncate(kept);
        }
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
        Ok(Dataset {
            values,
            kind: self.kind.clone(),
            labels,
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
        Dataset::new(self.values, self.kind, labels)
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

/// How the values of one example are arranged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DataKind {
    /// A channel-first image: `channels * height * width` values per example
    /// (1 channel for grayscale, 3 for RGB).
    Image {
        /// Colour channels.
        channels: usize,
        /// Rows of pixels.
        height: usize,
        /// Columns of pixels.
        width: usize,
    },
    /// A table row with one value per named column (the label column, if any,
    /// is not among them).
    Table {
        /// Column names, from the file's header or `x0`, `x1`, ... without one.
        columns: Vec<String>,
    },
}

impl DataKind {
    /// Values per example (saturating; [`Dataset::new`] rejects kinds whose
    /// size overflows).
    pub fn dim(&self) -> usize {
        match self {
            DataKind::Image {
                channels,
                height,
                width,
            } => channels.saturating_mul(*height).saturating_mul(*width),
            DataKind::Table { columns } => columns.len(),
        }
    }

    fn checked_dim(&self) -> Option<usize> {
        match self {
            DataKind::Image {
                channels,
                height,
                width,
            } => channels.checked_mul(*height)?.checked_mul(*width),
            DataKind::Table { columns } => Some(columns.len()),
        }
    }

    /// `true` for images.
    pub fn is_image(&self) -> bool {
        matches!(self, DataKind::Image { .. })
    }

    /// A short phrase for messages and summaries: `"28x28 grayscale images"`,
    /// `"8x8 RGB images"`, `"table of 13 columns"`.
    pub fn describe(&self) -> String {
        match self {
            DataKind::Image {
                channels,
                height,
                width,
            } => match channels {
                1 => format!("{height}x{width} grayscale images"),
                3 => format!("{height}x{width} RGB images"),
                c => format!("{height}x{width} images with {c} channels"),
            },
            DataKind::Table { columns } if columns.len() == 1 => "table of 1 column".to_string(),
            DataKind::Table { columns } => format!("table of {} columns", columns.len()),
        }
    }
}

/// The supported data formats, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The embedded UCI optical digits (`digits`).
    Digits,
    /// A folder of IDX files named as MNIST ships them (`idx-dir`).
    IdxDir,
    /// One IDX file (`idx`).
    Idx,
    /// One NumPy `.npy` array (`npy`).
    Npy,
    /// A CSV, TSV or text table (`csv`).
    Csv,
    /// A folder of PNG/JPEG images, optionally in class subfolders (`images`).
    Images,
}

impl Format {
    /// Every format, in the order they are listed in messages.
    pub const ALL: [Format; 6] = [
        Format::Digits,
        Format::IdxDir,
        Format::Idx,
        Format::Npy,
        Format::Csv,
        Format::Images,
    ];

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Digits => "digits",
            Format::IdxDir => "idx-dir",
            Format::Idx => "idx",
            Format::Npy => "npy",
            Format::Csv => "csv",
            Format::Images => "images",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                Error::setting(
                    "--format",
                    format!("unknown format '{s}'; use one of {}", names.join(", ")),
                )
            })
    }
}

/// Choices that change how a source is read. The default detects everything.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// A labels file for a single IDX or NPY source: a rank-1 IDX file or a
    /// 1-D NPY integer array with one label per example.
    pub labels: Option<PathBuf>,
    /// CSV only: the label column, by header name or 0-based index.
    pub label_column: Option<String>,
    /// Image folders only: resize every image to `[height, width]`.
    pub image_size: Option<[usize; 2]>,
}

/// A loaded data source.
#[derive(Debug, Clone)]
pub struct Source {
    /// What the user passed (`"digits"` or the path).
    pub spec: String,
    /// The format it was read as.
    pub format: Format,
    /// The training examples (the whole source when it has no test split).
    pub train: Dataset,
    /// The test examples, only where the source ships a test split (the digits'
    /// fixed split, an IDX folder's `t10k-*` files).
    pub test: Option<Dataset>,
    /// Label `i` is `class_names[i]` where the names are known (CSV class
    /// names, image class folders).
    pub class_names: Option<Vec<String>>,
}

/// Largest height or width accepted for `--image-size`.
const MAX_IMAGE_SIDE: usize = 16_384;

/// Loads any supported source. `spec` is `"digits"` (the embedded UCI digits)
/// or a path to a file or folder.
///
/// Without [`LoadOptions::format`] the format is detected: `digits` is the
/// embedded set (write `./digits` for a path of that name); a directory is an
/// IDX folder when it holds `train-images-idx3-ubyte` (any supported spelling,
/// optionally `.gz`), otherwise an image folder; a file is IDX or NPY by its
/// first bytes (after undoing gzip), else NPY/CSV by extension.
///
/// # Errors
///
/// [`Error::Read`] when the path cannot be read (including when it does not
/// exist), [`Error::Format`] when a file is not valid for its format,
/// [`Error::Data`] when the content cannot be used (missing values, mismatched
/// counts or sizes), [`Error::Setting`] when an option does not apply to the
/// format or `--format` contradicts the source.
pub fn load(spec: &str, options: &LoadOptions) -> Result<Source> {
    if let Some([h, w]) = options.image_size
        && (h == 0 || w == 0 || h > MAX_IMAGE_SIDE || w > MAX_IMAGE_SIDE)
    {
        return Err(Error::setting(
            "--image-size",
            format!(
                "{h}x{w} is out of range; height and width must be between 1 and {MAX_IMAGE_SIDE}"
            ),
        ));
    }
    let source = |format, train, test, class_names| Source {
        spec: spec.to_string(),
        format,
        train,
        test,
        class_names,
    };

    let digits_forced = options.format == Some(Format::Digits);
    if digits_forced || (options.format.is_none() && spec == "digits") {
        if spec != "digits" {
            return Err(Error::setting(
                "--format",
                format!(
                    "digits is the embedded data set and reads no file; pass `digits` as the data source instead of {spec}, or choose another format"
                ),
            ));
        }
        check_options(Format::Digits, options)?;
        let (train, test) = embedded::load_digits()?;
        return Ok(source(Format::Digits, train, Some(test), None));
    }

    let path = Path::new(spec);
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if meta.is_dir() {
        let files = idx::IdxDirFiles::find(path);
        let format = match options.format {
            None if files.train_images.is_some() => Format::IdxDir,
            None => Format::Images,
            Some(f @ (Format::IdxDir | Format::Images)) => f,
            Some(f) => {
                return Err(Error::setting(
                    "--format",
                    format!(
                        "{f} reads a file, but {} is a directory; use idx-dir or images for folders",
                        path.display()
                    ),
                ));
            }
        };
        check_options(format, options)?;
        if format == Format::IdxDir {
            let (train, test) = idx::load_idx_dir(path, &files)?;
            Ok(source(format, train, test, None))
        } else {
            let (train, class_names) = images::load_folder(path, options.image_size)?;
            Ok(source(format, train, None, class_names))
        }
    } else {
        if let Some(f @ (Format::IdxDir | Format::Images)) = options.format {
            return Err(Error::setting(
                "--format",
                format!(
                    "{f} reads a directory, but {} is a file; use idx, npy or csv for files",
                    path.display()
                ),
            ));
        }
        let bytes = read_data_file(path)?;
        let format = match options.format {
            Some(f) => f,
            None => detect_file(path, &bytes)?,
        };
        check_options(format, options)?;
        let (train, class_names) = match format {
            Format::Idx => {
                let array = idx::parse_idx(path, &bytes)?;
                let data = idx::to_dataset(path, &array)?;
                (attach_labels(path, data, options)?, None)
            }
            Format::Npy => {
                let array = npy::parse_npy(path, &bytes)?;
                let data = npy::to_dataset(path, &array)?;
                (attach_labels(path, data, options)?, None)
            }
            Format::Csv => {
                let t = table::parse_csv(
                    path,
                    &bytes,
                    table::delimiter_for(path, &bytes),
                    options.label_column.as_deref(),
                    table::MissingCells::Refuse,
                )?;
                (t.dataset, t.class_names)
            }
            Format::Digits | Format::IdxDir | Format::Images => {
                return Err(Error::setting(
                    "--format",
                    format!("{format} cannot read the file {}", path.display()),
                ));
            }
        };
        Ok(source(format, train, None, class_names))
    }
}

/// Rejects options that do not apply to `format`, naming the option.
fn check_options(format: Format, options: &LoadOptions) -> Result<()> {
    if options.labels.is_some() && !matches!(format, Format::Idx | Format::Npy) {
        return Err(Error::setting(
            "--labels",
            format!(
                "a labels file only goes with a single IDX or NPY file (formats idx and npy), not with {format} data"
            ),
        ));
    }
    if options.label_column.is_some() && format != Format::Csv {
        return Err(Error::setting(
            "--label-column",
            format!("a label column only applies to CSV tables (format csv), not to {format} data"),
        ));
    }
    if options.image_size.is_some() && format != Format::Images {
        return Err(Error::setting(
            "--image-size",
            format!("resizing only applies to image folders (format images), not to {format} data"),
        ));
    }
    Ok(())
}

/// Reads a file, undoing gzip when it starts with the gzip magic bytes.
/// An empty file (before or after decompression) is a format error.
pub(crate) fn read_data_file(path: &Path) -> Result<Vec<u8>> {
    let raw = crate::io::read_file(path)?;
    if raw.is_empty() {
        return Err(Error::format(path, "is empty; expected a data file"));
    }
    let bytes = if is_gzip(&raw) {
        gunzip(path, &raw)?
    } else {
        raw
    };
    if bytes.is_empty() {
        return Err(Error::format(
            path,
            "is empty after gzip decompression; expected a data file",
        ));
    }
    Ok(bytes)
}

/// `true` when `bytes` start with the gzip magic `1f 8b`.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a whole gzip stream (several concatenated members are allowed).
pub(crate) fn gunzip(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::format(
                path,
                format!(
                    "is not a valid gzip file ({e}); the download may be incomplete or corrupt"
                ),
            )
        })?;
    Ok(out)
}

/// The file's extension in lower case, ignoring a final `.gz`.
pub(crate) fn extension(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_string(),
        _ => String::new(),
    }
}

/// Tells a file's format from its (decompressed) content, then its name.
fn detect_file(path: &Path, bytes: &[u8]) -> Result<Format> {
    if bytes.starts_with(npy::MAGIC) {
        return Ok(Format::Npy);
    }
    if idx::looks_like_idx(bytes) {
        return Ok(Format::Idx);
    }
    let ext = extension(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "npy" => Ok(Format::Npy),
        "csv" | "tsv" | "txt" => Ok(Format::Csv),
        _ if ext.starts_with("idx") || name.contains("-ubyte") => Ok(Format::Idx),
        _ => Err(Error::format(
            path,
            "cannot tell the format of this file (it does not start like an IDX or NPY file and its extension is not .csv, .tsv, .txt or .npy); pass --format idx|npy|csv|images",
        )),
    }
}

/// Adds `--labels` to a single IDX/NPY data set.
fn attach_labels(path: &Path, data: Dataset, options: &LoadOptions) -> Result<Dataset> {
    let Some(labels_path) = &options.labels else {
        return Ok(data);
    };
    let labels = read_labels_file(labels_path)?;
    check_label_count(path, &data, labels_path, &labels)?;
    data.with_labels(Some(labels))
}

/// Reads a labels file: a rank-1 IDX file or a 1-D NPY integer array.
fn read_labels_file(path: &Path) -> Result<Vec<u32>> {
    let bytes = read_data_file(path)?;
    if bytes.starts_with(npy::MAGIC) || extension(path) == "npy" {
        let array = npy::parse_npy(path, &bytes)?;
        npy::to_labels(path, &array)
    } else {
        let array = idx::parse_idx(path, &bytes)?;
        idx::to_labels(path, &array)
    }
}

pub(crate) fn check_label_count(
    data_path: &Path,
    data: &Dataset,
    labels_path: &Path,
    labels: &[u32],
) -> Result<()> {
    if data.len() != labels.len() {
        return Err(Error::Data(format!(
            "{} holds {} examples but the labels file {} holds {} labels; they must match one to one",
            data_path.display(),
            data.len(),
            labels_path.display(),
            labels.len()
        )));
    }
    Ok(())
}

/// Adds the file name to a [`Error::Data`] message from [`Dataset::new`].
pub(crate) fn in_file(path: &Path, err: Error) -> Error {
    match err {
        Error::Data(message) => Error::Data(format!("{}: {message}", path.display())),
        other => other,
    }
}

/// Reorders `n` examples of `height * width * channels` values from
/// channel-last (HWC) to channel-first (CHW).
///
/// `values.len()` must be a multiple of the example size; a trailing partial
/// example is dropped (callers check the length first).
pub(crate) fn hwc_to_chw(values: &[f32], height: usize, width: usize, channels: usize) -> Vec<f32> {
    let plane = height.saturating_mul(width);
    let example = plane.saturating_mul(channels);
    if example == 0 {
        return Vec::new();
    }
    let mut out = vec![0.0; values.len() - values.len() % example];
    for (src, dst) in values
        .chunks_exact(example)
        .zip(out.chunks_exact_mut(example))
    {
        for (pixel, px) in src.chunks_exact(channels).enumerate() {
            for (c, &v) in px.iter().enumerate() {
                if let Some(d) = dst.get_mut(c * plane + pixel) {
                    *d = v;
                }
            }
        }
    }
    out
}

/// Splits `0..n` into `(train, validation)` index lists, each sorted ascending.
///
/// The indices are shuffled with `ChaCha8Rng::seed_from_u64(seed)` and the
/// first `round(n * fraction)` become the validation set, so the split depends
/// only on `n`, `fraction` and `seed`. `fraction` is meant to lie in `[0, 1)`;
/// values outside are clamped (NaN counts as 0), and the training list is never
/// left empty when `n >= 1`.
pub fn validation_split(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    // `as` saturates for floats, and the value is at most n anyway.
    let wanted = (n as f64 * fraction).round() as usize;
    let k = wanted.min(n - 1);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let (validation, train) = order.split_at(k);
    let mut train = train.to_vec();
    let mut validation = validation.to_vec();
    train.sort_unstable();
    validation.sort_unstable();
    (train, validation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `shared/data` in an ancestor of the crate, where the project keeps real data sets.
    fn shared_data() -> Option<PathBuf> {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|a| a.join("shared/data"))
            .find(|p| p.is_dir())
    }

    macro_rules! shared_or_skip {
        ($sub:expr) => {
            match shared_data().map(|d| d.join($sub)).filter(|p| p.exists()) {
                Some(p) => p,
                None => {
                    eprintln!("skipped: shared/data/{} not found above the crate", $sub);
                    return;
                }
            }
        };
    }

    fn table(columns: usize) -> DataKind {
        DataKind::Table {
            columns: (0..columns).map(|i| format!("x{i}")).collect(),
        }
    }

    fn gray(h: usize, w: usize) -> DataKind {
        DataKind::Image {
            channels: 1,
            height: h,
            width: w,
        }
    }

    /// An IDX u8 file of `n` images `h` x `w` with values 0, 1, 2, ...
    fn idx_u8_images(n: u32, h: u32, w: u32) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, 3];
        for d in [n, h, w] {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend((0..n * h * w).map(|i| i as u8));
        b
    }

    fn idx_u8_labels(labels: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, 1];
        b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        b.extend_from_slice(labels);
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn partition_matches_subsets_in_order() {
        let values: Vec<f32> = (0..20).map(|v| v as f32).collect();
        let kind = DataKind::Table {
            columns: vec!["a".into(), "b".into()],
        };
        let data = Dataset::new(values, kind, Some((0..10).collect())).unwrap();
        let held = [1, 4, 5, 9];
        let keep: Vec<usize> = (0..10).filter(|i| !held.contains(i)).collect();
        let (kept, out) = data.clone().partition(&held);
        assert_eq!(kept, data.subset(&keep));
        assert_eq!(out, data.subset(&held));
        let (all, none) = data.clone().partition(&[]);
        assert_eq!(all, data);
        assert!(none.is_empty());
    }

    #[test]
    fn dataset_new_checks_shape_labels_and_finiteness() {
        let d = Dataset::new(vec![1.0, 2.0, 3.0, 4.0], table(2), Some(vec![0, 1])).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.dim(), 2);
        assert_eq!(d.row(1), &[3.0, 4.0]);
        assert_eq!(d.labels(), Some(&[0, 1][..]));

        let e = Dataset::new(vec![1.0, 2.0, 3.0], table(2), None).unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        assert!(e.to_string().contains("whole examples"), "{e}");

        let e = Dataset::new(vec![1.0, 2.0], table(2), Some(vec![0, 1])).unwrap_err();
        assert!(e.to_string().contains("1 examples but 2 labels"), "{e}");

        let e = Dataset::new(vec![1.0; 3], table(0), None).unwrap_err();
        assert!(e.to_string().contains("at least one value"), "{e}");

        let e = Dataset::new(vec![1.0, 2.0, 3.0, f32::NAN], table(2), None).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("row 2, column 2") && m.contains("NaN"), "{m}");
        let e = Dataset::new(vec![f32::INFINITY, 2.0], table(2), None).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("row 1, column 1") && m.contains("infinite"),
            "{m}"
        );

        let huge = DataKind::Image {
            channels: usize::MAX,
            height: 2,
            width: 2,
        };
        assert!(Dataset::new(vec![], huge, None).is_err());
    }

    #[test]
    fn dataset_helpers() {
        let d = Dataset::new(
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            table(2),
            Some(vec![7, 8, 9]),
        )
        .unwrap();
        let s = d.subset(&[2, 0]);
        assert_eq!(s.values(), &[4.0, 5.0, 0.0, 1.0]);
        assert_eq!(s.labels(), Some(&[9, 7][..]));
        assert_eq!(d.value_range(), (0.0, 5.0));
        let empty = Dataset::new(vec![], table(3), None).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.value_range(), (0.0, 0.0));

        // The fingerprint sees values, shape and labels.
        let f = d.fingerprint();
        assert_eq!(f, d.clone().fingerprint());
        let mut changed = d.clone();
        changed.values_mut()[3] = 3.5;
        assert_ne!(f, changed.fingerprint());
        let relabeled = d.clone().with_labels(Some(vec![7, 8, 0])).unwrap();
        assert_ne!(f, relabeled.fingerprint());
        let unlabeled = d.clone().with_labels(None).unwrap();
        assert_ne!(f, unlabeled.fingerprint());
        let reshaped = Dataset::new(d.values().to_vec(), table(3), None).unwrap();
        assert_ne!(unlabeled.fingerprint(), reshaped.fingerprint());
    }

    #[test]
    fn kind_describe_and_serde() {
        assert_eq!(gray(28, 28).describe(), "28x28 grayscale images");
        let rgb = DataKind::Image {
            channels: 3,
            height: 8,
            width: 8,
        };
        assert_eq!(rgb.describe(), "8x8 RGB images");
        assert_eq!(rgb.dim(), 192);
        assert!(rgb.is_image());
        assert_eq!(table(13).describe(), "table of 13 columns");
        assert!(!table(1).is_image());
        let json = serde_json::to_string(&rgb).unwrap();
        assert_eq!(
            json,
            r#"{"type":"image","channels":3,"height":8,"width":8}"#
        );
        let back: DataKind = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rgb);
        let json = serde_json::to_string(&table(1)).unwrap();
        assert_eq!(json, r#"{"type":"table","columns":["x0"]}"#);
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{f}\""));
        }
        let e = "png".parse::<Format>().unwrap_err();
        assert!(matches!(e, Error::Setting { .. }));
        let m = e.to_string();
        assert!(
            m.contains("--format") && m.contains("idx-dir") && m.contains("images"),
            "{m}"
        );
        let o = LoadOptions {
            format: Some(Format::IdxDir),
            image_size: Some([28, 28]),
            ..LoadOptions::default()
        };
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"idx-dir\""), "{json}");
        assert_eq!(serde_json::from_str::<LoadOptions>(&json).unwrap(), o);
    }

    #[test]
    fn hwc_to_chw_reorders_each_example() {
        // 2 examples of 1x2 pixels with 3 channels.
        let hwc = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, //
            7.0, 8.0, 9.0, 10.0, 11.0, 12.0,
        ];
        let chw = hwc_to_chw(&hwc, 1, 2, 3);
        assert_eq!(
            chw,
            [
                1.0, 4.0, 2.0, 5.0, 3.0, 6.0, //
                7.0, 10.0, 8.0, 11.0, 9.0, 12.0
            ]
        );
    }

    #[test]
    fn load_digits_embedded() {
        let s = load("digits", &LoadOptions::default()).unwrap();
        assert_eq!(s.format, Format::Digits);
        assert_eq!(s.train.len(), 1500);
        assert_eq!(s.test.as_ref().unwrap().len(), 297);
        assert_eq!(s.train.kind(), &gray(8, 8));
        assert!(s.class_names.is_none());
        let (lo, hi) = s.train.value_range();
        assert!(lo >= 0.0 && hi <= 1.0 && hi > 0.9, "{lo} {hi}");
        // The first digit of the UCI file is a 0.
        assert_eq!(s.train.labels().unwrap()[0], 0);
        assert!(s.train.labels().unwrap().iter().all(|&l| l < 10));
    }

    #[test]
    fn digits_format_rejects_paths_and_options() {
        let o = LoadOptions {
            format: Some(Format::Digits),
            ..LoadOptions::default()
        };
        let e = load("/some/file.csv", &o).unwrap_err();
        assert!(
            matches!(e, Error::Setting { ref name, .. } if name == "--format"),
            "{e}"
        );
        let o = LoadOptions {
            label_column: Some("3".into()),
            ..LoadOptions::default()
        };
        let e = load("digits", &o).unwrap_err();
        assert!(
            matches!(e, Error::Setting { ref name, .. } if name == "--label-column"),
            "{e}"
        );
        assert!(e.to_string().contains("csv"), "{e}");
    }

    #[test]
    fn missing_path_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope.csv");
        let e = load(p.to_str().unwrap(), &LoadOptions::default()).unwrap_err();
        match e {
            Error::Read { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::NotFound),
            other => panic!("expected a read error, got {other}"),
        }
    }

    #[test]
    fn empty_and_unknown_files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, b"").unwrap();
        let e = load(empty.to_str().unwrap(), &LoadOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        assert!(e.to_string().contains("is empty"), "{e}");

        let odd = dir.path().join("data.bin");
        std::fs::write(&odd, b"hello world").unwrap();
        let e = load(odd.to_str().unwrap(), &LoadOptions::default()).unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, Error::Format { .. }));
        assert!(
            m.contains("cannot tell the format") && m.contains("data.bin"),
            "{m}"
        );
        assert!(m.contains("--format idx|npy|csv|images"), "{m}");

        // Forced to CSV, "hello world" is a header with no data rows.
        let o = LoadOptions {
            format: Some(Format::Csv),
            ..LoadOptions::default()
        };
        let e = load(odd.to_str().unwrap(), &o).unwrap_err();
        assert!(e.to_string().contains("no data rows"), "{e}");
    }

    #[test]
    fn detects_idx_by_magic_even_gzipped_and_attaches_labels() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("imgs.dat");
        std::fs::write(&images, gzip(&idx_u8_images(2, 3, 2))).unwrap();
        let s = load(images.to_str().unwrap(), &LoadOptions::default()).unwrap();
        assert_eq!(s.format, Format::Idx);
        assert_eq!(s.train.len(), 2);
        assert_eq!(s.train.kind(), &gray(3, 2));
        assert!(s.train.labels().is_none());
        assert!(s.test.is_none());

        let labels = dir.path().join("labels.idx");
        std::fs::write(&labels, idx_u8_labels(&[4, 2])).unwrap();
        let o = LoadOptions {
            labels: Some(labels.clone()),
            ..LoadOptions::default()
        };
        let s = load(images.to_str().unwrap(), &o).unwrap();
        assert_eq!(s.train.labels(), Some(&[4, 2][..]));

        // Wrong count: both files and both counts are named.
        std::fs::write(&labels, idx_u8_labels(&[4, 2, 1])).unwrap();
        let e = load(images.to_str().unwrap(), &o).unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        let m = e.to_string();
        assert!(m.contains("imgs.dat") && m.contains("labels.idx"), "{m}");
        assert!(m.contains("2 examples") && m.contains("3 labels"), "{m}");
    }

    #[test]
    fn options_that_do_not_apply_are_setting_errors() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "a,b\n1,2\n").unwrap();
        let o = LoadOptions {
            labels: Some(dir.path().join("l.idx")),
            ..LoadOptions::default()
        };
        let e = load(csv.to_str().unwrap(), &o).unwrap_err();
        assert!(
            matches!(e, Error::Setting { ref name, .. } if name == "--labels"),
            "{e}"
        );
        assert!(e.to_string().contains("idx and npy"), "{e}");

        let o = LoadOptions {
            image_size: Some([8, 8]),
            ..LoadOptions::default()
        };
        let e = load(csv.to_str().unwrap(), &o).unwrap_err();
        assert!(
            matches!(e, Error::Setting { ref name, .. } if name == "--image-size"),
            "{e}"
        );
        assert!(e.to_string().contains("images"), "{e}");

        let o = LoadOptions {
            image_size: Some([0, 8]),
            ..LoadOptions::default()
        };
        let e = load(csv.to_str().unwrap(), &o).unwrap_err();
        assert!(e.to_string().contains("0x8"), "{e}");

        let o = LoadOptions {
            format: Some(Format::Images),
            ..LoadOptions::default()
        };
        let e = load(csv.to_str().unwrap(), &o).unwrap_err();
        assert!(
            matches!(e, Error::Setting { ref name, .. } if name == "--format"),
            "{e}"
        );
        let o = LoadOptions {
            format: Some(Format::Csv),
            ..LoadOptions::default()
        };
        let e = load(dir.path().to_str().unwrap(), &o).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
    }

    #[test]
    fn idx_dir_with_both_spellings_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("train-images.idx3-ubyte"), idx_u8_images(3, 2, 2)).unwrap();
        std::fs::write(
            d.join("train-labels-idx1-ubyte.gz"),
            gzip(&idx_u8_labels(&[1, 2, 3])),
        )
        .unwrap();
        std::fs::write(
            d.join("t10k-images-idx3-ubyte.gz"),
            gzip(&idx_u8_images(1, 2, 2)),
        )
        .unwrap();
        let s = load(d.to_str().unwrap(), &LoadOptions::default()).unwrap();
        assert_eq!(s.format, Format::IdxDir);
        assert_eq!(s.train.len(), 3);
        assert_eq!(s.train.labels(), Some(&[1, 2, 3][..]));
        let test = s.test.unwrap();
        assert_eq!(test.len(), 1);
        assert!(test.labels().is_none());

        // Labels that do not match the images.
        std::fs::write(
            d.join("train-labels-idx1-ubyte.gz"),
            gzip(&idx_u8_labels(&[1])),
        )
        .unwrap();
        let e = load(d.to_str().unwrap(), &LoadOptions::default()).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("train-images.idx3-ubyte") && m.contains("train-labels"),
            "{m}"
        );
    }

    #[test]
    fn idx_dir_forced_without_train_images_lists_the_names() {
        let dir = tempfile::tempdir().unwrap();
        let o = LoadOptions {
            format: Some(Format::IdxDir),
            ..LoadOptions::default()
        };
        let e = load(dir.path().to_str().unwrap(), &o).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        let m = e.to_string();
        assert!(
            m.contains("train-images-idx3-ubyte") && m.contains("t10k-labels-idx1-ubyte"),
            "{m}"
        );
    }

    #[test]
    fn npy_and_csv_files_load_through_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        std::fs::write(
            &p,
            npy::tests::npy_bytes("<f4", &[2, 2], &[1.0f32, 2.0, 3.0, 4.0]),
        )
        .unwrap();
        let labels = dir.path().join("y.npy");
        std::fs::write(&labels, npy::tests::npy_bytes("<i8", &[2], &[1i64, 0])).unwrap();
        let o = LoadOptions {
            labels: Some(labels),
            ..LoadOptions::default()
        };
        let s = load(p.to_str().unwrap(), &o).unwrap();
        assert_eq!(s.format, Format::Npy);
        assert_eq!(s.train.values(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.train.labels(), Some(&[1, 0][..]));

        let p = dir.path().join("t.tsv");
        std::fs::write(&p, "a\tb\tkind\n1\t2\tcat\n3\t4\tdog\n").unwrap();
        let o = LoadOptions {
            label_column: Some("kind".into()),
            ..LoadOptions::default()
        };
        let s = load(p.to_str().unwrap(), &o).unwrap();
        assert_eq!(s.format, Format::Csv);
        assert_eq!(s.train.values(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            s.class_names,
            Some(vec!["cat".to_string(), "dog".to_string()])
        );
    }

    #[test]
    fn validation_split_examples() {
        assert_eq!(validation_split(0, 0.2, 1), (vec![], vec![]));
        assert_eq!(validation_split(1, 0.9, 1), (vec![0], vec![]));
        let (t, v) = validation_split(10, 0.0, 3);
        assert_eq!((t.len(), v.len()), (10, 0));
        let (t, v) = validation_split(10, 2.0, 3);
        assert_eq!((t.len(), v.len()), (1, 9));
        let (t, v) = validation_split(10, f64::NAN, 3);
        assert_eq!((t.len(), v.len()), (10, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            // A fixed seed keeps the "different seeds differ" property from
            // ever meeting one of its (astronomically rare) collisions by chance.
            rng_seed: proptest::test_runner::RngSeed::Fixed(20_240_601),
            ..ProptestConfig::default()
        })]

        #[test]
        fn split_is_a_reproducible_partition(n in 0usize..400, fraction in 0.0f64..1.0, seed: u64) {
            let (train, val) = validation_split(n, fraction, seed);
            prop_assert_eq!(train.len() + val.len(), n);
            if n >= 1 {
                prop_assert!(!train.is_empty());
                let expected = ((n as f64 * fraction).round() as usize).min(n - 1);
                prop_assert_eq!(val.len(), expected);
            }
            prop_assert!(train.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(val.windows(2).all(|w| w[0] < w[1]));
            let mut all: Vec<usize> = train.iter().chain(&val).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
            prop_assert_eq!(validation_split(n, fraction, seed), (train, val));
        }

        #[test]
        fn split_depends_on_the_seed(n in 20usize..400, fraction in 0.25f64..0.75, a: u64, b: u64) {
            prop_assume!(a != b);
            prop_assert_ne!(validation_split(n, fraction, a).1, validation_split(n, fraction, b).1);
        }

        #[test]
        fn gunzip_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = gunzip(Path::new("x.gz"), &bytes);
            let mut prefixed = vec![0x1f, 0x8b, 0x08, 0x00];
            prefixed.extend_from_slice(&bytes);
            let _ = gunzip(Path::new("x.gz"), &prefixed);
        }
    }

    #[test]
    fn gunzip_round_trip_and_corrupt_stream() {
        let data = b"some bytes to compress".repeat(10);
        let gz = gzip(&data);
        assert!(is_gzip(&gz));
        assert_eq!(gunzip(Path::new("a.gz"), &gz).unwrap(), data);
        let e = gunzip(Path::new("a.gz"), &gz[..gz.len() / 2]).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        assert!(
            e.to_string().contains("a.gz") && e.to_string().contains("gzip"),
            "{e}"
        );
    }

    #[test]
    fn real_mnist_folder() {
        let dir = shared_or_skip!("mnist");
        let s = load(dir.to_str().unwrap(), &LoadOptions::default()).unwrap();
        assert_eq!(s.format, Format::IdxDir);
        assert_eq!(s.train.len(), 60_000);
        assert_eq!(s.train.kind(), &gray(28, 28));
        let test = s.test.as_ref().unwrap();
        assert_eq!(test.len(), 10_000);
        assert_eq!(s.train.labels().unwrap()[0], 5);
        assert_eq!(test.labels().unwrap().len(), 10_000);
        assert!(s.train.labels().unwrap().iter().all(|&l| l < 10));
        let (lo, hi) = s.train.value_range();
        assert_eq!((lo, hi), (0.0, 1.0));
    }

    #[test]
    fn real_digits_csv_matches_embedded() {
        let path = shared_or_skip!("digits/digits.csv.gz");
        // A gzip-compressed CSV is read like a plain one; its name gives the extension.
        let o = LoadOptions {
            label_column: Some("64".into()),
            ..LoadOptions::default()
        };
        let s = load(path.to_str().unwrap(), &o).unwrap();
        assert_eq!(s.format, Format::Csv);
        assert_eq!(s.train.len(), 1797);
        assert_eq!(s.train.dim(), 64);
        let digits = load("digits", &LoadOptions::default()).unwrap();
        assert_eq!(
            &s.train.labels().unwrap()[..1500],
            digits.train.labels().unwrap()
        );
        let first: Vec<f32> = s.train.row(0).iter().map(|v| v / 16.0).collect();
        assert_eq!(first.as_slice(), digits.train.row(0));
    }

    #[test]
    fn real_tabular_csvs() {
        let dir = shared_or_skip!("tabular");
        let s = load(
            dir.join("breast_cancer.csv").to_str().unwrap(),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!((s.train.len(), s.train.dim()), (569, 30));
        assert_eq!(
            s.class_names,
            Some(vec!["malignant".into(), "benign".into()])
        );
        let labels = s.train.labels().unwrap();
        assert!(labels.iter().all(|&l| l < 2));
        assert_eq!(labels[0], 0);

        let s = load(
            dir.join("wine_data.csv").to_str().unwrap(),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!((s.train.len(), s.train.dim()), (178, 13));
        assert_eq!(s.train.kind().describe(), "table of 13 columns");
        assert_eq!(
            s.class_names,
            Some(vec!["class_0".into(), "class_1".into(), "class_2".into()])
        );
        let labels = s.train.labels().unwrap();
        assert_eq!(
            (labels.iter().min(), labels.iter().max()),
            (Some(&0), Some(&2))
        );
        assert!(s.test.is_none());
    }
}
