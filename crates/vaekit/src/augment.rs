//! Synthetic training data: examples drawn from a model's prior, written in a
//! format vaekit (and other tools) read as data, with their classes.
//!
//! A conditional model (`--model cvae`) gives examples of a chosen class or of
//! every class, with labels; an unconditional one gives unlabelled examples.
//! The drawing is [`sample_prior`]'s; this module only chooses what to draw and
//! writes it as a data set rather than as a picture:
//!
//! * `idx`: a folder laid out like MNIST's (`train-images-idx3-ubyte`, and
//!   `train-labels-idx1-ubyte` when labelled). Images in `[0, 1]` are stored as
//!   u8 (times 255, as MNIST is); tables as f32 in their original units.
//! * `images`: a folder of PNG files, one per example, in one subfolder per
//!   class when labelled (the layout the image loader reads classes from).
//! * `npy`: a float32 array (`[n, h, w]`, `[n, h, w, 3]` or `[n, columns]`) and,
//!   when labelled, an int64 labels array beside it, named `<stem>-labels.npy`.
//! * `csv`: a header row, one row per example, then a `label` column when
//!   labelled ([`write_samples`]'s CSV).
//!
//! Tables are written in their original units through the run's fitted scaler.
//! Folders are filled under a temporary name beside the destination and
//! renamed into place at the end, so an error leaves no partial output.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::ImageEncoder;
use npyz::WriterBuilder;
use serde::Serialize;

use crate::data::{DataKind, Dataset, Format};
use crate::error::{Error, Result};
use crate::generate::{Samples, Units, sample_prior, write_samples};
use crate::io::write_atomic;
use crate::model::Vae;

/// The output formats of [`write_augmented`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AugmentFormat {
    /// A folder of IDX files named as MNIST ships them.
    Idx,
    /// A folder of PNG images, in class subfolders when labelled.
    Images,
    /// A `.npy` array, with a `-labels.npy` array beside it when labelled.
    Npy,
    /// A `.csv` table with a `label` column when labelled.
    Csv,
}

impl AugmentFormat {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idx => "idx",
            Self::Images => "images",
            Self::Npy => "npy",
            Self::Csv => "csv",
        }
    }

    /// The format that matches a run's input: IDX for IDX files and folders,
    /// images for image folders, CSV for tables, NPY for NPY arrays and the
    /// embedded digits (whose values then come back exactly).
    pub fn for_input(format: Format) -> AugmentFormat {
        match format {
            Format::Idx | Format::IdxDir => Self::Idx,
            Format::Images => Self::Images,
            Format::Csv => Self::Csv,
            Format::Npy | Format::Digits => Self::Npy,
        }
    }

    /// The format to write `path` in: `given` when set, else `.csv` or `.npy`
    /// by the name, else the run's input format.
    pub fn choose(path: &Path, given: Option<AugmentFormat>, input: Format) -> AugmentFormat {
        given.unwrap_or_else(|| match crate::data::extension(path).as_str() {
            "csv" => Self::Csv,
            "npy" => Self::Npy,
            _ => Self::for_input(input),
        })
    }
}

impl std::fmt::Display for AugmentFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AugmentFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        [Self::Idx, Self::Images, Self::Npy, Self::Csv]
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown format '{s}'; use idx, images, npy or csv"))
    }
}

/// Which examples to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// `n` of one class (conditional models).
    Class(u32),
    /// `n` of every class (conditional models).
    PerClass,
    /// `n` unlabelled examples (unconditional models); for a conditional model
    /// this is [`Draw::PerClass`].
    Any,
}

/// Draws the examples: [`sample_prior`] after checking that `draw` suits the
/// model.
///
/// # Errors
///
/// [`Error::Setting`] for `--per-class` or `--class` with an unconditional
/// model, a class the model does not have, or a bad count.
pub fn draw_examples(model: &Vae, n: usize, draw: Draw, seed: u64) -> Result<Samples> {
    let class = match (draw, model.classes()) {
        (Draw::PerClass, None) => {
            return Err(Error::setting(
                "--per-class",
                "the model is not conditional on a label, so it cannot draw examples of a class; \
                 train it with --model cvae on labelled data, or drop --per-class",
            ));
        }
        (Draw::Class(c), _) => Some(c),
        _ => None,
    };
    sample_prior(model, n, seed, class)
}

