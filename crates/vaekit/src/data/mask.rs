//! Which entries of a data set are missing: built from a rule (`top-half`,
//! `left-half`, `random:P`), read from a file, or taken from a table's empty
//! cells, always as an explicit mask beside finite values.

use std::path::Path;
use std::str::FromStr;

use rand::RngExt;

use crate::data::{DataKind, Dataset, LoadOptions, load};
use crate::error::{Error, Result};
use crate::random::{self, Stream};

/// Row-major flags, one per value of a data set, `true` where the value is
/// missing.
///
/// # Shapes
///
/// `rows() * dim()` flags; example `i` is `missing()[i * dim .. (i + 1) * dim]`,
/// laid out like [`Dataset`]'s values (channel-first for images).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    missing: Vec<bool>,
    dim: usize,
}

impl Mask {
    /// A mask of whole rows of `dim` flags.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when `dim` is 0 or `missing.len()` is not a multiple of it.
    pub fn new(missing: Vec<bool>, dim: usize) -> Result<Mask> {
        if dim == 0 || !missing.len().is_multiple_of(dim) {
            return Err(Error::Data(format!(
                "a mask of {} flags does not divide into rows of {dim}",
                missing.len()
            )));
        }
        Ok(Mask { missing, dim })
    }

    /// A mask with nothing missing.
    pub fn none(rows: usize, dim: usize) -> Mask {
        Mask {
            missing: vec![false; rows * dim],
            dim: dim.max(1),
        }
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.missing.len() / self.dim
    }

    /// All flags, row-major.
    pub fn missing(&self) -> &[bool] {
        &self.missing
    }

    /// The flags of row `i`.
    ///
    /// # Panics
    ///
    /// When `i >= rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[bool] {
        &self.missing[i * self.dim..(i + 1) * self.dim]
    }

    /// Number of missing values.
    pub fn count(&self) -> usize {
        self.missing.iter().filter(|&&m| m).count()
    }

    /// Share of the values that are missing (0 for an empty mask).
    pub fn fraction(&self) -> f64 {
        self.count() as f64 / self.missing.len().max(1) as f64
    }

    /// Missing where either mask says so.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the two masks differ in shape.
    pub fn union(&self, other: &Mask) -> Result<Mask> {
        if self.dim != other.dim || self.missing.len() != other.missing.len() {
            return Err(Error::Data(format!(
                "cannot join a mask of {} rows of {} with one of {} rows of {}",
                self.rows(),
                self.dim,
                other.rows(),
                other.dim
            )));
        }
        let missing = self
            .missing
            .iter()
            .zip(&other.missing)
            .map(|(a, b)| *a || *b)
            .collect();
        Ok(Mask {
            missing,
            dim: self.dim,
        })
    }

    /// The first `rows` rows (all of them when there are fewer).
    pub fn head(&self, rows: usize) -> Mask {
        Mask {
            missing: self.missing[..rows.min(self.rows()) * self.dim].to_vec(),
            dim: self.dim,
        }
    }
}

/// A rule that hides values, as written after `--mask` (and in settings
/// files, as the same text).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum MaskSpec {
    /// `top-half`: the upper `height / 2` rows of pixels of every image (all channels).
    TopHalf,
    /// `left-half`: the left `width / 2` columns of pixels of every image.
    LeftHalf,
    /// `random:P`: each pixel (every channel of it) or table cell is missing
    /// independently with probability P, 0 < P < 1.
    Random(f64),
}

impl FromStr for MaskSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<MaskSpec> {
        let bad = |why: String| Error::setting("--mask", why);
        match s {
            "top-half" => Ok(MaskSpec::TopHalf),
            "left-half" => Ok(MaskSpec::LeftHalf),
            _ => {
                let Some(p) = s.strip_prefix("random:") else {
                    return Err(bad(format!(
                        "unknown mask '{s}'; use top-half, left-half or random:P (such as random:0.2)"
                    )));
                };
                match p.trim().parse::<f64>() {
                    Ok(p) if p > 0.0 && p < 1.0 => Ok(MaskSpec::Random(p)),
                    Ok(p) => Err(bad(format!(
                        "random:{p} is not a probability strictly between 0 and 1; give the share of values to hide, such as random:0.2"
                    ))),
                    Err(_) => Err(bad(format!(
                        "'{p}' in '{s}' is not a number; write random:P with P between 0 and 1, such as random:0.2"
                    ))),
                }
            }
        }
    }
}

