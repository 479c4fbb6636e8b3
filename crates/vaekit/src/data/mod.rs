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

pub mod columns;
mod dataset;
pub(crate) mod embedded;
mod idx;
mod images;
pub mod mask;
pub(crate) mod npy;
pub mod prepare;
mod scaler;
pub mod schema;
mod table;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

pub use columns::{ColumnOptions, TableColumns};
pub use dataset::Dataset;
pub use scaler::{Scaler, ScalerKind};
pub use table::{MISSING_PLACEHOLDER, csv_delimiter, load_with_missing};

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
    /// CSV only: column types, dropped columns, missing-value markers.
    #[serde(default)]
    pub columns: ColumnOptions,
    /// CSV only: lines at the top of the file to ignore (a title line).
    #[serde(default)]
    pub skip_lines: usize,
    /// CSV only: the field delimiter, instead of the one sniffed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// CSV only: how the cells are read (a run's own reading when it
    /// reads another file).
    #[serde(skip)]
    pub reading: TableReading,
}

/// How a CSV table's cells are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum TableReading {
    /// Numbers alone when every cell is one (and no column option asks for
    /// types); typed columns fitted on the file otherwise.
    #[default]
    Auto,
    /// Numbers alone: a run trained on a table of numbers.
    Numbers,
    /// With a run's typed columns.
    Typed(TableColumns),
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
    /// The typed columns of a table read through them (see [`columns`]).
    pub columns: Option<TableColumns>,
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
        columns: None,
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
                let bytes = table::skip_lines(bytes, options.skip_lines);
                let cells = match &options.reading {
                    TableReading::Auto => table::Cells::Auto(&options.columns),
                    TableReading::Numbers => table::Cells::Numbers(table::MissingCells::Refuse),
                    TableReading::Typed(t) => table::Cells::Typed(t),
                };
                let t = table::parse_csv(
                    path,
                    &bytes,
                    table::delimiter_for(path, &bytes, options.delimiter),
                    options.label_column.as_deref(),
                    cells,
                )?;
                let mut s = source(format, t.dataset, None, t.class_names);
                s.columns = t.columns;
                return Ok(s);
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
    if options.columns != ColumnOptions::default() && format != Format::Csv {
        return Err(Error::setting(
            "--column-types",
            format!(
                "column types, --drop-columns and --missing-values only apply to CSV tables (format csv), not to {format} data"
            ),
        ));
    }
    if options.delimiter.is_some() && format != Format::Csv {
        return Err(Error::setting(
            "--delimiter",
            format!(
                "a field delimiter only applies to CSV tables (format csv), not to {format} data"
            ),
        ));
    }
    if options.skip_lines > 0 && format != Format::Csv {
        return Err(Error::setting(
            "--skip-lines",
            format!("skipping lines only applies to CSV tables (format csv), not to {format} data"),
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
mod tests;