/// Checks that `format` can be written at `path`, before any drawing: folder
/// formats need a destination that does not exist or is an empty folder, file
/// formats a name ending in their extension.
pub fn check_destination(path: &Path, format: AugmentFormat) -> Result<()> {
    let ext = crate::data::extension(path);
    match format {
        AugmentFormat::Csv if ext != "csv" => Err(Error::setting(
            "--out",
            format!(
                "a CSV output needs a name ending in .csv, not {}",
                path.display()
            ),
        )),
        AugmentFormat::Npy if ext != "npy" => Err(Error::setting(
            "--out",
            format!(
                "an NPY output needs a name ending in .npy, not {}",
                path.display()
            ),
        )),
        AugmentFormat::Idx | AugmentFormat::Images
            if path.is_file() || std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some()) =>
        {
            Err(Error::setting(
                "--out",
                format!(
                    "{} already exists; {format} output is a new folder, so give a new name or remove it",
                    path.display()
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Writes drawn examples as a data set in `format` at `path` (see the module
/// documentation for each layout). `kind` and `scaler` are the run's;
/// `class_names` name the class folders of an image output where they are
/// known, sorted and usable as folder names (otherwise class numbers are).
///
/// # Errors
///
/// [`Error::Setting`] when the destination does not suit the format
/// ([`check_destination`]) or an image format is asked of a table;
/// [`Error::Write`] when writing fails (nothing is left behind).
pub fn write_augmented<'a>(
    path: &Path,
    format: AugmentFormat,
    samples: &Samples,
    kind: &DataKind,
    units: impl Into<Units<'a>>,
    class_names: Option<&[String]>,
) -> Result<()> {
    check_destination(path, format)?;
    let units = units.into();
    let mut values = samples.values.clone();
    units.inverse(&mut values);
    let labels = samples.labels.as_deref();
    match format {
        AugmentFormat::Csv => write_samples(path, samples, kind, units),
        AugmentFormat::Npy => write_npy(path, &values, kind, labels),
        AugmentFormat::Idx => in_new_folder(path, |dir| write_idx(dir, &values, kind, labels)),
        AugmentFormat::Images => {
            let DataKind::Image {
                channels,
                height,
                width,
            } = *kind
            else {
                return Err(Error::setting(
                    "--format",
                    "the run was trained on a table, which has no pictures; write idx, npy or csv",
                ));
            };
            let folders = class_folders(samples, class_names);
            in_new_folder(path, |dir| {
                write_pngs(dir, &values, [channels, height, width], labels, &folders)
            })
        }
    }
}

/// Writes examples of the run's data (for instance the labelled subset a
/// probe trained on) the way [`write_augmented`] writes drawn ones, so that a
/// model can be trained on exactly them.
pub fn write_dataset<'a>(
    path: &Path,
    format: AugmentFormat,
    data: &Dataset,
    units: impl Into<Units<'a>>,
    class_names: Option<&[String]>,
) -> Result<()> {
    let samples = Samples {
        values: data.values().to_vec(),
        labels: data.labels().map(<[u32]>::to_vec),
        columns: 1,
        count: data.len(),
    };
    write_augmented(path, format, &samples, data.kind(), units, class_names)
}

/// Fills a temporary folder beside `path`, then renames it to `path`; on an
/// error the temporary folder is removed.
fn in_new_folder(path: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "augment".into());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::write(&tmp, e))?;
    let result = fill(&tmp).and_then(|()| {
        if path.is_dir() {
            // An empty folder (checked before): replaced by the new one.
            std::fs::remove_dir(path).map_err(|e| Error::write(path, e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| Error::write(path, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Channel-first `[c, h, w]` values to channel-last `[h, w, c]`.
fn chw_to_hwc(values: &[f32], [c, h, w]: [usize; 3]) -> Vec<f32> {
    let plane = h * w;
    (0..plane)
        .flat_map(|p| (0..c).map(move |ch| values[ch * plane + p]))
        .collect()
}

/// Per-example rows in the layout a file format stores: channel-last for
/// multi-channel images, as they are otherwise.
fn channel_last(values: &[f32], kind: &DataKind) -> Vec<f32> {
    match *kind {
        DataKind::Image {
            channels,
            height,
            width,
        } if channels > 1 => values
            .chunks_exact(kind.dim())
            .flat_map(|x| chw_to_hwc(x, [channels, height, width]))
            .collect(),
        _ => values.to_vec(),
    }
}

/// The per-example dimensions a file stores: `[h, w]`, `[h, w, c]` or `[columns]`.
fn example_dims(kind: &DataKind) -> Vec<usize> {
    match *kind {
        DataKind::Image {
            channels: 1,
            height,
            width,
        } => vec![height, width],
        DataKind::Image {
            channels,
            height,
            width,
        } => vec![height, width, channels],
        DataKind::Table { .. } => vec![kind.dim()],
    }
}

fn idx_header(ty: u8, dims: &[usize]) -> Vec<u8> {
    let mut bytes = vec![0, 0, ty, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes
}

fn write_idx(dir: &Path, values: &[f32], kind: &DataKind, labels: Option<&[u32]>) -> Result<()> {
    let n = values.len() / kind.dim().max(1);
    let mut dims = vec![n];
    dims.extend(example_dims(kind));
    let stored = channel_last(values, kind);
    // Images in [0, 1] as u8 like MNIST (the loader divides u8 by 255);
    // anything else as f32, kept as written.
    let unit = kind.is_image() && stored.iter().all(|v| (0.0..=1.0).contains(v));
    let mut bytes = idx_header(if unit { 0x08 } else { 0x0D }, &dims);
    if unit {
        bytes.extend(stored.iter().map(|&v| to_u8(v)));
    } else {
        bytes.extend(stored.iter().flat_map(|v| v.to_be_bytes()));
    }
    write_atomic(&dir.join("train-images-idx3-ubyte"), &bytes)?;
    if let Some(labels) = labels {
        // u8 like MNIST's labels where they fit, else i32.
        let mut bytes;
        if labels.iter().all(|&l| l <= u32::from(u8::MAX)) {
            bytes = idx_header(0x08, &[labels.len()]);
            bytes.extend(labels.iter().map(|&l| l as u8));
        } else {
            bytes = idx_header(0x0C, &[labels.len()]);
            bytes.extend(labels.iter().flat_map(|&l| (l as i32).to_be_bytes()));
        }
        write_atomic(&dir.join("train-labels-idx1-ubyte"), &bytes)?;
    }
    Ok(())
}

/// The labels file written beside an NPY output: `<stem>-labels.npy`.
pub fn npy_labels_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-labels.npy"))
}

fn write_npy(path: &Path, values: &[f32], kind: &DataKind, labels: Option<&[u32]>) -> Result<()> {
    let n = values.len() / kind.dim().max(1);
    let shape: Vec<u64> = std::iter::once(n)
        .chain(example_dims(kind))
        .map(|d| d as u64)
        .collect();
    if let Some(labels) = labels {
        crate::io::write_atomic_with(&npy_labels_path(path), |w| {
            let mut out = npyz::WriteOptions::<i64>::new()
                .default_dtype()
                .shape(&[labels.len() as u64])
                .writer(w)
                .begin_nd()?;
            out.extend(labels.iter().map(|&l| i64::from(l)))?;
            out.finish()
        })?;
    }
    crate::io::write_atomic_with(path, |w| {
        let mut out = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&shape)
            .writer(w)
            .begin_nd()?;
        out.extend(channel_last(values, kind))?;
        out.finish()
    })
}

/// Folder names of the classes: the run's class names when they are sorted,
/// distinct and safe as folder names (so the image loader, which numbers
/// folders in sorted order, numbers them the same), else the class numbers,
/// zero-padded so that they sort in numeric order.
fn class_folders(samples: &Samples, class_names: Option<&[String]>) -> Vec<String> {
    let count = samples
        .labels
        .as_ref()
        .and_then(|l| l.iter().max())
        .map_or(0, |&m| m as usize + 1);
    if let Some(names) = class_names
        && names.len() >= count
        && names.windows(2).all(|w| w[0] < w[1])
        && names
            .iter()
            .all(|n| !n.is_empty() && !n.starts_with('.') && !n.contains(['/', '\\', '\0']))
    {
        return names.to_vec();
    }
    let width = count.saturating_sub(1).to_string().len();
    (0..count).map(|c| format!("{c:0width$}")).collect()
}

fn write_pngs(
    dir: &Path,
    values: &[f32],
    [channels, height, width]: [usize; 3],
    labels: Option<&[u32]>,
    folders: &[String],
) -> Result<()> {
    let dim = channels * height * width;
    let digits = (values.len() / dim.max(1)).to_string().len().max(5);
    let color = match channels {
        1 => image::ExtendedColorType::L8,
        3 => image::ExtendedColorType::Rgb8,
        c => {
            return Err(Error::setting(
                "--format",
                format!("images with {c} channels cannot be PNG files; write idx or npy"),
            ));
        }
    };
    for (i, example) in values.chunks_exact(dim).enumerate() {
        let folder = match labels {
            Some(labels) => dir.join(&folders[labels[i] as usize]),
            None => dir.to_path_buf(),
        };
        std::fs::create_dir_all(&folder).map_err(|e| Error::write(&folder, e))?;
        let path = folder.join(format!("{i:0digits$}.png"));
        let pixels: Vec<u8> = chw_to_hwc(example, [channels, height, width])
            .into_iter()
            .map(to_u8)
            .collect();
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(&pixels, width as u32, height as u32, color)
            .map_err(|e| {
                Error::write(&path, std::io::Error::other(format!("PNG encoding: {e}")))
            })?;
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .map_err(|e| Error::write(&path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LoadOptions, ScalerKind, load};

    fn samples(values: Vec<f32>, labels: Option<Vec<u32>>, dim: usize) -> Samples {
        let count = values.len() / dim;
        Samples {
            values,
            labels,
            columns: 1,
            count,
        }
    }

    fn gray(h: usize, w: usize) -> DataKind {
        DataKind::Image {
            channels: 1,
            height: h,
            width: w,
        }
    }

    /// Six 2x3 images of classes 0, 0, 1, 1, 2, 2 with values on the u8 grid.
    fn six_images() -> Samples {
        let values = (0..36).map(|i| (i * 7 % 256) as f32 / 255.0).collect();
        samples(values, Some(vec![0, 0, 1, 1, 2, 2]), 6)
    }

    fn close(a: &[f32], b: &[f32], tolerance: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
    }

    #[test]
    fn every_format_round_trips_through_the_loader() {
        let dir = tempfile::tempdir().unwrap();
        let s = six_images();
        let kind = gray(2, 3);
        for (name, format, options) in [
            ("idx", AugmentFormat::Idx, LoadOptions::default()),
            ("pngs", AugmentFormat::Images, LoadOptions::default()),
            (
                "x.npy",
                AugmentFormat::Npy,
                LoadOptions {
                    labels: Some(dir.path().join("x-labels.npy")),
                    ..LoadOptions::default()
                },
            ),
            (
                "x.csv",
                AugmentFormat::Csv,
                LoadOptions {
                    label_column: Some("label".into()),
                    ..LoadOptions::default()
                },
            ),
        ] {
            let path = dir.path().join(name);
            write_augmented(&path, format, &s, &kind, None, None).unwrap();
            let back = load(path.to_str().unwrap(), &options).unwrap().train;
            assert_eq!(back.len(), 6, "{name}");
            assert_eq!(back.labels(), s.labels.as_deref(), "{name}");
            assert!(close(back.values(), &s.values, 1e-6), "{name}");
            if format != AugmentFormat::Csv {
                assert_eq!(back.kind(), &kind, "{name}");
            }
        }
    }

    #[test]
    fn rgb_images_keep_their_channels() {
        let dir = tempfile::tempdir().unwrap();
        let kind = DataKind::Image {
            channels: 3,
            height: 2,
            width: 2,
        };
        let values: Vec<f32> = (0..24).map(|i| (i * 10) as f32 / 255.0).collect();
        let s = samples(values, None, 12);
        for (name, format) in [
            ("idx", AugmentFormat::Idx),
            ("pngs", AugmentFormat::Images),
            ("x.npy", AugmentFormat::Npy),
        ] {
            let path = dir.path().join(name);
            write_augmented(&path, format, &s, &kind, None, None).unwrap();
            let back = load(path.to_str().unwrap(), &LoadOptions::default())
                .unwrap()
                .train;
            assert_eq!(back.kind(), &kind, "{name}");
            assert!(back.labels().is_none());
            assert!(close(back.values(), &s.values, 1e-6), "{name}");
        }
    }

    #[test]
    fn tables_come_back_in_their_original_units() {
        // A column of 100..300 scaled to [0, 1] by min-max: the scaled values
        // 0, 0.5, 1 are written as 100, 200, 300.
        let kind = DataKind::Table {
            columns: vec!["grams".into(), "flag".into()],
        };
        let train =
            crate::data::Dataset::new(vec![100.0, 0.0, 300.0, 1.0], kind.clone(), None).unwrap();
        let scaler = crate::data::Scaler::fit(ScalerKind::MinMax, &train).unwrap();
        let s = samples(vec![0.0, 0.0, 0.5, 1.0, 1.0, 0.5], Some(vec![1, 0, 1]), 2);
        let dir = tempfile::tempdir().unwrap();
        let want = [100.0, 0.0, 200.0, 1.0, 300.0, 0.5];
        let csv = dir.path().join("t.csv");
        write_augmented(&csv, AugmentFormat::Csv, &s, &kind, Some(&scaler), None).unwrap();
        let o = LoadOptions {
            label_column: Some("label".into()),
            ..LoadOptions::default()
        };
        let back = load(csv.to_str().unwrap(), &o).unwrap().train;
        assert!(close(back.values(), &want, 1e-4), "{:?}", back.values());
        assert_eq!(back.labels(), Some(&[1, 0, 1][..]));
        assert_eq!(back.kind(), &kind);
        for (name, format, options) in [
            (
                "t.npy",
                AugmentFormat::Npy,
                LoadOptions {
                    labels: Some(dir.path().join("t-labels.npy")),
                    ..LoadOptions::default()
                },
            ),
            ("idx", AugmentFormat::Idx, LoadOptions::default()),
        ] {
            let path = dir.path().join(name);
            write_augmented(&path, format, &s, &kind, Some(&scaler), None).unwrap();
            let back = load(path.to_str().unwrap(), &options).unwrap().train;
            assert!(
                close(back.values(), &want, 1e-4),
                "{name} {:?}",
                back.values()
            );
            assert_eq!(back.labels(), Some(&[1, 0, 1][..]), "{name}");
        }
        // A table has no pictures.
        let e = write_augmented(
            &dir.path().join("p"),
            AugmentFormat::Images,
            &s,
            &kind,
            None,
            None,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Setting { .. }), "{e}");
        assert!(!dir.path().join("p").exists());
    }

    #[test]
    fn class_folders_use_sorted_names_or_padded_numbers() {
        let s = samples(vec![0.0; 12], Some((0..12).collect()), 1);
        let folders = class_folders(&s, None);
        assert_eq!((folders[0].as_str(), folders[11].as_str()), ("00", "11"));
        let names: Vec<String> = ["ant", "bee"].map(String::from).to_vec();
        let s = samples(vec![0.0; 2], Some(vec![0, 1]), 1);
        assert_eq!(class_folders(&s, Some(&names)), names);
        let unsorted: Vec<String> = ["bee", "ant"].map(String::from).to_vec();
        assert_eq!(class_folders(&s, Some(&unsorted)), ["0", "1"]);
    }

    #[test]
    fn formats_are_chosen_by_flag_then_name_then_input() {
        let p = Path::new("out/new.csv");
        assert_eq!(
            AugmentFormat::choose(p, None, Format::IdxDir),
            AugmentFormat::Csv
        );
        assert_eq!(
            AugmentFormat::choose(Path::new("x.npy"), None, Format::Csv),
            AugmentFormat::Npy
        );
        assert_eq!(
            AugmentFormat::choose(Path::new("synth"), None, Format::IdxDir),
            AugmentFormat::Idx
        );
        assert_eq!(
            AugmentFormat::choose(Path::new("synth"), None, Format::Images),
            AugmentFormat::Images
        );
        assert_eq!(
            AugmentFormat::choose(p, Some(AugmentFormat::Idx), Format::Csv),
            AugmentFormat::Idx
        );
        assert!(check_destination(Path::new("synth"), AugmentFormat::Csv).is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        assert!(check_destination(dir.path(), AugmentFormat::Idx).is_err());
        assert!(check_destination(&dir.path().join("new"), AugmentFormat::Idx).is_ok());
    }
}