impl TryFrom<String> for MaskSpec {
    type Error = Error;

    fn try_from(text: String) -> Result<MaskSpec> {
        text.parse()
    }
}

impl From<MaskSpec> for String {
    fn from(spec: MaskSpec) -> String {
        spec.to_string()
    }
}

impl std::fmt::Display for MaskSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaskSpec::TopHalf => f.write_str("top-half"),
            MaskSpec::LeftHalf => f.write_str("left-half"),
            MaskSpec::Random(p) => write!(f, "random:{p}"),
        }
    }
}

impl MaskSpec {
    /// Refuses a rule that cannot apply to data shaped like `kind` (a half
    /// of an image, for a table), naming `flag` as the setting to change.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for `top-half` or `left-half` on a table.
    pub fn check_fits(&self, kind: &DataKind, flag: &str) -> Result<()> {
        match self {
            MaskSpec::TopHalf | MaskSpec::LeftHalf if !kind.is_image() => Err(Error::setting(
                flag,
                format!(
                    "{self} cuts images, but the data is a {}; use random:P for tables",
                    kind.describe()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The mask of `rows` examples shaped like `kind`. Random masks come from
    /// the sampling stream of `seed`, so the same seed hides the same values.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for `top-half` or `left-half` on a table, which has
    /// no picture to cut in half.
    pub fn build(&self, kind: &DataKind, rows: usize, seed: u64) -> Result<Mask> {
        let dim = kind.dim();
        let (channels, height, width) = match *kind {
            DataKind::Image {
                channels,
                height,
                width,
            } => (channels, height, width),
            DataKind::Table { .. } => (1, 1, dim),
        };
        self.check_fits(kind, "--mask")?;
        let pixel_mask: Vec<bool> = match self {
            MaskSpec::TopHalf => (0..height * width)
                .map(|i| i / width < height / 2)
                .collect(),
            MaskSpec::LeftHalf => (0..height * width).map(|i| i % width < width / 2).collect(),
            MaskSpec::Random(p) => {
                let mut rng = random::seeded(seed, Stream::Sample);
                let pixels = rows * height * width;
                let drawn: Vec<bool> = (0..pixels).map(|_| rng.random::<f64>() < *p).collect();
                return Ok(Mask {
                    missing: spread_channels(&drawn, channels, height * width),
                    dim,
                });
            }
        };
        let one = spread_channels(&pixel_mask, channels, height * width);
        Ok(Mask {
            missing: one.repeat(rows),
            dim,
        })
    }
}

/// Pixel flags (`plane` per example) repeated over `channels` channel planes.
fn spread_channels(pixels: &[bool], channels: usize, plane: usize) -> Vec<bool> {
    pixels
        .chunks(plane.max(1))
        .flat_map(|example| std::iter::repeat_n(example, channels).flatten().copied())
        .collect()
}

/// Reads a mask file for `rows` examples shaped like `kind`: nonzero = missing.
///
/// * a `.png` picture of the images' height and width (any colour type; a
///   pixel that is not black is missing, in every channel), one mask for every example;
/// * any array vaekit reads as data (NPY, IDX, CSV of 0/1) holding either one
///   mask (the values of one example, or `height * width` values for every
///   channel at once) for every example, or one per example (`rows` masks in
///   a row). An NPY mask of shape `(28, 28)`, `(1, 28, 28)` or `(n, 28, 28)` fits
///   28x28 images; `(n, columns)` or `(1, columns)` fits a table.
///
/// # Errors
///
/// [`Error::Setting`] naming `--mask-file` when the mask does not fit the
/// data's shape; read and format errors as for data files.
pub fn read_mask_file(path: &Path, kind: &DataKind, rows: usize) -> Result<Mask> {
    let dim = kind.dim();
    let (channels, plane) = match *kind {
        DataKind::Image {
            channels,
            height,
            width,
        } => (channels, height * width),
        DataKind::Table { .. } => (1, dim),
    };
    let is_png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let flags: Vec<bool> = if is_png {
        let DataKind::Image { height, width, .. } = *kind else {
            return Err(Error::setting(
                "--mask-file",
                format!(
                    "{} is a picture, but the data is a {}; give a CSV or NPY mask of 0/1 per cell",
                    path.display(),
                    kind.describe()
                ),
            ));
        };
        let bytes = crate::io::read_file(path)?;
        let picture = image::load_from_memory(&bytes)
            .map_err(|e| Error::format(path, format!("is not a readable picture ({e})")))?
            .to_luma8();
        if (picture.height() as usize, picture.width() as usize) != (height, width) {
            return Err(Error::setting(
                "--mask-file",
                format!(
                    "{} is {}x{} pixels, but the images are {height}x{width}; draw the mask at the images' size",
                    path.display(),
                    picture.height(),
                    picture.width()
                ),
            ));
        }
        picture.pixels().map(|p| p.0[0] != 0).collect()
    } else {
        let source = load(&path.to_string_lossy(), &LoadOptions::default())?;
        let mut values: Dataset = source.train;
        if let Some(test) = &source.test {
            values = values.concat(test)?;
        }
        values.values().iter().map(|&v| v != 0.0).collect()
    };
    let n = flags.len();
    let missing = if n == dim {
        flags.repeat(rows)
    } else if channels > 1 && n == plane {
        spread_channels(&flags, channels, plane).repeat(rows)
    } else if n == rows * dim {
        flags
    } else if channels > 1 && n == rows * plane {
        spread_channels(&flags, channels, plane)
    } else {
        return Err(Error::setting(
            "--mask-file",
            format!(
                "{} holds {n} values, which fits neither one mask of the data's shape ({}, {dim} values) nor one per example ({rows} x {dim} values)",
                path.display(),
                kind.describe()
            ),
        ));
    };
    Ok(Mask { missing, dim })
}

/// The mean of every column of `reference`, accumulated in f64.
///
/// # Shapes
/// - returns `reference.dim()` values
pub fn column_means(reference: &Dataset) -> Vec<f32> {
    let dim = reference.dim();
    let mut sum = vec![0.0f64; dim];
    for row in reference.values().chunks_exact(dim.max(1)) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let n = reference.len().max(1) as f64;
    sum.iter().map(|s| (s / n) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(h: usize, w: usize) -> DataKind {
        DataKind::Image {
            channels: 1,
            height: h,
            width: w,
        }
    }

    fn table(cols: usize) -> DataKind {
        DataKind::Table {
            columns: (0..cols).map(|i| format!("c{i}")).collect(),
        }
    }

    #[test]
    fn halves_hide_what_they_say() {
        // 5x4 image: the top half is the first 2 rows (5 / 2), the left half the first 2 columns.
        let m = MaskSpec::TopHalf.build(&gray(5, 4), 2, 0).unwrap();
        assert_eq!((m.rows(), m.dim(), m.count()), (2, 20, 16));
        for r in 0..2 {
            for (i, &missing) in m.row(r).iter().enumerate() {
                assert_eq!(missing, i / 4 < 2, "pixel {i}");
            }
        }
        let m = MaskSpec::LeftHalf.build(&gray(5, 4), 1, 0).unwrap();
        let expect: Vec<bool> = (0..20).map(|i| i % 4 < 2).collect();
        assert_eq!(m.missing(), expect.as_slice());
        // RGB: the same pixels in every channel plane.
        let rgb = DataKind::Image {
            channels: 3,
            height: 2,
            width: 2,
        };
        let m = MaskSpec::TopHalf.build(&rgb, 1, 0).unwrap();
        assert_eq!(
            m.missing(),
            &[
                true, true, false, false, true, true, false, false, true, true, false, false
            ]
        );
        let e = MaskSpec::TopHalf.build(&table(3), 2, 0).unwrap_err();
        assert!(e.to_string().contains("random:P"), "{e}");
    }

    #[test]
    fn random_mask_hides_about_p_reproducibly() {
        let m = MaskSpec::Random(0.2).build(&table(10), 2000, 7).unwrap();
        // 20,000 cells: the share is within 4 standard errors (0.0028 each) of 0.2.
        assert!((m.fraction() - 0.2).abs() < 0.012, "{}", m.fraction());
        assert_eq!(m, MaskSpec::Random(0.2).build(&table(10), 2000, 7).unwrap());
        assert_ne!(m, MaskSpec::Random(0.2).build(&table(10), 2000, 8).unwrap());
        // Colour images: a pixel is missing in all its channels or none.
        let rgb = DataKind::Image {
            channels: 3,
            height: 4,
            width: 4,
        };
        let m = MaskSpec::Random(0.5).build(&rgb, 3, 1).unwrap();
        for r in 0..3 {
            let row = m.row(r);
            for p in 0..16 {
                assert_eq!(row[p], row[16 + p]);
                assert_eq!(row[p], row[32 + p]);
            }
        }
    }

    #[test]
    fn specs_parse_and_refuse() {
        assert_eq!("top-half".parse::<MaskSpec>().unwrap(), MaskSpec::TopHalf);
        assert_eq!(
            "random:0.25".parse::<MaskSpec>().unwrap(),
            MaskSpec::Random(0.25)
        );
        for bad in ["random:1.5", "random:0", "random:1", "random:x", "bottom"] {
            let e = bad.parse::<MaskSpec>().unwrap_err();
            assert!(
                matches!(e, Error::Setting { ref name, .. } if name == "--mask"),
                "{bad}: {e}"
            );
        }
        assert_eq!(MaskSpec::Random(0.2).to_string(), "random:0.2");
    }

    #[test]
    fn mask_files_png_and_npy() {
        let dir = tempfile::tempdir().unwrap();
        // A 2x3 PNG: white at (0, 1) and (1, 2).
        let mut picture = image::GrayImage::new(3, 2);
        picture.put_pixel(1, 0, image::Luma([255]));
        picture.put_pixel(2, 1, image::Luma([9]));
        let png = dir.path().join("m.png");
        picture.save(&png).unwrap();
        let m = read_mask_file(&png, &gray(2, 3), 2).unwrap();
        let one = [false, true, false, false, false, true];
        assert_eq!(m.missing(), [one, one].concat().as_slice());
        let e = read_mask_file(&png, &gray(3, 3), 2).unwrap_err();
        assert!(e.to_string().contains("--mask-file"), "{e}");

        // A CSV mask per row of a 2-column table.
        let csv = dir.path().join("m.csv");
        std::fs::write(&csv, "0,1\n1,0\n0,0\n").unwrap();
        let m = read_mask_file(&csv, &table(2), 3).unwrap();
        assert_eq!(m.missing(), &[false, true, true, false, false, false]);
        let e = read_mask_file(&csv, &table(2), 4).unwrap_err();
        assert!(
            matches!(e, Error::Setting { ref name, .. } if name == "--mask-file"),
            "{e}"
        );
        assert!(e.to_string().contains("6 values"), "{e}");
    }

    #[test]
    fn union_and_head() {
        let a = Mask::new(vec![true, false, false, false], 2).unwrap();
        let b = Mask::new(vec![false, false, false, true], 2).unwrap();
        assert_eq!(a.union(&b).unwrap().missing(), &[true, false, false, true]);
        assert_eq!(a.head(1).missing(), &[true, false]);
        assert!(a.union(&Mask::none(1, 2)).is_err());
        assert!(Mask::new(vec![true; 3], 2).is_err());
    }
}
